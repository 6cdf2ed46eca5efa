"""Soak benchmark: a long run watched from outside. `python -m evo.bench_soak`

Runs `python -m evo.run CONFIG --generations G` in a child process and, while it writes,
samples the memory of the run and its Dask workers, opens the archive as a reader would
every few generations, and prints JSON lines: one per milestone generation (RSS of the run's
own process and of all its processes, archive bytes) and a summary with the growth of the
run's memory after warm-up (target: at most 10 %) and how many reads failed (target: 0).

    python -m evo.bench_soak                       # runs/smoke.yaml, 200 generations
    python -m evo.bench_soak --generations 30 --at 10,20,30
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from evo.archive import complete_generations

ROOT = Path(__file__).parents[1]


def rss(proc: psutil.Process) -> tuple[int, int]:
    """(RSS of proc, RSS of proc and all its descendants) in bytes; 0 for any that ended."""
    own = total = 0
    for k, p in enumerate([proc, *proc.children(recursive=True)]):
        try:
            r = p.memory_info().rss
        except psutil.Error:
            continue
        own = r if k == 0 else own
        total += r
    return own, total


def folder_bytes(path: Path) -> tuple[int, int]:
    """(bytes, files) under path."""
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def read_back(archive: Path) -> str | None:
    """Open the archive as analysis does and load two variables; the error, if any."""
    from analysis import open_archive

    try:
        ds = open_archive(archive)
        ds.fitness.values, ds.counters.values  # noqa: B018 (the load is the point)
    except Exception as err:
        return f"{type(err).__name__}: {err}"
    return None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m evo.bench_soak", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--config", default=str(ROOT / "runs" / "smoke.yaml"))
    ap.add_argument("--generations", type=int, default=200)
    ap.add_argument("--at", default="10,100,200", help="milestone generations to report")
    ap.add_argument("--read-every", type=int, default=5, help="open the archive every N gens")
    ap.add_argument("--out", help="run folder (default: a temporary one)")
    args = ap.parse_args(argv)
    milestones = sorted(int(x) for x in args.at.split(",") if int(x) <= args.generations)
    out = Path(args.out or tempfile.mkdtemp(prefix="kinevo-soak-"))
    archive = out / "archive.zarr"
    cmd = [sys.executable, "-m", "evo.run", args.config, "--out", str(out), "--force",
           "--quiet", "--generations", str(args.generations)]  # fmt: skip
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc = psutil.Process(child.pid)
    peak_own = peak_total = 0
    reports: dict[int, dict] = {}
    reads = failed = 0
    errors: list[str] = []
    last_read = 0
    prev: dict | None = None
    while True:
        own, total = rss(proc)
        peak_own, peak_total = max(peak_own, own), max(peak_total, total)
        try:
            done = complete_generations(archive) if (archive / "zarr.json").exists() else 0
        except Exception:  # the store is being created
            done = 0
        if done - last_read >= args.read_every:
            last_read = done
            reads += 1
            err = read_back(archive)
            if err:
                failed += 1
                errors.append(f"after {done} generations: {err}")
        for m in milestones:
            if done >= m and m not in reports:
                size, files = folder_bytes(archive)
                reports[m] = {
                    "bench": "soak", "generation": m, "seconds": round(time.perf_counter() - t0, 1),
                    "rss_run_mb": round(own / 2**20, 1), "rss_all_mb": round(total / 2**20, 1),
                    "peak_run_mb": round(peak_own / 2**20, 1),
                    "peak_all_mb": round(peak_total / 2**20, 1),
                    "archive_bytes": size, "archive_files": files,
                }  # fmt: skip
                if prev:  # what each generation since the previous milestone added
                    gens = m - prev["generation"]
                    reports[m]["bytes_per_generation"] = round(
                        (size - prev["archive_bytes"]) / gens
                    )
                    reports[m]["files_per_generation"] = round(
                        (files - prev["archive_files"]) / gens, 2
                    )
                prev = reports[m]
                print(json.dumps(reports[m]), flush=True)
        if child.poll() is not None:
            break
        time.sleep(0.25)
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.returncode != 0:
        print(stderr[-3000:], file=sys.stderr)
        sys.exit(f"the run failed with status {child.returncode}")
    err = read_back(archive)
    reads, failed = reads + 1, failed + (err is not None)
    if len(reports) >= 2:
        first, last = reports[milestones[0]], reports[milestones[-1]]
        growth_run = last["peak_run_mb"] / first["peak_run_mb"]
        growth_all = last["peak_all_mb"] / first["peak_all_mb"]
    else:
        growth_run = growth_all = float("nan")
    print(json.dumps({
        "bench": "soak_summary", "config": args.config, "generations": args.generations,
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_run_growth": round(growth_run, 3), "peak_all_growth": round(growth_all, 3),
        "growth_target": 1.10, "reads": reads, "reads_failed": failed, "read_errors": errors[:5],
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
