"""The run loop at scale, with evo.bench_scale's stub trial (no training): resume from the
snapshot without replaying generations, weights retention, trials per task, the writer
thread."""

import errno
import functools
import json
import time
from pathlib import Path

import numpy as np
import pytest

from evo.archive import complete_generations, identical, open_archive
from evo.bench_scale import stub_trial
from evo.config import load_run_config
from evo.evolution import Evolution, TrialFailed, derived_seed

SMOKE = Path(__file__).parents[1] / "runs" / "smoke.yaml"
SETTINGS = [
    "population.size=8", "evolution.inheritance=lamarckian", "evolution.checkpoint_top=1",
    "ppo.total_timesteps=256",
]  # fmt: skip


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def config(generations: int, *more: str):
    return load_run_config(SMOKE, [*SETTINGS, f"population.generations={generations}", *more])


def run(cfg, out, client, trial=stub_trial, log=None, archive=None):
    lines = [] if log is None else log
    ev = Evolution(cfg, out, client, log=lines.append, progress=False, trial=trial, archive=archive)
    ev.run()
    return ev, lines


def failing_in_generation(g: int):
    """`stub_trial`, except that trial 0 of generation g (smoke.yaml's seed 0) raises."""
    seed = derived_seed(0, g, 5, 0)

    def trial(**kw):
        if kw["seed"] == seed:
            raise RuntimeError("injected")
        return stub_trial(**kw)

    return trial


CALLS = []  # seeds of the trials run (the cluster runs in this process)


def counting(**kw):
    CALLS.append(kw["seed"])
    return stub_trial(**kw)


