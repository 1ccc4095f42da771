"""Incidents: one entry per problem of a window, what needs action now first.

:func:`find_incidents` reads two small aggregates of a :class:`~.window.Window` (per request
and code: rows and affected recipients; per request: its campaign, send time and size), both
computed by DuckDB inside the parquet files, and groups them into incidents. No result row
reaches pandas, so a year of ten million rows costs what its requests cost.

``setup`` (critical)
    A run of consecutive sends of one campaign that failed with the same set-up code (1, 4,
    5, 7, 8): one incident, *ongoing* while the campaign's latest send still fails with
    it, *resolved* once a later send went out without it. A request without a campaign is
    its own run.
``addresses`` (warning)
    Sends with invalid or missing addresses (2, 3) above a rate (a count when the size is
    not known), grouped per campaign and code over consecutive days.
``drift`` (warning)
    A campaign whose invalid-address share climbed week after week to well above its own
    earlier level: one warning (its address warnings in those weeks are part of it).
``spike`` (warning)
    Days on which a code was far more frequent per recipient than over the previous days,
    beyond what the rules above report, grouped per campaign and code over consecutive days.
``unsubscribed`` (warning)
    A send, or a day of a campaign, whose unsubscribed share (6) is far above the campaign's
    usual share, with a floor on the count and on the multiple; grouped over consecutive days.
``unknown_code`` (warning)
    A code the catalogue does not know: one warning per code naming the campaigns it touched.
"""
from __future__ import annotations

from collections.abc import Mapping
from os import PathLike

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from ..codes import CATALOGUE, UNKNOWN, lookup
from ..i18n import N_, format_number, format_percent, format_skeleton, format_time, gettext as _, ngettext
from ..prague_time import PRAGUE_DTYPE, prague_days, to_prague_times
from .memory import give_back_freed_memory
from .source import prague
from .flags import FLAG_COLUMNS, RULES, FlagConfig, _resolve_config, _rolling_baseline

__all__ = ["find_incidents", "order_incidents", "STATUSES", "SCREENFUL"]

#: Values of the ``status`` column.
STATUSES = ("ongoing", "resolved")
#: How many incidents a report or notebook shows before saying how many more there are.
SCREENFUL = 15

_DAY = pd.Timedelta(days=1)

# How a set-up failure reads in a message, shorter than the catalogue's full sentence.
_SETUP_PROBLEM = {
    1: N_("missing attachment"),
    4: N_("invalid mailinglist_id"),
    5: N_("invalid campaign (id_message)"),
    7: N_("no sender address"),
    8: N_("invalid template"),
}


def _worst_domains(window, incidents: list[dict], cfg: FlagConfig, limit: int = 20) -> None:
    """Name the worst domains in the messages of address incidents (one small query).

    Only the rows of the incidents' own sends are read, so this stays cheap on any cache.
    """
    from .domains import suggest_domains

    chosen = [i for i in incidents if i["rule"] == "addresses"][:limit]
    if not chosen or cfg.address_top_domains <= 0:
        return
    requests = sorted({r for i in chosen for r in i["_request_ids"]})
    since = min(i["first_seen"] for i in chosen)
    with window._source() as source:
        rows = window._rows(source, ["request_id", "email", "error_code"], since=since,
                            codes=list(cfg.address_codes))
        table = source.query(
            "SELECT request_id, error_code, lower(nullif(split_part(email, '@', 2), '')) AS domain, count(*) AS n "
            f"FROM {rows} WHERE request_id IN ({', '.join(str(int(r)) for r in requests)}) GROUP BY ALL")
    for incident in chosen:
        mine = table[table["request_id"].isin(incident["_request_ids"]) & (table["error_code"] == incident["error_code"])]
        top = mine.groupby(mine["domain"].fillna(_("no domain")))["n"].sum().sort_values(
            ascending=False, kind="stable").head(cfg.address_top_domains)
        if top.empty:
            continue
        hints = suggest_domains(pd.Series(top.index, dtype="string"))
        words = [f"{d} (-> {h}) {format_number(int(n))}" if not pd.isna(h) else f"{d} {format_number(int(n))}"
                 for (d, n), h in zip(top.items(), hints)]
        incident["message"] += "; " + _("worst domains: {domains}").format(domains=", ".join(words))


