"""Open run archives: one run as a lazy xarray Dataset, or several runs side by side.

`open_archive(path)` accepts the archive store itself (`.../archive.zarr`, or an fsspec URL
such as `s3://bucket/run.zarr`) or the run folder that holds it (what `python -m evo.run
--out DIR` wrote). Anything that is not a complete kinevo archive raises `ArchiveError`
naming the path and what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from evo import archive as _archive
from evo.archive import ArchiveError
from kinevo.faults import is_url

__all__ = ["ArchiveError", "archive_path", "open_archive", "open_archives", "open_sweep"]


def archive_path(path: str | Path) -> str | Path:
    """The Zarr store for `path`: the path itself, or `path/archive.zarr` for a run folder;
    an fsspec URL (`s3://bucket/run.zarr`) as it is."""
    if is_url(path):
        return path
    path = Path(path)
    if not path.exists():
        raise ArchiveError(f"{path}: no such file or folder (expected a kinevo archive)")
    if not (path / "zarr.json").exists() and (path / "archive.zarr" / "zarr.json").exists():
        return path / "archive.zarr"
    if not path.is_dir() or not (path / "zarr.json").exists():
        raise ArchiveError(
            f"{path}: not a Zarr store (no zarr.json); expected a run's archive.zarr "
            "or the run folder that holds it"
        )
    return path


def open_archive(path: str | Path) -> xr.Dataset:
    """The run's complete generations as one lazy Dataset (schema: `evo.archive.VARIABLES`).

    Raises ArchiveError for a missing path, a store that is not Zarr, an archive with no
    complete generation, another schema version, or a store missing the core variables."""
    store = archive_path(path)
    try:
        ds = _archive.open_archive(store)
    except ArchiveError:
        raise
    except Exception as err:  # zarr/xarray errors for a damaged store
        raise ArchiveError(f"{store}: not a readable kinevo archive ({err})") from None
    missing = [n for n in ("genome", "fitness", "counters", "parent_a") if n not in ds]
    if missing:
        raise ArchiveError(f"{store}: not a kinevo archive, variable(s) {missing} missing")
    ds.attrs["path"] = str(store)
    return ds


def open_archives(paths: Sequence[str | Path], names: Sequence[str] | None = None) -> xr.Dataset:
    """Several runs along a new `run` dimension (coordinate: `names`, default each path's run
    folder name). Runs of different lengths or population sizes are padded with NaN (outer
    join); per-run attrs are kept in `attrs["runs"]` ({name: attrs})."""
    paths = list(paths)
    if not paths:
        raise ArchiveError("open_archives: no paths given")
    if names is None:
        names = [_run_name(Path(p)) for p in paths]
    if len(set(names)) != len(names):
        raise ArchiveError(f"open_archives: run names must differ, got {list(names)}")
    runs = [open_archive(p) for p in paths]
    attrs = {n: dict(ds.attrs) for n, ds in zip(names, runs, strict=True)}
    for ds in runs:
        ds.attrs = {}
    out = xr.concat(runs, dim="run", join="outer", combine_attrs="drop")
    out = out.assign_coords(run=("run", list(names)))
    out.attrs["runs"] = attrs
    return out


def sweep_manifest(path: str | Path) -> tuple[list[str], list[dict]]:
    """The dimensions and the runs (each with `folder` and `coords`) that a sweep folder's
    sweep.json lists; ArchiveError for a folder without one or an unreadable one."""
    import json

    path = Path(path)
    manifest = path / "sweep.json"
    if not manifest.is_file():
        raise ArchiveError(f"{path}: not a sweep folder (no sweep.json; see python -m evo.sweep)")
    try:
        m = json.loads(manifest.read_text())
        return list(m["dims"]), list(m["runs"])
    except (ValueError, KeyError, TypeError) as err:
        raise ArchiveError(f"{manifest}: not a readable sweep manifest ({err})") from None


def open_sweep(path: str | Path) -> xr.Dataset:
    """A sweep's runs (`python -m evo.sweep`) as one Dataset whose dimensions include the
    sweep's own (e.g. `r`, `cost`, `seed`), labelled by their values. Runs without a complete
    generation yet are left out (their cells are NaN); `attrs["runs"]` keeps each run's attrs
    by folder name."""
    from evo.archive import complete_generations

    path = Path(path)
    dims, listed = sweep_manifest(path)
    runs = [r for r in listed if complete_generations(path / r["folder"] / "archive.zarr") > 0]
    if not runs:
        raise ArchiveError(f"{path}: no run of this sweep has a complete generation yet")
    ds = open_archives([path / r["folder"] for r in runs], [r["folder"] for r in runs])
    labels = {d: ("run", [r["coords"][d] for r in runs]) for d in dims}
    ds = ds.assign_coords(labels).set_index(run=dims).unstack("run")
    return ds.transpose(*dims, ...)


def _run_name(path: Path) -> str:
    path = path.resolve()
    return path.parent.name if path.name == "archive.zarr" else path.name
