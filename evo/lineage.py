"""Who is who in a generation: the one lineage record used by the GA, the founders and the loop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Lineage:
    """One generation's individuals, all arrays int64[P] in population order.

    uid: unique over the run (elites keep theirs). parent_a, parent_b: uids of the two parents,
    -1 for founders. born: generation of birth. source: uid whose trained weights an
    individual starts from when weights are inherited (parent a, or itself for elites and
    founders).
    """

    uid: np.ndarray
    parent_a: np.ndarray
    parent_b: np.ndarray
    born: np.ndarray
    source: np.ndarray

    def __post_init__(self):
        n = len(self.uid)
        for name in ("uid", "parent_a", "parent_b", "born", "source"):
            v = np.asarray(getattr(self, name), np.int64)
            if v.shape != (n,):
                raise ValueError(f"lineage.{name}: shape must be ({n},), got {v.shape}")
            object.__setattr__(self, name, v)

    def __len__(self) -> int:
        return len(self.uid)

    @classmethod
    def founders(cls, uids: np.ndarray, generation: int) -> Lineage:
        """Individuals without parents, born in `generation`."""
        uids = np.asarray(uids, np.int64)
        none = np.full(len(uids), -1, np.int64)
        return cls(uids, none, none.copy(), np.full(len(uids), generation, np.int64), uids)

    def row_of(self) -> dict[int, int]:
        """uid -> index in this generation."""
        return {int(x): k for k, x in enumerate(self.uid)}
