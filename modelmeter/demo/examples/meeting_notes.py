"""The tour's step 2: the meeting-notes app after its move to the Vercel AI Gateway.

Run it measured, with no change to this code, then load what it recorded:

    modelmeter run --workflow meeting-notes -- python meeting_notes.py
    modelmeter ingest

The app is an ordinary OpenAI SDK client pointed at the gateway. So that the tour runs offline, the
gateway is modelmeter's local mock of it (a real one, https://ai-gateway.vercel.sh/v1, needs only its
URL and a key). The app runs in a child process so that MODELMETER_ENDPOINTS, which tells modelmeter
that the local address is the Vercel gateway, is set before it starts, as a deployment would set it.
"""

from __future__ import annotations

import os
import subprocess
import sys

NOTES = (
    "Ops sync: the Rotterdam depot moves to two shifts from Monday; Ana owns the rota.",
    "Carrier review: two carriers missed their SLA in November; Ben drafts the penalty letters.",
    "Incident retro: the label printer outage lasted 40 minutes; spare printers go to each depot.",
)


def app(gateway_url: str) -> None:
    """The meeting-notes app itself: one summary per note, through the gateway."""
    import openai

    client = openai.OpenAI(base_url=gateway_url, api_key="vck_TOUR_NOT_A_REAL_KEY")
    for note in NOTES:
        answer = client.chat.completions.create(
            model="anthropic/claude-haiku-4.5",
            messages=[{"role": "user", "content": f"Summarise in one line: {note}"}],
            max_tokens=60,
        )
        print(f"- {(answer.choices[0].message.content or '')[:70]}")
    print(f"{len(NOTES)} meeting notes summarised through the gateway")


def main() -> None:
    if len(sys.argv) > 1:
        app(sys.argv[1])
        return
    from modelmeter.mock import MockProviders

    with MockProviders(vendors=["vercel"]) as gateway:
        env = {**os.environ, "MODELMETER_ENDPOINTS": gateway.endpoints}
        child = [sys.executable, os.path.abspath(__file__), gateway.base_url("vercel")]
        sys.exit(subprocess.run(child, env=env, check=False).returncode)


if __name__ == "__main__":
    main()
