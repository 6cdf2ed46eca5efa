"""Run a batch of worlds with uniformly random agents and report what happened.

    python -m world.demo runs/world.yaml --envs 16 --steps 2000 --gif runs/out/demo.gif

Prints throughput and the per-agent behaviour counters (means over all agents), and can save
env 0 as a GIF. A baseline to compare trained agents with, and a smoke test of the install.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from tqdm import tqdm

from world.config import ConfigError, WorldConfig, load_world_config
from world.env import World
from world.layout import COUNTERS


def run(cfg: WorldConfig, n_envs: int, steps: int, seed: int, gif: str | None, gif_steps: int):
    world = World(cfg, n_envs=n_envs, seed=seed)
    world.reset()
    rng = np.random.default_rng(seed)
    frames = []
    if gif:
        from world.render import rgb_frame

        frames.append(rgb_frame(world))
    episodes = 0
    t0 = time.perf_counter()
    for t in tqdm(range(steps), desc="steps", unit="step", mininterval=0.5, file=sys.stderr):
        world.step(rng.integers(0, cfg.n_actions, (n_envs, cfg.n_agents), np.int32))
        episodes += int(world.dones.sum())
        if gif and t < gif_steps:
            frames.append(rgb_frame(world))
    elapsed = time.perf_counter() - t0
    means = world.counters.reshape(-1, len(COUNTERS)).mean(axis=0)
    summary = {
        "envs": n_envs,
        "agents_per_env": cfg.n_agents,
        "steps": steps,
        "episodes_finished": episodes,
        "agent_steps_per_s": round(n_envs * cfg.n_agents * steps / elapsed),
        "mean_per_agent": {
            name: round(float(v), 3) for name, v in zip(COUNTERS, means, strict=True)
        },
    }
    if gif:
        from world.render import save_gif

        summary["gif"] = str(save_gif(frames, gif))
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m world.demo", description=__doc__.split("\n")[0])
    ap.add_argument("config", nargs="?", help="YAML file with a world: section")
    ap.add_argument("--config", dest="config_opt", help=argparse.SUPPRESS)
    ap.add_argument("--envs", type=int, default=16, help="envs stepped together")
    ap.add_argument("--steps", type=int, default=2000, help="steps per env")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gif", help="save env 0 as an animated GIF here")
    ap.add_argument("--gif-steps", type=int, default=200, help="steps drawn into the GIF")
    args = ap.parse_args(argv)
    path = args.config or args.config_opt
    try:
        cfg = load_world_config(path) if path else WorldConfig()
    except ConfigError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    summary = run(cfg, args.envs, args.steps, args.seed, args.gif, args.gif_steps)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
