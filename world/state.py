"""The world as a struct of arrays, the kernel parameters, and their allocation.

Everything a kernel reads or writes is an array in `WorldState` (leading axis: env b) or a
scalar in `Params`; kernels hold no other state. Allocation happens once, here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, NamedTuple, get_args, get_origin

import numpy as np
from numba import njit
from numba.core import types
from numba.experimental import structref

from world import layout as L
from world.config import BuildingConfig, ConfigError, MapConfig, PostureConfig, WorldConfig


def _scalar_fields(model) -> list[tuple[str, type]]:
    """(name, kernel type) of a config model's scalar fields; a `Literal` of names becomes the
    int index of its value."""
    out = []
    for name, f in model.model_fields.items():
        t = f.annotation
        if name == "enabled":  # sub-sections' switches: the derived `<section>_on` flags
            continue
        if get_origin(t) is Literal:
            out.append((name, int))
        elif t in (int, float, bool):
            out.append((name, t))
    return out


# Full grid size including the border (WorldConfig's width/height are the interior's), and
# the sizes and ids of the optional features (`derived`).
_DERIVED = [
    ("grid_height", int),
    ("grid_width", int),
    ("n_channels", int),  # observation channels
    ("n_self", int),  # own-state features
    ("max_freeze", int),  # longest freeze any body's hit inflicts
    ("n_resources", int),
    ("n_converters", int),
    ("postures_on", bool),
    ("building_on", bool),
    ("ch_posture", int),  # channel ids, -1 when the feature is off
    ("ch_converter0", int),
    ("ch_block", int),
    ("self_posture", int),  # own-state feature ids, -1 when off
    ("self_inventory0", int),
    ("act_posture0", int),  # action ids, -1 when off
    ("act_build", int),
    ("act_destroy", int),
    ("block_resource_index", int),  # -1: diamonds, else a resource index
]
_SECTIONS = (MapConfig, PostureConfig, BuildingConfig)
_FIELDS = sum((_scalar_fields(m) for m in (WorldConfig, *_SECTIONS)), []) + _DERIVED

# Scalars the kernels read: every scalar field of `WorldConfig` and its `map`, `postures` and
# `building` sections under its own name (`P.vision_radius`, `P.mines`, `P.kind` as an index
# into MAP_KINDS, ...), plus the derived ones (`_DERIVED`). Built from the config models, so a
# new scalar field reaches the kernels.
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
    # bodies [B, N]: each agent's profile (the world's numbers when `bodies` is empty)
    body: np.ndarray  # int8 index into WorldConfig.bodies, -1 none
    body_max_energy: np.ndarray  # int32
    body_max_inventory: np.ndarray  # int16 diamonds it can carry
    body_vision: np.ndarray  # int16 radius it sees (<= vision_radius)
    body_freeze: np.ndarray  # int16 turns its hits freeze
    body_drain: np.ndarray  # int32 energy its hits drain from a shield
    posture: np.ndarray  # int8 [B, N] id in config.POSTURES (0 stand when postures are off)
    # resources [B, N, R] and converter uses [B, N, K]
    inventory: np.ndarray  # int16 units carried per resource
    resources_made: np.ndarray  # int32 units converters made for the agent, since reset()
    resources_used: np.ndarray  # int32 units it spent at converters
    converter_uses: np.ndarray  # int32 uses per converter kind, since reset()
    blocks_built: np.ndarray  # int32 [B, N] since reset()
    blocks_destroyed: np.ndarray  # int32 [B, N] since reset()
    block_refunds: np.ndarray  # int32 [B, N] building units given back by destroyed blocks
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
    # recipe tables (no env axis): K converter kinds, R resources
    recipe_inputs: np.ndarray  # int16 [K, R]
    recipe_outputs: np.ndarray  # int16 [K, R]
    recipe_energy_cost: np.ndarray  # int32 [K]
    recipe_energy_gain: np.ndarray  # int32 [K]
    recipe_cooldown: np.ndarray  # int16 [K]
    converter_count: np.ndarray  # int32 [K] placed on random maps
    resource_max: np.ndarray  # int16 [R] most an agent carries
    resource_reward: np.ndarray  # float32 [R] reward per unit made
    resource_heart: np.ndarray  # uint8 [R] 1 where a unit made counts as a heart
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


# Fields without the env axis (shared by every env).
SHARED_FIELDS = frozenset(
    (
        "spawns",
        "recipe_inputs",
        "recipe_outputs",
        "recipe_energy_cost",
        "recipe_energy_gain",
        "recipe_cooldown",
        "converter_count",
        "resource_max",
        "resource_reward",
        "resource_heart",
    )
)


# Numba compiles a StructRefProxy's own constructor in every process, uncached: about 1.3 s for
# each of these two refs. These constructors are cached like the kernels.
@njit(cache=True)
def state_ref(state: WorldState) -> StateRef:
    return StateRef(*state)


@njit(cache=True)
def params_ref(params: Params) -> ParamsRef:
    return ParamsRef(*params)


def body_freeze(cfg: WorldConfig, k: int) -> int:
    """Turns a hit by body k freezes its target (k = -1: no body)."""
    strength = cfg.bodies[k].attack_strength if k >= 0 else 1.0
    return min(32000, round(cfg.freeze_steps * strength))


def derived(cfg: WorldConfig) -> dict:
    """The derived kernel parameters of `cfg` except the grid size (see `_DERIVED`)."""
    channels, feats, actions = cfg.obs_channels, cfg.self_features, cfg.action_names

    def idx(names, name):
        return names.index(name) if name in names else -1

    conv0 = cfg.obs_channels.index(f"converter_{cfg.converters[0].name}") if cfg.converters else -1
    inv0 = feats.index(f"inventory_{cfg.resources[0].name}") if cfg.resources else -1
    res_names = [r.name for r in cfg.resources]
    return {
        "n_channels": len(channels),
        "n_self": len(feats),
        "max_freeze": max(body_freeze(cfg, cfg.body_index(i)) for i in range(cfg.n_agents)),
        "n_resources": len(cfg.resources),
        "n_converters": len(cfg.converters),
        "postures_on": cfg.postures.enabled,
        "building_on": cfg.building.enabled,
        "ch_posture": idx(channels, "agent_posture"),
        "ch_converter0": conv0,
        "ch_block": idx(channels, "block"),
        "self_posture": idx(feats, "posture"),
        "self_inventory0": inv0,
        "act_posture0": idx(actions, "posture_stand"),
        "act_build": idx(actions, "build"),
        "act_destroy": idx(actions, "destroy"),
        "block_resource_index": res_names.index(cfg.building.block_resource)
        if cfg.building.block_resource in res_names
        else -1,
    }


def params_from_config(cfg: WorldConfig, grid_height: int, grid_width: int) -> Params:
    values = {"grid_height": grid_height, "grid_width": grid_width, **derived(cfg)}
    for model in (cfg, cfg.map, cfg.postures, cfg.building):
        for name, f in type(model).model_fields.items():
            if name == "enabled":
                continue
            value = getattr(model, name)
            if get_origin(f.annotation) is Literal:
                value = get_args(f.annotation).index(value)
            values[name] = value
    return Params(*(kind(values[name]) for name, kind in _FIELDS))


def action_costs(cfg: WorldConfig) -> np.ndarray:
    """int32[N, n_actions] energy cost of each action id for each agent slot (its body's)."""
    return np.array(
        [[cfg.slot_cost_of(a, i) for a in cfg.action_names] for i in range(cfg.n_agents)],
        dtype=np.int32,
    )


# ASCII legend: one char per cell. Agents spawn at '@' (facing north) or at an arrow.
ASCII_CELLS = {
    ".": L.EMPTY,
    " ": L.EMPTY,
    "#": L.WALL,
    "m": L.MINE,
    "c": L.CHARGER,
    "a": L.ALTAR,
    "%": L.BLOCK,  # a built block (`destroy` removes it)
}
ASCII_SPAWNS = {"@": L.NORTH, "^": L.NORTH, ">": L.EAST, "v": L.SOUTH, "<": L.WEST}
ASCII_MARKERS = {str(d): d - 1 for d in range(1, 10)}  # marker of colour d-1
MAX_ASCII_SIDE = 252  # random maps: 250 cells of interior and a border
MAX_ASCII_BYTES = 1 << 20


def parse_ascii(
    text: str, source: str = "<ascii map>", n_marker_colors: int = 9, converter_chars: str = ""
):
    """Parse an ASCII map into (grid int8[H, W], marker int8[H, W], spawns int16[S, 3]).

    Rows may differ in length only by trailing spaces; every edge cell must be a wall so
    that no agent can leave the map. `converter_chars[k]` draws converter kind k.
    """
    cells = {**ASCII_CELLS, **{c: L.CONVERTER0 + k for k, c in enumerate(converter_chars)}}
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
            if ch in cells:
                grid[y, x] = cells[ch]
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
        chars = "".join(c.char for c in cfg.converters)
        g, mk, spawns = parse_ascii(text, source, cfg.n_marker_colors, chars)
        H, W = g.shape
        free = int((g == L.EMPTY).sum())
        if free < N:
            raise ConfigError([f"{source}: map: {free} free cells for {N} agents"])
        check_reachable(g, spawns, N, source)
    else:
        H, W = cfg.height + 2 * cfg.border, cfg.width + 2 * cfg.border
        need = cfg.n_agents + cfg.map.mines + cfg.map.chargers + cfg.map.altars
        need += sum(c.count for c in cfg.converters)
        if need > cfg.height * cfg.width // 2:
            raise ConfigError(
                [
                    f"world: {need} agents and objects do not fit a {cfg.height}x{cfg.width} "
                    "interior (at most half its cells)"
                ]
            )
    V = 2 * r + 1
    C = len(cfg.obs_channels)
    R, K = len(cfg.resources), len(cfg.converters)
    res_names = [x.name for x in cfg.resources]
    recipe_inputs = np.zeros((K, R), np.int16)
    recipe_outputs = np.zeros((K, R), np.int16)
    for k, conv in enumerate(cfg.converters):
        for name, units in conv.inputs.items():
            recipe_inputs[k, res_names.index(name)] = units
        for name, units in conv.outputs.items():
            recipe_outputs[k, res_names.index(name)] = units
    bodies = [cfg.body_index(i) for i in range(N)]

    def per_slot(field, world_value, dtype):
        """[B, N] of each slot's body value, the world's where the body leaves it out."""
        row = []
        for k in bodies:
            v = getattr(cfg.bodies[k], field) if k >= 0 else None
            row.append(world_value if v is None else v)
        return np.broadcast_to(np.array(row, dtype), (B, N)).copy()

    strength = [cfg.bodies[k].attack_strength if k >= 0 else 1.0 for k in bodies]

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
        body=_body_rows(bodies, B),
        body_max_energy=per_slot("max_energy", cfg.max_energy, np.int32),
        body_max_inventory=per_slot("max_inventory", cfg.max_inventory, np.int16),
        body_vision=per_slot("vision_radius", cfg.vision_radius, np.int16),
        body_freeze=np.broadcast_to(
            np.array([body_freeze(cfg, k) for k in bodies], np.int16), (B, N)
        ).copy(),
        body_drain=np.broadcast_to(
            np.array([min(10**9, round(cfg.shield_hit_drain * s)) for s in strength], np.int32),
            (B, N),
        ).copy(),
        posture=z((B, N), np.int8),
        inventory=z((B, N, R), np.int16),
        resources_made=z((B, N, R), np.int32),
        resources_used=z((B, N, R), np.int32),
        converter_uses=z((B, N, K), np.int32),
        blocks_built=z((B, N), np.int32),
        blocks_destroyed=z((B, N), np.int32),
        block_refunds=z((B, N), np.int32),
        step=z(B, np.int32),
        episode=z(B, np.int32),
        rng=z(B, np.uint64),
        kinship=np.broadcast_to(np.eye(N, dtype=np.float32), (B, N, N)).copy(),
        kin_weight=z((B, N), np.float32),
        choosiness=z((B, N), np.float32),
        tmpl_grid=z((B, H, W), np.int8),
        tmpl_marker=z((B, H, W), np.int8, -1),
        spawns=spawns,
        recipe_inputs=recipe_inputs,
        recipe_outputs=recipe_outputs,
        recipe_energy_cost=np.array([c.energy_cost for c in cfg.converters], np.int32),
        recipe_energy_gain=np.array([c.energy_gain for c in cfg.converters], np.int32),
        recipe_cooldown=np.array([c.cooldown for c in cfg.converters], np.int16),
        converter_count=np.array([c.count for c in cfg.converters], np.int32),
        resource_max=np.array([x.max_inventory for x in cfg.resources], np.int16),
        resource_reward=np.array([x.reward for x in cfg.resources], np.float32),
        resource_heart=np.array([x.heart for x in cfg.resources], np.uint8),
        obs=z((B, N, V, V, C), np.uint8),
        self_obs=z((B, N, len(cfg.self_features)), np.float32),
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


def _body_rows(bodies: list[int], n_envs: int) -> np.ndarray:
    return np.broadcast_to(np.array(bodies, np.int8), (n_envs, len(bodies))).copy()
