"""Resources and converters: recipes written in the config turn inputs into outputs exactly.
Scene costs as in test_rules.py (use 1, no metabolism); start energy 60."""

import numpy as np
import pytest
from scenes import act, agent, count, scene

from world import ConfigError, World, WorldConfig
from world.config import world_config_from_dict
from world.layout import CONVERTER0, N_CHANNELS, N_SELF
from world.maps import reachable_objects

RESOURCES = [
    {"name": "ore", "max_inventory": 4},
    {"name": "battery", "max_inventory": 2},
    {"name": "heart", "max_inventory": 9, "reward": 1.0, "heart": True},
]
CONVERTERS = [
    {"name": "mine", "char": "o", "outputs": {"ore": 1}, "cooldown": 2},
    {
        "name": "factory",
        "char": "f",
        "inputs": {"ore": 2},
        "outputs": {"battery": 1},
        "energy_cost": 5,
    },
    {
        "name": "temple",
        "char": "t",
        "inputs": {"battery": 1},
        "outputs": {"heart": 1},
        "cooldown": 3,
    },
]
CHAIN = {"resources": RESOURCES, "converters": CONVERTERS}
ORE, BATTERY, HEART = 0, 1, 2


def _inv(w, i=0):
    return w.state.inventory[0, i].tolist()


def test_a_source_gives_its_output_then_rests_its_cooldown():
    w = scene("#####\n#.o.#\n#.^.#\n#####", **CHAIN)
    act(w, a0="use")
    assert _inv(w) == [1, 0, 0] and w.state.timer[0, 1, 2] == 1  # counted down once already
    act(w, a0="use")  # resting
    assert _inv(w) == [1, 0, 0]
    act(w, a0="use")
    assert _inv(w) == [2, 0, 0] and w.state.converter_uses[0, 0, 0] == 2


def test_ore_becomes_a_battery_becomes_a_heart_with_its_reward():
    w = scene("######\n#.f.t#\n#.^.^#\n######", **CHAIN)
    w.state.inventory[0, 0, ORE] = 3
    act(w, a0="use")
    assert _inv(w, 0) == [1, 1, 0] and agent(w, 0)["energy"] == 60 - 1 - 5
    w.state.inventory[0, 1, BATTERY] = 1
    act(w, a1="use")
    assert _inv(w, 1) == [0, 0, 1] and w.rewards[0, 1] == 1.0
    assert agent(w, 1)["hearts"] == 1 and count(w, "hearts", 1) == 1  # heart: true counts
    assert w.state.resources_used[0, 1].tolist() == [0, 1, 0]
    assert w.state.resources_made[0, 1].tolist() == [0, 0, 1]


def test_a_converter_without_the_inputs_energy_or_room_does_nothing():
    w = scene("#####\n#.f.#\n#.^.#\n#####", **CHAIN)
    w.state.inventory[0, 0, ORE] = 1  # needs 2
    act(w, a0="use")
    assert _inv(w) == [1, 0, 0] and agent(w, 0)["energy"] == 59
    w.state.inventory[0, 0] = [2, 2, 0]  # no room for a third battery
    act(w, a0="use")
    assert _inv(w) == [2, 2, 0]
    w.state.inventory[0, 0] = [2, 0, 0]
    w.state.energy[0, 0] = 5  # the use (1) leaves 4 < 5
    act(w, a0="use")
    assert _inv(w) == [2, 0, 0] and agent(w, 0)["energy"] == 4


def test_energy_gain_is_capped_at_the_agents_max_energy():
    chain = {
        "resources": [{"name": "ore"}],
        "converters": [{"name": "gen", "char": "g", "inputs": {"ore": 1}, "energy_gain": 50}],
    }
    w = scene("#####\n#.g.#\n#.^.#\n#####", max_energy=80, **chain)
    w.state.inventory[0, 0, 0] = 1
    act(w, a0="use")
    assert agent(w, 0)["energy"] == 80 and _inv(w) == [0]


def test_converters_are_seen_ready_or_resting_and_inventories_are_felt():
    w = scene("#####\n#.o.#\n#.^.#\n#####", vision_radius=1, **CHAIN)
    names = w.config.obs_channels
    assert names[N_CHANNELS:] == ("converter_mine", "converter_factory", "converter_temple")
    mine = names.index("converter_mine")
    assert w.obs[0, 0, 0, 1, mine] == 255
    act(w, a0="use")
    assert w.obs[0, 0, 0, 1, mine] == 128
    assert w.config.self_features[N_SELF:] == (
        "inventory_ore",
        "inventory_battery",
        "inventory_heart",
    )
    assert w.self_obs[0, 0, N_SELF + ORE] == pytest.approx(1 / 4)


@pytest.mark.parametrize("kind", ["scatter", "rooms", "caves", "maze"])
def test_random_maps_place_each_converter_count_times_within_reach(kind):
    cfg = WorldConfig(n_agents=4, map={"kind": kind}, resources=RESOURCES, converters=CONVERTERS)
    w = World(cfg, n_envs=4, seed=5)
    w.reset()
    for b in range(4):
        g = w.state.grid[b]
        for k in range(3):
            assert (g == CONVERTER0 + k).sum() == 1
        y, x = w.state.ay[b, 0], w.state.ax[b, 0]
        found = reachable_objects(g, y, x)
        assert all(found.values()) and "converter_2" in found


def test_without_converters_the_world_steps_exactly_as_before():
    plain = World(WorldConfig(n_agents=4), seed=3)
    rich = World(WorldConfig(n_agents=4, resources=RESOURCES[:1]), seed=3)
    rng = np.random.default_rng(0)
    plain.reset()
    rich.reset()
    for _ in range(200):
        a = rng.integers(0, plain.n_actions, (1, 4), np.int32)
        plain.step(a)
        rich.step(a)
    assert np.array_equal(plain.obs, rich.obs) and np.array_equal(plain.counters, rich.counters)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"converters": CONVERTERS}, "converters: need `resources`"),
        (
            {
                "resources": RESOURCES,
                "converters": [{"name": "x", "char": "x", "inputs": {"gold": 1}}],
            },
            "converters.0.inputs: unknown resource(s) ['gold']",
        ),
        (
            {"resources": RESOURCES, "converters": [{"name": "x", "char": "m"}]},
            "chars must be unique and not map chars, got ['m']",
        ),
        (
            {
                "resources": RESOURCES,
                "converters": [{"name": "x", "char": "x", "outputs": {"ore": 0}}],
            },
            "units must be > 0",
        ),
        ({"resources": [{"name": "energy"}]}, "not 'diamond' or 'energy'"),
    ],
)
def test_bad_recipes_are_refused_with_a_clear_message(fields, message):
    with pytest.raises(ConfigError) as err:
        world_config_from_dict(fields)
    assert message in str(err.value)