def find_incidents(window, config: FlagConfig | Mapping | str | PathLike | None = None, *,
                   rules=None, lookback: pd.Timedelta | None = None, **thresholds) -> pd.DataFrame:
    """Group the problems of a window into incidents, most urgent first.

    Parameters
    ----------
    window : mailkit_analysis.analysis.window.Window
        The window; incidents are kept when one of their failed sends falls in it.
    config : FlagConfig, mapping or path, optional
        Thresholds (see :class:`~mailkit_analysis.analysis.flags.FlagConfig`).
    rules : iterable of str, optional
        Run only these rules (see :data:`~mailkit_analysis.analysis.flags.RULES`).
    lookback : pandas.Timedelta, optional
        History read before the window's start, for runs that began earlier and for the
        baselines (default: :data:`~mailkit_analysis.analysis.window.LOOKBACK_DAYS`).
    **thresholds
        Single :class:`FlagConfig` fields to override.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`~mailkit_analysis.analysis.flags.FLAG_COLUMNS`, one row per
        incident, in the order of :func:`order_incidents`.

    Raises
    ------
    ValueError
        An unknown rule or threshold.
    """
    from .window import LOOKBACK_DAYS

    cfg = _resolve_config(config, thresholds)
    chosen = RULES if rules is None else tuple(rules)
    unknown = [r for r in chosen if r not in RULES]
    if unknown:
        raise ValueError(f"unknown flag rule(s) {unknown}; known: {list(RULES)}")
    lookback = pd.Timedelta(days=LOOKBACK_DAYS) if lookback is None else pd.Timedelta(lookback)
    codes, units = _inputs(window, lookback, cfg.setup_codes)
    found: list[dict] = []
    if "setup" in chosen:
        found += _setup(codes, units, cfg)
    drifts = _drift(codes, units, cfg) if "drift" in chosen else []
    found += drifts
    addresses = _addresses(codes, units, cfg, drifts) if "addresses" in chosen else []
    if addresses:
        _worst_domains(window, addresses, cfg)
    found += addresses
    surges = _unsubscribed(codes, units, cfg) if "unsubscribed" in chosen else []
    found += surges
    if "spike" in chosen:
        found += _spikes(codes, units, cfg, addresses + drifts + surges)
    if "unknown_code" in chosen:
        found += _unknown_codes(codes, units, cfg)
    out = _frame(found)
    if len(out) and window.since is not None:
        out = out[(out["last_seen"] >= window.since).fillna(False)]
    return order_incidents(out)


def order_incidents(incidents: pd.DataFrame) -> pd.DataFrame:
    """Order incidents by what needs action now.

    Ongoing critical incidents first, then the other critical ones by their most recent
    failed send, then warnings by affected recipients (ties: most recent first), then info.
    """
    if incidents.empty:
        return incidents.reset_index(drop=True)
    severity = incidents["severity"].astype(str)
    ongoing = (incidents["status"].astype(str) == "ongoing").to_numpy()
    rank = np.select([(severity == "critical").to_numpy() & ongoing, (severity == "critical").to_numpy(),
                      (severity == "warning").to_numpy()], [0, 1, 2], 3)
    last = incidents["last_seen"].astype("int64").to_numpy()
    recipients = np.where(rank == 2, incidents["recipients"].to_numpy(dtype="int64"), 0)
    order = np.lexsort((-last, -recipients, rank))
    return incidents.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- inputs

