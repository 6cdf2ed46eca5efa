"""World configuration: every rule's number is a typed field with a default.

`WorldConfig` is what `World` is built from. `load_world_config(path)` reads the `world:`
section of a YAML file through the shared loader (`kinevo.config`), which turns every problem
into one `ConfigError` whose lines name the file, the field path and the problem, e.g.
``population.yaml: world.max_energy: must be > 0, got -1``. A relative `map.ascii_file` is
taken against the YAML's folder.

The kernels read these fields under the same names (`world.state.Params`), so a new world
parameter is one field here plus the kernel lines that use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kinevo.config import ConfigError, Strict, load_section, resolve_path, validate
from kinship.sharing import MODES as SHARING_MODES

# Action names in id order. `mark_<c>` actions follow, one per marker colour.
BASE_ACTIONS = (
    "noop",
    "forward",
    "back",
    "turn_left",
    "turn_right",
    "use",
    "attack",
    "shield",
    "share_energy",
    "share_diamond",
    "mate",
    "signal",
)

# Energy per action, paid on top of the per-step `metabolism` (default 1) that every agent pays,
# so every action costs something: a step of noop costs the metabolism alone (which is also
# all that a frozen or exhausted agent pays), any other action at least one more point.
DEFAULT_ACTION_COSTS = {
    "noop": 0,
    "forward": 1,
    "back": 1,
    "turn_left": 1,
    "turn_right": 1,
    "use": 1,
    "attack": 3,
    "shield": 1,
    "share_energy": 1,  # on top of the `share_amount` given away
    "share_diamond": 1,
    "mate": 1,  # on top of `mate_cost` when a bond forms
    "signal": 1,  # on top of `signal_cost` when the signal rises
    "mark": 1,
    "posture": 1,  # each posture_<name> action (postures: enabled)
    "build": 1,  # on top of the `building.cost` resource units (building: enabled)
    "destroy": 3,
}

# Postures in the order of their ids (`posture` state, `agent_posture` channel):
# one `posture_<name>` action each when `postures.enabled`.
POSTURES = ("stand", "rest", "guard", "sprint")

# Map generators, in the order of their kernel ids (world/maps.py).
MAP_KINDS = ("scatter", "rooms", "caves", "maze", "ascii")

__all__ = [
    "BodyConfig",
    "BuildingConfig",
    "ConfigError",
    "ConverterConfig",
    "MapConfig",
    "PostureConfig",
    "ResourceConfig",
    "WorldConfig",
    "load_world_config",
]


class MapConfig(Strict):
    kind: Literal[MAP_KINDS] = Field("scatter", description="map generator")
    mines: int = Field(6, ge=0, description="number of mines")
    chargers: int = Field(3, ge=0, description="number of chargers")
    altars: int = Field(2, ge=0, description="number of heart altars")
    wall_density: float = Field(0.08, ge=0.0, lt=0.9, description="scatter: share of cells walled")
    rooms: int = Field(6, ge=1, description="rooms: number of rooms tried")
    cave_fill: float = Field(0.45, ge=0.0, lt=0.8, description="caves: initial rock share")
    cave_smoothing: int = Field(4, ge=0, description="caves: cellular-automaton passes")
    ascii: str | None = Field(None, description="ascii: inline map text, one char per cell")
    ascii_file: str | None = Field(
        None, description="ascii: path to a map file, relative to the YAML's folder"
    )
    new_map_each_episode: bool = Field(True, description="draw a fresh map at every auto-reset")

    _resolve_ascii_file = field_validator("ascii_file")(resolve_path)

    @model_validator(mode="after")
    def _ascii_source(self) -> MapConfig:
        if self.kind == "ascii" and (self.ascii is None) == (self.ascii_file is None):
            raise ValueError("kind 'ascii' needs exactly one of 'ascii' or 'ascii_file'")
        return self


class BodyConfig(Strict):
    """A body profile: the world's own number wherever a field is left out (None)."""

    name: str = Field(min_length=1, description="the profile's name")
    move_cost: int | None = Field(None, ge=0, description="energy for forward/back")
    attack_cost: int | None = Field(None, ge=0, description="energy for attack")
    attack_strength: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="multiplies `freeze_steps` and `shield_hit_drain` of the hits it lands",
    )
    max_energy: int | None = Field(None, gt=0, le=30000, description="energy cap")
    max_inventory: int | None = Field(None, ge=1, le=30000, description="diamonds it can carry")
    vision_radius: int | None = Field(
        None,
        ge=0,
        le=15,
        description="cells it sees around itself; at most the world's `vision_radius` (the "
        "window's size): cells of the window beyond it read 0 in every channel",
    )


