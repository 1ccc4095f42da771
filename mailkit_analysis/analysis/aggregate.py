"""The cache-facing names of the summary tables, kept for callers of the earlier API.

Each function is a window over the cache (:class:`~mailkit_analysis.analysis.window.Window`)
and one table of :mod:`.tables`: DuckDB scans only the needed columns of the needed month
files and returns the small table. There is no second implementation here.

==========================================  ==============================================
here                                        the same as
==========================================  ==============================================
:func:`counts_over_time_from_cache`         ``tables.counts_over_time(Window(...), freq, codes)``
:func:`by_campaign_from_cache`              ``tables.by_campaign(Window(...), codes)``
:func:`summary_by_code_from_cache`          ``tables.by_code(Window(...), codes)``
==========================================  ==============================================
"""
from __future__ import annotations

import os
from typing import Iterable

import pandas as pd

from ..prague_time import TimeLike
from . import tables
from .source import DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS
from .window import Window

__all__ = [
    "DUCKDB_THREADS",
    "DUCKDB_MEMORY_LIMIT",
    "counts_over_time_from_cache",
    "by_campaign_from_cache",
    "summary_by_code_from_cache",
]


def counts_over_time_from_cache(
    data_dir: str | os.PathLike | None = None,
    *,
    freq: str = "D",
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaigns: Iterable[int] | None = None,
    codes: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Error rows per period and code, inside the cache (:func:`.tables.counts_over_time`).

    Parameters
    ----------
    data_dir : path, optional
        Data folder (default: :func:`mailkit_analysis.paths.default_data_dir`).
    freq : {"h", "D", "W"} or {"hour", "day", "week"}
        Period length; weeks start on Monday, all periods at Prague local time.
    since, until : str, date or datetime, optional
        Window on ``date`` as in :func:`~mailkit_analysis.cache.load_results`.
    campaigns : iterable of int, optional
        Only these campaigns.
    codes : iterable of int, optional
        Only these codes, each as a column even when it never occurs.
    """
    return tables.counts_over_time(Window(data_dir, since, until, campaigns), freq, codes)


def by_campaign_from_cache(
    data_dir: str | os.PathLike | None = None,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaigns: Iterable[int] | None = None,
    codes: Iterable[int] | None = None,
    rates: bool = True,
) -> pd.DataFrame:
    """Errors and the error rate per campaign, inside the cache (:func:`.tables.by_campaign`).

    Parameters
    ----------
    data_dir, since, until, campaigns, codes
        As in :func:`counts_over_time_from_cache`.
    rates : bool
        Without rates ``recipients`` and ``error_rate`` are ``<NA>``.
    """
    table = tables.by_campaign(Window(data_dir, since, until, campaigns), codes)
    if not rates:
        table["recipients"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["error_rate"] = pd.array([pd.NA] * len(table), dtype="Float64")
    return table


def summary_by_code_from_cache(
    data_dir: str | os.PathLike | None = None,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaigns: Iterable[int] | None = None,
    codes: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Error rows per code, inside the cache (:func:`.tables.by_code`).

    Parameters
    ----------
    data_dir, since, until, campaigns, codes
        As in :func:`counts_over_time_from_cache`.
    """
    return tables.by_code(Window(data_dir, since, until, campaigns), codes)
