"""Reward sharing formulas (kinship.sharing) and their use inside the world step."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scenes import act, scene

from kinship.sharing import check_kinship, learned_rewards
from kinship.structures import team_ids, team_kinship


@st.composite
def groups(draw):
    n = draw(st.integers(1, 12))
    upper = draw(arrays(np.float32, (n, n), elements=st.floats(0, 1, width=32)))
    k = np.triu(upper, 1)
    k = k + k.T
    np.fill_diagonal(k, 1.0)
    own = draw(arrays(np.float32, n, elements=st.sampled_from([0.0, 0.0, 1.0, 2.5, -1.0])))
    w = draw(arrays(np.float32, n, elements=st.floats(0, 1, width=32)))
    return own, k.astype(np.float32), w


@settings(max_examples=200, deadline=None)
@given(groups())
def test_conserving_mode_never_creates_reward(case):
    own, k, w = case
    out = learned_rewards(own, k, w, "conserving")
    assert np.isclose(out.sum(), own.sum(), atol=1e-4 * (1 + np.abs(own).sum()))


@settings(max_examples=200, deadline=None)
@given(groups())
def test_identity_kinship_gives_the_own_reward_exactly(case):
    own, _, w = case
    eye = np.eye(len(own), dtype=np.float32)
    for mode in ("none", "conserving", "inclusive"):
        assert np.array_equal(learned_rewards(own, eye, w, mode), own), mode


@settings(max_examples=200, deadline=None)
@given(groups())
def test_inclusive_mode_adds_relatedness_weighted_kin_reward(case):
    own, k, w = case
    out = learned_rewards(own, k, w, "inclusive")
    expect = own + w * ((k - np.diag(np.diag(k))) @ own)
    assert np.allclose(out, expect, atol=1e-4)


@settings(max_examples=100, deadline=None)
@given(groups(), st.floats(0, 0.5))
def test_mate_shares_conserve_the_pair_sum(case, m):
    own, k, w = case
    n = len(own)
    bond = np.full(n, -1, np.int16)
    if n >= 2:
        bond[0], bond[1] = 1, 0
    base = learned_rewards(own, k, w, "conserving")
    out = learned_rewards(own, k, w, "conserving", bond=bond, mate_share=m)
    assert np.isclose(out.sum(), base.sum(), atol=1e-4 * (1 + np.abs(own).sum()))
    if n >= 2:
        assert np.isclose(out[0], (1 - m) * base[0] + m * base[1], atol=1e-5)


def test_teams_split_reward_evenly_within_the_team_when_fully_shared():
    k = team_kinship(team_ids(6, 2))  # teams {0, 2, 4} and {1, 3, 5}
    own = np.array([3, 0, 0, 0, 0, 1], np.float32)
    out = learned_rewards(own, k, np.ones(6, np.float32), "conserving")
    assert np.allclose(out, [1, 1 / 3, 1, 1 / 3, 1, 1 / 3])
    half = learned_rewards(own, k, np.full(6, 0.5, np.float32), "conserving")
    assert np.allclose(half, [1.5 + 0.5, 1 / 6, 0.5, 1 / 6, 0.5, 0.5 + 1 / 6])


def test_inclusive_teams_count_every_teammates_reward():
    k = team_kinship(team_ids(4, 2))
    own = np.array([1, 0, 2, 0], np.float32)
    out = learned_rewards(own, k, np.ones(4, np.float32), "inclusive")
    assert np.allclose(out, [3, 0, 3, 0])


ALTAR_PAIR = """
#######
#.a.a.#
#.^.^.#
#######
"""


def test_world_step_shares_rewards_and_keeps_own_rewards_for_fitness():
    w = scene(ALTAR_PAIR, reward_sharing="conserving")
    w.reset(kinship=np.ones((2, 2), np.float32))
    w.set_genes(kin_weight=[1.0, 0.0])
    act(w, a0="use")
    assert w.rewards[0].tolist() == [1.0, 0.0]  # own: what fitness counts
    assert w.learned_rewards[0].tolist() == [0.5, 0.5]
    act(w, a1="use")
    assert w.rewards[0].tolist() == [0.0, 1.0]
    assert w.learned_rewards[0].tolist() == [0.0, 1.0]  # agent 1 keeps its own


def test_no_sharing_leaves_learned_equal_to_own():
    w = scene(ALTAR_PAIR)
    w.reset(kinship=np.ones((2, 2), np.float32))
    w.set_genes(kin_weight=[1.0, 1.0])
    act(w, a0="use", a1="use")
    assert np.array_equal(w.learned_rewards, w.rewards)


def test_conserving_sharing_keeps_the_reward_of_an_agent_with_no_kin_weight_left():
    # A zero row (K = 0) or a row summing to zero has nobody to share with: the giver keeps
    # its share instead of dividing by zero inside the kernel.
    own = np.array([1.0, 2.0, 0.0], np.float32)
    w = np.ones(3, np.float32)
    zero = np.zeros((3, 3), np.float32)
    assert learned_rewards(own, zero, w, "conserving").tolist() == [1.0, 2.0, 0.0]
    k = np.array([[1, -1, 0], [-1, 1, 0], [0, 0, 1]], np.float32)
    assert learned_rewards(own, k, w, "conserving").tolist() == [1.0, 2.0, 0.0]


@pytest.mark.parametrize(
    "k, problem",
    [
        (np.ones((3, 3)), "shape"),
        (np.array([[1, 0.5], [0.2, 1]]), "symmetric"),
        (np.array([[1, np.nan], [np.nan, 1]]), "finite"),
        (np.array([[0.5, 0.5], [0.5, 0.5]]), "diagonal"),
        (np.array([[1, -0.5], [-0.5, 1]]), "negative"),
        (np.array([[1, 1.5], [1.5, 1]]), "above 1"),
    ],
)
def test_kinship_is_checked_at_the_boundary(k, problem):
    with pytest.raises(ValueError, match=problem):
        check_kinship(k, 2)
    w = scene(ALTAR_PAIR)
    with pytest.raises(ValueError, match=problem):
        w.set_kinship(k)
    with pytest.raises(ValueError, match=problem):
        w.reset(kinship=k)


def test_a_batch_of_kinship_matrices_names_the_env_at_fault():
    k = np.stack([np.eye(2), np.array([[1, 0.5], [0.2, 1]])])
    with pytest.raises(ValueError, match=r"kinship\[1\]"):
        check_kinship(k, 2, n_envs=2)