class PostureConfig(Strict):
    """Postures an agent switches between with `posture_<name>` actions (see POSTURES)."""

    enabled: bool = Field(False, description="add the posture actions, channel and feature")
    rest_metabolism: int = Field(0, ge=0, description="rest: metabolism paid each step")
    rest_move_period: int = Field(
        2, ge=1, description="rest: moves succeed only on steps that are multiples of this"
    )
    guard_shield_upkeep: int = Field(0, ge=0, description="guard: shield upkeep per step")
    sprint_cells: int = Field(2, ge=1, le=8, description="sprint: cells per forward/back")
    sprint_cost_factor: int = Field(2, ge=1, description="sprint: forward/back cost multiplier")


class ResourceConfig(Strict):
    name: str = Field(min_length=1, description="resource name, used in recipes")
    max_inventory: int = Field(10, ge=1, le=30000, description="most an agent can carry")
    reward: float = Field(0.0, description="reward to the maker per unit a converter makes")
    heart: bool = Field(
        False,
        description="each unit made also counts as a heart made (`hearts`, the hearts counter "
        "and so fitness), as the altar's do",
    )


class ConverterConfig(Strict):
    """A converter: `use` in front of it turns `inputs` (and `energy_cost`) into `outputs`
    (and `energy_gain`), then it rests `cooldown` steps. No inputs: a source."""

    name: str = Field(min_length=1, description="converter name")
    char: str = Field(min_length=1, max_length=1, description="its char in ASCII maps")
    count: int = Field(1, ge=0, description="how many random maps place")
    inputs: dict[str, int] = Field(default_factory=dict, description="resource -> units used")
    outputs: dict[str, int] = Field(default_factory=dict, description="resource -> units made")
    energy_cost: int = Field(0, ge=0, description="energy paid per use")
    energy_gain: int = Field(0, ge=0, description="energy gained per use (capped)")
    cooldown: int = Field(0, ge=0, le=32000, description="steps it rests after a use")

    @field_validator("inputs", "outputs")
    @classmethod
    def _positive(cls, v: dict[str, int]) -> dict[str, int]:
        bad = sorted(k for k, n in v.items() if n <= 0)
        if bad:
            raise ValueError(f"units must be > 0, got <= 0 for {bad}")
        return v


class BuildingConfig(Strict):
    """`build` puts a block on the empty floor cell in front; `destroy` removes one."""

    enabled: bool = Field(False, description="add the build and destroy actions")
    block_resource: str = Field(
        "diamond", description="what a block is made of: 'diamond' or a resource name"
    )
    block_cost: int = Field(1, ge=0, description="units of `block_resource` per block")
    block_refund: int = Field(
        0, ge=0, description="units given back to the destroyer (at most `block_cost`)"
    )


