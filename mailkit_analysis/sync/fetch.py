"""``fetch_results``: fetch what is not final yet, store it safely, serve from disk.

One run: validate the manifest (nothing is written if it is bad), merge it into the request
state, fetch every request that is not final with bounded concurrency, and write answers as
they arrive in batches under the cache lock, each batch one journalled change of its result
parts and the request state (a crash loses at most the batch in flight, and the next run
fetches exactly what is missing). Enrichment follows, best effort; months that collected
many parts are compacted last.
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

from ..api.client import MailkitClient, Transport
from ..api.results import ResultsAnswer
from ..api.session import RetryPolicy
from ..cache.account import check_account
from ..cache.compact import auto_compact
from ..cache.enrichment import Enrichment, read_campaigns, read_sends
from ..cache.journal import Transaction
from ..cache.capture import claim_recorded, read_recorded
from ..cache.lock import LOCK_TIMEOUT, locked
from ..cache.manifest import manifest_from_ids, normalise_manifest, read_manifest
from ..cache.state import (
    SettleRule,
    empty_state,
    merge_manifest,
    needs_fetch,
    record_answers,
    record_failures,
)
from ..cache.store import LEGACY_PART, ResultsStore
from ..cache.keyed import requests_table
from ..config import Credentials
from ..frame import RESULTS_SCHEMA, RESULT_COLUMNS, empty_results_frame, table_to_frame
from ..paths import CachePaths
from ..prague_time import to_prague_times
from .concurrent_fetch import DEFAULT_WORKERS, FetchFailure, RequestRef, fetch_many

__all__ = ["FetchOutcome", "fetch_results", "LOCK_TIMEOUT"]

log = logging.getLogger(__name__)


@dataclass
class FetchOutcome:
    """What :func:`fetch_results` did.

    Attributes
    ----------
    frame : DataFrame
        The results frame of every requested id, ordered by date and request: the rows
        this run wrote when it fetched every one of them (what the cache now holds for
        them), else read back from the cache.
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


def _manifest(request_ids, manifest, id_send) -> pd.DataFrame | None:
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
        return None  # neither: the requests the cache follows that are not final
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return normalise_manifest(combined, source="manifest", line_offset=0) if len(frames) > 1 else combined


class _StateFile:
    """The rows of the request state one run deals with, kept while no other process changes it.

    Only the requests of the run are read (its manifest's, the recorded ones, or the ones
    not final yet), never the whole state: a big account follows millions. Files of the
    state are replaced, never changed in place, so their names and identities tell whether
    the copy in memory is still what is on disk. A batch commits only the rows it changed
    (:meth:`~mailkit_analysis.cache.keyed.KeyedTable.stage_rows`: an update part, or the
    whole state while it is small). Use it only while holding the cache lock.
    """

    def __init__(self, paths: CachePaths, request_ids: pd.Index):
        self.paths = paths
        self.table = requests_table(paths)
        self.ids = request_ids
        self._frame: pd.DataFrame | None = None
        self._signature: tuple | None = None
        # Changes merged in memory but not committed yet (the run's manifest): committed with
        # the first batch instead of in a write of their own, and applied again on top of the
        # files whenever another process changed them meanwhile.
        self._unsaved: Callable[[pd.DataFrame], pd.DataFrame] | None = None
        self._touched = pd.Index([], dtype="int64")  # requests the unsaved change may alter
        self._after_commit: list = []
        self._index: pd.Index | None = None

    def index(self) -> pd.Index:
        """The rows' request ids as an index (hashed once, while the rows stay in order)."""
        frame = self.read()
        if self._index is None or len(self._index) != len(frame):
            self._index = pd.Index(frame["request_id"].to_numpy(dtype="int64"))
        return self._index

    def read(self) -> pd.DataFrame:
        if self._frame is None or self.table.signature() != self._signature:
            state = self.table.read(self.ids.to_numpy(dtype="int64"), quarantine=self.paths.quarantine)
            self._frame = empty_state() if state is None else state
            self._signature = self.table.signature()
            self._index = None
            if self._unsaved is not None:
                self._frame = self._unsaved(self._frame)
        return self._frame

    def change(self, update: Callable[[pd.DataFrame], pd.DataFrame], *, touched: pd.Index,
               then_delete=()) -> pd.DataFrame:
        """Apply ``update`` in memory now; it is written with the next commit (or :meth:`save`)."""
        state = self.read()
        changed = update(state)
        if changed is state or changed.equals(state):  # a re-run of a known manifest writes nothing
            for path in then_delete:
                path.unlink(missing_ok=True)
            return state
        self._unsaved, self._touched, self._frame, self._index = update, touched, changed, None
        self._after_commit = list(then_delete)
        return changed

    def stage(self, tx: Transaction, state: pd.DataFrame, request_ids: pd.Index) -> None:
        """Commit the rows of ``request_ids`` of ``state`` with ``tx``, and the unsaved changes."""
        ids = request_ids if self._unsaved is None else request_ids.union(self._touched)
        self.table.stage_rows(tx, state[state["request_id"].isin(ids)])
        self._pending = state

    def committed(self) -> None:
        self._frame, self._signature = self._pending, self.table.signature()
        self._unsaved, self._touched = None, pd.Index([], dtype="int64")
        for path in self._after_commit:
            path.unlink(missing_ok=True)  # recorded requests, now in the state
        self._after_commit = []

    def write(self, state: pd.DataFrame, request_ids: pd.Index) -> None:
        tx = Transaction(self.paths.root)
        self.stage(tx, state, request_ids)
        tx.commit()
        self.committed()

    def save(self) -> None:
        """Write what :meth:`change` left unsaved (when no batch committed it)."""
        if self._unsaved is not None:
            self.write(self.read(), pd.Index([], dtype="int64"))


