"""Scale benchmark: the evolution loop at 1,000 and 10,000 individuals with a stub trial;
prints one JSON line per figure.

    python -m evo.bench_scale                      # docs/speed.md's figures (tens of minutes)
    python -m evo.bench_scale --sizes 1000 --generations 5 --threads 64

`stub_trial` stands in for `evo.trial.run_trial`: same arguments, a `TrialResult` of the real
shapes (every counter, the learning curve of `ppo.num_updates` updates, weights shaped like
the configured network when asked for) drawn from the trial's seed, after sleeping
`seconds`. So the run loop, selection, pedigree, archive and scheduling run as in a real run
while the trials cost nothing but their sleep, and the figures are the loop's own:

- overhead: generation wall time not spent waiting for the slowest trial round, as a share of
  a generation whose trials take `--trial-seconds` (with trials of 10 s on enough threads,
  one round of trials takes 10 s, and the rest is the loop's);
- serial: the loop's time a generation outside its trials' span (breeding, pedigree,
  kinship, handing out the trials, recording the results; writing them overlaps the next
  generation's trials), which no number of workers takes away;
- client CPU: CPU seconds per generation of this process (the loop and the scheduler), the
  serial part that stays when the workers' own per-task work (reading and writing weights,
  Dask's worker side) runs on cores of their own, as on a cluster;
- archive files and bytes per generation;
- resume time (process-free: a fresh Evolution continuing an archive of 20 and of 200
  generations by one generation, minus that generation's own time and write; the median of
  `--repeat` resumes from copies of one run folder);
- client peak RSS, and its resident memory over the first and the last tenth of the
  generations (with the sizes of what the in-process scheduler keeps, to see what grows);
- the archive alone (`--only archive --at INDIVIDUALS GENERATIONS`): generations written with
  `generation_dataset`/`append_generation` from random values of the real shapes, then one
  variable read across all of them (`archive_figures`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import psutil
import torch

from evo.config import FitnessConfig, PPOConfig, load_run_config
from evo.evolution import Evolution
from evo.trial import TrialResult
from kinevo.config import ConfigError
from kinship.structures import KinshipConfig
from world.config import WorldConfig
from world.layout import COUNTERS

ROOT = Path(__file__).parents[1]
_SHAPES: dict[tuple, dict[str, tuple[int, ...]]] = {}


def _weight_shapes(world: WorldConfig, ppo: PPOConfig) -> dict[str, tuple[int, ...]]:
    key = (world.model_dump_json(), ppo.model_dump_json())
    if key not in _SHAPES:
        from evo.policy import make_policy

        net = make_policy(world, ppo)
        _SHAPES[key] = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    return _SHAPES[key]


def stub_trial(
    genes: dict[str, Sequence[float]],
    uids: Sequence[int],
    world: WorldConfig,
    ppo: PPOConfig,
    kinship: KinshipConfig,
    seed: int,
    kinship_matrix: np.ndarray | None = None,
    init_states: list[dict] | None = None,
    return_weights: bool = False,
    fitness: FitnessConfig | None = None,
    seconds: float = 0.0,
    **_,
) -> TrialResult:
    """A trial's result of the real shapes, drawn from `seed` (fitness rises with the mean
    gene value, so selection has something to act on), after sleeping `seconds`. Weights:
    each slot's starting weights (or zeros) plus 1, so inheritance can be followed."""
    if seconds:
        time.sleep(seconds)
    uids = np.asarray(uids, np.int64)
    n = len(uids)
    rng = np.random.default_rng(seed)
    g = np.mean([np.asarray(v, np.float64) for v in genes.values()], axis=0)
    fit = rng.random(n) + g
    K = np.eye(n, dtype=np.float32) if kinship_matrix is None else kinship_matrix
    weights = None
    if return_weights:
        shapes = _weight_shapes(world, ppo)
        groups = 1 if ppo.mode == "shared" else n
        weights = []
        for k in range(groups):
            start = init_states[k] if init_states else None
            weights.append(
                {
                    name: (start[name] if start else torch.zeros(shape)) + 1
                    for name, shape in shapes.items()
                }
            )
    return TrialResult(
        uids=uids,
        fitness=fit,
        training_fitness=fit / 2,
        counters={c: rng.integers(0, 50, n) for c in COUNTERS},
        bonds=uids[: 2 * (n // 2)].reshape(-1, 2)[:1],
        nan_skips=np.zeros(1 if ppo.mode == "shared" else n, np.int64),
        kinship=np.asarray(K, np.float32),
        energy_given=rng.integers(0, 5, (n, n)),
        diamonds_given=rng.integers(0, 2, (n, n)),
        curve=[{"hearts_per_episode_by_slot": rng.random(n).tolist()}] * ppo.num_updates,
        weights=weights,
        agent_steps=ppo.total_timesteps * n,
        seconds=seconds,
    )


# -- the benchmark ----------------------------------------------------------------------------
def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def bench_config(individuals: int, generations: int, base: Path, extra: Sequence[str] = ()):
    """`base` (runs/population.yaml: lamarckian, pedigree kinship, trials of 4) at
    `individuals` individuals."""
    return load_run_config(
        base,
        [f"population.size={individuals}", f"population.generations={generations}", *extra],
    )


def _cluster(workers: int, threads: int):
    from evo.cluster import connect, local_cluster

    cluster = local_cluster(workers, threads, dashboard_address=None, host="127.0.0.1")
    client = connect(cluster)
    client.run(lambda: __import__("evo.bench_scale"))  # imports outside the timing
    return client, cluster


def _files(folder: Path) -> tuple[int, int]:
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _cpu_s() -> float:
    """CPU seconds of this process so far, all threads: the client's loop and the
    LocalCluster's scheduler, which lives in this process (the workers are their own)."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by thread name (Linux; {} where
    /proc is missing)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        out[thread.name] = out.get(thread.name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _rss_mb() -> float:
    """This process's resident memory now."""
    return psutil.Process().memory_info().rss / 2**20


def _scheduler_state(cluster) -> dict[str, int]:
    """Sizes of what the in-process scheduler keeps that could grow over a long run."""
    sched = cluster.scheduler
    return {
        "tasks": len(sched.tasks),
        "transition_log": len(sched.transition_log),
        "task_prefixes": len(sched.task_prefixes),
        "task_groups": len(sched.task_groups),
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def loop(individuals: int, generations: int, args) -> None:
    """One run of `generations` generations; its per-generation figures."""
    cfg = bench_config(individuals, generations, args.base, args.set)
    trial = functools.partial(stub_trial, seconds=args.trial_seconds)
    client, cluster = _cluster(args.workers, args.threads)
    try:
        with tempfile.TemporaryDirectory(dir=args.tmp) as out:
            counts = []  # (files, bytes) of the archive after each generation
            threads = []  # each thread's CPU seconds so far, as each generation is recorded

            marks = []  # when each generation was recorded
            rss = []  # the client process's resident memory then

            def log(_line):
                marks.append(time.perf_counter())
                threads.append(_thread_cpu())
                rss.append(_rss_mb())

            def committed(_g):  # in the writer thread, off the loop's path
                counts.append(_files(Path(out) / "archive.zarr"))

            ev = Evolution(
                cfg, Path(out), client, log=log, progress=False, trial=trial, on_commit=committed
            )
            t, cpu = time.perf_counter(), _cpu_s()
            rows = ev.run()
            wall, cpu = time.perf_counter() - t, _cpu_s() - cpu
            all_files, all_bytes = _files(out)
            scheduler = _scheduler_state(cluster)
    finally:
        client.close()
        cluster.close()
    # what each generation after the first adds (the first lays the store out)
    files = (counts[-1][0] - counts[0][0]) / max(1, generations - 1)
    nbytes = (counts[-1][1] - counts[0][1]) / max(1, generations - 1)
    per_gen = wall / generations
    overhead = per_gen - args.trial_seconds  # enough threads: one round of trials
    write = [r["timing"]["archive_write_s"] for r in rows]
    # client CPU a generation by thread, between the first and the last generation's record:
    # the loop (MainThread), the writer, Dask's (the client's and the LocalCluster
    # scheduler's event loop and helpers), Zarr's
    by_thread = {
        name: round((end - threads[0].get(name, 0.0)) / max(1, generations - 1), 3)
        for name, end in threads[-1].items()
    }
    by_thread = {name: cpu for name, cpu in by_thread.items() if cpu > 0}
    # the loop's own serial time: a generation's wall time outside its trials' span (from
    # handing them to the cluster to holding the last result)
    serial = per_gen - float(np.mean([r["timing"]["trials_wall_s"] for r in rows]))
    # does a generation cost more late in a long run? The first and the last tenth (generations
    # 1.. on: a generation's wall time is from the record before it to its own)
    tenth = max(1, (generations - 1) // 10)
    span = np.diff(marks)
    spans = {"first": span[:tenth], "last": span[-tenth:]}
    trials_wall = np.array([r["timing"]["trials_wall_s"] for r in rows[1:]])
    inner = {"first": trials_wall[:tenth], "last": trials_wall[-tenth:]}
    drift = {
        f"{k}_tenth": {
            "generation_s": round(float(spans[k].mean()), 3),
            "serial_s": round(float((spans[k] - inner[k]).mean()), 3),
        }
        for k in spans
    } if len(span) else {}  # fmt: skip
    emit(
        figure="loop", individuals=individuals, generations=generations, overrides=args.set,
        trials_per_generation=len(ev._assign_trials(0)), trial_seconds=args.trial_seconds,
        workers=args.workers, threads_per_worker=args.threads,
        generation_s=round(per_gen, 3), overhead_s=round(overhead, 3),
        overhead_share_of_10s_generation=round(overhead / (10 + overhead), 4),
        serial_s=round(serial, 3), serial_share_of_10s_generation=round(serial / (10 + serial), 4),
        **drift,
        client_cpu_s=round(cpu / generations, 3), client_cpu_s_by_thread=by_thread,
        client_cpu_share_of_10s_generation=round(cpu / generations / (10 + cpu / generations), 4),
        archive_write_s=round(float(np.median(write)), 3),
        archive_files_first_generation=counts[0][0],
        archive_new_files_per_generation=round(files, 2),
        archive_new_bytes_per_generation=int(nbytes),
        run_folder_files=all_files, run_folder_bytes=all_bytes,
        client_peak_rss_mb=round(_peak_rss_mb(), 1),
        client_rss_mb_first_tenth=round(float(np.mean(rss[:tenth])), 1),
        client_rss_mb_last_tenth=round(float(np.mean(rss[-tenth:])), 1),
        scheduler_state_at_end=scheduler,
    )  # fmt: skip


def resume(individuals: int, generations: int, args) -> None:
    """Continue a run of `generations` generations by one: from the snapshot, and by replay
    (snapshot removed); seconds before the new generation's trials, in process (no Python or
    cluster start)."""
    trial = functools.partial(stub_trial, seconds=0.0)
    client, cluster = _cluster(args.workers, args.threads)
    try:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            built = Path(tmp) / "built"
            cfg = bench_config(individuals, generations, args.base, args.set)
            Evolution(cfg, built, client, log=lambda *_: None, progress=False,
                      trial=trial).run()  # fmt: skip
            more = bench_config(individuals, generations + 1, args.base, args.set)
            figures = {}
            for how in ("snapshot", "replay"):
                seconds = []
                for r in range(args.repeat):  # this machine's noise is larger than the figure
                    out = Path(tmp) / f"{how}{r}"
                    shutil.copytree(built, out)
                    if how == "replay":
                        (out / "state" / "resume.json").unlink()
                    t = time.perf_counter()
                    ev = Evolution(more, out, client, log=lambda *_: None, progress=False,
                                   trial=trial)  # fmt: skip
                    ev.run()
                    total = time.perf_counter() - t
                    timing = ev.rows[-1]["timing"]  # the new generation's own time and write
                    seconds.append(total - timing["generation_s"] - timing["archive_write_s"])
                    shutil.rmtree(out)
                figures[f"{how}_s"] = round(float(np.median(seconds)), 3)
                figures[f"{how}_s_each"] = [round(x, 3) for x in seconds]
    finally:
        client.close()
        cluster.close()
    emit(figure="resume", individuals=individuals, generations=generations,
         overrides=args.set, **figures)  # fmt: skip


def archive_values(g: int, individuals: int, genes: Sequence[str], n: int = 4, updates: int = 16):
    """Generation g's archive values (`evo.archive.GIVEN`), random, of the shapes a run of
    `individuals` in trials of `n` writes. Counters: each counter its own magnitude (10 to
    100,000 a generation), as hearts and agent-steps differ in a run."""
    rng = np.random.default_rng(g)
    P, T = individuals, individuals // n
    uid = np.arange(P, dtype=np.int64) + P * g
    fit, point = rng.random(P), rng.random((P, len(genes)))
    scale = 10 ** np.random.default_rng(0).uniform(1, 5, len(COUNTERS))
    return {
        "uid": uid, "genome": point, "search_point": point, "fitness": fit,
        "training_fitness": fit / 2, "curve": rng.random((P, updates)),
        "weights_trial": np.arange(P, dtype=np.int64) // n,
        "parent_a": rng.integers(-1, P * g, P), "parent_b": rng.integers(-1, P * g, P),
        "born": np.full(P, g, np.int64), "mate": rng.integers(-1, P * g + P, P),
        "twin_group": np.full(P, -1, np.int64),
        "counters": (rng.random((P, len(COUNTERS))) * scale).astype(np.int64),
        "trial_uids": uid.reshape(T, n), "kinship": rng.random((T, n, n)).astype(np.float32),
        "trial_fitness": fit.reshape(T, n), "energy_given": rng.integers(0, 5, (T, n, n)),
        "diamonds_given": rng.integers(0, 2, (T, n, n)), "best_fitness": fit.max(),
        "mean_fitness": fit.mean(), "gene_mean": point.mean(0), "bonds": 3, "nan_skips": 0,
        "seconds": 1.0, "agent_steps_per_s": 1e6,
    }  # fmt: skip


def archive_figures(path: Path, individuals: int, generations: int, genes: Sequence[str]):
    """Write `generations` generations of `individuals` to a new archive at `path`, then read
    `fitness` and `counters` across all of them (open included, `.values`, five times: the
    best and the median). Returns the figures as a dict."""
    from evo.archive import append_generation, generation_dataset, open_archive

    write = []
    for g in range(generations):
        ds = generation_dataset(g, archive_values(g, individuals, genes), genes)
        t = time.perf_counter()
        append_generation(path, ds)
        write.append(time.perf_counter() - t)
    files, nbytes = _files(path)
    reads = {}
    for name in ("fitness", "counters"):
        seconds = []
        for _ in range(5):
            t = time.perf_counter()
            values = open_archive(path)[name].values
            seconds.append(time.perf_counter() - t)
        reads[f"read_{name}_s"] = round(min(seconds), 3)
        reads[f"read_{name}_s_median"] = round(float(np.median(seconds)), 3)
        reads[f"{name}_mb"] = round(values.nbytes / 1e6, 1)
    return {
        "write_s_median": round(float(np.median(write[1:] or write)), 3),
        "files_per_generation": round(files / generations, 3),
        "bytes_per_generation": int(nbytes / generations), **reads,
    }  # fmt: skip


def archive(individuals: int, generations: int, args) -> None:
    """The archive alone: no loop, no cluster."""
    genes = [g.name for g in bench_config(individuals, 1, args.base, args.set).genes]
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        figures = archive_figures(Path(tmp) / "archive.zarr", individuals, generations, genes)
    emit(figure="archive", individuals=individuals, generations=generations,
         overrides=args.set, **figures)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evo.bench_scale", description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--generations", type=int, nargs="+", default=[5, 2],
                    help="generations for each size")  # fmt: skip
    ap.add_argument("--resume-individuals", type=int, default=100)
    ap.add_argument("--resume-at", type=int, nargs="+", default=[20, 200])
    ap.add_argument("--repeat", type=int, default=3, help="resumes of each kind (median)")
    ap.add_argument("--trial-seconds", type=float, default=0.0,
                    help="stub trial sleep; 0 measures the loop alone")  # fmt: skip
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=16, help="threads per worker")
    ap.add_argument("--base", type=Path, default=ROOT / "runs" / "population.yaml")
    ap.add_argument("--tmp", help="folder for the runs (default: the system's)")
    ap.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE",
                    help="config overrides, e.g. population.trials_per_task=25")  # fmt: skip
    ap.add_argument("--only", choices=["loop", "resume", "archive"], help=argparse.SUPPRESS)
    ap.add_argument("--at", type=int, nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:  # a bad override or base config: one message, exit 2, before any cluster starts
        bench_config(100, 1, args.base, args.set)
    except ConfigError as err:
        ap.error(str(err))
    if args.only:  # one measurement in this process (its own peak RSS)
        {"loop": loop, "resume": resume, "archive": archive}[args.only](*args.at, args)
        return
    passed = [a for a in (argv if argv is not None else sys.argv[1:])]
    for size, gens in zip(args.sizes, args.generations, strict=True):
        _child(passed, "loop", size, gens)
    for gens in args.resume_at:
        _child(passed, "resume", args.resume_individuals, gens)


def _child(passed: list[str], what: str, individuals: int, generations: int) -> None:
    """Each measurement in a fresh process, so peak RSS is its own."""
    cmd = [sys.executable, "-m", "evo.bench_scale", *passed, "--only", what, "--at",
           str(individuals), str(generations)]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
