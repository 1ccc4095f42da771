"""The results dataset: hive-partitioned parquet, appended to in parts, compacted now and then.

Layout::

    results/month=YYYY-MM/part-<unique>.parquet

``month`` is the month of each row's ``DATE`` in Prague (``month=unknown`` for rows without
a date). A month holds one or more *parts*; a part is written once, under a name never used
before, and never changed: a fetch batch adds one new part per month it has rows for, and
:mod:`.compact` later merges a month's parts into one. The previous layout (one
``part-0.parquet`` per month) is simply a month of one part, read and compacted like any other.

Which parts hold a request's rows is not kept in a separate index that could disagree with
the files: it is read from the parts themselves, the ``request_id`` column only, with the
row-group min/max statistics skipping most of it (parts are sorted by request): about
50 ms for ten million rows. Replacing a request's rows (a provisional answer fetched again)
rewrites only the parts that hold them, as new parts, and removes the old ones.

All changes go through a :class:`~.journal.Transaction`, under the cache lock, so any
parquet reader sees one dataset (``pyarrow.dataset.dataset(path, partitioning="hive")``,
DuckDB's ``read_parquet('…/results/*/*.parquet', hive_partitioning=true)``, Dask) holding
exactly the cache's rows whenever no toolkit command is writing; files being written are
hidden and do not end in ``.parquet``.
"""
from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..paths import CachePaths
from ..atomic import write_parquet_synced
from .journal import Transaction
from .schema import (
    PARTITION_COLUMN,
    RESULTS_SCHEMA,
    SCHEMA_VERSION,
    file_version,
    with_version,
)

__all__ = ["ResultsStore", "Part", "LEGACY_PART", "PartitionProblem", "month_key", "new_part_path", "write_part", "sort_rows",
           "request_filter"]

log = logging.getLogger(__name__)

PART_GLOB = "part-*.parquet"
LEGACY_PART = "part-0.parquet"  # the previous layout's one file per month
UNKNOWN_MONTH = "unknown"
ROW_GROUP_ROWS = 131_072  # small enough for request lookups to skip most of a month


def month_key(dates: pd.Series) -> pd.Series:
    """``YYYY-MM`` of each (Prague) date, ``unknown`` where the date is missing."""
    keys = dates.dt.strftime("%Y-%m").astype("string")
    return keys.fillna(UNKNOWN_MONTH)


def row_months(table: pa.Table) -> pa.Array:
    """``YYYY-MM`` (Prague) of each row of a results table, ``unknown`` without a date."""
    dates = table.column("date")
    # year * 100 + month in the column's own zone (Prague), then one string per distinct
    # month: formatting every row with strftime costs more than the rest of a write.
    keys = pc.add(pc.multiply(pc.year(dates), 100), pc.month(dates))
    distinct = pc.unique(keys).drop_null()
    labels = pa.array([f"{k // 100:04d}-{k % 100:02d}" for k in distinct.to_pylist()], pa.string())
    return pc.fill_null(pc.take(labels, pc.index_in(keys, value_set=distinct)), UNKNOWN_MONTH)


def new_part_path(results: Path, month: str) -> Path:
    """A part name never used before (time-ordered, then random)."""
    return results / f"{PARTITION_COLUMN}={month}" / f"part-{time.time_ns():x}-{uuid.uuid4().hex[:8]}.parquet"


def sort_rows(table: pa.Table) -> pa.Table:
    """Rows in the cache's order: by request, then date and message."""
    order = pc.sort_indices(table, [("request_id", "ascending"), ("date", "ascending"), ("id_send_message", "ascending")])
    return table.take(order)


def write_part(table: pa.Table, path: Path) -> None:
    """Write one part to a staged name: cache schema, sorted, schema version, row groups for lookups."""
    table = sort_rows(table.select(RESULTS_SCHEMA.names).cast(RESULTS_SCHEMA))
    write_parquet_synced(with_version(table), path, row_group_size=ROW_GROUP_ROWS)


def request_filter(request_ids) -> "pc.Expression":
    """``request_id`` in ``request_ids``, with the id range spelled out: arrow skips row
    groups by their statistics for a range, not for a set (one large part of a month is
    otherwise read whole for a few requests)."""
    wanted = np.unique(np.asarray(request_ids, dtype="int64"))
    if not len(wanted):
        return pc.field("request_id").isin(pa.array([], pa.int64()))
    return ((pc.field("request_id") >= int(wanted[0])) & (pc.field("request_id") <= int(wanted[-1]))
            & pc.field("request_id").isin(pa.array(wanted)))


