"""python -m evo.bench prints its figures for both policies as JSON lines."""

import json

import pytest

from evo import bench


def test_bench_prints_both_policies_side_by_side_with_their_costs(capsys):
    bench.main(["--settings", "runs", "--modes", "shared", "--rounds", "1", "--updates", "1",
                "--envs", "2", "--threads", "1"])  # fmt: skip
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    train = {x["policy"]: x for x in lines if x["bench"] == "train"}
    assert set(train) == {"strided-v2", "conv-v1"}
    assert train["strided-v2"]["macs_per_sample"] < train["conv-v1"]["macs_per_sample"] / 3
    assert all(
        x["agent_steps_per_s_best"] > 0 and x["params_per_individual"] > 0 for x in train.values()
    )
    ratio = next(x for x in lines if x["bench"] == "ratio")
    assert ratio["faster"] == "strided-v2" and ratio["ratio_best"] > 0


def test_bench_refuses_an_unknown_policy():
    with pytest.raises(SystemExit):
        bench.main(["--policies", "conv-v9"])
