"""Bodies: per-slot profiles (move and attack cost, attack strength, energy cap, carry,
sight). Scene costs as in test_rules.py (forward 1, attack 3, no metabolism)."""

import numpy as np
import pytest
from scenes import act, agent, scene

from world import ConfigError, World, WorldConfig
from world.encoding import channel_max

BODIES = [
    {"name": "heavy", "move_cost": 3, "attack_cost": 1, "attack_strength": 2.0},
    {"name": "light", "move_cost": 0, "max_energy": 70, "max_inventory": 1, "vision_radius": 1},
]
TWO = """
######
#.^^.#
#....#
######
"""


def test_each_slot_pays_its_bodys_move_cost():
    w = scene(TWO, bodies=BODIES, body_of_slot=[0, 1])
    act(w, a0="back", a1="back")
    assert agent(w, 0)["pos"] == (2, 2) and agent(w, 0)["energy"] == 57
    assert agent(w, 1)["pos"] == (2, 3) and agent(w, 1)["energy"] == 60


def test_slots_take_bodies_in_turn_when_body_of_slot_is_empty():
    cfg = WorldConfig(n_agents=5, bodies=BODIES)
    assert [cfg.body_index(i) for i in range(5)] == [0, 1, 0, 1, 0]
    w = World(cfg)
    assert w.state.body[0].tolist() == [0, 1, 0, 1, 0]
    assert w.costs[:, w.action_names.index("forward")].tolist() == [3, 0, 3, 0, 3]


def test_a_body_caps_energy_at_start_and_at_the_charger():
    w = scene("#####\n#.c.#\n#.^.#\n#####", bodies=BODIES[1:], start_energy=80, max_energy=200)
    assert agent(w, 0)["energy"] == 70
    w.state.diamonds[0, 0] = 1
    w.state.energy[0, 0] = 50
    act(w, a0="use")
    assert agent(w, 0)["energy"] == 70


def test_a_body_caps_what_it_carries():
    w = scene("#####\n#.m.#\n#.^.#\n#####", bodies=BODIES[1:], mine_start=3, mine_max=3)
    act(w, a0="use")
    act(w, a0="use")
    assert agent(w, 0)["diamonds"] == 1 and w.state.mine_count[0, 1, 2] == 2


def test_a_strong_body_freezes_longer_and_drains_more_for_its_attack_cost():
    w = scene("#####\n#.v.#\n#.^.#\n#####", bodies=BODIES, freeze_steps=3, shield_hit_drain=5)
    act(w, a0="attack")  # heavy: attack costs 1, freezes 2 x 3 turns
    assert agent(w, 0)["energy"] == 59 and agent(w, 1)["frozen"] == 6
    w = scene("#####\n#.v.#\n#.^.#\n#####", bodies=BODIES, shield_hit_drain=5, shield_upkeep=0)
    act(w, a1="shield")
    act(w, a0="attack")
    assert agent(w, 1)["energy"] == 60 - 1 - 10 and agent(w, 1)["frozen"] == 0


def test_a_short_sighted_body_sees_zeros_beyond_its_radius():
    w = scene("#######\n#.....#\n#.^^..#\n#.....#\n#######", bodies=BODIES, vision_radius=3)
    r = 3
    near = w.obs[0, 1, r - 1 : r + 2, r - 1 : r + 2]  # light: radius 1
    assert near[..., 0].any() or near[..., 5].any()  # sees its neighbour agent 0
    far = w.obs[0, 1].copy()
    far[r - 1 : r + 2, r - 1 : r + 2] = 0
    assert not far.any()
    assert w.obs[0, 0, 0, :, 0].all()  # heavy sees the whole window (walls beyond the map)


def test_the_frozen_channel_scale_covers_the_strongest_body():
    cfg = WorldConfig(freeze_steps=10, bodies=BODIES)
    assert channel_max(cfg)[8] == 20


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"bodies": [{"name": "x", "vision_radius": 9}]}, "must be <= vision_radius (5)"),
        ({"bodies": BODIES, "body_of_slot": [0, 1]}, "one body index per agent (8)"),
        ({"bodies": BODIES, "n_agents": 2, "body_of_slot": [0, 2]}, "indices must be in [0, 2)"),
        ({"body_of_slot": [0] * 8}, "body_of_slot: needs `bodies`"),
        ({"bodies": [{"name": "x"}, {"name": "x"}]}, "names must be unique"),
        ({"bodies": [{"name": "x", "move_cost": -1}]}, "world.bodies.0.move_cost: must be >= 0"),
    ],
)
def test_bad_bodies_are_refused_with_a_clear_message(fields, message):
    from world.config import world_config_from_dict

    with pytest.raises(ConfigError) as err:
        world_config_from_dict(fields)
    assert message in str(err.value)


def test_bodies_left_out_give_exactly_the_worlds_numbers():
    plain = World(WorldConfig(n_agents=4), seed=3)
    same = World(WorldConfig(n_agents=4, bodies=[{"name": "default"}]), seed=3)
    rng = np.random.default_rng(0)
    plain.reset()
    same.reset()
    for _ in range(200):
        a = rng.integers(0, plain.n_actions, (1, 4), np.int32)
        plain.step(a)
        same.step(a)
    assert np.array_equal(plain.obs, same.obs) and np.array_equal(plain.counters, same.counters)
