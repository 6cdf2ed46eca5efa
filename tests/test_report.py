import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from archive_toys import smoke_run, write_fake_run

from analysis import ArchiveError, open_archive, open_archives
from analysis import report as R

ROOT = Path(__file__).parents[1]
PLOTS = ["fitness", "genes", "metrics", "lineage", "kinship_network", "mate_network"]


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    return write_fake_run(tmp_path_factory.mktemp("run") / "run")


def test_open_archive_takes_the_run_folder_or_the_store(fake_run):
    a = open_archive(fake_run)
    b = open_archive(fake_run / "archive.zarr")
    assert a.sizes["generation"] == b.sizes["generation"] == 3
    np.testing.assert_array_equal(a.fitness.values, b.fitness.values)


def test_open_archives_stacks_runs_along_run(fake_run, tmp_path):
    other = write_fake_run(tmp_path / "short", generations=2)
    ds = open_archives([fake_run, other])
    assert list(ds.run.values) == ["run", "short"]
    assert ds.sizes["generation"] == 3
    assert np.isnan(ds.fitness.sel(run="short", generation=2)).all()
    np.testing.assert_array_equal(
        ds.fitness.sel(run="run").values, open_archive(fake_run).fitness.values
    )
    assert ds.attrs["runs"]["short"]["seed"] == 3


@pytest.mark.parametrize("kind", ["missing", "empty folder", "corrupt", "foreign", "partial"])
def test_a_path_that_is_not_an_archive_is_refused_naming_it(tmp_path, kind):
    path = tmp_path / "store"
    if kind == "empty folder":
        path.mkdir()
    elif kind == "corrupt":
        path.mkdir()
        (path / "zarr.json").write_text("{not json")
    elif kind == "foreign":
        zarr.open_group(path, mode="w").attrs["kinevo_complete_generations"] = 1
    elif kind == "partial":  # a run killed before its first generation was committed
        zarr.open_group(path, mode="w").attrs.update(
            {"kinevo_schema": 2, "kinevo_complete_generations": 0}
        )
    with pytest.raises(ArchiveError, match=str(path)):
        open_archive(path)


def test_report_writes_every_plot_and_a_page_that_shows_them(fake_run, tmp_path):
    index = R.write_report(fake_run, tmp_path / "rep")
    assert index == tmp_path / "rep" / "index.html"
    for stem in PLOTS:
        png = tmp_path / "rep" / f"{stem}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
    text = index.read_text()
    for stem in PLOTS:
        assert f"src='{stem}.png'" in text
    assert "<th>seed</th><td>3</td>" in text
    assert "<th>generations</th><td>3</td>" in text
    assert "wall time (s)" in text and "<th>kinevo</th><td>test</td>" in text
    assert "max_steps" in text  # the run config


def test_report_with_an_eval_database_shows_the_heatmap(fake_run, tmp_path):
    from analysis import evaldb

    db = tmp_path / "e.sqlite"
    evaldb.insert(db, [dict(policy="file:///x/g0001_uid2.pt", run="x", generation=1,
                            suite="maze", task="small", episodes=2, score=0.5, seconds=1.0,
                            time=evaldb.now())])  # fmt: skip
    index = R.write_report(fake_run, tmp_path / "rep", db=db)
    assert (tmp_path / "rep" / "heatmap.png").stat().st_size > 1000
    assert "src='heatmap.png'" in index.read_text()


def test_report_lists_what_the_archive_cannot_give(fake_run, tmp_path):
    ds = open_archive(fake_run)
    text = R.write_report(fake_run, tmp_path).read_text()
    if "steps" not in ds.counter.values:
        assert "Not in this archive" in text and "efficiency needs" in text


def test_report_draws_the_networks_of_the_chosen_generation(fake_run, tmp_path):
    figs, _ = R.figures(open_archive(fake_run), generation=1)
    assert figs["kinship_network"].axes[0].get_title() == "Kinship network, generation 1"
    with pytest.raises(ValueError, match="generation 7 is not in the archive"):
        R.figures(open_archive(fake_run), generation=7)


def test_report_cli_exits_2_on_a_path_that_is_not_an_archive(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "analysis.report", str(tmp_path / "nothing")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2
    assert "nothing" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_report_on_a_smoke_run_takes_seconds(tmp_path):
    run = smoke_run(tmp_path / "smoke")
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "analysis.report", str(run)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    took = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    assert took < 30, took
    for stem in PLOTS:
        assert (run / "report" / f"{stem}.png").stat().st_size > 1000
    text = (run / "report" / "index.html").read_text()
    assert "<th>population</th><td>4</td>" in text and "<th>seed</th><td>0</td>" in text
