"""Config plumbing shared by every YAML section: one strict pydantic base, one loader, one error.

Every section model (world, kinship, ppo, the run) derives from `Strict`. `load(path, Model)`
reads a whole YAML file into `Model`; `load_section(path, name, Model)` reads one top-level
section of it (so `world.demo runs/population.yaml` uses that file's world). Both report every
problem at once as one `ConfigError`, a line per problem naming file, field path and problem:

    population.yaml: ppo.learning_rate: must be > 0, got -1

Relative paths inside a YAML (such as `world.map.ascii_file`) are resolved against the YAML's
own folder: path fields call `resolve_path`, which reads the folder from the validation
context that both loaders pass.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo


class ConfigError(ValueError):
    """A configuration problem; `problems` holds one line per bad field."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class Strict(BaseModel):
    """Base of every config section: unknown fields are errors, numbers must be finite, values
    are immutable and defaults are validated like given values."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )


M = TypeVar("M", bound=BaseModel)

_BOUND_WORDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_TYPE_WORDS = {
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "finite_number": "must be a finite number",
    "missing": "is required",
    "extra_forbidden": "unknown field",
}


def _problem(e: dict) -> str:
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind in _BOUND_WORDS:
        bound = next(iter(ctx.values()))
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"must be {_BOUND_WORDS[kind]} {bound}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    return e["msg"].removeprefix("Value error, ")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key(part: Any) -> str:
    """A field path part as written, or quoted where it would not read as one on a line."""
    text = str(part)
    if text and text.isprintable() and text.strip() == text and "." not in text:
        return text
    return _short(text, 30)


def format_validation_error(err: ValidationError, source: str, prefix: str = "") -> list[str]:
    """One line per problem: ``source: prefix.field.path: problem, got value``."""
    lines = []
    for e in err.errors():
        path = ".".join([prefix] * bool(prefix) + [_key(p) for p in e["loc"]])
        msg = _problem(e)
        if e["type"] not in ("missing", "extra_forbidden") and "input" in e:
            if not isinstance(e["input"], dict) and e["type"] != "value_error":
                msg = f"{msg}, got {_short(e['input'])}"
        lines.append(f"{source}: {path}: {msg}" if path else f"{source}: {msg}")
    return lines


def validate(
    model: type[M],
    data: Any,
    source: str = "<config>",
    prefix: str = "",
    base_dir: str | Path | None = None,
) -> M:
    """Validate a mapping (None for all defaults) into `model`; every problem becomes a line
    of one `ConfigError`. `base_dir`: the folder relative paths inside `data` are resolved
    against (the YAML's folder; None leaves them relative to the working directory)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        where = f"{prefix}: " if prefix else ""
        raise ConfigError([f"{source}: {where}must be a mapping, got {type(data).__name__}"])
    context = {"base_dir": Path(base_dir)} if base_dir is not None else None
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source, prefix)) from None


def resolve_path(value: str | None, info: ValidationInfo) -> str | None:
    """A path field's validator: a relative path is taken against the YAML's folder."""
    base = (info.context or {}).get("base_dir")
    if value is None or base is None or Path(value).is_absolute():
        return value
    return str(base / value)


# A YAML file may name the same node many times through anchors and aliases; expanded, a few
# lines can stand for billions of values (the "billion laughs"). Configs are small: refuse more.
MAX_VALUES = 100_000


def _too_big(data: Any, budget: int = MAX_VALUES) -> bool:
    """Does `data`, with aliases expanded, hold more than `budget` values? Stops counting early."""
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > budget:
            return True
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _yaml_problem(err: yaml.YAMLError) -> str:
    """One line for a YAML syntax or constructor error."""
    what = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    mark = getattr(err, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{context + ': ' if context else ''}{what}{where}"


def read_yaml(path: str | Path) -> dict:
    """`yaml.safe_load` a file into a dict (no tags that build objects, so nothing in it runs);
    problems become `ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([f"{path}: cannot read: {err.strerror}"]) from None
    except UnicodeDecodeError as err:
        raise ConfigError([f"{path}: not UTF-8 text (byte {err.start})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError([f"{path}: not valid YAML: {_yaml_problem(err)}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: not valid YAML: nested too deeply"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: top level must be a mapping, got {type(data).__name__}"])
    if _too_big(data):
        raise ConfigError(
            [f"{path}: holds more than {MAX_VALUES} values once its aliases are expanded"]
        )
    return data


def apply_overrides(data: dict, overrides: list[str], source: str) -> dict:
    """A copy of `data` with `key.path=value` overrides applied (values parsed as YAML)."""
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError([f"{source}: --set {item}: expected key.path=value"])
        dotted, _, text = item.partition("=")
        dotted = dotted.strip()
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError([f"{source}: --set {dotted}: not valid YAML: {err}"]) from None
        keys = dotted.split(".")
        node = data
        for k in keys[:-1]:
            if not isinstance(node.get(k, {}), dict):
                raise ConfigError([f"{source}: --set {dotted}: {k} is not a section"])
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return data


def load(path: str | Path, model: type[M], overrides: list[str] | None = None) -> M:
    """Read a whole YAML file into `model`, with `--set key.path=value` overrides."""
    data = apply_overrides(read_yaml(path), list(overrides or []), str(path))
    return validate(model, data, str(path), base_dir=Path(path).parent)


def load_section(path: str | Path, name: str, model: type[M]) -> M:
    """Read the top-level section `name` of a YAML file into `model` (defaults where the file
    has none); the file's other sections are not looked at."""
    return validate(model, read_yaml(path).get(name), str(path), name, Path(path).parent)
