"""networkx graphs of a generation's kinship, its mate bonds and the lineage across
generations, with GraphML export. Plotting them belongs to `analysis`.

Node attributes: `uid`, plus whatever per-individual values are given (generation, team,
clan, family, fitness, ...). GraphML takes only scalars, so values are stored as plain
Python ints, floats, strings or bools.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import networkx as nx
import numpy as np

from kinship.pedigree import Pedigree


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _add_nodes(g: nx.Graph, uids: Sequence[int], attrs: Mapping[str, Sequence]) -> None:
    for k, u in enumerate(uids):
        node = {"uid": int(u)}
        for key, values in attrs.items():
            node[key] = _plain(values[k])
        g.add_node(int(u), **node)


def kinship_graph(
    kinship: np.ndarray, uids: Sequence[int], threshold: float = 0.0, **attrs: Sequence
) -> nx.Graph:
    """Undirected graph of one group: an edge (weight = K_ij) wherever K_ij > threshold."""
    k = np.asarray(kinship)
    n = len(uids)
    if k.shape != (n, n):
        raise ValueError(f"kinship must be [{n}, {n}] for {n} uids, got {k.shape}")
    g = nx.Graph()
    _add_nodes(g, uids, attrs)
    ii, jj = np.nonzero(np.triu(k > threshold, 1))
    g.add_weighted_edges_from(
        (int(uids[i]), int(uids[j]), float(k[i, j])) for i, j in zip(ii, jj, strict=True)
    )
    return g


def bond_graph(
    bonds: Iterable[tuple[int, int]], uids: Sequence[int], **attrs: Sequence
) -> nx.Graph:
    """Undirected mate-bond graph: `bonds` are (i, j) agent indices into `uids`; the edge
    weight counts how often the pair bonded."""
    g = nx.Graph()
    _add_nodes(g, uids, attrs)
    for i, j in bonds:
        a, b = int(uids[int(i)]), int(uids[int(j)])
        w = g.edges[a, b]["weight"] + 1 if g.has_edge(a, b) else 1
        g.add_edge(a, b, weight=w)
    return g


def lineage_graph(pedigree: Pedigree, **attrs: Mapping[int, object]) -> nx.DiGraph:
    """The pedigree's DAG (parent -> child) with node attributes; `attrs` maps an attribute
    name to {uid: value} for values known later (e.g. fitness)."""
    g = pedigree.graph.copy()
    for key, values in attrs.items():
        for u, v in values.items():
            if u in g:
                g.nodes[u][key] = _plain(v)
    return g


def write_graphml(graph: nx.Graph, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(graph, path)
    return path
