"""Figures of a run (matplotlib, Agg backend, saved as PNG by the report).

Every function takes data (an archive Dataset, a metrics Dataset, a score table), returns a
`matplotlib.figure.Figure` with a title, labelled axes and units, and draws exactly the numbers
it was given, so tests can read them back from the figure's artists.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from kinship.graphs import bond_graph, kinship_graph  # noqa: E402

__all__ = [
    "fitness_plot",
    "gene_plot",
    "heatmap_plot",
    "kin_selection_plot",
    "kinship_network_plot",
    "lineage_graph_from_archive",
    "lineage_plot",
    "mate_network_plot",
    "metrics_plot",
    "phase_diagram_plot",
    "save",
    "select_generation",
]


def save(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write `fig` as PNG and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    plt.close(fig)
    return path


def _figure(ncols: int = 1, nrows: int = 1, size=(7.0, 4.0)) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, layout="tight"
    )
    return fig, axes.ravel()


def _whole_generations(*axes) -> None:
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def fitness_plot(ds: xr.Dataset) -> Figure:
    """Best and mean fitness per generation, with the population's min-max range shaded and
    mean +- one standard deviation as error bars. Lines: `best`, `mean` (labels)."""
    fit = ds.fitness.load()
    g = ds.generation.values
    fig, (ax,) = _figure()
    ax.fill_between(g, fit.min("individual"), fit.max("individual"), alpha=0.2, label="min-max")
    ax.errorbar(
        g,
        fit.mean("individual"),
        yerr=fit.std("individual"),
        fmt="none",
        ecolor="grey",
        capsize=3,
        label="mean ± sd",
    )
    ax.plot(g, fit.max("individual"), "o-", label="best")
    ax.plot(g, fit.mean("individual"), "s-", label="mean")
    ax.set(
        title="Fitness over generations",
        xlabel="generation",
        ylabel=f"fitness ({fit.attrs.get('units', 'hearts per episode')})",
    )
    ax.legend(loc="best")
    _whole_generations(ax)
    return fig


def gene_plot(ds: xr.Dataset) -> Figure:
    """One panel per gene: every individual's value per generation (points) and the
    population mean (line labelled `mean`)."""
    genome = ds.genome.load()
    genes = [str(x) for x in ds.gene.values]
    g = ds.generation.values
    fig, axes = _figure(ncols=min(len(genes), 3), nrows=int(np.ceil(len(genes) / 3)), size=(5, 3.5))
    for ax, gene in zip(axes, genes, strict=False):
        v = genome.sel(gene=gene).transpose("generation", "individual").values
        xs = np.repeat(g, v.shape[1])
        ax.scatter(xs, v.ravel(), s=10, alpha=0.5, label="individuals")
        ax.plot(g, np.nanmean(v, axis=1), "k-", label="mean")
        ax.set(title=f"gene {gene}", xlabel="generation", ylabel=f"{gene} (gene units)")
        ax.legend(loc="best", fontsize="small")
    for ax in axes[len(genes) :]:
        ax.set_visible(False)
    _whole_generations(*axes)
    fig.suptitle("Gene values over generations")
    return fig


def metrics_plot(metrics: xr.Dataset) -> Figure:
    """One panel per metric variable over generation, titled by name, y-axis in its units
    (the report lists the metrics an archive cannot give beside it)."""
    names = list(metrics.data_vars)
    n = max(len(names), 1)
    fig, axes = _figure(ncols=min(n, 3), nrows=int(np.ceil(n / 3)), size=(4.5, 3.2))
    for ax, name in zip(axes, names, strict=False):
        da = metrics[name]
        g = da.generation.values
        ax.plot(g, da.values, "o-", label=name)
        ax.set_xlim(g.min() - 0.5, g.max() + 0.5)
        if not np.isfinite(da.values).any():  # e.g. sustainability without any heart
            ax.text(0.5, 0.5, "undefined in every generation", ha="center",
                    transform=ax.transAxes)  # fmt: skip
        ax.set(title=name, xlabel="generation", ylabel=f"{name} ({da.attrs.get('units', '1')})")
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    if not names:
        axes[0].set_visible(True)
        axes[0].set(title="no behaviour metric in this archive", xlabel="generation", ylabel="-")
    _whole_generations(*axes)
    fig.suptitle("Behaviour metrics over generations")
    return fig


def kin_selection_plot(pairs: xr.Dataset, selection: xr.Dataset, generation: int) -> Figure:
    """Help given against the giver-receiver relatedness in one generation (points, from
    `metrics.help_by_relatedness`), the observed least-squares trend (line `observed trend`)
    and the Hamilton threshold r* = C/B (vertical line `r B > C above`)."""
    sel = pairs.generation.values == generation
    r, h = pairs.relatedness.values[sel], pairs.help.values[sel]
    fig, (ax,) = _figure()
    ax.scatter(r, h, s=12, alpha=0.6, label="pairs")
    row = selection.sel(generation=generation)
    if np.isfinite(row.slope):
        xs = np.array([min(r.min(), 0.0), max(r.max(), 1.0)])
        ax.plot(xs, float(row.intercept) + float(row.slope) * xs, "r-", label="observed trend")
    t = selection.attrs["threshold"]
    ax.axvline(t, color="k", ls="--", label=f"r B > C above r* = {t:.2f}")
    ax.axvspan(t, max(1.0, t) + 0.05, color="k", alpha=0.06)  # where help is predicted
    ax.set(
        title=f"Kin selection, generation {generation}",
        xlabel="relatedness r (1)",
        ylabel="help given (energy units per trial)",
    )
    ax.legend(loc="best")
    return fig


def phase_diagram_plot(
    value: xr.DataArray,
    r: str = "r",
    cost_ratio: str = "cost_ratio",
    title: str | None = None,
    twin_line: bool = False,
) -> Figure:
    """Hamilton's rule as a map: `value` (e.g. the evolved mean kin_weight, or help given to
    kin; reduce seeds and generations first) over relatedness `r` (y) and cost-to-benefit
    ratio C/B (x), one coloured cell per grid point with its number written in, and the line
    r B = C (r = C/B) above which helping whoever stands there is predicted to evolve. With
    `twin_line` (relatedness by twins, `population.relatedness`) also the line B = C
    (C/B = 1), left of which helping a partner known to be a twin pays. Grids may be uneven."""
    if set(value.dims) != {r, cost_ratio}:
        raise ValueError(
            f"phase_diagram_plot: value must have exactly the dims ({r!r}, {cost_ratio!r}), "
            f"got {value.dims}; reduce the others first (e.g. .mean('seed'))"
        )
    value = value.sortby(r).sortby(cost_ratio).transpose(r, cost_ratio)
    ys, xs = value[r].values.astype(float), value[cost_ratio].values.astype(float)

    def edges(c: np.ndarray) -> np.ndarray:
        if len(c) == 1:
            return np.array([c[0] - 0.5, c[0] + 0.5])
        mid = (c[1:] + c[:-1]) / 2
        return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])

    fig, (ax,) = _figure(size=(6.0, 5.0))
    mesh = ax.pcolormesh(edges(xs), edges(ys), value.values, cmap="viridis", shading="flat")
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            v = value.values[i, j]
            if np.isnan(v):
                continue
            red, green, blue, _ = mesh.cmap(mesh.norm(v))  # dark text on light cells
            light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5
            ax.text(x, y, f"{v:.2g}", ha="center", va="center", color="k" if light else "w",
                    fontsize=9)  # fmt: skip
    lo, hi = edges(xs)[[0, -1]]
    line = np.array([lo, hi])
    ax.plot(line, line, "r--", lw=2, label="r B = C (help to anyone pays above)")
    if twin_line and lo < 1.0 < hi:
        ax.plot(
            [1.0, 1.0],
            edges(ys)[[0, -1]],
            "w:",
            lw=2,
            label="B = C (help to a known twin pays left)",
        )
    ax.set_ylim(*edges(ys)[[0, -1]])
    ax.set_xlim(lo, hi)
    units = value.attrs.get("units", "")
    fig.colorbar(mesh, ax=ax, label=f"{value.name or 'value'}" + (f" ({units})" if units else ""))
    ax.set(
        title=title or f"Phase diagram: {value.name or 'value'}",
        xlabel="cost / benefit C/B (1)",
        ylabel="relatedness r (1)",
    )
    ax.legend(loc="lower right")
    return fig


def sweep_outcome_plot(value: xr.DataArray, x: str, title: str | None = None) -> Figure:
    """One outcome of a sweep (`analysis.sweeps.sweep_summary`) against the sweep dimension
    `x`, one line per combination of the other dimensions; over seeds, the mean with a bar
    from the lowest to the highest seed."""
    if x not in value.dims:
        raise ValueError(f"sweep_outcome_plot: {x!r} is not a dimension of {value.dims}")
    others = [d for d in value.dims if d not in (x, "seed")]
    fig, (ax,) = _figure()
    xs = value[x].values
    pos = np.arange(len(xs)) if xs.dtype.kind not in "fiu" else xs.astype(float)
    for combo in itertools.product(*(value[d].values.tolist() for d in others)):
        v = value.sel(dict(zip(others, combo, strict=True)))
        mean = v.mean("seed") if "seed" in v.dims else v
        label = ", ".join(f"{d} = {c}" for d, c in zip(others, combo, strict=True)) or None
        line = ax.plot(pos, mean.transpose(x).values, "o-", label=label)[0]
        if "seed" in v.dims and v.sizes["seed"] > 1:
            lo, hi = v.min("seed").transpose(x).values, v.max("seed").transpose(x).values
            ax.vlines(pos, lo, hi, color=line.get_color(), alpha=0.5)
    if xs.dtype.kind not in "fiu":
        ax.set_xticks(pos, [str(c) for c in xs])
    units = value.attrs.get("description", "")
    ax.set(title=title or str(value.name), xlabel=x, ylabel=units or str(value.name))
    if others:
        ax.legend(fontsize=8)
    return fig


def sweep_trajectory_plot(value: xr.DataArray, title: str | None = None) -> Figure:
    """A per-generation quantity of every sweep point (dims: the sweep's, `seed`,
    `generation`, e.g. `genome.mean("individual")` of `open_sweep`), one line per point,
    averaged over seeds: does it rise over the run (escalation)?"""
    if "generation" not in value.dims:
        raise ValueError(f"sweep_trajectory_plot: needs a 'generation' dim, got {value.dims}")
    if "seed" in value.dims:
        value = value.mean("seed")
    others = [d for d in value.dims if d != "generation"]
    fig, (ax,) = _figure()
    for combo in itertools.product(*(value[d].values.tolist() for d in others)):
        v = value.sel(dict(zip(others, combo, strict=True)))
        label = ", ".join(f"{d} = {c}" for d, c in zip(others, combo, strict=True))
        ax.plot(v.generation.values, v.values, "-", marker=".", label=label)
    ax.set(title=title or str(value.name), xlabel="generation", ylabel=str(value.name))
    _whole_generations(ax)
    if others:
        ax.legend(fontsize=8)
    return fig


def lineage_graph_from_archive(ds: xr.Dataset, color_by: str = "fitness") -> nx.DiGraph:
    """The lineage DAG: one node per uid (attrs `generation` born, `last` generation seen,
    `value` of `color_by` at its last generation, `founder`, `elite` = lived past its birth
    generation), edges parent -> child with `parent` = "a" or "b"."""
    uid = ds.uid.values
    born = ds.born.values
    pa, pb = ds.parent_a.values, ds.parent_b.values
    if color_by == "fitness":
        value = ds.fitness.values
    elif color_by in ds.gene.values:
        value = ds.genome.sel(gene=color_by).values
    else:
        raise ValueError(
            f"color_by must be 'fitness' or a gene ({list(map(str, ds.gene.values))}), "
            f"got {color_by!r}"
        )
    G = nx.DiGraph()
    gens = ds.generation.values
    for gi, g in enumerate(gens):
        for i, u in enumerate(uid[gi]):
            u = int(u)
            if u not in G:
                G.add_node(u, generation=int(born[gi, i]), founder=bool(pa[gi, i] < 0), elite=False)
            node = G.nodes[u]
            node["last"] = int(g)
            node["value"] = float(value[gi, i])
            node["elite"] = node["elite"] or int(g) > node["generation"]
            for p, name in ((pa[gi, i], "a"), (pb[gi, i], "b")):
                if p >= 0 and not G.has_edge(int(p), u):
                    G.add_edge(int(p), u, parent=name)
    for n in list(G.nodes):
        G.nodes[n].setdefault("generation", int(gens[0]) - 1)  # parents outside the archive
        G.nodes[n].setdefault("value", np.nan)
    return G


def _layered(G: nx.DiGraph) -> dict[int, tuple[float, float]]:
    pos = {}
    layers: dict[int, list[int]] = {}
    for n, d in G.nodes(data=True):
        layers.setdefault(d["generation"], []).append(n)
    for g, nodes in layers.items():
        nodes = sorted(nodes)
        for k, n in enumerate(nodes):
            pos[n] = ((k + 0.5) / len(nodes), float(g))
    return pos


def lineage_plot(ds: xr.Dataset, color_by: str = "fitness") -> Figure:
    """The lineage tree laid out by birth generation (y, downwards), nodes coloured by
    `color_by` (fitness or a gene), solid edges from parent a, dashed from parent b; founders
    are triangles, elites (kept past their birth generation) squares with a black rim."""
    G = lineage_graph_from_archive(ds, color_by)
    pos = _layered(G)
    fig, (ax,) = _figure(size=(9, 2 + 0.9 * ds.sizes["generation"]))
    vals = np.array([G.nodes[n]["value"] for n in G.nodes], float)
    finite = vals[np.isfinite(vals)]
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    for style, which in (("solid", "a"), ("dashed", "b")):
        edges = [(u, v) for u, v, d in G.edges(data=True) if d["parent"] == which]
        nx.draw_networkx_edges(
            G,
            pos,
            edgelist=edges,
            ax=ax,
            style=style,
            alpha=0.4,
            arrows=G.number_of_edges() <= 500,  # arrow patches are slow by the thousand
            arrowsize=8,
            node_size=60,
        )
    kinds = (("founder", "^", None), ("elite", "s", "k"), ("child", "o", None))
    sc = None
    for kind, marker, edge in kinds:
        nodes = [n for n in G.nodes if _kind(G.nodes[n]) == kind]
        if not nodes:
            continue
        sc = ax.scatter(
            [pos[n][0] for n in nodes],
            [pos[n][1] for n in nodes],
            c=[G.nodes[n]["value"] for n in nodes],
            marker=marker,
            s=70,
            edgecolors=edge,
            vmin=vmin,
            vmax=vmax,
            cmap="viridis",
            label=kind,
            zorder=3,
        )
    if sc is not None:
        fig.colorbar(
            sc, ax=ax, label=color_by if color_by != "fitness" else "fitness (hearts per episode)"
        )
    gens = sorted({d["generation"] for _, d in G.nodes(data=True)})
    ax.tick_params(left=True, labelleft=True)
    ax.set_yticks(gens)
    ax.set_xticks([])
    ax.invert_yaxis()
    ax.set(
        title=f"Lineage tree ({G.number_of_nodes()} individuals), colour: {color_by}",
        xlabel="individuals of the generation (ordered by uid)",
        ylabel="generation born",
    )
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.08), ncol=3, fontsize="small")
    return fig


def _kind(node: dict) -> str:
    if node.get("elite"):
        return "elite"
    return "founder" if node.get("founder") else "child"


def select_generation(ds: xr.Dataset, generation: int) -> xr.Dataset:
    """One generation of the archive, loaded; negative numbers count from the last."""
    gens = ds.generation.values
    if -len(gens) <= generation < 0:
        generation = int(gens[generation])
    if generation not in gens:
        raise ValueError(
            f"generation {generation} is not in the archive "
            f"({int(ds.generation.values[0])}..{int(ds.generation.values[-1])})"
        )
    return ds.sel(generation=generation).load()


def kinship_network(ds: xr.Dataset, generation: int = -1, threshold: float = 0.0) -> nx.Graph:
    """All trials of one generation as one graph: nodes are uids (attr `fitness`), an edge
    wherever two individuals that shared a trial have K > threshold (attr `weight` = K)."""
    g = select_generation(ds, generation)
    fit = dict(zip(g.uid.values.tolist(), g.fitness.values.tolist(), strict=True))
    G = nx.Graph()
    G.add_nodes_from((u, {"fitness": f}) for u, f in fit.items())
    for t in range(g.sizes["trial"]):
        uids = g.trial_uids.values[t]
        keep = uids >= 0
        k = g.kinship.values[t][np.ix_(keep, keep)]
        G.update(kinship_graph(k, uids[keep].tolist(), threshold))
    for u, f in fit.items():
        G.nodes[u]["fitness"] = f
    return G


def mate_network(ds: xr.Dataset, generation: int = -1) -> nx.Graph:
    """Mate bonds of one generation: nodes are uids, an edge from each individual to its
    `mate` (when the mate is in the same generation)."""
    g = select_generation(ds, generation)
    uids = g.uid.values.tolist()
    index = {u: k for k, u in enumerate(uids)}
    pairs = {
        tuple(sorted((index[u], index[int(m)])))
        for u, m in zip(uids, g.mate.values, strict=True)
        if m >= 0 and int(m) in index
    }
    return bond_graph(sorted(pairs), uids, fitness=g.fitness.values)


def _network_figure(G: nx.Graph, title: str, edge_label: str) -> Figure:
    fig, (ax,) = _figure(size=(6, 5))
    n = max(G.number_of_nodes(), 1)
    pos = nx.spring_layout(G, seed=0, k=2.5 / np.sqrt(n)) if G.number_of_nodes() else {}
    widths = [1 + 3 * float(d.get("weight", 1)) for *_, d in G.edges(data=True)]
    nx.draw_networkx_edges(G, pos, ax=ax, width=widths or 1.0, alpha=0.7, edge_color="tab:red")
    fit = [G.nodes[n].get("fitness", np.nan) for n in G.nodes]
    sc = nx.draw_networkx_nodes(G, pos, ax=ax, node_color=fit, cmap="viridis", node_size=150)
    nx.draw_networkx_labels(G, pos, ax=ax, font_size=7, font_color="w")
    ax.set_xticks([])
    ax.set_yticks([])
    if G.number_of_nodes():
        fig.colorbar(sc, ax=ax, label="fitness (hearts per episode)")
    ax.set(
        title=title,
        xlabel=f"nodes: individuals (uid); edges: {edge_label}",
        ylabel="spring layout (no units)",
    )
    return fig


def kinship_network_plot(ds: xr.Dataset, generation: int = -1, threshold: float = 0.0) -> Figure:
    """The kinship network of one generation (`kinship_network`), edge width grows with K."""
    G = kinship_network(ds, generation, threshold)
    gen = int(ds.generation.values[generation]) if generation < 0 else generation
    return _network_figure(G, f"Kinship network, generation {gen}", f"kinship K > {threshold}")


def mate_network_plot(ds: xr.Dataset, generation: int = -1) -> Figure:
    """The mate-bond network of one generation (`mate_network`)."""
    G = mate_network(ds, generation)
    gen = int(ds.generation.values[generation]) if generation < 0 else generation
    return _network_figure(
        G, f"Mate bonds, generation {gen} ({G.number_of_edges()} bonds)", "mate bond"
    )


def heatmap_plot(
    scores: np.ndarray,
    policies: Sequence[str],
    tasks: Sequence[str],
    title: str = "Policy x task scores",
) -> Figure:
    """scores: float[len(policies), len(tasks)] in [0, 1] (NaN: not evaluated), one cell
    each, annotated with its value."""
    scores = np.asarray(scores, float)
    if scores.shape != (len(policies), len(tasks)):
        raise ValueError(f"scores must be [{len(policies)}, {len(tasks)}], got {scores.shape}")
    fig, (ax,) = _figure(size=(1.2 + 0.9 * len(tasks), 1.5 + 0.45 * len(policies)))
    im = ax.imshow(np.ma.masked_invalid(scores), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for i in range(len(policies)):
        for j in range(len(tasks)):
            if np.isfinite(scores[i, j]):
                ax.text(
                    j,
                    i,
                    f"{scores[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="w" if scores[i, j] < 0.5 else "k",
                )
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
    ax.set_yticks(range(len(policies)), policies)
    ax.set(title=title, xlabel="task (suite/task)", ylabel="policy")
    fig.colorbar(im, ax=ax, label="score (fraction of episodes solved, 0-1)")
    return fig