def _run_requests(paths: CachePaths, wanted_manifest, recorded, bad_months: set[str]) -> tuple[pd.Index, pd.Index]:
    """The requests a run deals with, and those among them to fetch again because their
    rows may have lived in unusable files; read from two or three columns of the state."""
    table = requests_table(paths)
    given = [m["request_id"] for m in (recorded, wanted_manifest) if m is not None]
    ids = pd.Index(pd.concat(given).astype("int64").unique() if given else [], dtype="int64")
    if wanted_manifest is None:  # every followed request that is not final
        not_final = table.keys_where(["final"], lambda t: pc.invert(pc.fill_null(t.column("final"), False)))
        ids = ids.union(pd.Index(not_final, dtype="int64"))
    invalid = pd.Index([], dtype="int64")
    if bad_months:
        columns = table.read(columns=["status", "sent_at", "final"])
        if columns is not None and len(columns):
            invalid = pd.Index(columns.loc[_may_hold(columns, bad_months), "request_id"], dtype="int64")
            ids = ids.union(invalid)
    return ids, invalid


def _may_hold(state: pd.DataFrame, months: set[str]) -> pd.Series:
    """Requests whose rows may have lived in the months ``months``."""
    sent_local = to_prague_times(state["sent_at"])
    sent_month = sent_local.dt.strftime("%Y-%m")
    next_month = (sent_local + pd.offsets.MonthBegin(1)).dt.strftime("%Y-%m")
    return state["status"].eq("ERROR").fillna(False) & (
        state["sent_at"].isna() | sent_month.isin(months) | next_month.isin(months)
    )


def _invalidate(state: pd.DataFrame, months: set[str]) -> pd.DataFrame:
    """Requests whose rows may have lived in unusable files must be fetched again."""
    if not months or state.empty:
        return state
    may_hold = _may_hold(state, months)
    state = state.copy()
    state.loc[may_hold, "final"] = False
    return state