@dataclass(frozen=True)
class Part:
    """One committed part file of one month."""

    month: str
    path: Path


@dataclass(frozen=True)
class PartitionProblem:
    """A results file that could not be used (unreadable, wrong schema or version)."""

    path: Path
    month: str
    reason: str


# Parts never change once written, so a check is remembered for as long as the file is there.
_CHECKED: dict[tuple, str | None] = {}
_RANGES: dict[tuple, tuple[int, int] | None] = {}


def _id_range(path: Path) -> tuple[int, int] | None:
    """Smallest and largest ``request_id`` of a part, from its footer (None: unknown)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
    if key not in _RANGES:
        try:
            meta = pq.ParquetFile(path).metadata
            column = meta.schema.names.index("request_id")
            lows, highs = [], []
            for g in range(meta.num_row_groups):
                stats = meta.row_group(g).column(column).statistics
                if stats is None or not stats.has_min_max:
                    raise ValueError("no statistics")
                lows.append(stats.min)
                highs.append(stats.max)
            _RANGES[key] = (min(lows), max(highs)) if lows else (0, -1)  # an empty part holds nothing
        except (OSError, ValueError, IndexError):
            _RANGES[key] = None
    return _RANGES[key]


def _may_hold(path: Path, wanted_sorted: np.ndarray) -> bool:
    """False only when no wanted id falls inside the part's request-id range."""
    bounds = _id_range(path)
    if bounds is None:
        return True
    low, high = bounds
    start = np.searchsorted(wanted_sorted, low, side="left")
    return start < len(wanted_sorted) and wanted_sorted[start] <= high


