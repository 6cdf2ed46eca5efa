"""Maps: seeded generators, reachability of every object kind, ASCII parsing."""

import numpy as np
import pytest

from world import ConfigError, World, WorldConfig
from world import layout as L
from world.maps import reachable_objects
from world.state import parse_ascii

KINDS = ["scatter", "rooms", "caves", "maze"]


def make(kind, seed, n_envs=1, **map_fields):
    cfg = WorldConfig(n_agents=6, width=21, height=15, map={"kind": kind, **map_fields})
    w = World(cfg, n_envs=n_envs, seed=seed)
    w.reset()
    return w


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_map_other_seed_other_map(kind):
    a, b, c = make(kind, 7), make(kind, 7), make(kind, 8)
    assert np.array_equal(a.state.grid, b.state.grid)
    assert np.array_equal(a.state.ay, b.state.ay)
    assert not np.array_equal(a.state.grid, c.state.grid)


@pytest.mark.parametrize("kind", KINDS)
def test_every_agent_reaches_a_mine_a_charger_and_an_altar(kind):
    w = make(kind, 0, n_envs=20)
    for b in range(w.n_envs):
        grid = w.state.grid[b]
        for name, n in (("mine", L.MINE), ("charger", L.CHARGER), ("altar", L.ALTAR)):
            assert (grid == n).sum() == getattr(w.config.map, name + "s"), (kind, b, name)
        for i in range(w.n_agents):
            found = reachable_objects(grid, w.state.ay[b, i], w.state.ax[b, i])
            assert all(found.values()), (kind, b, i, found)


@pytest.mark.parametrize("kind", KINDS)
def test_maps_keep_a_closed_wall_border(kind):
    w = make(kind, 1, n_envs=5)
    g = w.state.grid
    assert (g[:, 0, :] == L.WALL).all() and (g[:, -1, :] == L.WALL).all()
    assert (g[:, :, 0] == L.WALL).all() and (g[:, :, -1] == L.WALL).all()


def test_maze_is_perfect_before_objects():
    # A perfect maze is a tree: floor cells - 1 == adjacent floor pairs.
    w = make("maze", 3, mines=0, chargers=0, altars=0)
    floor = w.state.grid[0] == L.EMPTY
    pairs = (floor[1:, :] & floor[:-1, :]).sum() + (floor[:, 1:] & floor[:, :-1]).sum()
    assert pairs == floor.sum() - 1


def test_new_map_each_episode_or_kept():
    fresh = make("scatter", 2)
    kept = World(
        WorldConfig(
            n_agents=6, width=21, height=15, max_steps=2, map={"new_map_each_episode": False}
        ),
        seed=2,
    )
    kept.reset()
    first = kept.state.grid.copy()
    before = fresh.state.grid.copy()
    for w in (fresh, kept):
        w.step(np.zeros((1, 6), np.int32))
        w.step(np.zeros((1, 6), np.int32))
    assert kept.dones[0] == 1 and np.array_equal(kept.state.grid, first)
    fresh2 = World(fresh.config.model_copy(update={"max_steps": 2}), seed=2)
    fresh2.reset()
    fresh2.step(np.zeros((1, 6), np.int32))
    fresh2.step(np.zeros((1, 6), np.int32))
    assert fresh2.dones[0] == 1 and not np.array_equal(fresh2.state.grid, before)


def test_ascii_map_is_used_as_drawn():
    text = "#######\n#@.m.>#\n#..c..#\n#..a..#\n#######"
    w = World(WorldConfig(n_agents=2, map={"kind": "ascii", "ascii": text}))
    w.reset()
    g, _, spawns = parse_ascii(text)
    assert np.array_equal(w.state.grid[0], g)
    assert (w.state.ay[0, 0], w.state.ax[0, 0], w.state.facing[0, 0]) == (1, 1, L.NORTH)
    assert (w.state.ay[0, 1], w.state.ax[0, 1], w.state.facing[0, 1]) == (1, 5, L.EAST)


def test_ascii_map_places_extra_agents_randomly_on_free_cells():
    w = World(WorldConfig(n_agents=4, map={"kind": "ascii", "ascii": "#####\n#@..#\n#...#\n#####"}))
    w.reset()
    cells = {(int(y), int(x)) for y, x in zip(w.state.ay[0], w.state.ax[0], strict=True)}
    assert len(cells) == 4 and (1, 1) in cells


def test_ascii_map_file_from_the_scenes_folder():
    from pathlib import Path

    path = Path(__file__).parents[1] / "world" / "scenes" / "arena.txt"
    w = World(WorldConfig(n_agents=4, map={"kind": "ascii", "ascii_file": str(path)}))
    w.reset()
    assert w.grid_shape == (12, 15)
    for i in range(4):
        assert all(reachable_objects(w.state.grid[0], w.state.ay[0, i], w.state.ax[0, i]).values())


@pytest.mark.parametrize(
    "text, message",
    [
        ("#####\n#.x.#\n#####", "line 2 column 3: unknown char 'x'"),
        ("#####\n#....\n#####", "edge cells must be walls"),
        ("", "empty map"),
    ],
)
def test_bad_ascii_maps_name_line_and_problem(text, message):
    with pytest.raises(ConfigError, match=message):
        World(WorldConfig(n_agents=1, map={"kind": "ascii", "ascii": text or "\n"}))


def test_too_many_agents_for_a_small_map_is_refused():
    with pytest.raises(ConfigError, match="do not fit"):
        World(WorldConfig(n_agents=40, width=5, height=5))
    with pytest.raises(ConfigError, match="free cells for 3 agents"):
        World(WorldConfig(n_agents=3, map={"kind": "ascii", "ascii": "####\n#..#\n####"}))
