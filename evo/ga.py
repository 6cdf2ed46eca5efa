"""The lineage-aware genetic algorithm, on unit-cube genomes (`evo.genome`).

The GA keeps every individual's uid and parents (`evo.lineage.Lineage`), because pedigree
kinship, the lineage graph and mate pairing need them: tournament selection,
simulated binary crossover (Deb & Agrawal 1995), Gaussian mutation clipped to the bounds,
and elitism (the best individuals survive unchanged, uid included). With
`mate_pairing_bias` p, a parent whose mate from the last generation is still alive takes it
as the second parent with probability p.
"""

from __future__ import annotations

import numpy as np

from evo.config import EvolutionConfig
from evo.lineage import Lineage


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
    lineage: Lineage,
    mate: np.ndarray,
    generation: int,
    next_uid: int,
    cfg: EvolutionConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, Lineage]:
    """Breed generation `generation` + 1 from generation `generation`: u [P, D] unit-cube
    genomes, fitness [P], mate [P] uid of each one's last bonded mate (-1 none). Returns the
    children's genomes [P, D] and lineage (elites first, new uids from `next_uid`)."""
    P = len(fitness)
    uid = lineage.uid
    order = np.lexsort((uid, -fitness))  # best first; ties broken by uid, never by chance
    elite = order[: cfg.elitism]
    index_of = lineage.row_of()

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
        out_u[k], out_uid[k] = u[e], uid[e]
        pa[k], pb[k] = lineage.parent_a[e], lineage.parent_b[e]
        out_born[k], source[k] = lineage.born[e], uid[e]
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
        out_born[k], source[k] = generation + 1, uid[a]
    return out_u, Lineage(out_uid, pa, pb, out_born, source)
