"""Checkpoints: plain tensors in `NAME.pt` (read with `torch.load(weights_only=True)`, so a
file never executes code) beside `NAME.json` holding the world and PPO configs, the genes and
uids of the members. A tampered, truncated or mismatched checkpoint raises `CheckpointError`
naming the file and the problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from evo.config import PPOConfig
from evo.policy import make_policy
from kinevo.faults import atomic_save, atomic_write_text
from world.config import WorldConfig

FORMAT = "kinevo-policy/1"


class CheckpointError(ValueError):
    pass


@dataclass
class Checkpoint:
    world: WorldConfig
    ppo: PPOConfig
    states: list[dict[str, torch.Tensor]]  # one per member (1 in shared mode)
    genes: dict[str, list[float]]
    uids: list[int]
    extra: dict

    def policies(self) -> list[torch.nn.Module]:
        out = []
        for s in self.states:
            p = make_policy(self.world, self.ppo)
            p.load_state_dict(s)
            p.eval()
            out.append(p)
        return out


def _paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".pt", ".json"):
        p = p.with_suffix("")
    return p.with_suffix(".pt"), p.with_suffix(".json")


def save_checkpoint(
    path: str | Path,
    world: WorldConfig,
    ppo: PPOConfig,
    states: list[dict[str, torch.Tensor]],
    genes: dict[str, list[float]] | None = None,
    uids: list[int] | None = None,
    **extra,
) -> Path:
    """Write NAME.pt and NAME.json; returns the .pt path."""
    pt, js = _paths(path)
    pt.parent.mkdir(parents=True, exist_ok=True)
    flat = {
        f"{g}.{k}": v.detach().cpu().contiguous()
        for g, s in enumerate(states)
        for k, v in s.items()
    }
    meta = {
        "format": FORMAT,
        "members": len(states),
        "world": world.model_dump(),
        "ppo": ppo.model_dump(),
        "genes": {k: [float(x) for x in v] for k, v in (genes or {}).items()},
        "uids": [int(u) for u in (uids or range(len(states)))],
        "extra": extra,
    }
    atomic_save(flat, pt)
    atomic_write_text(js, json.dumps(meta, indent=2))
    return pt


def load_checkpoint(path: str | Path) -> Checkpoint:
    pt, js = _paths(path)
    try:
        meta = json.loads(js.read_text())
    except OSError as err:
        raise CheckpointError(f"{js}: cannot read: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{js}: not valid JSON: {err}") from None
    found = meta.get("format") if isinstance(meta, dict) else None
    if isinstance(found, str) and found.startswith("kinevo-policy/") and found != FORMAT:
        raise CheckpointError(
            f"{js}: checkpoint format {found}, but this kinevo reads {FORMAT}; "
            "load it with the kinevo that wrote it"
        )
    if found != FORMAT:
        raise CheckpointError(f"{js}: not a {FORMAT} checkpoint description")
    try:
        world = WorldConfig.model_validate(meta["world"])
        # Checkpoints written before networks had names hold the first one, conv-v1.
        ppo = PPOConfig.model_validate({"policy": "conv-v1", **meta["ppo"]})
        members = int(meta["members"])
    except Exception as err:  # pydantic errors, missing keys, wrong types
        raise CheckpointError(f"{js}: bad config inside: {err}") from None
    try:
        flat = torch.load(pt, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{pt}: no such file") from None
    except Exception as err:  # truncated zip, pickle refused by weights_only, ...
        raise CheckpointError(
            f"{pt}: not a readable weights file ({type(err).__name__}: {err})"
        ) from None
    if not isinstance(flat, dict) or not all(isinstance(v, torch.Tensor) for v in flat.values()):
        raise CheckpointError(f"{pt}: expected a flat dict of tensors")
    states = [{} for _ in range(members)]
    for key, value in flat.items():
        g, _, name = key.partition(".")
        if not g.isdigit() or int(g) >= members:
            raise CheckpointError(f"{pt}: unexpected entry {key!r}")
        states[int(g)][name] = value
    ck = Checkpoint(
        world, ppo, states, meta.get("genes", {}), meta.get("uids", []), meta.get("extra", {})
    )
    try:
        ck.policies()
    except RuntimeError as err:
        raise CheckpointError(f"{pt}: weights do not fit the configured network: {err}") from None
    return ck
