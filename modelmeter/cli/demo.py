"""`modelmeter demo`: a realistic week of a company's AI traffic, measured end to end, in under a minute."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from modelmeter.cli import exits

DEFAULT_HOME = Path("modelmeter-demo")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def _demo(
        home: Annotated[
            Path | None,
            typer.Option(
                "--home",
                help="Directory for the demo's spool, database and reports "
                "(default: $MODELMETER_HOME, else ./modelmeter-demo). Must be new or empty.",
            ),
        ] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Reuse a non-empty home: replace the demo's own files in it.")
        ] = False,
    ) -> None:
        """Replay a week of a company's AI usage through the real SDKs and the real shim, then report it.

        Six workflows, one per team, call OpenAI, Anthropic, Gemini and Mistral directly and through the
        Vercel AI Gateway and OpenRouter, all served by local mock providers on 127.0.0.1. The week has
        a provider outage, a rate-limit burst, retries and fallbacks, and one workflow moved to the
        gateway mid-week. The spans are ingested into DuckDB and the weekly report is written as HTML
        and Markdown.

        Exit code: 0 done; 1 it cannot run (the provider SDKs of the `demo` extra are missing, or the
        home is not empty) or failed, leaving none of its files behind.

        Example: modelmeter demo --home /tmp/mm-demo
        """
        from modelmeter.demo import DemoError, run_demo

        chosen = home or Path(os.environ.get("MODELMETER_HOME") or DEFAULT_HOME)
        try:
            run_demo(chosen, force=force)
        except DemoError as error:
            raise exits.fail("demo", str(error), exits.FAILED) from error
