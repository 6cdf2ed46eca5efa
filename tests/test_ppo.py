"""PPO: networks and modes agree, the optimiser is Adam per individual, the NaN guard holds,
trials are pure functions. (Learning that needs sight: test_learning.py.)"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from evo.config import PPOConfig
from evo.policy import POLICIES, Ensemble, GroupAdam, make_policy
from evo.ppo import (
    Rollout,
    collect_rollout,
    compute_advantages,
    member_batch,
    member_layout,
    members,
    store_planes,
    train,
    update,
)
from evo.trial import run_trial
from kinship import KinshipConfig
from world import WorldConfig
from world.encoding import channel_max
from world.env import World
from world.layout import COUNTERS

ALTAR_ROOM = "#######\n#.....#\n#.@...#\n#..a..#\n#...@.#\n#.....#\n#######"
EASY = WorldConfig(
    n_agents=2,
    max_steps=64,
    start_energy=100,
    altar_cost=5,
    altar_cooldown=0,
    map={"kind": "ascii", "ascii": ALTAR_ROOM},
)


def quick(**kw) -> PPOConfig:
    base = dict(
        total_timesteps=8 * 16 * 2, num_envs=8, num_steps=16, torch_threads=1, hidden=32, channels=8
    )
    return PPOConfig(**{**base, **kw})


@pytest.mark.slow
def test_longer_training_keeps_improving():
    ppo = PPOConfig(total_timesteps=32 * 64 * 60, num_envs=32, num_steps=64, learning_rate=1e-3)
    curve = train(EASY, ppo, seed=1).curve
    first = np.mean([r["hearts_per_agent_episode"] for r in curve[:5]])
    last = np.mean([r["hearts_per_agent_episode"] for r in curve[-5:]])
    assert last >= 10 * first and last > 8


def observations(shape, cfg=EASY, seed=0):
    """Random planes within each channel's true range (as the world could write them)."""
    g = torch.Generator().manual_seed(seed)
    top = torch.from_numpy(channel_max(cfg)).long()
    return (torch.rand(*shape, 11, 11, 13, generator=g) * (top + 1)).long().clamp(max=top).byte()


