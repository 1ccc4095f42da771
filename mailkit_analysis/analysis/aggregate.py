"""Summaries computed inside the parquet cache with DuckDB, for caches too big for pandas.

:func:`~mailkit_analysis.cache.load_results` followed by an :mod:`~mailkit_analysis.analysis.summaries`
function reads every row into pandas first: fine for a million rows, not for a hundred
million. The functions here give the *same tables* (same index, columns, dtypes and order)
while DuckDB scans only the needed columns of the needed month files and returns a few
thousand aggregated rows:

==========================================  ==============================================
here                                        same result as
==========================================  ==============================================
:func:`counts_over_time_from_cache`         ``analysis.counts_over_time(load_results(...))``
:func:`by_campaign_from_cache`              ``analysis.by_campaign(load_results(...), ...)``
:func:`summary_by_code_from_cache`          ``export.summarize_by_code(load_results(...))``
==========================================  ==============================================

The filters are :func:`load_results`'s: the date window prunes whole ``month=`` partitions
and is then applied to ``date``; a campaign filter and the campaign columns use the stored
ids, else the send's or the request's campaign from the cache's tables, as ``load_results``
fills them. Each call opens its own DuckDB connection (safe from several threads) with a
bounded number of threads and a memory limit. Rows are counted per UTC hour in SQL and the
hours placed in Prague days and weeks by :func:`analysis.period_start` itself, so clock
changes are handled exactly as in pandas and no session time zone is involved.
"""
from __future__ import annotations

import logging
from typing import Iterable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..cache import load_requests, load_sends
from ..codes import lookup
from ..prague_time import PRAGUE_NAME, TimeLike, to_prague_times, window_bounds
from .source import DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, Source
from .source import prague as _prague
from .summaries import (
    Denominators,
    _period_index,
    code_column,
    normalise_freq,
    period_start,
)

__all__ = [
    "DUCKDB_THREADS",
    "DUCKDB_MEMORY_LIMIT",
    "counts_over_time_from_cache",
    "by_campaign_from_cache",
    "summary_by_code_from_cache",
    "cache_denominators",
]

log = logging.getLogger(__name__)

# Since then Prague's offset from UTC has always been a whole number of hours.
_WHOLE_HOUR_OFFSETS = pd.Timestamp("1891-10-01", tz="UTC")
# Days since 1970 of the Prague day / Monday of the week, from each row's wall time.
_LOCAL_DAY = {
    "D": f"date_diff('day', DATE '1970-01-01', CAST(timezone('{PRAGUE_NAME}', date) AS DATE))",
    "W": f"date_diff('day', DATE '1970-01-01', CAST(date_trunc('week', timezone('{PRAGUE_NAME}', date)) AS DATE))",
}


# --------------------------------------------------------------------------- public API

