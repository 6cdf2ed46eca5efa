"""python -m evo.sweep: a grid of runs on one cluster, each equal to the same run alone,
resumable, read back with the sweep's dimensions; bad sweep files exit 2 naming the problem."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis import open_sweep
from evo.archive import identical

ROOT = Path(__file__).parents[1]
SWEEP = """
base: {base}
seeds: [1]
dims:
  share:
    world.share_amount: [5, 20]
"""


def sweep(*args):
    return subprocess.run(
        [sys.executable, "-m", "evo.sweep", *map(str, args), "--quiet", "--workers", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    path = tmp / "sweep.yaml"
    path.write_text(SWEEP.format(base=ROOT / "runs" / "smoke.yaml"))
    r = sweep(path, "--out", tmp / "out")
    assert r.returncode == 0, r.stderr
    return path, tmp / "out", r


def test_every_point_lands_in_its_own_archive_and_reads_back_with_the_sweep_dims(done):
    _, out, r = done
    assert "2 runs, 2 to do" in r.stdout
    ds = open_sweep(out)
    assert ds.fitness.dims[:2] == ("share", "seed")
    assert list(ds.share.values) == [5, 20] and list(ds.seed.values) == [1]
    assert ds.sizes["generation"] == 2
    configs = ds.attrs["runs"]
    assert configs["share=20_seed=1"]["config"]["world"]["share_amount"] == 20


def test_a_point_equals_the_same_run_alone(done, tmp_path):
    _, out, _ = done
    r = subprocess.run(
        [sys.executable, "-m", "evo.run", "runs/smoke.yaml", "--out", str(tmp_path), "--quiet",
         "--seed", "1", "--set", "world.share_amount=20"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert identical(tmp_path / "archive.zarr", out / "share=20_seed=1" / "archive.zarr") == []


def test_the_report_of_a_sweep_without_r_and_cost_ratio_plots_outcomes_and_trajectories(
    done, tmp_path
):
    _, out, _ = done
    r = subprocess.run(
        [sys.executable, "-m", "analysis.report", str(out), "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "index.html").read_text()
    for stem in ("outcome_fitness", "outcome_trend_kin_weight", "trajectory_gene_kin_weight"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 1000, stem
        assert f"src='{stem}.png'" in page
    assert not list(tmp_path.glob("phase_*"))


def test_resume_runs_only_what_is_missing_and_a_second_start_is_refused(done):
    path, out, _ = done
    r = sweep(path, "--out", out)
    assert r.returncode == 2 and "--resume continues it" in r.stderr
    kept = out / "share=20_seed=1" / "archive.zarr"
    again = out / "share=5_seed=1"
    saved = again.with_name("saved")
    shutil.copytree(again, saved)
    shutil.rmtree(again)
    r = sweep(path, "--out", out, "--resume")
    assert r.returncode == 0, r.stderr
    assert "2 runs, 1 to do" in r.stdout
    assert identical(saved / "archive.zarr", again / "archive.zarr") == []
    assert kept.exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("base: nowhere.yaml\ndims: {a: {seed: [1]}}", "base: no such run config"),
        ("base: {base}\ndims: {a: {seed: [1, 2], world.share_amount: [5]}}",
         "dims.a: every key needs the same number of values"),
        ("base: {base}\ndims: {a: {world.shar_amount: [5]}}",
         "at a=5: .*world.shar_amount: unknown field"),
        ("base: {base}\ndims: {a: {world.share_amount: [-5]}}", "at a=-5: .*share_amount"),
        ("base: {base}\ndims: {}", "give at least one dimension"),
        ("base: {base}\ndims: {seed: {seed: [1]}}", "a word other than 'seed'"),
    ],
)  # fmt: skip
def test_bad_sweep_files_exit_2_naming_file_and_problem(tmp_path, capsys, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("{base}", str(ROOT / "runs" / "smoke.yaml")))
    if text.startswith("base: nowhere"):  # one through a real process: its exit status
        r = sweep(path, "--out", tmp_path / "out")
        code, err = r.returncode, r.stderr
    else:  # the rest through `main` here, without a process start each
        from evo.sweep import main

        with pytest.raises(SystemExit) as exited:
            main([str(path), "--out", str(tmp_path / "out"), "--quiet", "--workers", "2"])
        code, err = exited.value.code, capsys.readouterr().err
    assert code == 2, err
    assert str(path) in err
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "name",
    ["sweep_smoke", "sweep_hamilton", "sweep_signalling", "sweep_hamilton_full",
     "sweep_signalling_full"],
)  # fmt: skip
def test_the_shipped_sweeps_are_valid(name):
    from evo.sweep import load_sweep

    sweep, _, runs = load_sweep(ROOT / "runs" / f"{name}.yaml")
    sizes = [len(next(iter(keys.values()))) for keys in sweep.dims.values()]
    assert len(runs) == int(np.prod(sizes)) * len(sweep.seeds or [0])
