"""Pictures of one env: ASCII text, RGB frames (numpy) and GIFs. Rendering reads the state;
it never changes the rules.

ASCII uses the map legend of `world.state.parse_ascii` ('#' wall, 'm' mine, 'c' charger,
'a' altar, '%' built block, each converter's own char, '1'-'9' marker colours) with agents
drawn as arrows of their facing ('^>v<'), '*' when frozen, so a rendered frame with its
agents reads back as a map.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from world import layout as L
from world.env import World

_CELL_CHARS = {
    L.EMPTY: ".",
    L.WALL: "#",
    L.MINE: "m",
    L.CHARGER: "c",
    L.ALTAR: "a",
    L.BLOCK: "%",
}
_ARROWS = "^>v<"

_COLORS = {
    L.EMPTY: (24, 24, 32),
    L.WALL: (110, 110, 120),
    L.MINE: (60, 160, 220),
    L.CHARGER: (240, 200, 40),
    L.ALTAR: (220, 60, 90),
    L.BLOCK: (150, 100, 60),
}
_CONVERTER_COLOR = (80, 220, 120)
_MARKER_COLORS = np.array(
    [(200, 80, 200), (80, 200, 120), (240, 140, 40), (120, 120, 255), (255, 255, 255)] * 2,
    np.uint8,
)
# Agents are coloured by kin group: agents whose kinship is 1 share a colour.
_AGENT_COLORS = np.array(
    [
        (255, 255, 255),
        (255, 120, 120),
        (120, 255, 120),
        (120, 160, 255),
        (255, 220, 120),
        (220, 120, 255),
        (120, 255, 255),
        (255, 170, 60),
    ],
    np.uint8,
)


def to_ascii(world: World, b: int = 0, agents: bool = True) -> str:
    """The env's grid as text, one char per cell, rows joined by newlines."""
    s = world.state
    grid = s.grid[b]
    legend = dict(_CELL_CHARS)
    for k, conv in enumerate(world.config.converters):
        legend[L.CONVERTER0 + k] = conv.char
    chars = np.vectorize(legend.get)(grid).astype("<U1")
    mk = s.marker[b]
    chars[mk >= 0] = (mk[mk >= 0] + 1).astype(str)
    if agents:
        for i in range(world.n_agents):
            y, x = s.ay[b, i], s.ax[b, i]
            chars[y, x] = "*" if s.frozen[b, i] > 0 else _ARROWS[s.facing[b, i]]
    return "\n".join("".join(row) for row in chars)


def status_lines(world: World, b: int = 0) -> list[str]:
    """One line per agent: energy, diamonds, hearts, shield, frozen, signal."""
    s = world.state
    out = []
    for i in range(world.n_agents):
        out.append(
            f"agent {i:2d} @({s.ay[b, i]:2d},{s.ax[b, i]:2d}) energy {s.energy[b, i]:3d} "
            f"diamonds {s.diamonds[b, i]:2d} hearts {s.hearts[b, i]:2d} "
            f"shield {'up' if s.shield[b, i] else '--'} frozen {s.frozen[b, i]:2d} "
            f"signal {s.signal[b, i]}"
        )
    return out


def kin_groups(kinship: np.ndarray) -> np.ndarray:
    """int[N] group id per agent: agents with kinship >= 0.999 to an earlier agent join it."""
    N = kinship.shape[0]
    group = np.arange(N)
    for i in range(N):
        for j in range(i):
            if kinship[i, j] >= 0.999:
                group[i] = group[j]
                break
    _, ids = np.unique(group, return_inverse=True)
    return ids


def rgb_frame(world: World, b: int = 0, cell: int = 8) -> np.ndarray:
    """uint8[H * cell, W * cell, 3] picture of env b. Mines dim as they empty, cooling chargers
    and altars dim, agents are coloured by kin group with a dark notch on their facing side;
    shields draw a cyan rim, frozen agents are grey."""
    s = world.state
    p = world.params
    grid = s.grid[b]
    H, W = grid.shape
    img = np.zeros((H, W, 3), np.uint8)
    for kind, color in _COLORS.items():
        img[grid == kind] = color
    img[grid >= L.CONVERTER0] = _CONVERTER_COLOR
    mines = grid == L.MINE
    scale = 0.4 + 0.6 * s.mine_count[b] / max(1, p.mine_max)
    img[mines] = (img[mines] * scale[mines, None]).astype(np.uint8)
    cooling = ((grid == L.CHARGER) | (grid == L.ALTAR) | (grid >= L.CONVERTER0)) & (s.timer[b] > 0)
    img[cooling] //= 2
    marked = s.marker[b] >= 0
    img[marked] = _MARKER_COLORS[s.marker[b][marked]] // 2
    big = np.repeat(np.repeat(img, cell, axis=0), cell, axis=1)
    groups = kin_groups(s.kinship[b])
    inset = max(1, cell // 8)
    for i in range(world.n_agents):
        y0, x0 = int(s.ay[b, i]) * cell, int(s.ax[b, i]) * cell
        color = (140, 140, 140) if s.frozen[b, i] > 0 else _AGENT_COLORS[groups[i] % 8]
        if s.shield[b, i]:
            big[y0 : y0 + cell, x0 : x0 + cell] = (0, 230, 230)
        big[y0 + inset : y0 + cell - inset, x0 + inset : x0 + cell - inset] = color
        f = s.facing[b, i]
        cy, cx = y0 + cell // 2, x0 + cell // 2
        ny, nx = cy + L.DY[f] * (cell // 2 - inset - 1), cx + L.DX[f] * (cell // 2 - inset - 1)
        big[max(ny - 1, y0) : ny + 1, max(nx - 1, x0) : nx + 1] = (0, 0, 0)
    return big


def save_gif(frames: Iterable[np.ndarray], path: str | Path, fps: int = 10) -> Path:
    """Write RGB frames (uint8[H, W, 3]) as an animated GIF."""
    import imageio.v3 as iio

    frames = list(frames)
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.stack(frames), duration=1000 / fps, loop=0)
    return path


def record_episode(world: World, policy, steps: int, b: int = 0, cell: int = 8) -> list[np.ndarray]:
    """Step `world` with `policy(world) -> actions[B, N]` and keep env b's frames."""
    frames = [rgb_frame(world, b, cell)]
    for _ in range(steps):
        world.step(policy(world))
        frames.append(rgb_frame(world, b, cell))
    return frames
