"""Reports on a database built by the real pipeline: SDKs -> mock providers -> shim -> spool -> ingest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from support.report_data import assert_reproduced_by_sql

from modelmeter.mock import MockProviders
from modelmeter.reports import ReportParams, build_report, open_db

CLI = str(Path(sys.executable).with_name("modelmeter"))
OPENAI_CALLS, ANTHROPIC_CALLS = 12, 6

APP = textwrap.dedent(
    f"""
    import os
    import anthropic, openai
    hi = [{{"role": "user", "content": "hello"}}]
    gpt = openai.OpenAI(base_url=os.environ["OPENAI_BASE"], api_key="sk-proj-FAKE0000000000", max_retries=0)
    for i in range({OPENAI_CALLS}):
        if i % 3 == 0:
            stream = gpt.chat.completions.create(model="gpt-4o-mini", messages=hi, stream=True,
                                                 stream_options={{"include_usage": True}})
            for _ in stream:
                pass
        else:
            gpt.chat.completions.create(model="gpt-4o-mini", messages=hi)
    claude = anthropic.Anthropic(base_url=os.environ["ANTHROPIC_BASE"], api_key="sk-ant-api03-FAKE0000")
    for _ in range({ANTHROPIC_CALLS}):
        claude.messages.create(model="claude-haiku-4-5", max_tokens=32, messages=hi)
    """
)


def _cli(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_reports_over_a_pipeline_built_database_agree_with_sql_and_with_the_app(
    mock: MockProviders, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    spool, db = tmp_path / "spool", tmp_path / "modelmeter.duckdb"
    env = dict(os.environ, OPENAI_BASE=mock.base_url("openai"), ANTHROPIC_BASE=mock.base_url("anthropic"))
    _cli(
        "run",
        "--workflow",
        "pipeline-check",
        "--team",
        "qa",
        "--spool",
        str(spool),
        "--endpoints",
        mock.endpoints,
        "--",
        sys.executable,
        str(app),
        env=env,
    )
    _cli("ingest", str(spool), "--db", str(db), env=env)

    con = open_db(db)
    made = OPENAI_CALLS + ANTHROPIC_CALLS
    inventory = build_report("inventory", con)
    assert inventory.headline("calls").value == made == len(mock.calls)
    assert inventory.headline("workflows").value == 1 and inventory.headline("providers").value == 2
    assert inventory.headline("migration_candidate").value == "pipeline-check"
    for kind in ("inventory", "cost", "latency", "failover"):
        report = build_report(kind, con, ReportParams())
        assert report.based_on == made
        assert_reproduced_by_sql(con, report.headlines)
    weekly = build_report("weekly", con)
    assert weekly.based_on == made
    window = {"since": weekly.period[0], "until": weekly.period[1]}
    traced = [h for h in weekly.headlines if h.sql]
    assert {"inventory.calls", "cost.spend_usd", "latency.p50_ms", "latency.ttft_p50_ms"} <= {
        h.key for h in traced
    }
    assert_reproduced_by_sql(con, traced, window)
    cost = build_report("cost", con)
    assert cost.headline("spend_usd").value is not None and cost.headline("spend_usd").based_on == made
    latency = build_report("latency", con)
    assert latency.headline("ttft_p50_ms").based_on == OPENAI_CALLS // 3
