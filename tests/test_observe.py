"""Observations: an egocentric window of uint8 planes, kinship from the given matrix, and the
agent's own state."""

import numpy as np
from scenes import act, scene

from world import layout as L

ROOM = """
###########
#.........#
#.m.......#
#....^....#
#.......c.#
#.......v.#
###########
"""


def test_window_is_centred_on_the_agent_and_shows_objects():
    w = scene(ROOM, vision_radius=2)
    o = w.obs[0, 0]  # agent 0 at (3, 5)
    assert o.shape == (5, 5, L.N_CHANNELS)
    assert o[2, 2, L.CH_AGENT] == 255 and o[2, 2, L.CH_FACING] == L.NORTH + 1
    assert o[0, 0, L.CH_WALL] == 0 and o[1, 0, L.CH_MINE] == 0  # mine at (2, 2) is 3 cols off
    w2 = scene(ROOM, vision_radius=3)
    assert w2.obs[0, 0, 2, 0, L.CH_MINE] == 2  # (2, 2) relative (-1, -3) -> (2, 0), 1 diamond
    assert w2.obs[0, 0, 0, 3, L.CH_WALL] == 255  # wall row 0


def test_nothing_outside_the_window_is_visible():
    w = scene(ROOM, vision_radius=1)
    o = w.obs[0, 0]
    assert o[..., L.CH_MINE].sum() == 0 and o[..., L.CH_CHARGER].sum() == 0
    assert o[..., L.CH_AGENT].sum() == 255  # only itself


def test_outside_the_map_reads_as_wall():
    w = scene("#####\n#^..#\n#####", vision_radius=3)
    o = w.obs[0, 0]
    assert (o[0, :, L.CH_WALL] == 255).all()  # three rows above row 1 is outside the map


def test_other_agents_show_facing_shield_energy_and_signal():
    w = scene(ROOM, vision_radius=3, energy_buckets=4, max_energy=100)
    w.state.shield[0, 1] = 1
    w.state.signal[0, 1] = 2
    w.state.energy[0, 1] = 99
    act(w)
    o = w.obs[0, 0]
    dy, dx = 5 - 3 + 3, 8 - 5 + 3  # agent 1 at (5, 8) seen from (3, 5)
    assert o[dy, dx, L.CH_AGENT] == 255
    assert o[dy, dx, L.CH_FACING] == L.SOUTH + 1
    assert o[dy, dx, L.CH_SHIELD] == 255
    assert o[dy, dx, L.CH_SIGNAL] == 2
    assert o[dy, dx, L.CH_ENERGY] == 4  # top bucket


def test_kinship_channel_reads_the_given_matrix_from_the_observer():
    w = scene(ROOM, vision_radius=3)
    w.reset(kinship=np.array([[1.0, 0.5], [0.5, 1.0]], np.float32))
    o0, o1 = w.obs[0, 0], w.obs[0, 1]
    assert o0[3, 3, L.CH_KIN] == 255  # itself
    assert o0[5, 6, L.CH_KIN] == 128  # agent 1, r = 0.5
    assert o1[1, 0, L.CH_KIN] == 128  # agent 0 from agent 1's place
    w.set_kinship(np.eye(2, dtype=np.float32))
    act(w)
    assert w.obs[0, 0, 5, 6, L.CH_KIN] == 0


def test_chargers_and_altars_show_cooldown():
    w = scene("#####\n#.c.#\n#.^.#\n#####", charger_cooldown=5)
    w.state.diamonds[0, 0] = 1
    assert w.obs[0, 0, 4, 5, L.CH_CHARGER] == 255
    act(w, a0="use")
    assert w.obs[0, 0, 4, 5, L.CH_CHARGER] == 128


def test_self_vector_reports_own_state():
    w = scene(ROOM, max_energy=100, start_energy=60, max_inventory=5)
    w.state.diamonds[0, 0] = 1
    act(w, a0="turn_right")
    v = w.self_obs[0, 0]
    names = L.SELF_FEATURES
    assert v[names.index("energy")] == np.float32(0.6)
    assert v[names.index("diamonds")] == np.float32(0.2)
    assert v[names.index("facing_east")] == 1.0 and v[names.index("facing_north")] == 0.0
    assert v[names.index("time")] == np.float32(1 / w.config.max_steps)
    assert ((w.self_obs >= 0) & (w.self_obs <= 1)).all()


def test_mine_channel_tells_an_empty_mine_from_one_with_a_diamond():
    seen = []
    for n in (0, 1, 2):
        w = scene("#####\n#.m.#\n#.^.#\n#####", mine_start=n, mine_max=3, vision_radius=1)
        seen.append(int(w.obs[0, 0, 0, 1, L.CH_MINE]))
    assert seen == [1, 2, 3]  # 0 where there is no mine, 1 + diamonds where there is one
    assert w.obs[0, 0, 1, 0, L.CH_MINE] == 0
