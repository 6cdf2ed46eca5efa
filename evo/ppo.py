"""PPO for every agent of a trial at once, in the style of CleanRL's single-file PPO.

Read top to bottom, it runs in the order the algorithm does: storage allocated once
(`Rollout`), the rollout in the batched world (`collect_rollout`, no autograd), GAE
(`compute_advantages`), and minibatch epochs (`update`) of clipped policy and value losses
with an entropy bonus (`ppo_loss`), per-individual gradient clipping and a guard that skips
(and counts) any individual's update whose loss or gradients are not finite
(`clip_and_guard`), then one Adam step for every individual at once (`evo.policy.GroupAdam`).
`train` ties them together: setup (world, networks, per-individual genes), then per update
learning-rate annealing, rollout, advantages, update and a logged learning-curve row.

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

import numba
import numpy as np
import torch

from evo.config import PPOConfig
from evo.policy import Ensemble, GroupAdam, log_softmax, make_policy, sample_action
from kinevo import faults
from kinevo.allocator import keep_freed_memory
from kinevo.genes import GENES, genes_acting_in, unknown_gene_message
from kinevo.seeding import global_torch_seed
from world import layout as L
from world.config import WorldConfig
from world.env import World


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("ppo.device: 'cuda', but this machine has no CUDA device")
    return torch.device(name)


@dataclass
class TrainResult:
    """What a training run leaves: per-agent-slot results ([N] arrays) and the networks."""

    counters: np.ndarray  # int64[N, len(COUNTERS)] own behaviour, summed over env copies
    energy_given: np.ndarray  # int64[N, N] energy slot i gave slot j, summed over env copies
    diamonds_given: np.ndarray  # int64[N, N] diamonds slot i gave slot j
    hearts_per_episode: np.ndarray  # float64[N] own hearts per (env copy x episode length)
    nan_skips: np.ndarray  # int64[G] updates skipped by the NaN guard
    bonds: np.ndarray  # int32[M, 5] (env, episode, step, i, j) bonds formed
    curve: list[dict] = field(default_factory=list)  # one row per update
    states: list[dict] = field(default_factory=list)  # G plain state dicts (CPU)
    agent_steps: int = 0
    seconds: float = 0.0


def gene_vector(
    genes: dict[str, np.ndarray] | None, name: str, default: float, n: int
) -> np.ndarray:
    if genes is None or name not in genes:
        return np.full(n, default, np.float64)
    v = np.asarray(genes[name], np.float64)
    if v.shape != (n,):
        raise ValueError(f"gene {name!r} needs one value per agent ({n}), got shape {v.shape}")
    return v


# -- storage ---------------------------------------------------------------------------------
@dataclass
class Rollout:
    """One update's experience, allocated once and filled by index: the observation planes
    already in member layout (what the networks read, so neither the rollout's steps nor the
    update copy them again), everything else in world layout."""

    grid: torch.Tensor  # uint8[T, M, V, V, G, C] planes, members minor (`store_planes`)
    own: torch.Tensor  # float32[T, B, N, S]
    actions: torch.Tensor  # int64[T, B, N]
    logprobs: torch.Tensor  # float32[T, B, N]
    rewards: torch.Tensor  # float32[T, B, N] learned (kin-shared) rewards
    starts: torch.Tensor  # float32[T, B, N] 1 where an episode began at this step
    values: torch.Tensor  # float32[T, B, N]
    core: torch.Tensor  # float32[B, N, hidden] recurrent state after the last step
    next_start: torch.Tensor  # float32[B, N] whether the next step begins an episode

    @classmethod
    def allocate(
        cls, T: int, world: World, hidden: int, device: torch.device, groups: int
    ) -> Rollout:
        """`groups`: the ensemble's size G (N in individual mode, 1 in shared mode)."""
        B, N, V, _, C = world.obs.shape
        S = world.self_obs.shape[2]
        if groups not in (1, N):
            raise ValueError(f"groups must be 1 (shared) or n_agents ({N}), got {groups}")
        M = B if groups > 1 else B * N  # streams per member

        def z(*shape, dtype=torch.float32):
            return torch.zeros(shape, dtype=dtype, device=device)

        return cls(
            grid=z(T, M, V, V, groups, C, dtype=torch.uint8),
            own=z(T, B, N, S),
            actions=z(T, B, N, dtype=torch.long),
            logprobs=z(T, B, N),
            rewards=z(T, B, N),
            starts=z(T, B, N),
            values=z(T, B, N),
            core=z(B, N, hidden),
            next_start=torch.ones((B, N), device=device),
        )


