"""``fetch_results``: fetch what is not final yet, store it safely, serve from disk.

One run: validate the manifest (nothing is written if it is bad), merge it into the request
state, fetch every request that is not final with bounded concurrency, and write answers as
they arrive in small batches under the cache lock (a crash loses at most the batch in
flight, and the next run fetches exactly what is missing). Enrichment follows, best effort.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from filelock import FileLock

from ..api.client import MailkitClient, Transport
from ..api.results import ResultsAnswer
from ..api.session import RetryPolicy
from ..cache.account import check_account
from ..atomic import remove_stale_temporaries
from ..cache.enrichment import Enrichment, read_campaigns, read_sends
from ..cache.load import load_results
from ..cache.manifest import manifest_from_ids, normalise_manifest, read_manifest
from ..cache.schema import REQUESTS_SCHEMA
from ..cache.state import (
    SettleRule,
    empty_state,
    merge_manifest,
    needs_fetch,
    record_answers,
    record_failures,
)
from ..cache.store import ResultsStore
from ..cache.tables import read_small_table, write_small_table
from ..config import Credentials
from ..frame import RESULTS_SCHEMA, empty_results_frame
from ..paths import CachePaths
from ..prague_time import to_prague_times
from .concurrent_fetch import DEFAULT_WORKERS, FetchFailure, RequestRef, fetch_many
from .enrich import refresh_enrichment

__all__ = ["FetchOutcome", "fetch_results", "LOCK_TIMEOUT"]

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 600.0  # seconds to wait for another process's write batch


@dataclass
class FetchOutcome:
    """What :func:`fetch_results` did.

    Attributes
    ----------
    frame : DataFrame
        The results frame of every requested id, read back from the cache.
    requested : int
        Distinct request ids asked for.
    fetched : list of int
        Requests fetched over the network in this run.
    from_cache : int
        Requests served from final cached answers.
    provisional : list of int
        Requests whose answer is not final yet (fetched again next time).
    failures : list of FetchFailure
        Requests that could not be fetched, with reasons (earlier rows are kept).
    warnings : list of str
        One-line notes (enrichment unavailable, unusable cache files).
    """

    frame: pd.DataFrame
    requested: int = 0
    fetched: list[int] = field(default_factory=list)
    from_cache: int = 0
    provisional: list[int] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line for people: how many came from where."""
        parts = [f"{self.requested} requests", f"{len(self.fetched)} fetched", f"{self.from_cache} from cache"]
        if self.provisional:
            parts.append(f"{len(self.provisional)} provisional (fetched again next run)")
        if self.failures:
            parts.append(f"{len(self.failures)} failed")
        return ", ".join(parts) + f"; {len(self.frame)} error rows"


def _manifest(request_ids, manifest, id_send) -> pd.DataFrame:
    frames = []
    if manifest is not None:
        if isinstance(manifest, pd.DataFrame):
            frames.append(normalise_manifest(manifest, source="manifest frame", line_offset=0))
        else:
            frames.append(read_manifest(manifest))
    if request_ids is not None:
        ids = [request_ids] if isinstance(request_ids, (int, str)) else list(request_ids)
        if ids:
            frames.append(manifest_from_ids(ids, id_send))
    if not frames:
        raise ValueError("Give request ids or a manifest to fetch")
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return normalise_manifest(combined, source="manifest", line_offset=0) if len(frames) > 1 else combined


def _read_state(paths: CachePaths) -> pd.DataFrame:
    state = read_small_table(paths.requests, REQUESTS_SCHEMA, quarantine=paths.quarantine)
    return empty_state() if state is None else state


def _invalidate(state: pd.DataFrame, months: set[str]) -> pd.DataFrame:
    """Requests whose rows may have lived in unusable files must be fetched again."""
    if not months or state.empty:
        return state
    sent_local = to_prague_times(state["sent_at"])
    sent_month = sent_local.dt.strftime("%Y-%m")
    next_month = (sent_local + pd.offsets.MonthBegin(1)).dt.strftime("%Y-%m")
    may_hold = state["status"].eq("ERROR").fillna(False) & (
        state["sent_at"].isna() | sent_month.isin(months) | next_month.isin(months)
    )
    state = state.copy()
    state.loc[may_hold, "final"] = False
    return state


