"""Pedigree relatedness benchmark at evolution scale; prints JSON lines.

    python -m kinship.bench                          # 1,000 and 10,000 a generation, 20 generations
    python -m kinship.bench --sizes 1000 --generations 50 --dense-max 2000

A generation is what `evo.evolution.Evolution._update_pedigree` and the trials ask of the
pedigree: elites (10%) survive, the others are children of random living parents (5% selfed,
2% with an unknown parent); the new uids are added, the dead retired, then every trial's
relatedness is read (each individual in `--trials` trials of `--agents` agents).

Lines:
- `pedigree`: one method and size in a fresh process, so `peak_rss_mb` (getrusage) is its own;
  the first generation (which allocates the second matrix) is reported apart from the rest;
  `lineage_mb` is the record of everyone ever added (grows 32 + 16 bytes an individual);
  `base_rss_mb` is the process after imports and a warm-up, before the pedigree. Seconds are
  wall-clock and CPU (the process's threads together; on a loaded machine wall-clock grows
  while CPU stays).
  Methods: `float32` (the default `Pedigree`), `float64` (`Pedigree(dtype=np.float64)`),
  `dense` (`kinship.pedigree_dense.DensePedigree`, the first implementation; only up to
  `--dense-max` individuals, as it needs 8 (2n)^2 bytes and more while adding).
- `pedigree-vs-dense`: the methods side by side in one process, generation by generation on
  the same pedigree, at the sizes up to `--dense-max`; `ratio` = dense time / method time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

from kinship.pedigree import Pedigree
from kinship.pedigree_dense import DensePedigree

METHODS = {
    "float32": lambda: Pedigree(),
    "float64": lambda: Pedigree(dtype=np.float64),
    "dense": DensePedigree,
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def generations(n: int, count: int, seed: int = 0):
    """Yield (generation, uid, parent_a, parent_b) of each generation in population order,
    founders first: elites keep their uid and parents, children get new uids."""
    rng = np.random.default_rng(seed)
    uid = np.arange(n)
    pa = np.full(n, -1)
    pb = np.full(n, -1)
    yield 0, uid, pa, pb
    next_uid = n
    for g in range(1, count + 1):
        elite = rng.choice(n, n // 10, replace=False)
        k = n - len(elite)
        ca, cb = rng.choice(uid, k), rng.choice(uid, k)
        selfed = rng.random(k) < 0.05
        cb[selfed] = ca[selfed]
        ca[rng.random(k) < 0.02] = -1
        kids = np.arange(next_uid, next_uid + k)
        next_uid += k
        uid = np.concatenate([uid[elite], kids])
        pa = np.concatenate([pa[elite], ca])
        pb = np.concatenate([pb[elite], cb])
        yield g, uid, pa, pb


def step(ped, g, uid, pa, pb, trials: list[np.ndarray]) -> tuple[float, float]:
    """One generation as the evolution loop does it; returns the seconds it took, wall-clock
    and CPU (all threads of the process: what it costs on a machine shared with others)."""
    t0, c0 = time.perf_counter(), time.process_time()
    new = [k for k, x in enumerate(uid) if int(x) not in ped]
    if new:
        ped.add(uid[new], pa[new], pb[new], generation=g)
    alive = {int(x) for x in uid}
    ped.retire([u for u in ped.active if u not in alive])
    for members in trials:
        ped.relatedness(uid[members].tolist())
    return time.perf_counter() - t0, time.process_time() - c0


def _trials(n: int, agents: int, per_individual: int, rng) -> list[np.ndarray]:
    out = []
    for _ in range(per_individual):
        perm = rng.permutation(n)
        out += [perm[k : k + agents] for k in range(0, n, agents)]
    return out


def _warm_up() -> None:
    p = Pedigree()
    p.add([0, 1])
    p.add([2], [0], [1])
    p.relatedness([0, 2])


def one(method: str, n: int, count: int, agents: int, per_individual: int, seed: int) -> dict:
    _warm_up()
    base = _rss_mb()
    ped = METHODS[method]()
    rng = np.random.default_rng(seed + 1)
    times, cpu = [], []
    for g, uid, pa, pb in generations(n, count, seed):
        t, c = step(ped, g, uid, pa, pb, _trials(n, agents, per_individual, rng))
        if g:
            times.append(t)
            cpu.append(c)
    return {
        "bench": "pedigree",
        "method": method,
        "individuals_per_generation": n,
        "generations": count,
        "trial_queries_per_generation": per_individual * -(-n // agents),
        "s_first_generation": round(times[0], 3),
        "cpu_s_first_generation": round(cpu[0], 3),
        "s_per_generation": round(float(np.mean(times[1:])), 3),
        "s_per_generation_max": round(float(np.max(times[1:])), 3),
        "cpu_s_per_generation": round(float(np.mean(cpu[1:])), 3),
        "cpu_s_per_generation_max": round(float(np.max(cpu[1:])), 3),
        "peak_rss_mb": round(_rss_mb()),
        "base_rss_mb": round(base),
        "mean_inbreeding_last_generation": round(float(ped.inbreeding(uid).mean()), 4),
        "individuals_recorded": len(ped),
        "lineage_mb": _lineage_mb(ped),
    }


def _lineage_mb(ped) -> float | None:
    """Memory of the record of everyone (not the matrix); None for the dense reference's
    networkx graph (about 1 kB an individual, measured with tracemalloc)."""
    if isinstance(ped, DensePedigree):
        return None
    ped._find([0])  # the sorted index, built when an old uid is looked up
    arrays = [*ped.records(), *ped._sorted]
    return round(sum(a.nbytes for a in arrays) / 2**20, 1)


def side_by_side(n: int, count: int, agents: int, per_individual: int, seed: int) -> dict:
    _warm_up()
    peds = {m: make() for m, make in METHODS.items()}
    rng = np.random.default_rng(seed + 1)
    total = dict.fromkeys(peds, 0.0)
    for g, uid, pa, pb in generations(n, count, seed):
        trials = _trials(n, agents, per_individual, rng)
        for m, ped in peds.items():
            t, _ = step(ped, g, uid, pa, pb, trials)
            total[m] += t if g else 0.0
    dense = total["dense"]
    r_dense = peds["dense"].relatedness(uid)
    return {
        "bench": "pedigree-vs-dense",
        "individuals_per_generation": n,
        "generations": count,
        **{f"{m}_s_per_generation": round(t / count, 4) for m, t in total.items()},
        **{f"ratio_{m}": round(dense / total[m], 1) for m in peds if m != "dense"},
        **{
            f"max_abs_diff_r_{m}": float(np.abs(peds[m].relatedness(uid) - r_dense).max())
            for m in peds
            if m != "dense"
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m kinship.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--generations", type=int, default=20)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--dense-max", type=int, default=2000, help="largest size run with dense")
    ap.add_argument("--agents", type=int, default=4, help="agents per trial")
    ap.add_argument("--trials", type=int, default=1, help="trials per individual")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    common = (args.generations, args.agents, args.trials, args.seed)
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), *common)), flush=True)
        return
    for n in args.sizes:
        for m in args.methods:
            if m == "dense" and n > args.dense_max:
                continue
            cmd = [sys.executable, "-m", "kinship.bench", "--one", m, str(n)]
            cmd += ["--generations", str(args.generations), "--agents", str(args.agents)]
            cmd += ["--trials", str(args.trials), "--seed", str(args.seed)]
            subprocess.run(cmd, check=True)
    for n in args.sizes:
        if n <= args.dense_max:
            print(json.dumps(side_by_side(n, *common)), flush=True)


if __name__ == "__main__":
    main()