class _Writer:
    """Collects answers and writes them in batches: one journalled change per batch."""

    def __init__(self, paths, state_file: _StateFile, rule, campaigns, request_campaigns, flush_every, flush_seconds):
        self.paths, self.state_file, self.rule = paths, state_file, rule
        self.store = ResultsStore(paths)
        self.campaigns, self.request_campaigns = campaigns, request_campaigns
        self.flush_every, self.flush_seconds = flush_every, flush_seconds
        self.pending: list[ResultsAnswer] = []
        self.last_flush = time.monotonic()
        self.written: list[ResultsAnswer] = []
        self.tables: list[pa.Table] = []  # the rows as written (filled), for the run's frame
        # Rows and state change together, so a request the state has never seen fetched has
        # no rows to find; unless the state was lost, or the cache predates that guarantee.
        self.look_up_all = False
        self.complete = True

    def add(self, answer: ResultsAnswer) -> None:
        self.pending.append(answer)
        if len(self.pending) >= self.flush_every or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self, *, last: bool = False, failures=(), now=None) -> bool:
        """Write the pending answers as one journalled change; False when none were pending.

        ``last``: no batch follows, so the change also records ``failures`` (at ``now``):
        the run writes the state once per batch, never once more at its end.
        """
        self.last_flush = time.monotonic()
        if not self.pending:
            return False
        batch, self.pending = self.pending, []
        tables = [a.table for a in batch if a.rows]
        rows = pa.concat_tables(tables) if tables else RESULTS_SCHEMA.empty_table()
        answers = pd.DataFrame(
            {
                "request_id": [a.request_id for a in batch],
                "status": [a.status for a in batch],
                "rows": [a.rows for a in batch],
                "fetched_at": pd.DatetimeIndex([a.fetched_at for a in batch]),
            }
        )
        with locked(self.paths):
            # Only the sends of these rows are read, not the whole sends table.
            rows = _enrichment_for(self.paths, self.campaigns, rows).fill(rows, self.request_campaigns)
            if rows.num_rows and (rows.column("campaign_id").null_count or rows.column("campaign_name").null_count):
                self.complete = False  # some rows wait for enrichment (backfilled after the fetch)
            # The rows and the state that says they were fetched change together.
            tx = Transaction(self.paths.root)
            state = self.state_file.read()
            ids = pd.Index(answers["request_id"], dtype="int64")
            seen = state.loc[state["request_id"].isin(ids) & state["status"].notna(), "request_id"]
            lookup = ids if self.look_up_all else pd.Index(seen, dtype="int64")
            self.store.replace_requests(ids, rows, tx, look_up=lookup)
            updated = record_answers(state, answers, self.rule, index=self.state_file.index())
            if last and failures:
                updated = record_failures(updated, list(failures), now)
                ids = ids.union(pd.Index([f.request_id for f in failures], dtype="int64"))
            self.state_file.stage(tx, updated, ids)
            tx.commit()
            self.state_file.committed()
            # Many small batches (or many processes) must not pile up parts: merge as we go.
            compacted = auto_compact(self.paths)
            if compacted.months:
                log.debug("%s", compacted)
        self.written.extend(batch)
        if rows.num_rows:
            self.tables.append(rows)
        return True

    def frame(self, wanted: pd.Index) -> pd.DataFrame | None:
        """The run's frame from the rows it wrote, when it wrote every request of ``wanted``
        (None otherwise): reading them back would cost a second pass over the parts.

        Ordered as :func:`~mailkit_analysis.cache.load.load_results` orders them (by date,
        then request; rows tied on both keep the part's order, by message).
        """
        written = pd.Index([a.request_id for a in self.written], dtype="int64")
        if not wanted.isin(written).all():
            return None
        if not self.tables:
            return empty_results_frame()
        table = pa.concat_tables(self.tables) if len(self.tables) > 1 else self.tables[0]
        if not written.isin(wanted).all():  # a run writes only what it was asked for: rarely needed
            table = table.filter(pc.is_in(table.column("request_id"), value_set=pa.array(wanted.to_numpy(dtype="int64"))))
        # Nulls last (arrow's default), as pandas' na_position="last" in load_results.
        order = pc.sort_indices(table, [("date", "ascending"), ("request_id", "ascending"), ("id_send_message", "ascending")])
        return table_to_frame(table.take(order))[RESULT_COLUMNS].reset_index(drop=True)


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
        ``sent_at``, ``recipients``); stored in the cache and merged on re-use. With
        neither ``request_ids`` nor ``manifest``, every request the cache follows that is
        not final yet is fetched (those recorded with ``record_request`` /
        ``manifest add``, provisional ones, failed ones).
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
        at most one batch, which the next run fetches again. Each batch adds one part file
        per month it has rows for (and rewrites only the parts holding earlier rows of its
        requests); months with many parts are compacted at the end of the run.

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
    paths = CachePaths.under(data_dir)
    rule = SettleRule(settle_minutes)
    warnings: list[str] = []

    if offline:
        from ..cache.load import load_requests, load_results

        state = load_requests(paths.root.parent)
        wanted = _not_final(state) if wanted_manifest is None else pd.Index(wanted_manifest["request_id"].astype("int64"))
        frame = load_results(paths.root.parent, request_ids=wanted) if paths.root.exists() else empty_results_frame()
        known = state[state["request_id"].isin(wanted)]
        return FetchOutcome(
            frame=frame,
            requested=len(wanted),
            from_cache=int(known["status"].notna().sum()),
            provisional=sorted(known.loc[~known["final"].fillna(False).astype(bool) & known["status"].notna(), "request_id"].astype(int)),
        )

    lock = locked(paths)
    store = ResultsStore(paths)
    with lock:
        parts = store.usable_parts()
        bad_months = set()
        for problem in store.problems:
            warnings.append(f"{problem.path.relative_to(paths.root)} {problem.reason}: moved to quarantine, refetching")
            store.quarantine(problem)
            bad_months.add(problem.month)
        recorded_files = claim_recorded(paths)
        recorded = read_recorded(recorded_files, quarantine=paths.quarantine)
        run_ids, invalid = _run_requests(paths, wanted_manifest, recorded, bad_months)
        state_file = _StateFile(paths, run_ids)
        state = state_file.read()
        look_up_all = bool(parts) and (not requests_table(paths).exists()
                                       or any(p.path.name == LEGACY_PART for p in parts))

        def update(current: pd.DataFrame) -> pd.DataFrame:
            merged = _invalidate(current, bad_months)
            for incoming in (recorded, wanted_manifest):
                if incoming is not None:
                    merged = merge_manifest(merged, incoming)
            return merged

        touched = invalid.union(pd.Index(pd.concat(
            [m["request_id"] for m in (recorded, wanted_manifest) if m is not None] or [pd.Series([], dtype="int64")]
        ).astype("int64").unique()))
        state = state_file.change(update, touched=touched, then_delete=recorded_files)
        campaigns = read_campaigns(paths, quarantine=True)
    wanted = _not_final(state) if wanted_manifest is None else pd.Index(wanted_manifest["request_id"].astype("int64"))
    to_fetch = needs_fetch(state, wanted, refresh=refresh)
    request_campaigns = _request_campaigns(state, wanted)

    own_client = client is None
    failures: list[FetchFailure] = []
    writer = _Writer(paths, state_file, rule, campaigns, request_campaigns, flush_every, flush_seconds)
    writer.look_up_all = look_up_all
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
            except BaseException:
                writer.flush()  # keep every answer that arrived, even when the run is cut short
                raise
            failures = report.failures
            if not writer.flush(last=True, failures=failures, now=client.clock() if failures else None) and failures:
                with lock:
                    failed = pd.Index([f.request_id for f in failures], dtype="int64")
                    state_file.write(record_failures(state_file.read(), failures, client.clock()), failed)
            with lock:
                state_file.save()  # the manifest, when no batch carried it
            if enrich and writer.written:
                from .enrich import refresh_enrichment

                warnings += refresh_enrichment(
                    client, paths, answers=writer.written, requests=state, workers=workers, lock=lock
                )
                if not writer.complete:
                    _backfill_campaigns(paths, lock, writer.written, request_campaigns)
        finally:
            if own_client:
                client.close()
    else:
        with lock:
            state_file.save()
    for line in warnings:
        log.warning(line)
    with lock:
        final_state = state_file.read()
        # Enrichment may have changed the stored rows (or their fill) after they were written.
        frame = writer.frame(wanted) if not (enrich and writer.written) else None
        if frame is None:
            from ..cache.load import load_results

            frame = load_results(paths.root.parent, request_ids=wanted, requests=final_state)
    if id_send is not None:
        frame = frame[frame["id_send"] == int(id_send)].reset_index(drop=True)
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


