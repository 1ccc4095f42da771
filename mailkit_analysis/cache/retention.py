"""Keeping only a period, and erasing one person: ``cache prune`` and ``cache forget``.

Both change every file concerned in one journalled change (:mod:`.journal`), under the
cache lock: a reader sees the data before or after, never half of it, and a kill leaves
the change either undone or finished by the next command.

* :func:`prune_cache` drops result rows dated before a day, the requests sent before it
  (with their rows), the sends of that period, and the exports and quarantined files last
  written before it. Parts wholly before the day are deleted without being read; parts
  straddling it are rewritten.
* :func:`forget_email` removes one address from every file under the data folder that can
  hold it: the result rows carrying it are deleted, and wherever it appears inside another
  text (an INFO text, a failure message, a cell of an export) it is replaced by
  ``[erased]``. Quarantined files that cannot be read (so cannot be checked) are deleted.
  Matching ignores case.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..paths import CachePaths
from ..atomic import write_bytes_synced, write_parquet_synced
from .capture import claim_recorded, read_recorded
from .journal import Transaction
from ..prague_time import parse_bound, to_prague_times
from .lock import locked
from .state import empty_state, merge_manifest
from .keyed import requests_table, sends_table
from .state_file import read_state, stage_fold, update_files
from .store import ResultsStore

__all__ = ["PruneReport", "ForgetReport", "prune_cache", "forget_email", "ERASED"]

log = logging.getLogger(__name__)

ERASED = "[erased]"


def _exports(paths: CachePaths) -> Path:
    return paths.root.parent / "exports"


def _older_files(folder: Path, cutoff: pd.Timestamp) -> list[Path]:
    if not folder.is_dir():
        return []
    limit = cutoff.timestamp()
    return [p for p in sorted(folder.iterdir()) if p.is_file() and p.stat().st_mtime < limit]


def _merged_state(paths: CachePaths) -> tuple[pd.DataFrame, list[Path]]:
    """The request state with recorded requests merged in, and the recorded files merged."""
    state = read_state(paths, quarantine=paths.quarantine)
    state = empty_state() if state is None else state
    files = claim_recorded(paths)
    recorded = read_recorded(files, quarantine=paths.quarantine)
    return (state if recorded is None else merge_manifest(state, recorded)), files


@dataclass
class PruneReport:
    """What :func:`prune_cache` removed."""

    before: str
    rows: int = 0
    requests: int = 0
    sends: int = 0
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"pruned before {self.before}: {self.rows:,} result rows, {self.requests:,} requests, "
                f"{self.sends:,} sends, {len(self.files)} export/quarantine file(s)")


def prune_cache(before, data_dir: str | os.PathLike | None = None) -> PruneReport:
    """Drop everything older than ``before`` from the cache (``mailkit-analysis cache prune``).

    Parameters
    ----------
    before : str, date or datetime
        The first day (or instant) to keep; naive values are Prague time.
    data_dir : path, optional
        Data folder (default: :func:`mailkit_analysis.paths.default_data_dir`).

    Returns
    -------
    PruneReport
        How many rows, requests, sends and files went.

    Notes
    -----
    A request is older than ``before`` when it was sent before it (or, with no ``sent_at``,
    first fetched before it); its rows go with it, whatever their date. A pruned request
    given again in a manifest is fetched again.
    """
    cutoff = parse_bound(before)
    if cutoff is None:
        raise ValueError("prune needs a date: everything before it is removed")
    paths = CachePaths.under(data_dir)
    report = PruneReport(cutoff.isoformat())
    if not paths.root.is_dir():
        return report
    with locked(paths):
        tx = Transaction(paths.root)
        state, recorded = _merged_state(paths)
        start = state["sent_at"].where(state["sent_at"].notna(), state["first_fetched_at"])
        old = (start < cutoff.tz_convert("UTC")).fillna(False).astype(bool)
        dropped = pa.array(state.loc[old, "request_id"].to_numpy(dtype="int64"))
        report.requests = int(old.sum())
        kept_state = state.loc[~old].reset_index(drop=True)
        limit = pa.scalar(cutoff.to_pydatetime(), pa.timestamp("us", tz="Europe/Prague"))
        store = ResultsStore(paths)
        for part in store.usable_parts():
            keys = pq.read_table(part.path, columns=["request_id", "date"])  # two columns decide
            gone = pc.fill_null(pc.or_kleene(pc.less(keys.column("date"), limit),
                                             pc.is_in(keys.column("request_id"), value_set=dropped)), False)
            removed = pc.sum(gone).as_py() or 0
            if not removed:
                continue
            report.rows += removed
            tx.remove(part.path)
            if removed == keys.num_rows:
                continue
            kept = pq.read_table(part.path).filter(pc.invert(gone))
            if kept.num_rows:
                store.stage_part(tx, part.month, kept)
        if report.requests or recorded or update_files(paths):
            stage_fold(tx, paths, kept_state)
        sends_parts = sends_table(paths)
        sends = sends_parts.read(quarantine=paths.quarantine)  # the base and every update
        if sends is not None and len(sends):
            # One rule for ambiguous and skipped local times: the one in prague_time.
            sent = to_prague_times(pd.to_datetime(sends["send_date"], errors="coerce"))
            old_sends = (sent < cutoff).fillna(False).astype(bool)
            report.sends = int(old_sends.sum())
            if report.sends:  # an update may hold an old send too: the table is rewritten whole
                sends_parts.stage_fold(tx, sends.loc[~old_sends])
        for path in _older_files(_exports(paths), cutoff) + _older_files(paths.quarantine, cutoff):
            tx.remove(path)
            report.files.append(path.name)
        tx.commit()
        for path in recorded:
            path.unlink(missing_ok=True)
    return report


# --------------------------------------------------------------------------- forget

@dataclass
class ForgetReport:
    """What :func:`forget_email` changed (counts only: the address itself is not kept)."""

    rows_removed: int = 0
    rows_edited: int = 0
    files_changed: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)

    @property
    def rows_changed(self) -> int:
        return self.rows_removed + self.rows_edited

    def __str__(self) -> str:
        text = (f"{self.rows_changed:,} rows changed ({self.rows_removed:,} removed, {self.rows_edited:,} edited) "
                f"in {len(self.files_changed)} file(s)")
        if self.files_deleted:
            text += f"; {len(self.files_deleted)} unreadable quarantined file(s) deleted"
        return text


def _pattern(address: str) -> str:
    return "(?i)" + re.escape(address)


def _scrub_strings(table: pa.Table, address: str) -> tuple[pa.Table, int]:
    """Replace ``address`` (any case) in every string column; returns the table and rows edited."""
    lowered = address.lower()
    touched = None
    for i, column in enumerate(table.columns):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        hit = pc.fill_null(pc.match_substring(column, lowered, ignore_case=True), False)
        if not pc.any(hit).as_py():
            continue
        touched = hit if touched is None else pc.or_(touched, hit)
        table = table.set_column(i, table.field(i), pc.replace_substring_regex(column, _pattern(address), ERASED))
    return table, (0 if touched is None else pc.sum(touched).as_py())


def _forget_in_table(table: pa.Table, address: str, *, drop_rows: bool) -> tuple[pa.Table, int, int]:
    removed = 0
    if drop_rows and "email" in table.column_names:
        mine = pc.fill_null(pc.equal(pc.utf8_lower(pc.utf8_trim_whitespace(table.column("email"))), address.lower()), False)
        removed = pc.sum(mine).as_py() or 0
        if removed:
            table = table.filter(pc.invert(mine))
    table, edited = _scrub_strings(table, address)
    return table, removed, edited


def _stage_parquet(tx: Transaction, path: Path, table: pa.Table) -> None:
    tx.stage(path, lambda staged: write_parquet_synced(table, staged))


def forget_email(email: str, data_dir: str | os.PathLike | None = None) -> ForgetReport:
    """Remove one recipient address from every file of the cache (``mailkit-analysis cache forget``).

    Parameters
    ----------
    email : str
        The address (case is ignored).
    data_dir : path, optional
        Data folder (default: :func:`mailkit_analysis.paths.default_data_dir`).

    Returns
    -------
    ForgetReport
        Rows removed (result rows of that address), rows edited (other texts naming it),
        and the files changed.

    Notes
    -----
    This erases the address from this cache only: Mailkit keeps its own records, and a
    request fetched again (``--refresh``, or a provisional one) brings its rows back.
    """
    address = (email or "").strip()
    if "@" not in address or len(address) < 3:
        raise ValueError(f"{email!r} is not an e-mail address")
    paths = CachePaths.under(data_dir)
    report = ForgetReport()
    if not paths.root.is_dir():
        return report
    with locked(paths):
        tx = Transaction(paths.root)
        store = ResultsStore(paths)
        for part in store.usable_parts():
            table = pq.read_table(part.path)
            if not _mentions(table, address):
                continue
            kept, removed, edited = _forget_in_table(table, address, drop_rows=True)
            report.rows_removed += removed
            report.rows_edited += edited
            report.files_changed.append(str(part.path.relative_to(paths.root)))
            tx.remove(part.path)
            if kept.num_rows:
                store.stage_part(tx, part.month, kept)
        for keyed in (requests_table(paths), sends_table(paths)):
            # Any part may name the address, also in a row a later update replaced: when one
            # does, the table is rewritten whole (one base, no updates) without it.
            if not any(_mentions(pq.read_table(p), address) for p in keyed.files()):
                continue
            whole = keyed.read_arrow(quarantine=paths.quarantine)
            if whole is None:
                continue
            changed, removed, edited = _forget_in_table(whole, address, drop_rows=False)
            report.rows_edited += edited
            report.files_changed.append(keyed.base.name)
            keyed.stage_fold(tx, changed)
        for path in [p for p in (paths.campaigns,) if p.is_file()] + _quarantined(paths):
            try:
                table = pq.read_table(path)
            except Exception:  # an unreadable quarantined file cannot be checked: it goes
                tx.remove(path)
                report.files_deleted.append(path.name)
                continue
            if not _mentions(table, address):
                continue
            changed, removed, edited = _forget_in_table(table, address, drop_rows=path.parent == paths.quarantine)
            report.rows_removed += removed
            report.rows_edited += edited
            report.files_changed.append(path.name)
            _stage_parquet(tx, path, changed.replace_schema_metadata(table.schema.metadata))
        for path in _text_files(paths):
            _forget_in_text(tx, path, address, report)
        tx.commit()
    return report


def _mentions(table: pa.Table, address: str) -> bool:
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.fill_null(pc.match_substring(column, address.lower(), ignore_case=True), False)).as_py():
                return True
    return False


def _quarantined(paths: CachePaths) -> list[Path]:
    folder = paths.quarantine
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _text_files(paths: CachePaths) -> list[Path]:
    """Text files that can hold addresses: exports, and any CSV/JSON in the cache folder."""
    found = []
    exports = _exports(paths)
    if exports.is_dir():
        found += sorted(p for p in exports.iterdir() if p.is_file())
    found += sorted(p for p in paths.root.glob("*") if p.is_file() and p.suffix in (".csv", ".json"))
    return found


def _forget_in_text(tx: Transaction, path: Path, address: str, report: ForgetReport) -> None:
    """Lines naming the address: removed from an export's rows, edited elsewhere."""
    raw = path.read_bytes()
    if address.lower().encode("utf-8") not in raw.lower():
        return
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    pattern = re.compile(re.escape(address), re.IGNORECASE)
    kept, removed, edited = [], 0, 0
    for number, line in enumerate(lines):
        if not pattern.search(line):
            kept.append(line)
        elif path.suffix == ".csv" and number > 0 and path.parent.name == "exports":
            removed += 1  # one export row per recipient: that row goes
        else:
            kept.append(pattern.sub(ERASED, line))
            edited += 1
    report.rows_removed += removed
    report.rows_edited += edited
    report.files_changed.append(path.name)
    data = "".join(kept).encode("utf-8")
    tx.stage(path, lambda staged: write_bytes_synced(data, staged))
