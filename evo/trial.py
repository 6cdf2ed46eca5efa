"""A trial: the individuals placed together in one world, trained with PPO, as a pure function.

`run_trial` depends only on its arguments (no globals, every random draw from `seed`), so a
Dask task can call it anywhere and get the same answer bit for bit on CPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from evo.config import FitnessConfig, PPOConfig
from evo.evaluate import fitness_after_training
from evo.ppo import train
from kinevo.genes import GENES
from kinship.pedigree import Pedigree
from kinship.structures import KinshipConfig, build_kinship
from world.config import WorldConfig
from world.layout import COUNTERS


@dataclass
class TrialResult:
    """Per individual (arrays of length N, in the order given) plus trial-wide facts."""

    uids: np.ndarray  # int64[N]
    fitness: np.ndarray  # float64[N] own hearts per episode, as `fitness.when` says
    training_fitness: np.ndarray  # float64[N] own hearts per episode while learning
    counters: dict[str, np.ndarray]  # name -> int64[N], every world behaviour counter
    bonds: np.ndarray  # int64[M, 2] uid pairs that bonded (one row per bond formed)
    nan_skips: np.ndarray  # int64[G] updates skipped by the NaN guard (G = N or 1)
    kinship: np.ndarray  # float32[N, N] the matrix the agents lived with
    energy_given: np.ndarray  # int64[N, N] energy slot i gave slot j while learning
    diamonds_given: np.ndarray  # int64[N, N] diamonds slot i gave slot j while learning
    curve: list[dict] = field(default_factory=list)
    weights: list[dict] | None = None  # G plain state dicts when asked for
    weights_file: str | None = None  # or: where they were saved (`save_weights`)
    agent_steps: int = 0
    seconds: float = 0.0

    @property
    def curve_hearts(self) -> np.ndarray:
        """float64[N, updates]: own hearts per episode of each slot at each update."""
        return np.array([row["hearts_per_episode_by_slot"] for row in self.curve]).T


def run_trial(
    genes: dict[str, Sequence[float]],
    uids: Sequence[int],
    world: WorldConfig,
    ppo: PPOConfig,
    kinship: KinshipConfig,
    seed: int,
    lineage: Pedigree | None = None,
    init_states: list[dict] | None = None,
    return_weights: bool = False,
    kinship_matrix: np.ndarray | None = None,
    callback: Callable[[dict], None] | None = None,
    fitness: FitnessConfig | None = None,
) -> TrialResult:
    """Train the individuals `uids` (one agent slot each) together and report their results.

    genes: gene name -> one value per individual; the genes of `kinevo.genes.GENES` act,
    neutral ones (not in the table) act nowhere. lineage: needed for pedigree kinship.
    init_states: starting weights (policy inheritance), else fresh ones from `seed`.
    kinship_matrix: K given directly (float[N, N]); skips building it from `kinship`.
    callback: called with each update's learning-curve row (progress display).
    fitness: how fitness is measured (default `FitnessConfig()`: after training, on fresh
    episodes whose seed derives from `seed`).
    """
    if os.environ.get("KINEVO_FAULT_TRIAL_SEED") == str(seed):  # test hook: a failing trial
        raise RuntimeError(f"injected fault in the trial of seed {seed}")
    fitness = fitness or FitnessConfig()
    uids = np.asarray(uids, np.int64)
    if len(uids) != world.n_agents:
        raise ValueError(f"a trial places {world.n_agents} agents, got {len(uids)} uids")
    rng = np.random.default_rng(seed)
    if kinship_matrix is not None:
        K = np.asarray(kinship_matrix, np.float32)
    else:
        K = build_kinship(kinship, world.n_agents, rng, lineage, uids.tolist())
    acting = {k: np.asarray(v, np.float64) for k, v in genes.items() if k in GENES}
    result = train(
        world,
        ppo,
        seed=int(rng.integers(2**63)),
        kinship=K,
        genes=acting,
        init_states=init_states,
        callback=callback,
    )
    during = result.hearts_per_episode.astype(np.float64)
    fit = during
    if fitness.when == "after_training":
        fit = fitness_after_training(
            world, ppo, result.states, fitness.episodes, eval_seed(seed), K, acting,
            fitness.greedy,
        )  # fmt: skip
    pairs = result.bonds[:, 3:5] if len(result.bonds) else np.zeros((0, 2), np.int64)
    return TrialResult(
        uids=uids,
        fitness=fit,
        training_fitness=during,
        counters={name: result.counters[:, k] for k, name in enumerate(COUNTERS)},
        bonds=uids[pairs].reshape(-1, 2),
        nan_skips=result.nan_skips.astype(np.int64),
        kinship=K,
        energy_given=result.energy_given,
        diamonds_given=result.diamonds_given,
        curve=result.curve,
        weights=result.states if return_weights else None,
        agent_steps=result.agent_steps,
        seconds=result.seconds,
    )


# -- weights in the run's folder (evolution: they stay off the client) -------------------------
# A reference to one group's weights: (file, group) - a file of `save_weights`, and the group
# (slot; 0 in shared mode) inside it.
WeightsRef = tuple[str, int]


def save_weights(states: list[dict], path: str | os.PathLike) -> None:
    """A trial's weights (one state dict per group) as one flat file of tensors, "g.name"
    keys, written atomically through the fault hooks."""
    from kinevo.faults import atomic_save

    flat = {f"{g}.{k}": v.detach().cpu() for g, s in enumerate(states) for k, v in s.items()}
    atomic_save(flat, path)


def load_weights(refs: Sequence[WeightsRef]) -> list[dict]:
    """The state dicts `refs` point at, each file read once (weights_only: tensors only)."""
    import torch

    files: dict[str, dict] = {}
    out = []
    for path, group in refs:
        if path not in files:
            try:
                files[path] = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as err:  # missing, truncated, a pickle refused by weights_only
                raise ValueError(
                    f"{path}: not a readable weights file ({type(err).__name__}: {err})"
                ) from None
            if not all(isinstance(v, torch.Tensor) for v in files[path].values()):
                raise ValueError(f"{path}: expected a flat dict of tensors")
        prefix = f"{int(group)}."
        out.append({k[len(prefix) :]: v for k, v in files[path].items() if k.startswith(prefix)})
    return out


def trial_task(trial: Callable[..., TrialResult], init_weights=None, weights_to=None, **kw):
    """The Dask task around a trial (`run_trial` or a stand-in): its starting weights read
    from the files `init_weights` references (or given as state dicts), its trained weights
    written to `weights_to` (a file in the run's folder, which the workers must see) and
    returned as that path, so weights never travel through the client."""
    if init_weights is not None and init_weights and not isinstance(init_weights[0], dict):
        init_weights = load_weights(init_weights)
    result = trial(**kw, init_states=init_weights, return_weights=weights_to is not None)
    if weights_to is not None:
        save_weights(result.weights, weights_to)
        result.weights, result.weights_file = None, str(weights_to)
    return result


def trial_batch(jobs: list[dict], shared: dict) -> list[TrialResult]:
    """The trials of one Dask task (`population.trials_per_task` of them), one after
    another: each job is `trial_task`'s keyword arguments but those in `shared` (the trial
    function under "trial", and the configs every trial takes)."""
    shared = dict(shared)
    trial = shared.pop("trial")
    return [trial_task(trial, **shared, **job) for job in jobs]


def derived_seed(*keys: int) -> int:
    """A seed for one purpose, derived from integer keys (run seed, generation, ...)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1, np.uint64)[0] >> 1)


def derived_rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in keys]))


def eval_seed(seed: int) -> int:
    """The seed of a trial's after-training episodes: fresh worlds, never its training ones."""
    return derived_seed(seed, 1)
