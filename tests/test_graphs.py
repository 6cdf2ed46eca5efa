"""networkx graphs of kinship, bonds and lineage, exported as GraphML."""

import networkx as nx
import numpy as np

from kinship import Pedigree, bond_graph, kinship_graph, lineage_graph, write_graphml


def test_kinship_graph_keeps_edges_above_the_threshold(tmp_path):
    k = np.array([[1, 0.5, 0.1], [0.5, 1, 0], [0.1, 0, 1]], np.float32)
    g = kinship_graph(k, [10, 11, 12], threshold=0.2, team=[0, 0, 1])
    assert set(g.edges) == {(10, 11)} and g.edges[10, 11]["weight"] == 0.5
    assert g.nodes[12]["team"] == 1
    back = nx.read_graphml(write_graphml(g, tmp_path / "k.graphml"), node_type=int)
    assert set(back.edges) == {(10, 11)} and back.nodes[12]["team"] == 1


def test_bond_graph_counts_repeated_bonds():
    g = bond_graph([(0, 1), (1, 0), (2, 3)], [5, 6, 7, 8])
    assert g.edges[5, 6]["weight"] == 2 and g.edges[7, 8]["weight"] == 1


def test_lineage_graph_is_a_dag_with_generations_and_fitness(tmp_path):
    p = Pedigree()
    p.add([1, 2], team=[0, 1])
    p.add([3], [1], [2], generation=1, team=[0])
    g = lineage_graph(p, fitness={1: 2.0, 3: 5.0})
    assert nx.is_directed_acyclic_graph(g) and set(g.edges) == {(1, 3), (2, 3)}
    assert g.nodes[3]["generation"] == 1 and g.nodes[3]["fitness"] == 5.0
    assert "fitness" not in p.graph.nodes[3]  # the pedigree itself is left as it was
    back = nx.read_graphml(write_graphml(g, tmp_path / "lineage.graphml"), node_type=int)
    assert back.nodes[1]["fitness"] == 2.0
