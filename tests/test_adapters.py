"""Gymnasium and PettingZoo adapters pass the libraries' own checkers."""

import numpy as np
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

from world import WorldConfig
from world.adapters import KinevoEnv, KinevoParallelEnv, KinevoVectorEnv

CFG = WorldConfig(n_agents=4, width=9, height=9, max_steps=25)


def test_pettingzoo_parallel_api_test_passes():
    parallel_api_test(KinevoParallelEnv(CFG, seed=1), num_cycles=60)


def test_pettingzoo_episode_truncates_at_max_steps():
    env = KinevoParallelEnv(CFG, seed=2)
    env.reset(seed=5)
    for _ in range(CFG.max_steps):
        _, _, term, trunc, _ = env.step({a: 0 for a in env.agents})
    assert all(trunc.values()) and not any(term.values()) and env.agents == []


def test_gymnasium_env_checker_passes():
    check_env(KinevoEnv(CFG, seed=1), skip_render_check=False)


def test_gymnasium_reset_with_seed_is_reproducible():
    a, b = KinevoEnv(CFG), KinevoEnv(CFG)
    oa, _ = a.reset(seed=11)
    ob, _ = b.reset(seed=11)
    assert np.array_equal(oa["grid"], ob["grid"])
    for _ in range(10):
        ra = a.step(3)
        rb = b.step(3)
        assert np.array_equal(ra[0]["grid"], rb[0]["grid"]) and ra[1] == rb[1]


def test_vector_env_has_one_sub_env_per_agent_and_autoresets():
    env = KinevoVectorEnv(CFG, n_envs=3, seed=0)
    obs, _ = env.reset(seed=4)
    assert env.num_envs == 12 and obs["grid"].shape == (12, 11, 11, 13)
    assert env.observation_space.contains(obs)
    truncated_at = []
    for t in range(CFG.max_steps):
        obs, rew, term, trunc, _ = env.step(env.action_space.sample())
        assert rew.shape == (12,) and rew.dtype == np.float32 and not term.any()
        if trunc.any():
            truncated_at.append(t)
            assert trunc.all()
    assert truncated_at == [CFG.max_steps - 1]