def _inputs(window, lookback: pd.Timedelta, setup_codes) -> tuple[pd.DataFrame, "_Units"]:
    """The two aggregates the rules read, from one pass over the window's rows.

    ``codes``: one row per (request, send, code) as :meth:`Window.send_codes` has them, with
    the request's ``unit``, ``day``, ``size`` and ``setup_failed``. ``units``: one row per
    request (or lone send) as :meth:`Window.sends` lists them, in send order (``unit`` is
    the position), with its ``day``, ``size`` (recipients sent, NaN when not known),
    ``setup_failed`` and ``latest`` (its campaign's latest send).

    Both aggregates are built inside DuckDB on one connection: the rows are scanned once,
    into the per-code aggregate, and the per-request one is derived from it, so a year of a
    large account reaches pandas as two frames of numbers (campaign names come as a dict,
    not a string per request). The units are numbered by their position in an ordered
    read; the aggregate rows find their unit by request, the set-up failures are marked
    from the code rows and the days come from the send times, all in numpy (a numbering
    window function sorts on one thread, and DuckDB's zone-aware day and a correlated
    EXISTS cost more than these).
    """
    start = window._start(lookback)
    with window._source() as source:
        # The sends SQL reads the sends twice (for requests and for lone sends): once is enough.
        source.materialize("mk_sends")
        source.con.execute(f"CREATE TEMP TABLE mk_codes AS {window._send_codes_sql(source, start, names=False)}")
        # What Window.sends() computes from the rows, computed from their aggregate: the
        # same request, send, campaign, first date and row count per request. The rows'
        # campaign names are read below, only for campaigns the campaigns table does not name.
        seen = ("(SELECT request_id, max(id_send) AS id_send, max(campaign_id) AS campaign_id, "
                "NULL::VARCHAR AS campaign_name, min(first_date) AS first_date, sum(rows)::BIGINT AS rows "
                "FROM mk_codes GROUP BY request_id)")
        # The day and the set-up failures are numpy below: DuckDB's zone-aware date_trunc
        # and a correlated EXISTS were a third of this query on a million sends.
        source.con.execute(
            "CREATE TEMP TABLE mk_units AS WITH sends AS ("
            f"{window._sends_sql(source, start, seen=seen, ordered=False)}) "
            "SELECT n.request_id, n.id_send, n.campaign_id, n.campaign_name, n.sent_at, "
            "CASE WHEN n.send_count > 0 THEN n.send_count::DOUBLE END AS size, "
            "(n.request_id IS NOT NULL OR n.rows > 0) AS has_rows FROM sends n")
        code_table = source.arrow(
            "SELECT campaign_id, request_id, id_send, error_code, first_date, last_date, rows, recipients "
            "FROM mk_codes ORDER BY request_id, id_send NULLS FIRST, error_code NULLS LAST")
        # Each temp table is dropped once read: DuckDB's memory and the answers' add up.
        source.con.execute("DROP TABLE mk_codes")
        # The units in send order: a unit is its position (request and send are unique per row).
        unit_table = source.arrow(
            "SELECT request_id, id_send, campaign_id, sent_at, size, has_rows, "
            "campaign_name IS NULL AS unnamed FROM mk_units "
            "ORDER BY sent_at NULLS LAST, request_id NULLS LAST, id_send")
        named = dict(source.con.execute(
            "SELECT DISTINCT campaign_id, campaign_name FROM mk_units "
            "WHERE campaign_id IS NOT NULL AND campaign_name IS NOT NULL").fetchall())
        campaign_of = unit_table["campaign_id"].to_pandas(types_mapper=_nullable_int).astype("Int64")
        unnamed = unit_table["unnamed"].to_numpy(zero_copy_only=False) & campaign_of.notna().to_numpy()
        if unnamed.any():
            named.update(_names_from_rows(window, source, start, unit_table, campaign_of, unnamed))
        source.con.execute("DROP TABLE mk_units")
    # DuckDB is closed: what it held is free (see memory) before the frames are built.
    give_back_freed_memory()
    # Every aggregate row has its request's unit: the units list each request with rows
    # (a request without an id is the one unit that stands for the rows without one).
    with_rows = np.flatnonzero(unit_table["has_rows"].to_numpy(zero_copy_only=False))
    by_request = pd.Index(_keys(unit_table["request_id"]).take(with_rows))
    if not by_request.is_unique:
        raise RuntimeError("incidents: two units of the window share a request id")
    found = by_request.get_indexer(_keys(code_table["request_id"]))
    keep = found >= 0
    if not keep.all():
        code_table = code_table.filter(pa.array(keep))
        found = found[keep]
    unit_of = with_rows[found]
    # A request that failed on a set-up code reached none of its recipients: its size
    # would only dilute the rates of the other rules.
    setup_failed = np.zeros(unit_table.num_rows, dtype=bool)
    of_setup = pa.compute.is_in(code_table["error_code"], value_set=pa.array(
        [int(c) for c in setup_codes], type=code_table.schema.field("error_code").type))
    setup_failed[unit_of[pa.compute.fill_null(of_setup, False).to_numpy(zero_copy_only=False)]] = True
    # Frames of the columns as they are (copy=False): a consolidating copy would hold each
    # column twice at the peak.
    sent_at = prague(unit_table["sent_at"].to_pandas())
    units = pd.DataFrame(copy=False, data={
        "unit": np.arange(unit_table.num_rows, dtype="int64"),
        "request_id": unit_table["request_id"].to_pandas(types_mapper=_nullable_int).astype("Int64"),
        "id_send": unit_table["id_send"].to_pandas(types_mapper=_nullable_int).astype("Int64"),
        "campaign_id": campaign_of,
        "sent_at": sent_at,
        "day": prague_days(sent_at),
        "size": unit_table["size"].to_numpy(zero_copy_only=False).astype(float),
        "setup_failed": setup_failed,
        # Each campaign's latest send: the last of its units.
        "latest": _last_of_each(campaign_of),
    })
    codes = pd.DataFrame(copy=False, data={
        "campaign_id": code_table["campaign_id"].to_pandas(types_mapper=_nullable_int).astype("Int64"),
        "request_id": code_table["request_id"].to_pandas(types_mapper=_nullable_int).astype("Int64"),
        "id_send": code_table["id_send"].to_pandas(types_mapper=_nullable_int).astype("Int64"),
        "error_code": code_table["error_code"].to_pandas(types_mapper=_nullable_int).astype("Int64"),
        "first_date": prague(code_table["first_date"].to_pandas()),
        "last_date": prague(code_table["last_date"].to_pandas()),
        "rows": _ints(code_table["rows"]),
        "recipients": _ints(code_table["recipients"]),
        "unit": unit_of,
        # The unit's own columns, taken by position (units are numbered 0..n-1 in order).
        "day": units["day"].take(unit_of).reset_index(drop=True),
        "size": units["size"].to_numpy()[unit_of],
        "setup_failed": units["setup_failed"].to_numpy()[unit_of],
    })
    units = _Units(units, named)
    # The answers and their conversions are free now; the rules allocate next (see memory).
    del unit_table, code_table, campaign_of
    give_back_freed_memory()
    return codes, units


#: A missing time among integer times (``NaT`` as int64).
_NAT = np.iinfo("int64").min
#: Stands for a missing request id among the keys (request ids are positive).
_NO_REQUEST = np.iinfo("int64").min


def _keys(column) -> np.ndarray:
    """Request ids as int64 numpy, a missing id as :data:`_NO_REQUEST` (one key of its own,
    as ``IS NOT DISTINCT FROM`` matches it)."""
    return pa.compute.fill_null(column, _NO_REQUEST).to_numpy(zero_copy_only=False).astype("int64")


def _last_of_each(campaign_id: pd.Series) -> np.ndarray:
    """Whether each unit is the last of its campaign (units in send order; none without one)."""
    latest = np.zeros(len(campaign_id), dtype=bool)
    present = np.flatnonzero(campaign_id.notna().to_numpy())
    if len(present):
        ids = campaign_id.to_numpy(dtype="int64", na_value=0)[present]
        # The last occurrence of each id, by hashing (np.unique sorted every unit).
        latest[present] = ~pd.Series(ids).duplicated(keep="last").to_numpy()
    return latest


