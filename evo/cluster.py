"""The local Dask cluster that `evo.run`, `evo.sweep` and the benchmarks start: worker
processes whose environment keeps PyTorch fast.

Dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_=65536`` (its config
``distributed.nanny.pre-spawn-environ``), so that workers hand freed memory back to the
operating system. Setting that variable switches off glibc's adaptive mmap threshold: every
allocation above 128 kB, which is most tensors a PPO update makes, is then mapped and unmapped
anew, and a trial runs about 2x slower (the main job's trials: 2.4 s against 4.0 s,
`python -m evo.bench_dask`). `local_cluster` leaves the variable unset, as a plain Python
process has it. Workers of an external cluster get the same from a Dask config file (README,
"Evolution"); `slow_worker_warning` names those that do not.

Dask also keeps, for debugging Dask itself, the last `distributed.admin.low-level-log-length`
(1,000) messages sent on every stream (client to scheduler, scheduler to each worker), and as
many scheduler transitions and events. Here those messages are whole generations of trial
arguments, so over a long run they kept hundreds of MB alive in the client's process (the
scheduler of a local cluster lives there too). `local_cluster` and `connect` start the
scheduler, the workers and the client with those logs off (`QUIET_LOGS`).
"""

from __future__ import annotations

import os

# Dask's worker environment entries that slow PyTorch down; unset in kinevo's workers
UNSET_IN_WORKERS = ("MALLOC_TRIM_THRESHOLD_",)
# Dask's developer logs of recent messages, transitions and events: kept empty
QUIET_LOGS = {"distributed.admin.low-level-log-length": 0}


def local_cluster(workers: int, threads: int = 1, dask_worker_env: bool = False, **kwargs):
    """A `distributed.LocalCluster` of `workers` processes with `threads` threads each;
    `kwargs` go to LocalCluster. `dask_worker_env`: keep Dask's own worker environment (for
    the benchmark that compares the two)."""
    import dask
    import distributed

    unset = (
        {}
        if dask_worker_env
        else {f"distributed.nanny.pre-spawn-environ.{name}": None for name in UNSET_IN_WORKERS}
    )
    # the nanny reads these when it starts (and restarts) a worker; the in-process scheduler
    # when it opens a stream
    with dask.config.set({**unset, **QUIET_LOGS}):
        return distributed.LocalCluster(
            n_workers=workers, threads_per_worker=threads, processes=True, **kwargs
        )


def connect(target, **kwargs):
    """A `distributed.Client` of `target` (a cluster or a scheduler's address) that keeps no
    log of the messages it sends (`QUIET_LOGS`); `kwargs` go to Client."""
    import dask
    import distributed

    with dask.config.set(QUIET_LOGS):
        return distributed.Client(target, **kwargs)


def _worker_environment(names: tuple[str, ...]) -> dict[str, str]:
    return {name: os.environ[name] for name in names if name in os.environ}


def slow_worker_warning(client) -> str | None:
    """One line naming the workers of `client`'s cluster that run with a variable of
    `UNSET_IN_WORKERS` set, and how to start them without it; None when none do."""
    found = client.run(_worker_environment, UNSET_IN_WORKERS)
    slow = sorted(address for address, env in found.items() if env)
    if not slow:
        return None
    names = sorted({name for address in slow for name in found[address]})
    return (
        f"warning: {len(slow)} of {len(found)} Dask workers run with {', '.join(names)} set "
        f"(e.g. {slow[0]}), which makes PyTorch about 2x slower there; start them with "
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null in a Dask config "
        "file (README, Evolution)"
    )
