"""``load_results``: the results frame from the cache, filters pushed into the parquet read.

Date, campaign, code and request filters become pyarrow dataset expressions, and the date
window also prunes whole ``month=`` partitions, so only the needed files and row groups
are read. Missing campaign ids and names are filled from the enrichment tables.
"""
from __future__ import annotations

import logging
import os
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..frame import (
    RESULT_COLUMNS,
    RESULTS_SCHEMA,
    conform,
    empty_results_frame,
    nullable_types,
    table_to_frame,
)
from ..paths import CachePaths
from ..prague_time import PRAGUE_NAME, TimeLike, window_bounds
from .enrichment import Enrichment, read_campaigns, read_sends
from .schema import PARTITION_COLUMN, REQUESTS_SCHEMA
from .store import UNKNOWN_MONTH, ResultsStore
from .tables import read_small_table

__all__ = ["load_results", "load_requests", "load_sends", "load_campaigns"]

log = logging.getLogger(__name__)

def _months_between(since: pd.Timestamp | None, until: pd.Timestamp | None, present: Iterable[str]) -> list[str]:
    low = since.strftime("%Y-%m") if since is not None else None
    high = (until - pd.Timedelta(microseconds=1)).strftime("%Y-%m") if until is not None else None
    keep = []
    for month in present:
        if month == UNKNOWN_MONTH:
            continue  # rows without a date never fall in a date window
        if (low is None or month >= low) and (high is None or month <= high):
            keep.append(month)
    return keep


def _ints(values) -> pa.Array:
    return pa.array(sorted({int(v) for v in values}), type=pa.int64())


def load_results(
    data_dir: str | os.PathLike | None = None,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaigns: Iterable[int] | None = None,
    codes: Iterable[int] | None = None,
    request_ids: Iterable[int] | None = None,
    columns: list[str] | None = None,
    fill: bool = True,
) -> pd.DataFrame:
    """Read cached results as a results frame.

    Parameters
    ----------
    data_dir : path, optional
        Data folder (default: :func:`mailkit_analysis.paths.default_data_dir`).
    since, until : str, date or datetime, optional
        Window on ``date`` (``since <= date < until``); a bare date ``until`` includes that
        whole day; naive values are Prague time.
    campaigns : iterable of int, optional
        Campaign ids (``ID_MESSAGE``) to keep.
    codes : iterable of int, optional
        Error codes to keep.
    request_ids : iterable of int, optional
        Requests to keep.
    columns : list of str, optional
        Read only these columns (the frame still has every column; unread ones are missing).
    fill : bool
        Fill missing ``campaign_id`` / ``campaign_name`` from the enrichment tables.

    Returns
    -------
    DataFrame
        The results frame, ordered by date and request.
    """
    paths = CachePaths.under(data_dir)
    store = ResultsStore(paths)
    files = store.usable_files()
    for problem in store.problems:
        log.warning("skipping %s: %s (the next fetch re-fetches what it held)", problem.path, problem.reason)
    since_ts, until_ts = window_bounds(since, until)
    if since_ts is not None or until_ts is not None:
        files = {m: files[m] for m in _months_between(since_ts, until_ts, files)}
    dataset = store.dataset(files)
    if dataset is None:
        return empty_results_frame()

    requests = load_requests(data_dir) if (campaigns is not None or fill) else None
    enrichment = Enrichment(read_campaigns(paths), read_sends(paths)) if (campaigns is not None or fill) else None
    condition = None

    def both(expr):
        nonlocal condition
        condition = expr if condition is None else condition & expr

    if since_ts is not None:
        both(pc.field("date") >= pa.scalar(since_ts.to_pydatetime(), pa.timestamp("us", tz=PRAGUE_NAME)))
    if until_ts is not None:
        both(pc.field("date") < pa.scalar(until_ts.to_pydatetime(), pa.timestamp("us", tz=PRAGUE_NAME)))
    if codes is not None:
        both(pc.field("error_code").isin(_ints(codes)))
    if request_ids is not None:
        both(pc.field("request_id").isin(_ints(request_ids)))
    if campaigns is not None:
        wanted = {int(c) for c in campaigns}
        sends_of = [s for s, c in enrichment.send_campaigns.items() if c in wanted]
        requests_of = requests.loc[requests["campaign_id"].isin(list(wanted)).fillna(False), "request_id"]
        # A row belongs to a campaign by its stored id, its send, or its request's manifest entry.
        both(
            pc.field("campaign_id").isin(_ints(wanted))
            | pc.field("id_send").isin(_ints(sends_of))
            | pc.field("request_id").isin(_ints(requests_of))
        )
    read = None if columns is None else [c for c in RESULTS_SCHEMA.names if c in set(columns) | {"request_id"}]
    table = dataset.to_table(columns=read, filter=condition)
    if PARTITION_COLUMN in table.column_names:
        table = table.drop_columns([PARTITION_COLUMN])
    if fill and table.num_rows and read is None:
        request_campaigns = {int(k): int(v) for k, v in requests.set_index("request_id")["campaign_id"].dropna().items()}
        table = enrichment.fill(table, request_campaigns)
    if campaigns is not None and table.num_rows and "campaign_id" in table.column_names:
        table = table.filter(pc.fill_null(pc.is_in(table.column("campaign_id"), value_set=_ints(wanted)), False))
    frame = conform(table_to_frame(table) if read is None else table.to_pandas(types_mapper=nullable_types))[RESULT_COLUMNS]
    return frame.sort_values(["date", "request_id"], kind="stable", na_position="last").reset_index(drop=True)


def load_requests(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The followed requests with their manifest data and fetch state."""
    from .state import empty_state

    paths = CachePaths.under(data_dir)
    state = read_small_table(paths.requests, REQUESTS_SCHEMA)
    return empty_state() if state is None else state


def load_sends(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Cached sends: ``id_send``, ``campaign_id``, ``send_count`` (denominators of rates)."""
    return Enrichment(None, read_sends(CachePaths.under(data_dir))).sends


def load_campaigns(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Cached campaign names: ``campaign_id``, ``campaign_name``."""
    return Enrichment(read_campaigns(CachePaths.under(data_dir)), None).campaigns
