"""evo.train and evo.sim from the command line."""

import json
import subprocess
import sys

import pytest
import torch

TRAIN = """
seed: 1
world: {n_agents: 2, width: 7, height: 7, max_steps: 32}
ppo: {total_timesteps: 256, num_envs: 4, num_steps: 32, hidden: 16, channels: 4}
kinship: {kind: teams, n_teams: 1}
genes: {kin_weight: 0.5}
"""


def run(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True)


def test_train_writes_checkpoint_and_curve_then_sim_scores_it(tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(TRAIN)
    r = run("evo.train", str(cfg), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["agent_steps"] == 2 * 4 * 32 * 2 and len(summary["hearts_per_episode"]) == 2
    assert (tmp_path / "out" / "curve.csv").read_text().startswith("update,")
    assert len(json.loads((tmp_path / "out" / "curve.json").read_text())) == 2
    gif = tmp_path / "sim.gif"
    r = run("evo.sim", summary["checkpoint"], "--episodes", "3", "--gif", str(gif))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["trained"]["episodes"] == 3 and "random" in report and gif.stat().st_size > 0


def test_bad_train_config_exits_2_naming_every_problem(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("ppo: {learning_rate: -1, mode: solo}\nworlds: {}\n")
    r = run("evo.train", str(cfg), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert f"{cfg}: worlds: unknown field" in lines
    assert f"{cfg}: ppo.learning_rate: must be > 0, got -1" in lines
    assert any(line.startswith(f"{cfg}: ppo.mode:") for line in lines)
    assert not (tmp_path / "out").exists()


def test_sim_refuses_a_missing_checkpoint(tmp_path):
    r = run("evo.sim", str(tmp_path / "nope.pt"))
    assert r.returncode == 2 and "cannot read" in r.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_train_on_cuda_without_a_gpu_exits_2_naming_the_field(tmp_path):
    cfg = tmp_path / "gpu.yaml"
    cfg.write_text(TRAIN.replace("ppo: {", "ppo: {device: cuda, "))
    r = run("evo.train", str(cfg), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert r.stderr.strip() == f"{cfg}: ppo.device: 'cuda', but this machine has no CUDA device"
    assert not (tmp_path / "out").exists()
