"""Interactive play without a terminal: keys drive agent 0, others act from a seeded RNG."""

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
