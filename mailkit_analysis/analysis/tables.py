"""Every table the notebooks and the command line show, each one SQL query over a window.

Each function takes a :class:`~mailkit_analysis.analysis.window.Window` (over the cache or,
through :meth:`Window.from_frame`, over a frame a Python user hands in) and runs its one
definition with DuckDB inside the window's source; only the small answer reaches pandas. The
pandas-facing functions of :mod:`.summaries` and :mod:`mailkit_analysis.presentation.export`
are thin wrappers over these, so no table has a second implementation.

The rate
--------
``error_rate = affected recipients / recipients sent`` (see :mod:`.window`): affected
recipients are distinct ``id_send_message`` values (a row without one counts once), per send
(or per request that failed before a send existed) and capped at that send's size;
recipients sent are the send's ``SEND_COUNT``, else the manifest's ``recipients``. A total
with any part of unknown size is ``<NA>``. Error *rows* per recipient are never called a rate.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from ..cache import load_sends
from ..codes import CATALOGUE, UNKNOWN, lookup
from ..prague_time import PRAGUE_NAME, to_prague_times
from ..masking import mask_emails
from .domains import _DOMAIN_PATTERN, _TRAILING_JUNK, _extract_arrow, suggest_domains
from .outcomes import send_outcomes
from .source import ProcessMemo, Source, prague
from .summaries import (
    NO_DOMAIN,
    OTHER,
    _period_index,
    code_column,
    normalise_freq,
    period_start,
)
from .window import Window, affected_by

__all__ = [
    "NO_ADDRESS",
    "overview",
    "counts_over_time",
    "by_code",
    "by_category",
    "top_info",
    "campaign_recipients",
    "by_campaign",
    "by_send",
    "affected_recipients",
    "recipient_domains",
    "domain_counts",
    "likely_typos",
    "addresses_to_fix",
]

#: Label of the rows that carried no address at all (code 3).
NO_ADDRESS = "(no address)"

_INFINITY = "'infinity'::TIMESTAMPTZ"
# Since then Prague's offset from UTC has always been a whole number of hours.
_WHOLE_HOUR_OFFSETS = pd.Timestamp("1891-10-01", tz="UTC")
_LOCAL_DAY = {
    "D": f"date_diff('day', DATE '1970-01-01', CAST(timezone('{PRAGUE_NAME}', date) AS DATE))",
    "W": f"date_diff('day', DATE '1970-01-01', CAST(date_trunc('week', timezone('{PRAGUE_NAME}', date)) AS DATE))",
}
# The unit a row's errors belong to: its send, or (codes 4 and 5, no send created) minus its
# request, so one BIGINT key holds both kinds.
_UNIT = "coalesce(id_send, -request_id)"


def _codes(codes: Iterable[int] | None) -> list[int] | None:
    return None if codes is None else [int(c) for c in codes]


def _rows(window: Window, source: Source, columns, codes=None) -> str:
    return window._rows(source, columns, codes=codes)


def _int(values) -> np.ndarray:
    return pd.Series(values).astype("int64").to_numpy()


# --------------------------------------------------------------------------- the window in numbers

def overview(window: Window) -> dict:
    """What the window holds, in one pass: the headline of a report.

    Returns
    -------
    dict
        ``rows``, ``requests``, ``sends``, ``campaigns`` (distinct ids, int) and
        ``first``, ``last`` (the first and last error dates, Prague; None when empty).
    """
    with window._source() as source:
        rows = _rows(window, source, ["request_id", "id_send", "campaign_id", "date"])
        got = source.query(
            "SELECT count(*) AS rows, count(DISTINCT request_id) AS requests, count(DISTINCT id_send) AS sends, "
            f"count(DISTINCT campaign_id) AS campaigns, min(date) AS first, max(date) AS last FROM {rows}"
        )
    first, last = prague(got["first"]).iloc[0], prague(got["last"]).iloc[0]
    return {
        **{k: int(got[k].iloc[0]) for k in ("rows", "requests", "sends", "campaigns")},
        "first": None if pd.isna(first) else first,
        "last": None if pd.isna(last) else last,
    }


# --------------------------------------------------------------------------- over time

def counts_over_time(window: Window, freq: str = "D", codes: Iterable[int] | None = None) -> pd.DataFrame:
    """Error rows per period and code.

    Parameters
    ----------
    window : Window
        The rows to count.
    freq : {"h", "D", "W"} or {"hour", "day", "week"}
        Period length; weeks start on Monday, all periods at Prague local time.
    codes : iterable of int, optional
        Only these codes, each as a column even when it never occurs (default: the codes
        present, unknown ones included).

    Returns
    -------
    pandas.DataFrame
        Index ``period`` (period start, ``datetime64[us, Europe/Prague]``, every period from
        the first to the last, zero-filled), columns ``error_code``, int64 counts. Rows
        without a date are left out (their codes still make columns).
    """
    unit = normalise_freq(freq)
    codes = _codes(codes)
    with window._source() as source:
        rows = _rows(window, source, ["error_code", "date"], codes)
        # Counted per UTC hour (integer arithmetic, no time zone work per row): Prague's
        # offsets are whole hours, so every UTC hour lies in one Prague day and week, and the
        # few thousand hour counts are placed in periods by period_start below.
        counts = source.query(
            f"SELECT epoch_us(date) // 3600000000 AS hour, error_code, count(*) AS n FROM {rows} "
            "WHERE error_code IS NOT NULL GROUP BY ALL"
        )
        present = sorted(int(c) for c in counts["error_code"].unique())
        counts = counts[counts["hour"].notna()].reset_index(drop=True)
        hours = pd.Series(pd.to_datetime(_int(counts["hour"]) * 3600, unit="s", utc=True))
        if unit != "h" and len(hours) and hours.min() < _WHOLE_HOUR_OFFSETS:
            # Local mean time (+0:57:44) before then: bucket each row on its wall time.
            counts = source.query(
                f"SELECT {_LOCAL_DAY[unit]} AS day, error_code, count(*) AS n FROM {rows} "
                "WHERE date IS NOT NULL AND error_code IS NOT NULL GROUP BY ALL"
            )
            days = pd.to_datetime(_int(counts["day"]) * 86400, unit="s")
            counts["period"] = to_prague_times(pd.DatetimeIndex(days)).as_unit("us")
        else:
            counts["period"] = period_start(to_prague_times(hours).dt.as_unit("us"), unit)
    columns = present if codes is None else codes
    index = _period_index(counts["period"], unit)
    if counts.empty:
        return pd.DataFrame(0, index=index, columns=pd.Index(columns, name="error_code"), dtype="int64")
    table = (
        counts.assign(error_code=_int(counts["error_code"]), n=_int(counts["n"]))
        .groupby(["period", "error_code"])["n"].sum()
        .unstack(fill_value=0)
        .reindex(index=index, columns=columns, fill_value=0)
        .astype("int64")
    )
    table.index.name, table.columns.name = "period", "error_code"
    return table


# --------------------------------------------------------------------------- codes and categories

def _per_key(window: Window, key: str, codes=None) -> pd.DataFrame:
    """Rows, distinct requests and sends per ``key`` (``error_code``, or ``category`` of the
    code catalogue), and the codes of each; counted in SQL over the window's rows."""
    catalogue = pd.DataFrame({"error_code": pd.array(list(CATALOGUE), dtype="Int64"),
                              "category": [e.category for e in CATALOGUE.values()]})
    with window._source() as source:
        source.con.register("mk_catalogue", catalogue)
        rows = _rows(window, source, ["error_code", "request_id", "id_send"], codes)
        return source.query(
            f"SELECT {'coalesce(k.category, ' + repr(UNKNOWN.category) + ')' if key == 'category' else 'r.error_code'} "
            f"AS {key}, count(*) AS n, count(DISTINCT r.request_id) AS requests, count(DISTINCT r.id_send) AS sends, "
            "string_agg(DISTINCT CAST(r.error_code AS VARCHAR), ', ') AS codes "
            f"FROM {rows} r LEFT JOIN mk_catalogue k ON k.error_code = r.error_code GROUP BY 1"
        )


