"""PPO hyper-parameters: the YAML `ppo:` section. Every field has a default and a help text."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from world.config import ConfigError, validate_section


class PPOConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["shared", "individual"] = Field(
        "individual", description="one network for all agents, or one per individual (batched)"
    )
    total_timesteps: int = Field(200_000, ge=1, description="env steps summed over all envs")
    num_envs: int = Field(16, ge=1, description="copies of the trial's world stepped together")
    num_steps: int = Field(128, ge=1, description="rollout length per update")
    learning_rate: float = Field(2.5e-4, gt=0, description="Adam step size (a gene may set it)")
    anneal_lr: bool = Field(True, description="decay the learning rate linearly to 0")
    gamma: float = Field(0.99, ge=0, le=1, description="discount")
    gae_lambda: float = Field(0.95, ge=0, le=1, description="GAE lambda")
    num_minibatches: int = Field(4, ge=1, description="minibatches per epoch")
    update_epochs: int = Field(4, ge=1, description="passes over each rollout")
    norm_adv: bool = Field(True, description="normalise advantages per minibatch")
    clip_coef: float = Field(0.2, gt=0, description="policy ratio clip")
    clip_vloss: bool = Field(True, description="clip the value loss too")
    ent_coef: float = Field(0.01, ge=0, description="entropy bonus (a gene may set it)")
    vf_coef: float = Field(0.5, ge=0, description="value loss weight")
    max_grad_norm: float = Field(0.5, gt=0, description="gradient norm clip, per individual")
    target_kl: float | None = Field(None, gt=0, description="stop the epochs above this KL")
    hidden: int = Field(128, ge=8, description="width of the torso")
    channels: int = Field(32, ge=4, description="conv channels")
    policy: str = Field(
        "strided-v2", description="network by name, from evo.policy.POLICIES (conv-v1: the first)"
    )
    recurrent: bool = Field(False, description="add a GRU core (in-context learning)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda if available")
    torch_threads: int = Field(1, ge=1, description="CPU threads torch may use in a trial")

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, name: str) -> str:
        from evo.policy import check_policy_name  # the table lives beside the networks

        return check_policy_name(name)

    @model_validator(mode="after")
    def _sizes(self) -> PPOConfig:
        if self.num_envs % self.num_minibatches and self.recurrent:
            raise ValueError(
                f"recurrent: num_envs ({self.num_envs}) must be a multiple of num_minibatches "
                f"({self.num_minibatches})"
            )
        return self

    @property
    def num_updates(self) -> int:
        return max(1, self.total_timesteps // (self.num_envs * self.num_steps))


def ppo_config_from_dict(data: Any, source: str = "<config>", prefix: str = "ppo") -> PPOConfig:
    return validate_section(PPOConfig, data, source, prefix)


def kinship_config_from_dict(data: Any, source: str = "<config>", prefix: str = "kinship"):
    from kinship.structures import KinshipConfig

    return validate_section(KinshipConfig, data, source, prefix)


TRAIN_SECTIONS = ("world", "ppo", "kinship", "genes", "seed")


def load_train_config(path) -> dict:
    """Read a YAML with `world:`, `ppo:`, `kinship:`, `genes:` (name: value for every agent)
    and `seed:`; every problem is reported at once as a `ConfigError`."""
    from world.config import read_yaml, world_config_from_dict

    data = read_yaml(path)
    src = str(path)
    problems = [f"{src}: {k}: unknown section" for k in data if k not in TRAIN_SECTIONS]
    out = {}
    for name, parse in (
        ("world", world_config_from_dict),
        ("ppo", ppo_config_from_dict),
        ("kinship", kinship_config_from_dict),
    ):
        try:
            out[name] = parse(data.get(name), src, name)
        except ConfigError as err:
            problems += err.problems
    genes = data.get("genes") or {}
    if not isinstance(genes, dict):
        problems.append(f"{src}: genes: must be a mapping of gene name to value")
        genes = {}
    for k, v in genes.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            problems.append(f"{src}: genes.{k}: must be a number, got {v!r}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(f"{src}: seed: must be an integer >= 0, got {seed!r}")
    if problems:
        raise ConfigError(problems)
    out["genes"] = {k: float(v) for k, v in genes.items()}
    out["seed"] = seed
    return out