@pytest.fixture(scope="module")
def reference(client, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    run(config(5), out, client)
    return out


def test_resume_continues_from_the_snapshot_without_replaying(client, reference, tmp_path):
    with pytest.raises(TrialFailed):
        run(config(5), tmp_path, client, trial=failing_in_generation(3))
    assert complete_generations(tmp_path / "archive.zarr") == 3
    state = json.loads((tmp_path / "state" / "resume.json").read_text())
    assert state["generation"] == 3
    CALLS.clear()
    ev, lines = run(config(5), tmp_path, client, trial=counting)
    assert [r["generation"] for r in ev.rows] == [2, 3, 4]  # the last archived, then new
    assert lines[0].startswith("gen   2 (archived)")
    assert len(CALLS) == 2 * 4  # generations 3 and 4 only, 4 trials each
    assert identical(reference / "archive.zarr", tmp_path / "archive.zarr") == []


def counting_adds(monkeypatch) -> list[int]:
    from kinship.pedigree import Pedigree

    adds, real = [], Pedigree.add

    def add(self, uids, *args, **kw):
        adds.append(len(uids))
        return real(self, uids, *args, **kw)

    monkeypatch.setattr(Pedigree, "add", add)
    return adds


def test_resume_restores_the_pedigree_from_the_snapshot_not_generation_by_generation(
    client, tmp_path, monkeypatch
):
    whole, _ = run(config(6), tmp_path / "whole", client)
    run(config(4), tmp_path / "cut", client)
    adds = counting_adds(monkeypatch)
    resumed, _ = run(config(6), tmp_path / "cut", client)
    assert len(adds) == 2  # the children of generations 4 and 5; none for 0..3
    a, b = whole.pedigree.state(), resumed.pedigree.state()
    assert np.array_equal(a["active"], b["active"])
    assert np.array_equal(a["coefficients"], b["coefficients"])
    assert a["coefficients"][:-1, :-1].min() > 0  # 6 generations of 8: all related by now
    for x, y in zip(whole.pedigree.records(), resumed.pedigree.records(), strict=True):
        assert np.array_equal(x, y)
    assert identical(tmp_path / "whole" / "archive.zarr", tmp_path / "cut" / "archive.zarr") == []


def test_an_older_pedigree_snapshot_is_restored_and_the_generations_after_it_added(
    client, tmp_path, monkeypatch
):
    whole, _ = run(config(5), tmp_path / "whole", client)
    run(config(2), tmp_path / "cut", client)
    state = tmp_path / "cut" / "state" / "pedigree.npz"
    old = state.read_bytes()  # written for generation 2
    run(config(3), tmp_path / "cut", client)
    state.write_bytes(old)  # resume.json says 3: as if the newer pedigree.npz never landed
    adds = counting_adds(monkeypatch)
    resumed, _ = run(config(5), tmp_path / "cut", client)
    assert len(adds) == 3  # generation 2 added to the snapshot's pedigree, then 3 and 4
    a, b = whole.pedigree.state(), resumed.pedigree.state()
    assert np.array_equal(a["coefficients"], b["coefficients"])


def test_a_pedigree_snapshot_ahead_of_resume_json_falls_back_to_the_rebuild(
    client, tmp_path, monkeypatch
):
    whole, _ = run(config(5), tmp_path / "whole", client)
    run(config(2), tmp_path / "cut", client)
    resume = tmp_path / "cut" / "state" / "resume.json"
    old = resume.read_bytes()  # generation 2
    run(config(3), tmp_path / "cut", client)
    resume.write_bytes(old)  # as if killed between pedigree.npz (3) and resume.json (3)
    adds = counting_adds(monkeypatch)
    resumed, _ = run(config(5), tmp_path / "cut", client)
    assert len(adds) == 5  # generations 0..1 rebuilt from the archive, then 2 (replayed), 3, 4
    a, b = whole.pedigree.state(), resumed.pedigree.state()
    assert np.array_equal(a["coefficients"], b["coefficients"])
    assert identical(tmp_path / "whole" / "archive.zarr", tmp_path / "cut" / "archive.zarr") == []


def test_a_large_pedigree_is_snapshotted_every_few_generations_and_resumes_the_same(
    client, tmp_path, monkeypatch
):
    import evo.evolution

    whole, _ = run(config(6), tmp_path / "whole", client)
    # smoke.yaml's 8 living: a 9 x 9 float32 matrix, 324 bytes; at 120 bytes a generation on
    # average it is due every 3rd generation (as a 400 MB one at 10,000 is every 6th)
    monkeypatch.setattr(evo.evolution, "PEDIGREE_SNAPSHOT_BYTES", 120)
    written, save = [], evo.evolution.atomic_save_arrays

    def recording(path, **arrays):
        written.append(int(arrays["generation"]))
        save(path, **arrays)

    monkeypatch.setattr(evo.evolution, "atomic_save_arrays", recording)
    with pytest.raises(TrialFailed):
        run(config(6), tmp_path / "cut", client, trial=failing_in_generation(4))
    assert written == [3]  # after generations 0..2; resume.json is at 4
    written.clear()
    adds = counting_adds(monkeypatch)
    resumed, _ = run(config(6), tmp_path / "cut", client)
    assert len(adds) == 3  # generation 3 added to the snapshot's pedigree, then 4 and 5
    assert written == [6]  # the last generation's is always written
    a, b = whole.pedigree.state(), resumed.pedigree.state()
    assert np.array_equal(a["coefficients"], b["coefficients"])
    assert identical(tmp_path / "whole" / "archive.zarr", tmp_path / "cut" / "archive.zarr") == []


EVENTS = []  # (what, generation, time): trial starts and archive appends, in this process


def timed(**kw):
    g = next(g for g in range(5) if kw["seed"] in {derived_seed(0, g, 5, t) for t in range(4)})
    EVENTS.append(("trial", g, time.perf_counter()))
    return stub_trial(**kw)


def test_a_generations_files_land_while_the_next_generations_trials_run(
    client, reference, tmp_path, monkeypatch
):
    import evo.evolution

    real = evo.evolution.append_generation

    def slow_append(path, ds, attrs):
        time.sleep(0.5)  # a slow filesystem
        real(path, ds, attrs)
        EVENTS.append(("appended", int(ds.generation[0]), time.perf_counter()))

    monkeypatch.setattr(evo.evolution, "append_generation", slow_append)
    EVENTS.clear()
    run(config(5), tmp_path, client, trial=timed)
    first = {}
    for what, g, t in EVENTS:
        first.setdefault((what, g), t)
    for g in range(4):  # generation g + 1's trials began before g's append had finished
        assert first["trial", g + 1] < first["appended", g]
    assert identical(reference / "archive.zarr", tmp_path / "archive.zarr") == []


def test_a_write_that_fails_in_the_writer_stops_the_run_with_its_error(
    client, reference, tmp_path, monkeypatch
):
    import evo.evolution

    real = evo.evolution.append_generation

    def full_at_generation_2(path, ds, attrs):
        if int(ds.generation[0]) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, ds, attrs)

    monkeypatch.setattr(evo.evolution, "append_generation", full_at_generation_2)
    with pytest.raises(OSError, match="No space left"):
        run(config(5), tmp_path, client)
    assert complete_generations(tmp_path / "archive.zarr") == 2
    state = json.loads((tmp_path / "state" / "resume.json").read_text())
    assert state["generation"] == 2  # never ahead of the archive
    monkeypatch.setattr(evo.evolution, "append_generation", real)
    run(config(5), tmp_path, client)
    assert identical(reference / "archive.zarr", tmp_path / "archive.zarr") == []


def test_a_snapshot_behind_the_archive_replays_the_generations_between(client, reference, tmp_path):
    run(config(2), tmp_path, client)
    state = tmp_path / "state" / "resume.json"
    behind = state.read_text()  # the snapshot for generation 2
    run(config(3), tmp_path, client)
    state.write_text(behind)  # as if killed after committing generation 2: it is replayed
    ev, lines = run(config(5), tmp_path, client)
    assert [r["generation"] for r in ev.rows] == [1, 2, 3, 4]
    assert lines[1].startswith("gen   2 (archived)")
    assert identical(reference / "archive.zarr", tmp_path / "archive.zarr") == []


def test_a_snapshot_of_another_config_is_ignored_and_the_run_replayed(client, reference, tmp_path):
    run(config(3), tmp_path, client)
    state = tmp_path / "state" / "resume.json"
    data = json.loads(state.read_text())
    data["fingerprint"] = "something else"
    state.write_text(json.dumps(data))
    ev, lines = run(config(5), tmp_path, client)
    assert [r["generation"] for r in ev.rows] == [0, 1, 2, 3, 4]
    assert identical(reference / "archive.zarr", tmp_path / "archive.zarr") == []