def _enrichment_for(paths: CachePaths, campaigns, rows: pa.Table) -> Enrichment:
    """The enrichment lookups ``rows`` need: the campaigns, and the sends of their ``id_send``."""
    sends = pc.unique(rows.column("id_send")).drop_null() if rows.num_rows else None
    return Enrichment(campaigns, read_sends(paths, quarantine=True, ids=sends) if sends is not None and len(sends) else None)


def _not_final(state: pd.DataFrame) -> pd.Index:
    """Followed requests whose answer is not final (never fetched, provisional, failed)."""
    return pd.Index(state.loc[~state["final"].fillna(False).astype(bool), "request_id"], dtype="int64")


def _request_campaigns(state: pd.DataFrame, wanted: pd.Index) -> dict[int, int]:
    """``{request_id: campaign_id}`` of the requests asked for, from the manifest."""
    known = state.loc[state["request_id"].isin(wanted) & state["campaign_id"].notna(), ["request_id", "campaign_id"]]
    return dict(zip(known["request_id"].astype("int64").tolist(), known["campaign_id"].astype("int64").tolist()))


def _backfill_campaigns(paths, lock, answers: list[ResultsAnswer], request_campaigns) -> None:
    """Store campaign ids and names learnt after the rows were written (so that readers
    with no toolkit code, e.g. DuckDB, see them too)."""
    ids = pd.Index(sorted({a.request_id for a in answers if a.rows}))
    if not len(ids):
        return
    with lock:
        store = ResultsStore(paths)
        rows = store.read_requests(ids)
        enrichment = _enrichment_for(paths, read_campaigns(paths), rows)
        if enrichment.campaigns.empty and enrichment.sends.empty:
            return
        filled = enrichment.fill(rows, request_campaigns)
        gained = pc.or_(
            pc.and_(pc.is_null(rows.column("campaign_id")), pc.is_valid(filled.column("campaign_id"))),
            pc.and_(pc.is_null(rows.column("campaign_name")), pc.is_valid(filled.column("campaign_name"))),
        )
        changed = pc.unique(filled.column("request_id").filter(gained))
        if len(changed):
            keep = filled.filter(pc.is_in(filled.column("request_id"), value_set=changed))
            tx = Transaction(paths.root)
            store.replace_requests(pd.Index(changed.to_numpy()), keep, tx)
            tx.commit()
