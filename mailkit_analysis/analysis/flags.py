"""Problem flags: what in a results frame needs a person's attention, and what to do about it.

:func:`find_flags` runs a few rules over a results frame and returns one row per problem,
most severe first, each with a human message and the remedy from the code catalogue:

``setup`` (critical)
    A set-up code (1, 4, 5, 7, 8): one mistake failed every recipient of a send. One flag
    per affected send, or per request when no send was created (codes 4 and 5).
``addresses`` (warning)
    Invalid or missing addresses (2, 3) in a send above a rate (when the send's size is
    known) or a count (when it is not); one flag per campaign, naming the worst domains.
``spike`` (warning)
    A day on which a code occurred far more often than over its own recent past. When the
    sizes of the day's sends are known, its rate (rows per recipient sent that day) is set
    against the median of the previous days' rates plus ``k`` scaled MADs, so that a day
    with one large send, which has more rows of every code, is not a spike; without sizes,
    the daily row counts are compared the same way. A minimum volume keeps a handful of
    rows from ever alarming, and rows the ``setup`` or ``addresses`` rule already flagged
    do not raise a second warning.
``unsubscribed`` (info)
    A campaign whose unsubscribed share (6) in the last days is well above its own history.
``unknown_code`` (warning)
    A code the catalogue does not know; one flag per code.

Every threshold lives in :class:`FlagConfig`, which can be changed by argument or read from
a small TOML or JSON file.
"""
from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ..codes import CATALOGUE, SETUP_CODES, UNKNOWN, lookup
from ..prague_time import PRAGUE_DTYPE, to_prague, to_prague_times
from .domains import extract_domains, suggest_domains
from .summaries import NO_DOMAIN, Denominators, complete_sum, period_start, unit_keys

__all__ = ["SEVERITIES", "RULES", "FLAG_COLUMNS", "FlagConfig", "find_flags", "flags_to_json"]

#: Severities, most severe first (the sort order of the flags).
SEVERITIES = ("critical", "warning", "info")
#: Rule names, in the order they run.
RULES = ("setup", "addresses", "spike", "unsubscribed", "unknown_code")

_TIME = PRAGUE_DTYPE
#: Column name -> dtype of the flags frame.
FLAG_COLUMNS: dict[str, object] = {
    "severity": "string",
    "rule": "string",
    "error_code": "Int64",
    "campaign_id": "Int64",
    "id_send": "Int64",
    "count": "int64",
    "first_seen": _TIME,
    "last_seen": _TIME,
    "message": "string",
    "remedy": "string",
}

# How a set-up failure reads in a message, shorter than the catalogue's full sentence.
_SETUP_PROBLEM = {
    1: "missing attachment",
    4: "invalid mailinglist_id",
    5: "invalid campaign (id_message)",
    7: "no sender address",
    8: "invalid template",
}
_MAD_SCALE = 1.4826  # makes the MAD estimate the standard deviation of normal data


