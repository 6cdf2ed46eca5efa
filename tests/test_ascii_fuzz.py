"""Hostile ASCII maps: whatever the text, a World either builds and steps with its agents on
floor cells inside the map, or refuses with ConfigError naming the map and the problem;
never another exception, never a crash in a kernel."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinevo.config import ConfigError
from world import layout as L
from world.config import WorldConfig
from world.env import World
from world.state import MAX_ASCII_SIDE

CELLS = "#.  mca@^>v<123"
NOISE = "x\t\r\x00é€;"


def world_from(text: str, n_agents: int) -> World:
    return World(WorldConfig(n_agents=n_agents, max_steps=8, map={"kind": "ascii", "ascii": text}))


@st.composite
def maps(draw):
    """Walled rectangles filled with legend chars, sometimes ragged, noisy or unwalled."""
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    rows = [draw(st.text(alphabet=CELLS, min_size=w, max_size=w)) for _ in range(h)]
    if draw(st.booleans()):
        rows = ["#" * (w + 2), *(f"#{r}#" for r in rows), "#" * (w + 2)]
    if draw(st.integers(0, 4)) == 0:  # ragged
        k = draw(st.integers(0, len(rows) - 1))
        rows[k] = rows[k][: draw(st.integers(0, len(rows[k])))]
    if draw(st.integers(0, 4)) == 0:  # a stray character
        k = draw(st.integers(0, len(rows) - 1))
        rows[k] += draw(st.sampled_from(NOISE))
    return "\n".join(rows)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=maps(), n_agents=st.integers(1, 6), actions=st.integers(0, 2**31 - 1))
def test_any_ascii_map_builds_and_steps_or_is_refused_by_name(text, n_agents, actions):
    try:
        w = world_from(text, n_agents)
    except ConfigError as err:
        assert all(p.startswith("world.map.ascii: map: ") for p in err.problems), err.problems
        return
    w.reset()
    rng = np.random.default_rng(actions)
    for _ in range(10):
        w.step(rng.integers(0, w.n_actions, (1, n_agents)).astype(np.int32))
        ay, ax = w.state.ay[0], w.state.ax[0]
        H, W = w.grid_shape
        assert ((0 <= ay) & (ay < H) & (0 <= ax) & (ax < W)).all()
        assert (w.state.grid[0, ay, ax] == L.EMPTY).all()
        assert len(set(zip(ay.tolist(), ax.tolist(), strict=True))) == n_agents


@pytest.mark.parametrize(
    "text, n_agents, message",
    [
        ("#####\n#@.a#\n####", 1, "edge cells must be walls"),  # ragged: the last row short
        ("######\n#@.#a#\n######", 1, "line 2 column 5: the altar has no floor the agents' "
                                        "spawns reach"),
        ("#####\n#@#m#\n#####", 1, "line 2 column 4: the mine has no floor the agents' spawns"),
        ("#####\n#.#m#\n#####", 1, "line 2 column 4: the mine has no floor beside it"),
        ("#####\n#@c.#\n#####", 3, "2 free cells for 3 agents"),
        ("#####\n#.z.#\n#####", 1, "line 2 column 3: unknown char 'z'"),
        ("#" * (MAX_ASCII_SIDE + 1), 1, f"at most {MAX_ASCII_SIDE} per side"),
    ],
)  # fmt: skip
def test_bad_ascii_maps_are_refused_naming_line_column_and_problem(text, n_agents, message):
    with pytest.raises(ConfigError, match=message):
        world_from(text, n_agents)


def test_a_map_without_spawns_places_every_agent_on_the_floor():
    w = world_from("######\n#..m.#\n#.c.a#\n######", 3)
    w.reset()
    assert (w.state.grid[0, w.state.ay[0], w.state.ax[0]] == L.EMPTY).all()


def test_huge_or_binary_map_files_are_refused_before_they_are_read(tmp_path):
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"#" * (2 << 20))
    with pytest.raises(ConfigError, match="over 1048576 bytes; not a map"):
        World(WorldConfig(n_agents=1, map={"kind": "ascii", "ascii_file": str(huge)}))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"#####\n#@\xff.#\n#####")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        World(WorldConfig(n_agents=1, map={"kind": "ascii", "ascii_file": str(binary)}))
