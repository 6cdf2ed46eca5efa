"""Kinship structures: symmetric K in [0, 1] with K_ii = 1, seeded, as configured."""

import numpy as np
import pytest
from pydantic import ValidationError

from kinship import KinshipConfig, Pedigree, build_kinship
from kinship.structures import nested_groups, nested_kinship


def valid(k, n):
    assert k.shape == (n, n) and k.dtype == np.float32
    assert np.array_equal(k, k.T) and (np.diag(k) == 1).all()
    assert ((k >= 0) & (k <= 1)).all()


@pytest.mark.parametrize("kind", ["identity", "random", "teams", "nested"])
def test_every_structure_gives_a_valid_matrix(kind):
    k = build_kinship(KinshipConfig(kind=kind), 10, np.random.default_rng(0))
    valid(k, 10)


def test_random_scores_are_seeded_and_follow_the_bounds():
    cfg = KinshipConfig(kind="random", low=0.2, high=0.4)
    a = build_kinship(cfg, 8, np.random.default_rng(3))
    b = build_kinship(cfg, 8, np.random.default_rng(3))
    c = build_kinship(cfg, 8, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    off = a[~np.eye(8, dtype=bool)]
    assert off.min() >= 0.2 and off.max() <= 0.4
    beta = build_kinship(
        KinshipConfig(kind="random", distribution="beta"), 50, np.random.default_rng(0)
    )
    valid(beta, 50)
    assert beta[~np.eye(50, dtype=bool)].mean() == pytest.approx(
        0.25, abs=0.03
    )  # alpha/(alpha+beta)


def test_teams_are_one_within_and_zero_across():
    k = build_kinship(KinshipConfig(kind="teams", n_teams=3), 6, np.random.default_rng(0))
    assert k[0, 3] == 1 and k[0, 1] == 0 and k[1, 4] == 1 and k.sum() == 12


def test_nested_groups_use_family_clan_and_hive_relatedness():
    groups = nested_groups(16, family_size=2, families_per_clan=2, clans_per_hive=2)
    k = nested_kinship(groups)
    assert k[0, 1] == 0.5  # same family
    assert k[0, 2] == 0.25  # same clan
    assert k[0, 4] == 0.125  # same hive
    assert k[0, 8] == 0.0  # other hive


def test_pedigree_structure_reads_the_lineage():
    p = Pedigree()
    p.add([1, 2])
    p.add([3, 4, 5], [1, 1, 1], [2, 2, 2], generation=1)
    k = build_kinship(KinshipConfig(kind="pedigree"), 3, np.random.default_rng(0), p, [3, 4, 5])
    valid(k, 3)
    assert (k[~np.eye(3, dtype=bool)] == 0.5).all()
    with pytest.raises(ValueError, match="needs the pedigree"):
        build_kinship(KinshipConfig(kind="pedigree"), 3, np.random.default_rng(0))


def test_bad_configs_are_refused():
    with pytest.raises(ValidationError, match="r_family >= r_clan >= r_hive"):
        KinshipConfig(kind="nested", r_family=0.1, r_clan=0.3)
    with pytest.raises(ValidationError, match="low"):
        KinshipConfig(kind="random", low=0.8, high=0.2)
    with pytest.raises(ValidationError):
        KinshipConfig(kind="clans")
