"""Interactive play without a terminal: keys drive agent 0, others act from a seeded RNG."""

import numpy as np
import pytest
from scenes import scene

from world import ConfigError
from world import layout as L
from world.play import KEYS, PlaySession, config_for


def test_keys_cover_every_base_action():
    assert set(range(L.MARK0 + 1)) <= set(KEYS.values())


def test_keys_drive_the_player_and_the_screen_shows_its_state():
    w = scene("#######\n#.....#\n#.^...#\n#.m...#\n#######")
    session = PlaySession(w, player=0, seed=0)
    for key in "ddw":  # face south; forward is blocked by the mine
        assert session.press(key)
    assert w.state.facing[0, 0] == L.SOUTH and (w.state.ay[0, 0], w.state.ax[0, 0]) == (2, 2)
    assert session.press(" ")
    assert w.state.diamonds[0, 0] == 1
    assert "diamonds 1/5" in session.screen()[-2]
    assert session.press("?") and session.steps == 4  # unknown keys do nothing
    assert not session.press("x")


def test_map_argument_accepts_kinds_and_files(tmp_path):
    assert config_for("maze", None, 3).map.kind == "maze"
    p = tmp_path / "m.txt"
    p.write_text("#####\n#@..#\n#####")
    cfg = config_for(str(p), None, 1)
    assert cfg.map.kind == "ascii" and cfg.map.ascii_file == str(p)
    with pytest.raises(ConfigError, match="MAP must be a map file"):
        config_for("nowhere.txt", None, None)


def test_other_agents_can_follow_a_given_policy():
    w = scene("#######\n#.^...#\n#.....#\n#...^.#\n#######")
    calls = []

    def others(world):
        calls.append(world.state.step[0])
        return np.full((1, 2), L.TURN_RIGHT, np.int32)

    session = PlaySession(w, player=0, seed=0, others=others)
    session.press(".")
    session.press(".")
    assert calls == [0, 1]
    assert w.state.facing[0, 1] == L.SOUTH and w.state.facing[0, 0] == L.NORTH


def test_play_loads_trained_agents_from_a_checkpoint(tmp_path):
    import torch

    from evo.checkpoint import save_checkpoint
    from evo.config import PPOConfig
    from evo.policy import make_policy
    from world import WorldConfig
    from world.play import _policy_players

    cfg, ppo = WorldConfig(n_agents=3, width=7, height=7), PPOConfig(hidden=16, channels=4)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "p", cfg, ppo, [make_policy(cfg, ppo).state_dict()])
    world_cfg, actor = _policy_players(str(tmp_path / "p.pt"), seed=0)
    from world import World

    session = PlaySession(World(world_cfg), player=0, seed=0, others=actor)
    assert session.press("w") and session.steps == 1
