"""The example notebook runs top to bottom in a fresh kernel."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "example.ipynb"


def test_example_notebook_executes(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    # the run wrote its artefacts under the notebook's working directory
    runs = list((tmp_path / "var" / "results" / "backtests").iterdir())
    assert len(runs) == 2 and all((r / "metrics.json").is_file() for r in runs)
    # the plot cell produced an image
    assert any("image/png" in o.get("data", {}) for o in outputs)
