"""The genome: named real genes with bounds, searched in the unit cube.

Gene k's value is low_k + u_k (high_k - low_k), or the same on log10 for `log` genes, so every
search algorithm works on [0, 1]^D and the archive keeps both the point and the gene values.
The GA stays inside the cube; EvoTorch's CMA-ES and PGPE refuse bounded problems, so their
points are folded into the cube by reflection (1.2 -> 0.8, -0.3 -> 0.3): unlike clipping,
this leaves no flat region where every point outside decodes to the same genome.
"""

from __future__ import annotations

import numpy as np

from evo.config import GeneConfig


def fold(u: np.ndarray) -> np.ndarray:
    """Reflect values into [0, 1] as a mirror would."""
    u = np.remainder(u, 2.0)
    return np.where(u > 1.0, 2.0 - u, u)


class Genome:
    def __init__(self, genes: list[GeneConfig]):
        self.names = [g.name for g in genes]
        self.log = np.array([g.log for g in genes])
        lo = np.array([g.low for g in genes], np.float64)
        hi = np.array([g.high for g in genes], np.float64)
        self.lo = np.where(self.log, np.log10(np.where(self.log, lo, 1.0)), lo)
        self.hi = np.where(self.log, np.log10(np.where(self.log, hi, 1.0)), hi)
        self.genes = genes

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"<Genome {', '.join(self.names)}>"

    def decode(self, u: np.ndarray) -> np.ndarray:
        """Unit-cube points [P, D] -> gene values [P, D]."""
        x = self.lo + fold(u) * (self.hi - self.lo)
        return np.where(self.log, 10.0**x, x)

    def initial(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n unit-cube points drawn from each gene's initial distribution."""
        u = np.empty((n, len(self)))
        for k, g in enumerate(self.genes):
            if g.init == "uniform":
                u[:, k] = rng.random(n)
            else:
                span = g.high - g.low
                mean = 0.5 if g.mean is None else (g.mean - g.low) / span
                std = 1 / 6 if g.std is None else g.std / span
                u[:, k] = rng.normal(mean, std, n)
        return fold(u)