@dataclass(frozen=True)
class FlagConfig:
    """Thresholds of the flag rules.

    Change one by argument (``FlagConfig(spike_k=3)``, ``find_flags(frame, spike_k=3)``) or
    read them from a file (:meth:`from_file`).

    Attributes
    ----------
    setup_codes : tuple of int
        Codes flagged critical, one flag per send (default: the catalogue's set-up codes).
    address_codes : tuple of int
        Codes counted as invalid or missing addresses.
    address_max_rate : float
        A send whose address errors exceed this share of its recipients is flagged
        (when its size is known).
    address_min_count : int
        ... and only with at least this many address errors.
    address_max_count : int
        Without a known send size: flagged at this many address errors in one send.
    address_top_domains : int
        How many of the worst domains the message names.
    spike_window_days : int
        Days before the day in question that form its baseline (the day itself excluded).
    spike_min_history_days : int
        No spike is judged with fewer baseline days than this (by rate: days with sends
        of known size; a day without sends says nothing of a rate).
    spike_k : float
        Flag above median + k x MAD (MAD scaled by 1.4826) of the baseline days' rates,
        or of their counts when the day's recipients are not known ...
    spike_min_count : int
        ... only with at least this many rows that day (by rate: this many rows more than
        the median rate gives for the day's recipients, since a large send alone can pass
        any floor on the count) ...
    spike_min_ratio : float
        ... and at least this multiple of the median.
    spike_skip_codes : tuple of int
        Codes left to other rules (set-up codes are flagged per send already).
    dominant_share : float
        A campaign or send that holds this share of a spike's (or unknown code's) rows is
        named in the flag.
    unsubscribed_recent_days : int
        The recent window of the unsubscribed rule, ending at ``now``.
    unsubscribed_history_days : int
        The earlier window it is compared with, just before the recent one.
    unsubscribed_min_count : int
        Unsubscribed rows a campaign needs in the recent window to be judged.
    unsubscribed_min_history_sends : int
        Sends a campaign needs in the earlier window to have a history.
    unsubscribed_ratio : float
        Flag when the recent share is at least this multiple of the earlier one.
    """

    setup_codes: tuple[int, ...] = tuple(sorted(SETUP_CODES))
    address_codes: tuple[int, ...] = (2, 3)
    address_max_rate: float = 0.05
    address_min_count: int = 10
    address_max_count: int = 100
    address_top_domains: int = 3
    spike_window_days: int = 14
    spike_min_history_days: int = 7
    spike_k: float = 5.0
    spike_min_count: int = 20
    spike_min_ratio: float = 3.0
    spike_skip_codes: tuple[int, ...] = tuple(sorted(SETUP_CODES))
    dominant_share: float = 0.5
    unsubscribed_recent_days: int = 7
    unsubscribed_history_days: int = 56
    unsubscribed_min_count: int = 30
    unsubscribed_min_history_sends: int = 3
    unsubscribed_ratio: float = 2.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(field.default, tuple):
                if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                    raise ValueError(f"{field.name} must be a list of codes, not {value!r}")
                value = tuple(_as_int(v, field.name) for v in value)
                object.__setattr__(self, field.name, value)
            elif isinstance(field.default, int):
                value = _as_int(value, field.name)
                if value < 0:
                    raise ValueError(f"{field.name} must not be negative, not {value}")
                object.__setattr__(self, field.name, value)
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                    raise ValueError(f"{field.name} must be a non-negative number, not {value!r}")
                object.__setattr__(self, field.name, float(value))
        if self.spike_window_days < 1:
            raise ValueError("spike_window_days must be at least 1")

    def replace(self, **changes) -> "FlagConfig":
        """Return a copy with some thresholds changed (unknown names raise ValueError)."""
        return FlagConfig.from_dict({**dataclasses.asdict(self), **changes}, source="replace()")

    @classmethod
    def from_dict(cls, values: Mapping, source: str = "settings") -> "FlagConfig":
        """Build a config from a mapping; ``source`` names it in error messages.

        Raises
        ------
        ValueError
            A key that is not a threshold (named, with the source), or a bad value.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"{source}: unknown flag setting{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(k) for k in unknown)} (known: {', '.join(sorted(known))})"
            )
        try:
            return cls(**values)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None

    @classmethod
    def from_file(cls, path: str | PathLike) -> "FlagConfig":
        """Read thresholds from a ``.toml`` or ``.json`` file.

        The keys are the attribute names, at the top level or in a ``flags`` table
        (``[flags]`` in TOML); the ones not given keep their defaults.

        Raises
        ------
        ValueError
            An unknown key (named, with the file), a bad value, or a file that is not
            TOML or JSON.
        """
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() == ".toml":
                data = tomllib.loads(text)
            elif path.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                raise ValueError(f"{path}: flag settings must be a .toml or .json file")
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: cannot read flag settings: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: flag settings must be a table of name = value")
        if set(data) == {"flags"} and isinstance(data["flags"], dict):
            data = data["flags"]
        return cls.from_dict(data, source=str(path))


def _as_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _resolve_config(config, overrides: Mapping) -> FlagConfig:
    if config is None:
        config = FlagConfig()
    elif isinstance(config, (str, PathLike)):
        config = FlagConfig.from_file(config)
    elif isinstance(config, Mapping):
        config = FlagConfig.from_dict(config)
    elif not isinstance(config, FlagConfig):
        raise TypeError(f"config must be a FlagConfig, a mapping or a path, not {type(config).__name__}")
    return config.replace(**overrides) if overrides else config


# --------------------------------------------------------------------------- public

def find_flags(
    frame: pd.DataFrame,
    sends=None,
    config: FlagConfig | Mapping | str | PathLike | None = None,
    *,
    recipients=None,
    rules: Iterable[str] | None = None,
    now: pd.Timestamp | str | None = None,
    **thresholds,
) -> pd.DataFrame:
    """Find the problems in a results frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame.
    sends, recipients : optional
        Denominators, as in :mod:`mailkit_analysis.analysis.summaries`; they turn counts into rates
        (the address and spike rules) and name how many recipients a failed request had.
    config : FlagConfig, mapping or path, optional
        Thresholds; a mapping or a ``.toml``/``.json`` path is read with
        :meth:`FlagConfig.from_dict`/:meth:`FlagConfig.from_file`.
    rules : iterable of str, optional
        Run only these rules (see :data:`RULES`); default all.
    now : timestamp, optional
        The moment of evaluation: rows after it are ignored and the unsubscribed rule's
        recent window ends at it. Default: the latest row's date. Naive times are Prague.
    **thresholds
        Single :class:`FlagConfig` fields to override, e.g. ``spike_k=3``.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`FLAG_COLUMNS`: ``severity``, ``rule``, ``error_code``,
        ``campaign_id``, ``id_send``, ``count``, ``first_seen``, ``last_seen``,
        ``message``, ``remedy``; critical first, then by count.

    Raises
    ------
    ValueError
        An unknown rule or threshold name.
    """
    cfg = _resolve_config(config, thresholds)
    chosen = RULES if rules is None else tuple(rules)
    unknown = [r for r in chosen if r not in RULES]
    if unknown:
        raise ValueError(f"unknown flag rule(s) {unknown}; known: {list(RULES)}")
    rows = frame
    if len(rows) and (now is not None):
        now = _as_prague(now)
        rows = rows[(rows["date"] <= now).fillna(True)]
    if rows.empty:
        return _empty_flags()
    if now is None:
        now = rows["date"].max()
    units = Denominators(rows, sends, recipients)
    found: list[dict] = []
    # The Prague day of each row, and the rows an earlier rule has already flagged: a spike
    # made of them would report the same incident a second time.
    day = period_start(rows["date"], "D") if "spike" in chosen else None
    explained = np.zeros(len(rows), dtype=bool)
    if "setup" in chosen:
        found += _setup_flags(rows, units, cfg)
        if day is not None:  # every row of a set-up code is in a critical flag
            explained |= rows["error_code"].isin(list(cfg.setup_codes)).fillna(False).to_numpy(dtype=bool)
    if "addresses" in chosen:
        address_flags = _address_flags(rows, units, cfg)
        found += address_flags
        if day is not None:
            explained |= _address_covered(rows, day, address_flags, cfg)
    if "spike" in chosen:
        found += _spike_flags(rows, day, units, cfg, now, explained)
    if "unsubscribed" in chosen and not pd.isna(now):
        found += _unsubscribed_flags(rows, units, cfg, now)
    if "unknown_code" in chosen:
        found += _unknown_code_flags(rows, cfg)
    return _flags_frame(found)


def flags_to_json(flags: pd.DataFrame, indent: int | None = None) -> str:
    """The flags as a JSON array of objects (times ISO 8601 with offset, missing as null).

    Parameters
    ----------
    flags : pandas.DataFrame
        What :func:`find_flags` returned.
    indent : int, optional
        Passed to :func:`json.dumps`.
    """
    records = []
    for row in flags.to_dict(orient="records"):
        records.append({key: _plain(value) for key, value in row.items()})
    return json.dumps(records, ensure_ascii=False, indent=indent)


def _plain(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    return value


# --------------------------------------------------------------------------- helpers

def _as_prague(moment) -> pd.Timestamp:
    return to_prague(moment)


def _empty_flags() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in FLAG_COLUMNS.items()})


def _flags_frame(found: list[dict]) -> pd.DataFrame:
    if not found:
        return _empty_flags()
    out = pd.DataFrame(found, columns=list(FLAG_COLUMNS))
    for column, dtype in FLAG_COLUMNS.items():
        if dtype == _TIME:
            out[column] = to_prague_times(pd.to_datetime(out[column], utc=True)).astype(_TIME)
        else:
            out[column] = out[column].astype(dtype)
    rank = out["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).astype("int64")
    order = np.lexsort((out["first_seen"].astype("int64").to_numpy(), -out["count"].to_numpy(), rank.to_numpy()))
    return out.iloc[order].reset_index(drop=True)


# Columns the rules read. Filtering only these matters on a million rows: taking rows out
# of arrow string columns (email above all) is what costs the time.
_RULE_COLUMNS = ["request_id", "id_send", "error_code", "date", "campaign_id", "campaign_name", "info"]


def _rows(frame: pd.DataFrame, mask, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    mask = np.asarray(pd.Series(mask, index=frame.index).fillna(False), dtype=bool)
    return frame.loc[mask, _RULE_COLUMNS + list(extra)]


def _na_to_none(value):
    return None if value is None or pd.isna(value) else value


def _campaign_words(campaign_id, campaign_name, word: str = "Campaign") -> str:
    """``"Campaign 'Faktura'"``, ``"Campaign 101"`` or ``""`` for a message."""
    if _na_to_none(campaign_name) not in (None, ""):
        return f"{word} '{campaign_name}'"
    if _na_to_none(campaign_id) is not None:
        return f"{word} {int(campaign_id)}"
    return ""


def _joined(*parts: str) -> str:
    text = " ".join(p for p in parts if p)
    return text[:1].upper() + text[1:]


def _dominant(rows: pd.DataFrame, column: str, share: float):
    """The value of ``column`` holding at least ``share`` of ``rows``, else None."""
    counts = rows[column].value_counts(dropna=True)
    if counts.empty or counts.iloc[0] < share * len(rows):
        return None
    return counts.index[0]


def _info_words(info) -> str:
    info = _na_to_none(info)
    return f" (INFO: {info})" if info else ""


def _most_common(values: pd.Series):
    counts = values.dropna().value_counts()
    return counts.index[0] if len(counts) else None


# --------------------------------------------------------------------------- rules

def _setup_flags(frame: pd.DataFrame, units: Denominators, cfg: FlagConfig) -> list[dict]:
    rows = _rows(frame, frame["error_code"].isin(list(cfg.setup_codes)))
    if rows.empty:
        return []
    rows = rows.assign(unit=unit_keys(rows))
    sizes = units.per_unit()
    flags = []
    for (unit, code), group in rows.groupby(["unit", "error_code"], sort=True):
        first = group.iloc[0]
        id_send = _na_to_none(first["id_send"])
        request_id = _na_to_none(first["request_id"])
        count = len(group)
        size = _na_to_none(sizes.get(unit)) if unit in sizes.index else None
        if id_send is None:
            where = f"request {request_id} (no send created)"
            # Mailkit may report a failed request once rather than per recipient: its size,
            # when known, is what was not sent.
            not_sent = f"{max(count, size or 0):,} recipients not sent"
        else:
            where = f"send {id_send}"
            not_sent = f"{count:,} of {size:,} recipients not sent" if size else f"{count:,} recipients not sent"
        problem = _SETUP_PROBLEM.get(int(code), lookup(code).english)
        campaign = _campaign_words(_most_common(group["campaign_id"]), _most_common(group["campaign_name"]))
        message = _joined(campaign, f"{where}: {problem}, {not_sent}{_info_words(_most_common(group['info']))}")
        flags.append(_flag("critical", "setup", code, group, count, message, lookup(code).remedy,
                           campaign_id=_most_common(group["campaign_id"]), id_send=id_send))
    return flags


def _flag(severity, rule, code, rows, count, message, remedy, campaign_id=None, id_send=None) -> dict:
    return {
        "severity": severity,
        "rule": rule,
        "error_code": _na_to_none(code),
        "campaign_id": _na_to_none(campaign_id),
        "id_send": _na_to_none(id_send),
        "count": int(count),
        "first_seen": rows["date"].min(),
        "last_seen": rows["date"].max(),
        "message": message,
        "remedy": remedy,
    }


def _worst_domains(rows: pd.DataFrame, top: int) -> str:
    domains = extract_domains(rows["email"]).fillna(NO_DOMAIN)
    counts = domains.value_counts().head(top)
    suggestions = suggest_domains(pd.Series(counts.index, dtype="string"))
    words = []
    for (domain, n), suggestion in zip(counts.items(), suggestions):
        shown = f"{domain} (-> {suggestion})" if not pd.isna(suggestion) else str(domain)
        words.append(f"{shown} {n:,}")
    return ", ".join(words)


def _address_flags(frame: pd.DataFrame, units: Denominators, cfg: FlagConfig) -> list[dict]:
    rows = _rows(frame, frame["error_code"].isin(list(cfg.address_codes)), extra=("email",))
    if rows.empty:
        return []
    rows = rows.assign(unit=unit_keys(rows))
    per_unit = rows.groupby("unit").size()
    size = units.per_unit().reindex(per_unit.index).astype("Float64")
    rate = per_unit / size.where(size > 0)
    known = rate.notna()
    bad = (known & (rate > cfg.address_max_rate) & (per_unit >= cfg.address_min_count)).fillna(False)
    bad |= (~known & (per_unit >= cfg.address_max_count)).fillna(False)
    if not bad.any():
        return []
    offending = rows[rows["unit"].isin(per_unit.index[bad.to_numpy()])]
    flags = []
    for campaign_id, group in offending.groupby(offending["campaign_id"].astype("Int64"), dropna=False, sort=True):
        in_units = group.groupby("unit").size().sort_values(ascending=False, kind="stable")
        worst = in_units.index[0]
        worst_rows = group[group["unit"] == worst]
        worst_size = size.get(worst)
        worst_send = _na_to_none(worst_rows["id_send"].iloc[0])
        where = f"send {worst_send}" if worst_send is not None else f"request {worst_rows['request_id'].iloc[0]}"
        detail = f"{in_units.iloc[0]:,} in {where}"
        if not pd.isna(worst_size):
            detail += f", {in_units.iloc[0] / worst_size:.1%} of its {int(worst_size):,} recipients"
        n_units = len(in_units)
        code = int(group["error_code"].value_counts().index[0])
        campaign = _campaign_words(_na_to_none(campaign_id), _most_common(group["campaign_name"]))
        message = (
            f"{campaign + ': ' if campaign else ''}{len(group):,} invalid or missing addresses in "
            f"{n_units} send{'s' if n_units > 1 else ''} (worst: {detail}); "
            f"worst domains: {_worst_domains(group, cfg.address_top_domains)}"
        )
        flags.append(_flag("warning", "addresses", code, group, len(group), message, lookup(code).remedy,
                           campaign_id=_na_to_none(campaign_id), id_send=worst_send))
    return flags


def _rolling_baseline(values: np.ndarray, window: int, min_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and scaled MAD of the ``window`` values before each position (NaN without
    ``min_days`` of history; NaN values are not history)."""
    padded = np.concatenate([np.full(window, np.nan), values.astype(float)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)[: len(values)]
    enough = np.sum(~np.isnan(windows), axis=1) >= max(min_days, 1)
    median = np.full(len(values), np.nan)
    mad = np.full(len(values), np.nan)
    if enough.any():
        chosen = windows[enough]
        median[enough] = np.nanmedian(chosen, axis=1)
        mad[enough] = _MAD_SCALE * np.nanmedian(np.abs(chosen - median[enough][:, None]), axis=1)
    return median, mad


def _daily_recipients(frame: pd.DataFrame, day: pd.Series, units: Denominators, cfg: FlagConfig,
                      days: pd.DatetimeIndex, now: pd.Timestamp) -> np.ndarray:
    """Recipients of the sends and requests active on each of ``days``; NaN where unknown.

    A unit (a send, or a request that created none) is active on the day it was sent and on
    every day it has error rows, so a send that runs past midnight counts on both days.

    Parameters
    ----------
    frame : pandas.DataFrame
        The results rows the flags are drawn from.
    day : pandas.Series
        The Prague day of each row of ``frame`` (NaT without a date).
    units : Denominators
        Sizes and send times of the units.
    cfg : FlagConfig
        Its ``setup_codes`` name the units left out.
    days : pandas.DatetimeIndex
        The days wanted.
    now : pandas.Timestamp
        Sends after it are not counted: their errors are not in the frame yet.

    Returns
    -------
    numpy.ndarray
        float recipients per day, NaN on a day without any unit or with a unit of unknown
        size (a partial total would inflate that day's rates).
    """
    out = np.full(len(days), np.nan)
    if not units.known:
        return out
    keys = unit_keys(frame)
    dated = (day.notna() & keys.notna()).to_numpy()
    table = units.units
    placed = (table["sent"].notna() & (table["sent"] <= now)).to_numpy()
    pairs = pd.concat(
        [
            pd.DataFrame({"unit": keys[dated].array, "day": day[dated].array}),
            pd.DataFrame({"unit": pd.array(table.index[placed], dtype="Int64"),
                          "day": period_start(table.loc[placed, "sent"], "D").array}),
        ],
        ignore_index=True,
    ).drop_duplicates()
    # A send failed on a set-up code reached none of its recipients, so it cannot produce
    # an invalid address or an unsubscription: its size would only dilute the day's rates.
    failed = keys[frame["error_code"].isin(list(cfg.setup_codes)).fillna(False).to_numpy()].dropna().unique()
    pairs = pairs[~pairs["unit"].isin(failed).to_numpy()]
    if pairs.empty:
        return out
    sizes = pd.Series(table["recipients"].reindex(pairs["unit"]).array, index=pairs.index)
    per_day = complete_sum(sizes, pairs["day"]).reindex(days)
    out = per_day.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    out[~(out > 0)] = np.nan
    return out


def _above(values, median: np.ndarray, mad: np.ndarray, cfg: FlagConfig) -> np.ndarray:
    """Whether ``values`` clear both bars: ``k`` scaled MADs above the median (how unusual)
    and ``spike_min_ratio`` times it (how much, which a near-zero MAD cannot provide)."""
    with np.errstate(invalid="ignore"):
        return (~np.isnan(median)) & (values >= cfg.spike_min_ratio * median) & (values > median + cfg.spike_k * mad)


def _percent(rate: float) -> str:
    """A rate for a message, with two decimals below 1 % so that small rates still differ."""
    return f"{rate:.1%}" if rate >= 0.01 else f"{rate:.2%}"


def _address_covered(frame: pd.DataFrame, day: pd.Series, address_flags: list[dict], cfg: FlagConfig) -> np.ndarray:
    """Which rows an address warning already reports.

    A warning names a campaign and spans the days from its first to its last bad send; a
    person who has read it knows about that campaign's invalid and missing addresses on
    those days, in its other sends too.

    Parameters
    ----------
    frame : pandas.DataFrame
        The results rows.
    day : pandas.Series
        The Prague day of each row.
    address_flags : list of dict
        What the address rule found.
    cfg : FlagConfig
        Its ``address_codes``.

    Returns
    -------
    numpy.ndarray
        bool, aligned with ``frame``.
    """
    out = np.zeros(len(frame), dtype=bool)
    candidate = np.flatnonzero((frame["error_code"].isin(list(cfg.address_codes)) & day.notna())
                               .fillna(False).to_numpy())
    if not address_flags or not len(candidate):
        return out
    campaign = frame["campaign_id"].iloc[candidate].astype("Int64")
    when = day.iloc[candidate]
    for flag in address_flags:
        same = campaign.isna() if flag["campaign_id"] is None else (campaign == flag["campaign_id"]).fillna(False)
        first, last = period_start(pd.Series([flag["first_seen"], flag["last_seen"]]), "D")
        out[candidate[(same & (when >= first) & (when <= last)).to_numpy(dtype=bool)]] = True
    return out


def _spike_flags(frame: pd.DataFrame, day: pd.Series, units: Denominators, cfg: FlagConfig,
                 now: pd.Timestamp, explained: np.ndarray) -> list[dict]:
    """Days on which a code was far more frequent than over its own recent past.

    With the day's recipients known, the code's share of them (its daily rate) is compared
    with the rates of the previous days: a day with one large send has more rows of every
    code, which is volume, not a problem. Without them the daily row counts are compared.

    Parameters
    ----------
    frame : pandas.DataFrame
        The results rows.
    day : pandas.Series
        The Prague day of each row.
    units : Denominators
        Sizes of the sends and requests.
    cfg : FlagConfig
        The ``spike_*`` thresholds.
    now : pandas.Timestamp
        The moment of evaluation.
    explained : numpy.ndarray
        bool per row of ``frame``: rows another rule has already flagged. A spike that
        does not clear the bars without them is not flagged again; one that does is
        judged and named by the rest.

    Returns
    -------
    list of dict
        One flag per (day, code).
    """
    codes = frame["error_code"]
    judged = (frame["date"].notna() & codes.notna()
              & ~codes.isin(list(cfg.spike_skip_codes))).fillna(False).to_numpy(dtype=bool)
    if not judged.any():
        return []
    judged_day, judged_code = day[judged].rename("day"), codes[judged].astype("int64")
    counts = pd.Series(1, index=judged_day.index).groupby([judged_day, judged_code]).size().unstack(fill_value=0)
    full = to_prague_times(pd.date_range(judged_day.min().tz_localize(None), judged_day.max().tz_localize(None),
                                         freq="D")).as_unit("us")
    counts = counts.reindex(full, fill_value=0)
    recipients = _daily_recipients(frame, day, units, cfg, full, now)
    # A day is judged by its rate when its recipients are known, by its count otherwise.
    by_rate = ~np.isnan(recipients)
    known_recipients = np.where(by_rate, recipients, 0.0)
    window, min_days = cfg.spike_window_days, cfg.spike_min_history_days
    flags = []
    for code in counts.columns:
        values = counts[code].to_numpy()
        # Days without a known rate are no history for the rates (NaN is skipped): a day
        # without sends says nothing of how often a code occurs per recipient.
        rates = np.where(by_rate, values / np.where(by_rate, recipients, 1.0), np.nan)
        rate_median, rate_mad = _rolling_baseline(rates, window, min_days)
        count_median, count_mad = _rolling_baseline(values, window, min_days)

        def spiked(n, i):
            """Whether ``n`` rows of the code on day(s) ``i`` make a spike."""
            n = np.asarray(n)
            by_count = _above(n, count_median[i], count_mad[i], cfg)
            # (The share is only read on days judged by rate; elsewhere it divides by 1.)
            by_share = _above(n / np.where(by_rate[i], recipients[i], 1.0), rate_median[i], rate_mad[i], cfg)
            # By rate, the minimum volume counts the rows beyond what the usual rate gives
            # for the day's recipients: on a day of ten times the usual volume the count
            # alone passes any floor. The count is never below this excess.
            usual = np.where(by_rate[i], rate_median[i] * known_recipients[i], 0.0)
            with np.errstate(invalid="ignore"):
                enough = n - usual >= cfg.spike_min_count
            return enough & np.where(by_rate[i], by_share, by_count)

        for i in np.flatnonzero(spiked(values, np.arange(len(values)))):
            when = counts.index[i]
            positions = np.flatnonzero(judged & (day == when).fillna(False).to_numpy()
                                       & (codes == code).fillna(False).to_numpy())
            done = explained[positions]
            n = len(positions) - int(done.sum())
            if done.any():
                # Another flag already reports these rows; what is left must spike on its own.
                if not spiked(n, i):
                    continue
                positions = positions[~done]
            group = frame.iloc[positions][_RULE_COLUMNS]
            campaign_id = _dominant(group, "campaign_id", cfg.dominant_share)
            id_send = _dominant(group, "id_send", cfg.dominant_share)
            where = ""
            if campaign_id is not None:
                share = (group["campaign_id"] == campaign_id).mean()
                name = _most_common(group.loc[(group["campaign_id"] == campaign_id).fillna(False), "campaign_name"])
                where = f"; {share:.0%} from {_campaign_words(campaign_id, name, word='campaign')}"
                if id_send is not None:
                    where += f" send {int(id_send)}"
            if done.any():
                where += f" (besides {int(done.sum()):,} rows flagged by another rule)"
            label = lookup(code).label if code in CATALOGUE else f"{code} unknown"
            # The effective bar is the higher of the MAD threshold and the ratio floor.
            if by_rate[i]:
                bar = max(rate_median[i] + cfg.spike_k * rate_mad[i], cfg.spike_min_ratio * rate_median[i])
                measure = (f"{n:,} rows, {_percent(n / recipients[i])} of {int(recipients[i]):,} recipients, "
                           f"against a {window}-day median of {_percent(rate_median[i])} (alarm above {_percent(bar)})")
            else:
                bar = max(count_median[i] + cfg.spike_k * count_mad[i], cfg.spike_min_ratio * count_median[i],
                          cfg.spike_min_count)
                measure = f"{n:,} rows against a {window}-day median of {count_median[i]:g} (alarm above {bar:.0f})"
            message = f"Code {label} spiked on {when:%Y-%m-%d}: {measure}{where}"
            flags.append(_flag("warning", "spike", code, group, n, message, lookup(code).remedy,
                               campaign_id=campaign_id, id_send=id_send))
    return flags


def _unsubscribed_flags(frame: pd.DataFrame, units: Denominators, cfg: FlagConfig, now: pd.Timestamp) -> list[dict]:
    recent_start = now - pd.Timedelta(days=cfg.unsubscribed_recent_days)
    history_start = recent_start - pd.Timedelta(days=cfg.unsubscribed_history_days)
    table = units.units
    table = table[table["campaign_id"].notna() & table["sent"].notna()]
    if table.empty:
        return []
    window = pd.Series(
        np.select([table["sent"] > recent_start, table["sent"] > history_start], ["recent", "earlier"], "old"),
        index=table.index,
    )
    table = table.assign(window=window.to_numpy())[(window != "old").to_numpy() & (table["sent"] <= now).to_numpy()]
    rows = _rows(frame, frame["error_code"] == 6)
    unsub = rows.groupby(unit_keys(rows)).size()
    table = table.assign(unsubscribed=unsub.reindex(table.index, fill_value=0).to_numpy())
    keys = [table["campaign_id"], table["window"]]
    summary = pd.DataFrame(
        {
            "sends": table.groupby(keys).size(),
            "unsubscribed": table.groupby(keys)["unsubscribed"].sum(),
            "recipients": complete_sum(table["recipients"], keys),
        }
    ).unstack("window")
    flags = []
    for campaign_id, row in summary.iterrows():
        recent_rows = row.get(("unsubscribed", "recent"), 0)
        earlier_sends = row.get(("sends", "earlier"), 0)
        if pd.isna(recent_rows) or recent_rows < cfg.unsubscribed_min_count:
            continue
        if pd.isna(earlier_sends) or earlier_sends < cfg.unsubscribed_min_history_sends:
            continue
        recent_n, earlier_n = row[("recipients", "recent")], row[("recipients", "earlier")]
        by_recipients = not (pd.isna(recent_n) or pd.isna(earlier_n)) and recent_n > 0 and earlier_n > 0
        if by_recipients:
            recent, earlier = recent_rows / recent_n, row[("unsubscribed", "earlier")] / earlier_n
            measure, unit = "unsubscribed share", " of recipients"
        else:  # without sizes, unsubscribed rows per send with errors stand in for the share
            recent = recent_rows / row[("sends", "recent")]
            earlier = row[("unsubscribed", "earlier")] / earlier_sends
            measure, unit = "unsubscribed rows per send", ""
        if not recent >= cfg.unsubscribed_ratio * earlier:
            continue
        group = rows[(rows["campaign_id"] == campaign_id).fillna(False) & (rows["date"] > recent_start).fillna(False)]
        shown = (lambda v: f"{v:.1%}") if by_recipients else (lambda v: f"{v:.1f}")
        campaign = _campaign_words(campaign_id, _most_common(group["campaign_name"]))
        message = (
            f"{campaign + ': ' if campaign else ''}{measure} rose to {shown(recent)}{unit} in the last "
            f"{cfg.unsubscribed_recent_days} days from {shown(earlier)} before ({int(recent_rows):,} rows)"
        )
        message = message[:1].upper() + message[1:]
        flags.append(_flag("info", "unsubscribed", 6, group, recent_rows, message, lookup(6).remedy,
                           campaign_id=campaign_id))
    return flags


def _unknown_code_flags(frame: pd.DataFrame, cfg: FlagConfig) -> list[dict]:
    codes = frame["error_code"]
    rows = _rows(frame, codes.notna() & ~codes.isin(list(CATALOGUE)).fillna(False))
    flags = []
    for code, group in rows.groupby(rows["error_code"].astype("int64"), sort=True):
        sends = group["id_send"].nunique()
        campaign_id = _dominant(group, "campaign_id", cfg.dominant_share)
        id_send = _dominant(group, "id_send", cfg.dominant_share)
        message = (
            f"Mailkit returned code {code}, not in the catalogue: {len(group):,} rows in "
            f"{sends} send{'s' if sends != 1 else ''}{_info_words(_most_common(group['info']))}"
        )
        flags.append(_flag("warning", "unknown_code", code, group, len(group), message, UNKNOWN.remedy,
                           campaign_id=campaign_id, id_send=id_send))
    return flags
