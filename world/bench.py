"""World throughput benchmark; prints one JSON line per figure.

    python -m world.bench                       # reference setting, batched, scaling, memory
    python -m world.bench --compare mettagrid   # also mettagrid's arena, same run, with ratio

Reference setting (mettagrid's arena): 24 agents, a 25x25 interior inside a 6-cell wall
border (37x37), 11x11 vision, uniformly random actions over each env's full action set, one
env, one thread, observations written every step, every optional feature off (they are all
compiled in). Rounds of ours, ours with each feature on, and mettagrid's alternate so that
machine noise hits them alike. Rates come from the best round (the least disturbed by other
work on the machine), with the median round beside them; `feature_cost` lines give each
feature's slowdown against the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numba
import numpy as np

from kinship.structures import random_kinship
from world.config import WorldConfig
from world.env import World


def reference_config(max_steps: int = 1000) -> WorldConfig:
    return WorldConfig(
        n_agents=24, width=25, height=25, border=6, vision_radius=5, max_steps=max_steps
    )


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


# Optional features, each on alone in the reference setting: (name, config fields). Kin
# sharing also sets random relatedness, genes at 0.5 and no choosiness (see `_Kinevo`).
_BODIES = {
    "bodies": [
        {"name": "worker", "move_cost": 0, "max_inventory": 8, "vision_radius": 3},
        {"name": "soldier", "move_cost": 2, "attack_strength": 2.0, "max_energy": 80},
        {"name": "scout", "max_inventory": 1},
    ]
}
_POSTURES = {"postures": {"enabled": True}}
_RECIPES = {
    "resources": [
        {"name": "ore", "max_inventory": 6},
        {"name": "battery", "max_inventory": 3},
        {"name": "heart", "max_inventory": 99, "reward": 1.0, "heart": True},
    ],
    "converters": [
        {"name": "ore_mine", "char": "o", "count": 4, "outputs": {"ore": 1}, "cooldown": 10},
        {
            "name": "factory",
            "char": "f",
            "count": 2,
            "inputs": {"ore": 3},
            "outputs": {"battery": 1},
        },
        {"name": "temple", "char": "t", "inputs": {"battery": 2}, "outputs": {"heart": 1}},
    ],
}
_BUILDING = {"building": {"enabled": True, "block_cost": 0}}  # free blocks: the most built
FEATURES = (
    ("sharing+mates", {"reward_sharing": "conserving"}),
    ("stagger_start", {"stagger_start": True}),
    ("bodies", _BODIES),
    ("postures", _POSTURES),
    ("recipes", _RECIPES),
    ("building", _BUILDING),
    ("bodies+postures+recipes+building", {**_BODIES, **_POSTURES, **_RECIPES, **_BUILDING}),
)


class _Kinevo:
    name = "kinevo"

    def __init__(
        self,
        cfg: WorldConfig,
        n_envs: int,
        steps: int,
        seed: int,
        kin: bool = False,
        name: str = "kinevo",
    ):
        self.name = name
        self.world = World(cfg, n_envs=n_envs, seed=seed)
        self.world.reset()
        if kin:
            # Conserving kin sharing over random relatedness, every agent's gene at 0.5, and
            # mate choices accepted from anyone: the costliest setting of the sharing code.
            rng = np.random.default_rng(seed)
            self.world.set_kinship(random_kinship(cfg.n_agents, rng))
            self.world.set_genes(
                kin_weight=np.full(cfg.n_agents, 0.5), choosiness=np.zeros(cfg.n_agents)
            )
        rng = np.random.default_rng(seed)
        self.actions = rng.integers(0, cfg.n_actions, (steps, n_envs, cfg.n_agents), np.int32)
        self.agents = n_envs * cfg.n_agents
        self.world.step(self.actions[0])  # compile outside the timing

    def run(self, steps: int) -> float:
        step, actions = self.world.step, self.actions
        t = time.perf_counter()
        for k in range(steps):
            step(actions[k])
        return time.perf_counter() - t


class _Mettagrid:
    name = "mettagrid"

    def __init__(self, steps: int, seed: int):
        from mettagrid.builder.envs import make_arena
        from mettagrid.simulator import Simulator

        cfg = make_arena(24)
        cfg.game.obs.width = cfg.game.obs.height = 11
        cfg.game.max_steps = 10**9  # no resets inside the timing (a cost ours does pay)
        self.sim = Simulator().new_simulation(cfg, seed=seed)
        self.c_sim = self.sim._c_sim  # the C++ simulation, stepped directly
        n_actions = len(self.sim.action_names)
        rng = np.random.default_rng(seed)
        buf = self.c_sim.actions()
        self.actions = rng.integers(0, n_actions, (steps, 24)).astype(buf.dtype)
        self.agents = 24
        self.n_actions = n_actions

    def run(self, steps: int) -> float:
        buf, step, actions = self.c_sim.actions(), self.c_sim.step, self.actions
        t = time.perf_counter()
        for k in range(steps):
            buf[:] = actions[k]
            step()
        return time.perf_counter() - t


def bench_reference(steps: int, rounds: int, compare: bool, seed: int) -> None:
    numba.set_num_threads(1)
    ours = _Kinevo(reference_config(), 1, steps, seed)
    rivals = [ours]
    for feature, fields in FEATURES:
        cfg = WorldConfig(**{**reference_config().model_dump(), **fields})
        kin = "reward_sharing" in fields
        rivals.append(_Kinevo(cfg, 1, steps, seed, kin=kin, name=f"kinevo+{feature}"))
    if compare:
        try:
            rivals.append(_Mettagrid(steps, seed))
        except ImportError:
            sys.exit("--compare mettagrid needs mettagrid: pip install -e '.[bench]'")
    times: dict[str, list[float]] = {r.name: [] for r in rivals}
    for _ in range(rounds):
        for r in rivals:
            times[r.name].append(r.run(steps))
    rate = {}
    for r in rivals:
        best, med = min(times[r.name]), float(np.median(times[r.name]))
        rate[r.name] = r.agents * steps / best
        emit(
            bench="reference",
            engine=r.name,
            agents=r.agents,
            grid="37x37",
            vision="11x11",
            threads=1,
            steps_per_round=steps,
            rounds=rounds,
            agent_steps_per_s=round(rate[r.name]),
            agent_steps_per_s_median=round(r.agents * steps / med),
            us_per_env_step=round(best / steps * 1e6, 2),
            n_actions=r.n_actions if hasattr(r, "n_actions") else r.world.n_actions,
        )
    for feature, _ in FEATURES:
        emit(
            bench="feature_cost",
            feature=feature,
            slowdown=round(1 - rate[f"kinevo+{feature}"] / rate["kinevo"], 4),
            target_at_most=0.10,
        )
    if compare:
        emit(
            bench="reference_ratio",
            ratio=round(rate["kinevo"] / rate["mettagrid"], 3),
            target=5.0,
            kinevo_agent_steps_per_s=round(rate["kinevo"]),
            mettagrid_agent_steps_per_s=round(rate["mettagrid"]),
        )


def bench_batched(n_envs: int, steps: int, rounds: int, seed: int) -> None:
    cores = os.cpu_count() or 1
    threads_list = sorted({1, min(2, cores), cores})
    bench = _Kinevo(reference_config(), n_envs, steps, seed)
    times: dict[int, list[float]] = {t: [] for t in threads_list}
    for threads in threads_list:  # warm each thread count once
        numba.set_num_threads(threads)
        bench.run(2)
    for _ in range(rounds):  # thread counts alternate so that machine noise hits them alike
        for threads in threads_list:
            numba.set_num_threads(threads)
            times[threads].append(bench.run(steps))
    rates = {}
    for threads in threads_list:
        rates[threads] = bench.agents * steps / min(times[threads])
        emit(
            bench="batched",
            envs=n_envs,
            agents_per_env=24,
            threads=threads,
            agent_steps_per_s=round(rates[threads]),
            agent_steps_per_s_median=round(bench.agents * steps / float(np.median(times[threads]))),
        )
    if 2 in rates:
        emit(
            bench="thread_scaling",
            envs=n_envs,
            speedup_1_to_2=round(rates[2] / rates[1], 3),
            target=1.7,
        )
    world = bench.world
    emit(
        bench="memory",
        bytes_per_env=world.nbytes() // n_envs,
        obs_bytes_per_env=world.obs.nbytes // n_envs,
        envs=n_envs,
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m world.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--compare", choices=["mettagrid"], help="also step this reference engine")
    ap.add_argument("--steps", type=int, default=3000, help="env steps per timed round")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds (best and median reported)")
    ap.add_argument("--envs", type=int, default=64, help="envs in the batched setting")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-batched", action="store_true", help="only the reference setting")
    args = ap.parse_args(argv)
    emit(bench="machine", cores=os.cpu_count(), numba=numba.__version__, numpy=np.__version__)
    bench_reference(args.steps, args.rounds, args.compare == "mettagrid", args.seed)
    if not args.skip_batched:
        bench_batched(args.envs, max(100, args.steps // args.envs * 4), args.rounds, args.seed)


if __name__ == "__main__":
    main()
