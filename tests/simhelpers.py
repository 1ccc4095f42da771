"""Helpers for tests that run against the built-in simulator: fixed clocks, manifests,
comparable snapshots of a cache."""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pandas as pd

from mailkit_analysis import Credentials, MailkitClient, RetryPolicy
from mailkit_analysis.demo import simulator_manifest
from mailkit_analysis.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5

#: Every simulator test runs at this instant, so accounts and answers are reproducible.
ANCHOR = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


class ManualClock:
    """A clock the test moves by hand; shared by the simulator and the client."""

    def __init__(self, start: dt.datetime = ANCHOR):
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def now_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self())

    def advance(self, **delta) -> None:
        with self._lock:
            self._now += dt.timedelta(**delta)


def sim_credentials() -> Credentials:
    return Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5)


def sim_client(url: str, clock=None, **kw) -> MailkitClient:
    """A client for the simulator with quick retries; its clock stamps ``fetched_at``."""
    policy = kw.pop("policy", RetryPolicy(retries=3, backoff_factor=0.05, backoff_max=0.2))
    ts_clock = (lambda: pd.Timestamp(clock())) if clock is not None else None
    return MailkitClient(sim_credentials(), url=url, policy=policy, clock=ts_clock, **kw)


def settled_manifest(account, limit: int | None = None) -> pd.DataFrame:
    """The account's requests sent more than an hour before its anchor (final on first fetch)."""
    manifest = simulator_manifest(account)
    cutoff = pd.Timestamp(account.anchor) - pd.Timedelta(hours=1)
    settled = manifest[manifest["sent_at"] < cutoff].sort_values("sent_at")
    return settled.head(limit) if limit else settled


def snapshot(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order without the fetch time, for exact comparisons."""
    columns = [c for c in frame.columns if c != "fetched_at"]
    return frame[columns].sort_values(columns, na_position="last").reset_index(drop=True)


def files_digest(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (to prove a failed call changed nothing)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
