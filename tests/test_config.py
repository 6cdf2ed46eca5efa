"""World config: defaults, YAML loading, one clear message per bad field."""

import subprocess
import sys

import pytest

from world import ConfigError, WorldConfig, load_world_config


def test_defaults_are_valid_and_name_every_action():
    cfg = WorldConfig()
    assert cfg.action_names[:3] == ("noop", "forward", "back")
    assert cfg.action_names[-1] == f"mark_{cfg.n_marker_colors - 1}"
    assert cfg.cost_of("mark_2") == cfg.action_costs["mark"]


def test_yaml_world_section_is_loaded(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("world:\n  n_agents: 3\n  map:\n    kind: maze\n  action_costs: {attack: 7}\n")
    cfg = load_world_config(p)
    assert cfg.n_agents == 3 and cfg.map.kind == "maze" and cfg.cost_of("attack") == 7
    assert cfg.cost_of("forward") == 1  # unnamed costs keep their defaults


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        (
            "world:\n  max_energy: -1\n",
            "w.yaml: world.max_energy: must be > 0, got -1",
        ),
        ("world:\n  n_agnts: 3\n", "w.yaml: world.n_agnts: unknown field"),
        (
            "world:\n  vision_radius: big\n",
            "w.yaml: world.vision_radius: must be an integer, got 'big'",
        ),
        (
            "world:\n  map:\n    kind: hex\n",
            "w.yaml: world.map.kind: must be one of 'scatter', 'rooms'",
        ),
        ("world:\n  start_energy: 200\n", "start_energy (200) must be <= max_energy (100)"),
        ("world:\n  action_costs: {fly: 1}\n", "unknown action(s) ['fly']"),
        ("world:\n  map:\n    kind: ascii\n", "kind 'ascii' needs exactly one of"),
        ("world: [1, 2]\n", "w.yaml: world: must be a mapping, got list"),
        ("world: {a: [}\n", "w.yaml: not valid YAML"),
    ],
)
def test_bad_values_name_file_field_and_problem(tmp_path, yaml_text, message):
    p = tmp_path / "w.yaml"
    p.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_world_config(p)
    assert message in str(err.value).replace(str(tmp_path) + "/", "")


def test_every_bad_field_is_reported_at_once(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("world:\n  max_energy: 0\n  freeze_steps: -2\n")
    with pytest.raises(ConfigError) as err:
        load_world_config(p)
    assert len(err.value.problems) == 2


def test_cli_exits_2_with_one_clear_message(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("world:\n  n_agents: 0\n")
    r = subprocess.run(
        [sys.executable, "-m", "world.demo", "--config", str(p), "--steps", "1"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip() == f"{p}: world.n_agents: must be >= 1, got 0"
