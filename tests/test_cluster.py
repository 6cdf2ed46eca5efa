"""The local cluster's workers run without Dask's MALLOC_TRIM_THRESHOLD_ (evo.cluster), which
halves PyTorch's speed in a worker; a worker the nanny restarts keeps that environment."""

import os

from evo.cluster import UNSET_IN_WORKERS, _worker_environment, local_cluster, slow_worker_warning


def test_local_workers_and_restarted_workers_run_without_dasks_malloc_setting():
    from distributed import Client

    with local_cluster(1, dashboard_address=None) as cluster, Client(cluster) as client:
        (first,) = client.run(_worker_environment, UNSET_IN_WORKERS).values()
        client.restart()
        (restarted,) = client.run(_worker_environment, UNSET_IN_WORKERS).values()
        warning = slow_worker_warning(client)
    assert first == restarted == {}, (first, restarted)  # none of them set
    assert warning is None
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ  # nor written into this process's
