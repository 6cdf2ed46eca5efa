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
}

# Map generators, in the order of their kernel ids (world/maps.py).
MAP_KINDS = ("scatter", "rooms", "caves", "maze", "ascii")

__all__ = ["ConfigError", "MapConfig", "WorldConfig", "load_world_config"]


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
        return self

    @property
    def action_names(self) -> tuple[str, ...]:
        return BASE_ACTIONS + tuple(f"mark_{c}" for c in range(self.n_marker_colors))

    @property
    def n_actions(self) -> int:
        return len(self.action_names)

    def cost_of(self, action: str) -> int:
        key = "mark" if action.startswith("mark_") else action
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
