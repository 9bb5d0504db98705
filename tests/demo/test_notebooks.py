"""The notebooks run top to bottom against the demo's database (so they never rot), and are stored clean."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support.demo import DemoRun, demo_run_once

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
def test_the_notebook_runs_on_the_demo_database_and_draws_its_charts(
    path: Path, demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELMETER_DB", str(demo_run.db))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=90, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any(_is_chart(output.get("data", {})) for output in outputs), "no chart was displayed inline"


def _is_chart(data: dict[str, str]) -> bool:
    """An altair chart's display: a Vega-Lite mime bundle, or the HTML renderer's vegaEmbed page."""
    return any("vegalite" in kind for kind in data) or "vegaEmbed" in data.get("text/html", "")
