"""The local Dask cluster that `evo.run`, `evo.sweep` and the benchmarks start, and the
client they connect with.

Dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_=65536``, which made
PyTorch about 2x slower there (every tensor above 128 kB mapped and faulted in anew); a trial
now sets glibc's thresholds itself (`kinevo.allocator`, called by `evo.ppo.train`), so any
worker, local or external, runs as fast as a plain process.

Dask keeps, for debugging Dask itself, the last `distributed.admin.low-level-log-length`
(1,000) messages sent on every stream (client to scheduler, scheduler to each worker), and as
many scheduler transitions and events. Here those messages are whole generations of trial
arguments, so over a long run they kept hundreds of MB alive in the client's process (the
scheduler of a local cluster lives there too). `local_cluster` and `connect` start the
scheduler, the workers and the client with those logs off (`QUIET_LOGS`).
"""

from __future__ import annotations

# Dask's developer logs of recent messages, transitions and events: kept empty
QUIET_LOGS = {"distributed.admin.low-level-log-length": 0}


def local_cluster(workers: int, threads: int = 1, **kwargs):
    """A `distributed.LocalCluster` of `workers` processes with `threads` threads each;
    `kwargs` go to LocalCluster."""
    import dask
    import distributed

    # the in-process scheduler reads this when it opens a stream to a worker
    with dask.config.set(QUIET_LOGS):
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
