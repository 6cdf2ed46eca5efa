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


MAP = "#####\n#@.a#\n#m.c#\n#.@.#\n#####\n"


@pytest.fixture
def yaml_beside_its_map(tmp_path):
    """configs/arena.txt and configs/exp.yaml naming it relatively; the cwd is elsewhere."""
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "arena.txt").write_text(MAP)
    cfg = folder / "exp.yaml"
    cfg.write_text(
        "population: {size: 2, agents_per_trial: 2}\n"
        "world: {n_agents: 2, map: {kind: ascii, ascii_file: arena.txt}}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return cfg, elsewhere


def test_an_ascii_file_relative_to_its_yaml_loads_the_same_through_every_command(
    yaml_beside_its_map, monkeypatch
):
    from evo.config import load_run_config, load_train_config
    from world import World
    from world.play import config_for

    cfg, elsewhere = yaml_beside_its_map
    monkeypatch.chdir(elsewhere)
    expected = str(cfg.parent / "arena.txt")
    train_yaml = cfg.parent / "train.yaml"
    train_yaml.write_text(cfg.read_text().split("\n", 1)[1])  # without population:
    loaded = {
        "world.demo": load_world_config(cfg),
        "world.play": config_for(None, str(cfg), None),
        "evo.train": load_train_config(train_yaml).world,
        "evo.run": load_run_config(cfg).world,
    }
    for command, world_cfg in loaded.items():
        assert world_cfg.map.ascii_file == expected, command
        world = World(world_cfg)
        world.reset()
        assert world.grid_shape == (5, 5), command


def test_world_demo_finds_a_relative_map_from_another_folder(yaml_beside_its_map):
    cfg, elsewhere = yaml_beside_its_map
    r = subprocess.run(
        [sys.executable, "-m", "world.demo", str(cfg), "--steps", "2", "--envs", "1"],
        capture_output=True, text=True, cwd=elsewhere,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_a_missing_map_file_names_the_resolved_path(tmp_path):
    cfg = tmp_path / "w.yaml"
    cfg.write_text("world: {map: {kind: ascii, ascii_file: nope.txt}}\n")
    from world import World

    where = f"{tmp_path}/nope.txt: world.map.ascii_file"
    with pytest.raises(ConfigError, match=f"{where}: cannot read"):
        World(load_world_config(cfg))


def test_the_kernel_parameters_carry_every_scalar_config_field_under_its_own_name():
    from world.state import Params, params_from_config

    cfg = WorldConfig(vision_radius=3, map={"kind": "maze", "mines": 4}, reward_sharing="inclusive")
    p = params_from_config(cfg, 21, 23)
    assert p.vision_radius == 3 and p.mines == 4 and p.kind == 3 and p.reward_sharing == 2
    assert (p.grid_height, p.grid_width) == (21, 23)
    for name in ("max_energy", "mate_share", "wall_density", "new_map_each_episode"):
        assert name in Params._fields
