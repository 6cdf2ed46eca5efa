import numpy as np
import pytest
from archive_toys import toy_archive

from analysis import metrics as M


def test_efficiency_is_hearts_per_agent_step():
    np.testing.assert_allclose(M.efficiency(toy_archive()).values, [4 / 400, 4 / 400])


def test_equality_is_one_for_equal_hearts_and_one_over_n_for_a_monopoly():
    # gen 0: everyone 1 heart -> Gini 0; gen 1: one holds all -> Gini (n-1)/n = 3/4
    np.testing.assert_allclose(M.equality(toy_archive()).values, [1.0, 0.25])


def test_gini_of_nothing_is_zero():
    assert M.gini(np.zeros(5)) == 0.0
    np.testing.assert_allclose(M.gini(np.array([1.0, 3.0])), 0.25)


def test_sustainability_is_mean_heart_time_over_episode_length():
    # gen 0: (10+20+30+40) / (4 hearts * 100 steps); gen 1: 200 / (4 * 100)
    np.testing.assert_allclose(M.sustainability(toy_archive()).values, [0.25, 0.5])


def test_sustainability_is_nan_without_hearts():
    ds = toy_archive(hearts=np.zeros((2, 4), int), heart_steps=np.zeros((2, 4), int))
    assert np.isnan(M.sustainability(ds).values).all()


def test_peace_is_share_of_steps_not_frozen():
    np.testing.assert_allclose(M.peace(toy_archive()).values, [1.0, 1 - 100 / 400])


def test_sharing_rate_splits_kin_from_nonkin():
    s = M.sharing_rate(toy_archive())
    np.testing.assert_allclose(s.energy_to_kin.values, [0, 30 / 400])
    np.testing.assert_allclose(s.energy_to_nonkin.values, [0, 10 / 400])
    np.testing.assert_allclose(s.diamonds_to_kin.values, [0, 2 / 400])
    np.testing.assert_allclose(s.diamonds_to_nonkin.values, [0, 0])


def test_bond_rate_is_share_with_a_mate():
    np.testing.assert_allclose(M.bond_rate(toy_archive()).values, [0.0, 0.5])


def test_signal_spending_is_share_of_spent_energy():
    np.testing.assert_allclose(M.signal_spending(toy_archive()).values, [0.0, 0.5])


def test_signal_level_and_honesty_from_the_signal_carried_and_the_hearts_made():
    ds = toy_archive()
    np.testing.assert_allclose(M.signal_level(ds).values, [0.0, 1.0])  # 400 levels / 400 steps
    h = M.honesty(ds).values
    assert np.isnan(h[0])  # nobody signals: no correlation
    # signal per step [3, 1, 0, 0] against hearts per step [.04, 0, 0, 0]
    np.testing.assert_allclose(h[1], 8 / np.sqrt(6 * 12))
    liar = toy_archive(signal_steps=[[0, 0, 0, 0], [0, 100, 300, 300]])
    assert M.honesty(liar).values[1] < 0


def test_selection_differential_is_the_covariance_of_gene_and_relative_fitness():
    ds = toy_archive()
    s = M.selection_differential(ds, "kin_weight")
    # gen 0: z [.1 .2 .3 .4], f / f̄ [.4 .8 1.2 1.6]; gen 1: z [.1 .5 .6 .7], f [4 5 6 7] / 5.5
    np.testing.assert_allclose(s.values, [0.05, 0.475 / 11])
    flipped = ds.assign(fitness=10.0 - ds.fitness)  # more of the gene, less fitness
    assert (M.selection_differential(flipped, "kin_weight").values < 0).all()
    with pytest.raises(M.MissingVariable, match="no gene 'kin_wieght'"):
        M.selection_differential(ds, "kin_wieght")


def test_help_by_relatedness_lists_every_ordered_pair():
    h = M.help_by_relatedness(toy_archive())
    assert h.sizes["pair"] == 2 * 2 * 2  # generations x trials x ordered pairs
    g1 = h.generation.values == 1
    # trial 0: 30 energy (0->1) and 2 diamonds * 5 (1->0), r = 0.5; trial 1: 10 and 0, r = 0
    assert sorted(zip(h.relatedness.values[g1], h.help.values[g1], strict=True)) == [
        (0.0, 0.0), (0.0, 10.0), (0.5, 10.0), (0.5, 30.0)
    ]  # fmt: skip


def test_kin_selection_reports_trend_and_hamilton_threshold():
    k = M.kin_selection(toy_archive(), benefit_cost_ratio=4.0)  # r* = 0.25
    assert k.attrs["threshold"] == 0.25
    # gen 1: mean help 20 at r = 0.5, 5 at r = 0 -> slope 30, intercept 5
    np.testing.assert_allclose(k.slope.values[1], 30.0)
    np.testing.assert_allclose(k.intercept.values[1], 5.0)
    assert k.help_kin.values[1] == 20.0 and k.help_nonkin.values[1] == 5.0
    assert k.agrees.values[1] == 1.0
    assert k.agrees.values[0] == 0.0  # no help at all: not more to kin


def test_metric_needing_a_missing_counter_names_it():
    ds = toy_archive().drop_sel(counter="steps")
    with pytest.raises(M.MissingVariable, match="steps"):
        M.efficiency(ds)
    with pytest.raises(M.MissingVariable, match="energy_given"):
        M.sharing_rate(toy_archive().drop_vars("energy_given"))


def test_behaviour_metrics_skips_what_the_archive_lacks():
    ds = toy_archive().drop_sel(counter=["steps", "heart_steps"])
    values, missing = M.behaviour_metrics(ds)
    assert {"equality", "bond_rate", "signal_spending"} <= set(values.data_vars)
    assert set(missing) == {
        "efficiency", "sustainability", "peace", "sharing_rate", "signal_level", "honesty"
    }  # fmt: skip
    assert "steps" in missing["peace"]