def _names_from_rows(window, source, start, unit_table: pa.Table, campaign_of: pd.Series,
                     unnamed: np.ndarray) -> dict:
    """The names of campaigns the campaigns table does not name, as their rows name them:
    the name of the latest send's request with a named row (as :meth:`Window.sends` has it)."""
    wanted = campaign_of[unnamed].unique()
    of_wanted = np.flatnonzero(campaign_of.isin(wanted).to_numpy(dtype=bool)
                               & unit_table["has_rows"].to_numpy(zero_copy_only=False))
    requests = pa.table({"request_id": unit_table["request_id"].take(pa.array(of_wanted))})
    source.con.register("mk_unnamed_requests", requests)
    try:
        names = source.arrow(window._request_names_sql(source, start, "mk_unnamed_requests"))
    finally:
        source.con.unregister("mk_unnamed_requests")
    if names.num_rows == 0:
        return {}
    name_of = pd.Series(names["campaign_name"].to_pylist(), index=_keys(names["request_id"]))
    candidates = pd.DataFrame({"position": of_wanted, "campaign_id": campaign_of.to_numpy()[of_wanted],
                               "name": name_of.reindex(_keys(requests["request_id"])).to_numpy()})
    candidates = candidates[candidates["name"].notna()].sort_values("position")
    last = candidates.groupby("campaign_id", sort=False).tail(1)
    return {int(c): n for c, n in zip(last["campaign_id"], last["name"])}


def _ints(column) -> np.ndarray:
    """A non-null integer arrow column as int64 numpy."""
    return column.to_numpy(zero_copy_only=False).astype("int64")


def _nullable_int(arrow_type):
    return pd.Int64Dtype() if pa.types.is_integer(arrow_type) else None


class _Units(pd.DataFrame):
    """The units frame (a unit is its row position), with the campaign names at hand."""

    _metadata = ["names"]

    def __init__(self, data=None, names=None, **kwargs):
        super().__init__(data, **kwargs)
        self.names = names

    @property
    def _constructor(self):
        return pd.DataFrame


def _latest(units: pd.DataFrame, group: pd.DataFrame) -> bool:
    """Whether the group holds its campaign's latest send."""
    return bool(units["latest"].to_numpy()[group["unit"].unique()].any())


def _campaign_words(campaign_id, name) -> str:
    if isinstance(name, str) and name:
        return _("Campaign '{name}'").format(name=name)
    if campaign_id is not None and not pd.isna(campaign_id):
        return _("Campaign {id}").format(id=int(campaign_id))
    return _("Requests without a campaign")


def _moment(value) -> str:
    """``3 Dec 14:00`` in the language in force."""
    return f"{format_skeleton(value, 'MMMd')} {format_time(value)}"


def _span(first, last) -> str:
    """``3 Dec 14:00 – 16:30`` (one day) or ``3 Dec 14:00 – 4 Dec 09:00``."""
    if first == last:
        return _moment(first)
    if first.normalize() == last.normalize():
        return f"{_moment(first)} – {format_time(last)}"
    return f"{_moment(first)} – {_moment(last)}"


def _name_of(units: pd.DataFrame, campaign_id):
    if campaign_id is None or pd.isna(campaign_id):
        return None
    return units.names.get(int(campaign_id))


def _incident(severity, rule, code, campaign_id, group: pd.DataFrame, units: pd.DataFrame, message, *,
              ongoing: bool, recipients: int | None = None) -> dict:
    """One incident from the (request, code) rows of ``group``."""
    # In send order (a unit is its position; a send without a time last), stably. Only the
    # group's units are read: a whole-column isna() here ran once per incident.
    sent_at = units["sent_at"].array.asi8[group["unit"].to_numpy()]
    sent_at = np.where(sent_at == _NAT, np.iinfo("int64").max, sent_at)
    ids = group.iloc[np.argsort(sent_at, kind="stable")]
    id_sends = [int(s) for s in pd.unique(ids["id_send"].dropna())]
    return {
        "severity": severity,
        "rule": rule,
        "error_code": None if code is None else int(code),
        "campaign_id": None if campaign_id is None or pd.isna(campaign_id) else int(campaign_id),
        "id_send": id_sends[-1] if id_sends else None,
        "count": int(group["rows"].sum()),
        "first_seen": group["first_date"].min(),
        "last_seen": group["last_date"].max(),
        "message": message,
        "remedy": (UNKNOWN if code is None else lookup(code)).remedy_text(),
        "status": "ongoing" if ongoing else "resolved",
        "sends": len(id_sends),
        "requests": int(group["request_id"].nunique()),
        "recipients": int(group["recipients"].sum() if recipients is None else recipients),
        "id_sends": id_sends,
    }


