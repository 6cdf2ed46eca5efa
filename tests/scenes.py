"""Helpers for scripted scenes: an ASCII map, named actions, and one step at a time."""

import numpy as np

from world import World, WorldConfig
from world.layout import NOOP

# Scenes fix their own economy, so that the energy arithmetic in a scene stays readable and a
# change of the world's default costs does not change what a scene means: no metabolism, and
# noop, turns, shares and signal free (signal pays through `signal_cost`). A scene that is
# about the default costs passes `action_costs` / `metabolism` itself.
SCENE_COSTS = {
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
    "signal": 0,
    "mark": 1,
}


def scene(text: str, seed: int = 0, **overrides) -> World:
    """A one-env world on an ASCII map; one agent per spawn char, numbered in reading order.
    Costs are `SCENE_COSTS` and metabolism 0 unless overridden."""
    n = sum(text.count(c) for c in "@^>v<")
    overrides = {"metabolism": 0, "action_costs": dict(SCENE_COSTS), **overrides}
    cfg = WorldConfig(n_agents=n, map={"kind": "ascii", "ascii": text}, **overrides)
    world = World(cfg, n_envs=1, seed=seed)
    world.reset()
    return world


def act(world: World, **moves: str) -> None:
    """One step: `act(w, a0="use", a1="attack")`; unnamed agents noop."""
    actions = np.full((1, world.n_agents), NOOP, np.int32)
    for key, name in moves.items():
        actions[0, int(key.removeprefix("a"))] = world.action_names.index(name)
    world.step(actions)


def agent(world: World, i: int) -> dict:
    s = world.state
    return {
        "pos": (int(s.ay[0, i]), int(s.ax[0, i])),
        "facing": int(s.facing[0, i]),
        "energy": int(s.energy[0, i]),
        "diamonds": int(s.diamonds[0, i]),
        "hearts": int(s.hearts[0, i]),
        "shield": int(s.shield[0, i]),
        "frozen": int(s.frozen[0, i]),
        "signal": int(s.signal[0, i]),
    }


def count(world: World, name: str, i: int) -> int:
    return int(world.counter(name)[0, i])
