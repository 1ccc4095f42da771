"""Per-request fetch state, merged with the manifest, and the 30-minute rule.

``requests.parquet`` holds one row per followed request: what the manifest says about it
(send, campaign, when it was sent, how many recipients) and what the toolkit knows about
its results (status, row count, when it was first and last fetched, whether that answer is
final, the last failure). It is always read and rewritten under the cache lock.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .manifest import MANIFEST_DTYPES
from .schema import REQUESTS_SCHEMA

__all__ = ["SettleRule", "STATE_DTYPES", "empty_state", "merge_manifest", "record_answers", "record_failures", "needs_fetch"]

STATE_DTYPES = {
    **MANIFEST_DTYPES,
    "status": "string",
    "rows": "Int64",
    "first_fetched_at": pd.DatetimeTZDtype("us", "UTC"),
    "last_fetched_at": pd.DatetimeTZDtype("us", "UTC"),
    "final": "boolean",
    "last_error": "string",
    "last_error_at": pd.DatetimeTZDtype("us", "UTC"),
}
assert list(STATE_DTYPES) == REQUESTS_SCHEMA.names


@dataclass(frozen=True)
class SettleRule:
    """When a fetched answer counts as final.

    Mailkit recommends asking no sooner than 30 minutes after ``sendmail_mass``: an answer
    fetched at least ``minutes`` after ``sent_at`` is final. When ``sent_at`` is unknown the
    clock starts at the toolkit's first fetch of that request instead.
    """

    minutes: float = 30.0

    @property
    def delta(self) -> pd.Timedelta:
        return pd.Timedelta(minutes=self.minutes)

    def is_final(self, fetched_at: pd.Series, sent_at: pd.Series, first_fetched_at: pd.Series) -> pd.Series:
        start = sent_at.where(sent_at.notna(), first_fetched_at)
        return ((fetched_at - start) >= self.delta).fillna(False).astype("boolean")


def empty_state() -> pd.DataFrame:
    """A state table with no requests."""
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in STATE_DTYPES.items()})


def _conform(state: pd.DataFrame) -> pd.DataFrame:
    return state.astype(STATE_DTYPES)[list(STATE_DTYPES)].reset_index(drop=True)


def merge_manifest(state: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """Add new requests and update what the manifest says about known ones.

    Known values in the manifest win over stored ones; empty manifest cells keep what is
    stored, so re-using a thinner manifest never forgets anything.
    """
    if manifest.empty:
        return state
    state = state.set_index("request_id")
    incoming = manifest.set_index("request_id")
    new_ids = incoming.index.difference(state.index)
    if len(new_ids):
        additions = empty_state().set_index("request_id").reindex(new_ids)
        state = pd.concat([state, additions.astype(state.dtypes.to_dict())])
    for column in ("id_send", "campaign_id", "sent_at", "recipients"):
        values = incoming[column].dropna()
        if len(values):
            state.loc[values.index, column] = values
    return _conform(state.reset_index())


def _with_requests(state: pd.DataFrame, ids: np.ndarray, known: pd.Index | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """A copy of ``state`` holding every request of ``ids`` (new ones empty), and their positions.

    The copy shares its columns with ``state`` until one is replaced, so a large state is not
    copied as a whole for a small batch. ``known``: ``state``'s request ids as an index, when
    the caller keeps one (hashing a large state's ids for every batch costs more than the rest).
    """
    known = pd.Index(state["request_id"].to_numpy(dtype="int64")) if known is None else known
    positions = known.get_indexer(ids)
    if (positions < 0).any():
        added = empty_state().reindex(range(int((positions < 0).sum())))
        added["request_id"] = ids[positions < 0]
        state = _conform(pd.concat([state, added.astype(STATE_DTYPES)], ignore_index=True))
        positions = pd.Index(state["request_id"].to_numpy(dtype="int64")).get_indexer(ids)
    else:
        state = state.copy(deep=False)
    return state, positions


def _set_at(state: pd.DataFrame, positions: np.ndarray, values: dict) -> None:
    """``state[column][positions] = value`` for each column, one array copy per column."""
    for column, value in values.items():
        array = state[column].array.copy()
        array[positions] = value.array if isinstance(value, pd.Series) else value
        state[column] = array


def record_answers(state: pd.DataFrame, answers: pd.DataFrame, rule: SettleRule, *, index: pd.Index | None = None) -> pd.DataFrame:
    """Store the outcome of fetched answers.

    Parameters
    ----------
    answers : DataFrame
        ``request_id``, ``status``, ``rows``, ``fetched_at`` (one row per answer).
    index : Index, optional
        ``state["request_id"]`` as an index, if the caller keeps one.
    """
    if answers.empty:
        return state
    answers = answers.drop_duplicates("request_id", keep="last").reset_index(drop=True)
    ids = answers["request_id"].to_numpy(dtype="int64")
    state, positions = _with_requests(state, ids, index)
    utc = STATE_DTYPES["last_fetched_at"]
    fetched = pd.Series(pd.to_datetime(answers["fetched_at"], utc=True).array).astype(utc)
    first = pd.Series(state["first_fetched_at"].array[positions]).astype(utc)
    first = first.where(first.notna() & (first <= fetched), fetched)
    sent = pd.Series(state["sent_at"].array[positions]).astype(utc)
    n = len(ids)
    _set_at(state, positions, {
        "first_fetched_at": first,
        "last_fetched_at": fetched,
        "status": answers["status"].astype("string"),
        "rows": answers["rows"].astype("Int64"),
        "final": rule.is_final(fetched, sent, first),
        "last_error": pd.Series(pd.array([pd.NA] * n, dtype="string")),
        "last_error_at": pd.Series(pd.NaT, index=range(n), dtype=utc),
    })
    return state


def record_failures(state: pd.DataFrame, failures: list, when: dt.datetime) -> pd.DataFrame:
    """Remember why requests failed; what was fetched before is kept as it was."""
    if not failures:
        return state
    state = state.set_index("request_id")
    for failure in failures:
        if failure.request_id not in state.index:
            continue
        state.loc[failure.request_id, "last_error"] = f"{failure.error_type}: {failure.reason}"
        state.loc[failure.request_id, "last_error_at"] = pd.Timestamp(when)
    return _conform(state.reset_index())


def needs_fetch(state: pd.DataFrame, request_ids, *, refresh: bool = False) -> pd.Index:
    """The requests among ``request_ids`` whose results must be fetched (again).

    Everything that is not final is fetched again: never fetched, provisional (including an
    early ``status: OK``), failed last time, or invalidated because its file was unreadable.
    """
    wanted = pd.Index(pd.unique(pd.Series(list(request_ids), dtype="int64")))
    if refresh:
        return wanted
    final = state.loc[state["final"].fillna(False).astype(bool), "request_id"].astype("int64")
    return wanted.difference(pd.Index(final), sort=False)


def state_to_table(state: pd.DataFrame) -> pa.Table:
    """The state as an arrow table with the explicit schema."""
    return pa.Table.from_pandas(_conform(state), schema=REQUESTS_SCHEMA, preserve_index=False)
