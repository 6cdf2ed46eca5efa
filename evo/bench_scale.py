"""Scale benchmark: the evolution loop at 1,000 and 10,000 individuals with a stub trial;
prints one JSON line per figure.

    python -m evo.bench_scale                      # the README's figures (tens of minutes)
    python -m evo.bench_scale --sizes 1000 --generations 5 --threads 64

`stub_trial` stands in for `evo.trial.run_trial`: same arguments, a `TrialResult` of the real
shapes (every counter, the learning curve of `ppo.num_updates` updates, weights shaped like
the configured network when asked for) drawn from the trial's seed, after sleeping
`seconds`. So the run loop, selection, pedigree, archive and scheduling run as in a real run
while the trials cost nothing but their sleep, and the figures are the loop's own:

- overhead: generation wall time not spent waiting for the slowest trial round, as a share of
  a generation whose trials take `--trial-seconds` (with trials of 10 s on enough threads,
  one round of trials takes 10 s, and the rest is the loop's);
- archive files and bytes per generation;
- resume time (process-free: a fresh Evolution continuing an archive of 20 and of 200
  generations by one generation, minus that generation's own time);
- client peak RSS.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from evo.config import FitnessConfig, PPOConfig
from evo.trial import TrialResult
from kinship.structures import KinshipConfig
from world.config import WorldConfig
from world.layout import COUNTERS

_SHAPES: dict[tuple, dict[str, tuple[int, ...]]] = {}


def _weight_shapes(world: WorldConfig, ppo: PPOConfig) -> dict[str, tuple[int, ...]]:
    key = (world.model_dump_json(), ppo.model_dump_json())
    if key not in _SHAPES:
        from evo.policy import make_policy

        net = make_policy(world, ppo)
        _SHAPES[key] = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    return _SHAPES[key]


def stub_trial(
    genes: dict[str, Sequence[float]],
    uids: Sequence[int],
    world: WorldConfig,
    ppo: PPOConfig,
    kinship: KinshipConfig,
    seed: int,
    kinship_matrix: np.ndarray | None = None,
    init_states: list[dict] | None = None,
    return_weights: bool = False,
    fitness: FitnessConfig | None = None,
    seconds: float = 0.0,
    **_,
) -> TrialResult:
    """A trial's result of the real shapes, drawn from `seed` (fitness rises with the mean
    gene value, so selection has something to act on), after sleeping `seconds`. Weights:
    each slot's starting weights (or zeros) plus 1, so inheritance can be followed."""
    if seconds:
        time.sleep(seconds)
    uids = np.asarray(uids, np.int64)
    n = len(uids)
    rng = np.random.default_rng(seed)
    g = np.mean([np.asarray(v, np.float64) for v in genes.values()], axis=0)
    fit = rng.random(n) + g
    K = np.eye(n, dtype=np.float32) if kinship_matrix is None else kinship_matrix
    weights = None
    if return_weights:
        shapes = _weight_shapes(world, ppo)
        groups = 1 if ppo.mode == "shared" else n
        weights = []
        for k in range(groups):
            start = init_states[k] if init_states else None
            weights.append(
                {
                    name: (start[name] if start else torch.zeros(shape)) + 1
                    for name, shape in shapes.items()
                }
            )
    return TrialResult(
        uids=uids,
        fitness=fit,
        training_fitness=fit / 2,
        counters={c: rng.integers(0, 50, n) for c in COUNTERS},
        bonds=uids[: 2 * (n // 2)].reshape(-1, 2)[:1],
        nan_skips=np.zeros(1 if ppo.mode == "shared" else n, np.int64),
        kinship=np.asarray(K, np.float32),
        energy_given=rng.integers(0, 5, (n, n)),
        diamonds_given=rng.integers(0, 2, (n, n)),
        curve=[{"hearts_per_episode_by_slot": rng.random(n).tolist()}] * ppo.num_updates,
        weights=weights,
        agent_steps=ppo.total_timesteps * n,
        seconds=seconds,
    )
