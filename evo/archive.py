"""One Zarr (v3) store per run, appended one generation at a time, read as one xarray Dataset.

A generation is committed by writing its arrays first and raising the group attribute
`kinevo_complete_generations` last; readers slice to that count and a resumed writer first
cuts away anything a killed run appended beyond it. So a generation is in the archive
completely or not at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

COMPLETE = "kinevo_complete_generations"
# Wall-clock figures differ between otherwise identical runs.
TIMING_VARS = ("seconds", "agent_steps_per_s")


class ArchiveError(ValueError):
    pass


def complete_generations(path: str | Path) -> int:
    """Generations fully written (0 when the store is missing or was never committed)."""
    path = Path(path)
    if not (path / "zarr.json").exists():
        return 0
    try:
        return int(zarr.open_group(path, mode="r").attrs.get(COMPLETE, 0))
    except Exception as err:
        raise ArchiveError(f"{path}: not a readable kinevo archive ({err})") from None


def stored_attrs(path: str | Path) -> dict:
    return dict(zarr.open_group(Path(path), mode="r").attrs)


def open_archive(path: str | Path) -> xr.Dataset:
    """The archive's complete generations as one lazily loaded Dataset."""
    path = Path(path)
    n = complete_generations(path)
    if n == 0:
        raise ArchiveError(f"{path}: no complete generation in this archive")
    ds = xr.open_zarr(path, consolidated=False)
    ds = ds.isel(generation=slice(0, n))
    for key in ("config",):
        if key in ds.attrs and isinstance(ds.attrs[key], str):
            ds.attrs[key] = json.loads(ds.attrs[key])
    return ds


def _truncate(path: Path, n: int) -> None:
    """Cut every generation-indexed array back to n entries (a killed run's leftovers)."""
    group = zarr.open_group(path, mode="r+")
    for _, arr in group.arrays():
        dims = arr.metadata.dimension_names or ()
        if dims and dims[0] == "generation" and arr.shape[0] > n:
            arr.resize((n, *arr.shape[1:]))


def append_generation(path: str | Path, ds: xr.Dataset, attrs: dict | None = None) -> int:
    """Write one generation (a Dataset with generation of length 1) and commit it.
    `attrs` (config, seed, versions) are written with it. Returns the complete count."""
    path = Path(path)
    n = complete_generations(path)
    if int(ds.generation.values[0]) != n:
        raise ArchiveError(
            f"{path}: expected generation {n} next, got {int(ds.generation.values[0])}"
        )
    # xarray rewrites the group attributes on every write: they carry the old count until the
    # new generation's arrays are all in.
    ds = ds.assign_attrs({**(attrs or {}), COMPLETE: n})
    if n == 0:
        ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False)
    else:
        _truncate(path, n)
        ds.to_zarr(path, append_dim="generation", zarr_format=3, consolidated=False)
    group = zarr.open_group(path, mode="r+")
    group.attrs[COMPLETE] = n + 1  # the commit marker, written last
    return n + 1


def read_generation(path: str | Path, generation: int) -> xr.Dataset:
    """One complete generation, loaded into memory."""
    ds = open_archive(path)
    if generation >= ds.sizes["generation"]:
        raise ArchiveError(f"{path}: generation {generation} is not complete")
    return ds.isel(generation=generation).load()


def identical(a: str | Path, b: str | Path, skip: tuple[str, ...] = TIMING_VARS) -> list[str]:
    """Names of variables that differ between two archives (empty when equal)."""
    da, db = open_archive(a), open_archive(b)
    diffs = [k for k in sorted(set(da.data_vars) ^ set(db.data_vars))]
    for k in sorted(set(da.data_vars) & set(db.data_vars)):
        if k in skip:
            continue
        if not np.array_equal(da[k].values, db[k].values):
            diffs.append(k)
    if da.sizes != db.sizes:
        diffs.append("sizes")
    return diffs
