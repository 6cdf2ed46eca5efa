"""Run trained (or uniformly random) agents for whole episodes and score them."""

from __future__ import annotations

import numpy as np
import torch

from evo.checkpoint import Checkpoint
from evo.policy import Ensemble
from world import layout as L
from world.config import WorldConfig
from world.env import World


class PolicyActor:
    """Acts for every agent slot of a world from a checkpoint's members (sampling by default,
    `greedy` for the most likely action). Slot i uses member i, or the one shared member."""

    def __init__(self, ck: Checkpoint, n_envs: int, seed: int = 0, greedy: bool = False):
        self.net = Ensemble(ck.policies(), torch.device("cpu"))
        self.N = ck.world.n_agents
        self.greedy = greedy
        self.gen = torch.Generator().manual_seed(seed)
        self.core = torch.zeros((n_envs, self.N, self.net.hidden))
        self.start = torch.ones((n_envs, self.N))

    def __call__(self, world: World) -> np.ndarray:
        B, groups = world.n_envs, self.net.groups
        grid, own = torch.from_numpy(world.obs), torch.from_numpy(world.self_obs)
        with torch.no_grad():
            logits, _, h = self.net.step(
                groups(grid), groups(own), groups(self.core), groups(self.start)
            )
            if self.greedy:
                action = logits.argmax(-1)
            else:
                u = torch.rand(logits.shape, generator=self.gen)
                action = (torch.log_softmax(logits, -1) - torch.log(-torch.log(u))).argmax(-1)
        self.core = self.net.ungroup(h, B)
        return self.net.ungroup(action, B).numpy().astype(np.int32)

    def observe_dones(self, world: World) -> None:
        self.start = torch.from_numpy(world.dones).float().unsqueeze(1).expand(-1, self.N).clone()


def play_episodes(
    world_cfg: WorldConfig,
    actor,
    episodes: int,
    seed: int = 0,
    kinship: np.ndarray | None = None,
    frames: list | None = None,
) -> dict:
    """Run `episodes` envs side by side for one episode each; `actor(world) -> actions` or
    None for uniformly random actions. Returns own hearts per agent-episode and counters."""
    world = World(world_cfg, n_envs=episodes, seed=seed)
    world.reset(kinship=kinship)
    rng = np.random.default_rng(seed)
    if frames is not None:
        from world.render import rgb_frame

        frames.append(rgb_frame(world))
    for _ in range(world_cfg.max_steps):
        if actor is None:
            actions = rng.integers(0, world_cfg.n_actions, (episodes, world_cfg.n_agents), np.int32)
        else:
            actions = actor(world)
        world.step(actions)
        if actor is not None:
            actor.observe_dones(world)
        if frames is not None and not world.dones[0]:
            frames.append(rgb_frame(world))
    c = world.counters.sum(axis=0)
    hearts = c[:, L.COUNTERS.index("hearts")] / episodes
    return {
        "episodes": episodes,
        "hearts_per_agent_episode": float(hearts.mean()),
        "hearts_per_episode_by_agent": [round(float(h), 3) for h in hearts],
        "mean_per_agent_episode": {
            name: round(float(c[:, k].mean() / episodes), 3) for k, name in enumerate(L.COUNTERS)
        },
    }