class WorldConfig(Strict):
    """Every number of the world's rules. Units: steps, energy points, items."""

    n_agents: int = Field(8, ge=1, le=255, description="agents per env")
    width: int = Field(17, ge=3, le=250, description="interior width in cells (random maps)")
    height: int = Field(17, ge=3, le=250, description="interior height in cells (random maps)")
    border: int = Field(1, ge=1, le=16, description="thickness of the outer wall")
    max_steps: int = Field(500, ge=1, description="episode length; envs auto-reset after it")
    vision_radius: int = Field(5, ge=1, le=15, description="observation window is (2r+1)^2")
    map: MapConfig = Field(default_factory=MapConfig)

    start_energy: int = Field(60, ge=0, description="energy at episode start")
    max_energy: int = Field(100, gt=0, le=30000, description="energy cap")
    metabolism: int = Field(
        1,
        ge=0,
        description="energy paid by every agent every step, frozen or not, on top of its "
        "action's cost",
    )
    action_costs: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_ACTION_COSTS),
        description="energy per action on top of the metabolism; `mark` covers every colour",
    )
    max_inventory: int = Field(5, ge=1, le=30000, description="diamonds an agent can carry")

    mine_start: int = Field(1, ge=0, description="diamonds in a mine at episode start")
    mine_max: int = Field(3, ge=1, description="most diamonds a mine holds")
    mine_regen: int = Field(20, ge=1, description="steps to regrow one diamond")
    charger_energy: int = Field(25, ge=0, description="energy from one diamond")
    charger_cooldown: int = Field(5, ge=0, description="steps a charger rests after use")
    altar_cost: int = Field(30, ge=0, description="energy for one heart")
    altar_cooldown: int = Field(10, ge=0, description="steps an altar rests after use")
    heart_reward: float = Field(1.0, description="reward per heart made")

    freeze_steps: int = Field(10, ge=0, description="turns a hit agent loses")
    freeze_immunity: int = Field(
        5,
        ge=1,
        description="turns after a freeze ends during which hits neither freeze nor rob the "
        "agent, so no attacker can keep it frozen",
    )
    shield_upkeep: int = Field(1, ge=0, description="energy per step while the shield is up")
    shield_hit_drain: int = Field(
        10, ge=0, description="energy a blocked hit drains from the target"
    )
    share_amount: int = Field(10, ge=1, description="energy given by share_energy")
    share_efficiency: float = Field(
        1.0,
        ge=0.0,
        le=16.0,
        description="energy the receiver gets per unit given (rounded down): below 1 help is "
        "lossy, above 1 it is worth more to the receiver than it costs the giver (the benefit "
        "B against the cost C of Hamilton's rule)",
    )
    n_marker_colors: int = Field(3, ge=1, le=9, description="marker colours (one mark action each)")
    marker_ttl: int = Field(
        50,
        ge=1,
        le=32000,
        description="observations in which a placed marker is seen; markers drawn in an ASCII "
        "map never fade",
    )
    max_signal: int = Field(3, ge=1, le=255, description="highest signal level")
    signal_cost: int = Field(5, ge=0, description="energy to raise the signal one level")
    signal_decay: int = Field(25, ge=0, description="steps per level of decay (0 = never)")
    energy_buckets: int = Field(4, ge=1, le=255, description="energy levels others can see")

    reward_sharing: Literal[SHARING_MODES] = Field(
        "none", description="how kin reward enters the reward agents learn from (kinship.sharing)"
    )
    mate_window: int = Field(5, ge=0, description="steps within which mate choices must meet")
    mate_cost: int = Field(10, ge=0, description="energy each partner pays when a bond forms")
    mate_share: float = Field(
        0.25, ge=0.0, le=0.5, description="share of the partner's learned reward while bonded"
    )
    bond_log_size: int = Field(
        64, ge=1, description="initial room per env for bonds between reads; the log grows"
    )
    stagger_start: bool = Field(
        False,
        description="begin each env's first episode at a random step in [0, max_steps), drawn "
        "from the env's seed, so the envs of a batch do not reset together",
    )

    bodies: list[BodyConfig] = Field(
        default_factory=list, description="body profiles (empty: every agent has the world's)"
    )
    body_of_slot: list[int] = Field(
        default_factory=list,
        description="body index of each agent slot; empty: slot i has body i mod len(bodies)",
    )
    postures: PostureConfig = Field(default_factory=PostureConfig)
    resources: list[ResourceConfig] = Field(
        default_factory=list, description="resource types that converters use and make"
    )
    converters: list[ConverterConfig] = Field(
        default_factory=list, description="converter kinds (recipes), in channel order"
    )
    building: BuildingConfig = Field(default_factory=BuildingConfig)

    @model_validator(mode="after")
    def _relations(self) -> WorldConfig:
        if self.start_energy > self.max_energy:
            raise ValueError(
                f"start_energy ({self.start_energy}) must be <= max_energy ({self.max_energy})"
            )
        if self.mine_start > self.mine_max:
            raise ValueError(
                f"mine_start ({self.mine_start}) must be <= mine_max ({self.mine_max})"
            )
        unknown = sorted(set(self.action_costs) - set(DEFAULT_ACTION_COSTS))
        if unknown:
            raise ValueError(
                f"action_costs: unknown action(s) {unknown}; known: {sorted(DEFAULT_ACTION_COSTS)}"
            )
        negative = sorted(k for k, v in self.action_costs.items() if v < 0)
        if negative:
            raise ValueError(f"action_costs: costs must be >= 0, got negative for {negative}")
        self._check_bodies()
        self._check_recipes()
        return self

    def _check_bodies(self) -> None:
        n = len(self.bodies)
        if self.body_of_slot and not n:
            raise ValueError("body_of_slot: needs `bodies`")
        if self.body_of_slot and len(self.body_of_slot) != self.n_agents:
            raise ValueError(
                f"body_of_slot: needs one body index per agent ({self.n_agents}), "
                f"got {len(self.body_of_slot)}"
            )
        bad = [k for k in self.body_of_slot if not 0 <= k < n]
        if bad:
            raise ValueError(f"body_of_slot: indices must be in [0, {n}), got {bad}")
        for k, body in enumerate(self.bodies):
            if body.vision_radius is not None and body.vision_radius > self.vision_radius:
                raise ValueError(
                    f"bodies.{k}.vision_radius ({body.vision_radius}) must be <= "
                    f"vision_radius ({self.vision_radius}), the window's size"
                )
        names = [b.name for b in self.bodies]
        if len(set(names)) != len(names):
            raise ValueError(f"bodies: names must be unique, got {names}")

    def _check_recipes(self) -> None:
        names = [r.name for r in self.resources]
        if len(set(names)) != len(names) or "diamond" in names or "energy" in names:
            raise ValueError(
                f"resources: names must be unique and not 'diamond' or 'energy', got {names}"
            )
        if self.converters and not self.resources:
            raise ValueError("converters: need `resources`")
        if len(self.converters) > 16:
            raise ValueError(f"converters: at most 16 kinds, got {len(self.converters)}")
        chars = [c.char for c in self.converters]
        taken = set(".# mca%@^>v<123456789")
        clash = sorted({c for c in chars if c in taken} | {c for c in chars if chars.count(c) > 1})
        if clash:
            raise ValueError(f"converters: chars must be unique and not map chars, got {clash}")
        for k, conv in enumerate(self.converters):
            for part in ("inputs", "outputs"):
                unknown = sorted(set(getattr(conv, part)) - set(names))
                if unknown:
                    raise ValueError(
                        f"converters.{k}.{part}: unknown resource(s) {unknown}; known: {names}"
                    )
        b = self.building
        if b.block_resource != "diamond" and b.block_resource not in names:
            raise ValueError(
                f"building.block_resource: unknown resource {b.block_resource!r}; known: "
                f"{['diamond', *names]}"
            )
        if b.block_refund > b.block_cost:
            raise ValueError(
                f"building.block_refund ({b.block_refund}) must be <= block_cost ({b.block_cost})"
            )

    @property
    def extra_actions(self) -> tuple[str, ...]:
        """Actions of the optional features, after the marks (none when all are off)."""
        out = ()
        if self.postures.enabled:
            out += tuple(f"posture_{p}" for p in POSTURES)
        if self.building.enabled:
            out += ("build", "destroy")
        return out

    @property
    def action_names(self) -> tuple[str, ...]:
        marks = tuple(f"mark_{c}" for c in range(self.n_marker_colors))
        return BASE_ACTIONS + marks + self.extra_actions

    @property
    def obs_channels(self) -> tuple[str, ...]:
        """Observation channel names (layout.OBS_CHANNELS, then the optional features')."""
        from world.layout import OBS_CHANNELS  # layout imports this module

        out = OBS_CHANNELS
        if self.postures.enabled:
            out += ("agent_posture",)
        out += tuple(f"converter_{c.name}" for c in self.converters)
        if self.building.enabled:
            out += ("block",)
        return out

    @property
    def self_features(self) -> tuple[str, ...]:
        """Own-state feature names (layout.SELF_FEATURES, then the optional features')."""
        from world.layout import SELF_FEATURES

        out = SELF_FEATURES
        if self.postures.enabled:
            out += ("posture",)
        out += tuple(f"inventory_{r.name}" for r in self.resources)
        return out

    @property
    def n_actions(self) -> int:
        return len(self.action_names)

    def body_index(self, slot: int) -> int:
        """Body profile of agent slot `slot` (-1: no bodies, the world's numbers)."""
        if not self.bodies:
            return -1
        return self.body_of_slot[slot] if self.body_of_slot else slot % len(self.bodies)

    def slot_cost_of(self, action: str, slot: int) -> int:
        """Energy for `action` by agent slot `slot`: its body's move/attack cost if it sets one."""
        k = self.body_index(slot)
        if k >= 0:
            body = self.bodies[k]
            if action in ("forward", "back") and body.move_cost is not None:
                return body.move_cost
            if action == "attack" and body.attack_cost is not None:
                return body.attack_cost
        return self.cost_of(action)

    def cost_of(self, action: str) -> int:
        key = "mark" if action.startswith("mark_") else action
        key = "posture" if key.startswith("posture_") else key
        return self.action_costs.get(key, DEFAULT_ACTION_COSTS[key])


def world_config_from_dict(
    data: Any, source: str = "<config>", prefix: str = "world", base_dir: str | Path | None = None
) -> WorldConfig:
    """Validate a mapping (the YAML `world:` section) into a `WorldConfig`; relative paths in
    it are taken against `base_dir` (None: the working directory)."""
    return validate(WorldConfig, data, source, prefix, base_dir)


def load_world_config(path: str | Path) -> WorldConfig:
    """Read the `world:` section of a YAML file (defaults where it has none)."""
    return load_section(path, "world", WorldConfig)
