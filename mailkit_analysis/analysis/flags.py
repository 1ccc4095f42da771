"""Problem flags: their thresholds, their columns, and the entry point over a results frame.

A flag is an *incident* (see :mod:`mailkit_analysis.analysis.incidents`): one entry per
problem, grouping what has one cause (a run of failed sends of one campaign and code, an
address problem over consecutive days, a drift over weeks, an unsubscribe surge, an unknown
code), ordered by what needs action now. :func:`find_flags` finds them in a results frame a
Python user hands in; :func:`~mailkit_analysis.analysis.window.flags_for_window` in the cache.

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

from ..codes import SETUP_CODES
from ..prague_time import PRAGUE_DTYPE, to_prague

__all__ = ["SEVERITIES", "RULES", "FLAG_COLUMNS", "FlagConfig", "find_flags", "flags_to_json"]

#: Severities, most severe first (the sort order of the flags).
SEVERITIES = ("critical", "warning", "info")
#: Rule names, in the order they run.
RULES = ("setup", "addresses", "drift", "spike", "unsubscribed", "unknown_code")

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
    "status": "string",
    "sends": "int64",
    "requests": "int64",
    "recipients": "int64",
    "id_sends": "object",
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
    unsubscribed_min_count : int
        The floor on the count: unsubscribed recipients a send (or a day of a campaign)
        needs to be a surge, so that small sends never alarm.
    unsubscribed_min_history_sends : int
        Sends of known size a campaign needs to have a usual share.
    unsubscribed_ratio : float
        The floor on the multiple: a surge is at least this multiple of the campaign's
        usual unsubscribed share.
    unsubscribed_ordinary_quantile : float
        The quantile of a campaign's per-send unsubscribed shares taken as the top of its
        ordinary range.
    unsubscribed_ordinary_ratio : float
        A surge is also at least this multiple of that top of the ordinary range.
    drift_weeks : int
        Weeks, ending at the campaign's latest send, over which a drift climbs.
    drift_min_history_weeks : int
        Earlier weeks a campaign needs for its usual invalid-address share.
    drift_min_rising_share : float
        Share of those weeks whose share is above the week before's.
    drift_ratio : float
        The last two weeks' share is at least this multiple of the usual one ...
    drift_min_increase : float
        ... and at least this much above it (an absolute share, e.g. 0.02 = 2 points).
    """

    setup_codes: tuple[int, ...] = tuple(sorted(SETUP_CODES))
    address_codes: tuple[int, ...] = (2, 3)
    address_max_rate: float = 0.10
    address_min_count: int = 20
    address_max_count: int = 100
    address_top_domains: int = 3
    spike_window_days: int = 14
    spike_min_history_days: int = 7
    spike_k: float = 5.0
    spike_min_count: int = 20
    spike_min_ratio: float = 3.0
    spike_skip_codes: tuple[int, ...] = tuple(sorted(SETUP_CODES))
    dominant_share: float = 0.5
    unsubscribed_min_count: int = 30
    unsubscribed_min_history_sends: int = 3
    unsubscribed_ratio: float = 10.0
    unsubscribed_ordinary_quantile: float = 0.75
    unsubscribed_ordinary_ratio: float = 3.0
    drift_weeks: int = 5
    drift_min_history_weeks: int = 3
    drift_min_rising_share: float = 0.75
    drift_ratio: float = 2.0
    drift_min_increase: float = 0.02

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
        if self.drift_weeks < 2:
            raise ValueError("drift_weeks must be at least 2")
        if self.unsubscribed_ordinary_quantile > 1:
            raise ValueError("unsubscribed_ordinary_quantile is a quantile: a number from 0 to 1, "
                             f"not {self.unsubscribed_ordinary_quantile}")

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
    """Find the incidents in a results frame.

    The frame is read as a :class:`~mailkit_analysis.analysis.window.Window` (the same SQL
    as over the cache), so a frame and the cache give the same incidents.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame.
    sends : pandas.DataFrame, optional
        Sends with ``id_send`` and ``send_count`` (optionally ``campaign_id``,
        ``send_date``): the recipients sent, which turn counts into rates.
    config : FlagConfig, mapping or path, optional
        Thresholds; a mapping or a ``.toml``/``.json`` path is read with
        :meth:`FlagConfig.from_dict`/:meth:`FlagConfig.from_file`.
    recipients : pandas.DataFrame, optional
        Requests with ``request_id`` and ``recipients`` (optionally ``id_send``,
        ``campaign_id``, ``sent_at``), as the request manifest has them.
    rules : iterable of str, optional
        Run only these rules (see :data:`RULES`); default all.
    now : timestamp, optional
        The moment of evaluation: rows after it are ignored. Naive times are Prague.
    **thresholds
        Single :class:`FlagConfig` fields to override, e.g. ``spike_k=3``.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`FLAG_COLUMNS`, one row per incident, ongoing critical first
        (see :func:`~mailkit_analysis.analysis.incidents.order_incidents`).

    Raises
    ------
    ValueError
        An unknown rule or threshold name.
    """
    from .incidents import find_incidents
    from .window import Window

    if isinstance(sends, Mapping):
        sends = pd.DataFrame({"id_send": list(sends), "send_count": list(sends.values())})
    if isinstance(recipients, pd.Series):
        recipients = recipients.rename_axis("request_id").rename("recipients").reset_index()
    elif isinstance(recipients, Mapping):
        recipients = pd.DataFrame({"request_id": list(recipients), "recipients": list(recipients.values())})
    until = to_prague(now) + pd.Timedelta(microseconds=1) if now is not None else None
    window = Window.from_frame(frame, sends=sends, requests=recipients, until=until)
    return find_incidents(window, config, rules=rules, **thresholds)


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
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    return value


# --------------------------------------------------------------------------- helpers

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
