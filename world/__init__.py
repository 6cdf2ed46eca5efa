"""The kinevo grid world: batched Numba kernels for every rule, maps, rendering and adapters."""

from world.config import (
    BodyConfig,
    BuildingConfig,
    ConfigError,
    ConverterConfig,
    PostureConfig,
    ResourceConfig,
    WorldConfig,
    load_world_config,
)
from world.env import World
from world.layout import COUNTERS, OBS_CHANNELS, SELF_FEATURES

__all__ = [
    "BodyConfig",
    "BuildingConfig",
    "COUNTERS",
    "ConverterConfig",
    "PostureConfig",
    "ResourceConfig",
    "OBS_CHANNELS",
    "SELF_FEATURES",
    "ConfigError",
    "World",
    "WorldConfig",
    "load_world_config",
]
