"""Draw the policy x task heatmap of an eval database.

    python -m analysis.heatmap --db FILE [--out PNG]

Rows: the random and scripted baselines first (evaluated now for any task the database lacks
them for), then every evaluated policy by run and generation; columns: suite/task; cells: the
latest score. Exit status 2, with one message, for a missing or malformed database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from analysis import evaldb
from analysis.suites import TASKS


def score_table(rows: list[evaldb.Result]) -> tuple[np.ndarray, list[str], list[str]]:
    """(scores float[policies, tasks], policy labels, task keys); the latest row wins, NaN
    where a policy was not evaluated on a task."""
    order = {t.key: k for k, t in enumerate(TASKS)}
    tasks = sorted({f"{r.suite}/{r.task}" for r in rows}, key=lambda k: (order.get(k, 1e9), k))
    labels: dict[str, tuple] = {}
    for r in rows:
        if r.policy.startswith("baseline:"):
            name = r.policy.removeprefix("baseline:")
            labels[r.policy] = (
                0,
                ("random", "scripted").index(name) if name in ("random", "scripted") else 2,
                name,
            )
        else:
            stem = Path(r.policy.removeprefix("file://")).stem
            labels[r.policy] = (
                1,
                (r.run, r.generation, stem),
                f"{r.run}/{stem}" if r.run else stem,
            )
    policies = sorted(labels, key=lambda p: labels[p][:2])
    scores = np.full((len(policies), len(tasks)), np.nan)
    for r in rows:  # insertion order: later rows overwrite earlier ones
        scores[policies.index(r.policy), tasks.index(f"{r.suite}/{r.task}")] = r.score
    return scores, [labels[p][2] for p in policies], tasks


def heatmap_figure(db: str | Path, episodes: int = 16):
    """The heatmap Figure of the database at `db`, after adding missing baselines."""
    from analysis.evaluate import ensure_baselines
    from analysis.plots import heatmap_plot

    rows = evaldb.read(db)
    if not rows:
        raise evaldb.EvalDBError(f"{db}: no results to draw")
    keys = {(r.suite, r.task) for r in rows}
    ensure_baselines(db, [t for t in TASKS if (t.suite, t.name) in keys], episodes)
    scores, policies, tasks = score_table(evaldb.read(db))
    return heatmap_plot(scores, policies, tasks, title=f"Policy x task scores ({Path(db).name})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m analysis.heatmap", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--db", required=True, help="eval database (SQLite)")
    ap.add_argument("--out", help="PNG to write (default: the database path with .png)")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.db).with_suffix(".png")
    try:
        fig = heatmap_figure(args.db)
    except ValueError as err:
        print(f"analysis.heatmap: {err}", file=sys.stderr)
        return 2
    from analysis.plots import save

    save(fig, out)
    print(f"heatmap: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
