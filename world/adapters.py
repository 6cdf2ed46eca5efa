"""Standard interfaces over `World`: a Gymnasium vector env, a single-agent Gymnasium env and
a PettingZoo `ParallelEnv`.

Observations (``obs=`` on every adapter, see `ENCODINGS`):

- ``"raw"`` (default): a dict, ``grid`` uint8[V, V, C] as the world writes it (channels
  last, see `layout.OBS_CHANNELS`) and ``self`` float32[len(SELF_FEATURES)];
- ``"scaled"``: the same dict with ``grid`` float32 in [0, 1], each channel divided by its
  own maximum (`world.encoding`, the encoding kinevo's own policies use); libraries that treat
  a uint8 box as an image (stable-baselines3's ``MultiInputPolicy``) flatten it instead;
- ``"flat"``: one float32[V * V * C + len(SELF_FEATURES)] vector, the scaled planes then the
  own state, for any MLP policy (stable-baselines3's ``MlpPolicy``).

Rewards are the ones agents learn from (`World.learned_rewards`: own rewards after any kin
sharing and mate shares). Episodes end by truncation at `max_steps`.
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from pettingzoo import ParallelEnv

from world.config import WorldConfig
from world.encoding import scale_obs
from world.env import World

ENCODINGS = ("raw", "scaled", "flat")


def _check_encoding(obs: str) -> str:
    if obs not in ENCODINGS:
        raise ValueError(f"obs must be one of {', '.join(ENCODINGS)}; got {obs!r}")
    return obs


def observation_space(cfg: WorldConfig, obs: str = "raw") -> spaces.Space:
    """The space of one agent's observation under encoding `obs`."""
    V = 2 * cfg.vision_radius + 1
    C, S = len(cfg.obs_channels), len(cfg.self_features)
    own = spaces.Box(0.0, 1.0, (S,), np.float32)
    if _check_encoding(obs) == "flat":
        return spaces.Box(0.0, 1.0, (V * V * C + S,), np.float32)
    if obs == "scaled":
        grid = spaces.Box(0.0, 1.0, (V, V, C), np.float32)
    else:
        grid = spaces.Box(0, 255, (V, V, C), np.uint8)
    return spaces.Dict({"grid": grid, "self": own})


def encode(grid: np.ndarray, own: np.ndarray, cfg: WorldConfig, obs: str = "raw"):
    """uint8[..., V, V, C] planes and float32[..., S] own state -> observation(s) under
    encoding `obs` (new arrays; leading axes kept)."""
    if obs == "raw":
        return {"grid": grid.copy(), "self": own.copy()}
    scaled = scale_obs(grid, cfg)
    if obs == "scaled":
        return {"grid": scaled, "self": own.copy()}
    lead = grid.shape[:-3]
    return np.concatenate([scaled.reshape(*lead, -1), own], axis=-1)


def _render(world: World, mode: str | None):
    from world.render import rgb_frame, to_ascii

    if mode == "ansi":
        return to_ascii(world)
    if mode == "rgb_array":
        return rgb_frame(world)
    return None


def _episodic(cfg: WorldConfig) -> WorldConfig:
    # The adapters end episodes themselves (truncation at max_steps) and reset explicitly, so
    # the world's own auto-reset is pushed one step past the end; their episodes start at
    # step 0.
    return cfg.model_copy(update={"max_steps": cfg.max_steps + 1, "stagger_start": False})


