"""How an observation becomes numbers a learner can use: every channel on the same scale.

The world writes `obs` as uint8 planes whose ranges differ a lot (flags read 255, a mine
holds 1..mine_max diamonds, facing reads 1..4, see `layout.OBS_CHANNELS`). Dividing every
plane by 255 leaves the small-integer planes at 0.004-0.04, nearly invisible to a network.
`channel_max` gives each channel's true largest value for a `WorldConfig`, read off
`kernels.observe_env`; `scale_obs` divides by it so every channel spans [0, 1]. The policy
(`evo.policy`) and the adapters (`world.adapters`) use the same two functions.
"""

from __future__ import annotations

import numpy as np

from world import layout as L
from world.config import POSTURES, WorldConfig

# Channels that hold 255 (flag or ready) or 128 (cooling down), or round(255 * kinship).
_BYTE_CHANNELS = (
    L.CH_WALL,
    L.CH_CHARGER,
    L.CH_ALTAR,
    L.CH_AGENT,
    L.CH_SHIELD,
    L.CH_KIN,
    L.CH_BONDED,
)


def channel_max(cfg: WorldConfig) -> np.ndarray:
    """float32[C]: the largest value each observation channel (`cfg.obs_channels`) can hold
    under `cfg`. Optional channels: converters and blocks are flags (255), postures 0..3."""
    from world.state import derived  # state imports this package's layout; keep it lazy

    d = derived(cfg)
    top = np.full(d["n_channels"], 255.0, np.float32)
    top[L.CH_MINE] = min(cfg.mine_max + 1, 255)  # 1 + diamonds
    top[L.CH_MARKER] = cfg.n_marker_colors  # colour + 1
    top[L.CH_FACING] = 4  # facing + 1
    top[L.CH_FROZEN] = max(1, min(d["max_freeze"], 255))  # the strongest body's hit
    top[L.CH_ENERGY] = min(cfg.energy_buckets, 255)  # bucket + 1
    top[L.CH_SIGNAL] = min(cfg.max_signal, 255)
    if d["ch_posture"] >= 0:
        top[d["ch_posture"]] = len(POSTURES) - 1
    assert all(top[c] == 255 for c in _BYTE_CHANNELS)
    return top


def channel_scale(cfg: WorldConfig) -> np.ndarray:
    """float32[C]: 1 / `channel_max`, the factor that maps each channel onto [0, 1]."""
    return (1.0 / channel_max(cfg)).astype(np.float32)


def scale_obs(obs: np.ndarray, cfg: WorldConfig, out: np.ndarray | None = None) -> np.ndarray:
    """uint8[..., C] observation planes (channels last) -> float32[..., C] in [0, 1]."""
    return np.multiply(obs, channel_scale(cfg), out=out, dtype=np.float32)
