"""The lineage-aware genetic algorithm, built from EvoTorch's operators on unit-cube genomes.

One generation -> the next (all of it seeded by the generator passed in):
1. elitism: the `elitism` best survive unchanged, uid included (ties broken at random);
2. parents: EvoTorch's paired tournaments (`evotorch.operators.functional.tournament`,
   indices returned, so every child knows its two parents). The two tournaments of a pair
   exclude each other's winner, so an individual never mates with itself unless
   `allow_selfing` (then the two tournaments are independent). With `mate_pairing_bias` p, a
   first parent whose last bonded mate is alive takes that mate as second parent with
   probability p;
3. crossover: EvoTorch's simulated binary crossover (Deb & Agrawal 1995); each pair (a, b)
   gives two children, one of a x b and one of b x a (its weights come from its first parent
   when weights are inherited). A child that lands outside [0, 1] is reflected back inside,
   so no mass piles on a bound;
4. mutation: EvoTorch's Gaussian mutation (`mutation_std` of the range, each gene with
   probability `mutation_rate`), reflected back into [0, 1]. Reflection keeps a uniform
   spread uniform, where clipping would pile mass on the bounds (and polynomial mutation,
   which sends half its draws between a gene and its nearer bound, thickens the edges).

The parents (uids) of every child are kept in a `Lineage`, because pedigree kinship, the
lineage graph and mate pairing need them.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from evotorch import Problem, SolutionBatch
from evotorch.operators import GaussianMutation
from evotorch.operators import functional as F

from evo.config import EvolutionConfig
from evo.genome import fold
from evo.lineage import Lineage
from kinevo.seeding import global_torch_seed

logging.getLogger("evotorch").setLevel(logging.WARNING)  # a line per Problem made is noise here


def rank(fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices best first; equal fitness in random order."""
    return np.lexsort((rng.permutation(len(fitness)), -fitness))