@dataclass
class ResultsStore:
    """Reads and changes result rows in the partitioned dataset under ``paths.results``."""

    paths: CachePaths
    problems: list[PartitionProblem] = field(default_factory=list)

    # --- reading ------------------------------------------------------------------------
    def parts(self) -> list[Part]:
        """Every committed part file present, by month and name."""
        root = self.paths.results
        if not root.is_dir():
            return []
        found = []
        for folder in sorted(root.glob(f"{PARTITION_COLUMN}=*")):
            month = folder.name.split("=", 1)[1]
            found += [Part(month, path) for path in sorted(folder.glob(PART_GLOB))]
        return found

    def check(self, path: Path) -> str | None:
        """Why ``path`` cannot be used, or None when it is a readable file of this version."""
        try:
            stat = path.stat()
        except OSError as exc:
            return f"unreadable ({type(exc).__name__})"
        key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key in _CHECKED:
            return _CHECKED[key]
        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for broken files
            return f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
        version = file_version(schema)
        missing = [name for name in RESULTS_SCHEMA.names if name not in schema.names]
        if version != SCHEMA_VERSION:
            reason = f"schema version {version or 'missing'} (this toolkit writes {SCHEMA_VERSION})"
        else:
            reason = f"missing columns {missing}" if missing else None
        _CHECKED[key] = reason
        return reason

    def usable_parts(self) -> list[Part]:
        """Parts that pass :meth:`check`; the others are listed in ``problems``."""
        usable, self.problems = [], []
        for part in self.parts():
            reason = self.check(part.path)
            if reason is None:
                usable.append(part)
            else:
                self.problems.append(PartitionProblem(part.path, part.month, reason))
        return usable

    def dataset(self, parts: list[Part] | None = None) -> "pyarrow.dataset.Dataset | None":
        """A pyarrow dataset over the usable parts (hive partition column ``month``)."""
        parts = self.usable_parts() if parts is None else parts
        if not parts:
            return None
        # Imported on first use: it loads arrow's query engine (acero, substrait), which a
        # fetch into a new or final-only cache never needs.
        import pyarrow.dataset as ds

        partitioning = ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive")
        return ds.dataset(
            [str(p.path) for p in parts],
            schema=RESULTS_SCHEMA.append(pa.field(PARTITION_COLUMN, pa.string())),
            format="parquet",
            partitioning=partitioning,
            partition_base_dir=str(self.paths.results),
        )

    def parts_holding(self, request_ids: pd.Index, parts: list[Part]) -> list[Part]:
        """The parts holding rows of any of ``request_ids`` (reads one column, pruned by statistics)."""
        wanted_sorted = np.sort(request_ids.to_numpy(dtype="int64"))
        parts = [p for p in parts if _may_hold(p.path, wanted_sorted)]
        dataset = self.dataset(parts) if len(request_ids) else None
        if dataset is None:
            return []
        wanted = pa.array(request_ids.to_numpy(dtype="int64"))
        by_path = {str(p.path): p for p in parts}
        holding: dict[str, Part] = {}
        scanner = dataset.scanner(columns=["request_id"], filter=request_filter(wanted))
        for tagged in scanner.scan_batches():
            if tagged.record_batch.num_rows:
                holding.setdefault(tagged.fragment.path, by_path[tagged.fragment.path])
        return sorted(holding.values(), key=lambda p: (p.month, p.path.name))

    def read_requests(self, request_ids: pd.Index) -> pa.Table:
        """The stored rows of ``request_ids`` (cache schema)."""
        parts = self.usable_parts()
        holding = self.parts_holding(request_ids, parts)
        if not holding:
            return RESULTS_SCHEMA.empty_table()
        wanted = pa.array(request_ids.to_numpy(dtype="int64"))
        return self.dataset(holding).to_table(columns=RESULTS_SCHEMA.names, filter=request_filter(wanted))

    # --- writing (caller holds the lock) -----------------------------------------------
    def quarantine(self, problem: PartitionProblem) -> Path:
        """Move an unusable file aside (never delete data) and return where it went."""
        target_dir = self.paths.quarantine
        target_dir.mkdir(parents=True, exist_ok=True)
        stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S")
        target = target_dir / f"{PARTITION_COLUMN}={problem.month}-{stamp}-{problem.path.name}"
        shutil.move(str(problem.path), target)
        log.debug("moved unusable results file %s to %s: %s", problem.path, target, problem.reason)
        return target

    def stage_part(self, tx: Transaction, month: str, table: pa.Table) -> Path:
        """Add a new part of ``month`` holding ``table`` to the transaction."""
        return tx.stage(new_part_path(self.paths.results, month), lambda staged: write_part(table, staged))

    def replace_requests(
        self, request_ids: pd.Index, rows: pa.Table, tx: Transaction | None = None, *, look_up: pd.Index | None = None
    ) -> None:
        """Make the stored rows of ``request_ids`` exactly ``rows``, when ``tx`` commits.

        New rows go to one new part per month. Parts that hold earlier rows of these
        requests are rewritten without them (as new parts, merged with that month's new
        rows) and removed; no other part is read or written.

        Parameters
        ----------
        request_ids : Index
            Every request whose answer is being stored (including answers with no rows).
        rows : pyarrow.Table
            Their result rows, in the cache schema.
        tx : Transaction, optional
            Collects the new parts and the removals (default: a transaction of its own,
            committed here).
        look_up : Index, optional
            The requests that may have stored rows (default: all of ``request_ids``); the
            caller may leave out requests it knows were never stored.
        """
        if tx is None:
            tx = Transaction(self.paths.root)
            self.replace_requests(request_ids, rows, tx, look_up=look_up)
            tx.commit()
            return
        rows = rows.select(RESULTS_SCHEMA.names).cast(RESULTS_SCHEMA)
        months = row_months(rows)
        by_month: dict[str, list[pa.Table]] = {}
        for month in pc.unique(months).to_pylist():
            by_month.setdefault(month, []).append(rows.filter(pc.equal(months, month)))
        drop = pa.array(request_ids.to_numpy(dtype="int64"))
        look_up = request_ids if look_up is None else look_up
        for part in self.parts_holding(look_up, self.usable_parts()) if len(look_up) else []:
            old = pq.read_table(part.path, schema=RESULTS_SCHEMA)
            kept = old.filter(pc.invert(pc.is_in(old.column("request_id"), value_set=drop)))
            if kept.num_rows:
                by_month.setdefault(part.month, []).append(kept)
            tx.remove(part.path)
        for month, tables in sorted(by_month.items()):
            table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
            if table.num_rows:
                self.stage_part(tx, month, table)
