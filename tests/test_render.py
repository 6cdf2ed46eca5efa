"""Rendering: ASCII text that reads back as a map, RGB frames, GIFs."""

import imageio.v3 as iio
import numpy as np
from scenes import act, scene

from world import World, WorldConfig
from world import layout as L
from world.render import record_episode, rgb_frame, save_gif, status_lines, to_ascii
from world.state import parse_ascii

TEXT = "#######\n#@.m.>#\n#..c.1#\n#.a...#\n#######"


def test_ascii_render_reads_back_as_the_same_map():
    w = scene(TEXT)
    assert to_ascii(w) == TEXT.replace("@", "^")
    grid, marker, spawns = parse_ascii(to_ascii(w))
    assert np.array_equal(grid, w.state.grid[0]) and np.array_equal(marker, w.state.marker[0])
    assert spawns.tolist() == [[1, 1, L.NORTH], [1, 5, L.EAST]]


def test_ascii_render_shows_frozen_agents_and_status():
    w = scene(TEXT)
    w.state.frozen[0, 1] = 3
    act(w)
    assert to_ascii(w).splitlines()[1] == "#^.m.*#"
    assert "frozen  2" in status_lines(w)[1]


def test_rgb_frame_has_one_block_per_cell_and_draws_agents():
    w = scene(TEXT)
    img = rgb_frame(w, cell=6)
    assert img.shape == (5 * 6, 7 * 6, 3) and img.dtype == np.uint8
    wall, floor, agent = img[0, 0], img[6 * 2 + 3, 6 * 1 + 3], img[6 * 1 + 3, 6 * 1 + 2]
    assert not np.array_equal(wall, floor) and not np.array_equal(agent, floor)


def test_episode_saved_as_gif(tmp_path):
    w = World(WorldConfig(n_agents=3, width=8, height=8), seed=0)
    w.reset()
    frames = record_episode(w, lambda world: np.ones((1, 3), np.int32), steps=5, cell=4)
    path = save_gif(frames, tmp_path / "ep.gif")
    back = iio.imread(path)
    assert back.shape[0] == 6 and back.shape[1:3] == frames[0].shape[:2]
