"""Keeping the memory of freed CPU tensors in the process, so that the next step reuses it (glibc only).

PyTorch allocates CPU tensors with the C library's ``malloc``. glibc serves a request above its *mmap threshold*
(at most 32 MiB when it adapts it itself) with a fresh ``mmap`` and gives it back to the system when the tensor is
freed; every training step then asks the kernel again for pages that it must zero on first touch (a page fault per
4 KiB). The activations of a 3D network at 4 mm exceed that threshold as soon as a batch of 8 has 32 channels
(8 x 32 x 43 x 52 x 45 floats = 103 MB: K = 4 packed TinyCNN replicates): measured on 2 cores, 100,000 page faults
per step made the packed step 30-50 % slower than with the memory kept (K separate networks: 19,000 per
step, 5-10 %).

:func:`keep_freed_memory` raises glibc's mmap and trim thresholds (``mallopt``) so that such tensors come from the
heap and their memory stays there for the next step: no page faults after the first step, for the price of keeping
up to ``threshold`` bytes of freed memory in the process (the peak memory itself does not change). It does nothing
where ``mallopt`` is not glibc's, or when the user tuned ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


@functools.cache
def keep_freed_memory(threshold: int = 1 << 30) -> bool:
    """Serve allocations below ``threshold`` bytes from the heap and keep freed memory; True when set.

    Parameters
    ----------
    threshold : int
        The mmap and trim thresholds, in bytes (default 1 GiB).

    Returns
    -------
    bool
        Whether glibc accepted both settings (False elsewhere, or when the user's environment sets them).
    """
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or None).mallopt
    except (AttributeError, OSError):  # not glibc (macOS, musl without mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, threshold))
