"""The run loop's inheritance: which weights a child starts from, and from which trial."""

from pathlib import Path

import numpy as np
import torch

from evo.config import load_run_config
from evo.evolution import Evolution
from evo.trial import TrialResult, load_weights
from world.layout import COUNTERS

SMOKE = Path(__file__).parents[1] / "runs" / "smoke.yaml"
N = 2  # smoke.yaml: 4 individuals in trials of 2


def evolution(tmp_path, inheritance: str, trials_per_individual: int = 2) -> Evolution:
    cfg = load_run_config(
        SMOKE,
        [f"evolution.inheritance={inheritance}", "evolution.checkpoint_top=0",
         f"population.trials_per_individual={trials_per_individual}"],
    )  # fmt: skip
    return Evolution(cfg, tmp_path, client=None, log=lambda s: None, progress=False)


def result(uids, fitness, marker: float) -> TrialResult:
    """A trial's result whose weights say which trial and slot they came from."""
    return TrialResult(
        uids=np.asarray(uids), fitness=np.asarray(fitness, float),
        training_fitness=np.asarray(fitness, float),
        counters={c: np.zeros(N, np.int64) for c in COUNTERS}, bonds=np.zeros((0, 2)),
        nan_skips=np.zeros(N, np.int64), kinship=np.eye(N, dtype=np.float32),
        energy_given=np.zeros((N, N), np.int64), diamonds_given=np.zeros((N, N), np.int64),
        curve=[{"hearts_per_episode_by_slot": [0.0] * N}],
        weights=[{"w": torch.full((1,), marker + slot)} for slot in range(N)],
    )  # fmt: skip


def test_lamarckian_weights_come_from_each_individuals_best_trial(tmp_path):
    evo = evolution(tmp_path, "lamarckian")
    u = evo.genome.initial(4, np.random.default_rng(0))
    trials = [np.array([0, 1]), np.array([2, 3]), np.array([1, 2]), np.array([3, 0])]
    results = [
        result([0, 1], [1.0, 5.0], 0),  # individual 1 is best here (trial 0, slot 1)
        result([2, 3], [2.0, 0.0], 10),  # individual 2 best here (trial 1, slot 0)
        result([1, 2], [3.0, 1.0], 20),
        result([3, 0], [4.0, 6.0], 30),  # 3 and 0 best here (trial 3)
    ]
    evo._record(0, u, evo.genome.decode(u), trials, results, seconds=1.0)
    evo._drain()  # the generation's files land in the writer thread
    states = load_weights([(str(tmp_path / path), g) for path, g in evo.weights.values()])
    kept = {uid: float(state["w"]) for uid, state in zip(evo.weights, states, strict=True)}
    assert kept == {0: 31.0, 1: 1.0, 2: 10.0, 3: 30.0}
    ds_trial = (
        __import__("evo.archive", fromlist=["open_archive"])
        .open_archive(tmp_path / "archive.zarr")
        .weights_trial.values[0]
    )
    assert ds_trial.tolist() == [3, 0, 1, 3]


def test_lamarckian_children_start_from_their_first_parents_weights(tmp_path):
    evo = evolution(tmp_path, "lamarckian")
    evo.weights = {7: {"w": torch.ones(1)}, 9: {"w": torch.zeros(1)}}
    assert evo._initial_states(0, np.array([7, 9])) is None  # founders learn from scratch
    states = evo._initial_states(1, np.array([9, 7]))
    assert [float(s["w"]) for s in states] == [0.0, 1.0]


def test_darwinian_children_start_from_fresh_weights(tmp_path):
    evo = evolution(tmp_path, "darwinian")
    evo.weights = {7: {"w": torch.ones(1)}}
    assert evo._initial_states(3, np.array([7, 7])) is None


def _bred(tmp_path, shuffle: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """(genomes, uids) of each generation of a GA run whose trials are replaced by a fixed
    fitness per generation."""
    cfg = load_run_config(
        SMOKE, [f"evolution.shuffle_genes={str(shuffle).lower()}", "population.generations=3"]
    )
    evo = Evolution(cfg, tmp_path / str(shuffle), client=None, log=lambda s: None)
    seen = []

    def evaluate(u):
        seen.append((u.copy(), evo.lineage.uid.copy()))
        return np.random.default_rng(evo.generation).random(len(u))

    evo.evaluate = evaluate
    evo.run()
    return seen


def test_the_shuffled_genes_control_permutes_genomes_and_keeps_lineage(tmp_path):
    plain, shuffled = _bred(tmp_path, False), _bred(tmp_path, True)
    (u0, uid0), (v0, vid0) = plain[0], shuffled[0]
    assert np.array_equal(u0, v0) and np.array_equal(uid0, vid0)
    (u1, uid1), (v1, vid1) = plain[1], shuffled[1]
    assert np.array_equal(uid1, vid1)  # the same individuals (and weights' sources)
    assert not np.array_equal(u1, v1)  # ... with their genomes moved among them
    assert sorted(map(tuple, u1)) == sorted(map(tuple, v1))
