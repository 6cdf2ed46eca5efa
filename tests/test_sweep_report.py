"""A sweep's outcomes per point (analysis.sweeps) and its report page with phase diagrams
(python -m analysis.report SWEEP_DIR), on a real 2 x 2 sweep of the smoke run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from archive_toys import toy_archive

from analysis import open_archive
from analysis.sweeps import run_outcomes, sweep_summary

ROOT = Path(__file__).parents[1]
SWEEP = """
base: {base}
dims:
  r:
    population.relatedness: [0.0, 1.0]
  cost_ratio:
    world.share_efficiency: [2.0, 0.5]
values:
  cost_ratio: [0.5, 2.0]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hamilton")
    path = tmp / "sweep.yaml"
    path.write_text(SWEEP.format(base=ROOT / "runs" / "smoke.yaml"))
    r = subprocess.run(
        [sys.executable, "-m", "evo.sweep", str(path), "--out", str(tmp / "out"), "--quiet",
         "--workers", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return tmp / "out"


def test_the_summary_holds_every_point_with_the_sweep_dims_and_the_twin_outcomes(swept):
    s = sweep_summary(swept, last=1)
    assert s.fitness.dims == ("r", "cost_ratio") and s.fitness.shape == (2, 2)
    assert sorted(s.cost_ratio.values.tolist()) == [0.5, 2.0]
    assert np.isfinite(s.fitness).all() and np.isfinite(s.gene_kin_weight).all()
    at1, at0 = s.sel(r=1.0), s.sel(r=0.0)
    assert (at1.twin_pairs == 1.0).all()  # every pair twins: the elite is the template
    assert np.isnan(at0.energy_to_twin).all()  # no twins made at r = 0
    # with every partner a twin, help to twins is all help (two independent code paths)
    np.testing.assert_allclose(at1.energy_to_twin, at1.energy_shared)


def test_run_outcomes_average_the_last_generations(swept):
    ds = open_archive(next(swept.glob("r=1*")))
    one, both = run_outcomes(ds, 1), run_outcomes(ds, 2)
    assert one["fitness"] == pytest.approx(float(ds.fitness.isel(generation=-1).mean()))
    assert both["fitness"] == pytest.approx(float(ds.fitness.mean()))
    # selection is read from every generation, whatever `last` says (toy: 0.05 and 0.475 / 11)
    toy = toy_archive()
    for last in (1, 2):
        got = run_outcomes(toy, last)["selection_kin_weight"]
        assert got == pytest.approx((0.05 + 0.475 / 11) / 2)
    with pytest.raises(ValueError, match="last"):
        run_outcomes(ds, 0)


def test_the_sweep_report_draws_a_phase_diagram_per_outcome(swept, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "analysis.report", str(swept), "--out", str(tmp_path),
         "--last", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "index.html").read_text()
    for stem in ("phase_gene_kin_weight", "phase_energy_to_twin", "phase_fitness"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 1000
        assert f"src='{stem}.png'" in page
    assert "Every point" in page and "cost_ratio" in page
    assert "the dotted line is B = C" in page  # twins: the line of agents that know them


def test_a_folder_that_is_not_a_sweep_or_run_exits_2(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "analysis.report", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and r.stderr.startswith("analysis.report: ")
