"""Run a grid of experiments as one Dask workload: `python -m evo.sweep SWEEP.yaml`.

A sweep file names a base run config and the dimensions to vary; every point of the grid (and
every seed) is one run of `evo.run`'s loop, written to its own archive under the sweep's
folder. All runs share one Dask cluster, so their trials interleave and the cluster stays busy;
one progress bar counts generations over the whole grid. `--resume` continues every
unfinished run and skips finished ones. `analysis.open_sweep(DIR)` reads the results as one
Dataset with the sweep's dimensions.

    # runs/sweep_smoke.yaml
    base: smoke.yaml              # a run config, relative to this file
    seeds: [0, 1]                 # a `seed` dimension (optional; default: the base's seed)
    dims:                         # each dimension: one or more keys, lists of one length
      r:
        kinship.kind: [teams, teams]
        kinship.n_teams: [1, 2]
      share:
        world.share_amount: [5, 20]
    values:                       # optional labels of a dimension (default: its first key's)
      r: [1.0, 0.0]

    python -m evo.sweep runs/sweep_smoke.yaml [--out DIR] [--resume] [--parallel 4]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from evo.archive import ArchiveError, check_schema, complete_generations
from evo.config import RunConfig, load_run_config
from kinevo.config import ConfigError, Strict, load

MANIFEST = "sweep.json"


class SweepConfig(Strict):
    """What a sweep file holds (see the module docstring)."""

    base: str = Field(description="run config the sweep varies, relative to the sweep file")
    seeds: list[int] | None = Field(None, min_length=1, description="a seed dimension")
    dims: dict[str, dict[str, list[Any]]] = Field(
        description="dimension name -> {dotted.key: values}; a dimension's lists share a length"
    )
    values: dict[str, list[Any]] = Field(
        default_factory=dict, description="labels of a dimension (default: its first key's)"
    )
    workers: int | None = Field(None, ge=1, description="Dask workers (default: the base's)")

    @model_validator(mode="after")
    def _shapes(self) -> SweepConfig:
        if not self.dims:
            raise ValueError("dims: give at least one dimension")
        for name, keys in self.dims.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name == "seed":
                raise ValueError(f"dims.{name}: a dimension name is a word other than 'seed'")
            if not keys:
                raise ValueError(f"dims.{name}: give at least one key and its values")
            sizes = {k: len(v) for k, v in keys.items()}
            if len(set(sizes.values())) != 1 or 0 in sizes.values():
                raise ValueError(f"dims.{name}: every key needs the same number of values, "
                                 f"got {sizes}")  # fmt: skip
        for name, labels in self.values.items():
            if name not in self.dims:
                raise ValueError(f"values.{name}: no such dimension")
            size = len(next(iter(self.dims[name].values())))
            if len(labels) != size or len(set(map(str, labels))) != size:
                raise ValueError(f"values.{name}: needs {size} distinct labels")
        return self


class Point:
    """One run of the grid: its coordinates, its overrides and its folder."""

    def __init__(self, coords: dict[str, Any], overrides: list[str], out: Path):
        self.coords, self.overrides, self.out = coords, overrides, out

    @property
    def name(self) -> str:
        return self.out.name


def grid(sweep: SweepConfig, out: Path) -> list[Point]:
    """Every point of the sweep, in a fixed order (dimensions as written, then seed)."""
    axes = []
    for name, keys in sweep.dims.items():
        size = len(next(iter(keys.values())))
        labels = sweep.values.get(name) or next(iter(keys.values()))
        axes.append(
            [(name, labels[i], [f"{k}={json.dumps(v[i])}" for k, v in keys.items()])
             for i in range(size)]
        )  # fmt: skip
    if sweep.seeds is not None:
        axes.append([("seed", s, [f"seed={s}"]) for s in sweep.seeds])
    points = []
    for combo in itertools.product(*axes):
        coords = {name: label for name, label, _ in combo}
        overrides = [o for _, _, os_ in combo for o in os_]
        folder = "_".join(f"{name}={_safe(label)}" for name, label in coords.items())
        points.append(Point(coords, overrides, out / folder))
    return points


def _safe(label: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]", "-", str(label))


def load_sweep(path: str | Path) -> tuple[SweepConfig, Path, list[tuple[Point, RunConfig]]]:
    """The sweep and every point's validated run config; ConfigError names file and field."""
    path = Path(path)
    sweep = load(path, SweepConfig)
    base = (path.parent / sweep.base).resolve()
    if not base.is_file():
        raise ConfigError([f"{path}: base: no such run config {base}"])
    points = grid(sweep, Path("."))
    runs = []
    for p in points:
        try:
            cfg = load_run_config(base, p.overrides)
        except ConfigError as err:
            where = ", ".join(f"{k}={v}" for k, v in p.coords.items())
            raise ConfigError([f"{path}: at {where}: {line}" for line in err.problems]) from None
        runs.append((p, cfg))
    return sweep, base, runs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evo.sweep", description=__doc__.split("\n")[0])
    ap.add_argument("sweep", help="sweep YAML")
    ap.add_argument("--out", help="sweep folder (default runs/out/<sweep name>)")
    ap.add_argument("--resume", action="store_true", help="continue unfinished runs")
    ap.add_argument("--force", action="store_true", help="start the whole sweep again")
    ap.add_argument("--parallel", type=int, default=4, help="runs in flight at once")
    ap.add_argument("--workers", type=int, help="Dask workers (default: the sweep's or base's)")
    ap.add_argument("--scheduler", help="address of an existing Dask scheduler")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        sweep, base, runs = load_sweep(args.sweep)
    except ConfigError as err:
        _fail(str(err))
    if args.parallel < 1:
        _fail(f"--parallel: must be >= 1, got {args.parallel}")
    out = Path(args.out) if args.out else Path("runs/out") / Path(args.sweep).stem
    runs = [(Point(p.coords, p.overrides, out / p.out.name), cfg) for p, cfg in runs]
    todo = _plan(out, runs, args)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "sweep": str(Path(args.sweep).resolve()),
        "base": str(base),
        "dims": [*sweep.dims, *(["seed"] if sweep.seeds is not None else [])],
        "runs": [{"folder": p.name, "coords": p.coords} for p, _ in runs],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))

    from tqdm import tqdm

    from evo.run import _close, _connect

    workers = args.workers or sweep.workers or runs[0][1].workers
    client, cluster = _connect(args.scheduler, workers)
    print(f"Dask dashboard: {client.dashboard_link}", flush=True)
    total = sum(cfg.population.generations for _, cfg in runs)
    done = sum(cfg.population.generations for p, cfg in runs if (p, cfg) not in todo)
    bar = tqdm(total=total, initial=done, desc="sweep", unit="gen", disable=args.quiet,
               file=sys.stderr)  # fmt: skip
    lock = threading.Lock()
    print(f"{len(runs)} runs, {len(todo)} to do, into {out}", flush=True)

    def one(point: Point, cfg: RunConfig) -> str:
        from evo.evolution import Evolution

        def log(line: str) -> None:  # one line per generation, run or replayed
            with lock:
                bar.update(1)
                if args.quiet:
                    print(f"{point.name}: {line}", flush=True)

        point.out.mkdir(parents=True, exist_ok=True)
        Evolution(cfg, point.out, client, log=log, progress=False).run()
        return point.name

    failed = []
    try:
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            futures = {pool.submit(one, p, cfg): p for p, cfg in todo}
            for fut, point in futures.items():
                try:
                    fut.result()
                except Exception as err:  # one run's failure does not stop the others
                    failed.append(f"{point.name}: {type(err).__name__}: {err}")
    except KeyboardInterrupt:
        bar.close()
        _close(client, cluster)
        print("\ninterrupted; continue with --resume", file=sys.stderr)
        sys.exit(130)
    bar.close()
    _close(client, cluster)
    if failed:
        print("\n".join(["", "stopped:", *failed, "fix the cause and continue with --resume"]),
              file=sys.stderr)  # fmt: skip
        sys.exit(1)
    print(f"\nsweep: {out}")
    print(f"analyse: python -c \"import analysis; print(analysis.open_sweep('{out}'))\"")


def _plan(out: Path, runs: list[tuple[Point, RunConfig]], args) -> list[tuple[Point, RunConfig]]:
    """The runs still to do; refuses (exit 2) to mix a sweep into another one's folder."""
    from evo.run import _same_config

    if (out / MANIFEST).exists() and not (args.resume or args.force):
        _fail(f"{out}: a sweep is already there; --resume continues it, --force replaces it")
    if args.force:
        for p, _ in runs:
            shutil.rmtree(p.out, ignore_errors=True)
    todo = []
    for p, cfg in runs:
        archive = p.out / "archive.zarr"
        try:
            n = complete_generations(archive)
            if n:
                check_schema(archive)
        except ArchiveError as err:
            _fail(str(err))
        if n and not _same_config(archive, cfg):
            _fail(f"{archive}: written by a different config; use another --out or --force")
        if n < cfg.population.generations:
            todo.append((p, cfg))
    return todo


def _fail(msg: str) -> None:
    print(msg, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
