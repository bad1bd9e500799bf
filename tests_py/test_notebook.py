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
    assert len(runs) == 5 and all((r / "metrics.json").is_file() for r in runs)
    # the in-memory market traded like the files, and both ways of writing a strategy agree
    texts = [o["data"]["text/plain"] for o in outputs if "text/plain" in o.get("data", {})]
    assert any(t.startswith("(Market(EURUSD M5") and t.endswith("True)") for t in texts)
    two_ways = [t for t in texts if t.startswith("(") and t.endswith(", True)") and "Market" not in t]
    assert len(two_ways) == 1 and int(two_ways[0][1:].split(",")[0]) > 0
    # the plot cell produced an image
    assert any("image/png" in o.get("data", {}) for o in outputs)
