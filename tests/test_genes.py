"""The gene table: configs are checked against it; the world and the learner read it."""

import numpy as np
import pytest

from evo.config import GeneConfig, PPOConfig, TrainConfig
from kinevo.config import ConfigError, validate
from kinevo.genes import GENES, genes_acting_in
from world import World, WorldConfig
from world.state import WorldState


def test_every_gene_acts_somewhere_real():
    for name in genes_acting_in("learner"):
        assert name in PPOConfig.model_fields, name  # its default
    for name in genes_acting_in("world"):
        assert name in WorldState._fields, name  # the array the rules read
    assert set(genes_acting_in("learner")) | set(genes_acting_in("world")) == set(GENES)


def test_a_misspelled_gene_is_refused_naming_it():
    with pytest.raises(ConfigError, match="genes.0: unknown gene 'kin_weigth'; known genes:"):
        validate(GeneConfig, {"name": "kin_weigth", "low": 0, "high": 1}, "x.yaml", "genes.0")
    with pytest.raises(ConfigError, match="genes.kin_weigth: unknown gene"):
        validate(TrainConfig, {"genes": {"kin_weigth": 0.5}}, "t.yaml")


def test_a_neutral_gene_may_have_any_name_but_a_real_gene_cannot_be_neutral():
    g = GeneConfig(name="placebo", low=0, high=1, neutral=True)
    assert g.neutral
    with pytest.raises(ValueError, match="acts in the world; it cannot be neutral"):
        GeneConfig(name="kin_weight", low=0, high=1, neutral=True)


def test_gene_bounds_must_lie_inside_the_valid_range():
    with pytest.raises(ValueError, match=r"kin_weight: bounds \[0, 2\] must lie inside"):
        GeneConfig(name="kin_weight", low=0, high=2)


def test_world_set_genes_reads_the_table():
    w = World(WorldConfig(n_agents=2), n_envs=3)
    w.set_genes(kin_weight=[0.25, 0.5], choosiness=np.ones((3, 2)))
    assert (w.state.kin_weight == [0.25, 0.5]).all() and (w.state.choosiness == 1).all()
    for bad, message in [
        ({"kin_weigth": [0, 0]}, "unknown gene 'kin_weigth'"),
        ({"learning_rate": [0.1, 0.1]}, "acts in the learner, not the world"),
        ({"kin_weight": [0.5]}, r"shape must be one of \[\(2,\), \(3, 2\)\], got \(1,\)"),
        ({"kin_weight": [0.5, 1.5]}, r"must lie in \[0, 1\]"),
        ({"choosiness": [np.nan, 0]}, "must be finite"),
        ({"choosiness": ["high", "low"]}, "gene choosiness: expected numbers, got"),
        ({"choosiness": [[0.1], [0.2, 0.3]]}, "gene choosiness: expected numbers, got"),
    ]:
        with pytest.raises(ValueError, match=message):
            w.set_genes(**bad)
