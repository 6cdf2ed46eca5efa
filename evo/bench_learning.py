"""Learning benchmarks; prints one JSON line per figure.

    python -m evo.bench_learning curves --seeds 0 1 2      # sample efficiency, new vs old
    python -m evo.bench_learning blind --seeds 0 1 2       # does the policy use what it sees?
    python -m evo.bench_learning sweep-update --seeds 0 1 2  # epochs x minibatches

``curves``: hearts per agent-episode against agent-steps for each learner on the same tasks
and seeds (``seeing`` below and runs/population.yaml's world and ppo sections), then, per
task, the last learner's final level (mean of its last updates, median over seeds), the
agent-steps each learner needs to reach it, and each other learner's median final minus the
last one's with a 95% bootstrap interval (`median_difference`). A learner is ``new`` (the
task as it is), ``old`` (the learner as it first shipped) or ``POLICY[:field=value,...]``,
as in `evo.bench`; by default ``new`` beside ``old``.

``blind``: trains on the seeing task and scores, on the same fresh episodes, the trained
policy, the same policy with its observation planes zeroed, a blind actor drawing from the
trained policy's own action frequencies, and uniformly random actions.

``sweep-update``: for each (update_epochs, num_minibatches) pair, on the same task and seeds,
the final level (hearts per agent-episode, mean of the last updates, median over seeds) and
the agent-steps to reach the first pair's final level; then the pairs' training speed,
measured in alternating rounds in this process (so under one load), and from both the
wall-seconds each pair needs to reach that level.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np

from evo.bench import add_learners_argument, check_learners, one_run, resolve
from evo.checkpoint import Checkpoint
from evo.config import PPOConfig, load_run_config
from evo.evaluate import FrequencyActor, PolicyActor, play_episodes
from evo.ppo import train
from kinevo.config import load_section
from world.config import WorldConfig

RUNS_YAML = Path(__file__).resolve().parent.parent / "runs" / "population.yaml"

# One agent, one altar placed anew every episode anywhere in an open 7x7 room: to make hearts
# the agent must walk to where it sees the altar, face it and use it. An agent blind to the
# planes can only wander and use at random.
SEEING = WorldConfig(
    n_agents=1,
    width=7,
    height=7,
    max_steps=64,
    start_energy=100,
    altar_cost=5,
    altar_cooldown=0,
    map={"kind": "scatter", "mines": 0, "chargers": 0, "altars": 1, "wall_density": 0.0},
)
SEEING_PPO = PPOConfig(  # the new default learner, sized as the runs' (runs/population.yaml)
    total_timesteps=64 * 16 * 128,
    num_envs=64,
    num_steps=16,
    learning_rate=1e-2,
    channels=8,
    hidden=64,
    torch_threads=1,
)


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def runs_learning_rate() -> float:
    """The middle (log scale) of runs/population.yaml's learning_rate gene range: about what
    a run's individuals learn at."""
    genes = load_run_config(RUNS_YAML).genes
    gene = next(g for g in genes if g.name == "learning_rate")
    return math.sqrt(gene.low * gene.high)


def tasks() -> dict[str, tuple[WorldConfig, PPOConfig]]:
    """``seeing`` (above); ``runs``: runs/population.yaml's world and ppo sections at the
    middle of its learning_rate gene range (`runs_learning_rate`), one generation's training
    (too short to show learning much above noise); ``runs-long``: the same trained 4 times
    longer, about what an individual's weights receive over a few lamarckian generations."""
    runs_world = load_section(RUNS_YAML, "world", WorldConfig)
    runs_ppo = load_section(RUNS_YAML, "ppo", PPOConfig)
    runs_ppo = runs_ppo.model_copy(update={"learning_rate": runs_learning_rate()})
    long = {"total_timesteps": 4 * runs_ppo.total_timesteps}
    return {
        "seeing": (SEEING, SEEING_PPO),
        "runs": (runs_world, runs_ppo),
        "runs-long": (runs_world, runs_ppo.model_copy(update=long)),
    }


