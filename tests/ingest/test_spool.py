"""Ingest of spool files (flat span records): idempotence, retries, quarantine, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import orjson
from support.ingest import JAN_1_2026_NS, cli, record, rows, run_cli, write_ndjson

from modelmeter.ingest.pipeline import ingest_paths
from modelmeter.spoolfile import SpoolFile

ALL_TABLES = ("calls", "attempts", "ingested_files", "quarantine")


def _snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted(map(repr, rows(db, f"SELECT * EXCLUDE ({_stamp(t)}) FROM {t}"))) for t in ALL_TABLES}


def _stamp(table: str) -> str:
    return {"calls": "ingested_at", "ingested_files": "ingested_at", "quarantine": "quarantined_at"}.get(
        table, "price_period"
    )


def test_the_cli_ingests_the_default_spool_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_ndjson(home / "spool" / "spans-20260101T000000-h-1-1.ndjson", [record() for _ in range(5)])
    live = SpoolFile(home / "spool", "spans", "ndjson")  # a live writer's file is never touched
    live.append(orjson.dumps(record()) + b"\n")
    env = {"MODELMETER_HOME": str(home)}

    first = run_cli("ingest", env=env)
    assert first.returncode == 0, first.stderr
    assert "calls added 5" in first.stderr
    db = home / "modelmeter.duckdb"
    before = _snapshot(db)

    again = run_cli("ingest", env=env)
    assert again.returncode == 0
    assert "calls added 0" in again.stderr
    assert _snapshot(db) == before
    assert live.path.exists()
    live.seal()


def test_the_same_spans_in_a_renamed_file_are_counted_as_duplicates(tmp_path: Path) -> None:
    spans = [record() for _ in range(4)]
    write_ndjson(tmp_path / "a" / "spans-1.ndjson", spans)
    write_ndjson(tmp_path / "b" / "copy.ndjson", [*spans, record()])
    db = tmp_path / "db.duckdb"
    ingest_paths([tmp_path / "a"], db)

    summary = ingest_paths([tmp_path / "b"], db)

    assert (summary.calls_added, summary.duplicates) == (1, 4)
    assert rows(db, "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM calls") == [(5, 5)]


def test_tries_of_one_call_in_different_files_become_one_call_row_in_any_order(tmp_path: Path) -> None:
    first_try = record(
        status="error",
        http_status=529,
        error_type="overloaded_error",
        input_tokens=None,
        output_tokens=None,
        usage_known=False,
        response_model=None,
        call_id="c0ffee0000000001",
        attempt=0,
    )
    second_try = record(
        call_id="c0ffee0000000001",
        attempt=1,
        start_ns=first_try["end_ns"] + 50_000_000,
        trace_id=first_try["trace_id"],
    )
    second_try["end_ns"] = second_try["start_ns"] + 900_000_000
    write_ndjson(tmp_path / "late" / "spans-2.ndjson", [second_try])
    write_ndjson(tmp_path / "early" / "spans-1.ndjson", [first_try])
    db = tmp_path / "db.duckdb"

    ingest_paths([tmp_path / "late"], db)  # the last try arrives first
    ingest_paths([tmp_path / "early"], db)

    calls = rows(
        db, "SELECT span_id, attempts, status, input_tokens, cost_usd IS NOT NULL, duration_ms FROM calls"
    )
    expected_duration = (second_try["end_ns"] - first_try["start_ns"]) / 1e6
    assert calls == [(first_try["span_id"], 2, "ok", second_try["input_tokens"], True, expected_duration)]
    tries = rows(db, "SELECT attempt, status, call_span_id FROM attempts ORDER BY attempt")
    assert tries == [(0, "error", first_try["span_id"]), (1, "ok", first_try["span_id"])]


def test_three_tries_arriving_in_three_runs_and_out_of_order_fold_into_one_call(tmp_path: Path) -> None:
    failed = {"status": "error", "http_status": 529, "error_type": "overloaded_error"}
    no_usage = {"input_tokens": None, "output_tokens": None, "usage_known": False, "response_model": None}
    first = record(**failed, **no_usage, call_id="c0ffee0000000003", attempt=0)
    second = record(
        **failed,
        **no_usage,
        call_id="c0ffee0000000003",
        attempt=1,
        trace_id=first["trace_id"],
        start_ns=first["end_ns"] + 10**8,
    )
    second["end_ns"] = second["start_ns"] + 10**8
    third = record(call_id="c0ffee0000000003", attempt=2, trace_id=first["trace_id"])
    third["start_ns"] = second["end_ns"] + 10**8
    third["end_ns"] = third["start_ns"] + 5 * 10**8
    db = tmp_path / "db.duckdb"
    for name, tried in (("second", second), ("third", third), ("first", first)):
        write_ndjson(tmp_path / name / "spans.ndjson", [tried])
        ingest_paths([tmp_path / name], db)

    calls = rows(db, "SELECT span_id, attempts, status, input_tokens, duration_ms FROM calls")
    expected_duration = (third["end_ns"] - first["start_ns"]) / 1e6
    assert calls == [(first["span_id"], 3, "ok", third["input_tokens"], expected_duration)]
    tries = rows(db, "SELECT attempt, span_id, call_span_id FROM attempts ORDER BY attempt")
    assert tries == [(n, t["span_id"], first["span_id"]) for n, t in enumerate((first, second, third))]


def test_broken_lines_are_quarantined_with_line_and_reason_and_exit_code_3(tmp_path: Path) -> None:
    good = [record() for _ in range(3)]
    lines = [
        *(orjson.dumps(r).decode() for r in good[:2]),
        '{"trace_id": "broken',
        orjson.dumps(record(input_tokens="many")).decode(),
        orjson.dumps(record(attributes="not an object")).decode(),
        orjson.dumps(record(reported_cost_usd="lots")).decode(),
        orjson.dumps(good[2]).decode(),
    ]
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "spans-1.ndjson").write_text("\n".join(lines) + "\n")
    db = tmp_path / "db.duckdb"

    result = run_cli("ingest", str(spool), "--db", str(db))

    assert result.returncode == 3, result.stderr
    assert "quarantined 4" in result.stderr
    quarantined = rows(db, "SELECT line, reason FROM quarantine ORDER BY line")
    assert [line for line, _ in quarantined] == [3, 4, 5, 6]
    assert "broken JSON" in quarantined[0][1]
    assert [reason.split(":")[0] for _, reason in quarantined[1:]] == [
        "input_tokens",
        "attributes",
        "reported_cost_usd",
    ]
    assert sorted(r[0] for r in rows(db, "SELECT span_id FROM calls")) == sorted(r["span_id"] for r in good)


def test_a_missing_path_is_a_usage_error_with_exit_code_64(tmp_path: Path) -> None:
    result = run_cli("ingest", str(tmp_path / "missing"), "--db", str(tmp_path / "db.duckdb"))
    assert result.returncode == 64
    assert "no such file" in result.stderr
    assert not (tmp_path / "db.duckdb").exists()


def test_an_ingest_killed_mid_way_leaves_a_consistent_database_and_the_rerun_completes(
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    files, per_file = 30, 800
    expected = set()
    for index in range(files):
        spans = [record(start_ns=JAN_1_2026_NS + (index * per_file + i) * 10**9) for i in range(per_file)]
        expected |= {(s["trace_id"], s["span_id"]) for s in spans}
        write_ndjson(spool / f"spans-{index:03d}.ndjson", spans)
    db = tmp_path / "db.duckdb"
    command = [cli(), "ingest", str(spool), "--db", str(db), "--batch-spans", str(per_file), "--quiet"]

    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = Path(f"{db}.wal")
    deadline = time.monotonic() + 60
    while not wal.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.1)  # a few batches in: one is usually mid-transaction
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()

    files_done, calls, spans_recorded = rows(
        db,
        "SELECT (SELECT count(*) FROM ingested_files), (SELECT count(*) FROM calls), "
        "(SELECT coalesce(sum(spans_new), 0) FROM ingested_files)",
    )[0]
    assert files_done < files, "the kill landed before the ingest finished"
    assert calls == spans_recorded == files_done * per_file  # each recorded file has exactly its rows

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    stored = rows(db, "SELECT trace_id, span_id FROM calls")
    assert len(stored) == len(expected)
    assert set(stored) == expected


def test_a_gateway_that_failed_over_inside_one_request_counts_its_tries_and_the_provider_it_left(
    tmp_path: Path,
) -> None:
    routing = [
        {"provider": "openai", "providerApiModelId": "gpt-4o", "success": False, "error": "529"},
        {"provider": "azure", "providerApiModelId": "gpt-4o", "success": True},
    ]
    rescued = record(
        route="gateway",
        gateway="vercel",
        platform="azure",
        request_model="openai/gpt-4o",
        attributes={"modelmeter.gateway.attempts": orjson.dumps(routing).decode()},
    )
    first_try_served = record(
        route="gateway",
        gateway="vercel",
        request_model="openai/gpt-4o",
        attributes={"modelmeter.gateway.attempts": orjson.dumps(routing[1:]).decode()},
    )
    plain = record()
    spool = write_ndjson(tmp_path / "spool" / "spans-1.ndjson", [rescued, first_try_served, plain])
    db = tmp_path / "db.duckdb"
    ingest_paths([spool.parent], db)
    found = dict((r[0], r[1:]) for r in rows(db, "SELECT span_id, attempts, fallback_from FROM calls"))
    assert found == {
        rescued["span_id"]: (2, "openai"),
        first_try_served["span_id"]: (1, None),
        plain["span_id"]: (1, None),
    }
