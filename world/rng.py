"""A seeded random generator per env, usable inside `@njit` kernels.

Numba's own `np.random` inside kernels keeps one hidden state per thread, so results would
depend on how envs are spread over threads. Each env here owns one uint64 word of state
(`rng[b]`) advanced with SplitMix64 (Steele, Lea & Flood 2014), so env b's draws depend only
on its own seed, whatever the batch size or thread count.
"""

import numpy as np
from numba import njit, uint64

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_M1 = uint64(0xBF58476D1CE4E5B9)
_M2 = uint64(0x94D049BB133111EB)


@njit(cache=True, inline="always")
def next_u64(rng, b):
    """Advance env b's state and return 64 random bits."""
    z = rng[b] + _GOLDEN
    rng[b] = z
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(cache=True, inline="always")
def randint(rng, b, n):
    """Uniform int in [0, n) for 0 < n < 2**32 (Lemire's multiply-shift, bias < n / 2**32)."""
    return np.int64(((next_u64(rng, b) >> uint64(32)) * uint64(n)) >> uint64(32))


@njit(cache=True, inline="always")
def uniform(rng, b):
    """Uniform float in [0, 1)."""
    return (next_u64(rng, b) >> uint64(11)) * (1.0 / 9007199254740992.0)


def env_seeds(seed: int, n_envs: int) -> np.ndarray:
    """Independent uint64 seeds for `n_envs` envs derived from one integer seed."""
    return np.random.SeedSequence(seed).generate_state(n_envs, dtype=np.uint64)