def by_code(window: Window, codes: Iterable[int] | None = None) -> pd.DataFrame:
    """Error rows per code.

    Returns
    -------
    pandas.DataFrame
        ``error_code``, ``error_name``, ``category``, ``rows``, ``requests``, ``sends``
        (distinct ids), ``share`` (of all rows, 4 decimals); most frequent code first.
        Unknown codes are kept.
    """
    columns = ["error_code", "error_name", "category", "rows", "requests", "sends", "share"]
    cells = _per_key(window, "error_code", _codes(codes))
    if cells.empty:
        return pd.DataFrame({c: [] for c in columns})
    out = pd.DataFrame({
        "error_code": cells["error_code"].astype("Int64"),
        "rows": _int(cells["n"]),
        "requests": _int(cells["requests"]),
        "sends": _int(cells["sends"]),
    })
    out["error_name"] = out["error_code"].map(lambda c: lookup(c).name if pd.notna(c) else "unknown")
    out["category"] = out["error_code"].map(lambda c: lookup(c).category if pd.notna(c) else "unknown")
    out["share"] = (out["rows"] / out["rows"].sum()).round(4)
    return out.sort_values(["rows", "error_code"], ascending=[False, True])[columns].reset_index(drop=True)


def by_category(window: Window) -> pd.DataFrame:
    """Error rows per category of the code catalogue.

    Returns
    -------
    pandas.DataFrame
        ``category``, ``errors``, ``share`` (of all rows), ``codes`` (e.g. ``"2, 3"``),
        ``requests``, ``sends``; most errors first.
    """
    columns = {"category": "string", "errors": "int64", "share": "float64", "codes": "string",
               "requests": "int64", "sends": "int64"}
    cells = _per_key(window, "category")
    if cells.empty:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})
    out = pd.DataFrame({
        "category": cells["category"].astype("string"),
        "errors": _int(cells["n"]),
        "codes": _sorted_codes(cells["codes"]),
        "requests": _int(cells["requests"]),
        "sends": _int(cells["sends"]),
    })
    out["share"] = out["errors"] / out["errors"].sum()
    out = out.sort_values(["errors", "category"], ascending=[False, True], kind="stable")
    return out[list(columns)].astype(columns).reset_index(drop=True)


