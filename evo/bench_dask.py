"""Dask and archive benchmark; prints one JSON line per figure.

    python -m evo.bench_dask

The second generation of a run of runs/population.yaml (the main job: 16 individuals in
trials of 4) on a local cluster of 1 worker, then of 2: parallel efficiency t1 / (2 t2);
per-trial scheduling overhead (generation wall time not spent inside trials, per trial, on
1 worker) and the round trip of an empty task; the archive write time as a share of the
generation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from evo.config import load_run_config
from evo.evolution import Evolution

ROOT = Path(__file__).parents[1]


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def _noop(x):
    return x


def one_generation(cfg, workers: int) -> dict:
    from evo.cluster import connect, local_cluster

    cluster = local_cluster(workers, dashboard_address=None)
    with cluster:
        with connect(cluster) as client:
            client.run(lambda: __import__("evo.trial"))  # imports outside the timing
            t = time.perf_counter()
            n = 200
            client.gather(client.map(_noop, range(n), pure=False))
            roundtrip = (time.perf_counter() - t) / n
            with tempfile.TemporaryDirectory() as out:
                ev = Evolution(cfg, Path(out), client, log=lambda *_: None, progress=False)
                # Warm every worker's compiled kernels with a throwaway run.
                ev.run()
                ev = Evolution(
                    cfg, Path(out) / "timed", client, log=lambda *_: None, progress=False
                )
                t = time.perf_counter()
                rows = ev.run()
                wall = time.perf_counter() - t
    timing = rows[-1]["timing"]  # the second generation: the store exists, weights are inherited
    return {"wall_s": wall, "roundtrip_s": roundtrip, **timing}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m evo.bench_dask", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--config", default=str(ROOT / "runs" / "population.yaml"))
    ap.add_argument("--timesteps", type=int, help="ppo.total_timesteps (default: the config.s)")
    ap.add_argument("--population", type=int, default=16)
    args = ap.parse_args(argv)
    changes = ["population.generations=2", f"population.size={args.population}"]
    if args.timesteps:
        changes.append(f"ppo.total_timesteps={args.timesteps}")
    cfg = load_run_config(args.config, [*changes, "evolution.checkpoint_top=0"])
    one = one_generation(cfg, 1)
    two = one_generation(cfg, 2)
    trials = one["trials"]
    emit(bench="generation", workers=1, trials=trials, seconds=round(one["generation_s"], 3))
    emit(bench="generation", workers=2, trials=trials, seconds=round(two["generation_s"], 3))
    emit(
        bench="parallel_efficiency",
        value=round(one["generation_s"] / (2 * two["generation_s"]), 3),
        target=0.85,
    )
    emit(
        bench="scheduling_overhead",
        per_trial_s=round((one["generation_s"] - one["trials_s"]) / trials, 4),
        empty_task_roundtrip_ms=round(1000 * one["roundtrip_s"], 3),
        mean_trial_s=round(one["trials_s"] / trials, 3),
    )
    emit(
        bench="archive_write",
        seconds=round(np.mean([one["archive_write_s"], two["archive_write_s"]]), 4),
        share_of_generation=round(one["archive_write_s"] / one["generation_s"], 4),
        target_at_most=0.01,
    )


if __name__ == "__main__":
    main()
