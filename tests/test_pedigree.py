"""Coefficient of relationship from real pedigrees: exact on known cases."""

import networkx as nx
import numpy as np
import pytest

from kinship import Pedigree


@pytest.fixture
def family():
    p = Pedigree()
    p.add([1, 2, 3, 4])  # unrelated founders
    p.add([5, 6, 7], [1, 1, 1], [2, 2, 3], generation=1)  # 5, 6 full sibs; 7 half sib of both
    p.add([8, 9], [5, 6], [3, 4], generation=2)  # first cousins (through full sibs 5 and 6)
    p.add([10], [5], [6], generation=2)  # child of full siblings: inbred
    return p


def r(p, a, b):
    return float(p.relatedness([a, b])[0, 1])


def test_parent_child_is_one_half(family):
    assert r(family, 1, 5) == 0.5 and r(family, 3, 7) == 0.5


def test_full_siblings_are_one_half(family):
    assert r(family, 5, 6) == 0.5


def test_half_siblings_are_one_quarter(family):
    assert r(family, 5, 7) == 0.25


def test_first_cousins_are_one_eighth(family):
    assert r(family, 8, 9) == 0.125


def test_unrelated_founders_are_zero(family):
    assert r(family, 1, 2) == 0.0 and r(family, 3, 4) == 0.0


def test_grandparent_is_one_quarter(family):
    assert r(family, 1, 8) == 0.25


def test_offspring_of_full_siblings_is_inbred():
    p = Pedigree()
    p.add([1, 2])
    p.add([3, 4], [1, 1], [2, 2], generation=1)
    p.add([5], [3], [4], generation=2)
    assert p.inbreeding([5])[0] == pytest.approx(0.25)
    assert p.inbreeding([3])[0] == 0.0
    # Wright: f(5, 3) = 3/8, f(5, 5) = 5/8, f(3, 3) = 1/2 -> r = (3/8) / sqrt(5/16)
    assert r(p, 5, 3) == pytest.approx(0.375 / np.sqrt(0.3125), rel=1e-6)
    assert p.relatedness([5])[0, 0] == 1.0


def test_selfing_gives_inbreeding_one_half():
    p = Pedigree()
    p.add([1])
    p.add([2], [1], [1], generation=1)
    assert p.inbreeding([2])[0] == pytest.approx(0.5)
    assert r(p, 1, 2) == pytest.approx(0.5 / np.sqrt(0.5 * 0.75), rel=1e-6)


def test_unknown_parent_counts_as_unrelated():
    p = Pedigree()
    p.add([1, 2])
    p.add([3, 4], [1, 1], [-1, -1], generation=1)
    assert r(p, 3, 4) == 0.25 and r(p, 1, 3) == 0.5


def test_retired_individuals_leave_the_matrix_but_not_the_graph(family):
    family.retire([1, 2, 3, 4])
    assert r(family, 5, 6) == 0.5 and 1 in family and family.parents(5) == [1, 2]
    with pytest.raises(KeyError, match="uid 1 is retired"):
        family.relatedness([1, 5])
    with pytest.raises(ValueError, match="parent 1 is retired"):
        family.add([11], [1], [5])


def test_relatedness_is_symmetric_with_unit_diagonal_and_bounded():
    rng = np.random.default_rng(0)
    p = Pedigree()
    cur = list(range(30))
    p.add(cur)
    nxt = 30
    for g in range(1, 12):  # small population: heavy inbreeding
        new = list(range(nxt, nxt + 30))
        nxt += 30
        p.add(new, rng.choice(cur, 30), rng.choice(cur, 30), generation=g)
        p.retire(cur)
        cur = new
    k = p.relatedness(cur)
    assert np.allclose(k, k.T) and (np.diag(k) == 1).all() and ((k >= 0) & (k <= 1)).all()
    assert p.inbreeding(cur).mean() > 0.1


def test_incremental_matrix_matches_path_counting_on_the_graph():
    # Wright's path method on a non-inbred pedigree: f(x, y) = sum over common ancestors A and
    # paths x..A..y of (1/2)^(n1 + n2 + 1), for founders (F_A = 0) and no inbreeding.
    p = Pedigree()
    p.add([1, 2, 3, 4, 5, 6])
    p.add([7, 8, 9], [1, 1, 3], [2, 4, 5], generation=1)
    p.add([10, 11], [7, 8], [9, 6], generation=2)
    g = p.graph

    def f_paths(x, y):
        total = 0.0
        for a in (nx.ancestors(g, x) | {x}) & (nx.ancestors(g, y) | {y}):
            for px in nx.all_simple_paths(g, a, x) if a != x else [[x]]:
                for py in nx.all_simple_paths(g, a, y) if a != y else [[y]]:
                    if set(px[1:]) & set(py[1:]):
                        continue
                    total += 0.5 ** (len(px) - 1 + len(py) - 1 + 1)
        return total

    uids = list(range(1, 12))
    f = p.kinship_coefficients(uids)
    for i, x in enumerate(uids):
        for j, y in enumerate(uids):
            if i != j:
                assert f[i, j] == pytest.approx(f_paths(x, y)), (x, y)


def test_bad_input_is_refused():
    p = Pedigree()
    p.add([1, 2])
    with pytest.raises(ValueError, match="already in the pedigree"):
        p.add([1])
    with pytest.raises(ValueError, match="parent 9 is unknown"):
        p.add([3], [9], [1])
    with pytest.raises(ValueError, match="need 2 entries"):
        p.add([3, 4], [1], [2])


def test_inbreeding_builds_up_as_wright_fisher_predicts():
    # Random mating (selfing allowed) in a population of N: F_t = 1 - (1 - 1/(2N))^t.
    n, t = 40, 15
    finals = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        p = Pedigree()
        cur = np.arange(n)
        p.add(cur)
        for g in range(1, t + 1):
            new = cur + n
            p.add(new, rng.choice(cur, n), rng.choice(cur, n), generation=g)
            p.retire(cur)
            cur = new
        finals.append(p.inbreeding(cur).mean())
    expect = 1 - (1 - 1 / (2 * n)) ** t
    assert np.mean(finals) == pytest.approx(expect, rel=0.15)
