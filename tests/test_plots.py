import matplotlib
import numpy as np
import pytest
import xarray as xr
from archive_toys import toy_archive

from analysis import metrics as M
from analysis import plots as P

matplotlib.use("Agg")


def _line(ax, label):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line.get_xdata(), line.get_ydata()


def _labelled(fig):
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_fitness_plot_draws_best_and_mean_per_generation():
    fig = P.fitness_plot(toy_archive())
    x, y = _line(fig.axes[0], "best")
    np.testing.assert_array_equal(x, [0, 1])
    np.testing.assert_allclose(y, [4.0, 7.0])
    np.testing.assert_allclose(_line(fig.axes[0], "mean")[1], [2.5, 5.5])
    _labelled(fig)


def test_gene_plot_draws_every_value_and_the_mean():
    fig = P.gene_plot(toy_archive())
    ax = fig.axes[0]
    assert "kin_weight" in ax.get_title()
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(
        sorted(points[:, 1]), sorted([0.1, 0.2, 0.3, 0.4, 0.1, 0.5, 0.6, 0.7])
    )
    np.testing.assert_allclose(_line(ax, "mean")[1], [0.25, 0.475])
    _labelled(fig)


def test_metrics_plot_has_a_panel_per_metric_with_its_values():
    values, _ = M.behaviour_metrics(toy_archive())
    fig = P.metrics_plot(values)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == list(values.data_vars)
    ax = fig.axes[titles.index("equality")]
    np.testing.assert_allclose(_line(ax, "equality")[1], [1.0, 0.25])
    assert "units" not in ax.get_ylabel() and "(1)" in ax.get_ylabel()
    _labelled(fig)


def test_kin_selection_plot_shows_pairs_trend_and_threshold():
    ds = toy_archive()
    sel = M.kin_selection(ds, benefit_cost_ratio=4.0)
    fig = P.kin_selection_plot(M.help_by_relatedness(ds), sel, generation=1)
    ax = fig.axes[0]
    assert sorted(ax.collections[0].get_offsets()[:, 1]) == [0, 10, 10, 30]
    x, y = _line(ax, "observed trend")
    np.testing.assert_allclose(y, 5 + 30 * np.asarray(x))
    (thr,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("r B > C")]
    assert thr.get_xdata()[0] == 0.25
    _labelled(fig)


def test_lineage_graph_has_both_parents_founders_and_elites():
    G = P.lineage_graph_from_archive(toy_archive(), color_by="kin_weight")
    assert set(G.nodes) == {0, 1, 2, 3, 4, 5, 6}
    assert G.edges[0, 4]["parent"] == "a" and G.edges[1, 4]["parent"] == "b"
    assert G.nodes[0]["elite"] and not G.nodes[1]["elite"]
    assert G.nodes[2]["founder"] and not G.nodes[5]["founder"]
    assert G.nodes[5]["value"] == 0.6 and G.nodes[5]["generation"] == 1


def test_lineage_plot_colours_nodes_by_the_chosen_value():
    fig = P.lineage_plot(toy_archive(), color_by="fitness")
    ax = fig.axes[0]
    by_label = {
        c.get_label(): c for c in ax.collections if c.get_label() in ("founder", "elite", "child")
    }
    assert sorted(by_label["child"].get_array()) == [5.0, 6.0, 7.0]
    assert sorted(by_label["founder"].get_array()) == [2.0, 3.0, 4.0]  # founders 1-3
    assert list(by_label["elite"].get_array()) == [4.0]  # uid 0 at its last generation
    _labelled(fig)


def test_lineage_plot_refuses_an_unknown_colour():
    with pytest.raises(ValueError, match="color_by"):
        P.lineage_plot(toy_archive(), color_by="height")


def test_kinship_network_links_kin_that_shared_a_trial():
    G = P.kinship_network(toy_archive(), generation=1)
    assert set(G.nodes) == {0, 4, 5, 6}
    assert list(G.edges(data="weight")) == [(0, 4, 0.5)]
    fig = P.kinship_network_plot(toy_archive(), generation=1)
    assert len(fig.axes[0].collections[0].get_segments()) == 1  # the one kin edge
    _labelled(fig)


def test_mate_network_has_one_edge_per_bonded_pair():
    G = P.mate_network(toy_archive(), generation=-1)
    assert sorted(G.edges) == [(0, 4)]
    fig = P.mate_network_plot(toy_archive())
    assert "1 bonds" in fig.axes[0].get_title()
    _labelled(fig)


def test_heatmap_plot_shows_the_scores():
    scores = np.array([[0.0, 1.0], [0.5, np.nan]])
    fig = P.heatmap_plot(scores, ["random", "scripted"], ["nav/a", "maze/b"])
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown.filled(np.nan), scores)
    assert [t.get_text() for t in ax.texts] == ["0.00", "1.00", "0.50"]
    _labelled(fig)


def test_heatmap_plot_refuses_a_misshapen_table():
    with pytest.raises(ValueError, match="scores must be"):
        P.heatmap_plot(np.zeros((1, 3)), ["a"], ["x", "y"])


def test_phase_diagram_plot_colours_each_cell_and_draws_the_hamilton_line():
    r, cb = [0.5, 0.0, 1.0], [0.25, 1.0]  # unsorted and uneven on purpose
    value = xr.DataArray(
        np.arange(6.0).reshape(3, 2), dims=("r", "cost_ratio"),
        coords={"r": r, "cost_ratio": cb}, name="kin_weight",
    )  # fmt: skip
    fig = P.phase_diagram_plot(value)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    expected = value.sortby("r").sortby("cost_ratio").values
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(3, 2), expected)
    texts = sorted(float(t.get_text()) for t in ax.texts)
    assert texts == sorted(value.values.ravel().tolist())
    (line,) = [ln for ln in ax.lines if ln.get_label().startswith("r B = C")]
    np.testing.assert_array_equal(line.get_xdata(), line.get_ydata())
    assert not [ln for ln in ax.lines if ln.get_label().startswith("B = C")]
    twins = P.phase_diagram_plot(value.assign_coords(cost_ratio=[0.5, 2.0]), twin_line=True)
    (line,) = [ln for ln in twins.axes[0].lines if ln.get_label().startswith("B = C")]
    np.testing.assert_array_equal(line.get_xdata(), [1.0, 1.0])
    with pytest.raises(ValueError, match="exactly the dims"):
        P.phase_diagram_plot(value.expand_dims(seed=[0, 1]))
