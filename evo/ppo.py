"""PPO for every agent of a trial at once, in the style of CleanRL's single-file PPO.

Read top to bottom, it runs in this order: setup (world, networks, per-individual genes),
rollout storage allocated once, then per update: learning-rate annealing, rollout in the
batched world, GAE, and minibatch epochs of clipped policy and value losses with an entropy
bonus, per-individual gradient clipping and a guard that skips (and counts) any individual's
update whose loss or gradients are not finite.

Groups: in `individual` mode each of the N agent slots is one individual with its own
weights, optimiser state and genes (G = N, data of slot i from every env copy); in `shared`
mode one network learns from all slots (G = 1). Both run through the same batched code.

Agents learn from `World.learned_rewards` (kin-shared); fitness is their own hearts, read from
the world's counters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from evo.config import PPOConfig
from evo.policy import Ensemble, Policy
from world import layout as L
from world.config import WorldConfig
from world.env import World

LEARNING_GENES = ("learning_rate", "ent_coef")
WORLD_GENES = ("kin_weight", "choosiness")


def _minibatch(x: torch.Tensor, idx: torch.Tensor, by_stream: bool) -> torch.Tensor:
    """[G, T, M, ...] -> [G, samples, ...]: all T steps of streams `idx`, or flat samples."""
    if by_stream:
        return x[:, :, idx].flatten(1, 2)
    return x.flatten(1, 2)[:, idx]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("ppo.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


@dataclass
class TrainResult:
    """What a training run leaves: per-agent-slot results ([N] arrays) and the networks."""

    counters: np.ndarray  # int64[N, len(COUNTERS)] own behaviour, summed over env copies
    hearts_per_episode: np.ndarray  # float64[N] own hearts per (env copy x episode length)
    nan_skips: np.ndarray  # int64[G] updates skipped by the NaN guard
    bonds: np.ndarray  # int32[M, 5] (env, episode, step, i, j) bonds formed
    curve: list[dict] = field(default_factory=list)  # one row per update
    states: list[dict] = field(default_factory=list)  # G plain state dicts (CPU)
    agent_steps: int = 0
    seconds: float = 0.0


def make_policy(world_cfg: WorldConfig, ppo: PPOConfig) -> Policy:
    V = 2 * world_cfg.vision_radius + 1
    return Policy(
        (V, V, L.N_CHANNELS), L.N_SELF, world_cfg.n_actions, ppo.channels, ppo.hidden, ppo.recurrent
    )


def gene_vector(
    genes: dict[str, np.ndarray] | None, name: str, default: float, n: int
) -> np.ndarray:
    if genes is None or name not in genes:
        return np.full(n, default, np.float64)
    v = np.asarray(genes[name], np.float64)
    if v.shape != (n,):
        raise ValueError(f"gene {name!r} needs one value per agent ({n}), got shape {v.shape}")
    return v


def train(
    world_cfg: WorldConfig,
    ppo: PPOConfig,
    seed: int,
    kinship: np.ndarray | None = None,
    genes: dict[str, np.ndarray] | None = None,
    init_states: list[dict] | None = None,
    callback: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train the trial's agents; see the module docstring. `genes` maps a gene name to one
    value per agent slot (learning_rate, ent_coef, kin_weight, choosiness); `init_states`
    gives G state dicts to start from (else fresh weights from `seed`)."""
    # -- setup -----------------------------------------------------------------------------
    device = resolve_device(ppo.device)
    torch.set_num_threads(ppo.torch_threads)
    N, B, T = world_cfg.n_agents, ppo.num_envs, ppo.num_steps
    G = N if ppo.mode == "individual" else 1
    # The world's Numba threads follow torch's: Dask runs one trial per one-thread worker.
    world = World(world_cfg, n_envs=B, seed=seed, threads=ppo.torch_threads)
    world.reset(kinship=kinship)
    world.set_genes(
        kin_weight=gene_vector(genes, "kin_weight", 0.0, N),
        choosiness=gene_vector(genes, "choosiness", 0.0, N),
    )
    lr_gene = gene_vector(genes, "learning_rate", ppo.learning_rate, N)
    ent_gene = gene_vector(genes, "ent_coef", ppo.ent_coef, N)
    if G == 1:  # one network: its genes are the group's mean
        lr_gene, ent_gene = lr_gene.mean(keepdims=True), ent_gene.mean(keepdims=True)
    lr0 = torch.tensor(lr_gene, dtype=torch.float32, device=device)
    ent_coef = torch.tensor(ent_gene, dtype=torch.float32, device=device)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        models = [make_policy(world_cfg, ppo) for _ in range(G)]
    if init_states is not None:
        if len(init_states) != G:
            raise ValueError(f"init_states needs {G} state dicts, got {len(init_states)}")
        for m, s in zip(models, init_states, strict=True):
            m.load_state_dict(s)
    net = Ensemble(models, device)
    params = list(net.params.values())
    adam_m = [torch.zeros_like(p) for p in params]
    adam_v = [torch.zeros_like(p) for p in params]
    adam_t = torch.zeros(G, device=device)
    beta1, beta2, eps = 0.9, 0.999, 1e-5
    sampler = torch.Generator(device=device).manual_seed(seed)
    shuffler = np.random.default_rng(seed)

    groups = net.groups

    def ungroup(x: torch.Tensor) -> torch.Tensor:
        return net.ungroup(x, B)

    # -- storage, allocated once -------------------------------------------------------------
    V, C, S = world.obs.shape[2], world.obs.shape[4], world.self_obs.shape[2]
    obs_grid = torch.zeros((T, B, N, V, V, C), dtype=torch.uint8, device=device)
    obs_self = torch.zeros((T, B, N, S), device=device)
    actions = torch.zeros((T, B, N), dtype=torch.long, device=device)
    logprobs = torch.zeros((T, B, N), device=device)
    rewards = torch.zeros((T, B, N), device=device)
    starts = torch.zeros((T, B, N), device=device)
    values = torch.zeros((T, B, N), device=device)
    core = torch.zeros((B, N, net.hidden), device=device)
    next_start = torch.ones((B, N), device=device)
    nan_skips = torch.zeros(G, dtype=torch.long, device=device)
    curve: list[dict] = []
    t0 = time.perf_counter()
    hearts_col = L.COUNTERS.index("hearts")
    bonds = []

    for update in range(1, ppo.num_updates + 1):
        # -- learning-rate annealing -------------------------------------------------------
        frac = 1.0 - (update - 1.0) / ppo.num_updates if ppo.anneal_lr else 1.0
        lr = lr0 * frac
        core_start = core.clone()
        hearts_before = world.counters[:, :, hearts_col].sum()
        t_rollout = time.perf_counter()
        world_s = 0.0

        # -- rollout -----------------------------------------------------------------------
        for t in range(T):
            obs_grid[t] = torch.from_numpy(world.obs)
            obs_self[t] = torch.from_numpy(world.self_obs)
            starts[t] = next_start
            with torch.no_grad():
                logits, value, h = net.step(
                    groups(obs_grid[t], 0),
                    groups(obs_self[t], 0),
                    groups(core, 0),
                    groups(next_start, 0),
                )
                logp = torch.log_softmax(logits, -1)
                gumbel = -torch.log(
                    -torch.log(torch.rand(logp.shape, generator=sampler, device=device))
                )
                action = (logp + gumbel).argmax(-1)
                core = ungroup(h)
            actions[t] = ungroup(action)
            logprobs[t] = ungroup(logp.gather(-1, action.unsqueeze(-1)).squeeze(-1))
            values[t] = ungroup(value)
            t_world = time.perf_counter()
            world.step(actions[t].cpu().numpy().astype(np.int32))
            world_s += time.perf_counter() - t_world
            rewards[t] = torch.from_numpy(world.learned_rewards)
            next_start = torch.from_numpy(world.dones).float().unsqueeze(1).expand(B, N).to(device)
        bonds.append(world.read_bonds())

        rollout_s = time.perf_counter() - t_rollout
        t_update = time.perf_counter()

        # -- advantages (GAE) --------------------------------------------------------------
        with torch.no_grad():
            _, next_value, _ = net.step(
                groups(torch.from_numpy(world.obs).to(device), 0),
                groups(torch.from_numpy(world.self_obs).to(device), 0),
                groups(core, 0),
                groups(next_start, 0),
            )
            next_value = ungroup(next_value)
            advantages = torch.zeros_like(rewards)
            lastgaelam = torch.zeros((B, N), device=device)
            for t in reversed(range(T)):
                if t == T - 1:
                    nonterminal, nextvalues = 1.0 - next_start, next_value
                else:
                    nonterminal, nextvalues = 1.0 - starts[t + 1], values[t + 1]
                delta = rewards[t] + ppo.gamma * nextvalues * nonterminal - values[t]
                lastgaelam = delta + ppo.gamma * ppo.gae_lambda * nonterminal * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values

        # -- minibatch epochs --------------------------------------------------------------
        g_grid, g_self = groups(obs_grid, 1), groups(obs_self, 1)  # [G, T, M, ...]
        g_act, g_logp, g_adv = groups(actions, 1), groups(logprobs, 1), groups(advantages, 1)
        g_ret, g_val, g_start = groups(returns, 1), groups(values, 1), groups(starts, 1)
        g_core = groups(core_start, 0)  # [G, M, hidden]
        M = g_act.shape[2]
        stats = {"pg_loss": [], "v_loss": [], "entropy": [], "approx_kl": []}
        for _epoch in range(ppo.update_epochs):
            if ppo.recurrent:  # whole sequences of a subset of the M streams
                order = shuffler.permutation(M)
                batches = [order[k :: ppo.num_minibatches] for k in range(ppo.num_minibatches)]
            else:  # any (t, m) samples
                order = shuffler.permutation(T * M)
                size = max(1, T * M // ppo.num_minibatches)
                batches = [order[k : k + size] for k in range(0, T * M, size)]
            kl_epoch = []
            for idx in batches:
                idx = torch.as_tensor(idx, device=device)
                pick = partial(_minibatch, idx=idx, by_stream=ppo.recurrent)  # -> [G, mb, ...]
                if ppo.recurrent:
                    sel = (g_grid[:, :, idx], g_self[:, :, idx], g_core[:, idx], g_start[:, :, idx])
                    logits, newvalue = net.unroll(*sel)
                    logits, newvalue = logits.flatten(1, 2), newvalue.flatten(1, 2)
                else:
                    grid_mb = pick(g_grid)
                    zeros = torch.zeros(grid_mb.shape[:2], device=device)
                    no_core = torch.zeros((*grid_mb.shape[:2], net.hidden), device=device)
                    logits, newvalue, _ = net.step(grid_mb, pick(g_self), no_core, zeros)
                logp_all = torch.log_softmax(logits, -1)
                newlogprob = logp_all.gather(-1, pick(g_act).unsqueeze(-1)).squeeze(-1)
                entropy = -(logp_all.exp() * logp_all).sum(-1).mean(-1)  # [G]
                logratio = newlogprob - pick(g_logp)
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean(-1)
                adv = pick(g_adv)
                if ppo.norm_adv:
                    adv = (adv - adv.mean(-1, keepdim=True)) / (adv.std(-1, keepdim=True) + 1e-8)
                pg_loss = torch.max(
                    -adv * ratio, -adv * ratio.clamp(1 - ppo.clip_coef, 1 + ppo.clip_coef)
                ).mean(-1)
                ret, oldv = pick(g_ret), pick(g_val)
                if ppo.clip_vloss:
                    v_clipped = oldv + (newvalue - oldv).clamp(-ppo.clip_coef, ppo.clip_coef)
                    v_loss = 0.5 * torch.max((newvalue - ret) ** 2, (v_clipped - ret) ** 2).mean(-1)
                else:
                    v_loss = 0.5 * ((newvalue - ret) ** 2).mean(-1)
                loss = pg_loss - ent_coef * entropy + ppo.vf_coef * v_loss  # [G]

                grads = torch.autograd.grad(loss.sum(), params)
                sq = sum(g.flatten(1).pow(2).sum(1) for g in grads)
                norm = sq.sqrt()
                ok = torch.isfinite(loss) & torch.isfinite(norm)  # the NaN guard, per group
                nan_skips += (~ok).long()
                scale = (ppo.max_grad_norm / (norm + 1e-6)).clamp(max=1.0)
                adam_t += ok.float()
                with torch.no_grad():
                    for p, g, m, v in zip(params, grads, adam_m, adam_v, strict=True):
                        shape = (G,) + (1,) * (p.dim() - 1)
                        keep = ok.view(shape)
                        g = torch.where(keep, g * scale.view(shape), torch.zeros_like(g))
                        m.copy_(torch.where(keep, beta1 * m + (1 - beta1) * g, m))
                        v.copy_(torch.where(keep, beta2 * v + (1 - beta2) * g * g, v))
                        tt = adam_t.clamp(min=1).view(shape)
                        mhat = m / (1 - beta1**tt)
                        vhat = v / (1 - beta2**tt)
                        step = lr.view(shape) * mhat / (vhat.sqrt() + eps)
                        p.sub_(torch.where(keep, step, torch.zeros_like(step)))
                stats["pg_loss"].append(pg_loss.detach())
                stats["v_loss"].append(v_loss.detach())
                stats["entropy"].append(entropy.detach())
                stats["approx_kl"].append(approx_kl)
                kl_epoch.append(approx_kl)
            if ppo.target_kl is not None and torch.stack(kl_epoch).nanmean() > ppo.target_kl:
                break

        # -- logging -----------------------------------------------------------------------
        update_s = time.perf_counter() - t_update
        elapsed = time.perf_counter() - t0
        steps_per_update = T * B
        hearts = world.counters[:, :, hearts_col].sum() - hearts_before
        row = {
            "update": update,
            "env_steps": update * steps_per_update,
            "agent_steps": update * steps_per_update * N,
            "hearts_per_agent_episode": float(hearts) / (N * B * T / world_cfg.max_steps),
            "learned_reward_per_agent_step": float(rewards.mean()),
            "agent_steps_per_s": update * steps_per_update * N / elapsed,
            "nan_skips": int(nan_skips.sum()),
            "lr": float(lr.mean()),
            "world_s": world_s,  # stepping the world during the rollout
            "rollout_s": rollout_s,  # the whole rollout (world + policy + copies)
            "update_s": update_s,  # GAE and the minibatch epochs
        }
        for k, vals in stats.items():
            row[k] = float(torch.stack(vals).nanmean())
        curve.append(row)
        if callback is not None:
            callback(row)

    steps_per_env = ppo.num_updates * T
    counters = world.counters.sum(axis=0).astype(np.int64)
    return TrainResult(
        counters=counters,
        hearts_per_episode=counters[:, hearts_col] / (B * steps_per_env / world_cfg.max_steps),
        nan_skips=nan_skips.cpu().numpy(),
        bonds=np.concatenate(bonds) if bonds else np.zeros((0, 5), np.int32),
        curve=curve,
        states=[net.state_dict(g) for g in range(G)],
        agent_steps=steps_per_env * B * N,
        seconds=time.perf_counter() - t0,
    )
