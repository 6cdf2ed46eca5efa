"""The experiment YAML of `python -m evo.run`, validated as a whole before anything runs.

Sections: `seed`, `population`, `genes`, `evolution`, `world`, `kinship`, `ppo`, `workers`.
Every problem is reported at once, one line each, naming the file and the field path
(``population.yaml: ppo.learning_rate: must be > 0, got -1``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evo.config import PPOConfig
from kinship.structures import KinshipConfig
from world.config import ConfigError, WorldConfig, format_validation_error, read_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PopulationConfig(_Strict):
    size: int = Field(8, ge=2, description="individuals per generation")
    generations: int = Field(3, ge=1, description="generations to run")
    agents_per_trial: int = Field(4, ge=1, description="individuals placed together in a world")
    trials_per_individual: int = Field(1, ge=1, description="trials each individual plays")


class GeneConfig(_Strict):
    name: str = Field(description="gene name; learning_rate, ent_coef, kin_weight, choosiness act")
    low: float = Field(description="lower bound")
    high: float = Field(description="upper bound")
    init: Literal["uniform", "normal"] = Field("uniform", description="initial distribution")
    mean: float | None = Field(None, description="normal init: mean (default mid-range)")
    std: float | None = Field(None, gt=0, description="normal init: spread (default range/6)")
    log: bool = Field(False, description="search on a log scale (positive bounds only)")

    @model_validator(mode="after")
    def _bounds(self) -> GeneConfig:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be < high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("log genes need low > 0")
        return self


class EvolutionConfig(_Strict):
    algorithm: Literal["ga", "cmaes", "pgpe"] = Field("ga", description="search algorithm")
    elitism: int = Field(1, ge=0, description="best individuals copied unchanged")
    tournament_size: int = Field(2, ge=1, description="GA: contestants per parent choice")
    crossover_eta: float = Field(10.0, gt=0, description="GA: simulated binary crossover eta")
    mutation_std: float = Field(0.1, ge=0, description="GA: mutation std, share of gene range")
    mate_pairing_bias: float = Field(
        0.0, ge=0, le=1, description="GA: chance a parent takes its last bonded mate as partner"
    )
    inheritance: Literal["scratch", "inherit"] = Field(
        "scratch", description="children learn from scratch, or start from parent a's weights"
    )
    stdev_init: float = Field(0.25, gt=0, description="cmaes/pgpe: initial spread, share of range")
    checkpoint_top: int = Field(2, ge=0, description="checkpoints of the best kept per generation")


class RunConfig(_Strict):
    seed: int = Field(0, ge=0, description="the one seed everything derives from")
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    genes: list[GeneConfig] = Field(
        default_factory=lambda: [GeneConfig(name="kin_weight", low=0.0, high=1.0)],
        description="the genome",
    )
    evolution: EvolutionConfig = Field(default_factory=EvolutionConfig)
    world: WorldConfig = Field(default_factory=WorldConfig)
    kinship: KinshipConfig = Field(default_factory=KinshipConfig)
    ppo: PPOConfig = Field(default_factory=PPOConfig)
    workers: int = Field(2, ge=1, description="Dask worker processes (one thread each)")

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        p = self.population
        if p.size % p.agents_per_trial:
            raise ValueError(
                f"population.size ({p.size}) must be a multiple of "
                f"population.agents_per_trial ({p.agents_per_trial})"
            )
        if self.world.n_agents != p.agents_per_trial:
            raise ValueError(
                f"world.n_agents ({self.world.n_agents}) must equal "
                f"population.agents_per_trial ({p.agents_per_trial})"
            )
        names = [g.name for g in self.genes]
        if len(set(names)) != len(names):
            raise ValueError(f"genes: names must be unique, got {names}")
        if not names:
            raise ValueError("genes: at least one gene is needed")
        if self.evolution.elitism >= p.size:
            raise ValueError(
                f"evolution.elitism ({self.evolution.elitism}) must be < population.size"
            )
        if self.evolution.inheritance == "inherit" and self.evolution.algorithm != "ga":
            raise ValueError("evolution.inheritance 'inherit' needs algorithm 'ga' (parents)")
        return self

    @property
    def gene_names(self) -> list[str]:
        return [g.name for g in self.genes]


def set_path(data: dict, dotted: str, value: Any, source: str) -> None:
    """Apply one `--set key.path=value` override (value parsed as YAML)."""
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        if not isinstance(node.get(k, {}), dict):
            raise ConfigError([f"{source}: --set {dotted}: {k} is not a section"])
        node = node.setdefault(k, {})
    node[keys[-1]] = value


def load_run_config(path: str | Path, overrides: list[str] | None = None) -> tuple[RunConfig, dict]:
    """Validate the YAML (with `--set` overrides) into a RunConfig; returns it and the raw
    mapping it came from."""
    data = read_yaml(path)
    source = str(path)
    data = copy.deepcopy(data)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError([f"{source}: --set {item}: expected key.path=value"])
        key, _, text = item.partition("=")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError([f"{source}: --set {key}: not valid YAML: {err}"]) from None
        set_path(data, key.strip(), value, source)
    try:
        return RunConfig.model_validate(data), data
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source, "")) from None
