"""Reward sharing: the reward each agent learns from, built from the own rewards of the N
agents of one env, their kinship K (K_ii = 1) and each agent's own `kin_weight` gene w.

    none         l_i = r_i

    conserving   each agent j keeps (1 - w_j) of its reward and spreads w_j r_j over its kin in
                 proportion to K (itself included, K_jj = 1):
                     l_i = (1 - w_i) r_i + sum_j w_j r_j K_ji / sum_k K_jk
                 Reward moves, it is never created: sum_i l_i = sum_i r_i. With K = I, l = r.
                 An agent whose row of K sums to 0 or less has no kin to spread over: it
                 keeps w_j r_j (only reachable by calling the kernel directly: `World`
                 accepts only kinship that passes `check_kinship`, where K_jj = 1).
                 Teams with w = 1: each team's reward is split evenly within the team.

    inclusive    Hamilton's view: each agent also counts its kin's reward weighted by
                 relatedness, as much as its own gene says:
                     l_i = r_i + w_i sum_{j != i} K_ij r_j
                 With K = I, l = r.

Bonded mates (`bond[i] = j`) then swap a share m = `mate_share` of these learned rewards:
    l_i <- (1 - m) l_i + m l_j,    l_j <- (1 - m) l_j + m l_i
which conserves their sum. Fitness is never the learned reward: it is the own reward.

The kernels take one env's arrays and skip agents with zero reward, so a step where nobody
made a heart costs O(N).
"""

import numpy as np
from numba import njit

NONE, CONSERVING, INCLUSIVE = 0, 1, 2
MODES = ("none", "conserving", "inclusive")


@njit(cache=True)
def share_rewards(own, kinship, kin_weight, mode, out):
    """Fill out[N] (float32) from own[N], kinship[N, N], kin_weight[N] and a mode id."""
    n = own.shape[0]
    if mode == CONSERVING:
        for i in range(n):
            out[i] = (1.0 - kin_weight[i]) * own[i]
        for j in range(n):
            give = kin_weight[j] * own[j]
            if give == 0.0:
                continue
            total = 0.0
            for k in range(n):
                total += kinship[j, k]
            if total <= 0.0:
                out[j] += give
                continue
            for k in range(n):
                out[k] += give * kinship[j, k] / total
    elif mode == INCLUSIVE:
        for i in range(n):
            out[i] = own[i]
        for j in range(n):
            if own[j] == 0.0:
                continue
            for i in range(n):
                if i != j:
                    out[i] += kin_weight[i] * kinship[i, j] * own[j]
    else:
        for i in range(n):
            out[i] = own[i]


def check_kinship(kinship, n: int, n_envs: int | None = None) -> np.ndarray:
    """Check a kinship matrix for `n` agents, float[n, n] or (with `n_envs`) one per env
    float[n_envs, n, n], and return it as float32. Raises ValueError naming the problem: the
    shape, a non-finite entry, asymmetry, a diagonal entry other than 1, or an entry outside
    [0, 1] (negative relatedness is not a kinship structure; sharing divides by row sums)."""
    k = np.asarray(kinship, dtype=np.float64)
    shapes = [(n, n)] + ([(n_envs, n, n)] if n_envs is not None else [])
    if k.shape not in shapes:
        want = " or ".join(str(list(s)) for s in shapes)
        raise ValueError(f"kinship: expected shape {want}, got {list(k.shape)}")
    batch = k if k.ndim == 3 else k[None]
    for e, m in enumerate(batch):
        where = f"kinship[{e}]" if k.ndim == 3 else "kinship"
        bad = np.argwhere(~np.isfinite(m))
        if len(bad):
            i, j = bad[0]
            raise ValueError(f"{where}: entries must be finite, K[{i}, {j}] = {m[i, j]}")
        bad = np.argwhere(np.abs(m - m.T) > 1e-6)
        if len(bad):
            i, j = bad[0]
            raise ValueError(
                f"{where}: must be symmetric, K[{i}, {j}] = {m[i, j]:g} but "
                f"K[{j}, {i}] = {m[j, i]:g}"
            )
        bad = np.flatnonzero(np.diag(m) != 1.0)
        if len(bad):
            i = bad[0]
            raise ValueError(
                f"{where}: the diagonal must be 1 (K_ii = 1), K[{i}, {i}] = {m[i, i]:g}"
            )
        bad = np.argwhere(m < 0)
        if len(bad):
            i, j = bad[0]
            raise ValueError(f"{where}: entries must not be negative, K[{i}, {j}] = {m[i, j]:g}")
        bad = np.argwhere(m > 1)
        if len(bad):
            i, j = bad[0]
            raise ValueError(f"{where}: entries must not be above 1, K[{i}, {j}] = {m[i, j]:g}")
    return k.astype(np.float32)


@njit(cache=True)
def share_with_mates(learned, bond, mate_share):
    """Bonded pairs swap `mate_share` of their learned rewards (in place, conserving)."""
    for i in range(learned.shape[0]):
        j = bond[i]
        if j > i:
            li, lj = learned[i], learned[j]
            learned[i] = (1.0 - mate_share) * li + mate_share * lj
            learned[j] = (1.0 - mate_share) * lj + mate_share * li


def learned_rewards(
    own: np.ndarray,
    kinship: np.ndarray,
    kin_weight: np.ndarray,
    mode: str = "conserving",
    bond: np.ndarray | None = None,
    mate_share: float = 0.0,
) -> np.ndarray:
    """NumPy entry point for one env: the rewards the agents learn from (float32[N])."""
    own = np.ascontiguousarray(own, np.float32)
    out = np.empty_like(own)
    share_rewards(
        own,
        np.ascontiguousarray(kinship, np.float32),
        np.ascontiguousarray(kin_weight, np.float32),
        MODES.index(mode),
        out,
    )
    if bond is not None:
        share_with_mates(out, np.ascontiguousarray(bond, np.int16), np.float32(mate_share))
    return out
