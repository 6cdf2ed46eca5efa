"""Learner benchmark; prints one JSON line per figure.

    python -m evo.bench                              # CPU: both settings, modes, learners
    python -m evo.bench --device cuda --envs 1024    # GPU (the world on every CPU core)
    python -m evo.bench --learners strided-v2 conv-v1:update_epochs=4,num_minibatches=4

A learner is ``new`` (the setting's `ppo:` section as it is), ``old`` (the setting's learner
as it first shipped: conv-v1 trained 4 epochs x 4 minibatches, and also the first batch
layout, widths and learning rate: the runs' own in the runs' setting, `OLD_RUNS`, and
PPOConfig's first defaults in the large one, `OLD_DEFAULTS`), or a policy name with changes
to the setting's `ppo:` section (``POLICY[:field=value,...]``, `evo.config.learner`). By
default ``new`` runs beside ``old``.

Two settings: ``runs`` is runs/population.yaml's world and ppo sections (what the shipped
experiments train), ``large`` a 17x17 map with 8 agents trained with PPOConfig's defaults (what
a `ppo:` section that sets nothing gets). For each: the world alone stepped with random
actions, then end-to-end PPO training (rollout + update) in `individual` and `shared` mode for
every learner named, with where the time goes (world, policy during the rollout, update),
parameters and multiply-adds per sample, and peak memory. Learners are run in alternating
rounds in this one process, so their ratio is measured under the same load; ``best`` and
``median`` are over rounds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from evo.config import PPOConfig, learner
from evo.policy import Ensemble, count_macs, make_policy
from evo.ppo import resolve_device, train
from kinevo.config import load_section
from world.config import WorldConfig
from world.env import World

RUNS_YAML = Path(__file__).resolve().parent.parent / "runs" / "population.yaml"
# The learner as it first shipped: conv-v1 trained 4 epochs x 4 minibatches a rollout. In the
# runs' world (settings and tasks named runs...) also the runs' first batch layout and widths,
# at the middle (log scale) of their first learning_rate gene range, 0.0003-0.003; in the large
# setting PPOConfig's first defaults. Elsewhere (the seeing task) it gets the task's own.
OLD = "conv-v1:update_epochs=4,num_minibatches=4"
OLD_RUNS = OLD + ",num_envs=16,num_steps=64,channels=16,hidden=64,learning_rate=0.001"
OLD_DEFAULTS = OLD + ",num_envs=16,num_steps=128,channels=32,hidden=128,learning_rate=0.00025"


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def settings() -> dict[str, tuple[WorldConfig, PPOConfig]]:
    """name -> (world, ppo) for the shipped runs' setting and a larger one."""
    runs_world = load_section(RUNS_YAML, "world", WorldConfig)
    runs_ppo = load_section(RUNS_YAML, "ppo", PPOConfig)
    large_world = WorldConfig(n_agents=8, width=17, height=17, max_steps=256)
    return {"runs": (runs_world, runs_ppo), "large": (large_world, PPOConfig())}


def resolve(setting: str, base: PPOConfig, spec: str, envs: int | None = None) -> PPOConfig:
    """The `ppo` a learner spec names in `setting` (see the module docstring); `envs`, when
    given, replaces every learner's num_envs."""
    if spec == "old":
        spec = {"runs": OLD_RUNS, "large": OLD_DEFAULTS}.get(setting.split("-")[0], OLD)
    ppo = base if spec == "new" else learner(base, spec)
    return ppo if envs is None else ppo.model_copy(update={"num_envs": envs})


def add_learners_argument(ap: argparse.ArgumentParser, help: str) -> None:
    """`--learners` (alias `--policies`), shared by the benchmarks: new, old or specs."""
    ap.add_argument("--learners", "--policies", nargs="+", default=["new", "old"], help=help)


def check_learners(ap: argparse.ArgumentParser, specs: list[str], base: PPOConfig) -> None:
    """Refuse a bad learner spec before anything runs: exit 2 naming it and the problem."""
    for spec in specs:
        try:
            resolve("runs", base, spec)
        except ValueError as err:
            ap.error(str(err))


def default_threads(device: torch.device) -> int:
    """Torch and Numba threads a trial gets: 2 on the CPU (the runs' machines); with a GPU
    every core, since the world steps on the CPU."""
    return (os.cpu_count() or 1) if device.type == "cuda" else 2


def world_only(cfg: WorldConfig, envs: int, steps: int, threads: int) -> float:
    """Agent-steps per second of the world alone, random actions."""
    world = World(cfg, n_envs=envs, seed=0, threads=threads)
    world.reset()
    acts = np.random.default_rng(0).integers(
        0, cfg.n_actions, (steps, envs, cfg.n_agents), np.int32
    )
    world.step(acts[0])
    t = time.perf_counter()
    for a in acts:
        world.step(a)
    return envs * cfg.n_agents * steps / (time.perf_counter() - t)