@pytest.mark.parametrize("policy", list(POLICIES))
def test_shared_and_individual_networks_agree_given_the_same_weights(policy):
    ppo = quick(policy=policy)
    torch.manual_seed(0)
    model = make_policy(EASY, ppo)
    ind = Ensemble([make_policy(EASY, ppo) for _ in range(2)], torch.device("cpu"))
    for g in range(2):
        ind.load_member(g, model.state_dict())
    shared = Ensemble([model], torch.device("cpu"))
    grid = observations((2, 5))
    own = torch.rand(2, 5, 11)
    h, start = torch.zeros(2, 5, 32), torch.zeros(2, 5)
    li, vi, _ = ind.step(grid, own, h, start)
    ls, vs, _ = shared.step(
        grid.flatten(0, 1)[None],
        own.flatten(0, 1)[None],
        h.flatten(0, 1)[None],
        start.flatten(0, 1)[None],
    )
    assert torch.allclose(li.flatten(0, 1), ls[0], atol=1e-5) and torch.allclose(
        vi.flatten(0, 1), vs[0], atol=1e-5
    )
    # the shared gradient of the mean loss is the mean of the members' gradients
    target = torch.randn(2, 5)
    loss_i = ((vi - target) ** 2).mean(-1) + li.pow(2).mean((-1, -2))
    loss_s = ((vs[0] - target.flatten()) ** 2).mean() + ls[0].pow(2).mean()
    gi = torch.autograd.grad(loss_i.sum(), list(ind.params.values()))
    gs = torch.autograd.grad(loss_s, list(shared.params.values()))
    for a, b in zip(gi, gs, strict=True):
        assert torch.allclose(a.mean(0), b[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("policy", list(POLICIES))
def test_a_member_of_the_ensemble_computes_what_its_own_network_computes(policy):
    torch.manual_seed(1)
    models = [make_policy(EASY, quick(policy=policy)) for _ in range(3)]
    net = Ensemble(models, torch.device("cpu"))
    grid, own = observations((3, 4)), torch.rand(3, 4, 11)
    logits, value, _ = net.step(grid, own, torch.zeros(3, 4, 32), torch.zeros(3, 4))
    for g, m in enumerate(models):
        lg, vg, _ = m(grid[g], own[g], torch.zeros(4, 32), torch.zeros(4))
        assert torch.allclose(logits[g], lg, atol=1e-5) and torch.allclose(value[g], vg, atol=1e-5)


@pytest.mark.parametrize("mode", ["individual", "shared"])
def test_stored_planes_read_back_as_each_member_sees_them(mode):
    cfg = EASY.model_copy(update={"n_agents": 3})
    world = World(cfg, n_envs=5, seed=2)
    world.reset()
    world.step(np.random.default_rng(0).integers(0, EASY.n_actions, (5, 3)).astype(np.int32))
    net = Ensemble(
        [make_policy(cfg, quick(mode=mode)) for _ in range(3 if mode == "individual" else 1)],
        torch.device("cpu"),
    )
    buf = Rollout.allocate(2, world, net.hidden, torch.device("cpu"), net.size)
    store_planes(buf.grid[1], world.obs)
    want = net.groups(torch.from_numpy(world.obs))  # [G, M, V, V, C], the members' own view
    assert torch.equal(members(buf.grid[1]), want)
    assert not buf.grid[0].any()
    # a GPU's buffer is filled from the planes as a tensor, reordered on the device
    as_tensor = member_layout(torch.from_numpy(world.obs), buf.grid[1].shape)
    assert torch.equal(as_tensor, buf.grid[1])
    with pytest.raises(ValueError, match="groups must be 1"):
        Rollout.allocate(2, world, net.hidden, torch.device("cpu"), 2)


def _one_update(rewards_bump: float) -> list[dict]:
    """One rollout and one PPO update of two individuals; slot 1's rewards get `rewards_bump`."""
    ppo = quick()
    world = World(EASY, n_envs=8, seed=4)
    world.reset()
    torch.manual_seed(0)
    net = Ensemble([make_policy(EASY, ppo) for _ in range(2)], torch.device("cpu"))
    opt = GroupAdam(net.flat)
    buf = Rollout.allocate(ppo.num_steps, world, net.hidden, torch.device("cpu"), net.size)
    collect_rollout(world, net, buf, torch.Generator().manual_seed(0))
    buf.rewards[:, :, 1] += rewards_bump
    next_value = torch.zeros(8, 2)
    adv, ret = compute_advantages(buf, next_value, ppo.gamma, ppo.gae_lambda)
    data = member_batch(net, buf, adv, ret)
    lr, ent = torch.full((2,), 1e-3), torch.full((2,), 0.01)
    update(net, opt, data, net.groups(buf.core), ppo, lr, ent, np.random.default_rng(0),
           torch.zeros(2, dtype=torch.long))  # fmt: skip
    return [net.state_dict(g) for g in range(2)]


def test_individual_mode_updates_each_member_only_from_its_own_slot():
    base, bumped = _one_update(0.0), _one_update(1.0)
    assert all(torch.equal(base[0][k], bumped[0][k]) for k in base[0])
    assert any(not torch.equal(base[1][k], bumped[1][k]) for k in base[1])


@pytest.mark.parametrize("read_ok", [True, False])  # False: the path a GPU takes every step
def test_group_adam_equals_torch_adam_run_on_each_individual_alone(read_ok):
    G, P, lrs = 3, 40, [1e-3, 3e-2, 2e-1]
    g = torch.Generator().manual_seed(0)
    init = torch.randn(G, P, generator=g)
    grads = [torch.randn(G, P, generator=g) * (1 + k) for k in range(6)]
    ok = [torch.tensor([True, k != 2, True]) for k in range(6)]  # member 1 skips step 2
    flat = init.clone()
    opt = GroupAdam(flat, betas=(0.9, 0.999), eps=1e-5)
    opt.read_ok = read_ok
    for grad, keep in zip(grads, ok, strict=True):
        opt.step(grad, torch.tensor(lrs), keep)
    for m in range(G):
        p = torch.nn.Parameter(init[m].clone())
        ref = torch.optim.Adam([p], lr=lrs[m], betas=(0.9, 0.999), eps=1e-5)
        for grad, keep in zip(grads, ok, strict=True):
            if keep[m]:
                p.grad = grad[m].clone()
                ref.step()
        assert torch.allclose(flat[m], p.detach(), rtol=1e-5, atol=1e-6), m
    assert not torch.equal(flat[0], init[0])


def test_an_unknown_policy_name_lists_the_known_ones():
    known = "known: strided-v2, strided-v3, conv-v1"
    with pytest.raises(ValueError, match=f"unknown policy 'conv-v9'; {known}"):
        PPOConfig(policy="conv-v9")


def test_nan_rewards_are_skipped_and_counted_not_crashed():
    facing_altar = {"kind": "ascii", "ascii": "#####\n#.a.#\n#.^.#\n#####"}
    world = WorldConfig(n_agents=1, max_steps=64, map=facing_altar)
    poisoned = world.model_copy(update={"heart_reward": float("nan")})  # configs refuse NaN
    result = train(poisoned, quick(total_timesteps=8 * 16 * 3), seed=0)
    assert result.nan_skips.sum() > 0
    assert all(torch.isfinite(v).all() for s in result.states for v in s.values())
    assert len(result.curve) == 3


def test_genes_set_learning_per_individual():
    # Same seed, so the same initial weights; only individual 1 may learn in the first run.
    result = train(EASY, quick(), seed=5, genes={"learning_rate": np.array([1e-12, 1e-2])})
    frozen = train(EASY, quick(), seed=5, genes={"learning_rate": np.array([1e-12, 1e-12])})
    moved = [
        max(
            float((result.states[g][k] - frozen.states[g][k]).abs().max()) for k in result.states[g]
        )
        for g in range(2)
    ]
    assert moved[0] < 1e-6 < moved[1]


def test_run_trial_is_a_pure_function_bit_for_bit():
    args = dict(
        genes={"kin_weight": [0.5, 0.5], "ent_coef": [0.01, 0.02]},
        uids=[10, 11],
        world=EASY.model_copy(update={"reward_sharing": "conserving"}),
        ppo=quick(),
        kinship=KinshipConfig(kind="teams", n_teams=1),
        seed=42,
        return_weights=True,
    )
    a, b = run_trial(**args), run_trial(**args)
    assert np.array_equal(a.fitness, b.fitness)
    for sa, sb in zip(a.weights, b.weights, strict=True):
        for k in sa:
            assert torch.equal(sa[k], sb[k])
    c = run_trial(**{**args, "seed": 43})
    assert any(not torch.equal(a.weights[0][k], c.weights[0][k]) for k in a.weights[0])


def test_run_trial_reports_every_counter_per_individual():
    r = run_trial({}, [7, 9], EASY, quick(), KinshipConfig(), seed=0)
    assert set(r.counters) == set(COUNTERS) and r.counters["energy_spent"].shape == (2,)
    assert r.fitness.shape == (2,) and (r.fitness >= 0).all()
    assert r.uids.tolist() == [7, 9] and r.weights is None
    assert np.array_equal(r.kinship, np.eye(2, dtype=np.float32))
    with pytest.raises(ValueError, match="places 2 agents"):
        run_trial({}, [1], EASY, quick(), KinshipConfig(), seed=0)


def test_recurrent_unroll_matches_stepping_one_step_at_a_time():
    ppo = quick(recurrent=True)
    torch.manual_seed(0)
    net = Ensemble([make_policy(EASY, ppo) for _ in range(2)], torch.device("cpu"))
    T, M = 6, 3
    grid = observations((2, T, M))
    own = torch.rand(2, T, M, 11)
    start = torch.zeros(2, T, M)
    start[:, 3, 1] = 1.0  # an episode boundary inside the sequence resets that stream's core
    h = torch.rand(2, M, 32)
    logits, values = net.unroll(grid, own, h, start)
    for t in range(T):
        lt, vt, h = net.step(grid[:, t], own[:, t], h, start[:, t])
        assert torch.allclose(lt, logits[:, t], atol=1e-5) and torch.allclose(
            vt, values[:, t], atol=1e-5
        )


def test_recurrent_training_runs_and_is_reproducible():
    ppo = quick(recurrent=True, num_minibatches=2)
    a, b = train(EASY, ppo, seed=2), train(EASY, ppo, seed=2)
    assert "gru_h.weight" in a.states[0]
    assert all(torch.equal(a.states[0][k], b.states[0][k]) for k in a.states[0])


def test_a_one_thread_trial_keeps_torch_on_one_thread_across_world_steps():
    import numba

    torch.set_num_threads(2)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    train(EASY, quick(torch_threads=1), seed=0)
    assert torch.get_num_threads() == 1  # the world's Numba steps did not reset it


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_learner_sizes_itself_for_the_optional_features(policy):
    """Every optional feature on: more actions, channels and own-state features; a trial
    trains and plays on them."""
    cfg = WorldConfig(
        **{
            **EASY.model_dump(),
            "postures": {"enabled": True},
            "building": {"enabled": True},
            "resources": [{"name": "ore"}],
            "converters": [{"name": "src", "char": "o", "outputs": {"ore": 1}}],
        }
    )
    assert cfg.n_actions == EASY.n_actions + 6
    r = run_trial({}, [1, 2], cfg, quick(policy=policy), KinshipConfig(), seed=0)
    assert r.fitness.shape == (2,)


def test_a_one_thread_trial_in_a_fresh_process_runs_torch_on_one_thread():
    """Numba's thread pool, launched by the first world step of a process, must not hand
    torch its own thread count (the case the test above cannot see: its pool is running)."""
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from evo.ppo import train\n"
        "from tests.test_ppo import EASY, quick\n"
        "train(EASY, quick(torch_threads=1), seed=0)\n"
        "print(torch.get_num_threads())\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parent.parent, check=True)  # fmt: skip
    assert out.stdout.split()[-1] == "1"


@pytest.mark.parametrize("stagger", [True, False])
def test_training_starts_its_envs_staggered_unless_told_not_to(monkeypatch, stagger):
    import evo.ppo

    made = []

    def spy(cfg, *args, **kw):
        world = World(cfg, *args, **kw)
        made.append(world)
        return world

    monkeypatch.setattr(evo.ppo, "World", spy)
    ppo = quick(num_envs=16) if stagger else quick(num_envs=16, stagger_start=False)
    assert PPOConfig().stagger_start  # on by default
    assert EASY.stagger_start is False  # the world itself starts every env at step 0
    train(EASY, ppo, seed=0)
    (world,) = made
    assert world.config.stagger_start is stagger
