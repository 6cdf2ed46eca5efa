"""The archive schema and store (evo.archive), without Dask: every variable described, every
dimension labelled, values checked against the table, generations appended and read back,
the commit marker, the schema version, and the run loop's record and replay of a generation."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from evo.archive import (
    COMPLETE,
    DIMENSIONS,
    GIVEN,
    SCHEMA,
    SCHEMA_VERSION,
    VARIABLES,
    ArchiveError,
    append_generation,
    complete_generations,
    generation_dataset,
    identical,
    open_archive,
    read_generation,
)
from world.layout import COUNTERS

SMOKE = Path(__file__).parents[1] / "runs" / "smoke.yaml"
GENES = ["kin_weight", "learning_rate"]
P, T, N = 4, 2, 2  # individuals, trials, slots per trial


def values(g: int = 0) -> dict[str, np.ndarray]:
    """Plain values for generation g, distinct per generation."""
    rng = np.random.default_rng(g)
    uid = np.arange(P, dtype=np.int64) + 10 * g
    fitness = rng.random(P)
    genes = rng.random((P, len(GENES)))
    return {
        "uid": uid,
        "genome": genes,
        "search_point": genes,
        "fitness": fitness,
        "training_fitness": fitness / 2,
        "curve": rng.random((P, 3)),
        "weights_trial": np.arange(P, dtype=np.int64) // N,
        "parent_a": np.full(P, -1 if g == 0 else 10 * (g - 1), np.int64),
        "parent_b": np.full(P, -1, np.int64),
        "born": np.full(P, g, np.int64),
        "mate": np.full(P, -1, np.int64),
        "twin_group": np.full(P, -1, np.int64),
        "counters": rng.integers(0, 100, (P, len(COUNTERS))),
        "trial_uids": uid.reshape(T, N),
        "kinship": np.broadcast_to(np.eye(N, dtype=np.float32), (T, N, N)),
        "trial_fitness": fitness.reshape(T, N),
        "energy_given": np.zeros((T, N, N), np.int64),
        "diamonds_given": np.ones((T, N, N), np.int64),
        "best_fitness": fitness.max(),
        "mean_fitness": fitness.mean(),
        "gene_mean": genes.mean(0),
        "bonds": 3 + g,
        "nan_skips": 0,
        "seconds": 1.5,
        "agent_steps_per_s": 1000.0,
    }


def write(path, generations: int = 2):
    for g in range(generations):
        append_generation(path, generation_dataset(g, values(g), GENES), {"seed": 7})
    return path


@pytest.fixture
def archive(tmp_path):
    return open_archive(write(tmp_path / "archive.zarr"))


def test_every_variable_and_coordinate_has_a_description_and_units(archive):
    assert set(archive.variables) == set(VARIABLES)
    for name, var in archive.variables.items():
        assert var.attrs.get("description"), name
        assert var.attrs.get("units"), name


def test_every_dimension_has_a_coordinate(archive):
    assert set(archive.dims) == set(DIMENSIONS)
    for dim in archive.dims:
        assert dim in archive.indexes, dim
    assert list(archive.individual.values) == list(range(P))
    assert list(archive.gene.values) == GENES
    assert list(archive.trial.values) == list(range(T))
    assert list(archive.slot.values) == list(archive.slot_other.values) == list(range(N))


def test_counters_are_one_array_labelled_by_every_world_counter(archive):
    assert archive.counters.dims == ("generation", "individual", "counter")
    assert archive.counters.dtype == np.int64
    assert list(archive.counter.values) == list(COUNTERS)
    hearts = archive.counters.sel(counter="hearts").values
    assert hearts.shape == (2, P)
    for name in COUNTERS:
        assert name not in archive.data_vars  # no longer one variable per counter


def test_uid_is_a_coordinate_along_generation_and_individual(archive):
    assert "uid" in archive.coords and "uid" not in archive.data_vars
    assert archive.uid.dims == ("generation", "individual")
    assert archive.fitness.coords["uid"].dims == ("generation", "individual")


def test_two_appended_generations_read_back_with_their_values(archive):
    assert archive.sizes["generation"] == 2
    assert list(archive.generation.values) == [0, 1]
    assert archive.attrs[SCHEMA] == SCHEMA_VERSION and archive.attrs["seed"] == 7
    for g in range(2):
        want, got = values(g), archive.isel(generation=g)
        for name in GIVEN:
            np.testing.assert_array_equal(got[name].values, want[name], err_msg=name)
            assert got[name].dtype == np.dtype(VARIABLES[name].dtype), name


def test_every_generation_array_is_stored_with_the_archive_codec(tmp_path):
    """LZ4 + byte shuffle in Blosc inside each shard (evo.archive.COMPRESSORS), not Zarr's
    default Zstd: reading counters across 1,000 generations depends on it."""
    group = zarr.open_group(write(tmp_path / "archive.zarr"), mode="r")
    for name in GIVEN:
        (shard,) = group[name].metadata.codecs
        inner = [c for c in shard.codecs if c.__class__.__name__ != "BytesCodec"]
        assert [(c.cname.value, c.shuffle.value) for c in inner] == [("lz4", "shuffle")], name
        assert inner[0].typesize == np.dtype(VARIABLES[name].dtype).itemsize, name


def test_read_generation_loads_one_generation_with_its_uids(tmp_path):
    path = write(tmp_path / "archive.zarr")
    g1 = read_generation(path, 1)
    assert "generation" not in g1.dims
    np.testing.assert_array_equal(g1.uid.values, values(1)["uid"])
    np.testing.assert_array_equal(
        g1.counters.sel(counter="hearts").values, values(1)["counters"][:, 0]
    )
    with pytest.raises(ArchiveError, match="generation 2 is not complete"):
        read_generation(path, 2)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda v: v.pop("fitness"), r"\['fitness'\] missing"),
        (lambda v: v.update(fitnes=v["fitness"]), r"unknown archive variable\(s\) \['fitnes'\]"),
        (
            lambda v: v.update(fitness=np.zeros(P + 1)),
            "fitness: shape .5,. .*individual has size 4",
        ),
        (lambda v: v.update(counters=np.zeros((P, 3), np.int64)), "counters: .*counter has size"),
        (lambda v: v.update(kinship=np.zeros((T, N, N + 1), np.float32)), "kinship: .*slot"),
        (lambda v: v.update(genome=np.zeros(P)), r"genome: expected dims \('individual', 'gene'\)"),
        (lambda v: v.update(bonds=1.5), "bonds: dtype float64 cannot be stored as int64"),
        (lambda v: v.update(kinship=np.zeros((T, N, N))), "kinship: dtype float64 .* float32"),
    ],
    ids=["missing", "unknown", "short", "counters", "not-square", "ndim", "float-int", "narrowing"],
)
def test_a_value_that_does_not_fit_the_schema_is_refused_by_name(change, message):
    v = values(0)
    change(v)
    with pytest.raises(ValueError, match=message):
        generation_dataset(0, v, GENES)


def test_gene_names_must_match_the_genome_width():
    with pytest.raises(ValueError, match="genome: .*gene has size 3 .from the gene names"):
        generation_dataset(0, values(0), [*GENES, "choosiness"])


def test_a_generation_written_past_the_commit_marker_is_invisible_then_replaced(tmp_path):
    path = write(tmp_path / "archive.zarr")
    zarr.open_group(path, mode="r+").attrs[COMPLETE] = 1  # as if killed before the marker
    assert complete_generations(path) == 1
    assert open_archive(path).sizes["generation"] == 1
    again = values(1)
    again["uid"] = again["uid"] + 100
    again["trial_uids"] = again["uid"].reshape(T, N)
    append_generation(path, generation_dataset(1, again, GENES))
    ds = open_archive(path)
    assert ds.sizes["generation"] == 2
    np.testing.assert_array_equal(ds.uid.values[1], again["uid"])
    np.testing.assert_array_equal(ds.uid.values[0], values(0)["uid"])


def test_generations_are_appended_in_order(tmp_path):
    path = write(tmp_path / "archive.zarr", generations=1)
    with pytest.raises(ArchiveError, match="expected generation 1 next, got 2"):
        append_generation(path, generation_dataset(2, values(2), GENES))


def _old_archive(path, **attrs):
    """A committed one-generation store in the layout before schema versions."""
    xr.Dataset(
        {
            "fitness": (("generation", "individual"), np.zeros((1, P))),
            "uid": (("generation", "individual"), np.arange(P)[None]),
            "hearts": (("generation", "individual"), np.zeros((1, P), np.int64)),
        },
        coords={"generation": [0]},
        attrs={COMPLETE: 1, **attrs},
    ).to_zarr(path, mode="w", zarr_format=3, consolidated=False)
    return path


def test_an_archive_without_a_schema_version_is_refused(tmp_path):
    path = _old_archive(tmp_path / "old.zarr")
    with pytest.raises(ArchiveError) as err:
        open_archive(path)
    assert str(err.value).startswith(f"{path}: archive schema 1, ")
    assert f"schema {SCHEMA_VERSION}" in str(err.value)


def test_an_archive_of_another_schema_version_is_refused(tmp_path):
    path = _old_archive(tmp_path / "new.zarr", **{SCHEMA: SCHEMA_VERSION + 1})
    with pytest.raises(ArchiveError, match=f"archive schema {SCHEMA_VERSION + 1}, but"):
        open_archive(path)


def test_no_generation_is_appended_to_an_archive_of_another_schema(tmp_path):
    path = _old_archive(tmp_path / "old.zarr")
    with pytest.raises(ArchiveError, match="archive schema 1"):
        append_generation(path, generation_dataset(1, values(1), GENES))
    assert complete_generations(path) == 1
    assert "kinevo_schema" not in zarr.open_group(path, mode="r").attrs


def test_identical_compares_values_and_uids_but_not_wall_clock(tmp_path):
    a = write(tmp_path / "a.zarr")
    b = tmp_path / "b.zarr"
    for g in range(2):
        v = values(g)
        v["seconds"] = 99.0
        if g == 1:
            v["uid"] = v["uid"] + 1
        append_generation(b, generation_dataset(g, v, GENES))
    assert identical(a, a) == []
    assert identical(a, b) == ["uid"]


def test_the_run_loop_records_a_generation_that_replays(tmp_path):
    """Evolution._record builds the archive from trial results; a fresh Evolution replays it
    (as --resume does) and reports the same row."""
    from evo.config import load_run_config
    from evo.evolution import Evolution
    from evo.trial import TrialResult

    cfg = load_run_config(SMOKE, ["evolution.checkpoint_top=0"])
    evo = Evolution(cfg, tmp_path, client=None, log=lambda s: None, progress=False)
    u = evo.genome.initial(P, np.random.default_rng(0))
    genes = evo.genome.decode(u)
    trials = [np.array([0, 2]), np.array([1, 3])]
    results = []
    for t, members in enumerate(trials):
        c = {name: np.full(N, 10 * t + k, np.int64) for k, name in enumerate(COUNTERS)}
        results.append(
            TrialResult(
                uids=evo.lineage.uid[members],
                fitness=np.array([1.0, 2.0]) + t,
                training_fitness=np.array([0.5, 1.0]) + t,
                counters=c,
                bonds=np.array([evo.lineage.uid[members]]) if t == 0 else np.zeros((0, 2)),
                nan_skips=np.zeros(N, np.int64),
                kinship=np.eye(N, dtype=np.float32),
                energy_given=np.zeros((N, N), np.int64),
                diamonds_given=np.zeros((N, N), np.int64),
                curve=[{"hearts_per_episode_by_slot": [0.1 * t, 0.2]}] * 3,
                agent_steps=100,
                seconds=0.1,
            )
        )
    fitness = evo._record(0, u, genes, trials, results, seconds=0.5)
    evo._drain()  # the generation's files land in the writer thread
    ds = open_archive(tmp_path / "archive.zarr").isel(generation=0)
    np.testing.assert_array_equal(fitness, [1.0, 2.0, 2.0, 3.0])
    np.testing.assert_array_equal(ds.fitness.values, fitness)
    np.testing.assert_array_equal(ds.uid.values, evo.lineage.uid)
    np.testing.assert_array_equal(ds.mate.values, [2, -1, 0, -1])
    hearts = ds.counters.sel(counter="hearts").values
    np.testing.assert_array_equal(hearts, [0, 10, 0, 10])
    assert int(ds.bonds) == 1 and ds.trial_uids.values.tolist() == [[0, 2], [1, 3]]

    again = Evolution(cfg, tmp_path, client=None, log=lambda s: None, progress=False)
    assert again.done == 1
    np.testing.assert_array_equal(again.evaluate(u), fitness)
    assert again.rows == [{k: v for k, v in evo.rows[0].items() if k != "timing"}]
    np.testing.assert_array_equal(again.mates, [2, -1, 0, -1])
