"""Kinship structures: the matrix K (float32[N, N], symmetric, K_ii = 1, values in [0, 1]) for
the N agents placed in one env.

    identity      K = I: every agent is its own only kin
    random        off-diagonal scores drawn from a distribution (seeded)
    teams         1 within a team, 0 across
    nested        families inside clans inside hives: r_family / r_clan / r_hive
    pedigree      coefficient of relationship from the real lineage (`Pedigree`)

`KinshipConfig` is the YAML `kinship:` section; `build_kinship` turns it into K.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from kinevo.config import Strict
from kinship.pedigree import Pedigree


class KinshipConfig(Strict):
    """The YAML `kinship:` section."""

    kind: Literal["identity", "random", "teams", "nested", "pedigree", "twins"] = Field(
        "identity",
        description="which structure builds K (twins: 1 between identical twins of "
        "population.relatedness, 0 otherwise)",
    )
    blind: bool = Field(
        False,
        description="kin-blind control: every trial's K becomes one constant, its generation's "
        "mean relatedness off the diagonal (1 on it): the same amount of kinship, no "
        "information about who is kin",
    )
    distribution: Literal["uniform", "beta"] = Field("uniform", description="random: score law")
    low: float = Field(0.0, ge=0.0, le=1.0, description="random/uniform: lowest score")
    high: float = Field(1.0, ge=0.0, le=1.0, description="random/uniform: highest score")
    alpha: float = Field(1.0, gt=0.0, description="random/beta: alpha")
    beta: float = Field(3.0, gt=0.0, description="random/beta: beta")
    n_teams: int = Field(2, ge=1, description="teams: number of teams (agents dealt in turn)")
    family_size: int = Field(2, ge=1, description="nested: agents per family")
    families_per_clan: int = Field(2, ge=1, description="nested: families per clan")
    clans_per_hive: int = Field(2, ge=1, description="nested: clans per hive")
    r_family: float = Field(0.5, ge=0.0, le=1.0, description="nested: relatedness in a family")
    r_clan: float = Field(0.25, ge=0.0, le=1.0, description="nested: relatedness in a clan")
    r_hive: float = Field(0.125, ge=0.0, le=1.0, description="nested: relatedness in a hive")

    @model_validator(mode="after")
    def _order(self) -> KinshipConfig:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        if not self.r_family >= self.r_clan >= self.r_hive:
            raise ValueError("nested relatedness must shrink outward: r_family >= r_clan >= r_hive")
        return self


def identity_kinship(n: int) -> np.ndarray:
    return np.eye(n, dtype=np.float32)


def random_kinship(
    n: int,
    rng: np.random.Generator,
    distribution: str = "uniform",
    low: float = 0.0,
    high: float = 1.0,
    alpha: float = 1.0,
    beta: float = 3.0,
) -> np.ndarray:
    """Symmetric random scores off the diagonal, 1 on it."""
    if distribution == "uniform":
        draws = rng.uniform(low, high, (n, n))
    elif distribution == "beta":
        draws = rng.beta(alpha, beta, (n, n))
    else:
        raise ValueError(f"distribution must be 'uniform' or 'beta', got {distribution!r}")
    k = np.triu(draws, 1)
    k = k + k.T
    np.fill_diagonal(k, 1.0)
    return k.astype(np.float32)


def team_ids(n: int, n_teams: int) -> np.ndarray:
    """Agents dealt to teams in turn: 0, 1, ..., n_teams-1, 0, 1, ..."""
    return np.arange(n) % n_teams


def team_kinship(teams: Sequence[int]) -> np.ndarray:
    t = np.asarray(teams)
    return (t[:, None] == t[None, :]).astype(np.float32)


def nested_groups(
    n: int, family_size: int, families_per_clan: int, clans_per_hive: int
) -> dict[str, np.ndarray]:
    """Family, clan and hive id of each agent, filled in order."""
    family = np.arange(n) // family_size
    clan = family // families_per_clan
    return {"family": family, "clan": clan, "hive": clan // clans_per_hive}


def nested_kinship(
    groups: dict[str, np.ndarray],
    r_family: float = 0.5,
    r_clan: float = 0.25,
    r_hive: float = 0.125,
) -> np.ndarray:
    """r_family within a family, r_clan within a clan, r_hive within a hive, 0 across."""
    same = {k: v[:, None] == v[None, :] for k, v in groups.items()}
    k = np.where(
        same["family"],
        r_family,
        np.where(same["clan"], r_clan, np.where(same["hive"], r_hive, 0.0)),
    )
    np.fill_diagonal(k, 1.0)
    return k.astype(np.float32)


def build_kinship(
    cfg: KinshipConfig,
    n: int,
    rng: np.random.Generator,
    pedigree: Pedigree | None = None,
    uids: Sequence[int] | None = None,
    twin_group: Sequence[int] | None = None,
) -> np.ndarray:
    """K for the n agents of one env, from the config (and the pedigree for `pedigree`, each
    agent's twin group for `twins`: equal ids >= 0 are twins, -1 has none)."""
    if cfg.kind == "twins":
        if twin_group is None or len(twin_group) != n:
            raise ValueError("twins kinship needs the twin group of each of the n agents")
        t = np.asarray(twin_group)
        k = ((t[:, None] == t[None, :]) & (t[:, None] >= 0)).astype(np.float32)
        np.fill_diagonal(k, 1.0)
        return k
    if cfg.kind == "identity":
        return identity_kinship(n)
    if cfg.kind == "random":
        return random_kinship(n, rng, cfg.distribution, cfg.low, cfg.high, cfg.alpha, cfg.beta)
    if cfg.kind == "teams":
        return team_kinship(team_ids(n, cfg.n_teams))
    if cfg.kind == "nested":
        groups = nested_groups(n, cfg.family_size, cfg.families_per_clan, cfg.clans_per_hive)
        return nested_kinship(groups, cfg.r_family, cfg.r_clan, cfg.r_hive)
    if pedigree is None or uids is None or len(uids) != n:
        raise ValueError("pedigree kinship needs the pedigree and the uids of the n agents")
    return pedigree.relatedness(uids)


def blind_kinship(ks: np.ndarray) -> np.ndarray:
    """The kin-blind control of trials' K [T, n, n]: each replaced by one constant matrix
    holding their mean off-diagonal entry (1 on the diagonal)."""
    ks = np.asarray(ks, np.float32)
    if ks.ndim != 3 or ks.shape[1] != ks.shape[2]:
        raise ValueError(f"blind_kinship: expected trials' K of shape [T, n, n], got {ks.shape}")
    T, n, _ = ks.shape
    if n < 2:
        return ks.copy()
    off = ~np.eye(n, dtype=bool)
    out = np.full_like(ks, ks[:, off].mean())
    out[:, ~off] = 1.0
    return out
