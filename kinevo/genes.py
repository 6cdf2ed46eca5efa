"""The genes the engine knows: one table, read by the config, the world and the learner.

A gene acts in the `learner` (a PPO hyper-parameter of the individual's own network: the
`PPOConfig` field of the same name is its default) or in the `world` (a per-agent array of the
same name in `world.state.WorldState` that the rules read). A config may also declare a gene
that is not in the table with `neutral: true`: it evolves but does nothing, a useful control.

Adding a gene: one `Gene(...)` line here, plus the code that gives it meaning (a PPOConfig
field for a learner gene; a WorldState array and the kernel lines that read it for a world gene).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Gene:
    name: str
    acts_in: Literal["learner", "world"]
    low: float  # the valid range: a config's bounds must lie inside it
    high: float
    description: str


GENES: dict[str, Gene] = {
    g.name: g
    for g in (
        Gene("learning_rate", "learner", 1e-7, 1.0, "Adam step size of the individual's network"),
        Gene("ent_coef", "learner", 0.0, 1.0, "weight of the entropy bonus in its PPO loss"),
        Gene(
            "kin_weight",
            "world",
            0.0,
            1.0,
            "how much kin reward counts in the reward it learns from (kinship.sharing)",
        ),  # fmt: skip
        Gene("choosiness", "world", 0.0, 255.0, "lowest partner signal it accepts as a mate"),
    )
}


def genes_acting_in(where: Literal["learner", "world"]) -> tuple[str, ...]:
    return tuple(name for name, g in GENES.items() if g.acts_in == where)


def unknown_gene_message(name: str) -> str:
    return f"unknown gene {name!r}; known genes: {', '.join(GENES)} (or add neutral: true)"


def check_values(values: Mapping[str, object], shapes: tuple[tuple[int, ...], ...]) -> dict:
    """Validate per-agent gene values at the Python boundary: every name in the table, every
    array one of `shapes`, finite and inside the gene's valid range. Returns float32 arrays."""
    out = {}
    for name, value in values.items():
        if name not in GENES:
            raise ValueError(unknown_gene_message(name))
        gene = GENES[name]
        try:
            v = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(f"gene {name}: expected numbers, got {value!r:.60}") from None
        if v.shape not in shapes:
            raise ValueError(f"gene {name}: shape must be one of {list(shapes)}, got {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError(f"gene {name}: values must be finite")
        if ((v < gene.low) | (v > gene.high)).any():
            raise ValueError(
                f"gene {name}: values must lie in [{gene.low:g}, {gene.high:g}], "
                f"got {float(v.min()):g}..{float(v.max()):g}"
            )
        out[name] = v
    return out
