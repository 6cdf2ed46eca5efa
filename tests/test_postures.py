"""Postures: `posture_<name>` switches between stand, rest, guard and sprint during an
episode; others see it. Scene costs as in test_rules.py (forward 1, no metabolism)."""

import numpy as np
from scenes import act, agent, count, scene

from world import World, WorldConfig
from world.encoding import channel_max
from world.layout import N_CHANNELS, N_SELF
from world.play import PlaySession

ON = {"enabled": True}
HALL = """
########
#......#
#.>....#
#......#
########
"""


def test_posture_actions_channel_and_feature_exist_only_when_enabled():
    off, on = WorldConfig(), WorldConfig(postures=ON)
    assert not any(a.startswith("posture_") for a in off.action_names)
    postures = ("posture_stand", "posture_rest", "posture_guard", "posture_sprint")
    assert on.action_names[-4:] == postures
    assert on.obs_channels == off.obs_channels + ("agent_posture",)
    assert on.self_features == off.self_features + ("posture",)
    assert channel_max(on)[N_CHANNELS] == 3
    assert World(on).obs.shape[-1] == N_CHANNELS + 1
    assert World(on).self_obs.shape[-1] == N_SELF + 1


def test_switching_posture_costs_the_posture_action_cost():
    w = scene(HALL, postures=ON, action_costs={"posture": 2})
    act(w, a0="posture_rest")
    assert w.state.posture[0, 0] == 1 and agent(w, 0)["energy"] == 58


def test_rest_lowers_metabolism_and_moves_only_every_period_steps():
    w = scene(HALL, postures={**ON, "rest_metabolism": 0, "rest_move_period": 2}, metabolism=2)
    act(w, a0="posture_rest")  # step 0: pays the switch (1) and the resting metabolism (0)
    assert agent(w, 0)["energy"] == 59
    act(w, a0="forward")  # step 1: odd, the move fails but is paid
    assert agent(w, 0)["pos"] == (2, 2) and agent(w, 0)["energy"] == 58
    act(w, a0="forward")  # step 2: moves
    assert agent(w, 0)["pos"] == (2, 3) and agent(w, 0)["energy"] == 57
    act(w, a0="posture_stand")  # standing again: full metabolism
    assert agent(w, 0)["energy"] == 57 - 1 - 2


def test_sprint_moves_two_cells_at_double_cost_and_stops_at_a_blocked_cell():
    w = scene(HALL, postures=ON)
    act(w, a0="posture_sprint")
    act(w, a0="forward")
    assert agent(w, 0)["pos"] == (2, 4) and agent(w, 0)["energy"] == 60 - 1 - 2
    act(w, a0="forward")
    act(w, a0="forward")  # one cell left before the wall
    assert agent(w, 0)["pos"] == (2, 6)


def test_sprint_needs_energy_for_the_doubled_cost():
    w = scene(HALL, postures=ON, start_energy=2)
    act(w, a0="posture_sprint")
    act(w, a0="forward")  # 1 energy left, the sprint costs 2: a noop
    assert agent(w, 0)["pos"] == (2, 2) and agent(w, 0)["energy"] == 1


def test_guard_keeps_the_shield_cheaper_and_cannot_mine():
    w = scene("#####\n#.m.#\n#.^.#\n#####", postures={**ON, "guard_shield_upkeep": 0})
    act(w, a0="posture_guard")
    act(w, a0="shield")
    e = agent(w, 0)["energy"]
    act(w)
    act(w)
    assert agent(w, 0)["energy"] == e and agent(w, 0)["shield"] == 1
    act(w, a0="use")
    assert agent(w, 0)["diamonds"] == 0 and count(w, "diamonds_mined", 0) == 0


def test_others_see_the_posture_and_the_agent_feels_its_own():
    w = scene("#####\n#.v.#\n#.^.#\n#####", postures=ON, vision_radius=2)
    act(w, a1="posture_sprint")
    ch = N_CHANNELS  # agent_posture
    assert w.obs[0, 0, 3, 2, ch] == 3  # agent 0 sees agent 1 (sprinting) one row down
    assert w.obs[0, 1, 2, 2, ch] == 3  # agent 1 sees itself sprinting
    assert w.obs[0, 1, 1, 2, ch] == 0  # and agent 0 standing one row up
    assert w.self_obs[0, 1, N_SELF] == 1.0 and w.self_obs[0, 0, N_SELF] == 0.0


def test_a_new_episode_starts_standing():
    w = scene(HALL, postures=ON, max_steps=2)
    act(w, a0="posture_guard")
    assert w.state.posture[0, 0] == 2
    act(w)
    assert w.dones[0] == 1 and w.state.posture[0, 0] == 0


def test_play_binds_posture_keys_only_when_postures_are_on():
    on = PlaySession(World(WorldConfig(postures=ON, n_marker_colors=3)))
    off = PlaySession(World(WorldConfig(n_marker_colors=3)))
    assert on.world.action_names[on.action_for("y")] == "posture_sprint"
    assert off.action_for("y") is None
    assert on.action_for("4") is None  # no fourth marker colour, though ids go on
    np.testing.assert_equal(on.action_for("1"), on.world.action_names.index("mark_0"))
