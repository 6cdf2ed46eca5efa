"""The YAML files of evo's commands, as typed sections with a default and a help text each.

- `PPOConfig`: the `ppo:` section (hyper-parameters of the learner).
- `TrainConfig`: a file of `python -m evo.train` (seed, world, ppo, kinship, genes by value).
- `RunConfig`: a file of `python -m evo.run` (seed, population, genes, evolution, world,
  kinship, ppo, workers), validated as a whole before anything runs.

Every file goes through the one loader in `kinevo.config` (`load_train_config`,
`load_run_config` below): every problem at once, one line each, naming the file and the
field path (``population.yaml: ppo.learning_rate: must be > 0, got -1``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kinevo.config import Strict, apply_overrides, load, validate
from kinevo.genes import GENES, unknown_gene_message
from kinship.structures import KinshipConfig
from world.config import WorldConfig


class PPOConfig(Strict):
    """The learner. The defaults are the ones chosen by measurement (README, "Learning"):
    strided-v2, channels 8 / hidden 64, many short rollouts (64 envs x 16 steps), 2 epochs x
    8 minibatches, learning rate 0.003. Until 2026-12-02 they were CleanRL's Atari values
    (16 envs x 128 steps, 4 x 4, learning rate 2.5e-4, channels 32 / hidden 128), which
    `evo.bench` still measures as the old learner's defaults (`OLD_DEFAULTS`)."""

    mode: Literal["shared", "individual"] = Field(
        "individual", description="one network for all agents, or one per individual (batched)"
    )
    total_timesteps: int = Field(200_000, ge=1, description="env steps summed over all envs")
    num_envs: int = Field(
        64, ge=1, description="copies of the trial's world stepped together (many short rollouts)"
    )
    num_steps: int = Field(16, ge=1, description="rollout length per update")
    learning_rate: float = Field(3e-3, gt=0, description="Adam step size (a gene may set it)")
    anneal_lr: bool = Field(True, description="decay the learning rate linearly to 0")
    gamma: float = Field(0.99, ge=0, le=1, description="discount")
    gae_lambda: float = Field(0.95, ge=0, le=1, description="GAE lambda")
    num_minibatches: int = Field(
        8, ge=1, description="minibatches per epoch (2 x 8: chosen by measurement, README)"
    )
    update_epochs: int = Field(2, ge=1, description="passes over each rollout")
    norm_adv: bool = Field(True, description="normalise advantages per minibatch")
    clip_coef: float = Field(0.2, gt=0, description="policy ratio clip")
    clip_vloss: bool = Field(True, description="clip the value loss too")
    ent_coef: float = Field(0.01, ge=0, description="entropy bonus (a gene may set it)")
    vf_coef: float = Field(0.5, ge=0, description="value loss weight")
    max_grad_norm: float = Field(0.5, gt=0, description="gradient norm clip, per individual")
    target_kl: float | None = Field(None, gt=0, description="stop the epochs above this KL")
    hidden: int = Field(64, ge=8, description="width of the torso")
    channels: int = Field(8, ge=4, description="conv channels")
    policy: str = Field(
        "strided-v2", description="network by name, from evo.policy.POLICIES (conv-v1: the first)"
    )
    recurrent: bool = Field(False, description="add a GRU core (in-context learning)")
    stagger_start: bool = Field(
        True,
        description="start each training env's first episode at a random step, so the batch "
        "does not see every episode phase at once (world.stagger_start)",
    )
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


def learner(base: PPOConfig, spec: str) -> PPOConfig:
    """`base` with the changes a learner spec names: ``POLICY[:field=value,...]``, e.g.
    ``conv-v1:update_epochs=4,num_minibatches=4`` (values parsed as YAML, checked as the
    `ppo:` section's). Benchmarks use it to put two learners side by side."""
    name, _, rest = spec.partition(":")
    sets = [f"policy={name}"] + [s for s in rest.split(",") if s.strip()]
    return validate(PPOConfig, apply_overrides(base.model_dump(), sets, spec), spec)


class TrainConfig(Strict):
    """One group of agents trained with PPO (`python -m evo.train`)."""

    seed: int = Field(0, ge=0, description="the one seed everything derives from")
    world: WorldConfig = Field(default_factory=WorldConfig)
    ppo: PPOConfig = Field(default_factory=PPOConfig)
    kinship: KinshipConfig = Field(default_factory=KinshipConfig)
    genes: dict[str, float] = Field(
        default_factory=dict, description="gene name -> value given to every agent"
    )

    @model_validator(mode="after")
    def _known_genes(self) -> TrainConfig:
        for name, value in self.genes.items():
            if name not in GENES:
                raise ValueError(f"genes.{name}: {unknown_gene_message(name)}")
            gene = GENES[name]
            if not gene.low <= value <= gene.high:
                raise ValueError(
                    f"genes.{name}: must lie in [{gene.low:g}, {gene.high:g}], got {value:g}"
                )
        return self


class PopulationConfig(Strict):
    size: int = Field(8, ge=2, description="individuals per generation")
    generations: int = Field(3, ge=1, description="generations to run")
    agents_per_trial: int = Field(4, ge=1, description="individuals placed together in a world")
    trials_per_individual: int = Field(1, ge=1, description="trials each individual plays")
    trials_per_task: int = Field(
        1,
        ge=1,
        description="trials run one after another in one Dask task (small trials: less "
        "scheduling per trial); results do not depend on it",
    )
    relatedness: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Hamilton's r set by who meets whom: each trial member after the first is, "
        "with this probability, replaced by an identical twin of the first (its genome, "
        "parents and inherited weights) before the generation plays; elites are never "
        "replaced. With 2 agents per trial it is the pair's relatedness. None: off",
    )


