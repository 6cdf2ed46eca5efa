"""python -m evo.bench prints its figures for both policies as JSON lines."""

import json

import numpy as np
import pytest
import torch

from evo import bench


def test_bench_prints_the_new_and_the_old_learner_side_by_side_with_their_costs(capsys):
    bench.main(["--settings", "runs", "--modes", "shared", "--rounds", "1", "--updates", "1",
                "--envs", "2", "--threads", "1"])  # fmt: skip
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    train = {x["learner"]: x for x in lines if x["bench"] == "train"}
    assert set(train) == {"new", "old"}
    new, old = train["new"], train["old"]
    assert (new["policy"], old["policy"]) == ("strided-v2", "conv-v1")
    # the old learner as it shipped: 4 x 4 and the runs' first widths, whatever the runs say now
    assert (old["epochs"], old["minibatches"], old["channels"]) == (4, 4, 16)
    assert (new["epochs"], new["minibatches"]) == (2, 8)
    assert new["envs"] == old["envs"] == 2  # --envs applies to both
    assert new["macs_per_sample"] < old["macs_per_sample"] / 3
    assert all(
        x["agent_steps_per_s_best"] > 0 and x["params_per_individual"] > 0 for x in train.values()
    )
    ratio = next(x for x in lines if x["bench"] == "ratio")
    assert (ratio["faster"], ratio["than"]) == ("new", "old") and ratio["ratio_best"] > 0


def test_the_large_setting_trains_the_defaults_against_the_old_learners_first_defaults():
    from evo.config import PPOConfig

    world, base = bench.settings()["large"]
    assert base == PPOConfig()  # what a ppo: section that sets nothing trains
    new, old = bench.resolve("large", base, "new"), bench.resolve("large", base, "old")
    assert new == PPOConfig()
    # PPOConfig's defaults as they first shipped (CleanRL's Atari values), not today's
    first = {"policy": "conv-v1", "update_epochs": 4, "num_minibatches": 4, "num_envs": 16,
             "num_steps": 128, "channels": 32, "hidden": 128, "learning_rate": 2.5e-4}  # fmt: skip
    assert {k: getattr(old, k) for k in first} == first
    assert (world.width, world.n_agents) == (17, 8)
    # elsewhere (the seeing task) the old network gets the task's own layout and widths
    seeing = PPOConfig(num_envs=64, num_steps=16, channels=8, learning_rate=0.01)
    old_seeing = bench.resolve("seeing", seeing, "old")
    assert (old_seeing.policy, old_seeing.num_envs, old_seeing.channels) == ("conv-v1", 64, 8)
    assert old_seeing.learning_rate == 0.01


def test_a_learner_spec_changes_only_what_it_names_and_refuses_unknown_fields():
    from evo.config import PPOConfig, learner

    base = PPOConfig(num_envs=7)
    got = learner(base, "conv-v1:update_epochs=3,learning_rate=0.01")
    assert (got.policy, got.update_epochs, got.learning_rate, got.num_envs) == (
        "conv-v1",
        3,
        0.01,
        7,
    )
    with pytest.raises(ValueError, match="epochs: unknown field"):
        learner(base, "conv-v1:epochs=3")
    with pytest.raises(ValueError, match="update_epochs: must be >= 1, got 0"):
        learner(base, "strided-v2:update_epochs=0")
    with pytest.raises(ValueError, match="unknown policy 'conv-v9'"):
        learner(base, "conv-v9")


def test_bench_refuses_an_unknown_policy_or_field(capsys):
    from evo import bench_learning

    for main in (bench.main, lambda a: bench_learning.main(["curves", *a])):
        for spec, words in (
            ("conv-v9", "unknown policy 'conv-v9'"),
            ("strided-v2:x=1", "x: unknown field"),
        ):
            with pytest.raises(SystemExit) as exited:
                main(["--learners", spec])
            assert exited.value.code == 2 and words in capsys.readouterr().err


def test_update_sweep_reports_each_pair_against_the_first(capsys, monkeypatch):
    from evo import bench_learning
    from evo.config import PPOConfig
    from world.config import WorldConfig

    tiny = WorldConfig(n_agents=2, width=7, height=7, max_steps=16)
    ppo = PPOConfig(total_timesteps=2 * 8 * 3, num_envs=2, num_steps=8, channels=4, hidden=8)
    monkeypatch.setattr(bench_learning, "tasks", lambda: {"tiny": (tiny, ppo)})
    bench_learning.main(["sweep-update", "--tasks", "tiny", "--pairs", "2x2", "1x1",
                         "--seeds", "0", "--rounds", "1", "--last", "2"])  # fmt: skip
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    sweep = {(x["epochs"], x["minibatches"]): x for x in lines if x["bench"] == "sweep"}
    assert set(sweep) == {(2, 2), (1, 1)}
    assert sweep[(2, 2)]["speed_vs_first"] == 1.0
    assert all(x["agent_steps_per_s_best"] > 0 for x in sweep.values())
    assert len([x for x in lines if x["bench"] == "sweep_curve"]) == 2


def test_learning_curves_put_the_new_and_the_old_learner_on_the_same_tasks_and_seeds(
    capsys, monkeypatch
):
    from evo import bench_learning
    from evo.config import PPOConfig
    from world.config import WorldConfig

    tiny = WorldConfig(n_agents=2, width=7, height=7, max_steps=16)
    ppo = PPOConfig(total_timesteps=2 * 8 * 3, num_envs=2, num_steps=8, channels=4, hidden=8)
    monkeypatch.setattr(bench_learning, "tasks", lambda: {"tiny": (tiny, ppo)})
    bench_learning.main(["curves", "--tasks", "tiny", "--seeds", "0", "1", "--last", "2"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    curves = [x for x in lines if x["bench"] == "curve"]
    assert sorted((x["learner"], x["seed"]) for x in curves) == [
        ("new", 0), ("new", 1), ("old", 0), ("old", 1)
    ]  # fmt: skip
    assert all(len(x["hearts_per_agent_episode"]) == 3 for x in curves)
    reach = {x["learner"]: x for x in lines if x["bench"] == "reach"}
    assert set(reach) == {"new", "old"} and reach["new"]["level"] == reach["old"]["final_median"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_bench_on_cuda_without_a_gpu_exits_2_saying_so(capsys):
    with pytest.raises(SystemExit) as exited:
        bench.main(["--device", "cuda", "--envs", "1024"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--device cuda: " in err and "no CUDA device" in err


def test_the_median_difference_interval_brackets_the_truth_and_refuses_too_few_finals():
    from evo.bench_learning import median_difference

    rng = np.random.default_rng(1)
    a = list(rng.normal(10.0, 1.0, 20))
    same = median_difference(a, a)
    assert same[0] == 0 and same[1] < 0 < same[2]  # one sample against itself: a tie
    d, low, high = median_difference([x + 5 for x in a], a)
    assert abs(d - 5) < 1e-9 and 3 < low < 5 < high < 7  # a clear shift excludes 0
    assert median_difference(a, a[::-1]) == median_difference(a, a[::-1])  # seeded
    with pytest.raises(ValueError, match="at least 2 finals"):
        median_difference([1.0], a)
    with pytest.raises(ValueError, match="level"):
        median_difference(a, a, level=1.5)
