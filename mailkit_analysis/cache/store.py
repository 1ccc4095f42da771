"""The results dataset: hive-partitioned parquet, one file per month.

Layout: ``results/month=YYYY-MM/part-0.parquet`` (the month of each row's ``DATE`` in
Prague; ``month=unknown`` for rows without a date). Any parquet reader sees one dataset:
``pyarrow.dataset.dataset(path, partitioning="hive")``, DuckDB's
``read_parquet('…/results/*/*.parquet', hive_partitioning=true)`` or Dask.

Writes replace the rows of whole requests: a request's old rows are removed wherever they
are and its new rows written, one month file at a time, atomically. The caller holds the
cache lock, so concurrent writers never interleave and a row is never stored twice.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..paths import CachePaths
from ..atomic import write_parquet_atomic
from .schema import (
    PARTITION_COLUMN,
    RESULTS_SCHEMA,
    SCHEMA_VERSION,
    file_version,
    with_version,
)

__all__ = ["ResultsStore", "PartitionProblem", "month_key"]

log = logging.getLogger(__name__)

PART_NAME = "part-0.parquet"
UNKNOWN_MONTH = "unknown"


def month_key(dates: pd.Series) -> pd.Series:
    """``YYYY-MM`` of each (Prague) date, ``unknown`` where the date is missing."""
    keys = dates.dt.strftime("%Y-%m").astype("string")
    return keys.fillna(UNKNOWN_MONTH)


@dataclass(frozen=True)
class PartitionProblem:
    """A results file that could not be used (unreadable, wrong schema or version)."""

    path: Path
    month: str
    reason: str


@dataclass
class ResultsStore:
    """Reads and replaces result rows in the partitioned dataset under ``paths.results``."""

    paths: CachePaths
    problems: list[PartitionProblem] = field(default_factory=list)

    # --- reading ------------------------------------------------------------------------
    def partition_files(self) -> dict[str, Path]:
        """``{month: file}`` for every partition file present."""
        root = self.paths.results
        if not root.is_dir():
            return {}
        files = {}
        for folder in sorted(root.glob(f"{PARTITION_COLUMN}=*")):
            part = folder / PART_NAME
            if part.is_file():
                files[folder.name.split("=", 1)[1]] = part
        return files

    def check(self, path: Path) -> str | None:
        """Why ``path`` cannot be used, or None when it is a readable file of this version."""
        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for broken files
            return f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
        version = file_version(schema)
        if version != SCHEMA_VERSION:
            return f"schema version {version or 'missing'} (this toolkit writes {SCHEMA_VERSION})"
        missing = [name for name in RESULTS_SCHEMA.names if name not in schema.names]
        if missing:
            return f"missing columns {missing}"
        return None

    def usable_files(self) -> dict[str, Path]:
        """Partition files that pass :meth:`check`; the others are listed in ``problems``."""
        usable, self.problems = {}, []
        for month, path in self.partition_files().items():
            reason = self.check(path)
            if reason is None:
                usable[month] = path
            else:
                self.problems.append(PartitionProblem(path, month, reason))
        return usable

    def dataset(self, files: dict[str, Path] | None = None) -> ds.Dataset | None:
        """A pyarrow dataset over the usable files (hive partition column ``month``)."""
        files = self.usable_files() if files is None else files
        if not files:
            return None
        partitioning = ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive")
        return ds.dataset(
            [str(p) for p in files.values()],
            schema=RESULTS_SCHEMA.append(pa.field(PARTITION_COLUMN, pa.string())),
            format="parquet",
            partitioning=partitioning,
            partition_base_dir=str(self.paths.results),
        )

    def _read_month(self, path: Path) -> pa.Table:
        return pq.read_table(path, schema=RESULTS_SCHEMA)

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

    def months_holding(self, request_ids: pd.Index, files: dict[str, Path]) -> set[str]:
        """Months whose file holds rows of any of ``request_ids`` (reads one column)."""
        if not len(request_ids) or not files:
            return set()
        dataset = self.dataset(files)
        wanted = pa.array(request_ids.to_numpy(dtype="int64"))
        table = dataset.to_table(columns=[PARTITION_COLUMN], filter=pc.field("request_id").isin(wanted))
        return set(table.column(PARTITION_COLUMN).unique().to_pylist())

    def replace_requests(self, request_ids: pd.Index, rows: pa.Table) -> None:
        """Make the stored rows of ``request_ids`` exactly ``rows``.

        Parameters
        ----------
        request_ids : Index
            Every request whose answer is being stored (including answers with no rows).
        rows : pyarrow.Table
            Their result rows, in the cache schema.
        """
        files = self.usable_files()
        rows = rows.select(RESULTS_SCHEMA.names).cast(RESULTS_SCHEMA)
        months = pc.fill_null(pc.strftime(rows.column("date"), format="%Y-%m"), UNKNOWN_MONTH)
        affected = set(pc.unique(months).to_pylist()) | self.months_holding(request_ids, files)
        drop = pa.array(request_ids.to_numpy(dtype="int64"))
        for month in sorted(affected):
            parts = []
            if month in files:
                old = self._read_month(files[month])
                parts.append(old.filter(pc.invert(pc.is_in(old.column("request_id"), value_set=drop))))
            new = rows.filter(pc.equal(months, month))
            if new.num_rows:
                parts.append(new)
            table = pa.concat_tables(parts) if parts else RESULTS_SCHEMA.empty_table()
            target = self.paths.results / f"{PARTITION_COLUMN}={month}" / PART_NAME
            if table.num_rows == 0:
                if target.exists():
                    target.unlink()
                    _remove_empty_dir(target.parent)
                continue
            order = pc.sort_indices(table, [("request_id", "ascending"), ("date", "ascending"), ("id_send_message", "ascending")])
            write_parquet_atomic(with_version(table.take(order)), target)

    def read_requests(self, request_ids: pd.Index) -> pa.Table:
        """The stored rows of ``request_ids`` (cache schema)."""
        dataset = self.dataset()
        if dataset is None or not len(request_ids):
            return RESULTS_SCHEMA.empty_table()
        wanted = pa.array(request_ids.to_numpy(dtype="int64"))
        return dataset.to_table(columns=RESULTS_SCHEMA.names, filter=pc.field("request_id").isin(wanted))


def _remove_empty_dir(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
