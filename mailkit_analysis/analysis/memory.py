"""Giving freed memory back to the operating system between the big steps of a question.

The C library's allocator keeps memory a process freed for its next allocations. After the
incidents' inputs are built, the temporaries of that step (DuckDB's answers as arrow, the
conversions to pandas) are free but still counted in the process's resident memory, and the
rules that follow allocate beside them, so the peak is both added up. ``malloc_trim``
returns the free pages (Dask's workers do the same for the same reason). Where the C
library is not glibc the call is skipped: nothing is wrong there, only less is returned.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

__all__ = ["give_back_freed_memory"]

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _trim():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:
        trim = None
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim


def give_back_freed_memory() -> bool:
    """Return the memory the process has freed to the operating system, where the C library
    allows it (glibc's ``malloc_trim``).

    Returns
    -------
    bool
        Whether the C library offered the call.
    """
    trim = _trim()
    if trim is None:
        log.debug("malloc_trim is not available: freed memory stays with the process")
        return False
    trim(0)
    return True