def top_info(window: Window, n: int = 10) -> pd.DataFrame:
    """The most frequent INFO texts, per code.

    Returns
    -------
    pandas.DataFrame
        ``info``, ``error_code``, ``error_name``, ``count``, ``share`` (of all rows);
        most frequent first, at most ``n`` rows. A missing INFO is ``<NA>``.
    """
    columns = {"info": "string", "error_code": "Int64", "error_name": "string", "count": "int64",
               "share": "float64"}
    with window._source() as source:
        rows = _rows(window, source, ["error_code", "info"])
        out = source.query(
            "SELECT info, error_code, count(*) AS count, count(*) / sum(count(*)) OVER () AS share "
            f"FROM {rows} GROUP BY ALL ORDER BY count DESC, error_code NULLS LAST, info NULLS LAST "
            f"LIMIT {int(n)}"
        )
    if out.empty:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})
    out["error_name"] = out["error_code"].map(lambda c: lookup(c).name, na_action="ignore").fillna("unknown")
    return out[list(columns)].astype(columns).reset_index(drop=True)


# --------------------------------------------------------------------------- rates

def _unit_sizes_sql(window: Window, source: Source, seen: str | None = None) -> str:
    """One row per unit (send, or request without one) of the window with its size.

    The size is the send's ``SEND_COUNT``; for a unit the sends table does not size, the
    sum of its requests' manifest ``recipients`` (``NULL`` when one of them is unknown).
    ``has_rows``: the unit has error rows in the window. ``seen``: as for
    :meth:`Window._sends_sql`, when the caller has the window's rows at hand.
    """
    return f"""
        (SELECT coalesce(w.id_send, -w.request_id) AS unit, max(w.campaign_id) AS campaign_id,
                max(w.rows) > 0 AS has_rows,
                coalesce(max(s.send_count),
                         CASE WHEN count(*) = count(w.send_count) THEN sum(w.send_count) END) AS size
         FROM ({window._sends_sql(source, window.since, seen=seen, ordered=False)}) w
         LEFT JOIN mk_sends s ON s.id_send = w.id_send
         GROUP BY ALL)
    """


#: The units' sizes of the latest windows asked about: the denominators of every rate in a
#: window, the same whatever codes a table counts, so a notebook computes them once.
UNIT_SIZES = ProcessMemo(entries=4, limit_bytes=128 * 1024 * 1024)


def _unit_sizes(window: Window, source: Source, rows: str | None = None) -> str:
    """The name of a relation on ``source`` holding :func:`_unit_sizes_sql` of ``window``.

    ``rows``: a relation of all the window's rows with :data:`Window.SEEN_COLUMNS`, when the
    caller has one (it saves reading the rows again). Kept in :data:`UNIT_SIZES` while the
    cache is unchanged.
    """
    key = (str(source.paths.root) if source.paths is not None else None,
           window.since, window.until, window.campaigns, window.id_send)
    mark = source.fingerprint()
    table = UNIT_SIZES.get(key, mark) if mark is not None else None
    if table is None:
        seen = Window._seen_sql(rows) if rows is not None else None
        table = source.arrow(f"SELECT * FROM {_unit_sizes_sql(window, source, seen)}")
        if mark is not None:
            UNIT_SIZES.put(key, mark, table)
    source.con.register("unit_sizes", table)
    return "unit_sizes"


# Recipients sent per campaign: the complete sum of its units' sizes. A sized unit without
# error rows whose campaign is unknown could belong to any campaign, so then every campaign
# total would be a lower bound: all are NULL.
_CAMPAIGN_SIZES = (
    "SELECT campaign_id, CASE WHEN count(*) = count(size) AND NOT (SELECT coalesce(bool_or(campaign_id IS NULL "
    "AND NOT has_rows), false) FROM {units}) THEN sum(size) END AS recipients "
    "FROM {units} WHERE campaign_id IS NOT NULL GROUP BY 1"
)


