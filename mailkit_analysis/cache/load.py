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
from .schema import PARTITION_COLUMN
from .lock import reading
from .keyed import requests_table, sends_table
from .store import UNKNOWN_MONTH, ResultsStore, request_filter

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
    requests: pd.DataFrame | None = None,
    enrichment: Enrichment | None = None,
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
    requests, enrichment : optional
        The request state and enrichment tables, when the caller holds them already (a
        fetch that has just written them): they are not read again.

    Returns
    -------
    DataFrame
        The results frame, ordered by date and request.
    """
    paths = CachePaths.under(data_dir)
    since_ts, until_ts = window_bounds(since, until)
    with reading(paths):
        return _load(paths, data_dir, since_ts, until_ts, campaigns, codes, request_ids, columns, fill, requests, enrichment)


def _load(paths, data_dir, since_ts, until_ts, campaigns, codes, request_ids, columns, fill, requests, enrichment) -> pd.DataFrame:
    store = ResultsStore(paths)
    parts = store.usable_parts()
    for problem in store.problems:
        log.warning("skipping %s: %s (the next fetch re-fetches what it held)", problem.path, problem.reason)
    if since_ts is not None or until_ts is not None:
        months = set(_months_between(since_ts, until_ts, {p.month for p in parts}))
        parts = [p for p in parts if p.month in months]
    if request_ids is not None:
        parts = store.parts_holding(pd.Index(sorted({int(r) for r in request_ids}), dtype="int64"), parts)
    dataset = store.dataset(parts)
    if dataset is None:
        return empty_results_frame()

    given_enrichment = enrichment
    if campaigns is not None:
        wanted = {int(c) for c in campaigns}
        if enrichment is None:
            # The sends of these campaigns only, found by one column of the sends table.
            of_campaigns = sends_table(paths).keys_where(
                ["campaign_id"], lambda t: pc.is_in(t.column("campaign_id"), value_set=_ints(wanted)))
            enrichment = Enrichment(None, read_sends(paths, ids=of_campaigns))
        sends_of = [s for s, c in enrichment.send_campaigns.items() if c in wanted]
        if requests is None:
            requests_of = requests_table(paths).keys_where(
                ["campaign_id"], lambda t: pc.is_in(t.column("campaign_id"), value_set=_ints(wanted)))
            requests = _with_recorded(paths, requests_table(paths).read(requests_of, columns=["campaign_id"]))
        requests_of = requests.loc[requests["campaign_id"].isin(list(wanted)).fillna(False), "request_id"]
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
        both(request_filter(_ints(request_ids)))
    if campaigns is not None:
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
        present_ids = pc.unique(table.column("request_id")).to_numpy()
        if requests is None:  # the requests of these rows only, not the whole state
            requests = _with_recorded(paths, requests_table(paths).read(present_ids, columns=["campaign_id"]))
        if given_enrichment is None:  # the sends of these rows only
            sends = pc.unique(table.column("id_send")).drop_null()
            enrichment = Enrichment(read_campaigns(paths), read_sends(paths, ids=sends) if len(sends) else None)
        present = requests["request_id"].isin(present_ids) & requests["campaign_id"].notna()
        known = requests.loc[present, ["request_id", "campaign_id"]].astype("int64")
        request_campaigns = dict(zip(known["request_id"].tolist(), known["campaign_id"].tolist()))
        table = enrichment.fill(table, request_campaigns)
    if campaigns is not None and table.num_rows and "campaign_id" in table.column_names:
        table = table.filter(pc.fill_null(pc.is_in(table.column("campaign_id"), value_set=_ints(wanted)), False))
    # table_to_frame conforms already; a narrower read is conformed here (once, either way).
    frame = (table_to_frame(table) if read is None else conform(table.to_pandas(types_mapper=nullable_types)))[RESULT_COLUMNS]
    return frame.sort_values(["date", "request_id"], kind="stable", na_position="last").reset_index(drop=True)


def _with_recorded(paths: CachePaths, state: pd.DataFrame | None) -> pd.DataFrame:
    """Some rows of the state (None: none) with the recorded requests no fetch merged yet."""
    from .capture import read_recorded, recorded_files
    from .state import empty_state, merge_manifest

    state = empty_state() if state is None else state.reindex(columns=list(empty_state().columns))
    state = state.astype(empty_state().dtypes.to_dict())
    recorded = read_recorded(recorded_files(paths))
    return state if recorded is None else merge_manifest(state, recorded)


def load_requests(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The followed requests with their manifest data and fetch state.

    Requests recorded with :func:`~.capture.record_request` that no fetch has merged yet are
    included, never fetched.
    """
    from .capture import read_recorded, recorded_files
    from .state import empty_state, merge_manifest
    from .state_file import read_state

    paths = CachePaths.under(data_dir)
    with reading(paths):
        state = read_state(paths)
        recorded = read_recorded(recorded_files(paths))
    state = empty_state() if state is None else state
    return state if recorded is None else merge_manifest(state, recorded)


def load_sends(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Cached sends: ``id_send``, ``campaign_id``, ``send_count`` (denominators of rates)."""
    return Enrichment(None, read_sends(CachePaths.under(data_dir))).sends


def load_campaigns(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Cached campaign names: ``campaign_id``, ``campaign_name``."""
    return Enrichment(read_campaigns(CachePaths.under(data_dir)), None).campaigns