class _Writer:
    """Collects answers and writes them in batches under the lock."""

    def __init__(self, paths, lock, rule, enrichment: Enrichment, request_campaigns, flush_every, flush_seconds):
        self.paths, self.lock, self.rule = paths, lock, rule
        self.store = ResultsStore(paths)
        self.enrichment, self.request_campaigns = enrichment, request_campaigns
        self.flush_every, self.flush_seconds = flush_every, flush_seconds
        self.pending: list[ResultsAnswer] = []
        self.last_flush = time.monotonic()
        self.written: list[ResultsAnswer] = []

    def add(self, answer: ResultsAnswer) -> None:
        self.pending.append(answer)
        if len(self.pending) >= self.flush_every or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        tables = [a.table for a in batch if a.rows]
        rows = pa.concat_tables(tables) if tables else RESULTS_SCHEMA.empty_table()
        rows = self.enrichment.fill(rows, self.request_campaigns)
        answers = pd.DataFrame(
            {
                "request_id": [a.request_id for a in batch],
                "status": [a.status for a in batch],
                "rows": [a.rows for a in batch],
                "fetched_at": pd.DatetimeIndex([a.fetched_at for a in batch]),
            }
        )
        with self.lock:
            # Rows first, state second: a crash in between leaves rows whose request is
            # not marked fetched, so the next run fetches it again and replaces them.
            self.store.replace_requests(pd.Index(answers["request_id"]), rows)
            state = _read_state(self.paths)
            write_small_table(record_answers(state, answers, self.rule), self.paths.requests, REQUESTS_SCHEMA)
        self.written.extend(batch)