def blind_comparison(
    world: WorldConfig, ppo: PPOConfig, seed: int, episodes: int = 64, eval_seed: int = 1000
) -> dict:
    """Train with `seed`, then own hearts per agent-episode of the trained policy, the same
    policy with zeroed planes, its action frequencies played blind, and uniform random."""
    t = time.perf_counter()
    result = train(world, ppo, seed=seed)
    train_s = time.perf_counter() - t
    ck = Checkpoint(world, ppo, result.states, {}, list(range(len(result.states))), {})
    actor = PolicyActor(ck, episodes, seed=eval_seed)
    hearts = {"trained": play_episodes(world, actor, episodes, seed=eval_seed)}
    zeroed = PolicyActor(ck, episodes, seed=eval_seed, blind=True)
    hearts["zeroed"] = play_episodes(world, zeroed, episodes, seed=eval_seed)
    freq = FrequencyActor(actor.action_counts, seed=eval_seed)
    hearts["action_frequency"] = play_episodes(world, freq, episodes, seed=eval_seed)
    hearts["random"] = play_episodes(world, None, episodes, seed=eval_seed)
    out = {k: v["hearts_per_agent_episode"] for k, v in hearts.items()}
    out["train_s"] = train_s
    out["agent_steps"] = result.agent_steps
    return out


def reach(curve: list[dict], level: float, window: int = 3) -> int | None:
    """Agent-steps at which the moving mean (over `window` updates) of hearts per
    agent-episode first reaches `level`; None if it never does."""
    h = [r["hearts_per_agent_episode"] for r in curve]
    for k in range(window - 1, len(h)):
        if np.mean(h[k - window + 1 : k + 1]) >= level:
            return curve[k]["agent_steps"]
    return None


