"""Fault injection for the reliability tests: inert unless an environment variable asks.

Every file a run writes or deletes (each Zarr key of the archive, each weights, checkpoint or
snapshot file, each pruned file) goes through `before_write(label)`, so a test can make the
k-th write of a process fail:

    KINEVO_FAULT_WRITE="7:kill"     SIGKILL this process just before its 7th write
    KINEVO_FAULT_WRITE="7:enospc"   the 7th and every later write fails: disk full
    KINEVO_FAULT_WRITE="7:eacces"   the 7th and every later write fails: permission denied
    KINEVO_WRITE_LOG=PATH           append each write's label to PATH (to count them)
    KINEVO_FAULT_PID=PID            only process PID faults (evo.run sets it to its own pid,
                                    so Dask workers, which write the trials' weights files and
                                    inherit the environment, log their writes as "worker ..."
                                    but are never killed or failed by the hook)

and training can be poisoned or its process killed:

    KINEVO_FAULT_NAN_UPDATE=3       a NaN reward enters the 3rd rollout of every training
    KINEVO_FAULT_KILL_WORKER=F:3    the first 3 trainings to reach their 2nd update SIGKILL
                                    their process (a Dask worker dies mid-trial); file F
                                    counts the deaths across processes

Files land atomically (written beside their target, then renamed over it): Zarr's LocalStore
does this itself, `atomic_save`, `atomic_save_arrays` and `atomic_write_text` do it for ours,
so a kill leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import numpy as np
import torch

WRITE_FAULT = "KINEVO_FAULT_WRITE"
WRITE_LOG = "KINEVO_WRITE_LOG"
NAN_UPDATE = "KINEVO_FAULT_NAN_UPDATE"
KILL_WORKER = "KINEVO_FAULT_KILL_WORKER"
FAULT_PID = "KINEVO_FAULT_PID"
_ERRORS = {"enospc": errno.ENOSPC, "eacces": errno.EACCES}

_writes = 0  # writes of this process so far


def before_write(label: str) -> None:
    """Count one file write; kill or fail here if KINEVO_FAULT_WRITE says so."""
    global _writes
    _writes += 1
    owner = os.environ.get(FAULT_PID)
    worker = owner is not None and owner != str(os.getpid())
    log = os.environ.get(WRITE_LOG)
    if log:
        with open(log, "a") as f:
            f.write(f"{_writes}\t{'worker ' if worker else ''}{label}\n")
    fault = os.environ.get(WRITE_FAULT)
    if not fault or worker:
        return
    at, _, kind = fault.partition(":")
    if _writes == int(at) and kind == "kill":
        # a process that leads its group (a test starts it so) takes its Dask workers along,
        # as a machine that loses power would
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
    if _writes >= int(at) and kind in _ERRORS:
        raise OSError(_ERRORS[kind], os.strerror(_ERRORS[kind]), label)


def kill_mid_training(update_no: int) -> None:
    """Die here (SIGKILL) if KINEVO_FAULT_KILL_WORKER still asks for deaths at this update."""
    spec = os.environ.get(KILL_WORKER)
    if not spec or update_no != 2:
        return
    import fcntl

    path, _, wanted = spec.rpartition(":")
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # workers race for the count
        f.seek(0)
        if len(f.read().splitlines()) >= int(wanted):
            return
        f.write(f"{os.getpid()}\n")
        f.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def poison_update(update_no: int) -> bool:
    """Should this training update's rollout get a NaN reward (KINEVO_FAULT_NAN_UPDATE)?"""
    return os.environ.get(NAN_UPDATE) == str(update_no)


def _counting_store(store):
    """`store` wrapped so that its every write and delete passes `before_write` first. Built
    here, not at import, so that the trainer, which imports this module for its hooks, does
    not import Zarr."""
    from zarr.storage import WrapperStore

    class CountingStore(WrapperStore):
        async def set(self, key, value) -> None:
            before_write(f"zarr:{key}")
            await self._store.set(key, value)

        async def set_if_not_exists(self, key, value) -> None:
            before_write(f"zarr:{key}")
            await self._store.set_if_not_exists(key, value)

        async def delete(self, key) -> None:
            before_write(f"zarr-delete:{key}")
            await self._store.delete(key)

    return CountingStore(store)


def is_url(location: str | Path) -> bool:
    """An fsspec URL (`s3://bucket/run.zarr`, `memory://run.zarr`), not a local path."""
    return isinstance(location, str) and "://" in location


def zarr_store(location: str | Path, read_only: bool = False):
    """The store for a Zarr archive: a LocalStore for a folder, Zarr's FsspecStore for an
    fsspec URL (the protocol's package must be installed, e.g. s3fs for s3://); counted when
    a hook is set."""
    from zarr.storage import FsspecStore, LocalStore

    if is_url(location):
        store = FsspecStore.from_url(location, read_only=read_only)
    else:
        store = LocalStore(Path(location), read_only=read_only)
    if read_only or not (os.environ.get(WRITE_FAULT) or os.environ.get(WRITE_LOG)):
        return store
    return _counting_store(store)


def _replace(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    before_write(f"file:{path.name}")
    tmp = path.with_name(f".{path.name}.partial")
    write(tmp)
    os.replace(tmp, path)


def atomic_save(obj, path: str | Path) -> None:
    """torch.save to `path`, all or nothing."""
    _replace(path, lambda tmp: torch.save(obj, tmp))


def atomic_save_arrays(path: str | Path, **arrays) -> None:
    """numpy.savez to `path` (no pickled objects: read it with allow_pickle=False), all or
    nothing."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: savez would add ".npz" to a name
            np.savez(f, **arrays)

    _replace(path, write)


def atomic_write_text(path: str | Path, text: str) -> None:
    _replace(path, lambda tmp: tmp.write_text(text))


def remove(path: str | Path) -> None:
    """Delete a file of the run (counted as a write; a missing file is no error)."""
    path = Path(path)
    before_write(f"delete:{path.name}")
    path.unlink(missing_ok=True)
