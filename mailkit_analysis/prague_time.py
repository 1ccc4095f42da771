"""Prague time: the one place where a time gets its zone.

Mailkit writes times as Prague wall time without a zone (``2026-11-05 09:43:50``), users type
window bounds the same way, and every table of the toolkit shows ``Europe/Prague``. Every
conversion goes through this module, so that a time means the same instant whichever path
(pandas or arrow, scalar or column) reads it:

* an aware time is converted to Prague (the instant is kept);
* a naive time is Prague wall time, and is given its zone by one rule:

  - **ambiguous** (the autumn hour that happens twice, e.g. ``2026-10-25 02:30``): the
    *earlier* instant, still in summer time (CEST, +02:00);
  - **nonexistent** (the spring hour that is skipped, e.g. ``2026-03-29 02:30``): shifted
    *forward* to the first valid instant (``03:00`` CEST).

  Neither raises and neither gives a missing value: a wall time Mailkit wrote is a real
  event, and one answer for it is better than a hole in the counts. The same rule is spelled
  :data:`PANDAS_AMBIGUOUS` / :data:`PANDAS_NONEXISTENT` for pandas and
  :data:`ARROW_AMBIGUOUS` / :data:`ARROW_NONEXISTENT` for ``pyarrow.compute.assume_timezone``;
  the tests check that both paths give the same instants.

Window bounds (:func:`parse_bound`, :func:`window_bounds`) follow it too: a bound is a Prague
time, and a bare date as ``until`` includes that whole day (``since <= date < until``).
"""
from __future__ import annotations

import datetime as dt
from typing import TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import WindowError

__all__ = [
    "PRAGUE",
    "PRAGUE_NAME",
    "PRAGUE_DTYPE",
    "PANDAS_AMBIGUOUS",
    "PANDAS_NONEXISTENT",
    "ARROW_AMBIGUOUS",
    "ARROW_NONEXISTENT",
    "TimeLike",
    "to_prague",
    "to_prague_times",
    "to_utc",
    "assume_prague",
    "sql_assume_prague",
    "sql_assume_prague_per_hour",
    "prague_days",
    "parse_bound",
    "window_bounds",
]

#: The zone of every time Mailkit writes and every table shows.
PRAGUE = ZoneInfo("Europe/Prague")
#: Its name, for arrow types and DuckDB.
PRAGUE_NAME = "Europe/Prague"
#: The pandas dtype of Prague times in the toolkit's tables (microseconds, as parquet stores them).
PRAGUE_DTYPE = pd.DatetimeTZDtype("us", PRAGUE)

# The rule of the module docstring, in each library's words. pandas: True = "this wall time is
# in DST" = the earlier of the two instants; arrow: "earliest" is the same instant.
PANDAS_AMBIGUOUS = True
PANDAS_NONEXISTENT = "shift_forward"
ARROW_AMBIGUOUS = "earliest"
ARROW_NONEXISTENT = "latest"  # arrow's "latest" = the first instant after the gap

TimeLike = str | dt.date | dt.datetime | pd.Timestamp

_Times = TypeVar("_Times", pd.Series, pd.DatetimeIndex)


def to_prague(value) -> pd.Timestamp:
    """One time as a Prague-aware timestamp.

    Parameters
    ----------
    value : str, datetime, date, pandas.Timestamp or number
        Anything :class:`pandas.Timestamp` reads. Naive = Prague wall time (the module's rule
        for ambiguous and skipped times); aware = converted.

    Returns
    -------
    pandas.Timestamp
        Zone ``Europe/Prague``; ``NaT`` stays ``NaT``.
    """
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return stamp
    if stamp.tzinfo is None:
        return stamp.tz_localize(PRAGUE, ambiguous=PANDAS_AMBIGUOUS, nonexistent=PANDAS_NONEXISTENT)
    return stamp.tz_convert(PRAGUE)


