"""The example notebook runs top to bottom in a fresh kernel."""

from pathlib import Path

import pandas as pd
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
    assert len(runs) == 9 and all((r / "metrics.json").is_file() for r in runs)
    # the sweep ran its 2 x 2 grid, every point a run of its own among them
    (summary_csv,) = (tmp_path / "var" / "sweeps").glob("*/summary.csv")
    summary = pd.read_csv(summary_csv)
    long, short = summary["strategy_parameters.z_score_long"], summary["strategy_parameters.z_score_short"]
    grid = set(zip(long, short, strict=True))
    assert grid == {(-2.0, 2.0), (-2.0, 2.5), (-2.5, 2.0), (-2.5, 2.5)}
    assert list(summary["status"]) == ["success"] * 4
    assert set(summary["run_id"]) <= {r.name for r in runs}
    # the in-memory market traded like the files, and both ways of writing a strategy agree
    texts = [o["data"]["text/plain"] for o in outputs if "text/plain" in o.get("data", {})]
    assert any(t.startswith("(Market(EURUSD M5") and t.endswith("True)") for t in texts)
    two_ways = [t for t in texts if t.startswith("(") and t.endswith(", True)") and "Market" not in t]
    assert len(two_ways) == 1 and int(two_ways[0][1:].split(",")[0]) > 0
    # the plot and the heatmap cells produced an image each
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2
