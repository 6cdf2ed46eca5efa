import os
from pathlib import Path

import pytest
from archive_toys import smoke_run, write_fake_run

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore_archive.ipynb"


def run_notebook(archive: Path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {"KINEVO_ARCHIVE": str(archive), "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT)}}).execute()  # fmt: skip
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _images(nb) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )  # fmt: skip


def test_notebook_runs_against_an_archive_and_draws_its_plots(tmp_path):
    nb = run_notebook(write_fake_run(tmp_path / "run"))
    assert _images(nb) >= 6  # fitness, genes, metrics, lineage, kinship, mate bonds
    last = nb.cells[-1].outputs[0]["data"]["text/plain"]
    assert "'generations': 3" in last


@pytest.mark.slow
def test_notebook_runs_against_a_smoke_archive(tmp_path):
    nb = run_notebook(smoke_run(tmp_path / "smoke"))
    assert _images(nb) >= 6
    assert "'generations': 2" in nb.cells[-1].outputs[0]["data"]["text/plain"]