def to_prague_times(values: _Times) -> _Times:
    """A column or index of times as Prague times.

    Parameters
    ----------
    values : pandas.Series or pandas.DatetimeIndex
        ``datetime64`` values, naive (Prague wall time, localised by the module's rule) or
        aware (converted). Missing values stay missing.

    Returns
    -------
    pandas.Series or pandas.DatetimeIndex
        The same kind of object, same index and resolution, zone ``Europe/Prague``.
    """
    if isinstance(values, pd.Series):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            return values.dt.tz_convert(PRAGUE)
        return values.dt.tz_localize(PRAGUE, ambiguous=PANDAS_AMBIGUOUS, nonexistent=PANDAS_NONEXISTENT)
    index = pd.DatetimeIndex(values)
    if index.tz is not None:
        return index.tz_convert(PRAGUE)
    return index.tz_localize(PRAGUE, ambiguous=PANDAS_AMBIGUOUS, nonexistent=PANDAS_NONEXISTENT)


def to_utc(value) -> pd.Timestamp:
    """A time the toolkit stamped itself (``fetched_at``) as UTC: naive = UTC, aware = converted.

    Unlike Mailkit's wall times, the toolkit's own clock readings are never Prague-local.
    """
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def assume_prague(naive: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Naive arrow timestamps (Prague wall time) as ``timestamp[Europe/Prague]``, by the module's rule.

    The arrow twin of :func:`to_prague_times`, for the parsers that build columns in arrow.
    """
    return pc.assume_timezone(naive, timezone=PRAGUE_NAME, ambiguous=ARROW_AMBIGUOUS, nonexistent=ARROW_NONEXISTENT)


def sql_assume_prague(naive_sql: str) -> str:
    """A DuckDB expression: a naive ``TIMESTAMP`` (Prague wall time) as ``TIMESTAMPTZ``, by the module's rule.

    The SQL twin of :func:`to_prague_times`. DuckDB's own ``timezone('Europe/Prague', t)``
    takes the *later* instant of the autumn hour and moves a skipped spring time forward by
    the whole gap (``02:30`` -> ``03:30``); this expression corrects both, relying on what
    holds for Prague since 1891: changes of one hour, on whole hours.

    Parameters
    ----------
    naive_sql : str
        A SQL expression of type ``TIMESTAMP`` (it is repeated in the result).

    Returns
    -------
    str
        A SQL expression of type ``TIMESTAMPTZ``.
    """
    zone = f"'{PRAGUE_NAME}'"
    instant = f"timezone({zone}, {naive_sql})"
    earlier = f"({instant} - INTERVAL 1 HOUR)"
    return (
        f"(CASE WHEN timezone({zone}, {earlier}) = {naive_sql} THEN {earlier} "  # ambiguous
        f"WHEN timezone({zone}, {instant}) <> {naive_sql} "  # skipped: the first valid instant
        f"THEN timezone({zone}, date_trunc('hour', timezone({zone}, {instant}))) "
        f"ELSE {instant} END)"
    )


def sql_assume_prague_per_hour(relation: str, wall: str, keep: list[str], name: str) -> str:
    """A DuckDB query: ``relation`` with its naive column ``wall`` given its zone as ``name``.

    The same instants as :func:`sql_assume_prague`, with the rule applied once per distinct
    wall-clock hour instead of per row (a year of sends has a few thousand hours and
    millions of rows): within a wall hour Prague's offset is one (changes are whole hours on
    whole hours), so a time is its hour's instant plus its minutes; in a skipped hour every
    time is the first valid instant, as the rule says. For a query that reads every row.

    Parameters
    ----------
    relation : str
        A SQL relation (a table, a view or a parenthesised query).
    wall : str
        Its column of naive ``TIMESTAMP`` (Prague wall time).
    keep : list of str
        Its columns to keep as they are.
    name : str
        The name of the ``TIMESTAMPTZ`` column.

    Returns
    -------
    str
        A SQL query of the columns ``keep`` and ``name``.
    """
    zone = f"'{PRAGUE_NAME}'"
    kept = "".join(f"r.{column}, " for column in keep)
    return (
        # Materialized: the relation is read once, for its hours and for its rows.
        f"WITH r AS MATERIALIZED (SELECT * FROM {relation}), "
        f"hours AS (SELECT DISTINCT date_trunc('hour', {wall}) AS wall_hour FROM r WHERE {wall} IS NOT NULL), "
        f"instants AS (SELECT wall_hour, {sql_assume_prague('wall_hour')} AS hour_start FROM hours), "
        f"shifts AS (SELECT wall_hour, hour_start, timezone({zone}, hour_start) <> wall_hour AS skipped FROM instants) "
        f"SELECT {kept}CASE WHEN h.skipped THEN h.hour_start ELSE h.hour_start + (r.{wall} - h.wall_hour) END AS {name} "
        f"FROM r LEFT JOIN shifts h ON h.wall_hour = date_trunc('hour', r.{wall})"
    )


def prague_days(times: pd.Series) -> pd.Series:
    """The Prague midnight that starts each time's day (``NaT`` stays ``NaT``).

    The same days as ``times.dt.normalize()``, computed once per distinct hour instead of
    per time: Prague's offset changes by whole hours on whole hours (as
    :func:`sql_assume_prague` relies on too), so an hour of UTC lies inside one Prague day.
    On a year of a large account that is a few thousand conversions for a million sends.

    Parameters
    ----------
    times : pandas.Series
        Zone-aware times (any zone; they are converted to Prague).

    Returns
    -------
    pandas.Series
        Zone-aware Prague midnights, same index and resolution as ``times`` (in Prague).
    """
    times = to_prague_times(times)
    values = times.array
    step = pd.Timedelta(hours=1) // pd.Timedelta(1, unit=values.unit)
    stamps = values.asi8
    present = ~times.isna().to_numpy()
    hours, distinct = pd.factorize(stamps[present] // step, sort=False)
    starts = pd.DatetimeIndex(pd.to_datetime(distinct * step, unit=values.unit, utc=True)).tz_convert(PRAGUE)
    day_starts = starts.normalize().as_unit(values.unit).asi8
    days = np.full(len(stamps), np.iinfo("int64").min, dtype="int64")
    days[present] = day_starts[hours]
    out = pd.Series(days.view(f"M8[{values.unit}]"), index=times.index, name=times.name)
    return out.dt.tz_localize("UTC").dt.tz_convert(PRAGUE)


def _is_date_only(value) -> bool:
    if isinstance(value, str):
        text = value.strip()
        return len(text) == 10 and text[4] == "-" and text[7] == "-"
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def parse_bound(value: TimeLike | None, *, end: bool = False) -> pd.Timestamp | None:
    """A window bound as a Prague-aware timestamp.

    Parameters
    ----------
    value : str, date, datetime, pandas.Timestamp or None
        A date (``"2026-11-05"``) or an ISO 8601 time; naive = Prague time. None or ``""``
        = an open bound.
    end : bool
        The bound is ``until`` (exclusive): a bare date then means the start of the *next*
        day, so that the window includes that whole day.

    Returns
    -------
    pandas.Timestamp or None

    Raises
    ------
    ValueError
        ``value`` is neither a date nor an ISO 8601 time.
    """
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    try:
        stamp = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{value!r} is not a date or an ISO 8601 time") from exc
    if pd.isna(stamp):
        raise ValueError(f"{value!r} is not a date or an ISO 8601 time")
    stamp = to_prague(stamp)
    if end and _is_date_only(value):
        stamp = to_prague(stamp.tz_localize(None).normalize() + pd.Timedelta(days=1))
    return stamp


def window_bounds(since: TimeLike | None, until: TimeLike | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """A date window's bounds as Prague timestamps (``since`` inclusive, ``until`` exclusive), checked.

    Parameters
    ----------
    since, until : str, date, datetime, pandas.Timestamp or None
        As :func:`parse_bound` reads them: a bare date ``until`` includes that whole day;
        naive times are Prague time; None = open.

    Returns
    -------
    since, until : pandas.Timestamp or None

    Raises
    ------
    WindowError
        A bound that is not a date, or ``since`` not before ``until`` (a window that could only
        ever be empty). It is a :class:`ValueError` too.
    """
    try:
        since_ts, until_ts = parse_bound(since), parse_bound(until, end=True)
    except ValueError as error:
        raise WindowError(f"window bound: {error}") from None
    if since_ts is not None and until_ts is not None and since_ts >= until_ts:
        raise WindowError(
            f"the window is empty: since ({since_ts:%Y-%m-%d %H:%M}) is not before until "
            f"({until_ts:%Y-%m-%d %H:%M}, exclusive; a bare date includes that day)"
        )
    return since_ts, until_ts