def _frame(found: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(found, columns=list(FLAG_COLUMNS))
    for column, dtype in FLAG_COLUMNS.items():
        if dtype == PRAGUE_DTYPE:
            out[column] = to_prague_times(pd.to_datetime(out[column], utc=True)).astype(PRAGUE_DTYPE)
        elif dtype == "object":
            out[column] = out[column].astype(object)
        else:
            out[column] = out[column].astype(dtype)
    return out


def _day_groups(days: pd.Series) -> np.ndarray:
    """Group number of each (sorted) day: a new group after a day without any."""
    gaps = days.diff() > _DAY
    return np.cumsum(gaps.fillna(False).to_numpy(dtype=bool))


def _sends_words(group: pd.DataFrame) -> str:
    sends = group["id_send"].dropna().nunique()
    if sends:
        return ngettext("{n} send", "{n} sends", sends).format(n=format_number(sends))
    requests = group["request_id"].nunique()
    return ngettext("{n} request (no send created)", "{n} requests (no send created)", requests).format(
        n=format_number(requests))


def _recipients_words(n: int) -> str:
    return ngettext("{n} recipient", "{n} recipients", n).format(n=format_number(n))


# --------------------------------------------------------------------------- setup

def _setup(codes: pd.DataFrame, units: pd.DataFrame, cfg: FlagConfig) -> list[dict]:
    failed = codes[codes["error_code"].isin(list(cfg.setup_codes)).fillna(False)]
    found = []
    # The columns the runs need, once: a copy of every column per code was most of the rule.
    sequence = units[["unit", "campaign_id", "size", "latest"]]
    no_campaign = sequence["campaign_id"].isna().to_numpy()
    for code, of_code in failed.groupby(failed["error_code"].astype("int64")):
        bad_units = of_code["unit"].unique()
        # Runs are judged in each campaign's own sequence of sends: consecutive failed
        # sends are one run, and a send that went out without the code ends it. Only the
        # campaigns with a failure are read (a few of a million sends).
        touched = sequence["campaign_id"].isin(of_code["campaign_id"].dropna().unique()).to_numpy(dtype=bool)
        flags = sequence[touched | no_campaign]
        flags = flags.assign(bad=flags["unit"].isin(bad_units))
        with_campaign = flags[flags["campaign_id"].notna()]
        run = (~with_campaign["bad"]).astype(int).groupby(with_campaign["campaign_id"]).cumsum()
        runs = with_campaign.assign(run=run.to_numpy())[with_campaign["bad"].to_numpy()]
        lone = flags[flags["campaign_id"].isna() & flags["bad"]]
        groups = [(c, g) for (c, _r), g in runs.groupby(["campaign_id", "run"], sort=False)]
        groups += [(None, g) for _u, g in lone.groupby("unit", sort=False)]
        for campaign_id, members in groups:
            group = of_code[of_code["unit"].isin(members["unit"])]
            # Mailkit may report a failed request once rather than per recipient: its size,
            # when known, is what was not sent.
            sizes = members.set_index("unit")["size"]
            per_unit = group.groupby("unit")["recipients"].sum()
            affected = int(np.fmax(per_unit.to_numpy(dtype=float), sizes.reindex(per_unit.index).to_numpy()).sum())
            ongoing = bool(members["latest"].any())
            name = _name_of(units, campaign_id) if campaign_id is not None else None
            words = dict(campaign=_campaign_words(campaign_id, name), problem=_(_SETUP_PROBLEM.get(code, "set-up error")),
                         sends=_sends_words(group), recipients=_recipients_words(affected),
                         start=_moment(group["first_date"].min()), span=_span(group["first_date"].min(), group["last_date"].max()))
            if ongoing:
                message = _("{campaign}: {problem} failed {sends}, {recipients}, since {start} — still failing")
            else:
                message = _("{campaign}: {problem} failed {sends}, {recipients}, {span}; "
                            "a later send went out without it")
            found.append(_incident("critical", "setup", code, campaign_id, group, units, message.format(**words),
                                   ongoing=ongoing, recipients=affected))
    return found


# --------------------------------------------------------------------------- addresses

def _drift(codes: pd.DataFrame, units: pd.DataFrame, cfg: FlagConfig) -> list[dict]:
    """Campaigns whose weekly invalid-address share climbed over the last weeks."""
    # numpy over unit positions throughout: the frames, groupbys and copies of a million
    # units this rule used to make were most of its time, for a handful of campaigns.
    sent = (~units["setup_failed"].to_numpy(dtype=bool) & units["campaign_id"].notna().to_numpy()
            & units["sent_at"].notna().to_numpy())
    if not sent.any():
        return []
    sent_at = units["sent_at"]
    to_ns = 1000 if sent_at.dt.unit == "us" else 1
    end = sent_at[sent].max()
    # A send without a known size has no share; it still counts for the latest send above.
    rows = np.flatnonzero(sent & units["size"].notna().to_numpy())
    if not len(rows):
        return []
    at = sent_at.array.asi8[rows] * to_ns
    # Whole weeks before the latest send, in integer arithmetic (a million timedeltas are slow).
    week = (end.value - at) // pd.Timedelta(days=7).value
    is_bad = codes["error_code"].isin(list(cfg.address_codes)).fillna(False).to_numpy(dtype=bool)
    unit_of = codes["unit"].to_numpy()
    bad_per_unit = np.bincount(unit_of[is_bad], weights=codes["recipients"].to_numpy()[is_bad].astype(float),
                               minlength=len(units))
    # Campaigns in ascending id (a hash, not np.unique's sort of every row).
    campaign, campaigns = pd.factorize(units["campaign_id"].to_numpy(dtype="int64", na_value=0)[rows], sort=True)
    # The weekly shares of every campaign at once: one row per campaign, one column per week
    # back from the latest send, NaN where the campaign sent nothing that week.
    n_weeks = int(week.max()) + 1
    cell = campaign * n_weeks + week
    size = len(campaigns) * n_weeks
    sends = np.bincount(cell, minlength=size)
    bad = np.bincount(cell, weights=bad_per_unit[rows], minlength=size)
    recipients = np.bincount(cell, weights=units["size"].to_numpy(dtype=float)[rows], minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(sends > 0, bad / recipients, np.nan).reshape(len(campaigns), n_weeks)
    weeks = cfg.drift_weeks
    latest = units["latest"].to_numpy(dtype=bool)
    found = []
    for index, (campaign_id, share) in enumerate(zip(campaigns.tolist(), shares)):
        recent, before = share[:weeks][::-1], share[weeks:]
        before = before[~np.isnan(before)]
        if len(before) < cfg.drift_min_history_weeks or np.isnan(recent).any() or len(recent) < weeks:
            continue
        baseline = float(np.median(before))
        # A drift climbs: most weeks higher than the one before, the last well above the
        # campaign's earlier level; one bad week (an import) is not a drift.
        rises = np.mean(np.diff(recent) > 0)
        last = float(np.mean(recent[-2:]))
        if rises < cfg.drift_min_rising_share or last < cfg.drift_ratio * baseline \
                or last - baseline < cfg.drift_min_increase:
            continue
        start = end - pd.Timedelta(days=7 * weeks)
        own = campaign == index
        own_units = rows[own]
        chosen = own_units[at[own] > start.value]
        group = codes[is_bad & np.isin(unit_of, chosen)]
        if group.empty:
            continue
        code = int(group.groupby("error_code")["recipients"].sum().idxmax())
        message = _("{campaign}: invalid or missing addresses rose week after week to {last} of recipients "
                    "over {weeks} weeks, from {baseline} before").format(
            campaign=_campaign_words(campaign_id, _name_of(units, campaign_id)), last=format_percent(last),
            weeks=format_number(weeks), baseline=format_percent(baseline))
        found.append(_incident("warning", "drift", code, campaign_id, group, units, message,
                               ongoing=bool(latest[chosen].any() or latest[own_units].any())))
    return found


def _covered(found: list[dict], campaign_id, day) -> bool:
    for incident in found:
        if incident["campaign_id"] == campaign_id and \
                incident["first_seen"].normalize() <= day <= incident["last_seen"].normalize():
            return True
    return False


def _addresses(codes: pd.DataFrame, units: pd.DataFrame, cfg: FlagConfig, drifts: list[dict]) -> list[dict]:
    # The masks over every aggregate row, then one copy of the few rows they keep (a copy of
    # every address row first held a hundred megabytes more at the peak).
    is_address = codes["error_code"].isin(list(cfg.address_codes)).fillna(False).to_numpy(dtype=bool)
    if not is_address.any():
        return []
    recipients = codes["recipients"].to_numpy()
    size = codes["size"].to_numpy()
    known = ~np.isnan(size)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = recipients / size
    bad = (known & (rate > cfg.address_max_rate) & (recipients >= cfg.address_min_count)) | (
        ~known & (recipients >= cfg.address_max_count))
    rows = codes[is_address & bad]
    # A drift already reports its campaign's addresses in the weeks it covers.
    rows = rows[[not _covered(drifts, None if pd.isna(c) else int(c), d)
                 for c, d in zip(rows["campaign_id"], rows["day"])]] if drifts and len(rows) else rows
    found = []
    for (campaign_id, code), own in rows.groupby([rows["campaign_id"].astype("Int64"), "error_code"], dropna=False):
        own = own.sort_values("day", kind="stable")
        for _g, group in own.groupby(_day_groups(own["day"])):
            campaign_id = None if pd.isna(campaign_id) else int(campaign_id)
            worst = group.loc[(group["recipients"] / group["size"].fillna(np.inf)).idxmax()] \
                if group["size"].notna().any() else group.loc[group["recipients"].idxmax()]
            worst_words = (format_percent(worst["recipients"] / worst["size"]) if not pd.isna(worst["size"])
                           else format_number(int(worst["recipients"])))
            message = _("{campaign}: {label} in {sends}, {recipients}, {span} (worst send: {worst})").format(
                campaign=_campaign_words(campaign_id, _name_of(units, campaign_id)),
                label=_("invalid addresses") if int(code) == 2 else _("missing addresses"),
                sends=_sends_words(group), recipients=_recipients_words(int(group["recipients"].sum())),
                span=_span(group["first_date"].min(), group["last_date"].max()), worst=worst_words)
            latest = _latest(units, group)
            incident = _incident("warning", "addresses", code, campaign_id, group, units, message,
                                 ongoing=bool(latest))
            incident["_request_ids"] = set(group["request_id"].dropna().astype("int64"))
            found.append(incident)
    return found


# --------------------------------------------------------------------------- unsubscribed

def _unsubscribed(codes: pd.DataFrame, units: pd.DataFrame, cfg: FlagConfig) -> list[dict]:
    """Sends and campaign-days far above the campaign's usual unsubscribed share."""
    is_unsubscribed = (codes["error_code"] == 6).fillna(False).to_numpy(dtype=bool)
    sent = np.flatnonzero(~units["setup_failed"].to_numpy(dtype=bool) & units["campaign_id"].notna().to_numpy()
                          & units["size"].notna().to_numpy())
    if not is_unsubscribed.any() or not len(sent):
        return []
    # The sends judged, as numpy columns by unit position (days as integers, which group
    # several times faster than zone-aware times); unsubscribed recipients summed per unit.
    unit_of = codes["unit"].to_numpy()
    unsubscribed = np.bincount(unit_of[is_unsubscribed], minlength=len(units),
                               weights=codes["recipients"].to_numpy()[is_unsubscribed].astype(float))
    table = pd.DataFrame(copy=False, data={
        "campaign_id": units["campaign_id"].to_numpy(dtype="int64", na_value=0)[sent],
        "unit": sent,
        "day": units["day"].array.asi8[sent],
        "size": units["size"].to_numpy(dtype=float)[sent],
        "unsub": unsubscribed[sent],
    })
    # One pass over all campaigns (a loop per campaign costs seconds on a year of sends).
    by_campaign = table.groupby("campaign_id").agg(n=("unit", "size"), unsub=("unsub", "sum"), size=("size", "sum"))
    dated = table[(table["day"] != _NAT).to_numpy()]
    per_day = dated.groupby(["campaign_id", "day"]).agg(unsub=("unsub", "sum"), size=("size", "sum"))
    day_usual = (per_day["unsub"] / per_day["size"]).groupby(level="campaign_id").median()
    # The usual share is a median (of the campaign's sends and of its days), which the surge
    # being judged hardly moves; a mean would rise with it.
    send_usual = (table["unsub"] / table["size"]).groupby(table["campaign_id"]).median()
    floor = np.maximum(np.maximum(send_usual.reindex(by_campaign.index), day_usual.reindex(by_campaign.index)),
                       1e-4)
    # A campaign whose sends often lose a percent of their list (a newsletter to an old list)
    # has a wide ordinary range; a surge stands above that range too, not only above the
    # median, or every ordinary bad week of such a campaign would alarm.
    ordinary = (table["unsub"] / table["size"]).groupby(table["campaign_id"]).quantile(cfg.unsubscribed_ordinary_quantile)
    floor = np.maximum(floor, ordinary.reindex(by_campaign.index) * cfg.unsubscribed_ordinary_ratio / cfg.unsubscribed_ratio)
    floor = floor.where(by_campaign["n"] > cfg.unsubscribed_min_history_sends)
    # Judged per send and per day of the campaign (many small sends of one day can surge
    # together where none alone clears the floor on the count).
    send_floor = floor.reindex(table["campaign_id"]).to_numpy()
    loud = (table["unsub"] >= cfg.unsubscribed_min_count).to_numpy() & (
        table["unsub"] / table["size"] >= cfg.unsubscribed_ratio * send_floor).to_numpy()
    flagged_units = set(table.loc[loud, "unit"])
    day_floor = floor.reindex(per_day.index.get_level_values("campaign_id")).to_numpy()
    loud_days = per_day[(per_day["unsub"] >= cfg.unsubscribed_min_count).to_numpy()
                        & (per_day["unsub"] / per_day["size"] >= cfg.unsubscribed_ratio * day_floor).to_numpy()]
    if len(loud_days):
        keys = pd.MultiIndex.from_arrays([table["campaign_id"], table["day"]])
        flagged_units |= set(table.loc[keys.isin(loud_days.index) & (table["unsub"] > 0).to_numpy(), "unit"])
    chosen = codes[is_unsubscribed & codes["unit"].isin(flagged_units).to_numpy()]
    found = []
    for campaign_id, own in chosen.groupby("campaign_id"):
        own = own.sort_values("day", kind="stable")
        usual = floor.loc[campaign_id]
        for _g, group in own.groupby(_day_groups(own["day"])):
            size = np.nansum(units["size"].to_numpy()[group["unit"].unique()])
            message = _("{campaign}: {recipients} unsubscribed in {sends} ({share} of recipients, "
                        "usually {usual}), {start}").format(
                campaign=_campaign_words(campaign_id, _name_of(units, campaign_id)),
                recipients=_recipients_words(int(group["recipients"].sum())), sends=_sends_words(group),
                share=format_percent(group["recipients"].sum() / size), usual=format_percent(usual),
                start=_moment(group["first_date"].min()))
            latest = _latest(units, group)
            found.append(_incident("warning", "unsubscribed", 6, campaign_id, group, units, message,
                                   ongoing=bool(latest)))
    return found


# --------------------------------------------------------------------------- spikes

def _spikes(codes: pd.DataFrame, units: pd.DataFrame, cfg: FlagConfig, explained: list[dict]) -> list[dict]:
    """Days on which a catalogued code was far more frequent per recipient than before."""
    # Set-up codes are never spikes: the set-up rule reports every one of their runs.
    skip = set(cfg.spike_skip_codes) | set(cfg.setup_codes)
    judged = (codes["error_code"].notna() & codes["day"].notna() & ~codes["setup_failed"].fillna(False)
              & codes["error_code"].isin([c for c in CATALOGUE if c not in skip]).fillna(False)).to_numpy(dtype=bool)
    # The daily counts need three columns; whole rows are copied only for a spiked day.
    rows = codes.loc[judged, ["error_code", "day", "recipients"]]
    sent = units.loc[~units["setup_failed"] & units["day"].notna(), ["day", "size"]]
    if rows.empty or sent.empty:
        return []
    days = pd.date_range(min(sent["day"].min(), rows["day"].min()), max(sent["day"].max(), rows["day"].max()),
                         freq="D")
    if sent["size"].isna().any():
        # Rates need the size of every send of a day (a partial total inflates them):
        # without, the daily counts are compared, which cannot tell volume from a spike.
        recipients = np.ones(len(days))
    else:
        recipients = sent.groupby("day")["size"].sum().reindex(days).to_numpy(dtype=float)
    daily = rows.groupby([rows["error_code"].astype("int64"), "day"])["recipients"].sum()
    del rows
    found = []
    for code in daily.index.get_level_values(0).unique():
        counts = daily.xs(code, level=0).reindex(days, fill_value=0).to_numpy(dtype=float)
        rates = np.where(recipients > 0, counts / np.where(recipients > 0, recipients, 1), np.nan)
        median, mad = _rolling_baseline(rates, cfg.spike_window_days, cfg.spike_min_history_days)
        usual = np.nan_to_num(median * recipients)
        with np.errstate(invalid="ignore"):
            spiked = ((~np.isnan(median)) & (rates >= cfg.spike_min_ratio * median)
                      & (rates > median + cfg.spike_k * mad) & (counts - usual >= cfg.spike_min_count))
        for i in np.flatnonzero(spiked):
            day = days[i]
            group = codes[judged & (codes["error_code"] == code).fillna(False).to_numpy(dtype=bool)
                          & (codes["day"] == day).fillna(False).to_numpy(dtype=bool)]
            # Rows another incident already reports do not make a second one.
            rest = group[[not _covered(explained, None if pd.isna(c) else int(c), day) for c in group["campaign_id"]]]
            if rest["recipients"].sum() - usual[i] < cfg.spike_min_count:
                continue
            by_campaign = rest.groupby(rest["campaign_id"].astype("Int64"), dropna=False)["recipients"].sum()
            top = by_campaign.idxmax()
            campaign_id = None if pd.isna(top) or by_campaign.max() < cfg.dominant_share * by_campaign.sum() \
                else int(top)
            found.append((campaign_id, code, day, rest, rates[i], median[i]))
    merged: dict = {}
    for campaign_id, code, day, rest, rate, median in sorted(found, key=lambda f: (str(f[0]), f[1], f[2])):
        key = (campaign_id, code)
        if key in merged and day - merged[key][-1]["day"] <= _DAY:
            merged[key][-1]["parts"].append(rest)
            merged[key][-1]["day"] = day
            merged[key][-1]["rate"] = max(rate, merged[key][-1]["rate"])
        else:
            merged.setdefault(key, []).append({"parts": [rest], "day": day, "rate": rate, "median": median})
    out = []
    for (campaign_id, code), spans in merged.items():
        for span in spans:
            group = pd.concat(span["parts"])
            where = _campaign_words(campaign_id, _name_of(units, campaign_id)) if campaign_id is not None \
                else _("Several campaigns")
            message = _("{campaign}: code {code} spiked to {rate} of recipients (usually {usual}), "
                        "{recipients}, {start}").format(
                campaign=where, code=int(code), rate=format_percent(span["rate"]), usual=format_percent(span["median"]),
                recipients=_recipients_words(int(group["recipients"].sum())), start=_moment(group["first_date"].min()))
            latest = _latest(units, group)
            out.append(_incident("warning", "spike", code, campaign_id, group, units, message, ongoing=bool(latest)))
    return out


# --------------------------------------------------------------------------- unknown codes

def _unknown_codes(codes: pd.DataFrame, units: pd.DataFrame, cfg: FlagConfig) -> list[dict]:
    rows = codes[codes["error_code"].notna() & ~codes["error_code"].isin(list(CATALOGUE)).fillna(False)]
    found = []
    for code, group in rows.groupby(rows["error_code"].astype("int64")):
        by_campaign = group.groupby(group["campaign_id"].astype("Int64"))["recipients"].sum().sort_values(
            ascending=False, kind="stable")
        names = [_campaign_words(c, _name_of(units, c)) for c in by_campaign.index[:3]]
        more = len(by_campaign) - len(names)
        touched = ", ".join(names) + (ngettext(" and {n} more", " and {n} more", more).format(
            n=format_number(more)) if more > 0 else "")
        campaign_id = int(by_campaign.index[0]) if len(by_campaign) and \
            by_campaign.iloc[0] >= cfg.dominant_share * group["recipients"].sum() and len(by_campaign) == 1 else None
        message = _("Mailkit returned code {code}, not in the catalogue: {rows} in {sends}; {campaigns}").format(
            code=int(code), rows=ngettext("{n} row", "{n} rows", int(group["rows"].sum())).format(
                n=format_number(int(group["rows"].sum()))),
            sends=_sends_words(group), campaigns=touched or _("no campaign known"))
        latest = _latest(units, group)
        found.append(_incident("warning", "unknown_code", code, campaign_id, group, units, message,
                               ongoing=bool(latest)))
    return found
