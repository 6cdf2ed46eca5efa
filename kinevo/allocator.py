"""glibc's malloc told to keep what a trainer frees, instead of handing it back to the OS.

By default glibc returns a freed block to the OS when it was mapped on its own (blocks above
an adaptive threshold, 128 kB to 32 MB) or when it leaves enough free memory at the top of the
heap; Dask's nanny lowers that second threshold to 64 kB for its workers
(``distributed.nanny.pre-spawn-environ``). A training step frees and allocates the same
multi-megabyte temporaries (float planes, activations, gradients) minibatch after minibatch,
and each one given back is faulted in again, page by page and zeroed, on the next
allocation. Measured (docs/speed.md, "The allocator"): conv-v1 in the large setting spent
4.3 M minor page faults and 10 s of system time in 3 updates and ran 1.4x faster with this;
strided-v2 about 10% faster there, and as fast as before at the runs' setting (whose
temporaries are a few MB).

`keep_freed_memory` raises both thresholds for this process: blocks up to `MMAP_THRESHOLD`
come from the heap, and up to `TRIM_THRESHOLD` of free heap is kept. A process's resident
memory then stays near its peak. It changes no result, only where memory comes from.
"""

from __future__ import annotations

import ctypes
import sys

MMAP_THRESHOLD = 256 << 20  # blocks below this come from the heap, not from mmap
TRIM_THRESHOLD = 512 << 20  # free memory at the heap's top kept before trimming
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Set glibc's thresholds for this process (cheap; safe to call again). Returns whether
    they were set: False on a C library without glibc's `mallopt` (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    set_mmap = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    set_trim = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return set_mmap == 1 and set_trim == 1
