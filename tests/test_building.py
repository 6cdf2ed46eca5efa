"""Building: `build` puts a block on the floor in front, `destroy` removes a built one.
Scene costs as in test_rules.py, plus the defaults build 1 and destroy 3; no metabolism."""

import pytest
from scenes import act, agent, scene

from world import ConfigError, WorldConfig
from world import layout as L
from world.config import world_config_from_dict
from world.layout import N_CHANNELS

ON = {"enabled": True, "block_cost": 1, "block_refund": 1}
ROOM = """
#####
#...#
#.^.#
#...#
#####
"""


def test_build_and_destroy_exist_only_when_building_is_enabled():
    off, on = WorldConfig(), WorldConfig(building=ON)
    assert "build" not in off.action_names and on.action_names[-2:] == ("build", "destroy")
    assert on.obs_channels == off.obs_channels + ("block",)


def test_build_turns_a_diamond_into_a_block_in_front():
    w = scene(ROOM, building=ON)
    w.state.diamonds[0, 0] = 2
    act(w, a0="build")
    assert w.state.grid[0, 1, 2] == L.BLOCK
    assert agent(w, 0)["diamonds"] == 1 and agent(w, 0)["energy"] == 59
    assert w.state.blocks_built[0, 0] == 1


def test_build_needs_the_resource_and_an_empty_agent_free_floor_cell():
    w = scene("#####\n#.m.#\n#.^.#\n#.^.#\n#####", building=ON)
    act(w, a0="build")  # no diamond
    act(w, a1="build")  # agent 0 in front
    w.state.diamonds[0, 0] = 1
    act(w, a0="build")  # a mine in front
    assert (w.state.grid[0] == L.BLOCK).sum() == 0 and agent(w, 0)["diamonds"] == 1


def test_a_block_stops_agents_and_covers_markers():
    w = scene(ROOM, building=ON)
    act(w, a0="mark_0")
    w.state.diamonds[0, 0] = 1
    act(w, a0="build")
    assert w.state.marker[0, 1, 2] == -1
    act(w, a0="forward")
    assert agent(w, 0)["pos"] == (2, 2)


def test_destroy_removes_a_block_and_refunds_what_fits_but_never_a_wall():
    w = scene("#####\n#.%.#\n#.^.#\n#####", building=ON)
    act(w, a0="destroy")
    assert w.state.grid[0, 1, 2] == L.EMPTY
    assert agent(w, 0)["diamonds"] == 1 and agent(w, 0)["energy"] == 57
    act(w, a0="turn_left")
    act(w, a0="forward")
    act(w, a0="destroy")  # map wall: stays
    assert w.state.grid[0, 2, 0] == L.WALL and w.state.blocks_destroyed[0, 0] == 1


def test_destroy_refunds_only_as_much_as_there_is_room_for():
    w = scene("#####\n#.%.#\n#.^.#\n#####", building=ON, max_inventory=2)
    w.state.diamonds[0, 0] = 2
    act(w, a0="destroy")
    assert w.state.grid[0, 1, 2] == L.EMPTY and agent(w, 0)["diamonds"] == 2
    assert w.state.block_refunds[0, 0] == 0


def test_blocks_can_be_made_of_a_resource():
    res = [{"name": "wood", "max_inventory": 3}]
    w = scene(ROOM, building={**ON, "block_resource": "wood", "block_cost": 2}, resources=res)
    w.state.inventory[0, 0, 0] = 3
    act(w, a0="build")
    assert w.state.grid[0, 1, 2] == L.BLOCK and w.state.inventory[0, 0, 0] == 1
    act(w, a0="destroy")
    assert w.state.inventory[0, 0, 0] == 2  # refund 1


def test_others_see_a_block_as_a_wall_they_can_destroy():
    w = scene("#####\n#.%.#\n#.^.#\n#####", building=ON, vision_radius=1)
    assert w.obs[0, 0, 0, 1, L.CH_WALL] == 255 and w.obs[0, 0, 0, 1, N_CHANNELS] == 255
    assert w.obs[0, 0, 0, 0, N_CHANNELS] == 0  # the map wall beside it


def test_a_new_episode_clears_what_was_built():
    w = scene(ROOM, building=ON, max_steps=2)
    w.state.diamonds[0, 0] = 1
    act(w, a0="build")
    act(w)
    assert w.dones[0] == 1 and (w.state.grid[0] == L.BLOCK).sum() == 0


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"building": {"enabled": True, "block_resource": "wood"}}, "unknown resource 'wood'"),
        ({"building": {"block_cost": 1, "block_refund": 2}}, "block_refund (2) must be <="),
    ],
)
def test_bad_building_is_refused_with_a_clear_message(fields, message):
    with pytest.raises(ConfigError) as err:
        world_config_from_dict(fields)
    assert message in str(err.value)
