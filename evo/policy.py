"""Policy networks, the table that names them, and a batched ensemble of them.

A policy is one agent's network over the uint8 observation planes (channels last, as the
world writes them) plus the own-state vector, with an optional GRU core and actor and critic
heads. `POLICIES` names every network; `make_policy` builds the one a `PPOConfig` names:

- ``strided-v2`` (default): each channel scaled by its own maximum (`world.encoding`), one
  3x3 conv with stride 2, then a dense layer: 38k multiply-adds per sample at the runs'
  channels 8 / hidden 64 (conv-v1 at its first size, 16 / 64: 311k). Trained as the defaults
  say (2 epochs x 8 minibatches, many short rollouts) it ends higher than conv-v1 trained
  4 x 4 in the runs' world and a little lower on the seeing task (README, "Learning"; speed:
  docs/speed.md, "Learner").
- ``strided-v3``: strided-v2 with a per-cell layer first (1x1 conv, `channels` wide), which
  can combine a cell's small-integer channels before anything is mixed across cells; more
  multiply-adds, and the 1x1 layer at full resolution costs more than they suggest.
  Both are written for stacked weights (`batched_step`): grouped convs and a few batched
  matmuls run every individual's own network at once.
- ``conv-v1``: the first network, kept unchanged so old checkpoints load and both can be
  measured side by side: every plane divided by 255, a 3x3 conv at full resolution, a
  strided conv, a dense layer; run over individuals with `torch.func.vmap`.
- ``conv-v1-scaled``: conv-v1 fed the per-channel scaled planes (isolates the encoding).

`Ensemble` holds G networks with their weights in one flat buffer ``flat: float32[G, P]``
(per-name views ``params[name]: [G, ...]``), so the per-individual optimiser
(`GroupAdam`) is a handful of ops over [G, P]. Shared mode is simply G = 1.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from world.config import WorldConfig
from world.encoding import channel_scale


def layer_init(layer: nn.Module, std: float = np.sqrt(2), bias: float = 0.0) -> nn.Module:
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


def _gru(x: torch.Tensor, h: torch.Tensor, gx: torch.Tensor, gh: torch.Tensor) -> torch.Tensor:
    """GRU cell from the input and hidden projections gx, gh: [..., 3 * hidden]."""
    rx, zx, nx = gx.chunk(3, dim=-1)
    rh, zh, nh = gh.chunk(3, dim=-1)
    r = torch.sigmoid(rx + rh)
    z = torch.sigmoid(zx + zh)
    n = torch.tanh(nx + r * nh)
    return (1 - z) * n + z * h


class ConvPolicy(nn.Module):
    """conv-v1. obs_shape: (V, V, C) of the uint8 window; n_self: own-state features;
    scale: float32[C] per-channel factors (None: divide every plane by 255, as first shipped)."""

    def __init__(
        self,
        obs_shape: tuple[int, int, int],
        n_self: int,
        n_actions: int,
        channels: int = 32,
        hidden: int = 128,
        recurrent: bool = False,
        scale: np.ndarray | None = None,
    ):
        super().__init__()
        V, _, C = obs_shape
        self.obs_shape, self.n_self = tuple(obs_shape), n_self
        self.recurrent = recurrent
        self.hidden = hidden
        s = np.full(C, 1 / 255.0, np.float32) if scale is None else np.asarray(scale, np.float32)
        self.register_buffer("scale", torch.from_numpy(s).view(C, 1, 1), persistent=False)
        self.conv1 = layer_init(nn.Conv2d(C, channels, 3, padding=1))
        self.conv2 = layer_init(nn.Conv2d(channels, channels, 3, stride=2))
        side = (V - 3) // 2 + 1
        self.fc = layer_init(nn.Linear(channels * side * side + n_self, hidden))
        if recurrent:
            self.gru_x = layer_init(nn.Linear(hidden, 3 * hidden), std=1.0)
            self.gru_h = layer_init(nn.Linear(hidden, 3 * hidden), std=1.0)
        self.actor = layer_init(nn.Linear(hidden, n_actions), std=0.01)
        self.critic = layer_init(nn.Linear(hidden, 1), std=1.0)

    def torso(self, grid: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        """grid: uint8[M, V, V, C], own: float32[M, S] -> float32[M, hidden]."""
        x = grid.permute(0, 3, 1, 2).float() * self.scale  # a zero-copy channels_last view
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = torch.cat([x.flatten(1), own], dim=1)
        return torch.relu(self.fc(x))

    def gru(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return _gru(x, h, self.gru_x(x), self.gru_h(h))

    def forward(
        self, grid: torch.Tensor, own: torch.Tensor, h: torch.Tensor, start: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step. h: float32[M, hidden] core state (ignored without recurrence), start:
        float32[M], 1 where an episode begins (the core state is zeroed there).
        Returns logits [M, A], value [M], next core state [M, hidden]."""
        x = self.torso(grid, own)
        if self.recurrent:
            h = self.gru(x, h * (1.0 - start).unsqueeze(1))
            x = h
        return self.actor(x), self.critic(x).squeeze(1), h

    def unroll(
        self, grid: torch.Tensor, own: torch.Tensor, h0: torch.Tensor, start: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A sequence: grid [T, M, ...], own [T, M, S], h0 [M, hidden], start [T, M].
        Returns logits [T, M, A] and values [T, M]."""
        T, M = grid.shape[:2]
        if not self.recurrent:
            logits, value, _ = self.forward(
                grid.flatten(0, 1), own.flatten(0, 1), h0, start.flatten()
            )
            return logits.unflatten(0, (T, M)), value.unflatten(0, (T, M))
        x = self.torso(grid.flatten(0, 1), own.flatten(0, 1)).unflatten(0, (T, M))
        h, outs = h0, []
        for t in range(T):
            h = self.gru(x[t], h * (1.0 - start[t]).unsqueeze(1))
            outs.append(h)
        y = torch.stack(outs)
        return self.actor(y), self.critic(y).squeeze(-1)


class Dense(nn.Module):
    """A dense layer stored as weight [in, out] (x @ W + b), so a stack of them over G
    individuals feeds `torch.baddbmm` directly; orthogonal init as `layer_init`."""

    def __init__(self, n_in: int, n_out: int, std: float = np.sqrt(2)):
        super().__init__()
        w = torch.empty(n_out, n_in)
        nn.init.orthogonal_(w, std)
        self.weight = nn.Parameter(w.t().contiguous())
        self.bias = nn.Parameter(torch.zeros(n_out))


def _affine(p: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    """Stacked dense layer `name`: x [G, M, in] -> [G, M, out]."""
    return torch.baddbmm(p[f"{name}.bias"].unsqueeze(1), x, p[f"{name}.weight"])


class StridedPolicy(nn.Module):
    """strided-v2 / -v3: per-channel scaled planes, (v3: a per-cell 1x1 conv, `embed` wide,)
    one strided 3x3 conv, a dense layer, heads.

    `batched_step` / `batched_unroll` run G networks at once with stacked weights: the conv
    as one grouped convolution (group g = individual g), the dense layers as batched
    matmuls (`torch.baddbmm`, weights stored [in, out]); `forward` / `unroll` run this one
    network through the same code (G = 1). The per-channel scale is folded into the first
    conv's weights at use time, which equals scaling the input (same outputs, same gradients)."""

    def __init__(
        self,
        obs_shape: tuple[int, int, int],
        n_self: int,
        n_actions: int,
        channels: int = 16,
        hidden: int = 64,
        recurrent: bool = False,
        scale: np.ndarray | None = None,
        kernel: int = 3,
        stride: int = 2,
        embed: int = 0,
    ):
        super().__init__()
        V, _, C = obs_shape
        self.obs_shape, self.n_self = tuple(obs_shape), n_self
        self.recurrent = recurrent
        self.hidden = hidden
        self.n_actions = n_actions
        self.channels, self.stride, self.embed_dim = channels, stride, embed
        self.side = (V - kernel) // stride + 1
        s = np.full(C, 1 / 255.0, np.float32) if scale is None else np.asarray(scale, np.float32)
        self.register_buffer("scale", torch.from_numpy(s).view(1, C, 1, 1), persistent=False)
        if embed:  # a per-cell layer (1x1 conv) before the stride
            self.embed = layer_init(nn.Conv2d(C, embed, 1))
        self.conv = layer_init(nn.Conv2d(embed or C, channels, kernel, stride=stride))
        self.fc = Dense(self.side * self.side * channels + n_self, hidden)
        if recurrent:
            self.gru_x = Dense(hidden, 3 * hidden, std=1.0)
            self.gru_h = Dense(hidden, 3 * hidden, std=1.0)
        # actor (std 0.01) and critic (std 1) in one layer: logits = y[:A], value = y[A]
        self.head = Dense(hidden, n_actions + 1)
        with torch.no_grad():
            self.head.weight.copy_(
                torch.cat([Dense(hidden, n_actions, 0.01).weight, Dense(hidden, 1, 1.0).weight], 1)
            )

    # -- G networks at once: p[name] is [G, ...], inputs [G, M, ...] --------------------------
    def batched_torso(self, p: dict, grid: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        """grid: uint8[G, M, V, V, C], own: float32[G, M, S] -> float32[G, M, hidden]."""
        G, M, V, _, C = grid.shape
        # [M, V, V, G, C] in memory is a channels_last [M, G*C, V, V] batch for a grouped conv
        x = grid.permute(1, 2, 3, 0, 4).contiguous().float()  # no copy for `ppo.members` views
        x = x.view(M, V, V, G * C).permute(0, 3, 1, 2)
        if self.embed_dim:
            w = (p["embed.weight"] * self.scale).flatten(0, 1)  # [G * embed, C, 1, 1]
            x = torch.relu(torch.conv2d(x, w, p["embed.bias"].flatten(), groups=G))
            w = p["conv.weight"].flatten(0, 1)
        else:
            w = (p["conv.weight"] * self.scale).flatten(0, 1)  # [G * channels, C, k, k]
        x = torch.conv2d(x, w, p["conv.bias"].flatten(), stride=self.stride, groups=G)
        x = torch.relu(x).permute(0, 2, 3, 1)  # [M, side, side, G * channels]
        x = x.reshape(M, self.side * self.side, G, self.channels).permute(2, 0, 1, 3)
        x = torch.cat([x.reshape(G, M, -1), own], dim=2)
        return torch.relu(_affine(p, "fc", x))

    def batched_gru(self, p: dict, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return _gru(x, h, _affine(p, "gru_x", x), _affine(p, "gru_h", h))

    def batched_heads(self, p: dict, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = x.shape
        y = _affine(p, "head", x.flatten(1, -2))
        y = y.view(*shape[:-1], self.n_actions + 1)
        return y[..., : self.n_actions], y[..., self.n_actions]

    def batched_step(self, p, grid, own, h, start):
        """[G, M, ...] inputs -> logits [G, M, A], value [G, M], next core state [G, M, hidden]."""
        x = self.batched_torso(p, grid, own)
        if self.recurrent:
            h = self.batched_gru(p, x, h * (1.0 - start).unsqueeze(-1))
            x = h
        logits, value = self.batched_heads(p, x)
        return logits, value, h

    def batched_unroll(self, p, grid, own, h0, start):
        """[G, T, M, ...] sequences -> logits [G, T, M, A], values [G, T, M]."""
        G, T, M = grid.shape[:3]
        x = self.batched_torso(p, grid.flatten(1, 2), own.flatten(1, 2))
        if self.recurrent:
            x, h, outs = x.view(G, T, M, -1), h0, []
            for t in range(T):
                h = self.batched_gru(p, x[:, t], h * (1.0 - start[:, t]).unsqueeze(-1))
                outs.append(h)
            x = torch.stack(outs, 1)
        else:
            x = x.view(G, T, M, -1)
        return self.batched_heads(p, x)

    # -- this one network -----------------------------------------------------------------
    def _own(self) -> dict[str, torch.Tensor]:
        return {k: v.unsqueeze(0) for k, v in self.named_parameters()}

    def forward(self, grid, own, h, start):
        """One step, as `ConvPolicy.forward`: [M, ...] -> logits [M, A], value [M], h."""
        out = self.batched_step(self._own(), grid[None], own[None], h[None], start[None])
        return tuple(o[0] for o in out)

    def unroll(self, grid, own, h0, start):
        """As `ConvPolicy.unroll`: [T, M, ...] -> logits [T, M, A], values [T, M]."""
        out = self.batched_unroll(self._own(), grid[None], own[None], h0[None], start[None])
        return tuple(o[0] for o in out)


# name -> builder(obs_shape, n_self, n_actions, channels, hidden, recurrent, scale)
POLICIES: dict[str, Callable[..., nn.Module]] = {
    "strided-v2": lambda *a, scale: StridedPolicy(*a, scale=scale),
    "strided-v3": lambda *a, scale: StridedPolicy(*a, scale=scale, embed=a[3]),
    "conv-v1": lambda *a, scale: ConvPolicy(*a, scale=None),
    "conv-v1-scaled": lambda *a, scale: ConvPolicy(*a, scale=scale),
}
DEFAULT_POLICY = "strided-v2"


def check_policy_name(name: str) -> str:
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}")
    return name


def make_policy(world_cfg: WorldConfig, ppo) -> nn.Module:
    """The network `ppo.policy` names, sized for `world_cfg`'s observations and actions."""
    V = 2 * world_cfg.vision_radius + 1
    build = POLICIES[check_policy_name(ppo.policy)]
    return build(
        (V, V, len(world_cfg.obs_channels)),
        len(world_cfg.self_features),
        world_cfg.n_actions,
        ppo.channels,
        ppo.hidden,
        ppo.recurrent,
        scale=channel_scale(world_cfg),
    )


def count_macs(model: nn.Module) -> int:
    """Multiply-adds per sample of one forward step (dense and conv layers)."""
    if isinstance(model, StridedPolicy):
        macs = model.side * model.side * model.conv.weight.numel()
        if model.embed_dim:
            V = model.obs_shape[0]
            macs += V * V * model.embed.weight.numel()
        macs += model.fc.weight.numel() + model.head.weight.numel()
        if model.recurrent:
            macs += model.gru_x.weight.numel() + model.gru_h.weight.numel()
        return macs
    macs = 0

    def count(m, inp, out):
        nonlocal macs
        per_out = m.weight[0].numel()  # inputs feeding one output value
        macs += out[0].numel() * per_out

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    V, _, C = model.obs_shape
    with torch.no_grad():
        model(
            torch.zeros(1, V, V, C, dtype=torch.uint8),
            torch.zeros(1, model.n_self),
            torch.zeros(1, model.hidden),
            torch.zeros(1),
        )
    for h in hooks:
        h.remove()
    return macs


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log_softmax over the last axis. On the CPU torch's own kernel is slow over a short
    last axis (the 15 actions: 120 us for [4, 128, 15], 210 us with its backward), and these
    four ops, the same numbers to rounding, take a third of that."""
    if logits.device.type != "cpu":
        return torch.log_softmax(logits, -1)
    shifted = logits - logits.detach().amax(-1, keepdim=True)
    return shifted - shifted.exp().sum(-1, keepdim=True).log()


def sample_action(logits: torch.Tensor, sampler: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Sample from softmax(logits) by the Gumbel-max trick -> (action, its log-probability)."""
    logp = log_softmax(logits)
    u = torch.rand(logp.shape, generator=sampler, device=logp.device)
    action = (logp - torch.log(-torch.log(u))).argmax(-1)
    return action, logp.gather(-1, action.unsqueeze(-1)).squeeze(-1)


class Ensemble:
    """G policies of one kind, run as one. Weights live in ``flat: float32[G, P]``;
    ``params[name]`` are [G, ...] views of it (leaves that take gradients), so an optimiser
    can update ``flat`` in place and every view follows."""

    def __init__(self, models: list[nn.Module], device: torch.device):
        self.size = len(models)
        self.recurrent = models[0].recurrent
        self.hidden = models[0].hidden
        stacked, buffers = stack_module_state([m.to("cpu") for m in models])
        self.names = list(stacked)
        self.shapes = [tuple(v.shape[1:]) for v in stacked.values()]
        self.flat = torch.cat([v.detach().flatten(1) for v in stacked.values()], 1).to(device)
        self.params: dict[str, torch.Tensor] = {}
        offset = 0
        for name, shape in zip(self.names, self.shapes, strict=True):
            n = math.prod(shape)
            view = self.flat[:, offset : offset + n].view(self.size, *shape)
            self.params[name] = view.requires_grad_(True)
            offset += n
        self.model = copy.deepcopy(models[0]).to(device)
        if hasattr(self.model, "batched_step"):  # written for stacked weights
            self._step = self.model.batched_step
            self._unroll = self.model.batched_unroll
            return
        self.buffers = {k: v.to(device) for k, v in buffers.items()}
        base = copy.deepcopy(models[0]).to("meta")
        unroller = _Unroll(base)

        def step(p, b, grid, own, h, start):
            return functional_call(base, (p, b), (grid, own, h, start))

        def unroll(p, b, grid, own, h0, start):
            return functional_call(
                unroller,
                ({f"m.{k}": v for k, v in p.items()}, {f"m.{k}": v for k, v in b.items()}),
                (grid, own, h0, start),
            )

        vstep, vunroll = vmap(step), vmap(unroll)
        self._step = lambda p, *x: vstep(p, self.buffers, *x)
        self._unroll = lambda p, *x: vunroll(p, self.buffers, *x)

    @property
    def n_params(self) -> int:
        """Parameters of one member."""
        return self.flat.shape[1]

    def groups(self, x: torch.Tensor, lead: int = 0) -> torch.Tensor:
        """World layout to member layout: [lead..., B, N, ...] -> [G, lead..., M, ...], with
        M = B (one member per agent slot) or M = B * N (one shared member)."""
        if self.size == 1:
            return x.flatten(lead, lead + 1).unsqueeze(0)
        return x.movedim(lead + 1, 0)

    def ungroup(self, x: torch.Tensor, n_envs: int) -> torch.Tensor:
        """Member layout back to world layout: [G, M, ...] -> [B, N, ...]."""
        if self.size == 1:
            return x.squeeze(0).unflatten(0, (n_envs, -1))
        return x.movedim(0, 1)

    def step(self, grid, own, h, start):
        """Inputs with a leading group axis [G, M, ...] -> logits [G, M, A], value [G, M], h."""
        return self._step(self.params, grid, own, h, start)

    def unroll(self, grid, own, h0, start):
        """[G, T, M, ...] sequences -> logits [G, T, M, A], values [G, T, M]."""
        return self._unroll(self.params, grid, own, h0, start)

    def state_dict(self, g: int) -> dict[str, torch.Tensor]:
        """Plain state dict of member g (CPU tensors)."""
        return {k: v[g].detach().cpu().clone() for k, v in self.params.items()}

    def load_member(self, g: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for k, v in self.params.items():
                v[g].copy_(state[k])


class _Unroll(nn.Module):
    """Makes `Policy.unroll` callable through `functional_call`."""

    def __init__(self, m: nn.Module):
        super().__init__()
        self.m = m

    def forward(self, grid, own, h0, start):
        return self.m.unroll(grid, own, h0, start)


class GroupAdam:
    """Adam for G individuals at once over a flat parameter buffer ``flat: [G, P]``.

    Each row has its own learning rate and step count, and a row whose update is skipped
    (``ok[g]`` False, the NaN guard) keeps its parameters, moments and step count. The math
    is `torch.optim.Adam`'s (lerp for the first moment, bias-corrected denominator)."""

    def __init__(self, flat: torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-5):
        self.flat = flat
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = torch.zeros_like(flat)
        self.v = torch.zeros_like(flat)
        self.t = torch.zeros(flat.shape[0], 1, dtype=torch.float64, device=flat.device)
        # Whether a step may read `ok` on the host to take the in-place path when every row is
        # fine: free on the CPU, but on a GPU a stall every minibatch, so there every step
        # takes the masked path (same numbers).
        self.read_ok = flat.device.type == "cpu"

    @torch.no_grad()
    def step(self, grad: torch.Tensor, lr: torch.Tensor, ok: torch.Tensor | None = None) -> None:
        """grad: [G, P]; lr: [G] step sizes; ok: bool[G] rows to update (default all)."""
        b1, b2 = self.beta1, self.beta2
        if ok is None or (self.read_ok and bool(ok.all())):
            keep = None
            self.t += 1
        else:
            keep = ok.view(-1, 1)
            self.t += keep
            grad = torch.where(keep, grad, torch.zeros_like(grad))
        t = self.t.clamp(min=1)
        step_size = (lr.view(-1, 1).double() / (1 - b1**t)).float()
        bc2_sqrt = torch.sqrt(1 - b2**t).float()
        if keep is None:  # in place, one [G, P] temporary
            self.m.lerp_(grad, 1 - b1)
            self.v.mul_(b2).add_(torch.mul(grad, 1 - b2).mul_(grad))
            update = self.v.sqrt().div_(bc2_sqrt).add_(self.eps)
            torch.div(self.m, update, out=update)
            self.flat.sub_(update.mul_(step_size))
            return
        m = torch.lerp(self.m, grad, 1 - b1)
        v = self.v * b2 + (1 - b2) * grad * grad
        update = m / (v.sqrt() / bc2_sqrt + self.eps) * step_size
        self.m.copy_(torch.where(keep, m, self.m))
        self.v.copy_(torch.where(keep, v, self.v))
        self.flat.sub_(torch.where(keep, update, torch.zeros_like(update)))