def campaign_recipients(window: Window) -> pd.DataFrame:
    """Recipients sent per campaign in the window (the denominators of the campaign rates).

    Returns
    -------
    pandas.DataFrame
        ``campaign_id`` (Int64), ``recipients`` (Int64: the sum over the campaign's sends
        and failed requests in the window, ``<NA>`` when one has an unknown size).
    """
    with window._source() as source:
        source.materialize("mk_sends", "mk_requests")
        out = source.query(_CAMPAIGN_SIZES.format(units=_unit_sizes(window, source)) + " ORDER BY 1")
    return out.astype({"campaign_id": "Int64", "recipients": "Int64"})


def _rate(affected: pd.Series, recipients: pd.Series) -> pd.Series:
    recipients = recipients.astype("Float64")
    return (affected.astype("Float64") / recipients.where(recipients > 0)).clip(upper=1.0).astype("Float64")


def _code_columns(keys: pd.Series, per_code: pd.DataFrame, key: str, codes: list[int]) -> pd.DataFrame:
    """``code_<n>`` counts aligned with ``keys`` (nullable), zero-filled."""
    missing = np.iinfo(np.int64).min  # no id is this
    index = pd.Index(keys.astype("Int64").fillna(missing).astype("int64").to_numpy())
    wide = np.zeros((len(keys), len(codes)), dtype=np.int64)
    if len(per_code):
        row = index.get_indexer(per_code[key].astype("Int64").fillna(missing).astype("int64").to_numpy())
        column = np.searchsorted(codes, _int(per_code["error_code"]))
        np.add.at(wide, (row, column), _int(per_code["n"]))
    return pd.DataFrame({code_column(c): wide[:, k] for k, c in enumerate(codes)}, index=keys.index)


def by_campaign(window: Window, codes: Iterable[int] | None = None) -> pd.DataFrame:
    """Errors and the error rate per campaign.

    Parameters
    ----------
    window : Window
    codes : iterable of int, optional
        Count only these codes' rows (the recipients sent stay every recipient sent).

    Returns
    -------
    pandas.DataFrame
        ``campaign_id`` (``<NA>``: rows of no known campaign), ``campaign_name``, ``errors``
        (rows), ``affected`` (affected recipients), ``requests``, ``sends`` (distinct ids),
        ``first_seen``, ``last_seen``, one ``code_<n>`` per code present, ``recipients``
        (recipients sent, ``Int64``) and ``error_rate`` (``affected / recipients``,
        ``Float64``, never above 1); most errors first.
    """
    codes = _codes(codes)
    with window._source() as source:
        source.materialize("mk_sends", "mk_requests")
        rows = _rows(window, source, ["request_id", "id_send", "id_send_message", "error_code", "date",
                                      "campaign_id", "campaign_name"], codes)
        source.con.execute(f"CREATE TEMP TABLE window_rows AS SELECT *, {_UNIT} AS unit FROM {rows}")
        # With every code counted, window_rows holds all the window's rows: the sizes need not
        # read them again.
        _unit_sizes(window, source, rows="window_rows" if codes is None else None)
        # Per unit and campaign first: affected recipients are counted (and capped) per send.
        source.con.execute("CREATE TEMP TABLE cells AS SELECT * FROM " + affected_by(
            "window_rows", ["campaign_id", "unit"],
            "count(*) AS n, min(date) AS first_seen, max(date) AS last_seen, "
            f"arg_min(campaign_name, coalesce(date, {_INFINITY})) FILTER (WHERE campaign_name IS NOT NULL) AS name, "
            f"min(coalesce(date, {_INFINITY})) FILTER (WHERE campaign_name IS NOT NULL) AS named_at",
            name="raw_affected"))
        groups = source.query(
            "SELECT c.campaign_id, arg_min(c.name, c.named_at) AS campaign_name, CAST(sum(c.n) AS BIGINT) AS errors, "
            "CAST(sum(CASE WHEN z.size IS NULL THEN c.raw_affected ELSE least(c.raw_affected, z.size) END) AS BIGINT) "
            "AS affected, min(c.first_seen) AS first_seen, max(c.last_seen) AS last_seen "
            "FROM cells c LEFT JOIN unit_sizes z ON z.unit = c.unit GROUP BY c.campaign_id"
        )
        distinct = source.query(
            "SELECT campaign_id, count(DISTINCT request_id) AS requests, count(DISTINCT id_send) AS sends "
            "FROM (SELECT DISTINCT campaign_id, request_id, id_send FROM window_rows) GROUP BY 1"
        )
        per_code = source.query(
            "SELECT campaign_id, error_code, count(*) AS n FROM window_rows WHERE error_code IS NOT NULL GROUP BY ALL"
        )
        sizes = source.query(_CAMPAIGN_SIZES.format(units="unit_sizes"))
    groups = groups.merge(distinct, on="campaign_id", how="left")
    out = pd.DataFrame({
        "campaign_id": groups["campaign_id"].astype("Int64"),
        "campaign_name": groups["campaign_name"].astype("string"),
        "errors": _int(groups["errors"]),
        "affected": _int(groups["affected"]),
        "requests": _int(groups["requests"]),
        "sends": _int(groups["sends"]),
        "first_seen": prague(groups["first_seen"]),
        "last_seen": prague(groups["last_seen"]),
    })
    present = sorted(int(c) for c in per_code["error_code"].unique())
    out = out.join(_code_columns(out["campaign_id"], per_code, "campaign_id", present))
    recipients = dict(zip(sizes["campaign_id"].astype("int64"), sizes["recipients"]))
    out["recipients"] = pd.array([recipients.get(c, pd.NA) if not pd.isna(c) else pd.NA for c in out["campaign_id"]],
                                 dtype="Int64")
    out["error_rate"] = _rate(out["affected"], out["recipients"])
    return out.sort_values(["errors", "campaign_id"], ascending=[False, True], kind="stable",
                           na_position="last").reset_index(drop=True)


