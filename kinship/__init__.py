"""Kinship: structures that build K, relatedness from pedigrees, reward sharing, graphs."""

from kinship.graphs import bond_graph, kinship_graph, lineage_graph, write_graphml
from kinship.pedigree import Pedigree
from kinship.sharing import learned_rewards
from kinship.structures import KinshipConfig, blind_kinship, build_kinship

__all__ = [
    "KinshipConfig",
    "Pedigree",
    "blind_kinship",
    "bond_graph",
    "build_kinship",
    "kinship_graph",
    "learned_rewards",
    "lineage_graph",
    "write_graphml",
]
