"""Faults during a run: a trial that keeps raising stops the run with a clear message and
keeps every completed generation; after the cause is gone, --resume finishes the run.
Workers killed again and again change nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evo.archive import complete_generations, identical
from evo.evolution import TRIAL_RETRIES, derived_seed
from kinevo.faults import KILL_WORKER

ROOT = Path(__file__).parents[1]
SMOKE = ROOT / "runs" / "smoke.yaml"


def test_a_failing_trial_stops_the_run_naming_generation_trial_and_seed(tmp_path):
    seed = derived_seed(0, 1, 5, 0)  # smoke.yaml's seed 0: generation 1, trial 0
    env = {**os.environ, "KINEVO_FAULT_TRIAL_SEED": str(seed)}
    cmd = [sys.executable, "-m", "evo.run", str(SMOKE), "--out", str(tmp_path), "--quiet",
           "--workers", "1"]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 1, r.stderr
    assert f"generation 1, trial 0 (seed {seed}) failed after {TRIAL_RETRIES} retries" in r.stderr
    last = r.stderr.strip().splitlines()[-1]  # the run's own last word, after Dask's worker log
    assert last.startswith("stopped: generation 1, trial 0") and "injected fault" in last
    assert complete_generations(tmp_path / "archive.zarr") == 1
    r = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert complete_generations(tmp_path / "archive.zarr") == 2


@pytest.mark.slow
def test_workers_killed_again_and_again_do_not_change_the_result(tmp_path):
    """Three Dask workers SIGKILL themselves mid-trial (kinevo.faults) over a two-generation
    run: the nannies restart them, the lost trials run again (Dask allows a task 3 deaths),
    and the archive equals an undisturbed run's."""
    deaths = tmp_path / "deaths"
    cmd = [sys.executable, "-m", "evo.run", str(SMOKE), "--workers", "2", "--quiet"]
    env = {**os.environ, KILL_WORKER: f"{deaths}:3"}
    r = subprocess.run([*cmd, "--out", str(tmp_path / "killed")], capture_output=True, text=True,
                       cwd=ROOT, timeout=600, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(deaths.read_text().splitlines()) == 3
    r = subprocess.run([*cmd, "--out", str(tmp_path / "ref")], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert identical(tmp_path / "ref" / "archive.zarr", tmp_path / "killed" / "archive.zarr") == []
