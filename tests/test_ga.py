"""The lineage-aware GA and the genome's unit-cube encoding."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from evo.config import EvolutionConfig, GeneConfig
from evo.ga import next_generation
from evo.genome import Genome
from evo.lineage import Lineage


def test_genome_decodes_linear_and_log_genes_inside_their_bounds():
    genome = Genome(
        [GeneConfig(name="kin_weight", low=0, high=1), GeneConfig(name="learning_rate",
         low=1e-4, high=1e-2, log=True)]
    )  # fmt: skip
    x = genome.decode(np.array([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0], [2.0, -1.0]]))
    assert np.allclose(x[:, 0], [0, 0.5, 1, 0]) and np.allclose(x[:, 1], [1e-4, 1e-3, 1e-2, 1e-2])
    # outside the cube (CMA-ES, PGPE) points fold back in: no flat clipped region
    assert np.allclose(
        genome.decode(np.array([[1.2, -0.3]])), genome.decode(np.array([[0.8, 0.3]]))
    )
    u = genome.initial(100, np.random.default_rng(0))
    assert u.shape == (100, 2) and (u >= 0).all() and (u <= 1).all()


def breed(seed=0, **kw):
    P = 8
    lin = Lineage.founders(np.arange(P), 0)
    u = np.random.default_rng(1).random((P, 2))
    fitness = np.arange(P, dtype=float)  # uid 7 is the best
    mate = np.full(P, -1)
    cfg = EvolutionConfig(**{"elitism": 2, **kw})
    return lin, u, next_generation(u, fitness, lin, mate, 0, P, cfg, np.random.default_rng(seed))


def test_elites_survive_with_their_uid_and_children_get_new_uids_and_two_parents():
    lin, u, (child_u, child) = breed()
    assert list(child.uid[:2]) == [7, 6] and np.array_equal(child_u[:2], u[[7, 6]])
    assert list(child.source[:2]) == [7, 6] and list(child.born[:2]) == [0, 0]
    assert list(child.uid[2:]) == list(range(8, 14)) and (child.born[2:] == 1).all()
    assert set(child.parent_a[2:]) | set(child.parent_b[2:]) <= set(lin.uid)
    assert np.array_equal(child.source[2:], child.parent_a[2:])  # weights come from parent a
    assert (child_u >= 0).all() and (child_u <= 1).all()


def test_breeding_is_a_function_of_the_seed():
    _, _, (u1, l1) = breed(seed=3)
    _, _, (u2, l2) = breed(seed=3)
    _, _, (u3, _) = breed(seed=4)
    assert np.array_equal(u1, u2) and np.array_equal(l1.parent_b, l2.parent_b)
    assert not np.array_equal(u1, u3)


def test_runs_breeding_in_threads_of_one_process_each_get_what_they_get_alone():
    # evo.sweep runs several evolutions in threads; EvoTorch's operators draw from torch's
    # one global generator, so unguarded breeding in two threads mixes their draws
    alone = {s: breed(seed=s)[2][0] for s in range(8)}

    def many(s):
        return [breed(seed=s)[2][0] for _ in range(25)]

    with ThreadPoolExecutor(8) as pool:
        got = dict(zip(alone, pool.map(many, alone), strict=True))
    for s, us in got.items():
        assert all(np.array_equal(u, alone[s]) for u in us), f"seed {s} drew another's numbers"


def test_full_mate_pairing_bias_makes_the_last_mate_the_second_parent():
    P = 6
    lin = Lineage.founders(np.arange(P), 0)
    mate = np.array([1, 0, 3, 2, 5, 4])  # everyone bonded with a neighbour
    cfg = EvolutionConfig(elitism=0, mate_pairing_bias=1.0)
    _, child = next_generation(
        np.full((P, 1), 0.5), np.ones(P), lin, mate, 0, P, cfg, np.random.default_rng(0)
    )
    assert np.array_equal(child.parent_b, mate[child.parent_a])


def test_a_lineage_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match=r"lineage.parent_b: shape must be \(3,\)"):
        Lineage(np.arange(3), np.arange(3), np.arange(2), np.zeros(3), np.arange(3))


def test_no_selfing_by_default_and_selfing_only_when_allowed():
    selfed = {False: 0, True: 0}
    for allow in (False, True):
        for seed in range(40):
            _, _, (_, child) = breed(seed=seed, allow_selfing=allow, tournament_size=3)
            new = child.born == 1
            selfed[allow] += int((child.parent_a[new] == child.parent_b[new]).sum())
    assert selfed[False] == 0 and selfed[True] > 0


def test_a_child_is_what_its_recorded_parents_and_the_operators_make():
    # SBX with a huge eta and no mutation copies the first parent exactly
    lin, u, (child_u, child) = breed(seed=5, crossover_eta=1e9, mutation_rate=0.0)
    new = child.born == 1
    assert np.allclose(child_u[new], u[child.parent_a[new]], atol=1e-6)
    # and with a moderate eta each gene lies on the line through both parents' genes
    lin, u, (child_u, child) = breed(seed=6, crossover_eta=2.0, mutation_rate=0.0)
    a, b, c = u[child.parent_a[new]], u[child.parent_b[new]], child_u[new]
    spread = np.abs(c - (a + b) / 2) / np.maximum(np.abs(a - b) / 2, 1e-12)
    reflected = (c < 1e-9) | (c > 1 - 1e-9)
    assert ((spread < 50) | reflected).all()


def test_equal_fitness_spreads_parents_and_elites_uniformly_over_uids():
    P, draws = 8, 400
    lin = Lineage.founders(np.arange(P), 0)
    counts, elites = np.zeros(P), np.zeros(P)
    cfg = EvolutionConfig(elitism=1, tournament_size=3)
    for seed in range(draws):
        _, child = next_generation(
            np.full((P, 1), 0.5), np.zeros(P), lin, np.full(P, -1), 0, P, cfg,
            np.random.default_rng(seed),
        )  # fmt: skip
        new = child.born == 1
        np.add.at(counts, np.concatenate([child.parent_a[new], child.parent_b[new]]), 1)
        elites[child.uid[0]] += 1
    for observed in (counts, elites):
        expected = observed.sum() / P
        chi2 = ((observed - expected) ** 2 / expected).sum()
        assert chi2 < 24.3, observed  # chi-square, 7 degrees of freedom, p = 0.001


def test_many_generations_of_mutation_pile_no_mass_on_the_bounds():
    P, D = 20, 3
    rng = np.random.default_rng(0)
    lin = Lineage.founders(np.arange(P), 0)
    u = rng.random((P, D))
    cfg = EvolutionConfig(elitism=0, mutation_std=0.3, crossover_eta=2.0)
    values = []
    for g in range(60):
        u, lin = next_generation(u, rng.random(P), lin, np.full(P, -1), g, P * (g + 1), cfg, rng)
        values.append(u)
    values = np.concatenate(values)
    assert (values >= 0).all() and (values <= 1).all()
    assert np.mean((values < 1e-6) | (values > 1 - 1e-6)) == 0  # clipping would pile here
    near = np.mean((values < 0.05) | (values > 0.95))
    assert 0.05 < near < 0.14  # neutral drift keeps a uniform spread: 0.1 there (clipping: 0.3)
