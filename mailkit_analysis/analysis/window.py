"""Flags for a date window, read from the cache: what ``flags``, ``check``, the notebooks
and the report share.

Rules that compare against history (spikes, unsubscribed share) need days *before* the
window, so the cache is read from ``since`` minus a look-back; a flag is kept when its time
span touches the window.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from ..cache import load_requests, load_results, load_sends
from ..cache.load import parse_bound
from .flags import FlagConfig, find_flags

__all__ = ["WindowFlags", "flags_for_window", "LOOKBACK_DAYS"]

#: History read before ``since`` so baselines exist at the window's start.
LOOKBACK_DAYS = 60


@dataclass
class WindowFlags:
    """Flags of one window, with the frame they came from."""

    flags: pd.DataFrame
    frame: pd.DataFrame
    since: pd.Timestamp | None
    until: pd.Timestamp | None

    @property
    def critical(self) -> pd.DataFrame:
        return self.flags[self.flags["severity"] == "critical"]

    def describe_window(self) -> str:
        low = self.since.strftime("%Y-%m-%d %H:%M") if self.since is not None else "the beginning"
        high = self.until.strftime("%Y-%m-%d %H:%M") if self.until is not None else "now"
        return f"{low} – {high} (Europe/Prague)"


def flags_for_window(
    data_dir: str | os.PathLike | None = None,
    *,
    since=None,
    until=None,
    campaigns=None,
    config: FlagConfig | str | os.PathLike | None = None,
) -> WindowFlags:
    """Find the flags whose rows fall in ``since <= date < until`` (bare dates: whole days).

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
    """
    since_ts, until_ts = parse_bound(since), parse_bound(until, end=True)
    read_from = since_ts - pd.Timedelta(days=LOOKBACK_DAYS) if since_ts is not None else None
    frame = load_results(data_dir, since=read_from, until=until_ts, campaigns=campaigns)
    requests = load_requests(data_dir)[["request_id", "recipients"]].dropna()
    sends = load_sends(data_dir)
    flags = find_flags(
        frame,
        sends=sends if len(sends) else None,
        recipients=requests if len(requests) else None,
        config=config,
        now=until_ts - pd.Timedelta(microseconds=1) if until_ts is not None else None,
    )
    if len(flags) and since_ts is not None:
        flags = flags[(flags["last_seen"] >= since_ts).fillna(False)]
    if len(flags) and until_ts is not None:
        flags = flags[(flags["first_seen"] < until_ts).fillna(False)]
    window = frame
    if since_ts is not None and len(window):
        window = window[window["date"] >= since_ts]
    return WindowFlags(flags.reset_index(drop=True), window.reset_index(drop=True), since_ts, until_ts)
