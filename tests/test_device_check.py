"""The GPU checks' own code, run on the CPU (where the device is the CPU, so every comparison
must come out exact)."""

import json

import pytest
import torch

from evo import device_check


def test_the_device_checks_run_and_agree_exactly_when_the_device_is_the_cpu(capsys):
    device_check.main(["--device", "cpu", "--quick"])
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    by = {}
    for line in lines:
        by.setdefault(line["bench"], []).append(line)
    updates = by["same_update"]
    assert {(u["policy"], u["mode"]) for u in updates} == {
        (p, m) for p in ("strided-v2", "conv-v1") for m in ("individual", "shared")
    }
    for u in updates:
        assert u["planes_equal"] and u["agree"], u
        assert u["update_norm"] > 0 and u["difference_norm"] == 0.0
    assert by["same_seed"][0]["weights_equal"] and by["same_seed"][0]["curve_equal"]
    assert set(by["learns"][0]) >= {"trained", "zeroed", "action_frequency", "random", "passes"}
    assert {t["learner"] for t in by["train"]} == {"new", "old"}
    assert by["train"][0]["envs"] == 8 and len(by["ratio"]) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_gpu_on_a_machine_without_one_exits_2_saying_so(capsys):
    with pytest.raises(SystemExit) as exit_:
        device_check.main(["--device", "cuda"])
    assert exit_.value.code == 2
    assert "--device cuda: ppo.device: 'cuda', but this machine has no CUDA device" in (
        capsys.readouterr().err
    )


def test_a_bad_envs_value_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        device_check.main(["--device", "cpu", "--envs", "0"])
    assert exit_.value.code == 2 and "--envs must be >= 1" in capsys.readouterr().err