def by_send(window: Window, codes: Iterable[int] | None = None, limit: int | None = None) -> pd.DataFrame:
    """Errors and the error rate per send (per request for rows without a send).

    Parameters
    ----------
    window : Window
    codes : iterable of int, optional
        Count only these codes' rows.
    limit : int, optional
        At most this many sends (most errors first).

    Returns
    -------
    pandas.DataFrame
        ``id_send`` (``<NA>`` for request-level rows, codes 4 and 5), ``request_id`` (the
        first request of the send), ``campaign_id``, ``campaign_name``, ``errors`` (rows),
        ``affected``, ``first_seen``, ``last_seen``, ``codes`` (e.g. ``"2, 6"``), ``info``
        (the most common INFO text), one ``code_<n>`` per code present, ``recipients``
        (recipients sent), ``error_rate``, and Mailkit's ``delivered`` and ``failed`` counts
        with the share of the failures the rows ``explained``
        (:func:`~mailkit_analysis.analysis.outcomes.send_outcomes`); most errors first.
    """
    codes = _codes(codes)
    with window._source() as source:
        source.materialize("mk_sends", "mk_requests")
        rows = _rows(window, source, ["request_id", "id_send", "id_send_message", "error_code", "date",
                                      "campaign_id", "campaign_name", "info"], codes)
        source.con.execute(f"CREATE TEMP TABLE window_rows AS SELECT *, {_UNIT} AS unit FROM {rows}")
        limited = f" LIMIT {int(limit)}" if limit is not None else ""
        per_unit = affected_by("window_rows", ["unit"], f"""
            max(id_send) AS id_send, min(request_id) AS request_id, max(campaign_id) AS campaign_id,
            arg_min(campaign_name, coalesce(date, {_INFINITY})) FILTER (WHERE campaign_name IS NOT NULL)
                AS campaign_name,
            count(*) AS errors, min(date) AS first_seen, max(date) AS last_seen,
            string_agg(DISTINCT CAST(error_code AS VARCHAR), ', ' ORDER BY CAST(error_code AS VARCHAR))
                AS code_text""", name="raw_affected")
        units = source.query(f"""
            WITH u AS (SELECT * FROM {per_unit}),
            i AS (
                SELECT unit, arg_max(info, n) AS info FROM
                    (SELECT unit, info, count(*) AS n FROM window_rows WHERE info IS NOT NULL GROUP BY ALL)
                GROUP BY unit
            )
            SELECT u.*, i.info, z.size FROM u LEFT JOIN i USING (unit)
            LEFT JOIN {_unit_sizes(window, source, rows="window_rows" if codes is None else None)} z
                ON z.unit = u.unit
            ORDER BY u.errors DESC, u.first_seen NULLS LAST, u.unit{limited}
        """)
        per_code = source.query(
            "SELECT unit, error_code, count(*) AS n FROM window_rows WHERE error_code IS NOT NULL GROUP BY ALL"
        )
    present = sorted(int(c) for c in per_code["error_code"].unique())
    size = units["size"].astype("Int64")
    raw = units["raw_affected"].astype("Int64")
    affected = raw.where(size.isna(), np.minimum(raw.fillna(0), size.fillna(0))).astype("int64")
    out = pd.DataFrame({
        "id_send": units["id_send"].astype("Int64"),
        "request_id": units["request_id"].astype("Int64"),
        "campaign_id": units["campaign_id"].astype("Int64"),
        "campaign_name": units["campaign_name"].astype("string"),
        "errors": _int(units["errors"]),
        "affected": affected.to_numpy(),
        "first_seen": prague(units["first_seen"]),
        "last_seen": prague(units["last_seen"]),
        "codes": _sorted_codes(units["code_text"]),
        "info": units["info"].astype("string"),
    })
    out = out.join(_code_columns(units["unit"], per_code, "unit", present))
    out["recipients"] = size.to_numpy()
    out["error_rate"] = _rate(out["affected"], out["recipients"])
    return send_outcomes(out, _sends_table(window))


