"""Compaction: merging a month's parts, so that appending stays cheap and reading stays fast.

Every fetch batch adds a part per month it touches (:mod:`.store`). Two ways merge them:

* **automatically**, at the end of a fetch, in a month holding more than
  :data:`AUTO_COMPACT_PARTS` parts: the small parts are merged, the big ones are left alone.
  Parts are taken largest first; a part is kept while it holds more rows than all smaller
  parts together, and the rest are merged into one. A month thus keeps a handful of parts
  of decreasing size, and a row is rewritten only a few times over its life (as in a
  log-structured merge), instead of once per batch as when whole months were rewritten;
* **on demand**, ``mailkit-analysis cache compact`` (:func:`compact_cache`): every month
  with more than one part becomes one part, sorted by request (a month still in the
  previous layout's single ``part-0.parquet`` is rewritten the same way).

The request state and the sends table (:mod:`.keyed`: a base plus update parts) are
merged in the same two ways: automatically past :data:`AUTO_COMPACT_PARTS` updates (the
newest, smaller ones together) or once the updates hold as many rows as the base (into the
base), and whole by ``cache compact``.

A compaction is one journalled change (:mod:`.journal`): the merged part is staged, then
the old parts are removed in the same commit, so a kill at any point loses nothing and
never leaves a row twice once the next command has recovered. The time of the last full
compaction is kept in ``cache/compaction.json`` and shown by ``cache info``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import write_bytes_synced
from ..paths import CachePaths
from .journal import Transaction
from .lock import locked
from .schema import RESULTS_SCHEMA
from .keyed import requests_table, sends_table
from .store import LEGACY_PART, Part, ResultsStore

__all__ = ["AUTO_COMPACT_PARTS", "CompactionReport", "compact_cache", "auto_compact", "last_compacted", "parts_to_merge"]

AUTO_COMPACT_PARTS = 8
RECORD_NAME = "compaction.json"


@dataclass
class CompactionReport:
    """What a compaction did: ``{month: (parts before, parts after)}`` for merged months."""

    months: dict[str, tuple[int, int]] = field(default_factory=dict)
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        tables = "".join(f"; {name} {b} files -> {a}" for name, (b, a) in self.tables.items())
        if not self.months:
            return "nothing to compact (every month is one part)" + tables
        before = sum(b for b, _ in self.months.values())
        after = sum(a for _, a in self.months.values())
        return (f"compacted {len(self.months)} month(s): {before} parts -> {after}, "
                f"{self.rows:,} rows rewritten in {self.seconds:.1f}s" + tables)


def _rows(part: Part) -> int:
    return pq.ParquetFile(part.path).metadata.num_rows


def parts_to_merge(sizes: list[int]) -> list[int]:
    """Indexes of the parts an automatic compaction merges, given each part's row count.

    Largest first, a part is kept while it holds more rows than all smaller ones together;
    everything after the first part that does not is merged (at least two parts, or none).
    """
    order = sorted(range(len(sizes)), key=lambda i: sizes[i], reverse=True)
    remaining = sum(sizes)
    for position, i in enumerate(order):
        remaining -= sizes[i]
        if sizes[i] <= remaining:
            merged = order[position:]
            return merged if len(merged) >= 2 else []
    return []


def _merge(store: ResultsStore, tx: Transaction, month: str, parts: list[Part]) -> int:
    table = pa.concat_tables([pq.read_table(p.path, schema=RESULTS_SCHEMA) for p in parts])
    if table.num_rows:
        store.stage_part(tx, month, table)
    for part in parts:
        tx.remove(part.path)
    return table.num_rows


def _by_month(parts: list[Part]) -> dict[str, list[Part]]:
    months: dict[str, list[Part]] = {}
    for part in parts:
        months.setdefault(part.month, []).append(part)
    return months


def auto_compact(paths: CachePaths, threshold: int | None = None) -> CompactionReport:
    """Merge the small parts of every month holding more than ``threshold`` parts.

    Call it holding the cache lock. One commit per month, so memory stays one month's
    small parts at most.
    """
    threshold = AUTO_COMPACT_PARTS if threshold is None else threshold
    started = time.perf_counter()
    report = CompactionReport()
    store = ResultsStore(paths)
    for month, parts in _by_month(store.usable_parts()).items():
        if len(parts) <= threshold:
            continue
        chosen = [parts[i] for i in parts_to_merge([_rows(p) for p in parts])]
        if not chosen:
            continue
        tx = Transaction(paths.root)
        report.rows += _merge(store, tx, month, chosen)
        tx.commit()
        report.months[month] = (len(parts), len(parts) - len(chosen) + 1)
    for table in (requests_table(paths), sends_table(paths)):
        tx = Transaction(paths.root)
        merged = table.stage_merge(tx, threshold)
        if merged:
            tx.commit()
            report.tables[table.base.stem] = merged
    report.seconds = time.perf_counter() - started
    return report


def compact_cache(data_dir: str | os.PathLike | None = None) -> CompactionReport:
    """Merge every month's parts into one (``mailkit-analysis cache compact``).

    Parameters
    ----------
    data_dir : path, optional
        Data folder (default: :func:`mailkit_analysis.paths.default_data_dir`).

    Returns
    -------
    CompactionReport
    """
    started = time.perf_counter()
    paths = CachePaths.under(data_dir)
    report = CompactionReport()
    if not paths.root.is_dir():
        return report
    with locked(paths):
        store = ResultsStore(paths)
        for month, parts in _by_month(store.usable_parts()).items():
            if len(parts) < 2 and parts[0].path.name != LEGACY_PART:
                continue  # one part already (a lone part of the previous layout is rewritten: sorted, in row groups)
            tx = Transaction(paths.root)
            report.rows += _merge(store, tx, month, parts)
            tx.commit()
            report.months[month] = (len(parts), 1)
        tx = Transaction(paths.root)
        for table in (requests_table(paths), sends_table(paths)):
            # The request state's and the sends' updates, folded too (and a base of the previous
            # layout, one big row group, rewritten in small ones).
            if table.update_files() or not table.base_is_laid_out():
                before = len(table.files())
                whole = table.read_arrow(quarantine=paths.quarantine)
                if whole is not None:
                    table.stage_fold(tx, whole)
                    report.tables[table.base.stem] = (before, 1)
        stamp = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        record = json.dumps({"last_compacted_at": stamp}).encode("utf-8")
        tx.stage(paths.root / RECORD_NAME, lambda staged: write_bytes_synced(record, staged))
        tx.commit()
    report.seconds = time.perf_counter() - started
    return report


def last_compacted(paths: CachePaths) -> str | None:
    """When ``cache compact`` last ran on this cache (ISO 8601, UTC), or None."""
    try:
        return json.loads((paths.root / RECORD_NAME).read_text(encoding="utf-8")).get("last_compacted_at")
    except (OSError, ValueError, AttributeError):
        return None
