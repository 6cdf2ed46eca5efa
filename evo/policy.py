"""The policy network and a batched ensemble of them.

`Policy` is one agent's network: a small conv net over the uint8 observation planes
(channels last, as the world writes them) plus the own-state vector, an optional GRU core,
and actor and critic heads. `Ensemble` holds G such networks with their weights stacked on a
leading axis and runs them together with `torch.func.vmap` + `functional_call`: one call,
no Python loop over individuals. Shared mode is simply G = 1.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


def layer_init(layer: nn.Module, std: float = np.sqrt(2), bias: float = 0.0) -> nn.Module:
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


class Policy(nn.Module):
    """obs_shape: (V, V, C) of the uint8 window; n_self: own-state features."""

    def __init__(
        self,
        obs_shape: tuple[int, int, int],
        n_self: int,
        n_actions: int,
        channels: int = 32,
        hidden: int = 128,
        recurrent: bool = False,
    ):
        super().__init__()
        V, _, C = obs_shape
        self.recurrent = recurrent
        self.hidden = hidden
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
        x = grid.permute(0, 3, 1, 2).float() / 255.0  # a zero-copy channels_last view
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = torch.cat([x.flatten(1), own], dim=1)
        return torch.relu(self.fc(x))

    def gru(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        gx, gh = self.gru_x(x), self.gru_h(h)
        rx, zx, nx = gx.chunk(3, dim=1)
        rh, zh, nh = gh.chunk(3, dim=1)
        r = torch.sigmoid(rx + rh)
        z = torch.sigmoid(zx + zh)
        n = torch.tanh(nx + r * nh)
        return (1 - z) * n + z * h

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


class Ensemble:
    """G policies with stacked weights (`params[name]`: [G, ...]), run as one."""

    def __init__(self, models: list[Policy], device: torch.device):
        self.size = len(models)
        params, buffers = stack_module_state([m.to(device) for m in models])
        self.params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        self.buffers = buffers
        self.base = copy.deepcopy(models[0]).to("meta")
        self.recurrent = models[0].recurrent
        self.hidden = models[0].hidden

        unroller = _Unroll(self.base)

        def step(p, b, grid, own, h, start):
            return functional_call(self.base, (p, b), (grid, own, h, start))

        def unroll(p, grid, own, h0, start):
            return functional_call(
                unroller, {f"m.{k}": v for k, v in p.items()}, (grid, own, h0, start)
            )

        self._step = vmap(step)
        self._unroll = vmap(unroll)

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
        return self._step(self.params, self.buffers, grid, own, h, start)

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

    def __init__(self, m: Policy):
        super().__init__()
        self.m = m

    def forward(self, grid, own, h0, start):
        return self.m.unroll(grid, own, h0, start)