def _sends_table(window: Window) -> pd.DataFrame | None:
    """The sends table with Mailkit's delivered and failed counts (one row per send)."""
    if window.frame is not None:
        return window.given_sends
    return load_sends(window.data_dir)


def _sorted_codes(texts: pd.Series) -> pd.Series:
    """``"2, 10"`` in numeric order (SQL sorted the codes as text)."""
    def numeric(text):
        if text is None or pd.isna(text) or text == "":  # a column of nothing but NULLs comes as NaN
            return ""
        return ", ".join(str(c) for c in sorted(int(c) for c in str(text).split(", ")))
    return pd.Series([numeric(t) for t in texts], dtype="string")


# --------------------------------------------------------------------------- recipients

def affected_recipients(window: Window, limit: int | None = None, codes: Iterable[int] | None = None) -> pd.DataFrame:
    """One row per recipient address with the errors it had.

    Rows without an address (code 3) are gathered in one :data:`NO_ADDRESS` row. The
    addresses come back as the cache holds them: mask them
    (:func:`mailkit_analysis.masking.mask_emails`) before showing them to anyone else.

    Parameters
    ----------
    window : Window
    limit : int, optional
        At most this many addresses (most rows first); the number of all of them is in
        ``result.attrs["total"]``.
    codes : iterable of int, optional
        Only rows with these codes.

    Returns
    -------
    pandas.DataFrame
        ``email``, ``error_codes`` (e.g. ``"2, 6"``), ``rows``, ``sends``, ``first_seen``,
        ``last_seen``; most rows first, then most recent.
    """
    limited = f" LIMIT {int(limit)}" if limit is not None else ""
    with window._source() as source:
        # Who a row is about: the address, or a masked frame's recipient key (one mask can
        # stand for several people, who stay apart).
        key = source.recipient_column
        blank = "trim(coalesce(email, '')) = ''"
        rows = _rows(window, source, ["email", "error_code", "id_send", "date", key], _codes(codes))
        source.con.execute(
            f"CREATE TEMP TABLE who AS SELECT CASE WHEN {blank} THEN '{NO_ADDRESS}' ELSE {key} END AS who, "
            f"CASE WHEN {blank} THEN '{NO_ADDRESS}' ELSE email END AS email, error_code, id_send, date FROM {rows}")
        out = source.query(
            "SELECT min(email) AS email, string_agg(DISTINCT CAST(error_code AS VARCHAR), ', ') AS error_codes, "
            "count(*) AS rows, count(DISTINCT id_send) AS sends, min(date) AS first_seen, max(date) AS last_seen "
            f"FROM who GROUP BY who ORDER BY rows DESC, last_seen DESC NULLS LAST, email, who{limited}"
        )
        total = int(source.query("SELECT count(DISTINCT who) AS n FROM who")["n"].iloc[0])
    result = pd.DataFrame({
        "email": out["email"].astype("string"),
        "error_codes": _sorted_codes(out["error_codes"]),
        "rows": _int(out["rows"]),
        "sends": _int(out["sends"]),
        "first_seen": prague(out["first_seen"]),
        "last_seen": prague(out["last_seen"]),
    })
    result.attrs["total"] = total
    return result


# --------------------------------------------------------------------------- domains

def _register_domain(source: Source) -> None:
    """``mk_domain(email)``: the domain rule of :mod:`.domains`, in DuckDB.

    Addresses with one ``@`` (nearly all) are read by the rule's own pattern in SQL (RE2, as
    in arrow); the rare ones with several go through the rule's Python code as an arrow UDF,
    which costs a second per million rows and so is kept to them.
    """
    def domain(addresses: pa.Array) -> pa.Array:
        if isinstance(addresses, pa.ChunkedArray):
            addresses = addresses.combine_chunks()
        return _extract_arrow(addresses.cast(pa.large_string())).cast(pa.string())

    source.con.create_function("mk_domain_py", domain, ["VARCHAR"], "VARCHAR", type="arrow",
                               null_handling="special", side_effects=False)
    pattern = _DOMAIN_PATTERN.replace("'", "''")
    junk = _TRAILING_JUNK.replace("'", "''")
    source.con.execute(
        "CREATE MACRO mk_domain(address) AS CASE WHEN address LIKE '%@%@%' THEN mk_domain_py(address) "
        f"ELSE nullif(rtrim(regexp_extract(lower(address), '{pattern}', 1), '{junk}'), '') END"
    )