def test_the_stub_trial_gives_results_of_the_real_shapes(client, reference):
    ds = open_archive(reference / "archive.zarr")
    cfg = config(5)
    assert ds.sizes["update"] == cfg.ppo.num_updates and ds.sizes["individual"] == 8
    assert np.isfinite(ds.fitness.values).all()
    assert functools.partial(stub_trial, seconds=0.0)  # the form evo.bench_scale submits


def test_weights_and_checkpoints_are_pruned_to_what_the_config_keeps(client, tmp_path):
    cfg = config(6, "evolution.keep_checkpoints_every=2", "evolution.checkpoint_top=2")
    run(cfg, tmp_path, client)
    weights = sorted(p.name for p in (tmp_path / "weights").iterdir())
    assert weights == ["g5", "g5.json"]  # the trials' files and the index: uid -> file
    assert len(list((tmp_path / "weights" / "g5").iterdir())) == 4
    gens = {p.name[:5] for p in (tmp_path / "checkpoints").iterdir()}
    assert gens == {"g0000", "g0002", "g0004", "g0005"}
    assert len(list((tmp_path / "checkpoints").iterdir())) == 4 * 2 * 2  # .pt and .json
    cfg = config(6, "evolution.keep_weights_every=3")
    run(cfg, tmp_path / "every3", client)
    weights = sorted(p.name for p in (tmp_path / "every3" / "weights").iterdir())
    assert weights == ["g0", "g0.json", "g3", "g3.json", "g5", "g5.json"]
    assert len({p.name[:5] for p in (tmp_path / "every3" / "checkpoints").iterdir()}) == 6


def test_a_pruned_run_resumes_to_the_same_archive(client, reference, tmp_path):
    cfg = config(5, "evolution.keep_checkpoints_every=3")
    with pytest.raises(TrialFailed):
        run(cfg, tmp_path, client, trial=failing_in_generation(3))
    kept = sorted(p.name for p in (tmp_path / "weights").iterdir())
    assert kept == ["g2", "g2.json", "g3"]  # the last committed, and the one that failed
    run(cfg, tmp_path, client)
    assert identical(reference / "archive.zarr", tmp_path / "archive.zarr") == []


def test_weights_stay_in_the_run_folder_and_children_start_from_their_parents(reference):
    """Workers write each trial's weights to weights/g{g}/t{t}.pt and read the next
    generation's starting weights from there; the stub adds 1 to what a slot starts from."""
    from evo.trial import load_weights

    index = json.loads((reference / "weights" / "g4.json").read_text())
    refs = [(str(reference / path), slot) for path, slot in index.values()]
    starts = sorted(float(next(iter(s.values())).flatten()[0]) for s in load_weights(refs))
    assert starts[-1] >= 3  # trained in 3+ generations along its line
    assert set(starts) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_several_trials_per_task_give_the_same_archive(client, reference, tmp_path):
    run(config(5, "population.trials_per_task=3"), tmp_path, client)  # 4 trials: tasks of 3, 1
    assert identical(reference / "archive.zarr", tmp_path / "archive.zarr") == []


def gpu_held(**kw):
    from distributed import get_worker

    assert get_worker().state.available_resources["GPU"] == 0  # this task holds the GPU
    return stub_trial(**kw)


def test_cuda_trials_ask_for_a_gpu_resource(reference, tmp_path):
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None,
        resources={"GPU": 1},
    ) as cluster, Client(cluster) as c:  # fmt: skip
        run(config(2, "ppo.device=cuda"), tmp_path, c, trial=gpu_held)
    ds = open_archive(tmp_path / "archive.zarr")
    assert ds.sizes["generation"] == 2


def test_an_archive_at_an_fsspec_url_equals_the_local_one_and_resumes(client, reference, tmp_path):
    """fsspec's in-memory filesystem stands in for an object store (s3://, gs://): Zarr
    reaches it through FsspecStore, with no local folder behind the archive."""
    import fsspec

    import analysis
    from evo.run import main

    url = f"memory://kinevo-{tmp_path.name}/archive.zarr"
    try:
        run(config(3), tmp_path, client, archive=url)
        assert not (tmp_path / "archive.zarr").exists()  # the run's other files stay here
        assert complete_generations(url) == 3
        run(config(5), tmp_path, client, archive=url)  # resumed from the snapshot
        assert identical(reference / "archive.zarr", url) == []
        ds = analysis.open_archive(url)
        assert ds.sizes["generation"] == 5 and ds.attrs["path"] == url
    finally:
        fsspec.filesystem("memory").rm(f"/kinevo-{tmp_path.name}", recursive=True)
    with pytest.raises(SystemExit) as stop:
        main([str(SMOKE), "--out", str(tmp_path / "cli"), "--archive", "nosuch://x/a.zarr"])
    assert stop.value.code == 2 and not (tmp_path / "cli").exists()