def store_planes(dst: torch.Tensor, obs: np.ndarray) -> None:
    """The world's planes uint8[B, N, V, V, C] into one step of `Rollout.grid`, dst:
    [M, V, V, G, C]: with one member per slot (G = N) each cell's N agents' channels end up
    side by side, the layout of a grouped conv's input, so `members` views need no copy."""
    if dst.device.type == "cpu":
        np.copyto(dst.numpy(), member_layout(obs, dst.shape))  # about 2x torch's strided copy
    else:  # upload the planes as the world wrote them; the device reorders them
        dst.copy_(member_layout(torch.from_numpy(obs).to(dst.device), dst.shape))


def member_layout(obs, shape: tuple[int, ...]):
    """[B, N, V, V, C] planes (a numpy array or a tensor) as `Rollout.grid`'s [M, V, V, G, C]
    step `shape`: a view where no copy is needed, a strided one that the copy into the buffer
    reorders otherwise."""
    if shape[3] > 1:  # G = N: slots next to the channels
        obs = obs.transpose(0, 2, 3, 1, 4) if isinstance(obs, np.ndarray) else obs.movedim(1, 3)
    return obs.reshape(shape)  # a view: only (B, N) -> M = B * N when G = 1


# -- rollout ---------------------------------------------------------------------------------
@torch.inference_mode()
def collect_rollout(world: World, net: Ensemble, buf: Rollout, sampler: torch.Generator) -> float:
    """Step the world T times with the current policies, filling `buf`; returns the seconds
    spent stepping the world itself."""
    B = world.n_envs
    groups = net.groups
    world_s = 0.0
    for t in range(buf.grid.shape[0]):
        store_planes(buf.grid[t], world.obs)
        buf.own[t] = torch.from_numpy(world.self_obs)
        buf.starts[t] = buf.next_start
        logits, value, h = net.step(
            members(buf.grid[t]), groups(buf.own[t]), groups(buf.core), groups(buf.next_start)
        )
        action, logp = sample_action(logits, sampler)
        buf.core.copy_(net.ungroup(h, B))
        buf.actions[t] = net.ungroup(action, B)
        buf.logprobs[t] = net.ungroup(logp, B)
        buf.values[t] = net.ungroup(value, B)
        t_world = time.perf_counter()
        world.step(buf.actions[t].cpu().numpy().astype(np.int32))
        world_s += time.perf_counter() - t_world
        buf.rewards[t] = torch.from_numpy(world.learned_rewards)
        buf.next_start.copy_(torch.from_numpy(world.dones).unsqueeze(1))
    return world_s


# -- advantages ------------------------------------------------------------------------------
@torch.inference_mode()
def compute_advantages(
    buf: Rollout, next_value: torch.Tensor, gamma: float, gae_lambda: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over the rollout; next_value: [B, N] value of the state after the last step.
    Returns advantages and returns, [T, B, N]."""
    T = buf.rewards.shape[0]
    advantages = torch.zeros_like(buf.rewards)
    lastgaelam = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        if t == T - 1:
            nonterminal, nextvalues = 1.0 - buf.next_start, next_value
        else:
            nonterminal, nextvalues = 1.0 - buf.starts[t + 1], buf.values[t + 1]
        delta = buf.rewards[t] + gamma * nextvalues * nonterminal - buf.values[t]
        lastgaelam = delta + gamma * gae_lambda * nonterminal * lastgaelam
        advantages[t] = lastgaelam
    return advantages, advantages + buf.values


# -- update ----------------------------------------------------------------------------------
def ppo_loss(
    logits: torch.Tensor,
    newvalue: torch.Tensor,
    mb: dict[str, torch.Tensor],
    ppo: PPOConfig,
    ent_coef: torch.Tensor,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Clipped PPO loss per group: logits [G, n, A], newvalue [G, n], minibatch `mb` of
    [G, n] tensors (act, logp, adv, ret, val). Returns loss [G] and detached stats [G]."""
    logp_all = log_softmax(logits)
    newlogprob = logp_all.gather(-1, mb["act"].unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1).mean(-1)  # [G]
    logratio = newlogprob - mb["logp"]
    ratio = logratio.exp()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - logratio).mean(-1)
    adv = mb["adv"]
    if ppo.norm_adv:
        adv = (adv - adv.mean(-1, keepdim=True)) / (adv.std(-1, keepdim=True) + 1e-8)
    pg_loss = torch.max(
        -adv * ratio, -adv * ratio.clamp(1 - ppo.clip_coef, 1 + ppo.clip_coef)
    ).mean(-1)
    ret, oldv = mb["ret"], mb["val"]
    if ppo.clip_vloss:
        v_clipped = oldv + (newvalue - oldv).clamp(-ppo.clip_coef, ppo.clip_coef)
        v_loss = 0.5 * torch.max((newvalue - ret) ** 2, (v_clipped - ret) ** 2).mean(-1)
    else:
        v_loss = 0.5 * ((newvalue - ret) ** 2).mean(-1)
    loss = pg_loss - ent_coef * entropy + ppo.vf_coef * v_loss
    stats = {"pg_loss": pg_loss, "v_loss": v_loss, "entropy": entropy, "approx_kl": approx_kl}
    return loss, {k: v.detach() for k, v in stats.items()}