def _per_address_sql(rows: str, key: str = "email") -> str:
    """The window's rows gathered per address and code, in one pass over the rows.

    A cache holds few distinct addresses next to its rows (a recipient fails again and
    again), so the domain rule, the typo rule and every per-address question run over these
    groups rather than over every row. ``key``: a masked frame's recipient key as well (see
    :attr:`Source.recipient_column`).
    """
    kept = "" if key == "email" else f"{key}, "
    return (
        f"SELECT {kept}email, error_code, count(*) AS n, min(coalesce(date, {_INFINITY})) AS first_key, "
        f"min(date) AS first_seen, max(date) AS last_seen, max(coalesce(date, {_INFINITY})) AS last_key, "
        # One arg_max of a pair, and list_distinct of a list (a DISTINCT aggregate costs
        # several times more per group): both a third of the time of the plain forms.
        f"arg_max({{'id_send': id_send, 'request_id': request_id}}, coalesce(date, {_INFINITY})) AS last_ids, "
        f"list_distinct(list(campaign_id)) AS campaigns FROM {rows} GROUP BY ALL"
    )


def domain_counts(window: Window, codes: Iterable[int] | None = None) -> pd.DataFrame:
    """Rows per recipient domain and code, with one example address per domain.

    Returns
    -------
    pandas.DataFrame
        ``domain`` (``<NA>``: no findable domain), ``error_code``, ``count`` and ``example``
        (the earliest address of that domain and code, unmasked); ordered by domain, then
        by when the example was seen, so the first row of a domain has its earliest address.
    """
    with window._source() as source:
        _register_domain(source)
        rows = _rows(window, source, ["email", "error_code", "date"], _codes(codes))
        # Counted per address first: the domain pattern then runs once per address, not per row.
        out = source.query(
            "SELECT domain, error_code, CAST(sum(n) AS BIGINT) AS count, arg_min(email, first_key) AS example, "
            "min(first_key) AS first_key FROM (SELECT mk_domain(email) AS domain, * FROM "
            f"(SELECT email, error_code, count(*) AS n, min(coalesce(date, {_INFINITY})) AS first_key FROM {rows} "
            "GROUP BY ALL)) GROUP BY ALL ORDER BY domain NULLS LAST, first_key, error_code NULLS LAST"
        )
    return out[["domain", "error_code", "count", "example"]].astype(
        {"domain": "string", "error_code": "Int64", "count": "int64", "example": "string"})


def recipient_domains(window: Window, codes: Iterable[int] = (2, 3, 6), top_n: int = 20) -> pd.DataFrame:
    """Rows per recipient domain of the given codes, with typo suggestions.

    Returns
    -------
    pandas.DataFrame
        ``domain``, ``count``, ``share`` (of the counted rows), one ``code_<n>`` per code in
        ``codes``, ``suggestion`` and ``is_typo``; most rows first, ``other`` last. Rows
        without a findable domain count as ``(no domain)``.
    """
    codes = [int(c) for c in codes]
    code_columns = [code_column(c) for c in codes]
    counts = domain_counts(window, codes)
    if counts.empty:
        empty = {"domain": "string", "count": "int64", "share": "float64",
                 **{c: "int64" for c in code_columns}, "suggestion": "string", "is_typo": "bool"}
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in empty.items()})
    counts["domain"] = counts["domain"].fillna(NO_DOMAIN)
    table = (counts.groupby(["domain", "error_code"])["count"].sum().unstack(fill_value=0)
             .reindex(columns=codes, fill_value=0))
    table.columns = code_columns
    table.insert(0, "count", table.sum(axis=1))
    table = table.sort_index(kind="stable").sort_values("count", ascending=False, kind="stable")
    total = int(table["count"].sum())
    if len(table) > top_n:
        rest = table.iloc[top_n:].sum(axis=0).rename(OTHER).to_frame().T
        table = pd.concat([table.iloc[:top_n], rest])
    out = table.rename_axis("domain").reset_index()
    out["domain"] = out["domain"].astype("string")
    out.insert(2, "share", out["count"] / total)
    special = out["domain"].isin([OTHER, NO_DOMAIN])
    out["suggestion"] = suggest_domains(out["domain"].where(~special))
    out["is_typo"] = out["suggestion"].notna().astype(bool)
    return out.astype({"count": "int64", **{c: "int64" for c in code_columns}})


