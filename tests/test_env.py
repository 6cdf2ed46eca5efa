"""The `World` boundary: what `step` accepts, staggered episode starts, the shipped world files."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scenes import agent, scene

from world import World, WorldConfig

ROOT = Path(__file__).resolve().parent.parent

OPEN2 = """
######
#.^.^#
######
"""


@pytest.mark.parametrize(
    "actions, problem",
    [
        (np.zeros((1, 1), np.int32), r"shape \(1, 2\)"),
        (np.zeros((2, 2), np.int32), r"shape \(1, 2\)"),
        (np.zeros(2, np.int32), r"shape \(1, 2\)"),
        (np.zeros((1, 2), np.float32), "integer"),
        (np.zeros((1, 2), bool), "integer"),
        (np.array([[0, 999]], np.int32), r"\[0, 17\).*999"),
        (np.array([[-1, 0]], np.int64), r"\[0, 17\).*-1"),
        ([[0, 2**40]], r"\[0, 17\)"),
    ],
)
def test_step_rejects_actions_of_the_wrong_shape_dtype_or_range(actions, problem):
    w = scene(OPEN2, n_marker_colors=5)  # 12 base actions + 5 marks
    before = w.env_state(0)
    with pytest.raises(ValueError, match=problem):
        w.step(actions)
    for name, x in w.env_state(0).items():  # nothing moved, no env stepped
        assert np.array_equal(x, before[name]), name


def test_step_accepts_lists_and_any_integer_dtype():
    w = scene(OPEN2)
    w.step([[1, 0]])
    w.step(np.array([[1, 0]], np.int64))
    w.step(np.array([[0, 1]], np.uint8))
    assert agent(w, 0)["pos"] == (1, 2) and agent(w, 1)["pos"] == (1, 4)


def _stagger_world(n_envs, stagger, seed=0):
    cfg = WorldConfig(n_agents=2, width=7, height=7, max_steps=50, stagger_start=stagger)
    w = World(cfg, n_envs=n_envs, seed=seed)
    w.reset()
    return w


def test_envs_start_in_step_by_default():
    w = _stagger_world(16, False)
    assert (w.state.step == 0).all()


def test_staggered_starts_spread_the_first_episode_end_over_the_episode():
    w = _stagger_world(16, True)
    first = w.state.step.copy()
    assert ((first >= 0) & (first < 50)).all() and len(set(first.tolist())) > 8
    ends = np.full(16, -1)
    for t in range(50):
        w.step(np.zeros((16, 2), np.int32))
        ends[(ends < 0) & (w.dones == 1)] = t
    assert np.array_equal(ends, 49 - first)  # each env's first episode is shortened
    assert (w.state.episode == 2).all() and len(set(w.state.step.tolist())) > 8
    for _ in range(50):  # later episodes run their full length, keeping the offsets
        w.step(np.zeros((16, 2), np.int32))
    assert (w.state.episode == 3).all()


def test_staggered_starts_are_seeded_per_env():
    a, b = _stagger_world(8, True, seed=3), _stagger_world(8, True, seed=3)
    assert np.array_equal(a.state.step, b.state.step)
    alone = World(a.config, n_envs=1, env_seeds=a._env_seeds[5:6])
    alone.reset()
    assert alone.state.step[0] == a.state.step[5]
    assert not np.array_equal(a.state.step, _stagger_world(8, True, seed=4).state.step)


@pytest.mark.parametrize("path", sorted((ROOT / "runs").glob("world*.yaml")), ids=str)
def test_every_shipped_world_file_loads_and_steps(path):
    from world.config import load_world_config

    cfg = load_world_config(path)
    w = World(cfg, n_envs=2, seed=0)
    w.reset()
    rng = np.random.default_rng(0)
    for _ in range(cfg.max_steps + 5):  # past one episode's end
        w.step(rng.integers(0, cfg.n_actions, (2, cfg.n_agents)).astype(np.int32))
    assert (w.state.episode >= 2).all() and w.counters.sum() > 0  # a second episode began


def test_a_fresh_process_loads_the_kernel_views_of_state_and_params_from_numba_s_cache():
    """The StructRef constructors are cached like the kernels: a process that builds a World
    after another one did compiles neither (uncached they took about 2.5 s a process)."""
    code = (
        "from world import World, WorldConfig\n"
        "from world.state import params_ref, state_ref\n"
        "World(WorldConfig(n_agents=2, width=9, height=9), n_envs=1, seed=0)\n"
        "print(sum(state_ref.stats.cache_hits.values()), sum(params_ref.stats.cache_hits.values()),"
        " sum(state_ref.stats.cache_misses.values()), sum(params_ref.stats.cache_misses.values()))"
    )
    run = [sys.executable, "-c", code]
    subprocess.run(run, check=True, capture_output=True, cwd=ROOT)  # fills the cache if empty
    out = subprocess.run(run, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    assert out.split() == ["1", "1", "0", "0"]