def member_batch(
    net: Ensemble, buf: Rollout, advantages: torch.Tensor, returns: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The rollout in member layout, the scalars made contiguous once so that minibatches
    are cheap index_selects: [G, T, M] for scalars and own-state vectors (M streams per member);
    the observation planes sample-major, ``grid: uint8[T, M, V, V, G, C]``, as the rollout
    stored them (`members` turns a selection of it into [G, ...] without a copy), which lets
    a network read every member's planes of one sample together."""
    data = {
        "own": buf.own, "act": buf.actions, "logp": buf.logprobs, "adv": advantages,
        "ret": returns, "val": buf.values, "start": buf.starts,
    }  # fmt: skip
    out = {k: net.groups(v, 1).contiguous() for k, v in data.items()}
    out["grid"] = buf.grid  # stored in this layout
    return out


def members(grid: torch.Tensor) -> torch.Tensor:
    """Sample-major planes [..., V, V, G, C] -> a [G, ..., V, V, C] view."""
    return grid.movedim(-2, 0)


def minibatches(
    n: int, count: int, rng: np.random.Generator, device: torch.device
) -> list[torch.Tensor]:
    """A fresh random split of range(n) into `count` index tensors (the last may be short)."""
    order = torch.from_numpy(rng.permutation(n)).to(device)
    size = max(1, n // count)
    return [order[k : k + size] for k in range(0, n, size)]


def clip_and_guard(
    loss: torch.Tensor, grad: torch.Tensor, max_norm: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-individual gradient clipping and the NaN guard. grad: [G, P] -> (clipped grad,
    ok: bool[G], False where the loss or the gradient is not finite)."""
    norm = torch.linalg.vector_norm(grad, dim=1)
    ok = torch.isfinite(loss) & torch.isfinite(norm)
    scale = (max_norm / (norm + 1e-6)).clamp(max=1.0)
    return grad * scale.unsqueeze(1), ok


def update(
    net: Ensemble,
    opt: GroupAdam,
    data: dict[str, torch.Tensor],
    core0: torch.Tensor,
    ppo: PPOConfig,
    lr: torch.Tensor,
    ent_coef: torch.Tensor,
    shuffler: np.random.Generator,
    nan_skips: torch.Tensor,
) -> dict[str, float]:
    """Minibatch epochs over one rollout in member layout (`member_batch`); core0: [G, M,
    hidden] recurrent state at the rollout's start. Updates `net` in place through `opt`,
    counts skipped updates in `nan_skips` [G]; returns the mean of each loss statistic."""
    G, T, M = data["act"].shape
    device = data["act"].device
    data_grid = data["grid"]
    params = list(net.params.values())
    if not ppo.recurrent:  # any (t, m) samples: flatten time into the sample axis
        data = {k: v.flatten(1, 2) for k, v in data.items() if k != "grid"}
        grid = data_grid.flatten(0, 1)  # [T * M, V, V, G, C]
        size = max(1, T * M // ppo.num_minibatches)
        no_core = torch.zeros((G, size, net.hidden), device=device)
        no_start = torch.zeros((G, size), device=device)
    stats: dict[str, list] = {"pg_loss": [], "v_loss": [], "entropy": [], "approx_kl": []}
    for _epoch in range(ppo.update_epochs):
        kl_epoch = []
        if ppo.recurrent:  # whole sequences of a subset of the M streams
            order = shuffler.permutation(M)
            batches = [
                torch.as_tensor(order[k :: ppo.num_minibatches], device=device)
                for k in range(ppo.num_minibatches)
            ]
        else:
            batches = minibatches(T * M, ppo.num_minibatches, shuffler, device)
        for idx in batches:
            if ppo.recurrent:
                mb = {k: v.index_select(2, idx) for k, v in data.items() if k != "grid"}
                logits, newvalue = net.unroll(
                    members(data_grid.index_select(1, idx)),
                    mb["own"],
                    core0.index_select(1, idx),
                    mb["start"],
                )
                mb = {k: v.flatten(1, 2) for k, v in mb.items()}
                logits, newvalue = logits.flatten(1, 2), newvalue.flatten(1, 2)
            else:
                mb = {k: v.index_select(1, idx) for k, v in data.items()}
                n = len(idx)
                logits, newvalue, _ = net.step(
                    members(grid.index_select(0, idx)), mb["own"], no_core[:, :n], no_start[:, :n]
                )
            loss, st = ppo_loss(logits, newvalue, mb, ppo, ent_coef)
            grads = torch.autograd.grad(loss.sum(), params)
            grad, ok = clip_and_guard(
                loss, torch.cat([g.flatten(1) for g in grads], 1), ppo.max_grad_norm
            )
            nan_skips += (~ok).long()
            opt.step(grad, lr, ok)
            for k, v in st.items():
                stats[k].append(v)
            kl_epoch.append(st["approx_kl"])
        if ppo.target_kl is not None and torch.stack(kl_epoch).nanmean() > ppo.target_kl:
            break
    return {k: float(torch.stack(v).nanmean()) for k, v in stats.items()}


# -- the training loop -----------------------------------------------------------------------
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
    if device.type == "cuda":  # same seed, same weights: no run-to-run choice of conv kernels
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    # Numba's OpenMP pool, on its first launch in a process, sets the OpenMP thread count it
    # shares with torch to all cores; launch it before torch's count is set, or a one-thread
    # trial's torch runs two-thread parallel regions (idle-waiting, slow under load).
    numba.get_num_threads()
    torch.set_num_threads(ppo.torch_threads)
    keep_freed_memory()  # minibatch temporaries reused, not page-faulted in anew each time
    N, B, T = world_cfg.n_agents, ppo.num_envs, ppo.num_steps
    G = N if ppo.mode == "individual" else 1
    # The world's Numba threads follow torch's: Dask runs one trial per one-thread worker.
    train_cfg = world_cfg.model_copy(update={"stagger_start": ppo.stagger_start})
    world = World(train_cfg, n_envs=B, seed=seed, threads=ppo.torch_threads)
    world.reset(kinship=kinship)
    genes = dict(genes or {})
    for name in genes:
        if name not in GENES:
            raise ValueError(unknown_gene_message(name))
    world.set_genes(**{n: gene_vector(genes, n, 0.0, N) for n in genes_acting_in("world")})
    lr_gene = gene_vector(genes, "learning_rate", ppo.learning_rate, N)
    ent_gene = gene_vector(genes, "ent_coef", ppo.ent_coef, N)
    if G == 1:  # one network: its genes are the group's mean
        lr_gene, ent_gene = lr_gene.mean(keepdims=True), ent_gene.mean(keepdims=True)
    lr0 = torch.tensor(lr_gene, dtype=torch.float32, device=device)
    ent_coef = torch.tensor(ent_gene, dtype=torch.float32, device=device)

    with global_torch_seed(seed):  # layers initialise from torch's global generator
        models = [make_policy(world_cfg, ppo) for _ in range(G)]
    if init_states is not None:
        if len(init_states) != G:
            raise ValueError(f"init_states needs {G} state dicts, got {len(init_states)}")
        for m, s in zip(models, init_states, strict=True):
            m.load_state_dict(s)
    net = Ensemble(models, device)
    opt = GroupAdam(net.flat, betas=(0.9, 0.999), eps=1e-5)
    sampler = torch.Generator(device=device).manual_seed(seed)
    shuffler = np.random.default_rng(seed)

    # -- storage, allocated once -------------------------------------------------------------
    buf = Rollout.allocate(T, world, net.hidden, device, groups=G)
    nan_skips = torch.zeros(G, dtype=torch.long, device=device)
    curve: list[dict] = []
    t0 = time.perf_counter()
    hearts_col = L.COUNTERS.index("hearts")
    bonds = []
    episodes_per_update = B * T / world_cfg.max_steps

    for update_no in range(1, ppo.num_updates + 1):
        # -- learning-rate annealing -------------------------------------------------------
        frac = 1.0 - (update_no - 1.0) / ppo.num_updates if ppo.anneal_lr else 1.0
        lr = lr0 * frac
        core0 = net.groups(buf.core.clone())  # [G, M, hidden] for recurrent unrolls
        hearts_before = world.counters[:, :, hearts_col].sum(axis=0)

        # -- rollout -----------------------------------------------------------------------
        t_rollout = time.perf_counter()
        world_s = collect_rollout(world, net, buf, sampler)
        faults.kill_mid_training(update_no)  # test hook: a worker dies mid-trial
        if faults.poison_update(update_no):  # test hook: the NaN guard must catch this
            buf.rewards[-1, 0, 0] = float("nan")
        bonds.append(world.read_bonds())
        rollout_s = time.perf_counter() - t_rollout

        # -- advantages (GAE) --------------------------------------------------------------
        t_update = time.perf_counter()
        with torch.inference_mode():
            _, next_value, _ = net.step(
                net.groups(torch.from_numpy(world.obs).to(device)),
                net.groups(torch.from_numpy(world.self_obs).to(device)),
                net.groups(buf.core),
                net.groups(buf.next_start),
            )
        advantages, returns = compute_advantages(
            buf, net.ungroup(next_value, B), ppo.gamma, ppo.gae_lambda
        )

        # -- minibatch epochs --------------------------------------------------------------
        data = member_batch(net, buf, advantages, returns)
        stats = update(net, opt, data, core0, ppo, lr, ent_coef, shuffler, nan_skips)

        # -- logging -----------------------------------------------------------------------
        update_s = time.perf_counter() - t_update
        elapsed = time.perf_counter() - t0
        steps_per_update = T * B
        hearts = world.counters[:, :, hearts_col].sum(axis=0) - hearts_before  # [N]
        row = {
            "update": update_no,
            "env_steps": update_no * steps_per_update,
            "agent_steps": update_no * steps_per_update * N,
            "hearts_per_agent_episode": float(hearts.sum()) / (N * episodes_per_update),
            "hearts_per_episode_by_slot": (hearts / episodes_per_update).tolist(),
            "learned_reward_per_agent_step": float(buf.rewards.mean()),
            "agent_steps_per_s": update_no * steps_per_update * N / elapsed,
            "nan_skips": int(nan_skips.sum()),
            "lr": float(lr.mean()),
            "world_s": world_s,  # stepping the world during the rollout
            "rollout_s": rollout_s,  # the whole rollout (world + policy + copies)
            "update_s": update_s,  # GAE and the minibatch epochs
            **stats,
        }
        curve.append(row)
        if callback is not None:
            callback(row)

    steps_per_env = ppo.num_updates * T
    counters = world.counters.sum(axis=0).astype(np.int64)
    return TrainResult(
        counters=counters,
        energy_given=world.state.energy_given.sum(axis=0).astype(np.int64),
        diamonds_given=world.state.diamonds_given.sum(axis=0).astype(np.int64),
        hearts_per_episode=counters[:, hearts_col] / (B * steps_per_env / world_cfg.max_steps),
        nan_skips=nan_skips.cpu().numpy(),
        bonds=np.concatenate(bonds) if bonds else np.zeros((0, 5), np.int32),
        curve=curve,
        states=[net.state_dict(g) for g in range(G)],
        agent_steps=steps_per_env * B * N,
        seconds=time.perf_counter() - t0,
    )