def likely_typos(window: Window, codes: Iterable[int] | None = None) -> pd.DataFrame:
    """Domains of the window's addresses that look like typos of common providers.

    Returns
    -------
    pandas.DataFrame
        ``domain``, ``suggestion``, ``count`` (rows), ``example`` (one address, masked);
        most frequent first.
    """
    columns = {"domain": "string", "suggestion": "string", "count": "int64", "example": "string"}
    counts = domain_counts(window, codes)
    counts = counts[counts["domain"].notna()]
    if counts.empty:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})
    grouped = counts.groupby("domain", sort=False)
    out = pd.DataFrame({"count": grouped["count"].sum(), "example": grouped["example"].first()}).reset_index()
    out["suggestion"] = suggest_domains(out["domain"])
    out = out[out["suggestion"].notna()].copy()
    out["example"] = mask_emails(out["example"].astype("string"))
    out = out.sort_values(["count", "domain"], ascending=[False, True], kind="stable")
    return out[list(columns)].astype(columns).reset_index(drop=True)


def addresses_to_fix(window: Window, codes: Iterable[int] = (2,), *, mask: bool = True) -> pd.DataFrame:
    """The addresses someone should correct at their source, one row per address.

    An address is listed when Mailkit called it invalid (``codes``, default 2) or when its
    domain looks like a typo of a common provider, whatever its code; rows without an
    address are left out.

    Parameters
    ----------
    window : Window
    codes : iterable of int, default (2,)
        Codes whose addresses are always listed.
    mask : bool, default True
        Mask the addresses (``j***@gmail.com``; the suggested address is built from the
        masked one). Only False for people allowed to see the addresses.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`mailkit_analysis.analysis.recipients.FIX_COLUMNS`; most rows
        first, then most recent.
    """
    from .recipients import FIX_COLUMNS, _reason, _with_domain

    codes = [int(c) for c in codes]
    with window._source() as source:
        _register_domain(source)
        key = source.recipient_column  # who an address is: the address, or a masked frame's key
        rows = _rows(window, source, ["email", "error_code", "date", "campaign_id", "id_send", "request_id", key])
        # One pass over the rows, per address and code; the domain and typo rules then run
        # over the (few) addresses, and an address is gathered from the codes that list it.
        source.con.execute(
            "CREATE TEMP TABLE per_address AS SELECT mk_domain(email) AS domain, * FROM "
            f"({_per_address_sql(rows, key)}) WHERE trim(coalesce(email, '')) <> ''"
        )
        domains = source.query("SELECT DISTINCT domain FROM per_address WHERE domain IS NOT NULL")["domain"]
        suggested = pd.DataFrame({"domain": domains.to_numpy(dtype=object),
                                  "suggestion": suggest_domains(domains).to_numpy(dtype=object)})
        suggested = suggested[suggested["suggestion"].notna()].reset_index(drop=True)
        source.con.register("mk_typos", suggested)
        out = source.query(f"""
            SELECT min(a.email) AS email, any_value(a.domain) AS domain, any_value(t.suggestion) AS suggested_domain,
                   string_agg(CAST(a.error_code AS VARCHAR), ', ') AS error_codes, CAST(sum(a.n) AS BIGINT) AS rows,
                   min(a.first_seen) AS first_seen, max(a.last_seen) AS last_seen,
                   nullif(array_to_string(list_sort(list_distinct(flatten(list(a.campaigns)))), ', '), '')
                       AS campaign_ids,
                   arg_max(a.last_ids, a.last_key).id_send AS last_id_send,
                   arg_max(a.last_ids, a.last_key).request_id AS last_request_id
            FROM per_address a LEFT JOIN mk_typos t ON t.domain = a.domain
            WHERE a.error_code IN ({", ".join(map(str, codes)) or "NULL"}) OR t.suggestion IS NOT NULL
            GROUP BY a.{key} ORDER BY rows DESC, last_seen DESC NULLS LAST, email, a.{key}
        """)
    if out.empty:
        empty = pd.DataFrame({c: pd.Series([], dtype="string") for c in FIX_COLUMNS})
        return empty.astype({"rows": "int64"})
    email = out["email"].astype("string")
    if mask:
        email = mask_emails(email)
    table = pd.DataFrame({
        "email": email,
        "domain": out["domain"].astype("string"),
        "suggested_domain": out["suggested_domain"].astype("string"),
        "error_codes": _sorted_codes(out["error_codes"]),
        "rows": _int(out["rows"]),
        "first_seen": prague(out["first_seen"]),
        "last_seen": prague(out["last_seen"]),
        "campaign_ids": _sorted_codes(out["campaign_ids"]),
        "last_id_send": out["last_id_send"].astype("Int64"),
        "last_request_id": out["last_request_id"].astype("Int64"),
    })
    table["suggested_email"] = pd.array([_with_domain(a, d) for a, d in zip(table["email"], table["suggested_domain"])],
                                        dtype="string")
    table["reason"] = pd.array([_reason(d, g) for d, g in zip(table["domain"], table["suggested_domain"])],
                               dtype="string")
    return table[FIX_COLUMNS]
