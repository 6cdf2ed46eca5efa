"""Gymnasium and PettingZoo adapters pass the libraries' own checkers."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

from world import WorldConfig
from world.adapters import KinevoEnv, KinevoParallelEnv, KinevoVectorEnv
from world.encoding import channel_max, scale_obs
from world.env import World
from world.layout import OBS_CHANNELS

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


def test_every_channel_stays_within_its_documented_maximum_and_most_reach_it():
    cfg = WorldConfig(n_agents=6, width=9, height=9, max_steps=60, freeze_steps=7, start_energy=100)
    world = World(cfg, n_envs=16, seed=3)
    world.reset(kinship=np.full((6, 6), 0.5, np.float32) + 0.5 * np.eye(6, dtype=np.float32))
    top = channel_max(cfg)
    seen = np.zeros(len(top))
    rng = np.random.default_rng(0)
    for _ in range(300):
        world.step(rng.integers(0, cfg.n_actions, (16, 6), np.int32))
        seen = np.maximum(seen, world.obs.max(axis=(0, 1, 2, 3)))
    assert (seen <= top).all(), dict(zip(OBS_CHANNELS, seen, strict=True))
    for name in ("mine", "marker", "agent_facing", "agent_energy", "wall", "altar"):
        k = OBS_CHANNELS.index(name)
        assert seen[k] == top[k], name
    scaled = scale_obs(world.obs, cfg)
    assert scaled.dtype == np.float32 and scaled.min() >= 0 and scaled.max() <= 1


@pytest.mark.parametrize("obs", ["scaled", "flat"])
def test_gymnasium_env_checker_passes_with_float_encodings(obs):
    check_env(KinevoEnv(CFG, seed=1, obs=obs), skip_render_check=True)
    parallel_api_test(KinevoParallelEnv(CFG, seed=1, obs=obs), num_cycles=20)


def test_flat_observation_is_the_scaled_planes_then_the_own_state():
    env = KinevoEnv(CFG, seed=2, obs="flat")
    flat, _ = env.reset(seed=3)
    grid, own = env.world.obs[0, 0], env.world.self_obs[0, 0]
    assert np.array_equal(flat, np.concatenate([scale_obs(grid, CFG).ravel(), own]))
    vec = KinevoVectorEnv(CFG, n_envs=2, seed=0, obs="flat")
    batch, _ = vec.reset(seed=1)
    assert batch.shape == (8, 11 * 11 * 13 + 11) and vec.observation_space.contains(batch)


def test_an_unknown_encoding_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="raw, scaled, flat"):
        KinevoEnv(CFG, obs="bytes")


# Every optional feature on: more actions, channels and own-state features.
FEATURES = WorldConfig(
    n_agents=4,
    width=9,
    height=9,
    max_steps=25,
    bodies=[{"name": "short", "vision_radius": 2, "attack_strength": 2.0}, {"name": "plain"}],
    postures={"enabled": True},
    resources=[{"name": "ore", "max_inventory": 2}, {"name": "heart", "heart": True}],
    converters=[
        {"name": "src", "char": "o", "outputs": {"ore": 1}},
        {"name": "temple", "char": "t", "inputs": {"ore": 2}, "outputs": {"heart": 1}},
    ],
    building={"enabled": True, "block_cost": 0},
)


@pytest.mark.parametrize("obs", ["raw", "flat"])
def test_the_checkers_pass_with_every_optional_feature_on(obs):
    check_env(KinevoEnv(FEATURES, seed=1, obs=obs), skip_render_check=obs != "raw")
    parallel_api_test(KinevoParallelEnv(FEATURES, seed=1, obs=obs), num_cycles=20)
    vec = KinevoVectorEnv(FEATURES, n_envs=2, seed=0, obs=obs)
    batch, _ = vec.reset(seed=1)
    assert vec.observation_space.contains(batch)


def test_feature_channels_stay_within_their_maximum_and_reach_it():
    cfg = FEATURES.model_copy(update={"max_steps": 200})
    world = World(cfg, n_envs=16, seed=3)
    world.reset()
    top = channel_max(cfg)
    seen = np.zeros(len(top))
    rng = np.random.default_rng(0)
    for _ in range(200):
        world.step(rng.integers(0, cfg.n_actions, (16, 4), np.int32))
        seen = np.maximum(seen, world.obs.max(axis=(0, 1, 2, 3)))
    names = cfg.obs_channels
    assert (seen <= top).all(), dict(zip(names, seen, strict=True))
    for name in ("agent_posture", "converter_src", "converter_temple", "block"):
        assert seen[names.index(name)] == top[names.index(name)], name
    assert (world.self_obs >= 0).all() and (world.self_obs <= 1).all()
