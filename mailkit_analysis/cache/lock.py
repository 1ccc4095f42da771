"""The cache lock: one writer at a time, readers that never see half a change.

Every toolkit command that writes holds the lock for each change it makes, and every
toolkit reader holds it while it lists and reads files, so the toolkit's own readers are
exact at every moment. The first holder in a process also finishes (or undoes) whatever a
killed process left half done (:func:`mailkit_analysis.cache.journal.recover`), so the next
command after a ``SIGKILL`` finds the cache as the last complete change left it.

One lock object per cache and process, shared by every caller: ``filelock`` locks are
re-entrant per object, so a writer that holds the lock can call readers that take it again.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from filelock import FileLock

from ..paths import CachePaths

__all__ = ["LOCK_TIMEOUT", "CacheLock", "cache_lock", "locked", "reading"]

LOCK_TIMEOUT = 600.0  # seconds to wait for another process's write batch

_LOCKS: dict[str, FileLock] = {}
_GUARD = threading.Lock()


def cache_lock(paths: CachePaths, timeout: float = LOCK_TIMEOUT) -> FileLock:
    """The process-wide lock object of the cache at ``paths`` (created on first use)."""
    key = str(paths.lock)
    with _GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = FileLock(key, timeout=timeout)
        return lock


class CacheLock:
    """``with CacheLock(paths):`` holds the lock (creating the cache folder), re-usable.

    The outermost holder in a thread first recovers a killed writer's change.
    """

    def __init__(self, paths: CachePaths):
        self.paths = paths

    def __enter__(self) -> "CacheLock":
        from .journal import recover

        self.paths.ensure()
        lock = cache_lock(self.paths)
        outermost = not lock.is_locked
        lock.acquire()
        if outermost:
            try:
                recover(self.paths)
            except BaseException:
                lock.release()
                raise
        return self

    def __exit__(self, *exc) -> None:
        cache_lock(self.paths).release()


def locked(paths: CachePaths) -> CacheLock:
    """The cache lock of ``paths`` as a context manager (see :class:`CacheLock`)."""
    return CacheLock(paths)


@contextmanager
def reading(paths: CachePaths) -> Iterator[None]:
    """Hold the lock for a read, when the cache exists and its folder can be written.

    A missing cache is read as empty without creating anything; a cache on read-only
    storage is read without the lock (nobody can be writing it through this toolkit).
    """
    if not paths.root.is_dir():
        yield
        return
    lock = locked(paths)
    try:
        lock.__enter__()
    except PermissionError:
        yield
        return
    try:
        yield
    finally:
        lock.__exit__(None, None, None)
