"""Coefficient of relationship from real pedigrees: exact on known cases."""

import networkx as nx
import numpy as np
import pytest

from kinship import Pedigree
from kinship.pedigree_dense import DensePedigree


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
    # a generation's trials at once, as the run loop asks: each block equals its own call
    trials = np.array(cur)[rng.permutation(30)].reshape(-1, 5)
    many = p.relatedness_many(trials)
    assert many.shape == (6, 5, 5) and many.dtype == np.float32
    for t, uids in enumerate(trials):
        np.testing.assert_array_equal(many[t], p.relatedness(uids))
    with pytest.raises(ValueError, match=r"integer array \[T, n\]"):
        p.relatedness_many(np.array(cur))
    with pytest.raises(KeyError, match="retired"):
        p.relatedness_many([[0, 1]])


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


def _breed(rng, cur, next_uid, n, elites):
    """One generation of `n`: `elites` of `cur` survive, the rest are children of random
    parents in `cur`, with selfing (a == b) and unknown parents (-1) mixed in."""
    kept = rng.choice(cur, elites, replace=False)
    k = n - elites
    pa, pb = rng.choice(cur, k), rng.choice(cur, k)
    selfed = rng.random(k) < 0.1
    pb[selfed] = pa[selfed]
    pa[rng.random(k) < 0.05] = -1
    pb[rng.random(k) < 0.05] = -1
    return kept, np.arange(next_uid, next_uid + k), pa, pb


@pytest.mark.parametrize(("dtype", "atol"), [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_equals_the_dense_reference_over_generations(dtype, atol):
    # 1,000 individuals a generation, 12 generations with elitism, selfing and unknown
    # parents; children arrive in two batches, one of them after the dead are retired.
    n, rng = 1000, np.random.default_rng(0)
    new, old = Pedigree(dtype=dtype), DensePedigree()
    cur = np.arange(n)
    for p in (new, old):
        p.add(cur, team=cur % 4)
    next_uid = n
    for g in range(1, 13):
        kept, kids, pa, pb = _breed(rng, cur, next_uid, n, elites=n // 10)
        next_uid += len(kids)
        half = len(kids) // 2
        for p in (new, old):
            p.add(kids[:half], pa[:half], pb[:half], generation=g)
        dead = np.setdiff1d(cur, np.concatenate([kept, pa, pb]))
        for p in (new, old):
            p.retire(dead)
            p.add(kids[half:], pa[half:], pb[half:], generation=g)
            p.retire(np.setdiff1d(cur, kept))
        cur = np.concatenate([kept, kids])
        assert new.active == old.active
        for trial in rng.permutation(cur)[:200].reshape(-1, 8):
            np.testing.assert_allclose(new.relatedness(trial), old.relatedness(trial), atol=atol)
    f_new, f_old = new.kinship_coefficients(cur), old.kinship_coefficients(cur)
    np.testing.assert_allclose(f_new, f_old, rtol=0, atol=atol)
    assert (f_new == f_new.T).all()
    np.testing.assert_allclose(new.inbreeding(cur), old.inbreeding(cur), atol=2 * atol)
    assert new.inbreeding(cur).mean() > 0.005  # inbreeding built up, so the test has teeth
    assert len(new) == len(old) and nx.utils.graphs_equal(new.graph, old.graph)
    assert new.parents(int(cur[-1])) == old.parents(int(cur[-1]))


def test_memory_stays_with_the_living():
    p = Pedigree()
    cur = np.arange(50)
    p.add(cur)
    for g in range(1, 30):
        new = cur + 50
        p.add(new, cur[::-1], cur, generation=g)
        p.retire(cur)
        cur = new
        p.relatedness(cur[:4])
    assert p._f.shape == (51, 51) and len(p) == 30 * 50 and 0 in p and p.parents(60) == [10, 39]


def test_the_lineage_record_keeps_everyone_and_builds_the_graph(family):
    family.retire([1, 2, 3, 4])
    uid, pa, pb, gen = family.records()
    assert list(uid) == list(range(1, 11)) and list(gen) == [0] * 4 + [1] * 3 + [2] * 3
    assert (pa[uid == 10][0], pb[uid == 10][0]) == (5, 6) and (pa[:4] == -1).all()
    assert 1 in family and 0 not in family and 11 not in family and len(family) == 10
    g = family.graph
    assert set(g.predecessors(10)) == {5, 6} and g.nodes[8]["generation"] == 2
    with pytest.raises(KeyError, match="uid 0 is not in the pedigree"):
        family.relatedness([0, 5])


def test_a_restored_state_continues_exactly_as_the_original():
    # a resumed run rebuilds its pedigree from state() and the lineage record in constant
    # time; over later generations it must give the very same numbers as the original
    n, rng = 200, np.random.default_rng(1)
    p = Pedigree()
    cur = np.arange(n)
    p.add(cur)
    next_uid = n

    def generation(peds, g):
        nonlocal cur, next_uid
        kept, kids, pa, pb = _breed(rng, cur, next_uid, n, elites=n // 10)
        next_uid += len(kids)
        for q in peds:
            q.add(kids, pa, pb, generation=g)
            q.retire(np.setdiff1d(cur, kept))
        cur = np.concatenate([kept, kids])
        return [q.relatedness(cur) for q in peds]

    for g in range(1, 8):
        generation([p], g)
    q = Pedigree.restore(p.records(), **p.state())
    assert q.active == p.active and len(q) == len(p)
    for g in range(8, 14):
        a, b = generation([p, q], g)
        assert np.array_equal(a, b)
    assert p.inbreeding(cur).mean() > 0.005  # related enough that a wrong row would show
    assert all(np.array_equal(x, y) for x, y in zip(p.records(), q.records(), strict=True))
    assert q.parents(int(cur[-1])) == p.parents(int(cur[-1]))
    with pytest.raises(ValueError, match="already in the pedigree"):
        q.add([int(cur[0])])


def test_restore_refuses_a_state_that_does_not_fit():
    p = Pedigree()
    p.add([0, 1, 2])
    p.add([3], [0], [1], generation=1)
    s, rec = p.state(), p.records()
    with pytest.raises(ValueError, match=r"coefficients must be float32 or float64 \[5, 5\]"):
        Pedigree.restore(rec, s["active"], s["coefficients"][:4, :4])
    with pytest.raises(ValueError, match="uid 9 is not"):
        Pedigree.restore(rec, np.array([0, 1, 2, 9]), s["coefficients"])
    with pytest.raises(ValueError, match="4 integer arrays of one length"):
        Pedigree.restore(rec[:3], s["active"], s["coefficients"])
    bad = s["coefficients"].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        Pedigree.restore(rec, s["active"], bad)
