"""The world as a struct of arrays, the kernel parameters, and their allocation.

Everything a kernel reads or writes is an array in `WorldState` (leading axis: env b) or a
scalar in `Params`; kernels hold no other state. Allocation happens once, here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, NamedTuple, get_args, get_origin

import numpy as np
from numba.core import types
from numba.experimental import structref

from world import layout as L
from world.config import ConfigError, MapConfig, WorldConfig


def _scalar_fields(model) -> list[tuple[str, type]]:
    """(name, kernel type) of a config model's scalar fields; a `Literal` of names becomes the
    int index of its value."""
    out = []
    for name, f in model.model_fields.items():
        t = f.annotation
        if get_origin(t) is Literal:
            out.append((name, int))
        elif t in (int, float, bool):
            out.append((name, t))
    return out


# Full grid size including the border: WorldConfig's width/height are the interior's.
_DERIVED = [("grid_height", int), ("grid_width", int)]
_FIELDS = _scalar_fields(WorldConfig) + _scalar_fields(MapConfig) + _DERIVED

# Scalars the kernels read: every scalar field of `WorldConfig` and its `map` section under its
# own name (`P.vision_radius`, `P.mines`, `P.kind` as an index into MAP_KINDS, ...), plus the
# full grid size. Built from the config models, so a new scalar field reaches the kernels.
Params = NamedTuple("Params", _FIELDS)


class WorldState(NamedTuple):
    """All arrays of B envs. Shapes: B envs, N agents, H x W grid, V = 2r+1, C channels."""

    # grid layers [B, H, W]
    grid: np.ndarray  # int8 cell type (layout.EMPTY .. ALTAR)
    mine_count: np.ndarray  # int16 diamonds held by a mine
    timer: np.ndarray  # int16 mine regrowth progress, or charger/altar cooldown left
    marker: np.ndarray  # int8 marker colour, -1 where none
    marker_ttl: np.ndarray  # int16 observations left before a placed marker fades; 0: never
    agent_at: np.ndarray  # int16 agent index on the cell, -1 where none
    # agents [B, N]
    ay: np.ndarray  # int16 row
    ax: np.ndarray  # int16 column
    facing: np.ndarray  # int8 0 N, 1 E, 2 S, 3 W
    energy: np.ndarray  # int32
    diamonds: np.ndarray  # int16
    hearts: np.ndarray  # int32 hearts made this episode
    shield: np.ndarray  # int8 1 when up
    frozen: np.ndarray  # int16 turns left frozen
    immune: np.ndarray  # int16 own turns left during which hits cannot freeze the agent
    signal: np.ndarray  # int16 visible signal level
    signal_timer: np.ndarray  # int16 steps since the last decay
    bond: np.ndarray  # int16 mate partner index, -1 none (bonding comes with kinship)
    mate_target: np.ndarray  # int16 whom the agent last chose to mate with, -1 none
    mate_step: np.ndarray  # int32 step of that choice
    # per env [B]
    step: np.ndarray  # int32 steps into the episode
    episode: np.ndarray  # int32 episodes started since reset
    rng: np.ndarray  # uint64 SplitMix64 state
    # given: kinship among each env's agents [B, N, N], K_ii = 1, and per-agent genes [B, N]
    kinship: np.ndarray  # float32
    kin_weight: np.ndarray  # float32 how much kin reward counts (kinship.sharing)
    choosiness: np.ndarray  # float32 lowest partner signal accepted as a mate
    # map templates [B, H, W]: ASCII maps, or the first map when maps are kept
    tmpl_grid: np.ndarray  # int8
    tmpl_marker: np.ndarray  # int8
    spawns: np.ndarray  # int16 [S, 3] (row, col, facing) from ASCII maps
    # outputs, filled in place by every step
    obs: np.ndarray  # uint8 [B, N, V, V, C]
    self_obs: np.ndarray  # float32 [B, N, len(SELF_FEATURES)]
    rewards: np.ndarray  # float32 [B, N] own reward (hearts made x heart_reward)
    learned_rewards: np.ndarray  # float32 [B, N] after kin sharing and mate shares
    dones: np.ndarray  # uint8 [B] 1 where the episode ended this step (env was reset)
    counters: np.ndarray  # int32 [B, N, len(COUNTERS)]
    energy_given: np.ndarray  # int32 [B, N, N] energy agent i gave agent j, since reset()
    diamonds_given: np.ndarray  # int32 [B, N, N] diamonds agent i gave agent j, since reset()
    bond_log: np.ndarray  # int32 [B, room, 4] (episode, step, i, j) of each new bond; `World`
    # grows it whenever an env has less than N rows of room left, so no bond is dropped
    bond_log_len: np.ndarray  # int32 [B] bonds logged since the last read
    # scratch, reused every step
    order: np.ndarray  # int16 [B, N] acting order
    acted: np.ndarray  # int16 [B, N] action actually carried out this step
    features: np.ndarray  # uint8 [B, H + 2r, W + 2r, C] padded feature planes
    queue: np.ndarray  # int32 [B, H * W] breadth-first search queue
    seen: np.ndarray  # int32 [B, H * W] breadth-first search stamps
    cells: np.ndarray  # int32 [B, H * W] candidate cells for object placement


# The kernels receive the state and the parameters as two numba StructRefs holding the same
# arrays and scalars as the NamedTuples above: Numba types a StructRef in one look-up, where a
# tuple of ~40 fields costs microseconds per call, a large share of one env step.
@structref.register
class _StateRefType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


@structref.register
class _ParamsRefType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


class StateRef(structref.StructRefProxy):
    """Kernel-side view of a `WorldState` (same arrays)."""


class ParamsRef(structref.StructRefProxy):
    """Kernel-side view of `Params`."""


structref.define_proxy(StateRef, _StateRefType, list(WorldState._fields))
structref.define_proxy(ParamsRef, _ParamsRefType, list(Params._fields))


def state_ref(state: WorldState) -> StateRef:
    return StateRef(*state)


def params_ref(params: Params) -> ParamsRef:
    return ParamsRef(*params)


def params_from_config(cfg: WorldConfig, grid_height: int, grid_width: int) -> Params:
    values = {"grid_height": grid_height, "grid_width": grid_width}
    for model in (cfg, cfg.map):
        for name, f in type(model).model_fields.items():
            value = getattr(model, name)
            if get_origin(f.annotation) is Literal:
                value = get_args(f.annotation).index(value)
            values[name] = value
    return Params(*(kind(values[name]) for name, kind in _FIELDS))


def action_costs(cfg: WorldConfig) -> np.ndarray:
    """int32[n_actions] energy cost of each action id."""
    return np.array([cfg.cost_of(a) for a in cfg.action_names], dtype=np.int32)


# ASCII legend: one char per cell. Agents spawn at '@' (facing north) or at an arrow.
ASCII_CELLS = {".": L.EMPTY, " ": L.EMPTY, "#": L.WALL, "m": L.MINE, "c": L.CHARGER, "a": L.ALTAR}
ASCII_SPAWNS = {"@": L.NORTH, "^": L.NORTH, ">": L.EAST, "v": L.SOUTH, "<": L.WEST}
ASCII_MARKERS = {str(d): d - 1 for d in range(1, 10)}  # marker of colour d-1
MAX_ASCII_SIDE = 252  # random maps: 250 cells of interior and a border
MAX_ASCII_BYTES = 1 << 20


def parse_ascii(text: str, source: str = "<ascii map>", n_marker_colors: int = 9):
    """Parse an ASCII map into (grid int8[H, W], marker int8[H, W], spawns int16[S, 3]).

    Rows may differ in length only by trailing spaces; every edge cell must be a wall so
    that no agent can leave the map.
    """
    lines = [ln.rstrip("\n") for ln in text.strip("\n").splitlines()]
    lines = [ln for ln in lines if not ln.startswith(";")]  # ';' starts a comment line
    if not lines:
        raise ConfigError([f"{source}: map: empty map"])
    width = max(len(ln) for ln in lines)
    height = len(lines)
    if max(height, width) > MAX_ASCII_SIDE:
        raise ConfigError(
            [f"{source}: map: {height}x{width} cells; at most {MAX_ASCII_SIDE} per side"]
        )
    grid = np.zeros((height, width), np.int8)
    marker = np.full((height, width), -1, np.int8)
    spawns = []
    problems = []
    for y, line in enumerate(lines):
        for x, ch in enumerate(line.ljust(width)):
            if ch in ASCII_CELLS:
                grid[y, x] = ASCII_CELLS[ch]
            elif ch in ASCII_SPAWNS:
                spawns.append((y, x, ASCII_SPAWNS[ch]))
            elif ch in ASCII_MARKERS and ASCII_MARKERS[ch] < n_marker_colors:
                marker[y, x] = ASCII_MARKERS[ch]
            else:
                problems.append(f"{source}: map: line {y + 1} column {x + 1}: unknown char {ch!r}")
    edge = np.ones_like(grid, dtype=bool)
    edge[1:-1, 1:-1] = False
    if height < 3 or width < 3:
        problems.append(f"{source}: map: must be at least 3x3, got {height}x{width}")
    else:
        bad = np.argwhere(edge & (grid != L.WALL))
        if len(bad):
            y, x = bad[0]
            problems.append(
                f"{source}: map: edge cells must be walls '#', line {y + 1} column {x + 1} is not"
            )
    if problems:
        raise ConfigError(problems[:10])
    return grid, marker, np.array(spawns, np.int16).reshape(-1, 3)


def check_reachable(grid: np.ndarray, spawns: np.ndarray, n_agents: int, source: str) -> None:
    """Refuse an ASCII map with an object no agent can use: one with no floor beside it, or,
    when every agent starts on a drawn spawn, one beside no floor those spawns reach."""
    H, W = grid.shape
    floor = grid == L.EMPTY
    if n_agents <= len(spawns):
        reached = np.zeros_like(floor)
        stack = [(int(y), int(x)) for y, x, _ in spawns[:n_agents]]
        for y, x in stack:
            reached[y, x] = True
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < H and 0 <= nx < W and floor[ny, nx] and not reached[ny, nx]:
                    reached[ny, nx] = True
                    stack.append((ny, nx))
        usable, where = reached, "floor the agents' spawns reach"
    else:  # agents beyond the spawns start anywhere on the floor
        usable, where = floor, "floor"
    beside = np.zeros_like(floor)
    beside[1:, :] |= usable[:-1, :]
    beside[:-1, :] |= usable[1:, :]
    beside[:, 1:] |= usable[:, :-1]
    beside[:, :-1] |= usable[:, 1:]
    names = {L.MINE: "mine", L.CHARGER: "charger", L.ALTAR: "altar"}
    problems = [
        f"{source}: map: line {y + 1} column {x + 1}: the {names[int(grid[y, x])]} has no "
        f"{where} beside it; no agent could use it"
        for y, x in np.argwhere(np.isin(grid, list(names)) & ~beside)
    ]
    if problems:
        raise ConfigError(problems[:10])


def ascii_text(cfg: WorldConfig) -> tuple[str, str]:
    """The ASCII map text of an `ascii` config and where it came from."""
    if cfg.map.ascii is not None:
        return cfg.map.ascii, "world.map.ascii"
    path = Path(cfg.map.ascii_file)
    try:
        if path.stat().st_size > MAX_ASCII_BYTES:
            raise ConfigError(
                [f"{path}: world.map.ascii_file: over {MAX_ASCII_BYTES} bytes; not a map"]
            )
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as err:
        raise ConfigError([f"{path}: world.map.ascii_file: cannot read: {err.strerror}"]) from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            [f"{path}: world.map.ascii_file: not UTF-8 text (byte {err.start})"]
        ) from None


def allocate(cfg: WorldConfig, n_envs: int) -> tuple[WorldState, Params]:
    """Allocate every array for `n_envs` envs once; kernels only fill them."""
    B, N, r = n_envs, cfg.n_agents, cfg.vision_radius
    spawns = np.zeros((0, 3), np.int16)
    if cfg.map.kind == "ascii":
        text, source = ascii_text(cfg)
        g, mk, spawns = parse_ascii(text, source, cfg.n_marker_colors)
        H, W = g.shape
        free = int((g == L.EMPTY).sum())
        if free < N:
            raise ConfigError([f"{source}: map: {free} free cells for {N} agents"])
        check_reachable(g, spawns, N, source)
    else:
        H, W = cfg.height + 2 * cfg.border, cfg.width + 2 * cfg.border
        need = cfg.n_agents + cfg.map.mines + cfg.map.chargers + cfg.map.altars
        if need > cfg.height * cfg.width // 2:
            raise ConfigError(
                [
                    f"world: {need} agents and objects do not fit a {cfg.height}x{cfg.width} "
                    "interior (at most half its cells)"
                ]
            )
    V = 2 * r + 1
    C = L.N_CHANNELS

    def z(shape, dtype, fill=0):
        return np.full(shape, fill, dtype)

    state = WorldState(
        grid=z((B, H, W), np.int8),
        mine_count=z((B, H, W), np.int16),
        timer=z((B, H, W), np.int16),
        marker=z((B, H, W), np.int8, -1),
        marker_ttl=z((B, H, W), np.int16),
        agent_at=z((B, H, W), np.int16, -1),
        ay=z((B, N), np.int16),
        ax=z((B, N), np.int16),
        facing=z((B, N), np.int8),
        energy=z((B, N), np.int32),
        diamonds=z((B, N), np.int16),
        hearts=z((B, N), np.int32),
        shield=z((B, N), np.int8),
        frozen=z((B, N), np.int16),
        immune=z((B, N), np.int16),
        signal=z((B, N), np.int16),
        signal_timer=z((B, N), np.int16),
        bond=z((B, N), np.int16, -1),
        mate_target=z((B, N), np.int16, -1),
        mate_step=z((B, N), np.int32, -1),
        step=z(B, np.int32),
        episode=z(B, np.int32),
        rng=z(B, np.uint64),
        kinship=np.broadcast_to(np.eye(N, dtype=np.float32), (B, N, N)).copy(),
        kin_weight=z((B, N), np.float32),
        choosiness=z((B, N), np.float32),
        tmpl_grid=z((B, H, W), np.int8),
        tmpl_marker=z((B, H, W), np.int8, -1),
        spawns=spawns,
        obs=z((B, N, V, V, C), np.uint8),
        self_obs=z((B, N, L.N_SELF), np.float32),
        rewards=z((B, N), np.float32),
        learned_rewards=z((B, N), np.float32),
        dones=z(B, np.uint8),
        counters=z((B, N, L.N_COUNTERS), np.int32),
        energy_given=z((B, N, N), np.int32),
        diamonds_given=z((B, N, N), np.int32),
        bond_log=z((B, max(cfg.bond_log_size, N), 4), np.int32),
        bond_log_len=z(B, np.int32),
        order=z((B, N), np.int16),
        acted=z((B, N), np.int16),
        features=z((B, H + 2 * r, W + 2 * r, C), np.uint8),
        queue=z((B, H * W), np.int32),
        seen=z((B, H * W), np.int32),
        cells=z((B, H * W), np.int32),
    )
    if cfg.map.kind == "ascii":
        state.tmpl_grid[:] = g
        state.tmpl_marker[:] = mk
    return state, params_from_config(cfg, H, W)
