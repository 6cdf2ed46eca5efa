"""python -m evo.run end to end: archive contents, determinism across workers, resume after
SIGKILL, a worker killed mid-trial, an external scheduler, and bad configs."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from analysis import open_archive
from evo.archive import SCHEMA_VERSION, complete_generations, identical
from kinevo.faults import KILL_WORKER
from world.layout import COUNTERS

ROOT = Path(__file__).parents[1]
SMOKE = ROOT / "runs" / "smoke.yaml"


def evo_run(*args, timeout=300, **kw):
    return subprocess.run(
        [sys.executable, "-m", "evo.run", *map(str, args), "--quiet"],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    r = evo_run(SMOKE, "--out", out, "--workers", 2)
    assert r.returncode == 0, r.stderr
    return out, r


def test_smoke_run_writes_a_complete_archive(reference):
    out, r = reference
    assert "Dask dashboard: http://127.0.0.1:" in r.stdout
    assert "gen   1:" in r.stdout and "archive:" in r.stdout
    assert f"report:  python -m analysis.report {out}" in r.stdout
    ds = open_archive(out / "archive.zarr")
    assert ds.sizes["generation"] == 2 and ds.sizes["individual"] == 4 and ds.sizes["gene"] == 2
    assert list(ds.gene.values) == ["kin_weight", "learning_rate"]
    for name in ["genome", "fitness", "parent_a", "parent_b", "mate", "kinship", "counters"]:
        assert name in ds.data_vars, name
    assert "uid" in ds.coords and list(ds.counter.values) == list(COUNTERS)
    assert (ds.counters.sel(counter="hearts") >= 0).all()
    assert ds.attrs["kinevo_schema"] == SCHEMA_VERSION
    cfg = ds.attrs["config"]
    assert cfg["population"]["size"] == 4 and ds.attrs["seed"] == 0 and "version_torch" in ds.attrs
    g0, g1 = ds.isel(generation=0), ds.isel(generation=1)
    assert (g0.parent_a.values == -1).all()
    born = g1.uid.values[~np.isin(g1.uid.values, g0.uid.values)]
    assert len(born) == 3  # one elite survives
    assert set(g1.parent_a.values[np.isin(g1.uid.values, born)]) <= set(g0.uid.values)
    lr = ds.genome.sel(gene="learning_rate").values
    assert (lr >= 1e-4).all() and (lr <= 1e-2).all()
    assert (out / "checkpoints").is_dir() and any((out / "checkpoints").glob("*.pt"))


def test_one_and_two_workers_give_identical_archives(reference, tmp_path):
    r = evo_run(SMOKE, "--out", tmp_path, "--workers", 1)
    assert r.returncode == 0, r.stderr
    assert identical(reference[0] / "archive.zarr", tmp_path / "archive.zarr") == []


@pytest.mark.slow  # the default suite kills a run mid generation 1 in test_write_faults.py
def test_sigkill_mid_generation_then_resume_equals_an_uninterrupted_run(reference, tmp_path):
    archive = tmp_path / "archive.zarr"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evo.run", SMOKE, "--out", tmp_path, "--workers", "1", "--quiet",
         "--set", "ppo.total_timesteps=2048"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 240
    while complete_generations(archive) < 1:
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its Dask workers, mid generation 1
    proc.wait()
    assert complete_generations(archive) == 1
    ref = tmp_path / "ref"
    for out in (ref, tmp_path):
        extra = ("--resume",) if out == tmp_path else ()
        r = evo_run(
            SMOKE, "--out", out, "--workers", 1, "--set", "ppo.total_timesteps=2048", *extra
        )
        assert r.returncode == 0, r.stderr
    assert "gen   0 (archived)" in r.stdout
    assert identical(ref / "archive.zarr", archive) == []


def test_resume_with_more_generations_continues_the_same_run(reference, tmp_path):
    r = evo_run(SMOKE, "--out", tmp_path, "--workers", 1, "--generations", 1)
    assert r.returncode == 0, r.stderr
    r = evo_run(SMOKE, "--out", tmp_path, "--workers", 1, "--generations", 2, "--resume")
    assert r.returncode == 0, r.stderr
    assert "gen   0 (archived)" in r.stdout
    assert identical(reference[0] / "archive.zarr", tmp_path / "archive.zarr") == []


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


BAD = [
    ("ppo: {learning_rate: -1}", "bad.yaml: ppo.learning_rate: must be > 0, got -1"),
    ("population: {size: 5, agents_per_trial: 2}\nworld: {n_agents: 2}", "must be a multiple of"),
    ("popluation: {size: 4}", "bad.yaml: popluation: unknown field"),
    (
        "genes: [{name: kin_weight, low: 1, high: 0}]",
        "bad.yaml: genes.0: low (1.0) must be < high (0.0)",
    ),
    (
        "evolution: {algorithm: nsga}",
        "bad.yaml: evolution.algorithm: must be one of 'ga', 'cmaes' or 'pgpe', got 'nsga'",
    ),
    ("world: {max_energy: zero}", "bad.yaml: world.max_energy: must be an integer, got 'zero'"),
    ("seed: [1]", "bad.yaml: seed: must be an integer"),
    (
        "genes: [{name: kin_weigth, low: 0, high: 1}]",
        "bad.yaml: genes.0: unknown gene 'kin_weigth'; known genes: learning_rate",
    ),
    (
        "population: {size: 4, agents_per_trial: 2}\nworld: {n_agents: 3}",
        "must equal population.agents_per_trial",
    ),
    pytest.param(
        "population: {size: 4, agents_per_trial: 4}\nworld: {n_agents: 4}\nppo: {device: cuda}",
        "bad.yaml: ppo.device: 'cuda', but this machine has no CUDA device",
        marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),
    ),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_configs_exit_2_and_leave_the_archive_untouched(
    reference, tmp_path, capsys, text, message
):
    out = reference[0]
    before = _digest(out)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    if (text, message) == BAD[0]:  # one through a real process: its exit status
        r = evo_run(cfg, "--out", out, "--resume")
        code, err = r.returncode, r.stderr
    else:  # the rest through `main` here, without a process start each
        from evo.run import main

        with pytest.raises(SystemExit) as exited:
            main([str(cfg), "--out", str(out), "--resume", "--quiet"])
        code, err = exited.value.code, capsys.readouterr().err
    assert code == 2
    assert message in err.replace(str(tmp_path) + "/", ""), err
    assert _digest(out) == before


def test_a_different_config_is_not_mixed_into_an_existing_archive(reference, tmp_path):
    out = reference[0]
    before = _digest(out)
    r = evo_run(SMOKE, "--out", out, "--resume", "--seed", 5)
    assert r.returncode == 2 and "different config" in r.stderr
    r = evo_run(SMOKE, "--out", out)
    assert r.returncode == 2 and "--resume continues it" in r.stderr
    assert _digest(out) == before


def test_resuming_an_archive_of_an_older_schema_exits_2_and_leaves_it(reference, tmp_path):
    import shutil

    import zarr

    out = tmp_path / "old"
    shutil.copytree(reference[0], out)
    del zarr.open_group(out / "archive.zarr", mode="r+").attrs["kinevo_schema"]  # as before v2
    before = _digest(out)
    r = evo_run(SMOKE, "--out", out, "--resume", "--workers", 1)
    assert r.returncode == 2
    assert f"{out / 'archive.zarr'}: archive schema 1, but this kinevo reads" in r.stderr, r.stderr
    assert _digest(out) == before


def test_an_external_scheduler_and_worker_are_used(reference, tmp_path):
    sched_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file", sched_file]
    scheduler = subprocess.Popen(
        [*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        deadline = time.time() + 60
        while not sched_file.exists():
            assert time.time() < deadline
            time.sleep(0.2)
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", sched_file,
             "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        address = json.loads(sched_file.read_text())["address"]
        r = evo_run(SMOKE, "--out", tmp_path / "out", "--scheduler", address)
        assert r.returncode == 0, r.stderr
        assert identical(reference[0] / "archive.zarr", tmp_path / "out" / "archive.zarr") == []
    finally:
        for p in (worker, scheduler):
            if p is not None:
                p.terminate()
                p.wait(timeout=30)


def test_a_worker_killed_mid_trial_does_not_change_the_result(reference, tmp_path):
    """A Dask worker SIGKILLs itself in its first trial's second update (kinevo.faults): the
    nanny restarts it, the trial runs again, and the archive is the undisturbed one."""
    deaths = tmp_path / "deaths"
    env = {**os.environ, KILL_WORKER: f"{deaths}:1"}
    r = evo_run(SMOKE, "--out", tmp_path / "out", "--workers", 2, env=env)
    assert r.returncode == 0, r.stderr
    assert len(deaths.read_text().splitlines()) == 1
    assert identical(reference[0] / "archive.zarr", tmp_path / "out" / "archive.zarr") == []


@pytest.mark.parametrize(
    "name",
    ["population", "population_darwinian", "population_shuffled", "smoke", "hamilton", "mates",
     "signalling"],
)  # fmt: skip
def test_example_configs_are_valid(name):
    from evo.config import load_run_config

    cfg = load_run_config(ROOT / "runs" / f"{name}.yaml")
    assert cfg.world.n_agents == cfg.population.agents_per_trial


@pytest.mark.parametrize("algorithm", ["cmaes", pytest.param("pgpe", marks=pytest.mark.slow)])
def test_evotorch_searchers_run_and_archive_founders(tmp_path, algorithm):
    r = evo_run(
        SMOKE, "--out", tmp_path, "--workers", 1, "--set", f"evolution.algorithm={algorithm}",
        "--set", "kinship.kind=identity",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    ds = open_archive(tmp_path / "archive.zarr")
    assert ds.sizes["generation"] == 2 and (ds.parent_a.values == -1).all()
    assert len(np.unique(ds.uid.values)) == 8  # every sampled individual is new
    assert not np.allclose(ds.genome.values[0], ds.genome.values[1])


KEY_LOG = '''
from distributed.diagnostics.plugin import SchedulerPlugin


class KeyLog(SchedulerPlugin):
    """Appends the key of every task that reaches memory to {path!r}."""

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "memory":
            with open({path!r}, "a") as f:
                f.write(str(key) + "\\n")


def dask_setup(scheduler):
    scheduler.add_plugin(KeyLog())
'''


@pytest.mark.slow  # 40-80 s on 2 busy cores
def test_two_runs_of_one_config_at_once_on_one_scheduler_match_a_solo_run(reference, tmp_path):
    # Same config and seed, so only run_id keeps their tasks apart: were the keys equal, the
    # scheduler would compute each trial once for both (the key log below would show it).
    sched_file, key_log = tmp_path / "scheduler.json", tmp_path / "keys.txt"
    (tmp_path / "key_log.py").write_text(KEY_LOG.format(path=str(key_log)))
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file", sched_file]
    scheduler = subprocess.Popen(
        [*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--preload", tmp_path / "key_log.py"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    procs = []
    try:
        deadline = time.time() + 60
        while not sched_file.exists():
            assert time.time() < deadline and scheduler.poll() is None
            time.sleep(0.2)
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                  sched_file, "--nthreads", "1", "--nworkers", "2", "--no-dashboard"]  # fmt: skip
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        procs.append(subprocess.Popen(worker, cwd=ROOT, **quiet))
        address = json.loads(sched_file.read_text())["address"]
        run = [sys.executable, "-m", "evo.run", SMOKE, "--scheduler", address, "--quiet"]
        errs = [tmp_path / f"err{k}.txt" for k in range(2)]
        runs = [
            subprocess.Popen(
                [*run, "--out", tmp_path / f"out{k}"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=errs[k].open("w"),
            )
            for k in range(2)
        ]
        procs += runs
        for p, err in zip(runs, errs, strict=True):
            assert p.wait(timeout=300) == 0, err.read_text()
        for k in range(2):
            archive = tmp_path / f"out{k}" / "archive.zarr"
            assert identical(reference[0] / "archive.zarr", archive) == []
    finally:
        for p in [*procs, scheduler]:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
    keys = [k for k in key_log.read_text().split() if k.startswith("trial-")]
    by_run: dict[str, list[int]] = {}
    for order, key in enumerate(keys):
        by_run.setdefault(key.rsplit("-g", 1)[0], []).append(order)
    assert len(by_run) == 2, keys  # two runs, each with its own keys ...
    assert all(len(v) == len(set(keys)) // 2 for v in by_run.values()), keys
    assert len(set(keys)) == 2 * 2 * 2  # ... 2 trials x 2 generations each
    first, second = sorted(by_run.values())
    assert second[0] < first[-1], keys  # and their trials ran at the same time
