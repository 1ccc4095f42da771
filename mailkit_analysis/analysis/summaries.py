"""Distributions and rates of the per-recipient errors in a results frame.

A results frame (see :mod:`mailkit_analysis.frame`) in, a small pandas table out, nothing
cached or printed. The tables themselves are defined once, as SQL, in :mod:`.tables`: the
functions here run that definition over the frame (DuckDB over an in-memory arrow table,
:meth:`.window.Window.from_frame`), so a frame and the cache give the same numbers by the same
code. Charts (:mod:`.plots`) and flags (:mod:`.flags`) are drawn from these tables.

Rates need a denominator, which the results frame does not hold: it lists errors only, and a
send without errors does not appear in it at all. Functions that compute rates therefore take

``sends``
    one row per send, as ``MailkitClient.report_campaign`` returns it: ``id_send``,
    ``send_count`` (recipients of the send), optionally ``campaign_id`` and the send time
    (``send_date`` or ``date``, Prague wall time, or zone-aware);
``recipients``
    one entry per ``sendmail_mass`` request: a ``{request_id: recipients}`` mapping, or a
    frame with ``request_id`` and ``recipients`` and optionally ``id_send``, ``campaign_id``
    and ``sent_at`` (the request manifest has exactly these).

Without them every rate is ``<NA>``: a rate is never estimated from the errors alone. When
both are given, ``sends`` is authoritative and ``recipients`` only fills in what it cannot
cover (requests that failed with code 4 or 5 before a send existed, sends it does not list).
A total that would miss a part of its denominator (a campaign with one send of unknown size)
is ``<NA>`` rather than a rate that looks precise and is too high.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..prague_time import PRAGUE_DTYPE, to_prague_times
from ..i18n import gettext as _

__all__ = [
    "OTHER",
    "NO_CAMPAIGN",
    "NO_DOMAIN",
    "normalise_freq",
    "period_start",
    "complete_sum",
    "campaign_label",
    "code_column",
    "counts_over_time",
    "rates_over_time",
    "by_campaign",
    "by_send",
    "by_category",
    "top_info",
    "campaign_code_matrix",
    "recipient_domains",
]

#: Label of the row that folds everything beyond the top N.
OTHER = "other"
#: Label of rows whose campaign is not known.
NO_CAMPAIGN = "(no campaign)"
#: Label of rows without a findable recipient domain (code 3: no address at all).
NO_DOMAIN = "(no domain)"

_FREQS = {"h": "h", "hour": "h", "hourly": "h", "d": "D", "day": "D", "daily": "D",
          "w": "W", "week": "W", "weekly": "W"}


# --------------------------------------------------------------------------- periods

def normalise_freq(freq: str) -> str:
    """Return ``"h"``, ``"D"`` or ``"W"`` for the spellings the toolkit accepts.

    Parameters
    ----------
    freq : str
        ``"h"``/``"hour"``, ``"D"``/``"day"`` or ``"W"``/``"week"`` (case-insensitive).

    Raises
    ------
    ValueError
        Any other value.
    """
    key = str(freq).strip().lower()
    if key not in _FREQS:
        raise ValueError(f"freq must be one of 'h'/'hour', 'D'/'day', 'W'/'week', not {freq!r}")
    return _FREQS[key]


def period_start(dates: pd.Series, freq: str = "D") -> pd.Series:
    """Return the Prague-local start of the hour, day or week (Monday) of each date.

    Days and weeks start at local midnight, which Prague's DST changes (at 2 and 3 a.m.)
    never make ambiguous. Hours are floored in UTC: Prague's offsets are whole hours, so that
    is the same hour, and it keeps the two 02:00 hours of the autumn change apart.

    Parameters
    ----------
    dates : pandas.Series
        Zone-aware datetimes (any zone; converted to Europe/Prague).
    freq : str
        See :func:`normalise_freq`.

    Returns
    -------
    pandas.Series
        ``datetime64[us, Europe/Prague]``, same index.
    """
    unit = normalise_freq(freq)
    dates = pd.Series(dates)
    if unit == "h":
        return to_prague_times(dates.dt.tz_convert("UTC").dt.floor("h"))
    local = to_prague_times(dates).dt.tz_localize(None).dt.floor("D")
    if unit == "W":
        local = local - pd.to_timedelta(local.dt.day_of_week, unit="D")
    return to_prague_times(local)  # local midnights: never ambiguous in Prague


def _period_index(starts: pd.Series, freq: str) -> pd.DatetimeIndex:
    """Every period from the first to the last start, so that quiet periods show as zero."""
    unit = normalise_freq(freq)
    starts = starts.dropna()
    if starts.empty:
        return pd.DatetimeIndex([], dtype=PRAGUE_DTYPE, name="period")
    first, last = starts.min(), starts.max()
    if unit == "h":
        index = to_prague_times(pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq="h"))
    else:
        step = "7D" if unit == "W" else "D"
        index = to_prague_times(pd.date_range(first.tz_localize(None), last.tz_localize(None), freq=step))
    return index.as_unit("us").rename("period")


def _to_prague(values: pd.Series) -> pd.Series:
    """Times as Prague datetimes: zone-aware ones converted, naive ones and text read as Prague
    wall time (what Mailkit writes), unparseable ones NaT."""
    values = pd.Series(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return to_prague_times(values).astype(PRAGUE_DTYPE)
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    else:
        parsed = pd.to_datetime(values, errors="coerce")
    if not isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.astype("datetime64[us]")
    return to_prague_times(parsed).astype(PRAGUE_DTYPE)


# --------------------------------------------------------------------------- denominators
def complete_sum(values: pd.Series, keys) -> pd.Series:
    """Sum ``values`` per key, ``<NA>`` for a key with any missing value.

    A partial total would pass for a complete one, and a rate over it would look precise
    and be too high.

    Parameters
    ----------
    values : pandas.Series
        Counts (``Int64``, missing allowed).
    keys : Series, array or list of them
        What to group by, aligned with ``values``.

    Returns
    -------
    pandas.Series
        ``Int64`` totals indexed by key.
    """
    values = values.astype("Int64")
    total = values.groupby(keys).sum(min_count=1).astype("Int64")
    incomplete = values.isna().groupby(keys).any()
    return total.mask(incomplete.reindex(total.index, fill_value=False))


def _normalise_sends(sends) -> pd.DataFrame:
    if isinstance(sends, Mapping):
        sends = pd.DataFrame({"id_send": list(sends), "send_count": list(sends.values())})
    missing = {"id_send", "send_count"} - set(sends.columns)
    if missing:
        raise ValueError(f"sends needs the columns id_send and send_count; missing: {sorted(missing)}")
    when = next((c for c in ("send_date", "date", "sent_at") if c in sends.columns), None)
    blank_times = pd.Series(pd.NaT, index=sends.index, dtype=PRAGUE_DTYPE)
    out = pd.DataFrame(
        {
            "unit": sends["id_send"].astype("Int64").array,
            "recipients": pd.to_numeric(sends["send_count"], errors="coerce").astype("Int64").array,
            "campaign_id": (sends["campaign_id"] if "campaign_id" in sends else pd.Series(pd.NA, index=sends.index))
            .astype("Int64").array,
            "sent": (_to_prague(sends[when]) if when else blank_times).array,
        }
    )
    return out.dropna(subset=["unit"])


def _normalise_recipients(recipients) -> pd.DataFrame:
    if isinstance(recipients, pd.Series):
        recipients = recipients.rename_axis("request_id").rename("recipients").reset_index()
    elif isinstance(recipients, Mapping):
        recipients = pd.DataFrame({"request_id": list(recipients), "recipients": list(recipients.values())})
    missing = {"request_id", "recipients"} - set(recipients.columns)
    if missing:
        raise ValueError(f"recipients needs the columns request_id and recipients; missing: {sorted(missing)}")
    when = next((c for c in ("sent_at", "date", "send_date") if c in recipients.columns), None)
    n = len(recipients)

    def optional(column):
        if column in recipients:
            return recipients[column].astype("Int64").array
        return pd.array([pd.NA] * n, dtype="Int64")

    blank_times = pd.Series(pd.NaT, index=recipients.index, dtype=PRAGUE_DTYPE)
    return pd.DataFrame(
        {
            "request_id": recipients["request_id"].astype("Int64").array,
            "recipients": pd.to_numeric(recipients["recipients"], errors="coerce").astype("Int64").array,
            "id_send": optional("id_send"),
            "campaign_id": optional("campaign_id"),
            "sent": (_to_prague(recipients[when]) if when else blank_times).array,
        }
    ).dropna(subset=["request_id"])


# --------------------------------------------------------------------------- labels

def campaign_label(campaign_id, campaign_name=None) -> str:
    """Return a short human label for a campaign.

    Parameters
    ----------
    campaign_id : int or NA
        The campaign id.
    campaign_name : str, optional
        Its name.

    Returns
    -------
    str
        ``"Faktura (101)"``, ``"campaign 101"`` without a name, ``"(no campaign)"`` without an id.
    """
    if campaign_id is None or campaign_id is pd.NA or (isinstance(campaign_id, float) and np.isnan(campaign_id)):
        return NO_CAMPAIGN
    if campaign_name is None or campaign_name is pd.NA or str(campaign_name).strip() == "":
        return _("campaign {id}").format(id=int(campaign_id))
    return f"{campaign_name} ({int(campaign_id)})"


def code_column(code) -> str:
    """Column name of a per-code count in the summary tables: ``"code_2"``."""
    return f"code_{int(code)}"


def _window(frame: pd.DataFrame, sends=None, recipients=None):
    """The user's frame (and denominators) as a window, over which the one SQL definition of
    each table in :mod:`.tables` runs."""
    from .window import Window

    given_sends = None if sends is None else _normalise_sends(sends).rename(
        columns={"unit": "id_send", "recipients": "send_count"})
    if given_sends is not None:
        given_sends["send_date"] = given_sends.pop("sent").dt.strftime("%Y-%m-%d %H:%M:%S")
    requests = None if recipients is None else _normalise_recipients(recipients).rename(columns={"sent": "sent_at"})
    return Window.from_frame(frame, sends=given_sends, requests=requests)


# --------------------------------------------------------------------------- over time

def counts_over_time(frame: pd.DataFrame, freq: str = "D", codes: Iterable[int] | None = None) -> pd.DataFrame:
    """Count error rows per period and code: :func:`.tables.counts_over_time` over ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame.
    freq : {"h", "D", "W"} or {"hour", "day", "week"}
        Period length; weeks start on Monday, all periods at Prague local time.
    codes : iterable of int, optional
        Only these codes, each as a column even when it never occurs. Default: the codes
        present in the frame (unknown ones included).

    Returns
    -------
    pandas.DataFrame
        Index ``period`` (period start, ``datetime64[us, Europe/Prague]``, every period from
        the first to the last, zero-filled); columns ``error_code`` (int); int64 counts.
        Rows without a date are left out.

    See Also
    --------
    rates_over_time : the same divided by the recipients sent in each period.
    """
    from . import tables

    return tables.counts_over_time(_window(frame), freq, codes)


def rates_over_time(
    frame: pd.DataFrame,
    freq: str = "D",
    codes: Iterable[int] | None = None,
    sends=None,
    recipients=None,
) -> pd.DataFrame:
    """Error *rows* per recipient sent, per period and code (not the error rate of a send or
    campaign, which counts affected recipients: :func:`by_campaign`, :func:`by_send`).

    The denominator of a period is the recipients sent in the sends (or requests) made in it,
    by the window's one rule (:meth:`.window.Window.sends`: ``SEND_COUNT``, else the
    manifest's ``recipients``), placed by their send time or, for units known only from
    their error rows, the first error's date. When a unit cannot be placed, or a period
    holds a unit of unknown size, the rates are ``<NA>``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame.
    freq, codes
        As in :func:`counts_over_time`.
    sends, recipients : optional
        Denominators (see the module docstring). Without either, every rate is ``<NA>``.

    Returns
    -------
    pandas.DataFrame
        Same index and columns as :func:`counts_over_time`, ``Float64`` rates. The
        per-period recipients are kept in ``result.attrs["recipients"]`` (``Int64`` Series).
    """
    from . import tables

    window = _window(frame, sends, recipients)
    counts = tables.counts_over_time(window, freq, codes)
    # The window's recipients sent, per unit (its one rule: SEND_COUNT, else the manifest's
    # recipients), placed in the period of its send time.
    units = window.sends()
    if units["sent_at"].isna().any():
        per_period = pd.Series(pd.NA, index=counts.index, dtype="Int64")
    else:
        per_period = complete_sum(units["send_count"], period_start(units["sent_at"], freq).rename("period"))
    per_period = per_period.reindex(counts.index).astype("Int64")
    denominator = per_period.astype("Float64").where(per_period > 0)
    rates = counts.astype("Float64").div(denominator, axis=0)
    rates.attrs["recipients"] = per_period
    return rates


# --------------------------------------------------------------------------- per campaign / send

def by_campaign(frame: pd.DataFrame, sends=None, recipients=None) -> pd.DataFrame:
    """Summarise errors per campaign: :func:`.tables.by_campaign` over ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame; rows without a campaign form one ``campaign_id`` ``<NA>`` row.
    sends, recipients : optional
        Denominators (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        See :func:`.tables.by_campaign`: ``error_rate`` is affected recipients ÷
        recipients sent, never above 1.
    """
    from . import tables

    return tables.by_campaign(_window(frame, sends, recipients))


def by_send(frame: pd.DataFrame, sends=None, recipients=None) -> pd.DataFrame:
    """Summarise errors per send: :func:`.tables.by_send` over ``frame``.

    Rows without an ``id_send`` (codes 4 and 5 fail before Mailkit creates a send) are
    grouped per request instead, so that none is dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame.
    sends, recipients : optional
        Denominators (see the module docstring).
    """
    from . import tables

    return tables.by_send(_window(frame, sends, recipients))


# --------------------------------------------------------------------------- categories and INFO

def by_category(frame: pd.DataFrame) -> pd.DataFrame:
    """Summarise errors per category: :func:`.tables.by_category` over ``frame``."""
    from . import tables

    return tables.by_category(_window(frame))


def top_info(frame: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The most frequent INFO texts, per code: :func:`.tables.top_info` over ``frame``."""
    from . import tables

    return tables.top_info(_window(frame), n)


# --------------------------------------------------------------------------- matrices

def campaign_code_matrix(frame: pd.DataFrame, top_n: int = 20) -> pd.DataFrame:
    """Count errors per campaign and code, the top campaigns by errors and the rest as "other".

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame.
    top_n : int, default 20
        Campaigns shown by name; the others are summed into one :data:`OTHER` row (present
        only when there are more than ``top_n`` campaigns).

    Returns
    -------
    pandas.DataFrame
        Index ``campaign`` (labels from :func:`campaign_label`, most errors first, ``other``
        last); columns ``error_code`` (int, ascending); int64 counts.
    """
    from . import tables

    # The counts are by_campaign's code columns: one definition of rows per campaign and code.
    table = tables.by_campaign(_window(frame))
    codes = [int(c[len("code_"):]) for c in table.columns if c.startswith("code_")]
    if table.empty:
        return pd.DataFrame(index=pd.Index([], name="campaign", dtype="string"),
                            columns=pd.Index(codes, name="error_code"), dtype="int64")
    counts = pd.DataFrame(table[[code_column(c) for c in codes]].to_numpy(dtype="int64"), columns=codes)
    # Most errors first; ties keep by_campaign's order (campaign id, no campaign last).
    order = counts.sum(axis=1).sort_values(ascending=False, kind="stable").index
    labels = [NO_CAMPAIGN if pd.isna(table.at[i, "campaign_id"])
              else campaign_label(table.at[i, "campaign_id"], table.at[i, "campaign_name"]) for i in order]
    shown = counts.loc[order[:top_n]]
    shown.index = labels[:top_n]
    if len(order) > top_n:
        rest = counts.loc[order[top_n:]].sum(axis=0).rename(OTHER).to_frame().T
        shown = pd.concat([shown, rest])
    shown.index.name, shown.columns.name = "campaign", "error_code"
    return shown.astype("int64")


def recipient_domains(frame: pd.DataFrame, codes: Iterable[int] = (2, 3, 6), top_n: int = 20) -> pd.DataFrame:
    """Count the recipient domains of the rows with the given codes, with typo suggestions:
    :func:`.tables.recipient_domains` over ``frame``."""
    from . import tables

    return tables.recipient_domains(_window(frame), codes, top_n)
