"""Real pedigrees and the coefficient of relationship among living individuals.

`Pedigree` keeps two things:

- the lineage record: every individual ever added (uid, parents, generation of birth) in
  compact int64 arrays, 32 bytes an individual (64 MB for 10,000 x 200 generations; a
  networkx node costs about 1 kB). `graph` builds the networkx DiGraph from it on demand.
- the kinship coefficients f among the *active* individuals (those that may still be queried
  or become parents) in one matrix, float32 by default.

Children are not written into the matrix when they are added. The next query (or an `add`
whose parents are still pending) builds the matrix of the individuals active at that moment
in one pass over the previous matrix, which still holds the parents, retired or not:

    f(i, j) = (f(a_i, a_j) + f(b_i, b_j) + f(b_i, a_j) + f(a_i, b_j)) / 4
    f(i, i) = (1 + f(a_i, b_i)) / 2                 (founders: f(i, i) = 1/2)

where an individual kept from the previous matrix is its own two "parents" (a = b = itself,
which copies its coefficients exactly) and an unknown parent (-1) is a row of zeros. The sum
is ordered so that f(i, j) and f(j, i) are the same number. Then

    r(i, j) = f(i, j) / sqrt(f(i, i) f(j, j))      (= 2 f(i, j) without inbreeding)

is Wright's coefficient of relationship: parent-child 1/2, full siblings 1/2, half siblings
1/4, first cousins 1/8, unrelated founders 0, r(i, i) = 1, in [0, 1] for inbred lines.

Cost: one generation is O(m^2) for m individuals active after it (an @njit kernel, parallel
over rows); memory is two matrices, the current one and the one before (whose buffer the next
generation reuses: a fresh one costs as much in page faults as the kernel), 2 x 4 (m + 1)^2
bytes in float32 (800 MB at m = 10,000), and `retire` keeps m at the living population
however long the run. The first
implementation, which grew the matrix by the children before retiring the parents, is
`kinship.pedigree_dense.DensePedigree`; the two agree to rounding (tests/test_pedigree.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def next_coefficients(f, a, b, born, out):
    """Kinship coefficients of the next active set from the previous one.

    f: float[P + 1, P + 1], row and column P zero (the unknown parent). a, b: int64[m], rows
    of f of each new individual's parents (P: unknown; a = b = k keeps row k). born: bool[m],
    True for a child (diagonal (1 + f(a, b)) / 2), False for a kept individual (its own
    diagonal). out: float[m + 1, m + 1], written in full, its row and column m zero.
    """
    m = a.shape[0]
    for i in prange(m):
        fa = f[a[i]]
        fb = f[b[i]]
        row = out[i]
        for j in range(m):
            aj = a[j]
            bj = b[j]
            # (aa + bb) + (ba + ab): the same two sums, swapped, for (j, i), so out is symmetric
            row[j] = 0.25 * ((fa[aj] + fb[bj]) + (fb[aj] + fa[bj]))
        if born[i]:
            row[i] = 0.5 * (1.0 + fa[b[i]])
        row[m] = 0.0
    out[m, :] = 0.0


class Pedigree:
    def __init__(self, dtype=np.float32):
        """dtype: of the coefficient matrix; float32 (default) halves memory and time,
        float64 agrees with the dense reference to rounding (about 1e-16)."""
        self.dtype = np.dtype(dtype)
        # lineage record, one array chunk per `add`, joined when read
        self._chunks: list[tuple[np.ndarray, ...]] = []
        self._record: tuple[np.ndarray, ...] | None = None  # uid, parent_a, parent_b, generation
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None  # sorted uids, their records
        self._attrs: dict[int, dict] = {}  # node attributes given to `add`
        self._max_uid = -1  # a larger uid is new without a search (the loop's children are)
        # active individuals: rows of the matrix, then children not in it yet
        self._f = np.zeros((1, 1), self.dtype)
        self._spare = np.zeros(0, self.dtype)  # the matrix before, reused as the next one
        self._uids: list[int] = []
        self._row: dict[int, int] = {}  # uid -> row of self._f
        self._pending: dict[int, tuple[int, int]] = {}  # uid -> rows of its parents in self._f
        self._retired: set[int] = set()  # rows of self._f retired since it was built

    def __len__(self) -> int:
        return sum(len(c[0]) for c in self._chunks)

    def __contains__(self, uid: int) -> bool:
        uid = int(uid)
        if uid in self._row or uid in self._pending:
            return True
        return uid <= self._max_uid and self._find([uid])[0] >= 0

    @property
    def active(self) -> list[int]:
        """uids whose relatedness can be asked for, in the order they were added."""
        kept = [u for u in self._uids if u not in self._retired]
        return kept + list(self._pending)

    def add(
        self,
        uids: Sequence[int],
        parent_a: Sequence[int] | None = None,
        parent_b: Sequence[int] | None = None,
        generation: int = 0,
        **attrs: Sequence,
    ) -> None:
        """Add individuals born together. Parents must be active (or -1 for unknown);
        `attrs` are per-individual node attributes of `graph` (e.g. team=[...])."""
        uid = np.asarray(uids, np.int64).reshape(-1)
        n = len(uid)
        pa = np.full(n, -1, np.int64) if parent_a is None else np.asarray(parent_a, np.int64)
        pb = np.full(n, -1, np.int64) if parent_b is None else np.asarray(parent_b, np.int64)
        if pa.shape != (n,) or pb.shape != (n,):
            raise ValueError(f"parent_a and parent_b need {n} entries, got {pa.shape}, {pb.shape}")
        if len(np.unique(uid)) != n:
            raise ValueError("uids must be unique")
        old = (self._find(uid) >= 0) if n and uid.min() <= self._max_uid else np.zeros(n, bool)
        if old.any():
            raise ValueError(f"uid {uid[old][0]} is already in the pedigree")
        parents = {int(p) for p in np.concatenate([pa, pb]) if p >= 0}
        for p in parents:
            if p in self._pending:
                continue
            if p not in self._row or p in self._retired:
                known = "retired" if p in self else "unknown"
                raise ValueError(f"parent {p} is {known}; parents must be active individuals")
        if any(p in self._pending for p in parents):
            self._build()
        unknown = len(self._uids)  # the zero row of self._f
        for k, u in enumerate(uid.tolist()):
            self._pending[u] = (
                self._row[int(pa[k])] if pa[k] >= 0 else unknown,
                self._row[int(pb[k])] if pb[k] >= 0 else unknown,
            )
        self._chunks.append((uid, pa, pb, np.full(n, int(generation), np.int64)))
        self._record = self._sorted = None
        if n:
            self._max_uid = max(self._max_uid, int(uid.max()))
        if attrs:
            for k, u in enumerate(uid.tolist()):
                self._attrs[u] = {
                    key: v[k].item() if hasattr(v[k], "item") else v[k] for key, v in attrs.items()
                }

    def retire(self, uids: Sequence[int]) -> None:
        """Drop individuals from the active set (they stay in the lineage record)."""
        for u in uids:
            u = int(u)
            if u in self._pending:
                del self._pending[u]
            elif u in self._row:
                self._retired.add(u)

    def kinship_coefficients(self, uids: Sequence[int]) -> np.ndarray:
        """f among `uids` (float64[n, n]); f(i, i) = (1 + inbreeding) / 2."""
        rows = self._rows(uids)
        return self._f[np.ix_(rows, rows)].astype(np.float64)

    def inbreeding(self, uids: Sequence[int]) -> np.ndarray:
        """Wright's inbreeding coefficient F = 2 f(i, i) - 1 of each uid."""
        rows = self._rows(uids)
        return 2 * self._f[rows, rows].astype(np.float64) - 1

    def relatedness(self, uids: Sequence[int]) -> np.ndarray:
        """Coefficient of relationship among `uids`: float32[n, n], symmetric, diagonal 1."""
        return relationship(self.kinship_coefficients(uids))

    def relatedness_many(self, groups: np.ndarray) -> np.ndarray:
        """`relatedness` of each row of uids at once: groups int[T, n] -> float32[T, n, n]
        (a generation's trials in one call: 250 calls of `relatedness` cost 60 ms at 1,000
        individuals, mostly per-call overhead)."""
        groups = np.asarray(groups)
        if groups.ndim != 2 or not np.issubdtype(groups.dtype, np.integer):
            raise ValueError(
                f"relatedness_many: expected uids as an integer array [T, n], got "
                f"{groups.dtype} of shape {groups.shape}"
            )
        T, n = groups.shape
        rows = self._rows(groups.reshape(-1)).reshape(T, n)
        f = self._f[rows[:, :, None], rows[:, :, None].transpose(0, 2, 1)].astype(np.float64)
        d = np.sqrt(np.diagonal(f, axis1=1, axis2=2))  # [T, n]
        r = f / (d[:, :, None] * d[:, None, :])
        r[:, np.arange(n), np.arange(n)] = 1.0
        return np.clip(r, 0.0, 1.0).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        """What `Pedigree.restore` needs, besides the lineage record, to continue exactly as
        this pedigree would: `active`, int64[m], the active uids in the matrix's row order,
        and `coefficients`, [m + 1, m + 1] (a copy; row and column m are the unknown
        parent's zeros). Pending children are written into the matrix first."""
        self._build()
        return {"active": np.array(self._uids, np.int64), "coefficients": self._f.copy()}

    @classmethod
    def restore(
        cls,
        records: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        active: np.ndarray,
        coefficients: np.ndarray,
    ) -> Pedigree:
        """The pedigree that `state()` was taken from, without replaying its generations:
        `records` is its lineage record (uid, parent_a, parent_b, generation, as `records()`
        gives them, e.g. read back from a run's archive); `active` and `coefficients` come
        from `state()`. Costs a sort of the record and a copy of the matrix, however many
        generations the record spans."""
        recs = tuple(np.asarray(r) for r in records)
        if len(recs) != 4 or any(
            r.ndim != 1 or not np.issubdtype(r.dtype, np.integer) or r.shape != recs[0].shape
            for r in recs
        ):
            raise ValueError(
                "Pedigree.restore: records must be 4 integer arrays of one length (uid, "
                "parent_a, parent_b, generation), got "
                + ", ".join(f"{r.dtype}{r.shape}" for r in recs)
            )
        active = np.asarray(active)
        coefficients = np.asarray(coefficients)
        if active.ndim != 1 or not np.issubdtype(active.dtype, np.integer):
            raise ValueError(
                f"Pedigree.restore: active must be integer uids [m], got {active.dtype}"
                f"{active.shape}"
            )
        m = len(active)
        if coefficients.dtype not in (np.float32, np.float64) or coefficients.shape != (
            m + 1,
            m + 1,
        ):
            raise ValueError(
                f"Pedigree.restore: coefficients must be float32 or float64 [{m + 1}, {m + 1}] "
                f"for {m} active uids, got {coefficients.dtype}{coefficients.shape}"
            )
        if not np.isfinite(coefficients).all() or coefficients[m].any() or coefficients[:, m].any():
            raise ValueError(
                "Pedigree.restore: coefficients must be finite with a last row and column of zeros"
            )
        ped = cls(dtype=coefficients.dtype)
        uid, pa, pb, gen = (r.astype(np.int64) for r in recs)
        if len(np.unique(uid)) != len(uid):
            raise ValueError("Pedigree.restore: the record's uids must be unique")
        ped._chunks = [(uid, pa, pb, gen)]
        ped._max_uid = int(uid.max()) if len(uid) else -1
        missing = ped._find(active) < 0
        if missing.any() or len(np.unique(active)) != m:
            raise ValueError(
                "Pedigree.restore: active uids must be unique and in the record"
                + (f" (uid {int(active[missing][0])} is not)" if missing.any() else "")
            )
        ped._f = np.array(coefficients, copy=True)
        ped._uids = [int(u) for u in active]
        ped._row = {u: k for k, u in enumerate(ped._uids)}
        return ped

    def parents(self, uid: int) -> list[int]:
        """Known parents of `uid` (one for a selfed individual, none for a founder)."""
        k = self._find([uid])[0]
        if k < 0:
            raise KeyError(f"uid {uid} is not in the pedigree")
        _, pa, pb, _ = self.records()
        return sorted({int(p) for p in (pa[k], pb[k]) if p >= 0})

    def records(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The lineage record in the order added: uid, parent_a, parent_b (-1 unknown) and
        generation of birth, int64[N] each."""
        if self._record is None:
            if self._chunks:
                self._record = tuple(np.concatenate(c) for c in zip(*self._chunks, strict=True))
            else:
                self._record = tuple(np.zeros(0, np.int64) for _ in range(4))
            self._chunks = [self._record]
        return self._record

    @property
    def graph(self) -> nx.DiGraph:
        """The lineage as a networkx DiGraph (edges parent -> child; node attributes `uid`,
        `generation` and those given to `add`), built on each access: O(N), about 1 kB of
        memory per individual."""
        uid, pa, pb, gen = self.records()
        g = nx.DiGraph()
        for u, a, b, t in zip(uid.tolist(), pa.tolist(), pb.tolist(), gen.tolist(), strict=True):
            g.add_node(u, uid=u, generation=t, **self._attrs.get(u, {}))
            for p in (a, b):
                if p >= 0:
                    g.add_edge(p, u)
        return g

    # -- internals -------------------------------------------------------------------------------
    def _find(self, uids) -> np.ndarray:
        """Index into `records()` of each uid, -1 where absent."""
        uids = np.asarray(uids, np.int64).reshape(-1)
        if self._sorted is None:
            uid = self.records()[0]
            order = np.argsort(uid, kind="stable")
            self._sorted = uid[order], order
        keys, order = self._sorted
        if not len(keys):
            return np.full(len(uids), -1, np.int64)
        pos = np.minimum(np.searchsorted(keys, uids), len(keys) - 1)
        return np.where(keys[pos] == uids, order[pos], -1)

    def _build(self) -> None:
        """Write the pending children into the matrix and drop the retired rows."""
        if not self._pending and not self._retired:
            return
        kept = [u for u in self._uids if u not in self._retired]
        kids = list(self._pending)
        rows = np.array([self._row[u] for u in kept], np.int64)
        parents = np.array(list(self._pending.values()), np.int64).reshape(-1, 2)
        a = np.concatenate([rows, parents[:, 0]])
        b = np.concatenate([rows, parents[:, 1]])
        born = np.concatenate([np.zeros(len(kept), np.bool_), np.ones(len(kids), np.bool_)])
        size = (len(a) + 1) ** 2
        if not size <= self._spare.size <= 2 * size:
            # A fresh buffer costs page faults (about as much as the kernel at 10,000), a
            # reused one nothing; the two buffers are the peak either way.
            self._spare = np.zeros(0, self.dtype)  # freed before the new one is taken
            self._spare = np.empty(size, self.dtype)
        out = self._spare[:size].reshape(len(a) + 1, len(a) + 1)
        next_coefficients(self._f, a, b, born, out)
        self._spare = self._f.base if self._f.base is not None else self._f.reshape(-1)
        self._f = out
        self._uids = kept + kids
        self._row = {u: k for k, u in enumerate(self._uids)}
        self._pending = {}
        self._retired = set()

    def _rows(self, uids: Sequence[int]) -> np.ndarray:
        self._build()
        try:
            return np.array([self._row[int(u)] for u in uids], np.int64)
        except KeyError as err:
            u = err.args[0]
            state = "retired" if u in self else "not in the pedigree"
            raise KeyError(f"uid {u} is {state}") from None


def relationship(f: np.ndarray) -> np.ndarray:
    """Wright's coefficient of relationship r(i, j) = f(i, j) / sqrt(f(i, i) f(j, j)) from a
    matrix of kinship coefficients: float32, symmetric, diagonal 1, in [0, 1]."""
    d = np.sqrt(np.diag(f))
    r = f / np.outer(d, d)
    np.fill_diagonal(r, 1.0)
    return np.clip(r, 0.0, 1.0).astype(np.float32)
