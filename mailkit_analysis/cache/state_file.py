"""The request state on disk: ``requests.parquet``, plus the updates of a fetch in progress.

``requests.parquet`` holds one row per followed request. Rewriting it whole for every write
batch would cost as much as the state is large (a big account follows hundreds of
thousands of requests), so a batch commits only the rows it changed, as a small file
``requests.updates/update-<unique>.parquet``, in the same journalled change as its result
parts (:mod:`.journal`). At the end of the run (and by ``cache compact``, ``prune`` and
``forget``) the updates are folded into ``requests.parquet`` in one change.

The state is the base file with every update applied in name (time) order, the last row of
a request winning. :func:`read_state` is what every toolkit reader uses; a reader of
``requests.parquet`` alone sees the state as of the last completed fetch run.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pandas as pd

from ..paths import CachePaths
from ..atomic import write_parquet_synced
from .journal import Transaction
from .schema import REQUESTS_SCHEMA
from .tables import read_small_table, small_table

__all__ = ["UPDATES_DIR", "update_files", "read_state", "stage_update", "stage_fold", "signature"]

UPDATES_DIR = "requests.updates"


def update_files(paths: CachePaths) -> list[Path]:
    """The committed updates not folded yet, oldest first."""
    folder = paths.root / UPDATES_DIR
    return sorted(folder.glob("update-*.parquet")) if folder.is_dir() else []


def signature(paths: CachePaths) -> tuple:
    """Changes whenever the state on disk does (files are replaced, never changed in place)."""
    try:
        stat = paths.requests.stat()
        base = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        base = None
    return (base, tuple(p.name for p in update_files(paths)))


def read_state(paths: CachePaths, *, quarantine: Path | None = None) -> pd.DataFrame | None:
    """The request state (base and updates), or None when there is none.

    Parameters
    ----------
    quarantine : Path, optional
        Move an unusable file here (only while holding the cache lock).
    """
    base = read_small_table(paths.requests, REQUESTS_SCHEMA, quarantine=quarantine)
    updates = [u for u in (read_small_table(p, REQUESTS_SCHEMA, quarantine=quarantine) for p in update_files(paths))
               if u is not None]
    if not updates:
        return base
    frames = ([base] if base is not None else []) + updates
    combined = pd.concat(frames, ignore_index=True)
    return combined.drop_duplicates("request_id", keep="last").reset_index(drop=True)


def stage_update(tx: Transaction, paths: CachePaths, rows: pd.DataFrame) -> None:
    """Add the changed rows of the state to ``tx`` as one update file."""
    table = small_table(rows, REQUESTS_SCHEMA)
    target = paths.root / UPDATES_DIR / f"update-{time.time_ns():x}-{uuid.uuid4().hex[:8]}.parquet"
    tx.stage(target, lambda staged: write_parquet_synced(table, staged))


def stage_fold(tx: Transaction, paths: CachePaths, state: pd.DataFrame) -> None:
    """Replace ``requests.parquet`` with ``state`` and drop the updates, when ``tx`` commits."""
    table = small_table(state, REQUESTS_SCHEMA)
    tx.stage(paths.requests, lambda staged: write_parquet_synced(table, staged))
    for path in update_files(paths):
        tx.remove(path)
