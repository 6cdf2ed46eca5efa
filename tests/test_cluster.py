"""Neither the client nor the local scheduler keeps the tasks' arguments in Dask's message
logs (evo.cluster), a worker the nanny restarts included."""

import gc
import time
import weakref

import numpy as np

from evo.cluster import connect, local_cluster


def _freed(refs: list[weakref.ref], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        gc.collect()
        if all(r() is None for r in refs):
            return True
        time.sleep(0.05)
    return False


def test_tasks_arguments_are_freed_once_their_results_are_released():
    """Dask's default keeps the last 1,000 messages of the client's stream, each generation's
    trial arguments among them: a long run's client grew by hundreds of MB."""
    with local_cluster(1, dashboard_address=None) as cluster, connect(cluster) as client:
        args = [np.full(1000, k, np.int64) for k in range(5)]
        refs = [weakref.ref(a) for a in args]
        futures = client.map(np.sum, args, pure=False)
        assert client.gather(futures) == [1000 * k for k in range(5)]
        del futures, args
        freed = _freed(refs)
        scheduler_logs = [cluster.scheduler.transition_log.maxlen]
    assert freed, "the client still holds the tasks' arguments"
    assert scheduler_logs == [0]


def test_evo_runs_cluster_keeps_no_message_log_even_for_a_restarted_worker():
    import dask

    from evo.run import _close, _connect

    # Dask's default around it, restored afterwards: `_connect` sets the command's process
    with dask.config.set({"distributed.admin.low-level-log-length": 1000}):
        client, cluster = _connect(None, 1)
        try:
            client.restart()  # the nanny starts a new worker, which opens a new stream
            streams = list(cluster.scheduler.stream_comms.values())
            lengths = [stream.recent_message_log.maxlen for stream in streams]
            lengths.append(client.scheduler_comm.recent_message_log.maxlen)
        finally:
            _close(client, cluster)
    assert lengths == [0, 0]
