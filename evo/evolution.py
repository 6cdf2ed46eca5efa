"""Genomes and the lineage-aware genetic algorithm.

The search runs in the unit cube: gene k's value is low_k + u_k (high_k - low_k), or the
same on log10 for `log` genes. The GA keeps every individual's uid and parents, because
pedigree kinship, the lineage graph and mate pairing need them: tournament selection,
simulated binary crossover (Deb & Agrawal 1995), Gaussian mutation clipped to the bounds,
and elitism (the best individuals survive unchanged, uid included). With
`mate_pairing_bias` p, a parent whose mate from the last generation is still alive takes it
as the second parent with probability p.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evo.run_config import EvolutionConfig, GeneConfig


class Genome:
    def __init__(self, genes: list[GeneConfig]):
        self.names = [g.name for g in genes]
        self.log = np.array([g.log for g in genes])
        lo = np.array([g.low for g in genes], np.float64)
        hi = np.array([g.high for g in genes], np.float64)
        self.lo = np.where(self.log, np.log10(np.where(self.log, lo, 1.0)), lo)
        self.hi = np.where(self.log, np.log10(np.where(self.log, hi, 1.0)), hi)
        self.genes = genes

    def __len__(self) -> int:
        return len(self.names)

    def decode(self, u: np.ndarray) -> np.ndarray:
        """Unit-cube points [P, D] -> gene values [P, D]."""
        x = self.lo + np.clip(u, 0.0, 1.0) * (self.hi - self.lo)
        return np.where(self.log, 10.0**x, x)

    def initial(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n unit-cube points drawn from each gene's initial distribution."""
        u = np.empty((n, len(self)))
        for k, g in enumerate(self.genes):
            if g.init == "uniform":
                u[:, k] = rng.random(n)
            else:
                span = g.high - g.low
                mean = 0.5 if g.mean is None else (g.mean - g.low) / span
                std = 1 / 6 if g.std is None else g.std / span
                u[:, k] = rng.normal(mean, std, n)
        return np.clip(u, 0.0, 1.0)


@dataclass
class Offspring:
    u: np.ndarray  # [P, D] unit-cube genomes of the next generation
    uid: np.ndarray  # [P] int64 (elites keep theirs)
    parent_a: np.ndarray  # [P] int64, -1 for founders
    parent_b: np.ndarray
    born: np.ndarray  # [P] generation of birth
    source: np.ndarray  # [P] index into the previous generation whose weights to inherit


def _sbx(a: np.ndarray, b: np.ndarray, eta: float, rng: np.random.Generator) -> np.ndarray:
    """One child of simulated binary crossover on [0, 1] genes."""
    r = rng.random(a.shape)
    beta = np.where(r <= 0.5, (2 * r) ** (1 / (eta + 1)), (1 / (2 * (1 - r))) ** (1 / (eta + 1)))
    child = 0.5 * ((1 + beta) * a + (1 - beta) * b)
    swap = rng.random(a.shape) < 0.5  # which of the two symmetric children, per gene
    other = 0.5 * ((1 - beta) * a + (1 + beta) * b)
    return np.clip(np.where(swap, other, child), 0.0, 1.0)


def next_generation(
    u: np.ndarray,
    fitness: np.ndarray,
    uid: np.ndarray,
    parent_a: np.ndarray,
    parent_b: np.ndarray,
    born: np.ndarray,
    mate: np.ndarray,
    generation: int,
    next_uid: int,
    cfg: EvolutionConfig,
    rng: np.random.Generator,
) -> Offspring:
    """Breed generation `generation` + 1 from generation `generation` (all arrays [P])."""
    P = len(fitness)
    order = np.lexsort((uid, -fitness))  # best first; ties broken by uid, never by chance
    elite = order[: cfg.elitism]
    index_of = {int(x): k for k, x in enumerate(uid)}

    def tournament() -> int:
        picks = rng.integers(0, P, cfg.tournament_size)
        best = picks[np.lexsort((uid[picks], -fitness[picks]))[0]]
        return int(best)

    n_children = P - len(elite)
    out_u = np.empty((P, u.shape[1]))
    out_uid = np.empty(P, np.int64)
    pa = np.empty(P, np.int64)
    pb = np.empty(P, np.int64)
    out_born = np.empty(P, np.int64)
    source = np.empty(P, np.int64)
    for k, e in enumerate(elite):
        out_u[k], out_uid[k], pa[k], pb[k] = u[e], uid[e], parent_a[e], parent_b[e]
        out_born[k], source[k] = born[e], e
    for c in range(n_children):
        k = len(elite) + c
        a = tournament()
        partner = int(mate[a])
        if (
            cfg.mate_pairing_bias > 0
            and partner in index_of
            and rng.random() < cfg.mate_pairing_bias
        ):
            b = index_of[partner]
        else:
            b = tournament()
        child = _sbx(u[a], u[b], cfg.crossover_eta, rng)
        child = child + rng.normal(0.0, cfg.mutation_std, child.shape)
        out_u[k] = np.clip(child, 0.0, 1.0)
        out_uid[k] = next_uid + c
        pa[k], pb[k] = uid[a], uid[b]
        out_born[k], source[k] = generation + 1, a
    return Offspring(out_u, out_uid, pa, pb, out_born, source)
