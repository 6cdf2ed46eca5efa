"""Hostile configs: whatever a YAML file holds, loading it either succeeds or raises one
ConfigError with one line per problem naming the file; `evo.run` exits 2 and writes nothing."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evo.config import RunConfig, TrainConfig
from kinevo.config import ConfigError, load
from world.config import WorldConfig

ROOT = Path(__file__).parents[1]
BASE = yaml.safe_load((ROOT / "runs" / "population.yaml").read_text())

HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
)
FIELD_NAMES = sorted(
    set(RunConfig.model_fields) | set(WorldConfig.model_fields) | set(TrainConfig.model_fields)
)


def _paths(node, prefix=()):
    """Every (path to a value) in a nested dict/list config."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = list(_paths(BASE))[1:]


def _set(data, path, value):
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _delete(data, path):
    node = data
    for k in path[:-1]:
        node = node[k]
    if isinstance(node, dict):
        del node[path[-1]]


@st.composite
def mutated_configs(draw):
    """The main job's config with a few values replaced, keys dropped or unknown keys added."""
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        try:
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                _set(data, path, draw(HOSTILE))
            elif action == "delete":
                _delete(data, path)
            else:
                parent = path[:-1]
                node = data
                for k in parent:
                    node = node[k]
                if isinstance(node, dict):
                    key = draw(st.sampled_from(FIELD_NAMES) | st.text(min_size=1, max_size=8))
                    node[key] = draw(HOSTILE)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change removed or replaced this path's parent
    return data


def assert_loads_or_explains(path: Path, model=RunConfig) -> None:
    try:
        load(path, model)
    except ConfigError as err:
        assert err.problems, "a ConfigError names at least one problem"
        for line in err.problems:
            assert "\n" not in line and line.startswith(f"{path}:"), line


FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FAST
@given(data=mutated_configs())
def test_a_mutated_config_loads_or_names_each_problem_on_one_line(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert_loads_or_explains(path)


@FAST
@given(
    data=st.recursive(
        HOSTILE,
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), c, max_size=4)
        ),
        max_leaves=25,
    )
)
def test_any_yaml_document_loads_or_names_each_problem_on_one_line(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    for model in (RunConfig, TrainConfig):
        assert_loads_or_explains(path, model)


@FAST
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_load_or_name_the_problem(tmp_path, raw):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    assert_loads_or_explains(path)


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
)
HOSTILE_FILES = {
    "object tag": "seed: !!python/object/apply:os.system ['touch pwned']\n",
    "billion laughs": LAUGHS,
    "deep nesting": "seed: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "not UTF-8": b"seed: \xff\xfe\n",
    "NaN": "ppo: {learning_rate: .nan}\nworld: {heart_reward: .inf}\n",
    "huge": "population: {size: 100000000000000000000000000000}\n",
}


# Files that could take a process down (deep recursion, memory) go through a real `python -m
# evo.run`; the others through its `main` in this process, which checks the same exit status
# and lines without paying a process start each.
IN_A_PROCESS = ("billion laughs", "deep nesting")


def test_hostile_files_make_evo_run_exit_2_with_one_line_each_and_write_nothing(
    tmp_path, monkeypatch, capsys
):
    from evo.run import main

    monkeypatch.chdir(tmp_path)
    for name, content in HOSTILE_FILES.items():
        cfg = tmp_path / f"{name.replace(' ', '_')}.yaml"
        cfg.write_bytes(content if isinstance(content, bytes) else content.encode())
        out = tmp_path / f"out_{cfg.stem}"
        if name in IN_A_PROCESS:
            r = subprocess.run(
                [sys.executable, "-m", "evo.run", str(cfg), "--out", str(out)],
                capture_output=True, text=True, cwd=tmp_path, timeout=120,
            )  # fmt: skip
            code, err = r.returncode, r.stderr
        else:
            with pytest.raises(SystemExit) as exited:
                main([str(cfg), "--out", str(out)])
            code, err = exited.value.code, capsys.readouterr().err
        assert code == 2, (name, err)
        lines = err.strip().splitlines()
        assert lines and all(line.startswith(f"{cfg}:") for line in lines), (name, err)
        assert not out.exists() and not (tmp_path / "pwned").exists(), name
