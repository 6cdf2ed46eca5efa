"""Seeding code that only draws from torch's global generator (network initialisation,
EvoTorch's functional operators), safely when several runs or trials share one process.

`fork_rng` restores the global state afterwards, but between seeding and drawing another
thread could reseed or draw; one process-wide lock makes each seeded block atomic, so a run
in a thread (evo.sweep, a threaded Dask worker) draws exactly what it draws alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_GLOBAL_TORCH_RNG = threading.RLock()


@contextmanager
def global_torch_seed(seed: int) -> Iterator[None]:
    """Inside the block torch's global CPU generator is seeded with `seed` and no other
    thread of this process draws from it; afterwards it is back as it was."""
    with _GLOBAL_TORCH_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
