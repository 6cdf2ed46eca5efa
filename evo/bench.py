"""Learner benchmark; prints one JSON line per figure.

    python -m evo.bench                          # CPU, both modes
    python -m evo.bench --envs 1024 --device cuda --agents 8

For the same batch (envs x agents): the world alone stepped with random actions, then
end-to-end PPO training (rollout + update) in `individual` and `shared` mode, with where the
time goes (world, policy during the rollout, update) and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np
import torch

from evo.config import PPOConfig
from evo.ppo import resolve_device, train
from world.config import WorldConfig
from world.env import World


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def world_only(cfg: WorldConfig, envs: int, steps: int) -> float:
    world = World(cfg, n_envs=envs, seed=0)
    world.reset()
    acts = np.random.default_rng(0).integers(
        0, cfg.n_actions, (steps, envs, cfg.n_agents), np.int32
    )
    world.step(acts[0])
    t = time.perf_counter()
    for a in acts:
        world.step(a)
    return envs * cfg.n_agents * steps / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evo.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--envs", type=int, default=32)
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--steps", type=int, default=64, help="rollout length")
    ap.add_argument("--updates", type=int, default=4)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--modes", nargs="+", default=["individual", "shared"])
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    cfg = WorldConfig(n_agents=args.agents, width=17, height=17, max_steps=256)
    emit(
        bench="machine",
        device=str(device),
        gpu=torch.cuda.get_device_name() if device.type == "cuda" else None,
        torch=torch.__version__,
        threads=args.threads,
    )
    emit(
        bench="world_only",
        envs=args.envs,
        agents=args.agents,
        agent_steps_per_s=round(world_only(cfg, args.envs, 500)),
    )
    for mode in args.modes:
        ppo = PPOConfig(
            mode=mode,
            num_envs=args.envs,
            num_steps=args.steps,
            total_timesteps=args.envs * args.steps * (args.updates + 1),
            device=args.device,
            torch_threads=args.threads,
        )
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        curve = train(cfg, ppo, seed=0).curve[1:]  # the first update pays for warm-up
        total = sum(r["rollout_s"] + r["update_s"] for r in curve)
        world_s = sum(r["world_s"] for r in curve)
        rollout_s = sum(r["rollout_s"] for r in curve)
        update_s = sum(r["update_s"] for r in curve)
        agent_steps = len(curve) * args.envs * args.steps * args.agents
        emit(
            bench="train",
            mode=mode,
            envs=args.envs,
            agents=args.agents,
            agent_steps_per_s=round(agent_steps / total),
            share_world=round(world_s / total, 3),
            share_policy_in_rollout=round((rollout_s - world_s) / total, 3),
            share_update=round(update_s / total, 3),
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            peak_gpu_mb=(
                round(torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else None
            ),
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
