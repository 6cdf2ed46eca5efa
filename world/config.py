"""World configuration: every rule's number is a typed field with a default.

`WorldConfig` is what `World` is built from. `load_world_config(path)` reads the `world:`
section of a YAML file (with `yaml.safe_load`) and turns every problem into one
`ConfigError` whose lines name the file, the field path and the problem, e.g.
``population.yaml: world.max_energy: must be > 0, got -1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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

DEFAULT_ACTION_COSTS = {
    "noop": 0,
    "forward": 1,
    "back": 1,
    "turn_left": 0,
    "turn_right": 0,
    "use": 1,
    "attack": 3,
    "shield": 1,
    "share_energy": 0,
    "share_diamond": 0,
    "mate": 1,
    "signal": 0,  # raising a signal is paid through `signal_cost`
    "mark": 1,
}

MapKind = Literal["scatter", "rooms", "caves", "maze", "ascii"]


class ConfigError(ValueError):
    """A configuration problem; `problems` holds one line per bad field."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class MapConfig(_Strict):
    kind: MapKind = Field("scatter", description="map generator")
    mines: int = Field(6, ge=0, description="number of mines")
    chargers: int = Field(3, ge=0, description="number of chargers")
    altars: int = Field(2, ge=0, description="number of heart altars")
    wall_density: float = Field(0.08, ge=0.0, lt=0.9, description="scatter: share of cells walled")
    rooms: int = Field(6, ge=1, description="rooms: number of rooms tried")
    cave_fill: float = Field(0.45, ge=0.0, lt=0.8, description="caves: initial rock share")
    cave_smoothing: int = Field(4, ge=0, description="caves: cellular-automaton passes")
    ascii: str | None = Field(None, description="ascii: inline map text, one char per cell")
    ascii_file: str | None = Field(None, description="ascii: path to a map file")
    new_map_each_episode: bool = Field(True, description="draw a fresh map at every auto-reset")

    @model_validator(mode="after")
    def _ascii_source(self) -> MapConfig:
        if self.kind == "ascii" and (self.ascii is None) == (self.ascii_file is None):
            raise ValueError("kind 'ascii' needs exactly one of 'ascii' or 'ascii_file'")
        return self


class WorldConfig(_Strict):
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
    metabolism: int = Field(0, ge=0, description="energy paid by every agent every step")
    action_costs: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_ACTION_COSTS),
        description="energy per action; `mark` covers every colour",
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
    shield_upkeep: int = Field(1, ge=0, description="energy per step while the shield is up")
    shield_hit_drain: int = Field(
        10, ge=0, description="energy a blocked hit drains from the target"
    )
    share_amount: int = Field(10, ge=1, description="energy given by share_energy")
    n_marker_colors: int = Field(3, ge=1, le=9, description="marker colours (one mark action each)")
    marker_ttl: int = Field(50, ge=1, description="steps before a marker fades")
    max_signal: int = Field(3, ge=1, le=255, description="highest signal level")
    signal_cost: int = Field(5, ge=0, description="energy to raise the signal one level")
    signal_decay: int = Field(25, ge=0, description="steps per level of decay (0 = never)")
    energy_buckets: int = Field(4, ge=1, le=255, description="energy levels others can see")

    reward_sharing: Literal["none", "conserving", "inclusive"] = Field(
        "none", description="how kin reward enters the reward agents learn from (kinship.sharing)"
    )
    mate_window: int = Field(5, ge=0, description="steps within which mate choices must meet")
    mate_cost: int = Field(10, ge=0, description="energy each partner pays when a bond forms")
    mate_share: float = Field(
        0.25, ge=0.0, le=0.5, description="share of the partner's learned reward while bonded"
    )
    bond_log_size: int = Field(64, ge=1, description="bonds remembered per env between reads")

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


_BOUND_WORDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_TYPE_WORDS = {
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "missing": "is required",
    "extra_forbidden": "unknown field",
}


def _problem(e: dict) -> str:
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind in _BOUND_WORDS:
        bound = next(iter(ctx.values()))
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"must be {_BOUND_WORDS[kind]} {bound}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    return e["msg"].removeprefix("Value error, ")


def format_validation_error(err: ValidationError, source: str, prefix: str) -> list[str]:
    """One line per problem: ``source: prefix.field.path: problem, got value``."""
    lines = []
    for e in err.errors():
        path = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "")
        msg = _problem(e)
        if e["type"] not in ("missing", "extra_forbidden") and "input" in e:
            if not isinstance(e["input"], dict) and e["type"] != "value_error":
                msg = f"{msg}, got {e['input']!r}"
        lines.append(f"{source}: {path}: {msg}" if path else f"{source}: {msg}")
    return lines


def validate_section(model: type[BaseModel], data: Any, source: str, prefix: str):
    """Validate one YAML section (a mapping, or None for defaults) into `model`; every problem
    becomes a line of one `ConfigError`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: {prefix}: must be a mapping, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source, prefix)) from None


def world_config_from_dict(
    data: Any, source: str = "<config>", prefix: str = "world"
) -> WorldConfig:
    """Validate a mapping (the YAML `world:` section) into a `WorldConfig`."""
    return validate_section(WorldConfig, data, source, prefix)


def read_yaml(path: str | Path) -> dict:
    """`yaml.safe_load` a file into a dict; problems become `ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError([f"{path}: cannot read: {err.strerror}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError([f"{path}: not valid YAML: {err}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: top level must be a mapping, got {type(data).__name__}"])
    return data


def load_world_config(path: str | Path) -> WorldConfig:
    """Read the `world:` section of a YAML file (defaults where it has none)."""
    cfg = world_config_from_dict(read_yaml(path).get("world"), source=str(path))
    if cfg.map.kind == "ascii" and cfg.map.ascii_file is not None:
        map_path = Path(cfg.map.ascii_file)
        if not map_path.is_absolute():
            map_path = Path(path).parent / map_path
        cfg = cfg.model_copy(
            update={"map": cfg.map.model_copy(update={"ascii_file": str(map_path)})}
        )
    return cfg
