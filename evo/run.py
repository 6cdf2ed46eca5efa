"""Run an evolutionary experiment: `python -m evo.run CONFIG [options]`.

    python -m evo.run runs/population.yaml
    python -m evo.run runs/population.yaml --resume            # continue an interrupted run
    python -m evo.run runs/smoke.yaml --workers 1 --set ppo.total_timesteps=2048
    python -m evo.run runs/population.yaml --scheduler tcp://10.0.0.5:8786

Writes DIR/archive.zarr (one generation at a time; `--archive` puts it elsewhere, e.g. an
fsspec URL) and DIR/checkpoints/; DIR defaults to runs/out/<config name>. Bad input exits with
status 2 before anything is written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from pathlib import Path

from evo.archive import (
    ArchiveError,
    archive_exists,
    archive_location,
    check_schema,
    complete_generations,
    remove_archive,
    stored_attrs,
)
from evo.cluster import QUIET_LOGS, connect, local_cluster
from evo.config import load_run_config
from kinevo.config import ConfigError
from kinevo.faults import FAULT_PID, is_url


def _fail(msg: str) -> None:
    print(msg, file=sys.stderr)
    sys.exit(2)


def parse(argv):
    ap = argparse.ArgumentParser(prog="python -m evo.run", description=__doc__.split("\n")[0])
    ap.add_argument("config", help="experiment YAML")
    ap.add_argument("--out", help="output folder (default runs/out/<config name>)")
    ap.add_argument(
        "--archive",
        help="where the archive lives (default OUT/archive.zarr): a folder, or an fsspec URL "
        "such as s3://bucket/run.zarr (with the protocol's package installed, e.g. s3fs)",
    )
    ap.add_argument(
        "--resume", action="store_true", help="continue from the last complete generation"
    )
    ap.add_argument(
        "--force", action="store_true", help="overwrite an archive made by another config"
    )
    ap.add_argument("--generations", type=int, help="overrides population.generations")
    ap.add_argument("--workers", type=int, help="overrides workers (local cluster processes)")
    ap.add_argument("--scheduler", help="address of an existing Dask scheduler")
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a field"
    )
    ap.add_argument("--seed", type=int, help="overrides seed")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    overrides = list(args.set)
    for flag, key in (
        (args.generations, "population.generations"),
        (args.workers, "workers"),
        (args.seed, "seed"),
    ):
        if flag is not None:
            overrides.append(f"{key}={flag}")
    try:
        cfg = load_run_config(args.config, overrides)
    except ConfigError as err:
        _fail(str(err))
    if args.scheduler is None and cfg.ppo.device == "cuda":
        from evo.ppo import resolve_device  # imports torch: only where cuda is asked for

        try:
            resolve_device("cuda")
        except RuntimeError as err:
            hint = "use 'auto' or 'cpu', or --scheduler with workers that have one"
            _fail(f"{args.config}: {err} ({hint})")
    out = Path(args.out) if args.out else Path("runs/out") / Path(args.config).stem
    archive = archive_location(args.archive) if args.archive else out / "archive.zarr"

    try:
        existing = complete_generations(archive) if archive_exists(archive) else None
    except ArchiveError as err:
        _fail(str(err))
    except Exception as err:  # an fsspec URL whose protocol is not installed, or unreachable
        _fail(f"--archive {archive}: cannot open the archive there ({type(err).__name__}: {err})")
    if existing is not None:
        same = _same_config(archive, cfg)
        if not args.resume and not args.force:
            _fail(f"{archive}: already exists; --resume continues it, --force replaces it")
        if args.resume and not args.force:
            try:
                check_schema(archive)  # before any cluster starts
            except ArchiveError as err:
                _fail(str(err))
        if args.resume and not same and not args.force:
            _fail(
                f"{archive}: was written by a different config (or seed); refusing to mix runs. "
                "Use another --out, or --force to replace it"
            )
        if args.force and not (args.resume and same):
            remove_archive(archive)
            for sub in ("checkpoints", "weights", "state"):
                shutil.rmtree(out / sub, ignore_errors=True)
    try:
        _check_writable(out)
    except OSError as err:
        _fail(f"{out}: cannot write the run's output here ({err.strerror or err})")

    os.environ.setdefault(FAULT_PID, str(os.getpid()))  # write faults hit this process only
    client, cluster = _connect(args.scheduler, cfg.workers, gpu=cfg.ppo.device == "cuda")
    print(f"Dask dashboard: {client.dashboard_link}", flush=True)
    done = complete_generations(archive)
    if done:
        print(f"resuming after generation {done - 1} of {cfg.population.generations}", flush=True)

    from evo.evolution import Evolution, TrialFailed

    evolution = Evolution(cfg, out, client, progress=not args.quiet, archive=archive)
    signal.signal(signal.SIGTERM, _interrupt)  # a polite kill stops like Ctrl-C
    try:
        rows = evolution.run()
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: {complete_generations(archive)} complete generation(s) in {archive}; "
            f"the one in flight was not written. Continue with --resume.",
            file=sys.stderr,
        )
        _close(client, cluster)
        sys.exit(130)
    except ArchiveError as err:
        _close(client, cluster)
        _fail(str(err))
    except TrialFailed as err:
        _close(client, cluster)
        print(f"\nstopped: {err}", file=sys.stderr)
        sys.exit(1)
    except OSError as err:  # disk full, folder made read-only, quota: the run's files stay whole
        _close(client, cluster)
        done = complete_generations(archive)
        print(
            f"\nstopped: cannot write {err.filename or out}: {err.strerror or err}. "
            f"{done} complete generation(s) are in {archive}; the one being written was not "
            "committed. Make room and continue with --resume",
            file=sys.stderr,
        )
        sys.exit(1)
    _close(client, cluster)
    _summary(rows, archive, out)


def _check_writable(out: Path) -> None:
    """Create `out` and prove a file can be written there (raises OSError if not)."""
    out.mkdir(parents=True, exist_ok=True)
    probe = out / ".kinevo-write-probe"
    probe.write_bytes(b"")
    probe.unlink()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _same_config(archive: Path, cfg) -> bool:
    """Was the archive written by this config (generations and workers aside)?"""
    from evo.config import RunConfig
    from evo.evolution import config_fingerprint

    stored = stored_attrs(archive).get("config")
    try:
        return config_fingerprint(RunConfig.model_validate_json(stored)) == config_fingerprint(cfg)
    except Exception:  # missing or unreadable: not the same
        return False


def _connect(scheduler: str | None, workers: int, gpu: bool = False):
    """A client of the scheduler at `scheduler`, or of a new local cluster. With `gpu`
    (ppo.device: cuda) every trial task asks for the resource GPU=1: the local workers
    offer one each; workers of an external cluster must be started with
    `--resources GPU=1`, or no trial runs."""
    import dask

    # for this command's whole process, so that the local scheduler's stream to a worker its
    # nanny restarts later keeps no message log either
    dask.config.set(QUIET_LOGS)
    if scheduler:
        return connect(scheduler), None
    cluster = local_cluster(
        workers,
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
        resources={"GPU": 1} if gpu else None,
    )
    return connect(cluster), cluster


def _close(client, cluster) -> None:
    client.close()
    if cluster is not None:
        cluster.close()


def _summary(rows: list[dict], archive: str | Path, out: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "timing"} for r in rows]
    if rows:
        keys = list(rows[0])
        print()
        print("  ".join(f"{k:>14}" for k in keys))
        for r in rows:
            print(
                "  ".join(f"{v:>14.4g}" if isinstance(v, float) else f"{v:>14}" for v in r.values())
            )
    print(f"\narchive: {archive}")
    print(f"analyse: python -c \"import analysis; print(analysis.open_archive('{archive}'))\"")
    if is_url(archive):
        print(f"report:  python -m analysis.report {archive} --out {out / 'report'}")
    else:
        print(f"report:  python -m analysis.report {archive.parent}")


if __name__ == "__main__":
    main()
