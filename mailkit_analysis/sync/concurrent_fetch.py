"""Fetching the results of many requests with bounded concurrency.

A small thread pool shares the client's one ``requests.Session`` (its connection pool is
sized for the workers). Every success is kept; failures are collected with their request
id and reason and reported together at the end, so one bad request never costs the rest.
"""
from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import pandas as pd
import pyarrow as pa

from ..api.client import MailkitClient
from ..api.results import ResultsAnswer
from ..errors import MailkitAuthError, MailkitError
from ..frame import empty_results_frame, table_to_frame

__all__ = ["DEFAULT_WORKERS", "RequestRef", "FetchFailure", "FetchReport", "fetch_many"]

log = logging.getLogger(__name__)

#: Polite to Mailkit: a handful of calls in flight, never a flood.
DEFAULT_WORKERS = 4
#: Show a progress bar when at least this many requests are fetched.
PROGRESS_THRESHOLD = 20


@dataclass(frozen=True)
class RequestRef:
    """A request to fetch: its id and, optionally, the send to narrow it to."""

    request_id: int
    id_send: int | None = None


@dataclass(frozen=True)
class FetchFailure:
    """A request whose results could not be fetched, and why."""

    request_id: int
    error_type: str
    reason: str

    def __str__(self) -> str:
        return f"request_id={self.request_id}: {self.error_type}: {self.reason}"


@dataclass
class FetchReport:
    """What a :func:`fetch_many` run produced."""

    answers: list[ResultsAnswer] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def frame(self) -> pd.DataFrame:
        """All fetched rows as one results frame (ordered by request id)."""
        tables = [a.table for a in sorted(self.answers, key=lambda a: a.request_id) if a.rows]
        return table_to_frame(pa.concat_tables(tables)) if tables else empty_results_frame()


class _NoBar:
    """Stands in for a tqdm bar nobody sees (tqdm.auto costs asyncio's import)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, show: bool):
    if not show:
        return _NoBar()
    # tqdm.auto warns on import in a Jupyter kernel without ipywidgets ("IProgress not
    # found"): the warning would be the first thing a user sees in JupyterLab. Without
    # ipywidgets tqdm.auto falls back to the text bar, which is fine.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        from tqdm.auto import tqdm
    return tqdm(total=total, desc="fetching results", unit="req", leave=False)


def _interactive() -> bool:
    """A person is watching: a terminal, or a Jupyter kernel (tqdm.auto draws a widget)."""
    return "ipykernel" in sys.modules or sys.stderr.isatty()


def _as_refs(requests: Iterable[int | RequestRef | tuple]) -> list[RequestRef]:
    refs = []
    for item in requests:
        if isinstance(item, RequestRef):
            refs.append(item)
        elif isinstance(item, tuple):
            refs.append(RequestRef(int(item[0]), None if item[1] in (None, 0) else int(item[1])))
        else:
            refs.append(RequestRef(int(item)))
    return list(dict.fromkeys(refs))  # same request twice is fetched once


def fetch_many(
    client: MailkitClient,
    requests: Iterable[int | RequestRef | tuple],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    on_answer: Callable[[ResultsAnswer], None] | None = None,
) -> FetchReport:
    """Fetch ``mailkit.sendmail_mass.results`` for many requests.

    Parameters
    ----------
    client : MailkitClient
        Shared by every worker.
    requests : iterable of int, RequestRef or (request_id, id_send)
        What to fetch; duplicates are fetched once.
    workers : int
        Calls in flight at once (bounded; default :data:`DEFAULT_WORKERS`).
    progress : bool, optional
        Show a ``tqdm.auto`` bar (terminal or notebook); default when there are many.
    on_answer : callable, optional
        Called in the calling thread with each answer as it arrives (e.g. to write it to
        the cache at once, so a crash loses nothing already fetched).

    Returns
    -------
    FetchReport
        The answers and the failures. An authentication failure stops the run early:
        every other call would fail the same way.
    """
    refs: Sequence[RequestRef] = _as_refs(requests)
    workers = max(1, int(workers))
    report = FetchReport()
    show = progress if progress is not None else (len(refs) >= PROGRESS_THRESHOLD and _interactive())
    bar = _bar(len(refs), show)

    def take(ref: RequestRef, result: Callable[[], ResultsAnswer]) -> None:
        bar.update(1)
        try:
            answer = result()
        except MailkitAuthError:
            raise
        except MailkitError as exc:
            report.failures.append(FetchFailure(ref.request_id, type(exc).__name__, exc.message))
            log.debug("request_id=%s failed: %s", ref.request_id, exc.message)
            return
        report.answers.append(answer)
        if on_answer is not None:
            on_answer(answer)

    try:
        if len(refs) <= 1 or workers == 1:
            # Nothing to overlap: a pool would only add a thread and its hand-over.
            for ref in refs:
                take(ref, lambda ref=ref: client.results(ref.request_id, ref.id_send))
        else:
            _in_pool(client, refs, workers, take)
    finally:
        bar.close()
    report.failures.sort(key=lambda f: f.request_id)
    return report


def _in_pool(client: MailkitClient, refs: Sequence[RequestRef], workers: int, take) -> None:
    """``take`` each answer in the calling thread as the pool's calls complete."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mailkit-fetch") as pool:
        futures = {pool.submit(client.results, r.request_id, r.id_send): r for r in refs}
        try:
            for future in as_completed(futures):
                take(futures[future], future.result)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
