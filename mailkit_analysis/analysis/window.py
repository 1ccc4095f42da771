"""One date window of the results, and every question the toolkit asks of it.

A :class:`Window` is a date range (``since <= date < until``, Prague time) with optional
campaigns and send, over the cache or over a results frame a Python user hands in. Each
answer is one SQL query run by DuckDB inside the parquet files (only the needed columns of
the needed month partitions) or over the user's frame as an in-memory arrow table, the same
query either way, and comes back as a small pandas frame. Rows reach pandas only through
:meth:`Window.rows` (or :func:`~mailkit_analysis.cache.load_results`), never implicitly.

The one rate
------------
``rate = affected recipients / recipients sent``, where *affected recipients* are the
distinct ``id_send_message`` values of the error rows (a row without one counts once) and
*recipients sent* is the send's size from Mailkit (``SEND_COUNT``), else the request
manifest's ``recipients``. Affected recipients are capped at recipients sent, so a rate is
never above 100 %; a total with any part of unknown size is ``<NA>``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Iterable

import pandas as pd

from ..cache import load_results
from ..errors import WindowError
from ..frame import RESULT_COLUMNS, conform, nullable_types
from ..prague_time import PRAGUE_DTYPE, window_bounds
from ..i18n import format_datetime, gettext as _
from .flags import FlagConfig
from .source import Source, prague, sql_ints, sql_time

__all__ = ["Window", "WindowError", "window_bounds", "WindowFlags", "flags_for_window", "LOOKBACK_DAYS", "affected_by"]

#: History read before ``since`` so baselines exist at the window's start.
LOOKBACK_DAYS = 60



def affected_by(rows: str, keys: Iterable[str], aggregates: str, *, name: str = "recipients") -> str:
    """Group ``rows`` by ``keys`` with ``aggregates`` and the group's affected recipients, in SQL.

    Affected recipients are the distinct ``id_send_message`` values of a group's rows, and
    each row without one once (Mailkit may report a recipient without a message id): the
    group's rows less the *repeats*, the rows of a message id beyond its first in the group.
    This is the toolkit's one count of affected recipients; every table and rule takes it
    from here.

    Parameters
    ----------
    rows : str
        A relation (table name or parenthesised query) with ``id_send_message`` and the keys;
        it is read twice.
    keys : iterable of str
        The grouping columns (plain column names; NULL is a key value of its own).
    aggregates : str
        Further aggregate expressions over ``rows``, with their aliases (``"min(date) AS
        first"``), or ``""``.
    name : str, default "recipients"
        The affected recipients' column.

    Returns
    -------
    str
        A parenthesised query: the keys, the aggregates, then ``name`` (BIGINT).
    """
    keys = list(keys)
    listed = ", ".join(keys)
    extra = f", {aggregates}" if aggregates else ""
    same = " AND ".join(f"g.{k} IS NOT DISTINCT FROM r.{k}" for k in keys)
    # Not count(DISTINCT id_send_message): DuckDB hashes every row's id for that, per group,
    # and on 10 million rows that was half of the flags' scan. Repeats are rare (Mailkit lists
    # a recipient twice only now and then), so they are found by a second, cheaper scan that
    # keeps only the ids seen more than once, and subtracted.
    return f"""(
        SELECT g.* EXCLUDE (mk_group_rows), (g.mk_group_rows - coalesce(r.repeats, 0))::BIGINT AS {name}
        FROM (SELECT {listed}, count(*) AS mk_group_rows{extra} FROM {rows} GROUP BY {listed}) g
        LEFT JOIN (
            SELECT {listed}, sum(n - 1) AS repeats
            FROM (SELECT {listed}, id_send_message, count(*) AS n FROM {rows}
                  WHERE id_send_message IS NOT NULL GROUP BY {listed}, id_send_message HAVING count(*) > 1)
            GROUP BY {listed}
        ) r ON {same}
    )"""

_TIME = PRAGUE_DTYPE
_INFINITY = "'infinity'::TIMESTAMPTZ"


@dataclass(frozen=True)
class Window:
    """A date window of results, with optional campaigns and send.

    Parameters
    ----------
    data_dir : path, optional
        Data folder of the cache (default: :func:`mailkit_analysis.paths.default_data_dir`).
    since, until : str, date or datetime, optional
        ``since <= date < until``; a bare date ``until`` includes that whole day; naive
        times are Prague time; None = open.
    campaigns : iterable of int, optional
        Only these campaigns.
    id_send : int, optional
        Only this send.

    Raises
    ------
    WindowError
        ``since`` not before ``until``, or a bound that is not a date.

    See Also
    --------
    Window.from_frame : the same window over a results frame instead of the cache.
    """

    data_dir: str | os.PathLike | None = None
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    campaigns: tuple[int, ...] | None = None
    id_send: int | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    given_sends: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    given_requests: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        since, until = window_bounds(self.since, self.until)
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "until", until)
        if self.campaigns is not None:
            object.__setattr__(self, "campaigns", tuple(sorted({int(c) for c in self.campaigns})))
        if self.id_send is not None:
            object.__setattr__(self, "id_send", int(self.id_send))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, sends: pd.DataFrame | None = None,
                   requests: pd.DataFrame | None = None, since=None, until=None,
                   campaigns: Iterable[int] | None = None, id_send: int | None = None) -> "Window":
        """A window over a results frame instead of the cache; the same queries run over it.

        Parameters
        ----------
        frame : pandas.DataFrame
            A results frame (see :mod:`mailkit_analysis.frame`); missing columns are null.
        sends : pandas.DataFrame, optional
            Sends with ``id_send`` and ``send_count`` (optionally ``campaign_id``,
            ``send_date``): the recipients sent.
        requests : pandas.DataFrame, optional
            Requests with ``request_id`` and ``recipients`` (optionally ``id_send``,
            ``campaign_id``, ``sent_at``, ``status``, ``final``), as the manifest has them.
        since, until, campaigns, id_send
            As for :class:`Window`.
        """
        return cls(None, since, until, campaigns, id_send, frame=frame, given_sends=sends,
                   given_requests=requests)

    # ----------------------------------------------------------------------- plumbing
    def narrowed(self, *, campaigns: Iterable[int] | None = None, id_send: int | None = None) -> "Window":
        """The same dates, restricted to some campaigns or one send."""
        return replace(self, campaigns=campaigns if campaigns is not None else self.campaigns,
                       id_send=id_send if id_send is not None else self.id_send)

    def _source(self) -> Source:
        if self.frame is not None:
            return Source(frame=self.frame, sends=self.given_sends, requests=self.given_requests)
        return Source(self.data_dir)

    def _start(self, lookback: pd.Timedelta | None) -> pd.Timestamp | None:
        if lookback is None or self.since is None:
            return self.since
        return self.since - pd.Timedelta(lookback)

    def _rows(self, source: Source, columns, *, since=..., codes=None) -> str:
        return source.rows(columns, since=self.since if since is ... else since, until=self.until,
                           campaigns=self.campaigns, id_send=self.id_send, codes=codes)

    # ----------------------------------------------------------------------- rows, on request
    def rows(self, limit: int | None = None, *, columns: Iterable[str] | None = None,
             codes: Iterable[int] | None = None) -> pd.DataFrame:
        """The window's result rows as a results frame, read only when asked for.

        Parameters
        ----------
        limit : int, optional
            At most this many rows (the earliest first); None reads them all, which a
            large window may not fit in memory for.
        columns : iterable of str, optional
            Read only these columns (the others are missing from the frame).
        codes : iterable of int, optional
            Only rows with these error codes.
        """
        if self.frame is None and limit is None:
            frame = load_results(self.data_dir, since=self.since, until=self.until, campaigns=self.campaigns,
                                 codes=codes, columns=list(columns) if columns is not None else None)
            if self.id_send is not None:
                frame = frame[(frame["id_send"] == self.id_send).fillna(False)].reset_index(drop=True)
            return frame
        wanted = list(columns) if columns is not None else list(RESULT_COLUMNS)
        # The order (earliest first) needs the date and request even when they are not asked for.
        read = wanted + [c for c in ("date", "request_id") if c not in wanted]
        with self._source() as source:
            sql = (f"SELECT {', '.join(wanted)} FROM {self._rows(source, read, codes=codes)} "
                   "ORDER BY date NULLS LAST, request_id")
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            table = source.arrow(sql)
        frame = table.to_pandas(types_mapper=nullable_types)
        for column in ("date", "fetched_at"):
            if column in frame:
                frame[column] = prague(frame[column])
        if "fetched_at" in frame:
            frame["fetched_at"] = frame["fetched_at"].dt.tz_convert("UTC")
        return conform(frame) if columns is None else frame

    # ----------------------------------------------------------------------- contract frames
    def send_codes(self, lookback: pd.Timedelta | None = None) -> pd.DataFrame:
        """One row per (request, send, error code) with error rows in the window.

        Parameters
        ----------
        lookback : pandas.Timedelta, optional
            Extend the window back by this much (for rules that compare with history).

        Returns
        -------
        pandas.DataFrame
            ``campaign_id`` (Int64), ``campaign_name`` (string), ``request_id`` (Int64),
            ``id_send`` (Int64, <NA> when no send was created), ``error_code`` (Int64),
            ``first_date``, ``last_date`` (Prague), ``rows`` and ``recipients`` (int64,
            affected recipients: see the module docstring); ordered by request, code.
        """
        with self._source() as source:
            table = source.query(
                f"SELECT * EXCLUDE (name_date) FROM ({self._send_codes_sql(source, self._start(lookback))}) "
                "ORDER BY request_id, id_send NULLS FIRST, error_code NULLS LAST"
            )
        return pd.DataFrame({
            "campaign_id": table["campaign_id"].astype("Int64"),
            "campaign_name": table["campaign_name"].astype("string"),
            "request_id": table["request_id"].astype("Int64"),
            "id_send": table["id_send"].astype("Int64"),
            "error_code": table["error_code"].astype("Int64"),
            "first_date": prague(table["first_date"]),
            "last_date": prague(table["last_date"]),
            "rows": table["rows"].astype("int64"),
            "recipients": table["recipients"].astype("int64"),
        })

    def _send_codes_sql(self, source: Source, since: pd.Timestamp | None, *, names: bool = True) -> str:
        """The SQL of :meth:`send_codes`, unordered, with ``name_date`` (the date of the row
        ``campaign_name`` was taken from) so that per-request names can be derived from it.
        ``names=False`` leaves both out (the incidents take names from the campaigns first:
        a string per group of ten million rows is most of the aggregate's cost)."""
        columns = ["request_id", "id_send", "id_send_message", "error_code", "date", "campaign_id"]
        aggregates = "max(campaign_id) AS campaign_id, min(date) AS first_date, max(date) AS last_date, count(*) AS rows"
        if names:
            columns.append("campaign_name")
            aggregates += (
                f", arg_min(campaign_name, coalesce(date, {_INFINITY})) FILTER (WHERE campaign_name IS NOT NULL) "
                f"AS campaign_name, min(coalesce(date, {_INFINITY})) FILTER (WHERE campaign_name IS NOT NULL) AS name_date")
        rows = self._rows(source, columns, since=since)
        return "SELECT * FROM " + affected_by(rows, ["request_id", "id_send", "error_code"], aggregates)

    def _request_names_sql(self, source: Source, since: pd.Timestamp | None, requests: str) -> str:
        """Per request of ``requests`` (a relation with ``request_id``; NULL stands for the rows
        without one) the campaign name of its first named row, as :meth:`_seen_sql` takes it."""
        rows = self._rows(source, ["request_id", "date", "campaign_name"], since=since)
        return (f"SELECT request_id, arg_min(campaign_name, coalesce(date, {_INFINITY})) AS campaign_name "
                f"FROM {rows} r SEMI JOIN {requests} q ON r.request_id IS NOT DISTINCT FROM q.request_id "
                "WHERE campaign_name IS NOT NULL GROUP BY request_id")

    def sends(self, lookback: pd.Timedelta | None = None) -> pd.DataFrame:
        """One row per request in the window (and per send enrichment lists without one).

        A request is in the window when it has error rows there or was sent in it (the
        manifest's ``sent_at``, else its send's date); a send that enrichment lists and no
        request names is in it when its send date is.

        Parameters
        ----------
        lookback : pandas.Timedelta, optional
            Extend the window back by this much.

        Returns
        -------
        pandas.DataFrame
            ``request_id`` (Int64, <NA> for a send without a request), ``id_send``,
            ``campaign_id`` (Int64), ``campaign_name`` (string), ``sent_at`` (Prague: the
            manifest's ``sent_at``, else the send's date, else the first error row's
            date), ``send_count`` (Int64 recipients sent: SEND_COUNT, else the manifest's
            ``recipients``), ``status`` (string), ``final`` (boolean), ``rows`` (int64
            error rows in the window); ordered by ``sent_at``.
        """
        with self._source() as source:
            table = source.query(self._sends_sql(source, self._start(lookback)))
        return pd.DataFrame({
            "request_id": table["request_id"].astype("Int64"),
            "id_send": table["id_send"].astype("Int64"),
            "campaign_id": table["campaign_id"].astype("Int64"),
            "campaign_name": table["campaign_name"].astype("string"),
            "sent_at": prague(table["sent_at"]),
            "send_count": table["send_count"].astype("Int64"),
            "status": table["status"].astype("string"),
            "final": table["final"].astype("boolean"),
            "rows": table["rows"].astype("int64"),
        })

    def _sends_sql(self, source: Source, since: pd.Timestamp | None, seen: str | None = None,
                   ordered: bool = True) -> str:
        """The SQL of :meth:`sends` (also the denominators of every rate).

        ``seen`` is a relation with one row per request that has rows (``request_id``,
        ``id_send``, ``campaign_id``, ``campaign_name``, ``first_date``, ``rows``), for a
        caller that has aggregated the rows already; by default the rows are read again.
        ``ordered=False`` leaves the order to the caller (a sort of every request saved).
        """
        inside = []
        if since is not None:
            inside.append(f"sent_at >= {sql_time(since)}")
        if self.until is not None:
            inside.append(f"sent_at < {sql_time(self.until)}")
        if self.campaigns is not None:
            inside.append(f"campaign_id IN ({sql_ints(self.campaigns)})")
        if self.id_send is not None:
            inside.append(f"id_send = {int(self.id_send)}")
        chosen = " AND ".join(inside) or "true"
        if seen is None:
            seen = self._seen_sql(self._rows(source, self.SEEN_COLUMNS, since=since))
        return f"""
            WITH seen AS {seen},
            requests AS (
                SELECT coalesce(q.request_id, r.request_id) AS request_id,
                       coalesce(q.id_send, r.id_send) AS id_send,
                       q.campaign_id AS q_campaign, r.campaign_id AS r_campaign, r.campaign_name AS r_name,
                       q.sent_at AS q_sent, r.first_date, q.recipients, q.status, q.final,
                       coalesce(r.rows, 0) AS rows, r.request_id IS NOT NULL AS has_rows
                FROM mk_requests q FULL OUTER JOIN seen r ON q.request_id = r.request_id
            ),
            described AS (
                SELECT q.request_id, q.id_send,
                       coalesce(q.q_campaign, s.campaign_id, q.r_campaign) AS campaign_id, q.r_name,
                       coalesce(q.q_sent, s.sent, q.first_date) AS sent_at,
                       coalesce(s.send_count, q.recipients) AS send_count,
                       q.status, q.final, q.rows, q.has_rows
                FROM requests q LEFT JOIN mk_sends s ON s.id_send = q.id_send
            ),
            kept AS (
                SELECT * FROM described WHERE has_rows OR ({chosen})
            ),
            lone AS (
                SELECT NULL::BIGINT AS request_id, id_send, campaign_id, NULL::VARCHAR AS r_name, sent AS sent_at,
                       send_count, NULL::VARCHAR AS status, NULL::BOOLEAN AS final, 0::BIGINT AS rows,
                       false AS has_rows
                -- An anti join, not NOT IN: the same answer here (neither side has a NULL
                -- id_send), without NOT IN's mark join over every send.
                FROM (SELECT id_send, campaign_id, sent AS sent_at, sent, send_count FROM mk_sends) s
                ANTI JOIN (SELECT id_send FROM described WHERE id_send IS NOT NULL) d ON s.id_send = d.id_send
                WHERE ({chosen})
            )
            SELECT u.request_id, u.id_send, u.campaign_id,
                   coalesce(n.campaign_name, u.r_name) AS campaign_name, u.sent_at,
                   u.send_count, u.status, u.final, u.rows
            FROM (SELECT * FROM kept UNION ALL SELECT * FROM lone) u
            LEFT JOIN {self._names(source)} n ON n.campaign_id = u.campaign_id
            {"ORDER BY u.sent_at NULLS LAST, u.request_id NULLS LAST, u.id_send" if ordered else ""}
        """

    #: The row columns :meth:`_seen_sql` reads.
    SEEN_COLUMNS = ("request_id", "id_send", "date", "campaign_id", "campaign_name")

    @staticmethod
    def _seen_sql(rows: str) -> str:
        """One row per request with rows in ``rows`` (a relation with :data:`SEEN_COLUMNS`):
        its send, campaign, campaign name (of its first named row), first date and rows, as
        :meth:`_sends_sql` takes them."""
        return f"""(
            SELECT request_id, max(id_send) AS id_send, max(campaign_id) AS campaign_id,
                   arg_min(campaign_name, coalesce(date, {_INFINITY})) FILTER (WHERE campaign_name IS NOT NULL)
                       AS campaign_name,
                   min(date) AS first_date, count(*) AS rows
            FROM {rows} GROUP BY request_id
        )"""

    @staticmethod
    def _names(source: Source) -> str:
        if source.frame is not None:
            return ("(SELECT campaign_id, arg_min(campaign_name, coalesce(date, 'infinity'::TIMESTAMPTZ)) AS "
                    "campaign_name FROM mk_frame WHERE campaign_id IS NOT NULL AND campaign_name IS NOT NULL "
                    "GROUP BY campaign_id)")
        return "mk_campaign_names"


# --------------------------------------------------------------------------- flags (incidents)

@dataclass
class WindowFlags:
    """Incidents of one window (see :mod:`~mailkit_analysis.analysis.incidents`).

    Attributes
    ----------
    flags : pandas.DataFrame
        One row per incident, ongoing critical first.
    frame : pandas.DataFrame
        The window's result rows (read from the cache only when first asked for: a large
        window may not fit in memory, and the incidents do not need them).
    since, until : pandas.Timestamp or None
        The window.
    """

    flags: pd.DataFrame
    window: "Window"
    since: pd.Timestamp | None
    until: pd.Timestamp | None

    @property
    def frame(self) -> pd.DataFrame:
        if "_frame" not in self.__dict__:
            self.__dict__["_frame"] = self.window.rows()
        return self.__dict__["_frame"]

    @property
    def critical(self) -> pd.DataFrame:
        """The critical incidents."""
        return self.flags[self.flags["severity"] == "critical"]

    def describe_window(self) -> str:
        """The window as text in the language in force: ``"2026-11-01 00:00 – now (Europe/Prague)"``."""
        low = format_datetime(self.since) if self.since is not None else _("the beginning")
        high = format_datetime(self.until) if self.until is not None else _("now")
        return f"{low} – {high} (Europe/Prague)"


def flags_for_window(
    data_dir: str | os.PathLike | None = None,
    *,
    since=None,
    until=None,
    campaigns=None,
    config: FlagConfig | str | os.PathLike | None = None,
    rules=None,
    lookback=None,
) -> WindowFlags:
    """Find the incidents with a failed send in ``since <= date < until`` (bare dates: whole days).

    Parameters
    ----------
    data_dir : path, optional
        Data folder of the cache.
    since, until : str, date or datetime, optional
        The window; naive values are Prague time.
    campaigns : iterable of int, optional
        Only these campaigns.
    config : FlagConfig or path, optional
        Thresholds (see :class:`~mailkit_analysis.analysis.flags.FlagConfig`).
    rules : iterable of str, optional
        Run only these rules (default all).
    lookback : str or pandas.Timedelta, optional
        History read before ``since`` (default :data:`LOOKBACK_DAYS` days).

    Returns
    -------
    WindowFlags
    """
    from .incidents import find_incidents

    window = Window(data_dir, since=since, until=until, campaigns=campaigns)
    flags = find_incidents(window, config, rules=rules, lookback=pd.Timedelta(lookback) if lookback else None)
    return WindowFlags(flags, window, window.since, window.until)
