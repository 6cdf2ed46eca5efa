"""A run stopped at any file write loses nothing: SIGKILL just before the k-th write of the
run (weights, checkpoints, every Zarr key), a disk that fills up, a folder that turns
read-only; then `--resume` gives the archive of a run that was never interrupted. And NaN
forced into training is caught, counted in the archive, and the run goes on.

The hooks are kinevo.faults' (environment variables read by the run's own process)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis import open_archive
from evo.archive import complete_generations, identical
from kinevo.faults import NAN_UPDATE, WRITE_FAULT, WRITE_LOG

ROOT = Path(__file__).parents[1]
SMOKE = ROOT / "runs" / "smoke.yaml"
# lamarckian: weights files are written too; checkpoint_top 1: a checkpoint pair per generation
ARGS = ["--workers", "1", "--quiet", "--set", "evolution.inheritance=lamarckian",
        "--set", "evolution.checkpoint_top=1"]  # fmt: skip


def evo_run(out, *extra, env=None):
    return subprocess.run(
        [sys.executable, "-m", "evo.run", str(SMOKE), "--out", str(out), *ARGS, *extra],
        capture_output=True, text=True, cwd=ROOT, timeout=300, start_new_session=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run and the labels of its writes, in order."""
    out = tmp_path_factory.mktemp("ref")
    log = out / "writes.log"
    r = evo_run(out / "run", env={WRITE_LOG: str(log)})
    assert r.returncode == 0, r.stderr
    # the run's own writes (its Dask workers write the trials' weights files, logged apart)
    labels = [line.split("\t")[1] for line in log.read_text().splitlines()]
    labels = [lab for lab in labels if not lab.startswith("worker ")]
    return out / "run", labels


def kill_points(labels: list[str]) -> dict[str, int]:
    """1-based write numbers worth killing at: each generation's first write, its first
    archive write, one in the middle of its archive writes and its last (the commit)."""
    zarr = [k for k, lab in enumerate(labels, 1) if lab.startswith("zarr")]
    gen1 = next(k for k, lab in enumerate(labels, 1) if lab.startswith("file:g1"))
    points = {"first write": 1, "archive created": zarr[0]}
    g0 = [k for k in zarr if k < gen1]
    g1 = [k for k in zarr if k > gen1]
    points |= {"mid generation 0": g0[len(g0) // 2], "commit of generation 0": g0[-1]}
    points |= {"first write of generation 1": gen1, "mid generation 1": g1[len(g1) // 2]}
    points |= {"commit of generation 1": len(labels)}
    return points


def killed_then_resumed(reference, tmp_path, k: int) -> None:
    ref, labels = reference
    out = tmp_path / f"k{k}"
    r = evo_run(out, env={WRITE_FAULT: f"{k}:kill"})
    assert r.returncode == -9, f"not killed at write {k} ({labels[k - 1]}): {r.stderr[-2000:]}"
    r = evo_run(out, "--resume")
    assert r.returncode == 0, f"resume after a kill at write {k} ({labels[k - 1]}): {r.stderr}"
    assert identical(ref / "archive.zarr", out / "archive.zarr") == [], labels[k - 1]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == sorted(
        p.name for p in (ref / "checkpoints").iterdir()
    )


# the default suite kills at one point; the slow one at six more and at every write
POINTS = ["mid generation 1"]
MORE_POINTS = ["first write", "archive created", "mid generation 0", "commit of generation 0",
               "first write of generation 1", "commit of generation 1"]  # fmt: skip


@pytest.mark.parametrize(
    "point", [*POINTS, *(pytest.param(p, marks=pytest.mark.slow) for p in MORE_POINTS)]
)
def test_sigkill_at_a_write_then_resume_equals_an_uninterrupted_run(reference, tmp_path, point):
    killed_then_resumed(reference, tmp_path, kill_points(reference[1])[point])


@pytest.mark.slow
def test_sigkill_at_every_write_of_a_run_then_resume(reference, tmp_path):
    for k in range(1, len(reference[1]) + 1):
        killed_then_resumed(reference, tmp_path, k)


@pytest.mark.parametrize(
    "kind, words",
    [
        ("enospc", "No space left on device"),
        pytest.param("eacces", "Permission denied", marks=pytest.mark.slow),
    ],
)
def test_a_write_error_stops_the_run_cleanly_and_resume_finishes_it(
    reference, tmp_path, kind, words
):
    ref, labels = reference
    k = kill_points(labels)["mid generation 1"]
    r = evo_run(tmp_path, env={WRITE_FAULT: f"{k}:{kind}"})
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("stopped: cannot write ") and words in last, last
    assert "1 complete generation(s)" in last and "--resume" in last
    assert "Traceback" not in r.stderr
    assert complete_generations(tmp_path / "archive.zarr") == 1
    r = evo_run(tmp_path, "--resume")  # space is back
    assert r.returncode == 0, r.stderr
    assert identical(ref / "archive.zarr", tmp_path / "archive.zarr") == []


def test_an_output_folder_that_cannot_be_written_exits_2_before_anything_starts(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the run's folder should be")
    r = evo_run(blocker / "run")
    assert r.returncode == 2, r.stderr
    assert (
        r.stderr.strip()
        == f"{blocker / 'run'}: cannot write the run's output here (Not a directory)"
    )
    assert blocker.read_text() == "a file where the run's folder should be"
    assert "Dask dashboard" not in r.stdout


def test_nan_forced_into_training_is_skipped_counted_and_the_run_goes_on(reference, tmp_path):
    r = evo_run(tmp_path, env={NAN_UPDATE: "2"})
    assert r.returncode == 0, r.stderr
    ds = open_archive(tmp_path / "archive.zarr")
    clean = open_archive(reference[0] / "archive.zarr")
    assert (clean.nan_skips.values == 0).all()
    # one NaN reward at the end of update 2's rollout poisons the advantages of one member:
    # each of its minibatch steps that update is skipped, in every trial
    cfg = ds.attrs["config"]["ppo"]
    trials = ds.sizes["trial"]
    per_trial = cfg["update_epochs"] * cfg["num_minibatches"]
    assert (ds.nan_skips.values == trials * per_trial).all()
    assert np.isfinite(ds.fitness.values).all() and np.isfinite(ds.training_fitness.values).all()
    assert ds.sizes["generation"] == 2