def one_run(world: WorldConfig, ppo: PPOConfig, updates: int) -> dict:
    """Train `updates` + 1 updates; time the last `updates` (the first pays for warm-up)."""
    ppo = ppo.model_copy(update={"total_timesteps": ppo.num_envs * ppo.num_steps * (updates + 1)})
    cuda = resolve_device(ppo.device).type == "cuda"
    if cuda:  # here, not in the caller: with --trials > 1 this runs in a child process
        torch.cuda.reset_peak_memory_stats()
    curve = train(world, ppo, seed=0).curve[1:]
    total = sum(r["rollout_s"] + r["update_s"] for r in curve)
    world_s = sum(r["world_s"] for r in curve)
    rollout_s = sum(r["rollout_s"] for r in curve)
    agent_steps = len(curve) * ppo.num_envs * ppo.num_steps * world.n_agents
    out = {
        "agent_steps_per_s": agent_steps / total,
        "share_world": world_s / total,
        "share_policy_in_rollout": (rollout_s - world_s) / total,
        "share_update": sum(r["update_s"] for r in curve) / total,
    }
    if cuda:
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def side_by_side(pool, world: WorldConfig, ppo: PPOConfig, updates: int, trials: int) -> dict:
    """`trials` trainings at once, one per process of `pool` (as `evo.run` trains one trial
    per one-thread Dask worker): their agent-steps/s summed, their time shares averaged."""
    if trials == 1:
        return one_run(world, ppo, updates)
    figs = list(pool.map(one_run, [world] * trials, [ppo] * trials, [updates] * trials))
    out = {k: statistics.mean(f[k] for f in figs) for k in figs[0]}
    out["agent_steps_per_s"] = sum(f["agent_steps_per_s"] for f in figs)
    if "peak_gpu_mb" in out:  # the trials share the one GPU
        out["peak_gpu_mb"] = sum(f["peak_gpu_mb"] for f in figs)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evo.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--envs", type=int, help="envs per trial (default: each setting's own)")
    ap.add_argument("--updates", type=int, default=3, help="timed updates per run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per learner")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument(
        "--threads",
        type=int,
        help="torch and Numba threads per trial (default: 2 on the CPU; with a GPU every core, "
        "since the world steps on the CPU)",
    )
    ap.add_argument(
        "--trials",
        type=int,
        default=1,
        help="trials trained at once, one per process (the runs: 2 one-thread trials on 2 "
        "cores); their agent-steps/s are summed",
    )
    ap.add_argument("--modes", nargs="+", default=["individual", "shared"])
    ap.add_argument("--settings", nargs="+", default=["runs", "large"], choices=["runs", "large"])
    add_learners_argument(
        ap, "new, old or POLICY[:field=value,...] each; the first is compared with the second"
    )
    args = ap.parse_args(argv)
    check_learners(ap, args.learners, PPOConfig())
    if args.trials < 1:
        ap.error("--trials must be >= 1")
    try:
        device = resolve_device(args.device)
    except RuntimeError as err:
        ap.error(f"--device {args.device}: {err}")
    if args.threads is None:
        args.threads = default_threads(device)
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    pool = None
    if args.trials > 1:
        pool = ProcessPoolExecutor(args.trials, mp_context=multiprocessing.get_context("spawn"))
    emit(
        bench="machine",
        device=str(device),
        gpu=torch.cuda.get_device_name() if device.type == "cuda" else None,
        torch=torch.__version__,
        threads=args.threads,
        trials_at_once=args.trials,
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
    )
    chosen = {k: v for k, v in settings().items() if k in args.settings}
    for setting, (world, base) in chosen.items():
        base = base.model_copy(update={"device": args.device, "torch_threads": args.threads})
        envs = resolve(setting, base, "new", args.envs).num_envs
        emit(
            bench="world_only",
            setting=setting,
            envs=envs,
            agents=world.n_agents,
            agent_steps_per_s=round(world_only(world, envs, 500, args.threads)),
        )
        for mode in args.modes:
            runs = {p: [] for p in args.learners}
            for _ in range(args.rounds):
                for spec in args.learners:
                    ppo = resolve(setting, base.model_copy(update={"mode": mode}), spec, args.envs)
                    runs[spec].append(side_by_side(pool, world, ppo, args.updates, args.trials))
            for spec, figs in runs.items():
                ppo = resolve(setting, base.model_copy(update={"mode": mode}), spec, args.envs)
                net = Ensemble([make_policy(world, ppo)], torch.device("cpu"))
                speeds = [f["agent_steps_per_s"] for f in figs]
                best = max(figs, key=lambda f: f["agent_steps_per_s"])
                emit(
                    bench="train",
                    setting=setting,
                    mode=mode,
                    learner=spec,
                    policy=ppo.policy,
                    envs=ppo.num_envs,
                    agents=world.n_agents,
                    steps=ppo.num_steps,
                    channels=ppo.channels,
                    hidden=ppo.hidden,
                    epochs=ppo.update_epochs,
                    minibatches=ppo.num_minibatches,
                    params_per_individual=net.n_params,
                    macs_per_sample=count_macs(make_policy(world, ppo)),
                    agent_steps_per_s_best=round(max(speeds)),
                    agent_steps_per_s_median=round(statistics.median(speeds)),
                    rounds=len(speeds),
                    **{k: round(v, 3) for k, v in best.items() if k.startswith("share")},
                    peak_gpu_mb=round(best["peak_gpu_mb"]) if "peak_gpu_mb" in best else None,
                    trials_at_once=args.trials,
                    peak_rss_mb_so_far=round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                    ),
                )
            if len(args.learners) > 1:
                new, old = args.learners[0], args.learners[1]
                ratios = [
                    a["agent_steps_per_s"] / b["agent_steps_per_s"]
                    for a, b in zip(runs[new], runs[old], strict=True)
                ]
                emit(
                    bench="ratio",
                    setting=setting,
                    mode=mode,
                    faster=new,
                    than=old,
                    ratio_best=round(
                        max(f["agent_steps_per_s"] for f in runs[new])
                        / max(f["agent_steps_per_s"] for f in runs[old]),
                        2,
                    ),
                    ratio_median_of_rounds=round(statistics.median(ratios), 2),
                )
    if pool is not None:
        pool.shutdown()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