def median_difference(
    a: list[float], b: list[float], resamples: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """median(a) - median(b) and its percentile bootstrap interval at `level`, resampling each
    list on its own (the seeds of two learners follow different trajectories, so they are not
    treated as pairs). Seeded, so the same finals give the same interval."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 finals per learner, got {len(a)} and {len(b)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mx = np.median(x[rng.integers(0, len(x), (resamples, len(x)))], axis=1)
    my = np.median(y[rng.integers(0, len(y), (resamples, len(y)))], axis=1)
    low, high = np.quantile(mx - my, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(x) - np.median(y)), float(low), float(high)


def curves(names: list[str], learners: list[str], seeds: list[int], last: int) -> None:
    for task, (world, ppo) in tasks().items():
        if task not in names:
            continue
        finals: dict[str, list[float]] = {p: [] for p in learners}
        runs: dict[str, list[list[dict]]] = {p: [] for p in learners}
        for seed in seeds:
            for spec in learners:
                cfg = resolve(task, ppo, spec)
                t = time.perf_counter()
                curve = train(world, cfg, seed=seed).curve
                runs[spec].append(curve)
                finals[spec].append(
                    float(np.mean([r["hearts_per_agent_episode"] for r in curve[-last:]]))
                )
                emit(
                    bench="curve",
                    task=task,
                    learner=spec,
                    seed=seed,
                    seconds=round(time.perf_counter() - t, 1),
                    agent_steps=[r["agent_steps"] for r in curve],
                    hearts_per_agent_episode=[
                        round(r["hearts_per_agent_episode"], 3) for r in curve
                    ],
                    final=round(finals[spec][-1], 3),
                )
        old = learners[-1]
        level = statistics.median(finals[old])
        for spec in learners:
            at = [reach(c, level) for c in runs[spec]]
            diff = {}
            if spec != old and len(seeds) >= 2:
                d, low, high = median_difference(finals[spec], finals[old])
                diff = {
                    "final_median_minus_reference": round(d, 3),
                    "bootstrap_95": [round(low, 3), round(high, 3)],
                }
            emit(
                bench="reach",
                task=task,
                learner=spec,
                target=f"median final level of {old} (last {last} updates)",
                level=round(level, 3),
                final_median=round(statistics.median(finals[spec]), 3),
                agent_steps_to_reach=at,
                **diff,
            )


def sweep_update(
    task: str, pairs: list[tuple[int, int]], seeds: list[int], last: int, rounds: int
) -> None:
    """Sample efficiency and speed of each (epochs, minibatches) pair; see the docstring."""
    world, base = tasks()[task]
    finals: dict[tuple, list[float]] = {p: [] for p in pairs}
    runs: dict[tuple, list[list[dict]]] = {p: [] for p in pairs}
    for seed in seeds:
        for pair in pairs:
            cfg = base.model_copy(update={"update_epochs": pair[0], "num_minibatches": pair[1]})
            curve = train(world, cfg, seed=seed).curve
            runs[pair].append(curve)
            finals[pair].append(
                float(np.mean([r["hearts_per_agent_episode"] for r in curve[-last:]]))
            )
            emit(
                bench="sweep_curve",
                task=task,
                epochs=pair[0],
                minibatches=pair[1],
                seed=seed,
                agent_steps=[r["agent_steps"] for r in curve],
                hearts_per_agent_episode=[round(r["hearts_per_agent_episode"], 3) for r in curve],
                final=round(finals[pair][-1], 3),
            )
    speeds: dict[tuple, list[float]] = {p: [] for p in pairs}
    for _ in range(rounds):
        for pair in pairs:
            cfg = base.model_copy(update={"update_epochs": pair[0], "num_minibatches": pair[1]})
            speeds[pair].append(one_run(world, cfg, updates=3)["agent_steps_per_s"])
    level = statistics.median(finals[pairs[0]])
    for pair in pairs:
        at = [reach(c, level) for c in runs[pair]]
        speed = max(speeds[pair])
        emit(
            bench="sweep",
            task=task,
            epochs=pair[0],
            minibatches=pair[1],
            policy=base.policy,
            seeds=seeds,
            final_median=round(statistics.median(finals[pair]), 3),
            finals=[round(f, 3) for f in finals[pair]],
            level=round(level, 3),
            agent_steps_to_level=at,
            agent_steps_per_s_best=round(speed),
            speed_vs_first=round(speed / max(speeds[pairs[0]]), 2),
            seconds_to_level=[None if a is None else round(a / speed, 1) for a in at],
            final_per_train_second=round(
                statistics.median(finals[pair]) / (runs[pair][0][-1]["agent_steps"] / speed), 4
            ),
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m evo.bench_learning", description=__doc__.split("\n")[0]
    )
    ap.add_argument("what", choices=["curves", "blind", "sweep-update"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--tasks", nargs="+", default=["seeing", "runs", "runs-long"])
    add_learners_argument(
        ap, "new, old or POLICY[:field=value,...] each; curves: the last is the reference"
    )
    ap.add_argument("--last", type=int, default=5, help="updates averaged for a final level")
    ap.add_argument(
        "--pairs",
        nargs="+",
        default=["4x4", "2x4", "1x4", "2x2", "4x2", "2x1"],
        help="sweep-update: EPOCHSxMINIBATCHES, the first is the reference",
    )
    ap.add_argument("--rounds", type=int, default=3, help="sweep-update: speed rounds")
    args = ap.parse_args(argv)
    check_learners(ap, args.learners, SEEING_PPO)
    if args.what == "sweep-update":
        pairs = [tuple(int(v) for v in p.split("x")) for p in args.pairs]
        for task in args.tasks:
            sweep_update(task, pairs, args.seeds, args.last, args.rounds)
        return
    if args.what == "curves":
        curves(args.tasks, args.learners, args.seeds, args.last)
        return
    for spec in args.learners:
        for seed in args.seeds:
            fig = blind_comparison(SEEING, resolve("seeing", SEEING_PPO, spec), seed)
            emit(bench="blind", learner=spec, seed=seed, **{k: round(v, 3) for k, v in fig.items()})


if __name__ == "__main__":
    main()
