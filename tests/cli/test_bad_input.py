"""Every command given bad input, through the real CLI in a subprocess: one line on stderr, the documented
exit code, the words that tell the user what to do, and never a traceback.

The matrix: each command × missing and invalid paths, values, formats, names (with the known ones
listed), a corrupt database, an empty database and a database that is not modelmeter's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from support.synthetic_calls import create_database

from modelmeter.ingest.store import open_store

CLI = str(Path(sys.executable).with_name("modelmeter"))
USAGE, NO_DATA, FAILED = 64, 4, 1
pytestmark = pytest.mark.timeout(900)  # the first test runs the whole matrix (in its fixture)


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...]  # fragments the one line must contain (case-insensitive)


def case(args: str, code: int, *says: str) -> Case:
    return Case(tuple(args.split()), code, says)


# {good} is a small real database, {empty} one with the schema and no calls, {corrupt} a text file named
# .duckdb, {foreign} a DuckDB file without a `calls` table, {missing} a path that does not exist, {d} a
# scratch directory with the config files written by the `files` fixture.
MATRIX: dict[str, Case] = {
    # the top level
    "unknown command": case("reportt", USAGE, "no such command"),
    "unknown option": case("report cost --sinc 7d", USAGE, "no such option", "--since"),
    # report: values
    "report unknown kind": case("report costs --db {good}", USAGE, "unknown report", "inventory, cost"),
    "report unknown format": case("report cost --db {good} -f xml", USAGE, "unknown format", "parquet"),
    "report bad --since": case(
        "report cost --db {good} --since yesterdy", USAGE, "--since", "7d", "yesterday"
    ),
    "report bad --until": case("report cost --db {good} --until 2026-13-01", USAGE, "--until", "2026-11-01"),
    "report reversed period": case(
        "report cost --db {good} --since 2026-11-10 --until 2026-11-03", USAGE, "reversed"
    ),
    "report unknown workflow": case(
        "report cost --db {good} --workflow support-triag", USAGE, "support-triag", "support-triage"
    ),
    "report unknown team": case("report cost --db {good} --team platfrom", USAGE, "platfrom", "platform"),
    "report unknown provider": case("report cost --db {good} --provider opnai", USAGE, "opnai", "openai"),
    "report unknown model": case("report cost --db {good} --model gpt-4o", USAGE, "gpt-4o", "openai/"),
    "report unknown route": case("report cost --db {good} --route gatway", USAGE, "gatway", "direct"),
    "report compare unknown --b": case("report compare --db {good} --b gatway", USAGE, "gatway", "gateway"),
    "report compare unknown --by": case("report compare --db {good} --by colour", USAGE, "colour", "route"),
    "report compare unknown --a value": case(
        "report compare --db {good} --by run --a nope --b nope2", USAGE, "nope", "known values"
    ),
    "report tiers missing policy": case(
        "report tiers --db {good} --policy {missing}.toml", USAGE, "no tier policy", "--policy"
    ),
    "report tiers malformed policy": case(
        "report tiers --db {good} --policy {d}/bad.toml", USAGE, "bad.toml"
    ),
    # report: output files
    "report -o into a missing directory": case(
        "report cost --db {good} -o {missing}/cost.html", USAGE, "does not exist"
    ),
    "report csv -o into a missing directory": case(
        "report cost --db {good} -f csv -o {missing}/cost.csv", USAGE, "does not exist"
    ),
    "report --table with a text format": case(
        "report cost --db {good} -f md --table spend_by_day", USAGE, "--table", "csv"
    ),
    "report --table unknown": case(
        "report cost --db {good} -f csv --table spend", USAGE, "spend", "spend_by_day, spend_by_provider"
    ),
    "report -o suffix against --format": case(
        "report cost --db {good} -f parquet -o {d}/x.csv", USAGE, ".csv", "parquet"
    ),
    "report parquet to the terminal": case("report cost --db {good} -f parquet", USAGE, "-o"),
    "report -o a directory for one file": case("report cost --db {good} -o {d}", USAGE, "is a directory"),
    "report csv directory over a file": case(
        "report cost --db {good} -f csv -o {d}/bad.toml", USAGE, "is a file"
    ),
    # report: the database
    "report missing database": case("report cost --db {missing}.duckdb", NO_DATA, "no database", "ingest"),
    "report corrupt database": case("report cost --db {corrupt}", NO_DATA, "damaged", "backup"),
    "report foreign database": case("report cost --db {foreign}", NO_DATA, "no `calls` table"),
    "report empty database": case("report cost --db {empty}", NO_DATA, "no calls yet"),
    # check
    "check limit not a number": case("check --db {good} --config {d}/six.toml", USAGE, "six", "not a number"),
    "check negative limit": case("check --db {good} --config {d}/negative.toml", USAGE, "-5", "zero or more"),
    "check warn above fail": case(
        "check --db {good} --config {d}/above.toml", USAGE, "warn 9", "above fail 3"
    ),
    "check unknown section": case(
        "check --db {good} --config {d}/section.toml", USAGE, "[workflows]", "total"
    ),
    "check unknown period": case(
        "check --db {good} --config {d}/period.toml", USAGE, "fortnight", "day, week"
    ),
    "check typo in a workflow": case(
        "check --db {good} --config {d}/typo.toml", USAGE, "support-triag", "a typo", "support-triage"
    ),
    "check no budgets": case("check --db {good} --config {d}/nothing.toml", USAGE, "no budgets"),
    "check missing config": case("check --db {good} --config {missing}.toml", USAGE, "no budgets file"),
    "check config not TOML": case("check --db {good} --config {d}/bad.toml", USAGE, "cannot read budgets"),
    "check bad --at": case("check --db {good} --config {d}/ok.toml --at someday", USAGE, "--at", "7d"),
    "check unknown format": case("check --db {good} --config {d}/ok.toml -f xml", USAGE, "xml", "json"),
    "check missing database": case(
        "check --db {missing}.duckdb --config {d}/ok.toml", NO_DATA, "no database"
    ),
    "check corrupt database": case("check --db {corrupt} --config {d}/ok.toml", NO_DATA, "damaged"),
    "check empty database": case("check --db {empty} --config {d}/ok.toml", NO_DATA, "no calls yet"),
    # ingest and reprice
    "ingest missing path": case("ingest {missing}/spool --db {d}/new.duckdb", USAGE, "no such file"),
    "ingest missing prices": case(
        "ingest {d} --db {d}/new.duckdb --prices {missing}.toml", USAGE, "no prices"
    ),
    "ingest invalid prices": case("ingest {d} --db {d}/new.duckdb --prices {d}/prices.toml", USAGE, "prices"),
    "ingest zero batch": case("ingest {d} --db {d}/new.duckdb --batch-spans 0", USAGE, "--batch-spans"),
    "ingest corrupt database": case("ingest {d}/spool --db {corrupt}", FAILED, "failed"),
    "reprice bad --since": case("reprice --db {good} --since lastweek", USAGE, "--since", "last week"),
    "reprice --since in the future": case("reprice --db {good} --since 2999-01-01", USAGE, "reversed"),
    "reprice missing database": case("reprice --db {missing}.duckdb", NO_DATA, "no database"),
    "reprice corrupt database": case("reprice --db {corrupt}", FAILED, "failed"),
    "reprice invalid prices": case("reprice --db {good} --prices {d}/prices.toml", USAGE, "prices"),
    # the lake
    "ingest into an unsupported lake": case("ingest {d}/spool --lake ftp://host/lake", USAGE, "unsupported"),
    "ingest --db and --lake": case("ingest {d}/spool --db {good} --lake {d}/lake", USAGE, "not both"),
    "report a lake with no calls": case("report cost --lake {d}/empty-lake", NO_DATA, "holds no calls"),
    "rollup unknown engine": case("rollup --lake {d}/lake --engine flink", USAGE, "unknown engine", "spark"),
    "rollup bad --day": case("rollup --lake {d}/lake --day yesterday", USAGE, "--day"),
    "lake compact bad --day": case("lake compact --lake {d}/lake --day 2026-13-40", USAGE, "--day"),
    # serve and mock
    "serve port out of range": case("serve --port 70000", USAGE, "--port"),
    "serve beyond loopback without a token": case("serve --host 0.0.0.0 --port 0", USAGE, "token"),
    "serve zero max bytes": case("serve --max-bytes 0", USAGE, "--max-bytes"),
    "serve port in use": case("serve --port {busy_port} --spool {d}/serve-spool", FAILED, "cannot listen"),
    "serve spool under a file": case(
        "serve --port 0 --spool {d}/bad.toml/spool", FAILED, "cannot use", "bad.toml"
    ),
    "mock unknown fault": case("mock --fault teapot", USAGE, "unknown fault", "teapot"),
    "mock unknown vendor": case("mock --vendor openia", USAGE, "openia", "openai"),
    "mock negative latency": case("mock --latency-ms -5", USAGE, "latency_ms"),
    "mock port out of range": case("mock --port 70000", USAGE, "--port"),
    "mock port in use": case("mock --vendor openai --port {busy_port}", FAILED, "cannot listen"),
    # scan, run, demo
    "scan missing path": case("scan {missing}", USAGE, "no such file"),
    "scan unknown format": case("scan {d} -f xml", USAGE, "xml"),
    "run without a command": case("run", USAGE, "--"),
    "run a script without its run bit": case("run -- {d}/script.py", 126, "permission denied", "python"),
    "run a command that does not exist": case("run -- {missing}/app", 127, "not found"),
    "demo home is a file": case("demo --home {d}/bad.toml", FAILED, "not a directory"),
    "demo home not empty": case("demo --home {d}", FAILED, "not empty", "--force"),
}


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("bad-input")
    good = root / "good.duckdb"
    create_database(str(good), 3_000, days=7).close()
    empty = root / "empty.duckdb"
    open_store(empty).close()
    foreign = root / "foreign.duckdb"
    duckdb.connect(str(foreign)).execute("CREATE TABLE other (x INTEGER)").close()
    corrupt = root / "corrupt.duckdb"
    corrupt.write_text("this is not a database\n")
    d = root / "files"
    (d / "spool").mkdir(parents=True)
    files = {
        "bad.toml": "[total\nweek = 1\n",
        "six.toml": '[workflow.support-triage]\nday = { warn = "six" }\n',
        "negative.toml": "[total]\nday = { fail = -5 }\n",
        "above.toml": "[total]\nday = { warn = 9, fail = 3 }\n",
        "section.toml": "[workflows.support-triage]\nday = { fail = 3 }\n",
        "period.toml": "[total]\nfortnight = { fail = 3 }\n",
        "typo.toml": "[workflow.support-triag]\nday = { fail = 3 }\n",
        "nothing.toml": "# no budgets yet\n",
        "ok.toml": "[total]\nday = { fail = 1000000 }\n",
        "prices.toml": '[[override]]\nmodel = "gpt-4o"\nmultiplier = "cheap"\n',
        "script.py": "print('hi')\n",
    }
    for name, text in files.items():
        (d / name).write_text(text)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield {
            "good": str(good),
            "empty": str(empty),
            "foreign": str(foreign),
            "corrupt": str(corrupt),
            "missing": str(root / "does-not-exist"),
            "d": str(d),
            "busy_port": str(busy.getsockname()[1]),
        }


@pytest.fixture(scope="module")
def results(paths: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case run once, four at a time (each is a separate CLI process; most of the time is imports)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MODELMETER_")}

    def run(bad: Case) -> subprocess.CompletedProcess[str]:
        args = [CLI, *(part.format(**paths) for part in bad.args)]
        try:
            return subprocess.run(
                args, capture_output=True, text=True, timeout=120, env={**env, "COLUMNS": "200"}
            )
        except subprocess.TimeoutExpired:  # e.g. a server that started on a value it should have refused
            return subprocess.CompletedProcess(args, -1, "", "still running after 120 s\n")

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(MATRIX, pool.map(run, MATRIX.values()), strict=True))


@pytest.mark.parametrize("name", list(MATRIX))
def test_bad_input_is_one_clear_line_with_the_documented_exit_code(
    name: str, results: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    bad, done = MATRIX[name], results[name]
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{done.stderr}"
    assert done.returncode == bad.code, lines[0]
    assert lines[0].startswith("modelmeter"), lines[0]
    for fragment in bad.says:
        assert fragment.lower() in lines[0].lower(), lines[0]


def test_the_matrix_covers_every_command() -> None:
    from modelmeter.cli import app

    commands = {command.name for command in app.registered_commands}
    covered = {case.args[0] for case in MATRIX.values()}
    assert commands <= covered, commands - covered


def test_the_exit_codes_are_documented_in_the_help_and_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    top = subprocess.run(
        [CLI, "--help"], capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"}
    )
    for code in (0, 1, 2, 3, 4, 64):
        assert f"| {code} |" in readme
        assert f"{code} " in top.stdout
    assert "64 bad usage" in " ".join(top.stdout.split())