def _parents(
    u: torch.Tensor, fitness: torch.Tensor, n_pairs: int, cfg: EvolutionConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the two parents of each pair, by EvoTorch's tournaments."""
    pick = dict(tournament_size=cfg.tournament_size, objective_sense="max", return_indices=True)
    if not cfg.allow_selfing:
        a, b = F.tournament(u, fitness, num_tournaments=2 * n_pairs, split_results=True, **pick)
        return a.numpy(), b.numpy()
    # independent tournaments: the second may pick the first's winner
    a = F.tournament(u, fitness, num_tournaments=2 * n_pairs, **pick)[:n_pairs]
    b = F.tournament(u, fitness, num_tournaments=2 * n_pairs, **pick)[:n_pairs]
    return a.numpy(), b.numpy()


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
    P, D = u.shape
    if fitness.shape != (P,) or len(lineage) != P or mate.shape != (P,):
        raise ValueError(
            f"next_generation: u [{P}, {D}] needs fitness, lineage and mate of length {P}, got "
            f"{fitness.shape}, {len(lineage)}, {mate.shape}"
        )
    uid = lineage.uid
    elite = rank(fitness, rng)[: cfg.elitism]
    n_children = P - len(elite)
    n_pairs = (n_children + 1) // 2
    seed = int(rng.integers(2**62))

    with global_torch_seed(seed):  # EvoTorch's functional operators draw from it
        ut = torch.tensor(u, dtype=torch.float64)
        a, b = _parents(ut, torch.tensor(fitness, dtype=torch.float64), n_pairs, cfg)
        index_of = lineage.row_of()
        for k in range(n_pairs):
            partner = index_of.get(int(mate[a[k]]), -1)
            if partner not in (-1, a[k]) and rng.random() < cfg.mate_pairing_bias:
                b[k] = partner
        # rows [a x b for each pair] then [b x a for each pair]
        children = F.simulated_binary_cross_over(torch.cat([ut[a], ut[b]]), eta=cfg.crossover_eta)
        children = torch.from_numpy(fold(children.numpy()))
        first = np.concatenate([a, b])[:n_children]
        second = np.concatenate([b, a])[:n_children]
        children = children[np.r_[np.arange(n_pairs), n_pairs + np.arange(n_pairs)][:n_children]]
        children = _mutate(children, cfg, seed + 1)

    out_u = np.concatenate([u[elite], children.numpy()])
    return out_u, Lineage(
        uid=np.concatenate([uid[elite], next_uid + np.arange(n_children)]),
        parent_a=np.concatenate([lineage.parent_a[elite], uid[first]]),
        parent_b=np.concatenate([lineage.parent_b[elite], uid[second]]),
        born=np.concatenate([lineage.born[elite], np.full(n_children, generation + 1)]),
        source=np.concatenate([uid[elite], uid[first]]),
    )


class _UnitCube(Problem):
    """The unit cube as EvoTorch's operators see it; they draw from its seeded generator."""

    def __init__(self, dim: int, seed: int):
        # no hard bounds: EvoTorch would clamp mutants onto them; we reflect them instead
        super().__init__("max", solution_length=dim, initial_bounds=(0.0, 1.0), dtype=torch.float64)
        self.manual_seed(seed)

    def _evaluate_batch(self, batch: SolutionBatch) -> None:  # never evaluated
        raise NotImplementedError


def _mutate(children: torch.Tensor, cfg: EvolutionConfig, seed: int) -> torch.Tensor:
    if len(children) == 0 or cfg.mutation_rate == 0 or cfg.mutation_std == 0:
        return children
    problem = _UnitCube(children.shape[1], seed)
    batch = SolutionBatch(problem, popsize=len(children), empty=True)
    batch.set_values(children)
    mutate = GaussianMutation(
        problem, stdev=cfg.mutation_std, mutation_probability=cfg.mutation_rate
    )
    return torch.from_numpy(fold(mutate(batch).values.clone().numpy()))


def make_twins(
    u: np.ndarray,
    lineage: Lineage,
    trials: list[np.ndarray],
    generation: int,
    r: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, Lineage, np.ndarray]:
    """Relatedness by who meets whom (`population.relatedness`): in each trial, every member
    but the template is replaced, with probability r, by an identical twin of the template
    (its genome row, parents and weights source; the member keeps its own new uid). The
    template is the trial's first elite (an individual born before `generation`), else its
    first member; elites are never replaced. Returns the new u, lineage and each row's twin
    group (the template's uid for it and its twins, -1 for rows without a twin)."""
    if not 0.0 <= r <= 1.0:
        raise ValueError(f"make_twins: r must lie in [0, 1], got {r}")
    if u.ndim != 2 or len(u) != len(lineage):
        raise ValueError(
            f"make_twins: u must be [P, D] with P = {len(lineage)} (the lineage's length), "
            f"got shape {u.shape}"
        )
    for members in trials:
        if len(members) and (min(members) < 0 or max(members) >= len(lineage)):
            raise ValueError(
                f"make_twins: trial rows must lie in [0, {len(lineage)}), got {list(members)}"
            )
    u = u.copy()
    parent_a, parent_b = lineage.parent_a.copy(), lineage.parent_b.copy()
    source = lineage.source.copy()
    group = np.full(len(lineage), -1, np.int64)
    elite = lineage.born < generation
    for members in trials:
        members = np.asarray(members)
        draws = rng.random(len(members))  # one per member, so the draws never depend on elites
        template = next((m for m in members if elite[m]), members[0])
        for m, x in zip(members, draws, strict=True):
            if m == template or elite[m] or x >= r:
                continue
            u[m] = u[template]
            parent_a[m], parent_b[m] = parent_a[template], parent_b[template]
            source[m] = source[template]
            group[m] = group[template] = lineage.uid[template]
    twins = Lineage(lineage.uid, parent_a, parent_b, lineage.born, source)
    return u, twins, group
