"""The notebooks run top to bottom against the demo's database (so they never rot), and are stored clean."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support.demo import DemoRun, demo_run_once

from modelmeter.reports.source import ReportDataError, find_db

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run_once(tmp_path_factory)


def test_both_notebooks_are_there() -> None:
    assert {path.stem for path in NOTEBOOKS} >= {"weekly_report", "migration_audit"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_committed_notebook_has_no_outputs_and_no_execution_counts(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebook_runs_from_jupyter_started_in_notebooks_and_draws_svg_charts_offline(
    path: Path, demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a repository as a user has it after `modelmeter demo` at its root; Jupyter started in notebooks/
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "modelmeter-demo").symlink_to(demo_run.home)
    monkeypatch.delenv("MODELMETER_DB", raising=False)
    monkeypatch.delenv("MODELMETER_HOME", raising=False)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=90, resources={"metadata": {"path": str(repo / "notebooks")}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    charts = [
        output["data"]["image/svg+xml"] for output in outputs if "image/svg+xml" in output.get("data", {})
    ]
    assert charts and all("<svg" in chart for chart in charts), "no chart was drawn inline as SVG"
    assert not any("cdn.jsdelivr" in str(output) or "vegaEmbed" in str(output) for output in outputs)


def test_the_database_comes_from_the_environment_first_then_the_demo_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_db = tmp_path / "modelmeter-demo" / "modelmeter.duckdb"
    demo_db.parent.mkdir()
    demo_db.touch()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("MODELMETER_DB", raising=False)
    monkeypatch.delenv("MODELMETER_HOME", raising=False)
    assert find_db(tmp_path / "notebooks") == demo_db
    monkeypatch.setenv("MODELMETER_HOME", str(tmp_path / "home"))
    assert find_db(tmp_path / "notebooks") == tmp_path / "home" / "modelmeter.duckdb"
    monkeypatch.setenv("MODELMETER_DB", str(tmp_path / "mine.duckdb"))
    assert find_db(tmp_path / "notebooks") == tmp_path / "mine.duckdb"
    monkeypatch.delenv("MODELMETER_DB")
    monkeypatch.delenv("MODELMETER_HOME")
    with pytest.raises(ReportDataError, match="modelmeter demo"):
        find_db(tmp_path.parent.parent)


def test_the_notebooks_extra_installs_jupyter() -> None:
    extras = [r for r in metadata.requires("modelmeter") or [] if re.search(r"extra == .notebooks.", r)]
    assert any(r.startswith("jupyterlab") for r in extras), extras
