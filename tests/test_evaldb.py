import dataclasses
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from analysis import evaldb
from analysis.evaluate import main as evaluate_main
from analysis.heatmap import score_table
from analysis.suites import SUITES
from evo.checkpoint import load_checkpoint, save_checkpoint
from evo.config import PPOConfig
from evo.evaluate import PolicyActor
from evo.policy import make_policy
from world.config import WorldConfig

ROOT = Path(__file__).parents[1]


def row(**kw):
    base = dict(policy="baseline:random", run="", generation=-1, suite="maze", task="small",
                episodes=8, score=0.25, seconds=0.5, time="2026-11-25T10:00:00+00:00")  # fmt: skip
    return {**base, **kw}


def test_rows_round_trip(tmp_path):
    db = tmp_path / "e.sqlite"
    rows = [row(), row(policy="file:///x/g0001_uid3.pt", run="r", generation=1, score=1.0)]
    assert evaldb.insert(db, rows) == 2
    back = evaldb.read(db)
    assert [asdict(r) for r in back] == rows


@pytest.mark.parametrize(
    "bad, field",
    [({"score": 1.5}, "score"), ({"score": float("nan")}, "score"), ({"episodes": 0}, "episodes"),
     ({"generation": "3"}, "generation"), ({"suite": ""}, "empty"), ({"time": "yesterday"}, "time"),
     ({"seconds": -1.0}, "seconds"), ({"extra": 1}, "unknown")],
)  # fmt: skip
def test_malformed_rows_are_refused_and_nothing_is_written(tmp_path, bad, field):
    db = tmp_path / "e.sqlite"
    with pytest.raises(evaldb.EvalDBError, match=field):
        evaldb.insert(db, [row(), row(**bad)])
    assert not db.exists() or evaldb.read(db) == []


def test_a_malformed_row_in_the_file_is_named_on_read(tmp_path):
    db = tmp_path / "e.sqlite"
    evaldb.insert(db, [row()])
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE results SET time = 'soon'")
    con.close()
    with pytest.raises(evaldb.EvalDBError, match="row id 1.*time"):
        evaldb.read(db)


def test_a_file_that_is_not_an_eval_database_is_refused(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_text("not sqlite at all, just text that is long enough" * 20)
    with pytest.raises(evaldb.EvalDBError, match="not an eval database"):
        evaldb.read(bad)


def test_score_table_puts_baselines_first_and_keeps_the_latest_score():
    rows = [evaldb.Result(**r) for r in [
        row(policy="file:///runs/a/checkpoints/g0002_uid7.pt", run="a", generation=2, score=0.5),
        row(policy="baseline:scripted", score=1.0),
        row(policy="baseline:random", score=0.0),
        row(policy="file:///runs/a/checkpoints/g0002_uid7.pt", run="a", generation=2, score=0.75),
        row(policy="baseline:random", task="other", suite="maze", score=0.125),
    ]]  # fmt: skip
    scores, policies, tasks = score_table(rows)
    assert policies == ["random", "scripted", "a/g0002_uid7"]
    assert tasks == ["maze/small", "maze/other"]
    np.testing.assert_array_equal(scores, [[0.0, 0.125], [1.0, np.nan], [0.75, np.nan]])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    world, ppo = WorldConfig(n_agents=2), PPOConfig(hidden=16, channels=4, mode="shared")
    out = tmp_path_factory.mktemp("run") / "checkpoints" / "g0003_uid9"
    save_checkpoint(out, world, ppo, [make_policy(world, ppo).state_dict()], uids=[9],
                    generation=3)  # fmt: skip
    return out.with_suffix(".pt")


def test_evaluate_stores_policy_and_baselines_then_heatmap_draws_them(checkpoint, tmp_path):
    db = tmp_path / "e.sqlite"
    argv = [str(checkpoint), "--suite", "navigation", "--db", str(db), "--episodes", "2"]
    assert evaluate_main(argv) == 0
    rows = evaldb.read(db)
    policies = {r.policy for r in rows}
    assert policies == {"baseline:random", "baseline:scripted", checkpoint.resolve().as_uri()}
    ours = [r for r in rows if r.policy.startswith("file:")]
    assert {r.task for r in ours} == {"open_room", "around_wall"}
    assert all(r.generation == 3 and r.run == checkpoint.parent.parent.name for r in ours)
    assert all(r.score == 1.0 for r in rows if r.policy == "baseline:scripted")
    assert evaluate_main(argv) == 0  # baselines are not evaluated twice
    assert len(evaldb.read(db)) == len(rows) + len(ours)
    r = subprocess.run([sys.executable, "-m", "analysis.heatmap", "--db", str(db)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert db.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_an_individual_mode_checkpoint_plays_scenes_of_another_agent_count(tmp_path):
    # 3 members (as evo.train writes for 3 individuals) on the suites' 1- and 2-agent scenes
    torch.manual_seed(0)
    world, ppo = WorldConfig(n_agents=3), PPOConfig(hidden=16, channels=4, mode="individual")
    states = [make_policy(world, ppo).state_dict() for _ in range(3)]
    out = tmp_path / "policy"
    save_checkpoint(out, world, ppo, states, uids=[0, 1, 2], generation=0)
    db = tmp_path / "e.sqlite"
    assert evaluate_main([str(out.with_suffix(".pt")), "--db", str(db), "--episodes", "2"]) == 0
    ours = [r for r in evaldb.read(db) if r.policy.startswith("file:")]
    assert {r.suite for r in ours} == set(SUITES)
    # elsewhere (fitness inside evolution) a member count that does not fit is an error
    ck = load_checkpoint(out.with_suffix(".pt"))
    with pytest.raises(ValueError, match="3 members for a world of 2 agents"):
        PolicyActor(dataclasses.replace(ck, world=WorldConfig(n_agents=2)), 2)


@pytest.mark.parametrize(
    "args, message",
    [(["--suite", "chess"], "unknown suite"), (["missing.pt"], "missing"),
     (["--episodes", "1"], "episodes")],
)  # fmt: skip
def test_evaluate_exits_2_with_one_message_on_bad_input(tmp_path, capsys, args, message):
    assert evaluate_main([*args, "--db", str(tmp_path / "e.sqlite")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_heatmap_exits_2_on_a_missing_database(tmp_path):
    r = subprocess.run([sys.executable, "-m", "analysis.heatmap", "--db", str(tmp_path / "no.db")],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert r.returncode == 2 and "no such eval database" in r.stderr
