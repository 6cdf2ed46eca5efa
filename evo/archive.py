"""The run archive: its schema, and one Zarr (v3) store per run, appended one generation at a
time and read as one xarray Dataset.

The schema is the table `VARIABLES` below: every variable and coordinate with its dims, dtype,
units and description (the last two are written into its attrs, so the archive describes
itself). `generation_dataset` builds one generation from plain arrays and checks each against
the table; the run loop computes values and calls it, nothing else assembles the schema.
The store carries `kinevo_schema` (SCHEMA_VERSION) and `open_archive` refuses any other.

A generation is committed by writing its arrays first and raising the group attribute
`kinevo_complete_generations` last; readers slice to that count and a resumed writer first
cuts away anything a killed run appended beyond it. So a generation is in the archive
completely or not at all.

Adding a variable: one line in `VARIABLES`, and the value for it where the run loop computes
the others (`Evolution._record` in evo/evolution.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
import zarr
import zarr.api.asynchronous
from zarr.codecs import BloscCodec
from zarr.core.sync import sync

from kinevo.faults import is_url, zarr_store
from world.layout import COUNTERS

COMPLETE = "kinevo_complete_generations"
SCHEMA = "kinevo_schema"
# 1: the layout before the schema had a version (21 counter variables, uid a variable).
# 2: one chunk per generation, the generation axis resized by every append.
# 3: sharded along generation (chunks and shards of many generations, `generation_chunks`),
#    the generation axis grown CAPACITY at a time, rows past the commit marker unused.
SCHEMA_VERSION = 4
# Generations the axis grows by (all variables together), and the chunk and shard sizes.
CAPACITY = 256
SHARD_MAX_GENERATIONS = 256
CHUNK_BYTES = 1 << 20
SHARD_BYTES = 8 << 20
# The codec of every array along generation (inside each shard): LZ4 in Blosc, a core Zarr v3
# codec, after a byte shuffle (typesize from the dtype). With Zarr's default Zstd, reading
# `counters` of 1,000 individuals x 1,000 generations (192 MB) spent a third of its time
# decoding; LZ4 reads it 2.3x faster at about the same size, and appends are faster too
# (docs/speed.md, "Archive alone"). What is left is Zarr's buffers: a sharded read decodes each
# inner chunk into a new buffer and copies it twice. Each array's metadata names its codec, so
# an archive written with another one reads and appends as before (no schema change).
COMPRESSORS = (BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),)
# Wall-clock figures differ between otherwise identical runs.
TIMING_VARS = ("seconds", "agent_steps_per_s")


class ArchiveError(ValueError):
    pass


@dataclass(frozen=True)
class Variable:
    dims: tuple[str, ...]  # given as one space-separated string
    dtype: str  # numpy dtype name; "str" for labels
    units: str  # "1" for dimensionless, "label" for names
    description: str
    coord: bool = False  # a coordinate (labels along dims) rather than a data variable

    def __post_init__(self):
        if isinstance(self.dims, str):
            object.__setattr__(self, "dims", tuple(self.dims.split()))


# Every dimension has an index coordinate of its own name (listed first below), which
# `generation_dataset` makes; every other entry is a value the run loop gives.
DIMENSIONS = (
    "generation",
    "individual",
    "gene",
    "counter",
    "trial",
    "slot",
    "slot_other",
    "update",
)

# fmt: off
VARIABLES: dict[str, Variable] = {
    # name: Variable(dims, dtype, units,
    #                description, coord=...)
    # -- dimension coordinates (generation_dataset makes them)
    "generation": Variable("generation", "int64", "generation",
                           "generation number; 0 holds the founders", coord=True),
    "individual": Variable("individual", "int64", "1",
                           "position in the population (row of the searcher's population)",
                           coord=True),
    "gene": Variable("gene", "str", "label",
                     "gene name, as declared in the config (kinevo.genes)", coord=True),
    "counter": Variable("counter", "str", "label",
                        "behaviour counter name (world.layout.COUNTERS)", coord=True),
    "trial": Variable("trial", "int64", "1",
                      "trial (one world of agents_per_trial individuals) in the generation",
                      coord=True),
    "slot": Variable("slot", "int64", "1", "agent slot in a trial's world", coord=True),
    "slot_other": Variable("slot_other", "int64", "1",
                           "agent slot in a trial's world, second axis of slot x slot",
                           coord=True),
    "update": Variable("update", "int64", "1", "PPO update of a trial's training (from 1)",
                       coord=True),
    # -- individuals
    "uid": Variable("generation individual", "int64", "uid",
                    "unique id of the individual over the run (an elite keeps its uid)",
                    coord=True),
    "genome": Variable("generation individual gene", "float64", "gene's own units",
                       "gene values the individual lived with (decoded search_point)"),
    "search_point": Variable("generation individual gene", "float64", "1",
                             "the searcher's point in the unit cube, one axis per gene"),
    "fitness": Variable("generation individual", "float64", "hearts per episode",
                        "own hearts per episode, mean over its trials, as config fitness.when "
                        "says (default: after training, on fresh seeded episodes)"),
    "training_fitness": Variable("generation individual", "float64", "hearts per episode",
                                 "own hearts per episode while it learned, mean over its "
                                 "trials"),
    "curve": Variable("generation individual update", "float64", "hearts per episode",
                      "learning curve: own hearts per episode in each update's rollout, mean "
                      "over its trials"),
    "weights_trial": Variable("generation individual", "int64", "1",
                              "trial whose trained weights it passes on (its best by trial "
                              "fitness, first on ties)"),
    "parent_a": Variable("generation individual", "int64", "uid",
                         "first parent (weights come from it when inherited); -1: founder"),
    "parent_b": Variable("generation individual", "int64", "uid",
                         "second parent; -1: founder"),
    "born": Variable("generation individual", "int64", "generation",
                     "generation the individual was born in"),
    "mate": Variable("generation individual", "int64", "uid",
                     "partner it bonded with most often (ties: lowest uid); -1: none"),
    "twin_group": Variable("generation individual", "int64", "uid",
                           "population.relatedness: the uid of the trial member whose genome "
                           "its identical twins copy (the same for them and for it); -1: no "
                           "twin"),
    "counters": Variable("generation individual counter", "int64", "count",
                         "own behaviour summed over its trials' training episodes: energy "
                         "counters in energy units, *_steps in agent-steps, others events"),
    # -- trials
    "trial_uids": Variable("generation trial slot", "int64", "uid",
                           "individual placed in each slot of each trial"),
    "kinship": Variable("generation trial slot slot_other", "float32", "1",
                        "kinship matrix K the trial's agents lived with (K_ii = 1)"),
    "energy_given": Variable("generation trial slot slot_other", "int64", "energy",
                             "energy the agent in slot gave the one in slot_other while the "
                             "trial learned (all env copies)"),
    "diamonds_given": Variable("generation trial slot slot_other", "int64", "count",
                               "diamonds the agent in slot gave the one in slot_other while "
                               "the trial learned (all env copies)"),
    "trial_fitness": Variable("generation trial slot", "float64", "hearts per episode",
                              "fitness of the individual in each slot of each trial"),
    # -- the population
    "best_fitness": Variable("generation", "float64", "hearts per episode",
                             "highest fitness in the generation"),
    "mean_fitness": Variable("generation", "float64", "hearts per episode",
                             "mean fitness of the generation"),
    "gene_mean": Variable("generation gene", "float64", "gene's own units",
                          "population mean of each gene"),
    "bonds": Variable("generation", "int64", "count",
                      "mate bonds formed in the generation's trials"),
    "nan_skips": Variable("generation", "int64", "count",
                          "PPO updates skipped by the non-finite guard, all trials"),
    # -- wall-clock figures: they differ between identical runs, `identical` skips them
    "seconds": Variable("generation", "float64", "s",
                        "wall-clock time of the generation, trials and bookkeeping"),
    "agent_steps_per_s": Variable("generation", "float64", "agent-steps per second",
                                  "agent-steps simulated in the trials per wall-clock second"),
}
# fmt: on
GIVEN = tuple(name for name in VARIABLES if name not in DIMENSIONS)  # what the run loop supplies


def generation_dataset(
    generation: int, values: Mapping[str, object], gene_names: Sequence[str]
) -> xr.Dataset:
    """One generation of the archive, checked against `VARIABLES`.

    values: every name in GIVEN -> its array for this generation, without the generation axis
    (fitness: float64[P], counters: int64[P, len(COUNTERS)] in COUNTERS order, kinship:
    float32[T, n, n], best_fitness: a scalar ...). The sizes of individual, trial and slot come
    from the values; gene and counter from `gene_names` and world.layout.COUNTERS. Raises
    ValueError naming the variable for a missing or unknown name, a shape that does not fit its
    dims, or a dtype that cannot be stored as the table's without loss.
    """
    unknown = sorted(set(values) - set(GIVEN))
    if unknown:
        raise ValueError(f"unknown archive variable(s) {unknown}; the schema has {list(GIVEN)}")
    missing = [name for name in GIVEN if name not in values]
    if missing:
        raise ValueError(f"archive variable(s) {missing} missing from generation {generation}")
    sizes = {"gene": len(gene_names), "counter": len(COUNTERS)}
    source = {"gene": "the gene names", "counter": "world.layout.COUNTERS"}
    arrays = {}
    for name in GIVEN:
        var = VARIABLES[name]
        arr = np.asarray(values[name])
        want = np.dtype(var.dtype)
        if not np.can_cast(arr.dtype, want, casting="safe"):
            raise ValueError(f"{name}: dtype {arr.dtype} cannot be stored as {want} without loss")
        dims = var.dims[1:]
        if arr.ndim != len(dims):
            raise ValueError(f"{name}: expected dims {dims}, got an array of shape {arr.shape}")
        for dim, n in zip(dims, arr.shape, strict=True):
            key = "slot" if dim == "slot_other" else dim  # a slot x slot matrix is square
            if sizes.setdefault(key, n) != n:
                raise ValueError(
                    f"{name}: shape {arr.shape} for dims {dims}, but {dim} has size "
                    f"{sizes[key]} (from {source.get(key, key)})"
                )
            source.setdefault(key, name)
        arrays[name] = arr.astype(want)[None]
    coords = {
        "generation": [int(generation)],
        "individual": np.arange(sizes["individual"]),
        "gene": np.array(list(gene_names), dtype=object),
        "counter": np.array(COUNTERS, dtype=object),
        "trial": np.arange(sizes["trial"]),
        "slot": np.arange(sizes["slot"]),
        "slot_other": np.arange(sizes["slot"]),
        "update": np.arange(1, sizes["update"] + 1),
    }

    def attrs(name: str) -> dict:
        return {"description": VARIABLES[name].description, "units": VARIABLES[name].units}

    return xr.Dataset(
        {n: (VARIABLES[n].dims, a, attrs(n)) for n, a in arrays.items() if not VARIABLES[n].coord},
        coords={
            **{d: (d, np.asarray(v, dtype=_dtype(d)), attrs(d)) for d, v in coords.items()},
            **{
                n: (VARIABLES[n].dims, a, attrs(n)) for n, a in arrays.items() if VARIABLES[n].coord
            },
        },
        attrs={SCHEMA: SCHEMA_VERSION},
    )


def _dtype(name: str):
    return object if VARIABLES[name].dtype == "str" else np.dtype(VARIABLES[name].dtype)


def schema_table() -> str:
    """The schema as a Markdown table (variable, dims, dtype, units, description)."""
    rows = ["| variable | dims | dtype | units | description |", "|---|---|---|---|---|"]
    for name, v in VARIABLES.items():
        kind = " (coordinate)" if v.coord else ""
        rows.append(
            f"| `{name}`{kind} | {', '.join(v.dims)} | {v.dtype} | {v.units} | {v.description} |"
        )
    return "\n".join(rows)


# -- the store --------------------------------------------------------------------------------
# An archive lives in a local folder (a Path, or a str without "://") or at an fsspec URL
# (`s3://bucket/run.zarr`, `memory://run.zarr`: Zarr's FsspecStore), which every function
# below takes alike.
def archive_location(path: str | Path) -> str | Path:
    """`path` as the functions below take it: a URL stays a str, anything else is a Path."""
    return path if is_url(path) else Path(path)


def archive_exists(path: str | Path) -> bool:
    """Is there a Zarr group (a kinevo archive or another) at `path`?"""
    path = archive_location(path)
    if is_url(path):
        return sync(zarr_store(path, read_only=True).exists("zarr.json"))
    return (path / "zarr.json").exists()


def remove_archive(path: str | Path) -> None:
    """Delete the store at `path`, whatever it holds (the caller has checked it may)."""
    path = archive_location(path)
    if is_url(path):
        sync(zarr_store(path).delete_dir(""))
    else:
        shutil.rmtree(path, ignore_errors=True)


def complete_generations(path: str | Path) -> int:
    """Generations fully written (0 when the store is missing or was never committed)."""
    path = archive_location(path)
    if not archive_exists(path):
        return 0
    try:
        return int(_open_group(path).attrs.get(COMPLETE, 0))
    except Exception as err:
        raise ArchiveError(f"{path}: not a readable kinevo archive ({err})") from None


def _open_group(path: str | Path, mode: str = "r") -> zarr.Group:
    return zarr.open_group(zarr_store(path, read_only=mode == "r"), mode=mode)


def stored_attrs(path: str | Path) -> dict:
    return dict(_open_group(archive_location(path)).attrs)


def check_schema(path: str | Path) -> None:
    """Raise ArchiveError unless the store at `path` was written with this SCHEMA_VERSION."""
    path = archive_location(path)
    attrs = stored_attrs(path)
    if SCHEMA not in attrs and COMPLETE not in attrs:
        raise ArchiveError(
            f"{path}: a Zarr store, but not a kinevo archive (no {SCHEMA} attribute)"
        )
    found = attrs.get(SCHEMA, 1)  # archives before the version attr: schema 1
    if found != SCHEMA_VERSION:
        raise ArchiveError(
            f"{path}: archive schema {found}, but this kinevo reads and writes schema "
            f"{SCHEMA_VERSION}; open it with the kinevo that wrote it (or xarray.open_zarr), "
            "or start the run again with --force"
        )


def open_archive(path: str | Path) -> xr.Dataset:
    """The archive's complete generations as one lazily loaded Dataset (not Dask-backed).

    Every variable's attrs say what it is (`description`) and in which `units`; `VARIABLES`
    lists them. Behaviour counters: `ds.counters.sel(counter="hearts")`."""
    path = archive_location(path)
    n = complete_generations(path)
    if n == 0:
        raise ArchiveError(f"{path}: no complete generation in this archive")
    check_schema(path)
    ds = _open_committed(path, n)
    for key in ("config",):
        if key in ds.attrs and isinstance(ds.attrs[key], str):
            ds.attrs[key] = json.loads(ds.attrs[key])
    return ds


def _open_committed(path: str | Path, n: int) -> xr.Dataset:
    """The first n generations. While the generation axis grows (every CAPACITY generations;
    or after a run was killed doing so) arrays differ in length along `generation`, which
    xarray refuses to put in one Dataset; then each array is opened alone, cut to n, and
    merged."""
    group = _open_group(path)
    lengths = {
        name: arr.shape[0]
        for name, arr in group.arrays()
        if (arr.metadata.dimension_names or ())[:1] == ("generation",)
    }
    # chunks=None: lazy arrays read by Zarr in one call each, not a Dask task per generation
    # (the inner chunks); `.chunk()` the result for Dask.
    if len(set(lengths.values())) <= 1:
        return xr.open_zarr(zarr_store(path, read_only=True), consolidated=False,
                            chunks=None).isel(generation=slice(0, n))  # fmt: skip
    ragged = set(lengths)
    parts = []
    for name in sorted(ragged):
        one = xr.open_zarr(
            zarr_store(path, read_only=True), consolidated=False, chunks=None,
            drop_variables=sorted(ragged - {name}),
        )  # fmt: skip
        parts.append(one.isel(generation=slice(0, n)))
    ds = xr.merge(parts, combine_attrs="override", join="exact")
    # alone, a non-index coordinate (uid) opens as a data variable; its users name it
    coords = {c for _, arr in group.arrays() for c in arr.attrs.get("coordinates", "").split()}
    return ds.set_coords(sorted(coords & set(ds.data_vars)))


def _pow2_at_most(x: float) -> int:
    return 1 << max(0, int(np.floor(np.log2(max(x, 1)))))


def generation_chunks(nbytes_per_generation: int) -> tuple[int, int]:
    """(generations per inner chunk, generations per shard) of a variable that takes
    `nbytes_per_generation` a generation: powers of two, as many as fit CHUNK_BYTES and
    SHARD_BYTES (uncompressed), at most SHARD_MAX_GENERATIONS, the shard at least a chunk."""
    b = max(1, nbytes_per_generation)
    top = SHARD_MAX_GENERATIONS
    chunk = min(top, _pow2_at_most(CHUNK_BYTES / b))
    return chunk, max(chunk, min(top, _pow2_at_most(SHARD_BYTES / b)))


def _create(path: str | Path, ds: xr.Dataset, attrs: dict) -> None:
    """Lay out an empty store for generations like `ds` (one generation): every variable along
    `generation` in chunks and shards of many generations (`generation_chunks`), CAPACITY
    generations long; the other coordinates (gene names, counters, ...) written now. No
    generation is committed."""
    import dask.array as da

    cap = CAPACITY
    variables, encoding = {}, {}
    for name, var in ds.variables.items():
        if not var.dims or var.dims[0] != "generation":
            variables[name] = var
        elif name == "generation":
            variables[name] = xr.Variable("generation", np.arange(cap, dtype=np.int64), var.attrs)
            encoding[name] = {"chunks": (cap,)}
        else:
            chunk, shard = generation_chunks(int(var.nbytes))
            rest = var.shape[1:]
            encoding[name] = {
                "chunks": (chunk, *rest), "shards": (shard, *rest), "compressors": COMPRESSORS,
            }  # fmt: skip
            # lazy zeros: compute=False writes the layout, no data
            lazy = da.zeros((cap, *rest), dtype=var.dtype, chunks=(shard, *rest))
            variables[name] = xr.Variable(var.dims, lazy, var.attrs)
    template = xr.Dataset(
        {n: variables[n] for n in ds.data_vars},
        coords={n: variables[n] for n in ds.coords},
    )
    template.attrs = {**attrs, SCHEMA: SCHEMA_VERSION, COMPLETE: 0}
    layout = dict(mode="w", zarr_format=3, consolidated=False, compute=False, encoding=encoding)
    if is_url(path):
        # An object store has no atomic rename of a folder: laid out in place. A kill here
        # leaves a store with no committed generation, which the next start lays out again.
        remove_archive(path)
        template.to_zarr(zarr_store(path), **layout)
        return
    # Laid out beside its place, then renamed into it: a run killed here leaves no store that
    # looks foreign (a group without our attributes) where its archive belongs.
    partial = path.with_name(f"{path.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    template.to_zarr(zarr_store(partial), **layout)
    shutil.rmtree(path, ignore_errors=True)  # an uncommitted layout of an earlier attempt
    os.replace(partial, path)


def append_generation(path: str | Path, ds: xr.Dataset, attrs: dict | None = None) -> int:
    """Write one generation (from `generation_dataset`) and commit it.
    `attrs` (config, seed, versions) are written with the commit. Returns the complete count.

    The generation's row goes into each variable's current shard (a shard file is rewritten
    whole, atomically, by Zarr's LocalStore: a kill leaves the old shard or the new one, so
    committed generations in it survive); the commit marker is raised last. Rows past the
    marker (a killed write's leftovers) are overwritten by the next append."""
    path = archive_location(path)
    n = complete_generations(path)
    g = int(ds.generation.values[0])
    if g != n:
        raise ArchiveError(f"{path}: expected generation {n} next, got {g}")
    if n > 0:
        check_schema(path)
    attrs = dict(attrs or {})
    if n == 0:
        _create(path, ds, attrs)
    rows = {
        name: ds[name].values[0] for name in ds.variables if ds[name].dims[:1] == ("generation",)
    }
    sync(_write_rows(path, g, rows))  # every variable at once: the writes overlap
    group = _open_group(path, mode="r+")
    group.update_attributes({**attrs, SCHEMA: SCHEMA_VERSION, COMPLETE: n + 1})  # the commit
    return n + 1


async def _write_rows(path: str | Path, g: int, rows: dict[str, np.ndarray]) -> None:
    """Row g of every generation array (`rows`: name -> value without the generation axis),
    growing the generation axis of all of them by CAPACITY first when g lies past it."""
    group = await zarr.api.asynchronous.open_group(store=zarr_store(path), mode="r+")
    names = list(rows)
    arrays = dict(zip(names, await asyncio.gather(*map(group.getitem, names)), strict=True))
    cap = arrays["generation"].shape[0]
    if g >= cap:  # xarray needs one length along generation: grow them all together
        new = (g // CAPACITY + 1) * CAPACITY
        await asyncio.gather(*(arr.resize((new, *arr.shape[1:])) for arr in arrays.values()))
        await arrays["generation"].setitem(slice(cap, new), np.arange(cap, new, dtype=np.int64))
    await asyncio.gather(
        *(arrays[n].setitem(g, row) for n, row in rows.items() if n != "generation")
    )


def read_generation(path: str | Path, generation: int) -> xr.Dataset:
    """One complete generation, loaded into memory (no generation axis)."""
    ds = open_archive(path)
    if generation >= ds.sizes["generation"]:
        raise ArchiveError(f"{path}: generation {generation} is not complete")
    try:
        return ds.isel(generation=generation).load()
    except Exception as err:  # a chunk truncated or overwritten on disk
        raise ArchiveError(
            f"{path}: generation {generation} cannot be read ({type(err).__name__}: {err})"
        ) from None


def identical(a: str | Path, b: str | Path, skip: tuple[str, ...] = TIMING_VARS) -> list[str]:
    """Names of variables and coordinates that differ between two archives (empty when equal)."""
    da, db = open_archive(a), open_archive(b)
    diffs = sorted(set(da.variables) ^ set(db.variables))
    for k in sorted(set(da.variables) & set(db.variables)):
        if k in skip:
            continue
        if not np.array_equal(da[k].values, db[k].values):
            diffs.append(k)
    if da.sizes != db.sizes:
        diffs.append("sizes")
    return diffs


if __name__ == "__main__":
    print(schema_table())
