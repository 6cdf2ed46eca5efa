"""Run eval suites on checkpoints and store the scores in an eval database.

    python -m analysis.evaluate CHECKPOINT... --suite NAME|all --db FILE [--episodes N] [--seed S]

CHECKPOINT is a checkpoint (`gNNNN_uidU.pt` or `.json`, as evo.run writes them) or a run
folder (every checkpoint in RUN/checkpoints). The random and scripted baselines are evaluated
too, once per task and episode count, so every heatmap has them. A task whose scripted solver
fails is reported as broken. Exit status 2, with one message, for a bad checkpoint, an unknown
suite or a malformed database.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from analysis import evaldb
from analysis.suites import SUITES, Task, play_task, tasks_of
from evo.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from evo.evaluate import PolicyActor
from world.config import WorldConfig

BASELINES = ("random", "scripted")


class CheckpointActors:
    """A `play_task` actor factory for one checkpoint: slot i of a scene plays member i mod G
    (or the shared member); the scene keeps the checkpoint's observation shape (`like`)."""

    def __init__(self, ck: Checkpoint, greedy: bool = False):
        self.ck, self.like, self.greedy = ck, ck.world, greedy

    def __call__(self, task: Task, cfg: WorldConfig, n_envs: int, seed: int) -> PolicyActor:
        ck = dataclasses.replace(self.ck, world=cfg)
        return PolicyActor(ck, n_envs, seed, self.greedy, cycle_members=True)


def checkpoint_paths(items: list[str]) -> list[Path]:
    """Checkpoint .pt paths from files and run folders (ValueError when none is found)."""
    out = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted((p / "checkpoints").glob("*.pt")) or sorted(p.glob("*.pt"))
            if not found:
                raise ValueError(f"{p}: no checkpoints (*.pt) in it or in its checkpoints/")
            out += found
        else:
            out.append(p.with_suffix(".pt") if p.suffix == ".json" else p)
    return out


def describe(path: Path, ck: Checkpoint) -> tuple[str, str, int]:
    """(policy uri, run name, generation) of a checkpoint file."""
    path = path.resolve()
    run = path.parent.parent.name if path.parent.name == "checkpoints" else path.parent.name
    return path.as_uri(), run, int(ck.extra.get("generation", -1))


def evaluate(actor, tasks: list[Task], policy: str, run: str, generation: int, episodes: int,
             seed: int) -> list[evaldb.Result]:  # fmt: skip
    """Play every task and return its results as rows."""
    rows = []
    for task in tasks:
        t0 = time.perf_counter()
        res = play_task(task, actor, episodes, seed)
        rows.append(
            evaldb.Result(
                policy,
                run,
                generation,
                task.suite,
                task.name,
                episodes,
                float(res["score"]),
                time.perf_counter() - t0,
                evaldb.now(),
            )  # fmt: skip
        )
    return rows


def ensure_baselines(db: str | Path, tasks: list[Task], episodes: int, seed: int = 0) -> list:
    """Evaluate the random and scripted baselines on the tasks the database lacks them for."""
    have = set()
    if Path(db).is_file():
        have = {(r.policy, r.suite, r.task) for r in evaldb.read(db)}
    rows = []
    for name in BASELINES:
        todo = [t for t in tasks if (f"baseline:{name}", t.suite, t.name) not in have]
        rows += evaluate(name, todo, f"baseline:{name}", "", -1, episodes, seed)
    evaldb.insert(db, rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m analysis.evaluate", description=__doc__.split("\n")[0]
    )
    ap.add_argument("checkpoints", nargs="*", help="checkpoint files or run folders")
    ap.add_argument("--suite", default="all", help=f"one of {', '.join(SUITES)}, or all")
    ap.add_argument("--db", required=True, help="eval database (SQLite), created if missing")
    ap.add_argument("--episodes", type=int, default=16, help="episodes per task")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--greedy", action="store_true", help="most likely action, not sampled")
    args = ap.parse_args(argv)
    try:
        if args.episodes < 2:
            raise ValueError(f"--episodes must be >= 2, got {args.episodes}")
        tasks = tasks_of(args.suite)
        policies = []
        for path in checkpoint_paths(args.checkpoints):
            ck = load_checkpoint(path)
            policies.append((CheckpointActors(ck, args.greedy), *describe(path, ck)))
        if Path(args.db).exists():
            evaldb.read(args.db)  # refuse a malformed database before spending time
        rows = ensure_baselines(args.db, tasks, args.episodes, args.seed)
        for actor, uri, run, gen in policies:
            new = evaluate(actor, tasks, uri, run, gen, args.episodes, args.seed)
            evaldb.insert(args.db, new)
            rows += new
    except (ValueError, CheckpointError) as err:  # EvalDBError is a ValueError
        print(f"analysis.evaluate: {err}", file=sys.stderr)
        return 2
    for r in rows:
        task = f"{r.suite}/{r.task}"
        print(f"{r.policy:60s} {task:32s} score {r.score:.3f} ({r.episodes} episodes)")
    broken = [
        f"{r.suite}/{r.task}" for r in rows if r.policy == "baseline:scripted" and r.score < 1
    ]
    if broken:
        print(f"analysis.evaluate: broken task(s), the scripted solver fails: {broken}",
              file=sys.stderr)  # fmt: skip
    print(f"eval database: {args.db} ({len(rows)} new rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