def counts_over_time_from_cache(
    data_dir: str | os.PathLike | None = None,
    *,
    freq: str = "D",
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaigns: Iterable[int] | None = None,
    codes: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Count error rows per period and code, inside the cache.

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
        Only these codes, each as a column even when it never occurs (default: the codes
        present).

    Returns
    -------
    pandas.DataFrame
        Exactly ``analysis.counts_over_time(load_results(data_dir, since=..., until=...,
        campaigns=..., codes=...), freq, codes)``: index ``period`` (period start,
        ``datetime64[us, Europe/Prague]``, every period from the first to the last,
        zero-filled), columns ``error_code``, int64 counts.
    """
    unit = normalise_freq(freq)
    codes = None if codes is None else [int(c) for c in codes]
    with _Scan(data_dir, since, until, campaigns, codes) as scan:
        rows = scan.rows(need_campaign=False)
        # Rows are counted per UTC hour (integer arithmetic, no time zone work per row);
        # Prague's offsets are whole hours, so every UTC hour lies in one Prague day and
        # week, and the few thousand hour counts are placed in periods by pandas below.
        counts = scan.query(
            f"SELECT epoch_us(date) // 3600000000 AS hour, error_code, count(*) AS n FROM {rows} "
            "WHERE error_code IS NOT NULL GROUP BY ALL"
        )
        # Codes of rows without a date still make columns (as in analysis); the rows do not.
        present = sorted(int(c) for c in counts["error_code"].unique())
        counts = counts[counts["hour"].notna()].reset_index(drop=True)
        hours = pd.Series(pd.to_datetime(counts["hour"].astype("int64").to_numpy() * 3600, unit="s", utc=True))
        if unit != "h" and len(hours) and hours.min() < _WHOLE_HOUR_OFFSETS:
            # Local mean time (+0:57:44) before then: bucket each row on its wall time.
            counts = scan.query(
                f"SELECT {_LOCAL_DAY[unit]} AS day, error_code, count(*) AS n FROM {rows} "
                "WHERE date IS NOT NULL AND error_code IS NOT NULL GROUP BY ALL"
            )
            days = pd.to_datetime(counts["day"].astype("int64").to_numpy() * 86400, unit="s")
            counts["period"] = to_prague_times(pd.DatetimeIndex(days)).as_unit("us")
        else:
            counts["period"] = period_start(to_prague_times(hours).dt.as_unit("us"), unit)
    columns = present if codes is None else codes
    index = _period_index(counts["period"], unit)
    if counts.empty:
        return pd.DataFrame(0, index=index, columns=pd.Index(columns, name="error_code"), dtype="int64")
    table = (
        counts.assign(error_code=counts["error_code"].astype("int64"), n=counts["n"].astype("int64"))
        .groupby(["period", "error_code"])["n"].sum()
        .unstack(fill_value=0)
        .reindex(index=index, columns=columns, fill_value=0)
        .astype("int64")
    )
    table.index.name, table.columns.name = "period", "error_code"
    return table


def by_campaign_from_cache(
    data_dir: str | os.PathLike | None = None,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaigns: Iterable[int] | None = None,
    codes: Iterable[int] | None = None,
    rates: bool = True,
) -> pd.DataFrame:
    """Summarise errors per campaign, inside the cache.

    Parameters
    ----------
    data_dir, since, until, campaigns, codes
        As in :func:`counts_over_time_from_cache`.
    rates : bool
        Compute ``recipients`` and ``error_rate`` from the cache's sends and requests
        (:func:`cache_denominators`). This reads one row per send and request into pandas;
        without it both columns are ``<NA>``.

    Returns
    -------
    pandas.DataFrame
        Exactly ``analysis.by_campaign(load_results(...), sends, recipients)`` with
        ``sends, recipients = cache_denominators(data_dir, since=..., until=...)`` (or
        ``None, None`` when ``rates`` is false): ``campaign_id``, ``campaign_name``,
        ``errors``, ``requests``, ``sends``, ``first_seen``, ``last_seen``, one ``code_<n>``
        per code present, ``recipients``, ``error_rate``; most errors first.
    """
    codes = None if codes is None else [int(c) for c in codes]
    with _Scan(data_dir, since, until, campaigns, codes) as scan:
        rows = scan.rows(need_campaign=True)
        # One pass down to a row per (campaign, request, send, code): DuckDB's DISTINCT
        # counts over ten million rows cost more than that whole pass, over cells very little.
        scan.con.execute(
            "CREATE TEMP TABLE cells AS SELECT campaign_id, request_id, id_send, error_code, count(*) AS n, "
            "min(date) AS first_seen, max(date) AS last_seen, "
            # Within a cell the request is fixed, so the date alone orders rows as load_results
            # does (rows without a date last: 'infinity').
            f"arg_min(campaign_name, {_DATE_LAST}) FILTER (WHERE campaign_name IS NOT NULL) AS campaign_name, "
            f"min({_DATE_LAST}) FILTER (WHERE campaign_name IS NOT NULL) AS named_at FROM {rows} GROUP BY ALL"
        )
        groups = scan.query(
            "SELECT campaign_id, arg_min(campaign_name, {'d': named_at, 'r': request_id}) AS campaign_name, "
            "CAST(sum(n) AS BIGINT) AS errors, count(DISTINCT request_id) AS requests, count(DISTINCT id_send) AS sends, "
            "min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM cells GROUP BY campaign_id"
        )
        per_code = scan.query(
            "SELECT campaign_id, error_code, CAST(sum(n) AS BIGINT) AS n FROM cells WHERE error_code IS NOT NULL GROUP BY ALL"
        )
        # All that Denominators reads of the frame, one row per (send, request) pair.
        units = scan.query(
            f"SELECT id_send, request_id, arg_min(campaign_id, {{'d': coalesce(first_seen, {_INFINITY}), 'r': request_id}}) "
            "FILTER (WHERE campaign_id IS NOT NULL) AS campaign_id, min(first_seen) AS date "
            "FROM cells GROUP BY request_id, id_send"
        ) if rates else None
    out = _campaign_table(groups)
    present = sorted(int(c) for c in per_code["error_code"].unique())
    for name, counts in _code_columns(out.index, per_code, present).items():
        out[name] = counts
    totals = _campaign_recipients(units, data_dir, since, until) if rates else pd.Series([], dtype="Int64")
    out["recipients"] = pd.array([totals.get(c, pd.NA) if not pd.isna(c) else pd.NA for c in out.index], dtype="Int64")
    errors, recipients = out["errors"].astype("Float64"), out["recipients"].astype("Float64")
    out["error_rate"] = (errors / recipients.where(recipients > 0)).astype("Float64")
    out = out.rename_axis("campaign_id").reset_index()
    out["campaign_id"] = out["campaign_id"].astype("Int64")
    return out.sort_values(["errors", "campaign_id"], ascending=[False, True], kind="stable",
                           na_position="last").reset_index(drop=True)


_INFINITY = "'infinity'::TIMESTAMPTZ"
_DATE_LAST = f"coalesce(date, {_INFINITY})"


def _campaign_table(groups: pd.DataFrame) -> pd.DataFrame:
    """The per-campaign aggregates as by_campaign lays them out (index ``campaign_id``)."""
    out = pd.DataFrame(
        {
            "campaign_name": pd.array(groups["campaign_name"], dtype="string"),
            "errors": groups["errors"].astype("int64").to_numpy(),
            "requests": groups["requests"].astype("int64").to_numpy(),
            "sends": groups["sends"].astype("int64").to_numpy(),
            "first_seen": _prague(groups["first_seen"]).array,
            "last_seen": _prague(groups["last_seen"]).array,
        },
        index=pd.Index(groups["campaign_id"].astype("Int64").array, name="campaign_id"),
    )
    return out.sort_index(na_position="last")


def _code_columns(index: pd.Index, per_code: pd.DataFrame, present: list[int]) -> dict[str, np.ndarray]:
    """``code_<n>`` counts aligned with ``index``; placed by position, because pivoting on
    a nullable key would drop the "no campaign" group that by_campaign keeps."""
    wide = np.zeros((len(index), len(present)), dtype=np.int64)
    if len(per_code):
        row = _positions(index, per_code["campaign_id"].astype("Int64"))
        column = np.searchsorted(present, per_code["error_code"].astype("int64").to_numpy())
        np.add.at(wide, (row, column), per_code["n"].astype("int64").to_numpy())
    return {code_column(code): wide[:, k] for k, code in enumerate(present)}


def _campaign_recipients(units: pd.DataFrame, data_dir, since, until) -> pd.Series:
    """Recipients per campaign by analysis' own rules, from one row per (send, request)."""
    sends, recipients = cache_denominators(data_dir, since=since, until=until)
    frame = pd.DataFrame(
        {
            "id_send": units["id_send"].astype("Int64"),
            "request_id": units["request_id"].astype("Int64"),
            "campaign_id": units["campaign_id"].astype("Int64"),
            "date": _prague(units["date"]),
        }
    ).sort_values(["date", "request_id"], kind="stable", na_position="last")
    return Denominators(frame, sends, recipients).per_campaign()


def summary_by_code_from_cache(
    data_dir: str | os.PathLike | None = None,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    campaigns: Iterable[int] | None = None,
    codes: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Count error rows per code, inside the cache.

    Parameters
    ----------
    data_dir, since, until, campaigns, codes
        As in :func:`counts_over_time_from_cache`.

    Returns
    -------
    pandas.DataFrame
        Exactly ``export.summarize_by_code(load_results(...))``: ``error_code``,
        ``error_name``, ``category``, ``rows``, ``requests``, ``sends``, ``share``; most
        frequent code first.
    """
    columns = ["error_code", "error_name", "category", "rows", "requests", "sends", "share"]
    codes = None if codes is None else [int(c) for c in codes]
    with _Scan(data_dir, since, until, campaigns, codes) as scan:
        # Distinct counts over (code, request, send) cells, not over every row: see by_campaign.
        grouped = scan.query(
            "SELECT error_code, CAST(sum(n) AS BIGINT) AS rows, count(DISTINCT request_id) AS requests, "
            "count(DISTINCT id_send) AS sends FROM (SELECT error_code, request_id, id_send, count(*) AS n "
            f"FROM {scan.rows(need_campaign=False)} GROUP BY ALL) GROUP BY error_code"
        )
    if grouped.empty:
        return pd.DataFrame({c: [] for c in columns})
    out = pd.DataFrame(
        {
            "error_code": grouped["error_code"].astype("Int64"),
            "rows": grouped["rows"].astype("int64"),
            "requests": grouped["requests"].astype("int64"),
            "sends": grouped["sends"].astype("int64"),
        }
    ).sort_values("error_code", na_position="last", kind="stable")
    # The same steps as export.summarize_by_code, so the dtypes are the same too.
    out["error_name"] = out["error_code"].map(lambda c: lookup(c).name if pd.notna(c) else "unknown")
    out["category"] = out["error_code"].map(lambda c: lookup(c).category if pd.notna(c) else "unknown")
    out["share"] = (out["rows"] / out["rows"].sum()).round(4)
    out = out.reset_index(drop=True)
    return out.sort_values(["rows", "error_code"], ascending=[False, True])[columns].reset_index(drop=True)


def cache_denominators(
    data_dir: str | os.PathLike | None = None,
    *,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The cache's sends and requests as the denominators of error rates, for a window.

    Parameters
    ----------
    data_dir : path, optional
        Data folder.
    since, until : str, date or datetime, optional
        Keep the sends and requests made in this window (as ``load_results`` reads it);
        those without a known time are kept.

    Returns
    -------
    sends, recipients : DataFrame or None
        ``sends`` and ``recipients`` arguments for :mod:`mailkit_analysis.analysis.summaries`
        (``id_send``, ``campaign_id``, ``send_count``, ``send_date`` / ``request_id``,
        ``id_send``, ``campaign_id``, ``sent_at``, ``recipients``); None when empty.
    """
    since_ts, until_ts = window_bounds(since, until)
    sends = load_sends(data_dir)
    requests = load_requests(data_dir)[["request_id", "id_send", "campaign_id", "sent_at", "recipients"]]
    if since_ts is not None or until_ts is not None:
        sent = pd.to_datetime(sends["send_date"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
        sent = to_prague_times(sent)
        sends = sends[_in_window(sent, since_ts, until_ts)]
        requests = requests[_in_window(requests["sent_at"], since_ts, until_ts)]
    sends = sends.reset_index(drop=True) if len(sends) else None
    requests = requests.reset_index(drop=True) if len(requests) else None
    return sends, requests


# --------------------------------------------------------------------------- internals

def _in_window(times: pd.Series, since: pd.Timestamp | None, until: pd.Timestamp | None) -> np.ndarray:
    keep = pd.Series(True, index=times.index)
    if since is not None:
        keep &= (times >= since).fillna(True)
    if until is not None:
        keep &= (times < until).fillna(True)
    return keep.to_numpy(dtype=bool)


def _positions(index: pd.Index, keys: pd.Series) -> np.ndarray:
    """Where each key (nullable) sits in ``index`` (nullable, unique)."""
    missing = np.iinfo(np.int64).min  # no campaign id is this
    lookup_ = pd.Index(index.to_series().fillna(missing).astype("int64").to_numpy())
    return lookup_.get_indexer(keys.fillna(missing).astype("int64").to_numpy())


class _Scan:
    """The result rows a call reads (see :class:`~mailkit_analysis.analysis.source.Source`).

    ``rows(need_campaign)`` is a SQL relation with ``request_id``, ``id_send``,
    ``error_code``, ``date`` and, when asked, ``campaign_id``/``campaign_name`` filled like
    ``load_results`` does.
    """

    def __init__(self, data_dir, since, until, campaigns, codes):
        self.source = Source(data_dir)
        self.since, self.until = window_bounds(since, until)
        self.campaigns = None if campaigns is None else {int(c) for c in campaigns}
        self.codes = codes
        self.con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> "_Scan":
        self.source.__enter__()
        self.con = self.source.con
        return self

    def __exit__(self, *exc) -> None:
        self.source.__exit__(*exc)

    def query(self, sql: str) -> pd.DataFrame:
        return self.source.query(sql)

    def rows(self, need_campaign: bool) -> str:
        columns = ["request_id", "id_send", "error_code", "date"]
        if need_campaign or self.campaigns is not None:
            columns += ["campaign_id", "campaign_name"]
        return self.source.rows(columns, since=self.since, until=self.until, campaigns=self.campaigns,
                                codes=self.codes)


