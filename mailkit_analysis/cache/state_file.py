"""The request state on disk: ``requests.parquet`` plus the update parts written since.

``requests.parquet`` holds one row per followed request. Rewriting it whole for every write
would cost as much as the state is large (a big account follows millions of requests), so
a write commits only the rows it changed, as an update part
``requests.updates/update-<unique>.parquet``, in the same journalled change as its result
parts (:mod:`.journal`). Updates are folded into ``requests.parquet`` by compaction (see
:mod:`.keyed` for when), and by ``cache compact``, ``prune`` and ``forget``.

The state is the base file with every update applied in name (time) order, the last row of
a request winning. :func:`read_state` is what every toolkit reader uses; a reader of
``requests.parquet`` alone sees the state as of the last fold.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..paths import CachePaths
from .journal import Transaction
from .keyed import requests_table

__all__ = ["UPDATES_DIR", "update_files", "read_state", "stage_update", "stage_fold", "signature", "last_fetched_at"]

UPDATES_DIR = "requests.updates"


def update_files(paths: CachePaths) -> list[Path]:
    """The committed updates not folded yet, oldest first."""
    return requests_table(paths).update_files()


def signature(paths: CachePaths) -> tuple:
    """Changes whenever the state on disk does (files are replaced, never changed in place)."""
    return requests_table(paths).signature()


def read_state(paths: CachePaths, *, quarantine: Path | None = None, request_ids=None,
               columns: list[str] | None = None) -> pd.DataFrame | None:
    """The request state (base and updates), or None when there is none.

    Parameters
    ----------
    quarantine : Path, optional
        Move an unusable file here (only while holding the cache lock).
    request_ids : array-like of int, optional
        Only these requests' rows (read without loading the rest of the state).
    columns : list of str, optional
        Only these columns (``request_id`` is always read).
    """
    return requests_table(paths).read(request_ids, columns=columns, quarantine=quarantine)


def last_fetched_at(paths: CachePaths) -> pd.Timestamp | None:
    """The latest successful fetch of any request (UTC), from every part of the state.

    Reads one column. A request's ``last_fetched_at`` only moves forward, so the largest
    value of any row, also of a row a later update replaced, is the latest of the state.
    """
    table = requests_table(paths).read_arrow(columns=["last_fetched_at"])
    if table is None or not table.num_rows:
        return None
    import pyarrow.compute as pc

    latest = pc.max(table.column("last_fetched_at")).as_py()
    return None if latest is None else pd.Timestamp(latest).tz_convert("UTC")


def stage_update(tx: Transaction, paths: CachePaths, rows: pd.DataFrame) -> None:
    """Add the changed rows of the state to ``tx`` as one update part."""
    requests_table(paths).stage_update(tx, rows)


def stage_fold(tx: Transaction, paths: CachePaths, state: pd.DataFrame) -> None:
    """Replace ``requests.parquet`` with the whole ``state`` and drop the updates, when ``tx`` commits."""
    requests_table(paths).stage_fold(tx, state)
