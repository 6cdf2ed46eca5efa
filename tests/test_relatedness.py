"""Hamilton's r set by who meets whom (population.relatedness), twins kinship and the kin-blind
control (kinship.blind): twins carry their template's genome, parents and weights source;
elites are never replaced; K is 1 exactly between twins; the blind K keeps the mean."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis import open_archive
from evo.config import load_run_config
from evo.evolution import Evolution
from evo.ga import make_twins
from evo.lineage import Lineage
from kinship import KinshipConfig, blind_kinship, build_kinship

ROOT = Path(__file__).parents[1]
SMOKE = ROOT / "runs" / "smoke.yaml"


def founders_then_children(P=8, elites=(0,)):
    """A generation-1 lineage: rows in `elites` were born in 0, the rest are children of 1."""
    born = np.ones(P, np.int64)
    born[list(elites)] = 0
    uid = np.arange(100, 100 + P)
    lin = Lineage(uid, uid - 50, uid - 60, born, uid - 50)
    u = np.random.default_rng(0).random((P, 3))
    return u, lin


def pairs(P=8):
    return [np.array([k, k + 1]) for k in range(0, P, 2)]


def test_r_1_twins_every_pair_and_twins_copy_genome_parents_and_weights_source():
    u, lin = founders_then_children(elites=())
    v, twins, group = make_twins(u, lin, pairs(), 1, 1.0, np.random.default_rng(0))
    for a, b in pairs():
        assert np.array_equal(v[a], u[a]) and np.array_equal(v[b], u[a])
        assert twins.parent_a[b] == lin.parent_a[a] and twins.parent_b[b] == lin.parent_b[a]
        assert twins.source[b] == lin.source[a]
        assert group[a] == group[b] == lin.uid[a]
    assert np.array_equal(twins.uid, lin.uid) and np.array_equal(twins.born, lin.born)


def test_r_0_changes_nothing_and_r_half_twins_about_half_the_pairs():
    u, lin = founders_then_children(P=2000, elites=())
    v, twins, group = make_twins(u, lin, pairs(2000), 1, 0.0, np.random.default_rng(0))
    assert np.array_equal(v, u) and (group == -1).all()
    assert np.array_equal(twins.parent_a, lin.parent_a)
    _, _, group = make_twins(u, lin, pairs(2000), 1, 0.5, np.random.default_rng(0))
    share = (group[0::2] >= 0).mean()
    assert 0.45 < share < 0.55, share


def test_an_elite_is_never_replaced_and_becomes_the_template():
    u, lin = founders_then_children(elites=(1, 6, 7))
    v, _, group = make_twins(u, lin, pairs(), 1, 1.0, np.random.default_rng(0))
    assert np.array_equal(v[1], u[1]) and np.array_equal(v[0], u[1])  # elite second: template
    assert group[0] == group[1] == lin.uid[1]
    assert np.array_equal(v[6:], u[6:]) and (group[6:] == -1).all()  # two elites: no twins


def test_make_twins_refuses_shapes_and_rows_that_do_not_fit():
    u, lin = founders_then_children()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="r must lie"):
        make_twins(u, lin, pairs(), 1, 1.5, rng)
    with pytest.raises(ValueError, match="u must be"):
        make_twins(u[:3], lin, pairs(), 1, 0.5, rng)
    with pytest.raises(ValueError, match="trial rows"):
        make_twins(u, lin, [np.array([0, 8])], 1, 0.5, rng)


def test_twins_are_a_function_of_the_seed():
    u, lin = founders_then_children(P=40, elites=())
    a = make_twins(u, lin, pairs(40), 1, 0.5, np.random.default_rng(3))
    b = make_twins(u, lin, pairs(40), 1, 0.5, np.random.default_rng(3))
    c = make_twins(u, lin, pairs(40), 1, 0.5, np.random.default_rng(4))
    assert np.array_equal(a[2], b[2]) and np.array_equal(a[0], b[0])
    assert not np.array_equal(a[2], c[2])


def test_twins_kinship_is_one_exactly_between_twins():
    cfg = KinshipConfig(kind="twins")
    K = build_kinship(cfg, 4, np.random.default_rng(0), twin_group=[7, -1, 7, -1])
    assert K.tolist() == [[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]]
    with pytest.raises(ValueError, match="twin group"):
        build_kinship(cfg, 4, np.random.default_rng(0))


def test_blind_kinship_keeps_the_mean_off_the_diagonal_and_forgets_who():
    ks = np.stack([np.eye(2), np.ones((2, 2)), np.ones((2, 2)), np.eye(2)]).astype(np.float32)
    blind = blind_kinship(ks)
    assert np.allclose(blind, [[1, 0.5], [0.5, 1]])
    off = ~np.eye(2, dtype=bool)
    assert blind[:, off].mean() == pytest.approx(ks[:, off].mean())
    with pytest.raises(ValueError, match=r"\[T, n, n\]"):
        blind_kinship(np.eye(2))


@pytest.mark.parametrize(
    "sets, message",
    [
        (["kinship.kind=twins"], "needs population.relatedness"),
        (["population.relatedness=0.5", "population.trials_per_individual=2"],
         "trials_per_individual 1"),
        (["population.relatedness=0.5", "evolution.algorithm=cmaes",
          "evolution.inheritance=darwinian"], "algorithm 'ga'"),
        (["population.relatedness=1.5"], "relatedness"),
    ],
)  # fmt: skip
def test_inconsistent_relatedness_settings_are_refused(sets, message):
    with pytest.raises(Exception, match=message):
        load_run_config(SMOKE, sets)


def test_the_loop_twins_each_generation_before_it_plays(tmp_path):
    cfg = load_run_config(
        SMOKE,
        ["population.relatedness=1.0", "kinship.kind=twins", "evolution.elitism=0",
         "population.generations=3"],
    )  # fmt: skip
    evo = Evolution(cfg, tmp_path, client=None, log=lambda s: None, progress=False)
    seen = []

    def evaluate(u):
        seen.append((u.copy(), evo.twin_group.copy(), evo.lineage))
        return np.random.default_rng(evo.generation).random(len(u))

    evo.evaluate = evaluate
    evo.run()
    assert len(seen) == 3
    for g, (u, group, lin) in enumerate(seen):
        for a, b in evo._assign_trials(g):
            assert group[a] == group[b] >= 0 and np.array_equal(u[a], u[b]), g
            assert lin.parent_a[a] == lin.parent_a[b]


def test_a_blind_twins_run_archives_the_constant_kinship_and_the_twin_groups(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "evo.run", str(SMOKE), "--out", str(tmp_path), "--quiet",
         "--workers", "1", "--set", "population.relatedness=0.5", "--set", "kinship.kind=twins",
         "--set", "kinship.blind=true", "--set", "evolution.elitism=0",
         "--set", "world.reward_sharing=inclusive", "--set", "population.size=8"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    ds = open_archive(tmp_path)
    for g in range(ds.sizes["generation"]):
        gen = ds.isel(generation=g)
        K = gen.kinship.values
        group = gen.twin_group.values
        uids = gen.trial_uids.values
        row = {int(x): k for k, x in enumerate(gen.uid.values)}
        pairs_twinned = [group[row[int(a)]] >= 0 for a, _ in uids]
        mean = np.mean(pairs_twinned)
        assert np.allclose(K[:, 0, 1], mean) and np.allclose(K[:, 1, 0], mean)
        for a, b in uids:
            ga, gb = group[row[int(a)]], group[row[int(b)]]
            assert (ga >= 0) == (gb >= 0) and (ga < 0 or ga == gb)
            if ga >= 0:
                assert np.array_equal(
                    gen.search_point.values[row[int(a)]], gen.search_point.values[row[int(b)]]
                )
