import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")

ROOT = Path(__file__).resolve().parent.parent
KEEP = "from kinevo.allocator import keep_freed_memory\nassert keep_freed_memory()"

# Minor page faults of ten 64-MB blocks allocated, written and freed one after another, after
# `setup` ran. glibc's default maps each such block anew (it is above the largest adaptive
# mmap threshold, 32 MB), so every one is faulted in again page by page.
FAULTS = """
import ctypes, resource
{setup}
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def block():
    p = libc.malloc(64 << 20)
    ctypes.memset(p, 1, 64 << 20)
    libc.free(p)
block()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    block()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


def faults_after(setup: str, **env: str) -> int:
    code = FAULTS.format(setup=setup)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, **env}, check=True)  # fmt: skip
    return int(out.stdout.split()[-1])


def test_training_keeps_freed_blocks_instead_of_faulting_them_in_again():
    plain = faults_after("")
    kept = faults_after(KEEP)
    trained = faults_after(
        "from evo.ppo import train\n"
        "from tests.test_ppo import EASY, quick\n"
        "train(EASY, quick(), seed=0)"
    )
    assert plain >= 10 * 16  # at least one fault per 4 MB even with 2-MB huge pages
    assert kept * 10 < plain
    assert trained * 10 < plain


def test_a_dask_worker_environment_is_overridden():
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (which also fixes the
    mmap threshold at 128 kB); the thresholds set at run time replace it."""
    dask_worker = {"MALLOC_TRIM_THRESHOLD_": "65536"}
    plain = faults_after("", **dask_worker)
    kept = faults_after(KEEP, **dask_worker)
    assert plain >= 10 * 16
    assert kept * 10 < plain
