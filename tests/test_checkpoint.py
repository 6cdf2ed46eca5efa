"""Checkpoints load only plain tensors; tampered or truncated files give clear errors."""

import json
import pickle
import subprocess
import sys

import pytest
import torch

from evo.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from evo.config import PPOConfig
from evo.policy import make_policy
from world import WorldConfig

WORLD = WorldConfig(n_agents=2, width=7, height=7)
PPO = PPOConfig(hidden=16, channels=4)


def states(n=2):
    torch.manual_seed(0)
    return [make_policy(WORLD, PPO).state_dict() for _ in range(n)]


def test_round_trip_keeps_weights_configs_and_genes(tmp_path):
    s = states()
    save_checkpoint(
        tmp_path / "p", WORLD, PPO, s, genes={"kin_weight": [0.1, 0.2]}, uids=[4, 5], seed=3
    )
    ck = load_checkpoint(tmp_path / "p.pt")
    assert ck.world == WORLD and ck.ppo == PPO and ck.uids == [4, 5] and ck.extra["seed"] == 3
    assert ck.genes == {"kin_weight": [0.1, 0.2]}
    for a, b in zip(s, ck.states, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert len(ck.policies()) == 2


class Boom:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_a_pickle_with_code_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_checkpoint(tmp_path / "p", WORLD, PPO, states())
    with open(tmp_path / "p.pt", "wb") as f:
        pickle.dump({"0.fc.weight": Boom()}, f)
    with pytest.raises(CheckpointError, match="not a readable weights file"):
        load_checkpoint(tmp_path / "p.pt")
    assert not (tmp_path / "PWNED").exists()


def test_truncated_weights_give_a_clear_error(tmp_path):
    pt = save_checkpoint(tmp_path / "p", WORLD, PPO, states())
    data = pt.read_bytes()
    pt.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"p\.pt: not a readable weights file"):
        load_checkpoint(pt)


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    save_checkpoint(tmp_path / "p", WORLD, PPO.model_copy(update={"hidden": 24}), states())
    with pytest.raises(CheckpointError, match="do not fit the configured network"):
        load_checkpoint(tmp_path / "p.pt")


def test_bad_description_files_are_named(tmp_path):
    save_checkpoint(tmp_path / "p", WORLD, PPO, states())
    (tmp_path / "p.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"p\.json: not valid JSON"):
        load_checkpoint(tmp_path / "p.pt")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_checkpoint_from_before_named_policies_loads_as_conv_v1(tmp_path):
    old = PPO.model_copy(update={"policy": "conv-v1"})
    torch.manual_seed(0)
    s = [make_policy(WORLD, old).state_dict()]
    save_checkpoint(tmp_path / "p", WORLD, old, s)
    meta = json.loads((tmp_path / "p.json").read_text())
    del meta["ppo"]["policy"]  # as written before the field existed
    (tmp_path / "p.json").write_text(json.dumps(meta))
    ck = load_checkpoint(tmp_path / "p.pt")
    assert ck.ppo.policy == "conv-v1"
    assert all(torch.equal(s[0][k], ck.policies()[0].state_dict()[k]) for k in s[0])


def test_loading_a_checkpoint_does_not_import_the_trainer():
    code = "import sys, evo.checkpoint, evo.evaluate; assert 'evo.ppo' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_checkpoint_of_a_newer_format_names_both_formats(tmp_path):
    save_checkpoint(tmp_path / "p", WORLD, PPO, states())
    meta = json.loads((tmp_path / "p.json").read_text())
    (tmp_path / "p.json").write_text(json.dumps({**meta, "format": "kinevo-policy/9"}))
    with pytest.raises(CheckpointError, match=r"format kinevo-policy/9, but this kinevo reads "):
        load_checkpoint(tmp_path / "p.pt")
