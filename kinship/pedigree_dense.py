"""The first `Pedigree`: a networkx DiGraph of everyone and a dense float64 matrix over the
active individuals plus the children being added, 8 (P + n)^2 bytes while adding (3.2 GB at
10,000 per generation). Kept unchanged as the reference that tests/test_pedigree.py and
`python -m kinship.bench` compare `kinship.pedigree.Pedigree` against.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from kinship.pedigree import relationship


class DensePedigree:
    def __init__(self):
        self.graph = nx.DiGraph()
        self._row: dict[int, int] = {}  # uid -> row of self._f
        self._uids: list[int] = []
        self._f = np.zeros((0, 0))

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def __contains__(self, uid: int) -> bool:
        return uid in self.graph

    @property
    def active(self) -> list[int]:
        """uids whose relatedness can be asked for, in the order they were added."""
        return list(self._uids)

    def add(
        self,
        uids: Sequence[int],
        parent_a: Sequence[int] | None = None,
        parent_b: Sequence[int] | None = None,
        generation: int = 0,
        **attrs: Sequence,
    ) -> None:
        """Add individuals born together. Parents must be active (or -1 for unknown);
        `attrs` are per-individual node attributes (e.g. team=[...], fitness=[...])."""
        uids = [int(u) for u in uids]
        n = len(uids)
        pa = np.full(n, -1, np.int64) if parent_a is None else np.asarray(parent_a, np.int64)
        pb = np.full(n, -1, np.int64) if parent_b is None else np.asarray(parent_b, np.int64)
        if pa.shape != (n,) or pb.shape != (n,):
            raise ValueError(f"parent_a and parent_b need {n} entries, got {pa.shape}, {pb.shape}")
        for u in uids:
            if u in self.graph:
                raise ValueError(f"uid {u} is already in the pedigree")
        if len(set(uids)) != n:
            raise ValueError("uids must be unique")
        for p in np.concatenate([pa, pb]):
            if p >= 0 and p not in self._row:
                known = "retired" if p in self.graph else "unknown"
                raise ValueError(f"parent {p} is {known}; parents must be active individuals")

        P = len(self._uids)
        ra = np.array([self._row.get(int(p), P) for p in pa], np.int64)
        rb = np.array([self._row.get(int(p), P) for p in pb], np.int64)
        # A zero row/column at index P stands for an unknown parent.
        old = np.zeros((P + 1, P + 1))
        old[:P, :P] = self._f
        cross = 0.5 * (old[ra, :P] + old[rb, :P])  # children x active
        among = 0.25 * (
            old[np.ix_(ra, ra)] + old[np.ix_(ra, rb)] + old[np.ix_(rb, ra)] + old[np.ix_(rb, rb)]
        )
        np.fill_diagonal(among, 0.5 * (1 + old[ra, rb]))
        f = np.empty((P + n, P + n))
        f[:P, :P] = self._f
        f[P:, :P] = cross
        f[:P, P:] = cross.T
        f[P:, P:] = among
        self._f = f
        for k, u in enumerate(uids):
            self._row[u] = P + k
            self._uids.append(u)
            node = {"uid": u, "generation": int(generation)}
            for key, values in attrs.items():
                v = values[k]
                node[key] = v.item() if hasattr(v, "item") else v
            self.graph.add_node(u, **node)
            for p in (pa[k], pb[k]):
                if p >= 0:
                    self.graph.add_edge(int(p), u)

    def retire(self, uids: Sequence[int]) -> None:
        """Drop individuals from the active set (they stay in the graph)."""
        drop = {int(u) for u in uids}
        keep = [u for u in self._uids if u not in drop]
        rows = np.array([self._row[u] for u in keep], np.int64)
        self._f = self._f[np.ix_(rows, rows)]
        self._uids = keep
        self._row = {u: k for k, u in enumerate(keep)}

    def kinship_coefficients(self, uids: Sequence[int]) -> np.ndarray:
        """f among `uids` (float64[n, n]); f(i, i) = (1 + inbreeding) / 2."""
        rows = self._rows(uids)
        return self._f[np.ix_(rows, rows)].copy()

    def inbreeding(self, uids: Sequence[int]) -> np.ndarray:
        """Wright's inbreeding coefficient F = 2 f(i, i) - 1 of each uid."""
        rows = self._rows(uids)
        return 2 * self._f[rows, rows] - 1

    def relatedness(self, uids: Sequence[int]) -> np.ndarray:
        """Coefficient of relationship among `uids`: float32[n, n], symmetric, diagonal 1."""
        return relationship(self.kinship_coefficients(uids))

    def parents(self, uid: int) -> list[int]:
        return sorted(self.graph.predecessors(uid))

    def _rows(self, uids: Sequence[int]) -> np.ndarray:
        try:
            return np.array([self._row[int(u)] for u in uids], np.int64)
        except KeyError as err:
            u = err.args[0]
            state = "retired" if u in self.graph else "not in the pedigree"
            raise KeyError(f"uid {u} is {state}") from None