def fetch_results(
    request_ids: Iterable[int] | int | None = None,
    *,
    manifest: str | os.PathLike | pd.DataFrame | None = None,
    id_send: int | None = None,
    data_dir: str | os.PathLike | None = None,
    client: MailkitClient | None = None,
    credentials: Credentials | None = None,
    transport: Transport = "json",
    url: str | None = None,
    policy: RetryPolicy | None = None,
    workers: int = DEFAULT_WORKERS,
    refresh: bool = False,
    offline: bool = False,
    settle_minutes: float = 30.0,
    enrich: bool = True,
    progress: bool | None = None,
    flush_every: int = 250,
    flush_seconds: float = 5.0,
    clock: Callable[[], pd.Timestamp] | None = None,
) -> FetchOutcome:
    """Fetch results into the cache and return the frame of the requested ids.

    Parameters
    ----------
    request_ids : int or iterable of int, optional
        Requests to follow (combined with ``manifest``).
    manifest : path or DataFrame, optional
        CSV/parquet manifest (``request_id`` plus optional ``id_send``, ``campaign_id``,
        ``sent_at``, ``recipients``); stored in the cache and merged on re-use.
    data_dir : path, optional
        Data folder (default: see :func:`mailkit_analysis.paths.default_data_dir`).
    client : MailkitClient, optional
        Default: one made from ``credentials``/``transport``/``url`` (or the environment).
    policy : RetryPolicy, optional
        Timeouts and retries of the client made here (ignored when ``client`` is given).
    workers : int
        Calls in flight at once.
    refresh : bool
        Fetch final answers again too.
    offline : bool
        No network and no writes: serve only what is cached.
    settle_minutes : float
        The 30-minute rule: an answer fetched this long after ``sent_at`` (or after the
        first fetch, when ``sent_at`` is unknown) is final and never fetched again.
    enrich : bool
        Fetch campaign names and send counts when new ones appear (best effort).
    flush_every, flush_seconds : int, float
        Answers are written in batches of this many, or at least this often; a crash loses
        at most one batch, which the next run fetches again. Each batch rewrites the month
        files it touches, so fewer, larger batches fetch faster.

    Returns
    -------
    FetchOutcome

    Raises
    ------
    ManifestError
        A bad manifest; the cache is not touched.
    MailkitAuthError
        Wrong credentials or a disallowed IP (answers fetched before are kept).
    """
    wanted_manifest = _manifest(request_ids, manifest, id_send)
    wanted = pd.Index(wanted_manifest["request_id"].astype("int64"))
    paths = CachePaths.under(data_dir)
    rule = SettleRule(settle_minutes)
    warnings: list[str] = []

    if offline:
        frame = load_results(paths.root.parent, request_ids=wanted) if paths.root.exists() else empty_results_frame()
        state = read_small_table(paths.requests, REQUESTS_SCHEMA) if paths.requests.exists() else None
        state = empty_state() if state is None else state
        known = state[state["request_id"].isin(wanted)]
        return FetchOutcome(
            frame=frame,
            requested=len(wanted),
            from_cache=int(known["status"].notna().sum()),
            provisional=sorted(known.loc[~known["final"].fillna(False).astype(bool) & known["status"].notna(), "request_id"].astype(int)),
        )

    paths.ensure()
    lock = FileLock(str(paths.lock), timeout=LOCK_TIMEOUT)
    store = ResultsStore(paths)
    with lock:
        remove_stale_temporaries(paths.root)
        state = _read_state(paths)
        store.usable_files()
        bad_months = set()
        for problem in store.problems:
            warnings.append(f"{problem.path.relative_to(paths.root)} {problem.reason}: moved to quarantine, refetching")
            store.quarantine(problem)
            bad_months.add(problem.month)
        state = merge_manifest(_invalidate(state, bad_months), wanted_manifest)
        write_small_table(state, paths.requests, REQUESTS_SCHEMA)
        campaigns, sends = read_campaigns(paths, quarantine=True), read_sends(paths, quarantine=True)
    to_fetch = needs_fetch(state, wanted, refresh=refresh)
    request_info = state.set_index("request_id")
    request_campaigns = {int(k): int(v) for k, v in request_info["campaign_id"].dropna().items()}

    own_client = client is None
    failures: list[FetchFailure] = []
    writer = _Writer(paths, lock, rule, Enrichment(campaigns, sends), request_campaigns, flush_every, flush_seconds)
    if len(to_fetch):
        if own_client:
            client = MailkitClient(
                credentials, transport=transport, url=url, policy=policy, clock=clock, pool_size=max(workers, 4)
            )
        try:
            with lock:
                check_account(paths, client.credentials.client_id)
            # Always the whole request: an answer narrowed to one send would be cached as if
            # it were complete (and codes 4/5 carry no send at all). Narrowing is a filter below.
            refs = [RequestRef(int(r)) for r in to_fetch]
            try:
                report = fetch_many(client, refs, workers=workers, progress=progress, on_answer=writer.add)
            finally:
                writer.flush()  # keep every answer that arrived, even when the run is cut short
            failures = report.failures
            if failures:
                with lock:
                    state = _read_state(paths)
                    write_small_table(record_failures(state, failures, client.clock()), paths.requests, REQUESTS_SCHEMA)
            if enrich and writer.written:
                warnings += refresh_enrichment(
                    client, paths, answers=writer.written, requests=state, workers=workers, lock=lock
                )
                _backfill_campaigns(paths, lock, writer.written, request_campaigns)
        finally:
            if own_client:
                client.close()
    for line in warnings:
        log.warning(line)
    frame = load_results(paths.root.parent, request_ids=wanted)
    if id_send is not None:
        frame = frame[frame["id_send"] == int(id_send)].reset_index(drop=True)
    with lock:
        final_state = _read_state(paths)
    known = final_state[final_state["request_id"].isin(wanted)]
    provisional = known.loc[~known["final"].fillna(False).astype(bool) & known["status"].notna(), "request_id"]
    fetched = sorted(a.request_id for a in writer.written)
    return FetchOutcome(
        frame=frame,
        requested=len(wanted),
        fetched=fetched,
        from_cache=len(wanted) - len(to_fetch),
        provisional=sorted(provisional.astype(int)),
        failures=failures,
        warnings=warnings,
    )


def _backfill_campaigns(paths, lock, answers: list[ResultsAnswer], request_campaigns) -> None:
    """Store campaign ids and names learnt after the rows were written (so that readers
    with no toolkit code, e.g. DuckDB, see them too)."""
    ids = pd.Index(sorted({a.request_id for a in answers if a.rows}))
    if not len(ids):
        return
    with lock:
        enrichment = Enrichment(read_campaigns(paths), read_sends(paths))
        if enrichment.campaigns.empty and enrichment.sends.empty:
            return
        store = ResultsStore(paths)
        rows = store.read_requests(ids)
        filled = enrichment.fill(rows, request_campaigns)
        gained = pc.or_(
            pc.and_(pc.is_null(rows.column("campaign_id")), pc.is_valid(filled.column("campaign_id"))),
            pc.and_(pc.is_null(rows.column("campaign_name")), pc.is_valid(filled.column("campaign_name"))),
        )
        changed = pc.unique(filled.column("request_id").filter(gained))
        if len(changed):
            keep = filled.filter(pc.is_in(filled.column("request_id"), value_set=changed))
            store.replace_requests(pd.Index(changed.to_numpy()), keep)