class GeneConfig(Strict):
    name: str = Field(description="a gene of the table in kinevo/genes.py, or any name if neutral")
    low: float = Field(description="lower bound")
    high: float = Field(description="upper bound")
    init: Literal["uniform", "normal"] = Field("uniform", description="initial distribution")
    mean: float | None = Field(None, description="normal init: mean (default mid-range)")
    std: float | None = Field(None, gt=0, description="normal init: spread (default range/6)")
    log: bool = Field(False, description="search on a log scale (positive bounds only)")
    neutral: bool = Field(False, description="a gene that acts nowhere (a control)")

    @model_validator(mode="after")
    def _bounds(self) -> GeneConfig:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be < high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("log genes need low > 0")
        gene = GENES.get(self.name)
        if self.neutral:
            if gene is not None:
                raise ValueError(f"{self.name!r} acts in the {gene.acts_in}; it cannot be neutral")
        elif gene is None:
            raise ValueError(unknown_gene_message(self.name))
        elif self.low < gene.low or self.high > gene.high:
            raise ValueError(
                f"{self.name}: bounds [{self.low:g}, {self.high:g}] must lie inside its valid "
                f"range [{gene.low:g}, {gene.high:g}]"
            )
        return self


class FitnessConfig(Strict):
    """What an individual's fitness is: its own hearts per episode (never shared reward)."""

    when: Literal["after_training", "during_training"] = Field(
        "after_training",
        description="after_training: the trained networks play `episodes` fresh seeded "
        "episodes of the trial's world; during_training: hearts made while learning",
    )
    episodes: int = Field(16, ge=1, le=4096, description="after_training: episodes played")
    greedy: bool = Field(False, description="after_training: most likely action, not sampled")


class EvolutionConfig(Strict):
    algorithm: Literal["ga", "cmaes", "pgpe"] = Field("ga", description="search algorithm")
    elitism: int = Field(1, ge=0, description="best individuals copied unchanged")
    tournament_size: int = Field(2, ge=1, description="GA: contestants per parent choice")
    crossover_eta: float = Field(10.0, gt=0, description="GA: simulated binary crossover eta")
    mutation_std: float = Field(0.1, ge=0, description="GA: mutation std, share of gene range")
    mutation_rate: float = Field(1.0, ge=0, le=1, description="GA: chance each gene mutates")
    allow_selfing: bool = Field(False, description="GA: may an individual mate with itself")
    mate_pairing_bias: float = Field(
        0.0, ge=0, le=1, description="GA: chance a parent takes its last bonded mate as partner"
    )
    inheritance: Literal["darwinian", "lamarckian"] = Field(
        "darwinian",
        description="darwinian: children start from fresh weights (genes only); lamarckian: "
        "from the trained weights of their first parent (from its best trial), elites keep "
        "their own",
    )
    shuffle_genes: bool = Field(
        False,
        description="control: permute genomes among the new generation's individuals (weights "
        "and lineage stay), so gene evolution can be told from drift and hitchhiking",
    )
    stdev_init: float = Field(0.25, gt=0, description="cmaes/pgpe: initial spread, share of range")
    checkpoint_top: int = Field(2, ge=0, description="checkpoints of the best kept per generation")
    keep_checkpoints_every: int = Field(
        1,
        ge=1,
        description="keep the checkpoints of every N-th generation (and of the last); those of "
        "the others are deleted once the next generation is committed",
    )
    keep_weights_every: int = Field(
        0,
        ge=0,
        description="lamarckian: keep weights/g*.pt (every individual's trained weights) of "
        "every N-th generation too; 0: only the last generation's (what --resume needs)",
    )


class RunConfig(Strict):
    seed: int = Field(0, ge=0, description="the one seed everything derives from")
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    genes: list[GeneConfig] = Field(
        default_factory=lambda: [GeneConfig(name="kin_weight", low=0.0, high=1.0)],
        description="the genome",
    )
    evolution: EvolutionConfig = Field(default_factory=EvolutionConfig)
    fitness: FitnessConfig = Field(default_factory=FitnessConfig)
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
        if p.relatedness is not None:
            if self.evolution.algorithm != "ga":
                raise ValueError("population.relatedness needs evolution.algorithm 'ga' (parents)")
            if p.trials_per_individual != 1:
                raise ValueError(
                    "population.relatedness needs population.trials_per_individual 1 (twins are "
                    "made for the one trial each individual plays)"
                )
        if self.kinship.kind == "twins" and p.relatedness is None:
            raise ValueError("kinship.kind 'twins' needs population.relatedness (who is a twin)")
        if self.evolution.inheritance == "lamarckian" and self.evolution.algorithm != "ga":
            raise ValueError("evolution.inheritance 'lamarckian' needs algorithm 'ga' (parents)")
        return self

    @property
    def gene_names(self) -> list[str]:
        return [g.name for g in self.genes]


def load_train_config(path: str | Path) -> TrainConfig:
    """Read an `evo.train` YAML; every problem is reported at once as a `ConfigError`."""
    return load(path, TrainConfig)


def load_run_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read an `evo.run` YAML with `--set key.path=value` overrides."""
    return load(path, RunConfig, overrides)
