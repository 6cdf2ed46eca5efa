"""Pedigree relatedness benchmark; prints one JSON line per population size.

    python -m kinship.bench                      # 100 generations of 250 ... 2,000
    python -m kinship.bench --sizes 1000 --generations 100

Each generation: n children with parents drawn from the previous generation (so inbreeding
builds up), the parents retired afterwards, and the relatedness of one trial's 24 agents
read. Reported: total and per-generation time, the share spent in the networkx graph, and
the peak size of the active matrix.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from kinship.pedigree import Pedigree


def run(n: int, generations: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    p = Pedigree()
    cur = np.arange(n)
    p.add(cur)
    nxt = n
    t0 = time.perf_counter()
    query = 0.0
    for g in range(1, generations + 1):
        new = np.arange(nxt, nxt + n)
        nxt += n
        p.add(new, rng.choice(cur, n), rng.choice(cur, n), generation=g)
        p.retire(cur)
        cur = new
        tq = time.perf_counter()
        p.relatedness(rng.choice(cur, 24, replace=False))
        query += time.perf_counter() - tq
    total = time.perf_counter() - t0
    return {
        "bench": "pedigree",
        "individuals_per_generation": n,
        "generations": generations,
        "total_s": round(total, 3),
        "ms_per_generation": round(1000 * total / generations, 2),
        "us_per_trial_query_24": round(1e6 * query / generations, 1),
        "nodes_in_graph": len(p),
        "active_matrix_mb": round(8 * (2 * n) ** 2 / 2**20, 1),
        "mean_inbreeding_last_generation": round(float(p.inbreeding(cur).mean()), 4),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m kinship.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    ap.add_argument("--generations", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for n in args.sizes:
        print(json.dumps(run(n, args.generations, args.seed)), flush=True)


if __name__ == "__main__":
    main()
