"""Dask and archive benchmark; prints one JSON line per figure.

    python -m evo.bench_dask

One generation of runs/smoke.yaml-sized trials (made longer, see --timesteps) on a local
cluster of 1 worker, then of 2: parallel efficiency t1 / (2 t2); per-trial scheduling
overhead (generation wall time not spent inside trials, per trial, on 1 worker) and the
round trip of an empty task; and the archive write time as a share of the generation.
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
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.run(lambda: __import__("evo.trial"))  # imports outside the timing
            t = time.perf_counter()
            n = 200
            client.gather(client.map(_noop, range(n), pure=False))
            roundtrip = (time.perf_counter() - t) / n
            with tempfile.TemporaryDirectory() as out:
                ev = Evolution(cfg, Path(out), client, log=lambda *_: None, progress=False)
                # Warm every worker's compiled kernels with a throwaway generation.
                ev.run()
                ev = Evolution(
                    cfg, Path(out) / "timed", client, log=lambda *_: None, progress=False
                )
                t = time.perf_counter()
                rows = ev.run()
                wall = time.perf_counter() - t
    timing = rows[0]["timing"]
    return {"wall_s": wall, "roundtrip_s": roundtrip, **timing}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m evo.bench_dask", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--config", default=str(ROOT / "runs" / "smoke.yaml"))
    ap.add_argument("--timesteps", type=int, default=8192, help="ppo.total_timesteps per trial")
    ap.add_argument("--population", type=int, default=8)
    args = ap.parse_args(argv)
    cfg = load_run_config(
        args.config,
        [
            "population.generations=1",
            f"population.size={args.population}",
            f"ppo.total_timesteps={args.timesteps}",
            "evolution.checkpoint_top=0",
        ],
    )
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
