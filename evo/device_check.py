"""The GPU checks, in one call: does the learner compute the same numbers on the device as on
the CPU, give the same result for the same seed, learn, and how fast is it. Prints one JSON
line per figure.

    bash .gpu/check.sh                            # on a machine with a GPU (docs/speed.md, "GPU")
    python -m evo.device_check --device cpu --quick    # the same code path here, small

Checks, in this order (the cheap ones first, so that a short lease still answers them):

- ``same_update``: one rollout collected on the CPU, then one PPO update (2 epochs of
  minibatches, `GroupAdam`) from the same weights and the same minibatch order on the CPU
  and on the device, for each policy and mode, in full float32; the two results must lie
  within 1% of how far the update moved the weights (norms over all of them). A device-only
  bug in the layout, the loss or the optimiser moves them apart by about 100%. The planes
  stored into a device buffer must equal the CPU's.
- ``same_seed``: two trainings in the runs' setting on the device with the same seed must
  end with the same weights and learning curve (same config and seed, same archive).
- ``learns``: the blind comparison of `evo.bench_learning` on the device, seed 0: the trained
  policy against its zeroed planes, its own action frequencies and uniform random.
- then `evo.bench` on the device, each ``--envs`` in turn (world alone, both settings, modes
  and learners).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

from evo import bench
from evo.bench import emit
from evo.bench_learning import SEEING, SEEING_PPO, blind_comparison
from evo.config import PPOConfig
from evo.policy import Ensemble, GroupAdam, make_policy
from evo.ppo import (  # the trainer's own pieces, so the check runs the code `train` runs
    Rollout,
    collect_rollout,
    compute_advantages,
    member_batch,
    resolve_device,
    store_planes,
    train,
    update,
)
from kinevo.seeding import global_torch_seed
from world.config import WorldConfig
from world.env import World


def same_update(world_cfg: WorldConfig, ppo: PPOConfig, device: torch.device) -> dict:
    """One rollout on the CPU, then one update from it on the CPU and on `device`; how far
    the two resulting weights lie apart, against how far the update moved them."""
    cpu = torch.device("cpu")
    G = world_cfg.n_agents if ppo.mode == "individual" else 1
    world = World(world_cfg, n_envs=ppo.num_envs, seed=0, threads=ppo.torch_threads)
    world.reset()
    with global_torch_seed(0):
        models = [make_policy(world_cfg, ppo) for _ in range(G)]
    net = Ensemble(models, cpu)
    buf = Rollout.allocate(ppo.num_steps, world, net.hidden, cpu, G)
    collect_rollout(world, net, buf, torch.Generator().manual_seed(0))
    on_cpu, on_device = torch.empty_like(buf.grid[0]), torch.empty_like(buf.grid[0], device=device)
    store_planes(on_cpu, world.obs)
    store_planes(on_device, world.obs)
    planes_equal = torch.equal(on_device.cpu(), on_cpu)
    next_value = torch.zeros(ppo.num_envs, world_cfg.n_agents)
    adv, ret = compute_advantages(buf, next_value, ppo.gamma, ppo.gae_lambda)
    data = member_batch(net, buf, adv, ret)
    before = net.flat.clone()
    after = []  # the CPU's weights after the update, then the device's
    # TF32 (cuDNN's default for convs on a GPU) rounds inputs to 10 bits, and Adam's first
    # steps turn tiny gradient differences into whole steps: compare in full float32.
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        for where in (cpu, device):
            twin = Ensemble(models, where)
            lr = torch.full((G,), ppo.learning_rate, device=where)
            ent = torch.full((G,), ppo.ent_coef, device=where)
            core0 = torch.zeros((G, data["act"].shape[2], twin.hidden), device=where)
            skips = torch.zeros(G, dtype=torch.long, device=where)
            here = {k: v.to(where) for k, v in data.items()}
            update(
                twin, GroupAdam(twin.flat, eps=1e-5), here, core0, ppo, lr, ent,
                np.random.default_rng(0), skips,
            )  # fmt: skip
            after.append(twin.flat.detach().cpu())
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    moved = float(torch.linalg.vector_norm(after[0] - before))
    apart = float(torch.linalg.vector_norm(after[1] - after[0]))
    return {
        "planes_equal": planes_equal,
        "update_norm": moved,
        "difference_norm": apart,
        "agree": planes_equal and moved > 0 and apart <= 0.01 * moved,
    }


def same_seed(world_cfg: WorldConfig, ppo: PPOConfig) -> dict:
    """Train twice with seed 0; are the weights and the curve the same?"""
    first, second = (train(world_cfg, ppo, seed=0) for _ in range(2))
    weights = all(
        torch.equal(a[k], b[k]) for a, b in zip(first.states, second.states, strict=True) for k in a
    )
    losses = [{k: r[k] for k in ("pg_loss", "v_loss", "entropy")} for r in first.curve]
    curve = losses == [{k: r[k] for k in ("pg_loss", "v_loss", "entropy")} for r in second.curve]
    return {"weights_equal": weights, "curve_equal": curve, "updates": len(first.curve)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m evo.device_check", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a test of this code")
    ap.add_argument(
        "--envs", type=int, nargs="*", help="evo.bench runs, one per value (default: 1024; 8 quick)"
    )
    ap.add_argument("--rounds", type=int, default=1, help="evo.bench's alternating rounds")
    args = ap.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except RuntimeError as err:
        ap.error(f"--device {args.device}: {err}")
    if args.envs is None:
        args.envs = [8] if args.quick else [1024]
    if any(e < 1 for e in args.envs):
        ap.error("--envs must be >= 1")
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")
    import numba

    emit(
        bench="machine",
        device=str(device),
        gpu=torch.cuda.get_device_name() if device.type == "cuda" else None,
        torch=torch.__version__,
        cuda=torch.version.cuda,
        numba=numba.__version__,
        numpy=np.__version__,
        cpus=os.cpu_count(),
        python=sys.version.split()[0],
    )
    if device.type == "cuda":  # as `train` sets it on a GPU; same_update does not call train
        torch.backends.cudnn.deterministic = True
    threads = bench.default_threads(device)
    runs_world, runs_ppo = bench.settings()["runs"]
    runs_ppo = runs_ppo.model_copy(update={"device": args.device, "torch_threads": threads})
    for spec in ("new", "old"):
        for mode in ("individual", "shared"):
            ppo = bench.resolve("runs", runs_ppo.model_copy(update={"mode": mode}), spec)
            if args.quick:
                ppo = ppo.model_copy(update={"num_envs": 8, "num_steps": 8})
            t = time.perf_counter()
            fig = same_update(runs_world, ppo, device)
            emit(bench="same_update", learner=spec, policy=ppo.policy, mode=mode,
                 seconds=round(time.perf_counter() - t, 2), **fig)  # fmt: skip
    updates = 2 if args.quick else 4
    ppo = runs_ppo.model_copy(
        update={"total_timesteps": runs_ppo.num_envs * runs_ppo.num_steps * updates}
    )
    t = time.perf_counter()
    fig = same_seed(runs_world, ppo)
    emit(bench="same_seed", seconds=round(time.perf_counter() - t, 2), **fig)
    seeing = SEEING_PPO.model_copy(update={"device": args.device, "torch_threads": threads})
    if args.quick:
        seeing = seeing.model_copy(update={"total_timesteps": seeing.num_envs * seeing.num_steps})
    fig = blind_comparison(SEEING, seeing, seed=0, episodes=8 if args.quick else 64)
    blind = max(2 * fig["zeroed"], 2 * fig["action_frequency"], 5 * fig["random"])
    emit(
        bench="learns",
        seed=0,
        passes=fig["trained"] >= blind,  # the default suite's test asks this of 3 seeds' median
        **{k: round(v, 3) for k, v in fig.items()},
    )
    for envs in args.envs:
        bench_args = ["--device", args.device, "--envs", str(envs), "--threads", str(threads)]
        bench_args += ["--rounds", str(args.rounds)]
        if args.quick:
            bench_args += ["--updates", "1", "--settings", "runs", "--modes", "individual"]
        bench.main(bench_args)


if __name__ == "__main__":
    main()
