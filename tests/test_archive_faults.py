"""Damaged archives and run folders: a generation half appended (a writer killed, or still
writing) is invisible to readers; corrupted metadata, a corrupted chunk, a foreign store and a
weights file that carries a pickle each give one clear error naming the file, and nothing in
them is executed."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr
from test_archive import GENES, values, write

import analysis
from evo.archive import (
    ArchiveError,
    append_generation,
    complete_generations,
    generation_dataset,
    open_archive,
    read_generation,
)
from evo.evolution import weights_index
from evo.trial import load_weights, save_weights

ROOT = Path(__file__).parents[1]
SMOKE = ROOT / "runs" / "smoke.yaml"


def half_append(path, n_arrays: int) -> None:
    """What a writer killed while growing the generation axis leaves: some arrays longer."""
    group = zarr.open_group(path, mode="r+")
    grown = 0
    for _, arr in sorted(group.arrays(), key=lambda kv: kv[0]):
        if (arr.metadata.dimension_names or ())[:1] == ("generation",) and grown < n_arrays:
            arr.resize((arr.shape[0] + 1, *arr.shape[1:]))
            grown += 1


@pytest.mark.parametrize("n_arrays", [1, 5])
def test_a_half_appended_generation_is_invisible_and_then_replaced(tmp_path, n_arrays):
    path = write(tmp_path / "archive.zarr")
    before = open_archive(path).load()
    half_append(path, n_arrays)
    for ds in (open_archive(path), analysis.open_archive(tmp_path)):
        assert ds.sizes["generation"] == 2
        assert ds.load().drop_attrs().identical(before.drop_attrs())
    np.testing.assert_array_equal(read_generation(path, 1).fitness, values(1)["fitness"])
    append_generation(path, generation_dataset(2, values(2), GENES))
    ds = open_archive(path)
    assert ds.sizes["generation"] == 3
    np.testing.assert_array_equal(ds.uid.values[2], values(2)["uid"])


def test_corrupted_group_metadata_is_named(tmp_path):
    path = write(tmp_path / "archive.zarr")
    (path / "zarr.json").write_bytes(b"\x00\xffnot json")
    with pytest.raises(ArchiveError, match=f"{path}: not a readable kinevo archive"):
        complete_generations(path)
    with pytest.raises(ArchiveError, match="not a readable kinevo archive"):
        analysis.open_archive(path)


def test_a_corrupted_chunk_is_named_when_read(tmp_path):
    path = write(tmp_path / "archive.zarr")
    chunks = [p for p in (path / "fitness").rglob("*") if p.is_file() and p.name != "zarr.json"]
    for p in chunks:
        p.write_bytes(p.read_bytes()[:3])  # truncated
    with pytest.raises(ArchiveError, match=f"{path}: generation 1 cannot be read"):
        read_generation(path, 1)


def test_a_foreign_zarr_store_is_not_taken_for_an_archive(tmp_path):
    path = tmp_path / "foreign.zarr"
    group = zarr.open_group(path, mode="w", zarr_format=3)
    group.create_array("temperature", shape=(3,), dtype="f8")
    assert complete_generations(path) == 0
    with pytest.raises(ArchiveError, match="no complete generation"):
        analysis.open_archive(path)


def test_a_foreign_store_in_the_run_folder_is_not_resumed_into(tmp_path):
    foreign = zarr.open_group(tmp_path / "archive.zarr", mode="w", zarr_format=3)
    foreign.attrs["owner"] = "someone else"
    r = subprocess.run(
        [sys.executable, "-m", "evo.run", str(SMOKE), "--out", str(tmp_path), "--resume"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "not a kinevo archive" in r.stderr and "Traceback" not in r.stderr
    assert dict(zarr.open_group(tmp_path / "archive.zarr", mode="r").attrs) == {
        "owner": "someone else"
    }


class Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_weights_that_carry_a_pickle_are_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "t0.pt"
    with open(path, "wb") as f:
        pickle.dump({"0.w": Boom()}, f)
    with pytest.raises(ValueError, match=r"t0\.pt: not a readable weights file"):
        load_weights([(str(path), 0)])
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not a readable weights file .FileNotFoundError"),
        (b"PK\x03\x04 truncated", "not a readable weights file"),
        ({"0.w": [1, 2]}, "expected a flat dict of tensors"),
    ],
)
def test_damaged_weights_files_are_named(tmp_path, content, message):
    path = tmp_path / "t3.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(ValueError, match=message):
        load_weights([(str(path), 0)])
    save_weights([{"w": torch.ones(2)}], path)
    assert torch.equal(load_weights([(str(path), 0)])[0]["w"], torch.ones(2))


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "missing; the run cannot be resumed"),
        ("{not json", "not a weights index"),
        ('{"7": "weights/g0/t0.pt"}', "not a weights index"),
    ],
)
def test_a_damaged_weights_index_is_named(tmp_path, text, message):
    path = tmp_path / "g0.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ArchiveError, match=f"{path}: {message}"):
        weights_index(path)
    path.write_text('{"7": ["weights/g0/t1.pt", 1]}')
    assert weights_index(path) == {7: ("weights/g0/t1.pt", 1)}