class KinevoVectorEnv(VectorEnv):
    """Every agent of every env is one sub-env: ``num_envs = n_envs * n_agents``.

    Finished envs reset inside `step` (Gymnasium's SAME_STEP autoreset): the observation
    returned with ``truncated=True`` is already the next episode's first one.
    With ``obs="raw"`` the returned arrays are views of the world's buffers, valid until the
    next step.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def __init__(
        self, config: WorldConfig | None = None, n_envs: int = 1, seed: int = 0, obs: str = "raw"
    ):
        self.config = config if config is not None else WorldConfig()
        self.obs = _check_encoding(obs)
        self.world = World(self.config, n_envs=n_envs, seed=seed)
        self.num_envs = n_envs * self.config.n_agents
        self.single_observation_space = observation_space(self.config, obs)
        self.single_action_space = spaces.Discrete(self.config.n_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = "rgb_array"
        B, N = n_envs, self.config.n_agents
        self._shape = (B, N)
        self._obs = {
            "grid": self.world.obs.reshape(B * N, *self.world.obs.shape[2:]),
            "self": self.world.self_obs.reshape(B * N, -1),
        }

    def _observe(self):
        if self.obs == "raw":
            return self._obs
        return encode(self._obs["grid"], self._obs["self"], self.config, self.obs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.world.reseed(seed)
        self.world.reset()
        return self._observe(), {}

    def step(self, actions):
        self.world.step(np.asarray(actions, dtype=np.int32).reshape(self._shape))
        rewards = self.world.learned_rewards.reshape(-1)
        truncated = np.repeat(self.world.dones.astype(bool), self._shape[1])
        return self._observe(), rewards, np.zeros_like(truncated), truncated, {}

    def render(self):
        from world.render import rgb_frame

        return rgb_frame(self.world, 0)


class KinevoEnv(gym.Env):
    """One env seen by one agent (`agent`); the others act uniformly at random from the
    env's seeded generator. Passes Gymnasium's env checker."""

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 10}

    def __init__(
        self,
        config: WorldConfig | None = None,
        agent: int = 0,
        seed: int = 0,
        render_mode: str | None = None,
        obs: str = "raw",
    ):
        self.config = config if config is not None else WorldConfig()
        if not 0 <= agent < self.config.n_agents:
            raise ValueError(f"agent must be in [0, {self.config.n_agents}), got {agent}")
        self.agent = agent
        self.obs = _check_encoding(obs)
        self.world = World(_episodic(self.config), n_envs=1, seed=seed)
        self.observation_space = observation_space(self.config, obs)
        self.action_space = spaces.Discrete(self.config.n_actions)
        self.render_mode = render_mode
        self._rng = np.random.default_rng(seed)
        self._t = 0

    def _observe(self):
        w, i = self.world, self.agent
        return encode(w.obs[0, i], w.self_obs[0, i], self.config, self.obs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.world.reseed(int(self._rng.integers(2**63)))
        self.world.reset()
        self._t = 0
        return self._observe(), {}

    def step(self, action):
        actions = self._rng.integers(0, self.config.n_actions, (1, self.config.n_agents), np.int32)
        actions[0, self.agent] = int(action)
        self.world.step(actions)
        self._t += 1
        reward = float(self.world.learned_rewards[0, self.agent])
        truncated = self._t >= self.config.max_steps
        return self._observe(), reward, False, truncated, {}

    def render(self):
        return _render(self.world, self.render_mode)


class KinevoParallelEnv(ParallelEnv):
    """One env, every agent a PettingZoo agent (``agent_0`` ...). Episodes end by truncation
    at `max_steps`."""

    metadata = {
        "name": "kinevo_v0",
        "render_modes": ["rgb_array", "ansi"],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        config: WorldConfig | None = None,
        seed: int = 0,
        render_mode=None,
        obs: str = "raw",
    ):
        self.config = config if config is not None else WorldConfig()
        self.obs = _check_encoding(obs)
        self.world = World(_episodic(self.config), n_envs=1, seed=seed)
        self.possible_agents = [f"agent_{i}" for i in range(self.config.n_agents)]
        self.agents = []
        self.render_mode = render_mode
        self._rng = np.random.default_rng(seed)
        self._t = 0
        self._index = {a: i for i, a in enumerate(self.possible_agents)}

    @functools.cache  # noqa: B019 (PettingZoo asks the same space back)
    def observation_space(self, agent):
        return observation_space(self.config, self.obs)

    @functools.cache  # noqa: B019
    def action_space(self, agent):
        return spaces.Discrete(self.config.n_actions)

    def _observations(self):
        w = self.world
        return {
            a: encode(w.obs[0, i], w.self_obs[0, i], self.config, self.obs)
            for a, i in self._index.items()
        }

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.world.reseed(int(self._rng.integers(2**63)))
        self.world.reset()
        self.agents = list(self.possible_agents)
        self._t = 0
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict):
        acts = np.zeros((1, self.config.n_agents), np.int32)
        for a, act in actions.items():
            acts[0, self._index[a]] = int(act)
        self.world.step(acts)
        self._t += 1
        done = self._t >= self.config.max_steps
        obs = self._observations()
        rewards = {a: float(self.world.learned_rewards[0, i]) for a, i in self._index.items()}
        terminations = {a: False for a in self.agents}
        truncations = {a: done for a in self.agents}
        infos = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self):
        return _render(self.world, self.render_mode)

    def state(self):
        from world.render import rgb_frame

        return rgb_frame(self.world)
