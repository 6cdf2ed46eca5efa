"""Run trained (or uniformly random) agents for whole episodes and score them."""

from __future__ import annotations

import numpy as np
import torch

from evo.checkpoint import Checkpoint
from evo.policy import Ensemble, sample_action
from kinevo.genes import genes_acting_in
from world import layout as L
from world.config import WorldConfig
from world.env import World


class PolicyActor:
    """Acts for every agent slot of a world from a checkpoint's members (sampling by default,
    `greedy` for the most likely action). Slot i uses member i, or the one shared member.
    A world with another number of slots than the checkpoint has members (an eval-suite
    scene played by a run's individuals) needs `cycle_members=True`: slot i then uses member
    i mod G (with more members than slots, only the first N play); without it, a ValueError.

    `blind=True` zeroes the observation planes (the own-state vector stays): a control
    showing how much of the policy's success comes from what it sees. `action_counts`
    (int64[n_actions]) counts the actions taken so far."""

    def __init__(
        self,
        ck: Checkpoint,
        n_envs: int,
        seed: int = 0,
        greedy: bool = False,
        blind: bool = False,
        cycle_members: bool = False,
    ):
        self.N = ck.world.n_agents
        members = ck.policies()
        if len(members) > 1 and len(members) != self.N:
            if not cycle_members:
                raise ValueError(
                    f"the checkpoint has {len(members)} members for a world of {self.N} "
                    "agents; pass cycle_members=True to let slot i play member i mod G"
                )
            members = [members[i % len(members)] for i in range(self.N)]
        self.net = Ensemble(members, torch.device("cpu"))
        self.greedy = greedy
        self.blind = blind
        self.gen = torch.Generator().manual_seed(seed)
        self.core = torch.zeros((n_envs, self.N, self.net.hidden))
        self.start = torch.ones((n_envs, self.N))
        self.action_counts = np.zeros(ck.world.n_actions, np.int64)

    def __call__(self, world: World) -> np.ndarray:
        B, groups = world.n_envs, self.net.groups
        grid, own = torch.from_numpy(world.obs), torch.from_numpy(world.self_obs)
        if self.blind:
            grid = torch.zeros_like(grid)
        with torch.inference_mode():
            logits, _, h = self.net.step(
                groups(grid), groups(own), groups(self.core), groups(self.start)
            )
            if self.greedy:
                action = logits.argmax(-1)
            else:
                action, _ = sample_action(logits, self.gen)
        self.core = self.net.ungroup(h, B).clone()
        actions = self.net.ungroup(action, B).numpy().astype(np.int32)
        self.action_counts += np.bincount(actions.ravel(), minlength=len(self.action_counts))
        return actions

    def observe_dones(self, world: World) -> None:
        self.start = torch.from_numpy(world.dones).float().unsqueeze(1).expand(-1, self.N).clone()


class FrequencyActor:
    """A blind actor: every agent samples i.i.d. from fixed action frequencies (for example
    a trained policy's own `action_counts`), whatever it sees."""

    def __init__(self, counts: np.ndarray, seed: int = 0):
        counts = np.asarray(counts, np.float64)
        if counts.ndim != 1 or counts.sum() <= 0 or (counts < 0).any():
            raise ValueError(f"need non-negative action counts with a positive sum, got {counts}")
        self.p = counts / counts.sum()
        self.rng = np.random.default_rng(seed)

    def __call__(self, world: World) -> np.ndarray:
        shape = (world.n_envs, world.n_agents)
        return self.rng.choice(len(self.p), size=shape, p=self.p).astype(np.int32)

    def observe_dones(self, world: World) -> None:
        pass


def play_episodes(
    world_cfg: WorldConfig,
    actor,
    episodes: int,
    seed: int = 0,
    kinship: np.ndarray | None = None,
    frames: list | None = None,
    genes: dict[str, np.ndarray] | None = None,
) -> dict:
    """Run `episodes` envs side by side for one whole episode each (staggered starts off);
    `actor(world) -> actions` or None for uniformly random actions. `genes`: world genes per
    agent slot (name -> float[N]; learner genes are ignored). Returns own hearts per
    agent-episode (`hearts_by_agent`: one unrounded float per slot) and counters."""
    world_cfg = world_cfg.model_copy(update={"stagger_start": False})  # whole episodes
    world = World(world_cfg, n_envs=episodes, seed=seed)
    world.reset(kinship=kinship)
    acting = {k: v for k, v in (genes or {}).items() if k in genes_acting_in("world")}
    world.set_genes(**acting)
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
        "hearts_by_agent": [float(h) for h in hearts],
        "hearts_per_agent_episode": float(hearts.mean()),
        "hearts_per_episode_by_agent": [round(float(h), 3) for h in hearts],
        "mean_per_agent_episode": {
            name: round(float(c[:, k].mean() / episodes), 3) for k, name in enumerate(L.COUNTERS)
        },
    }


def fitness_after_training(
    world_cfg: WorldConfig,
    ppo,
    states: list[dict],
    episodes: int,
    seed: int,
    kinship: np.ndarray | None = None,
    genes: dict[str, np.ndarray] | None = None,
    greedy: bool = False,
) -> np.ndarray:
    """Own hearts per episode of each agent slot (float64[N]) when the trained networks
    `states` (one per slot, or one shared) play `episodes` fresh episodes of the trial's world
    from `seed`: what was learned, not the area under the learning curve."""
    ck = Checkpoint(world_cfg, ppo, states, {}, list(range(len(states))), {})
    actor = PolicyActor(ck, episodes, seed=seed, greedy=greedy)
    result = play_episodes(world_cfg, actor, episodes, seed, kinship, genes=genes)
    return np.asarray(result["hearts_by_agent"], np.float64)
