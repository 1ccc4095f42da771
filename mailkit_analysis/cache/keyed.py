"""Tables with one row per key that grow by appended parts: the request state and the sends.

Layout (the request state; the sends table is the same with ``sends``)::

    requests.parquet                              the base, sorted by key, in row groups
    requests.updates/update-<unique>.parquet      rows changed since, oldest first by name

The table is the base with every update applied in name order, the last row of a key
winning (an update holds whole rows, not changed cells). A write adds one update holding
only the rows it changed, in the same journalled change (:mod:`.journal`) as whatever goes
with it, so a fetch into a cache following millions of requests writes a few hundred rows
instead of the whole state. The previous layout (the base alone) is this layout with no
updates, read as it is.

Updates are merged like a month's parts (:mod:`.compact`): into the base when they hold
as many rows as it does, or while the base is small (a small cache keeps the one-file
layout a reader of the base alone sees whole); among themselves, the newest first, when
there are more than :data:`~.compact.AUTO_COMPACT_PARTS`; and all of them by ``cache
compact``. A reader of the base alone sees the table as of the last fold; the toolkit's
readers (:meth:`KeyedTable.read`, the DuckDB views of the analysis) read every part.

Reads that need a few keys (a fetch asking which of its requests are final) read the key
column of the row groups whose statistics may hold them, then only the row groups that do,
so they cost little more than the key column whatever the table's size.
"""
from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..atomic import write_parquet_atomic, write_parquet_synced
from ..frame import nullable_types
from .journal import Transaction
from .schema import schema_version, with_version
from .tables import small_table, table_problem

__all__ = ["KeyedTable", "SMALL_TABLE_ROWS", "BASE_ROW_GROUP", "requests_table", "sends_table"]

log = logging.getLogger(__name__)

#: A base this small is folded with every write: rewriting it costs a few milliseconds.
SMALL_TABLE_ROWS = 20_000
#: Row groups of a base: small enough that a read of a few keys skips most of a big table.
BASE_ROW_GROUP = 65_536
UPDATE_GLOB = "update-*.parquet"

_ROWS: dict[tuple, int] = {}  # files never change once written: row counts by identity


def _identity(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@dataclass(frozen=True)
class KeyedTable:
    """One table of the cache kept as a base file plus update parts.

    Parameters
    ----------
    base : Path
        The base file (``requests.parquet``).
    updates : Path
        The folder of update parts (``requests.updates``).
    schema : pyarrow.Schema
        The table's schema (with its version).
    key : str
        The column holding one value per row of the table (``request_id``).
    """

    base: Path
    updates: Path
    schema: pa.Schema
    key: str

    # --- files ----------------------------------------------------------------------------
    def update_files(self) -> list[Path]:
        """The committed updates, oldest first."""
        return sorted(self.updates.glob(UPDATE_GLOB)) if self.updates.is_dir() else []

    def files(self) -> list[Path]:
        """Every file of the table in the order rows win (base first, the newest update last)."""
        return ([self.base] if self.base.is_file() else []) + self.update_files()

    def signature(self) -> tuple:
        """Changes whenever the table on disk does (files are replaced, never changed in place)."""
        return (_identity(self.base), tuple(p.name for p in self.update_files()))

    def exists(self) -> bool:
        return bool(self.files())

    @staticmethod
    def rows_in(path: Path) -> int:
        """Rows of one file, from its footer (0 when it cannot be read)."""
        key = _identity(path)
        if key is None:
            return 0
        if key not in _ROWS:
            try:
                _ROWS[key] = pq.ParquetFile(path).metadata.num_rows
            except Exception:  # a broken file holds nothing usable; reading it reports why
                _ROWS[key] = 0
        return _ROWS[key]

    def base_rows(self) -> int:
        return self.rows_in(self.base) if self.base.is_file() else 0

    def update_rows(self) -> int:
        return sum(self.rows_in(p) for p in self.update_files())

    # --- reading --------------------------------------------------------------------------
    def _usable(self, path: Path, quarantine: Path | None) -> bool:
        problem = table_problem(path, self.schema)
        if problem is None:
            return True
        self._set_aside(path, problem, quarantine)
        return False

    def _set_aside(self, path: Path, problem: str, quarantine: Path | None) -> None:
        log.warning("cache file %s cannot be used: %s; its contents will be fetched again", path, problem)
        if quarantine is not None and path.exists():
            quarantine.mkdir(parents=True, exist_ok=True)
            stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S")
            name = path.name if path.parent != self.updates else f"{self.updates.name}-{path.name}"
            shutil.move(str(path), quarantine / f"{stamp}-{name}")

    def _conform(self, table: pa.Table, columns: list[str]) -> pa.Table:
        """``columns`` of ``table`` in the schema's types; columns an older version lacks are null."""
        arrays = []
        for name in columns:
            field = self.schema.field(name)
            if name in table.column_names:
                arrays.append(table.column(name).cast(field.type))
            else:
                arrays.append(pa.nulls(table.num_rows, field.type))
        return pa.table(arrays, schema=pa.schema([self.schema.field(n) for n in columns]))

    def _read_file(self, path: Path, keys: pa.Array | None, columns: list[str]) -> pa.Table | None:
        handle = pq.ParquetFile(path)
        present = [c for c in columns if c in handle.schema_arrow.names]
        if keys is None:
            return self._conform(handle.read(columns=present), columns)
        meta = handle.metadata
        low, high = (pc.min_max(keys)["min"].as_py(), pc.min_max(keys)["max"].as_py()) if len(keys) else (0, -1)
        position = handle.schema_arrow.names.index(self.key)
        groups = []
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(position).statistics
            if stats is not None and stats.has_min_max and (stats.max < low or stats.min > high):
                continue  # no wanted key in this row group's range
            groups.append(g)
        if not groups:
            return None
        found = handle.read_row_groups(groups, columns=[self.key]).column(self.key)
        hit = pc.is_in(found, value_set=keys)
        if not pc.any(hit).as_py():
            return None
        # Only the row groups holding a wanted key are read whole.
        sizes = [meta.row_group(g).num_rows for g in groups]
        bounds = np.cumsum([0] + sizes)
        hits = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
        holding = [i for i in range(len(groups)) if hits[bounds[i]:bounds[i + 1]].any()]
        table = handle.read_row_groups([groups[i] for i in holding], columns=present)
        mask = np.concatenate([hits[bounds[i]:bounds[i + 1]] for i in holding])
        return self._conform(table.filter(pa.array(mask)), columns)

    def read_arrow(self, keys=None, *, columns: list[str] | None = None,
                   quarantine: Path | None = None) -> pa.Table | None:
        """The table's current rows (of ``keys`` only, when given) as arrow; None without files.

        Parameters
        ----------
        keys : array-like of int, optional
            Read only these keys' rows (what a fetch needs of a big table).
        columns : list of str, optional
            Columns to read (the key is always read).
        quarantine : Path, optional
            Move an unusable file here (only while holding the cache lock).
        """
        columns = list(self.schema.names) if columns is None else [self.key] + [c for c in columns if c != self.key]
        wanted = None
        if keys is not None:
            wanted = pa.array(np.unique(np.asarray(keys, dtype="int64")), pa.int64())
        tables = []
        any_file = False
        for path in self.files():
            if not self._usable(path, quarantine):
                continue
            any_file = True
            try:
                table = self._read_file(path, wanted, columns)
            except Exception as exc:  # a file can pass the footer check and still be cut short
                self._set_aside(path, f"unreadable ({type(exc).__name__}: {str(exc)[:120]})", quarantine)
                continue
            if table is not None and table.num_rows:
                tables.append(table)
        if not any_file:
            return None
        if not tables:
            return self._conform(self.schema.empty_table(), columns)
        if len(tables) == 1:
            return tables[0]
        return _last_per_key(pa.concat_tables(tables), self.key)

    def read(self, keys=None, *, columns: list[str] | None = None,
             quarantine: Path | None = None) -> pd.DataFrame | None:
        """:meth:`read_arrow` as a DataFrame of nullable dtypes (None without files)."""
        table = self.read_arrow(keys, columns=columns, quarantine=quarantine)
        return None if table is None else table.to_pandas(types_mapper=nullable_types)

    def keys_where(self, columns: list[str], predicate) -> np.ndarray:
        """Keys whose current row satisfies ``predicate(table)`` (a boolean array over a table
        of the key and ``columns``): reads those columns only, never the whole table."""
        table = self.read_arrow(columns=columns)
        if table is None or not table.num_rows:
            return np.array([], dtype="int64")
        hit = pc.fill_null(predicate(table), False)
        return table.column(self.key).filter(hit).to_numpy()

    # --- writing (caller holds the lock) --------------------------------------------------
    def _next_update(self) -> Path:
        """A name sorting after every update there (a clock set back must not reorder them)."""
        stamp = time.time_ns()
        existing = self.update_files()
        if existing:
            try:
                stamp = max(stamp, int(existing[-1].name.split("-")[1], 16) + 1)
            except (IndexError, ValueError):
                pass
        return self.updates / f"update-{stamp:016x}-{uuid.uuid4().hex[:8]}.parquet"

    def _sorted(self, rows: pd.DataFrame | pa.Table) -> pa.Table:
        """``rows`` in the schema, with its version, sorted by key (so statistics prune reads)."""
        if isinstance(rows, pd.DataFrame):
            table = small_table(rows, self.schema)
        else:
            conformed = self._conform(rows, list(self.schema.names))
            table = with_version(pa.Table.from_arrays(conformed.columns, schema=self.schema), schema_version(self.schema))
        return table.take(pc.sort_indices(table, [(self.key, "ascending")]))

    def stage_update(self, tx: Transaction, rows: pd.DataFrame | pa.Table) -> Path | None:
        """Add ``rows`` (whole rows, the key's new state) to ``tx`` as one update part."""
        if len(rows) == 0:
            return None
        table = self._sorted(rows)
        return tx.stage(self._next_update(), lambda staged: write_parquet_synced(table, staged))

    def stage_fold(self, tx: Transaction, frame: pd.DataFrame | pa.Table) -> None:
        """Replace the whole table with ``frame`` when ``tx`` commits: a new base, no updates."""
        table = self._sorted(frame)
        tx.stage(self.base, lambda staged: write_parquet_synced(table, staged, row_group_size=BASE_ROW_GROUP))
        for path in self.update_files():
            tx.remove(path)

    def stage_rows(self, tx: Transaction, rows: pd.DataFrame | pa.Table) -> None:
        """Write ``rows`` (whole rows, each key's new state) with ``tx``: as an update, or, when
        :meth:`folds_with` says so, as a new base holding the table with ``rows`` applied."""
        if len(rows) == 0:
            return
        if not self.folds_with(len(rows)):
            self.stage_update(tx, rows)
            return
        current = self.read_arrow()
        new = self._sorted(rows)
        whole = new if current is None else _last_per_key(pa.concat_tables([self._sorted(current), new]), self.key)
        self.stage_fold(tx, whole)

    def write_base(self, frame: pd.DataFrame | pa.Table) -> None:
        """Write the whole table as its base, atomically, outside any transaction (a new cache)."""
        write_parquet_atomic(self._sorted(frame), self.base, row_group_size=BASE_ROW_GROUP)

    def base_is_laid_out(self) -> bool:
        """Whether the base is in row groups small enough for reads of a few keys (a base of
        the previous layout is one or two big row groups, and is rewritten by ``cache compact``)."""
        if not self.base.is_file():
            return True
        try:
            meta = pq.ParquetFile(self.base).metadata
        except Exception:  # unreadable: reading it reports why
            return True
        return all(meta.row_group(g).num_rows <= BASE_ROW_GROUP for g in range(meta.num_row_groups))

    def folds_with(self, new_rows: int) -> bool:
        """Whether a write of ``new_rows`` rows should rewrite the table whole instead of
        adding an update: the base is small, or no bigger than the updates it would absorb."""
        base = self.base_rows()
        return base <= SMALL_TABLE_ROWS or base <= self.update_rows() + new_rows

    def stage_merge(self, tx: Transaction, threshold: int) -> tuple[int, int] | None:
        """Merge updates when there are too many (or they outgrew the base); ``(before, after)``
        file counts, or None when nothing is merged.

        Updates are taken newest first while each older one holds no more rows than all the
        newer ones together (as a month's parts are, see :func:`~.compact.parts_to_merge`),
        so a row is rewritten a few times over its life, not once per write.
        """
        updates = self.update_files()
        if not updates:
            return None
        before = len(self.files())
        if self.folds_with(0):
            self.stage_fold(tx, self.read_arrow())
            return before, 1
        if len(updates) <= threshold:
            return None
        sizes = [self.rows_in(p) for p in updates]
        start = 0  # all of them, when no older update is small enough
        for i in range(len(updates) - 1):
            if sizes[i] <= sum(sizes[i + 1:]):
                start = i
                break
        chosen = updates[start:]
        combined = _last_per_key(pa.concat_tables([self._read_file(p, None, list(self.schema.names)) for p in chosen]),
                                 self.key)
        for path in chosen:
            tx.remove(path)
        self.stage_update(tx, combined)  # named after every update left: it is the newest
        return before, before - len(chosen) + 1


def requests_table(paths) -> KeyedTable:
    """The request state of the cache at ``paths``."""
    from .schema import REQUESTS_SCHEMA

    return KeyedTable(paths.requests, paths.root / "requests.updates", REQUESTS_SCHEMA, "request_id")


def sends_table(paths) -> KeyedTable:
    """The sends of the cache at ``paths`` (one row per ``id_send``)."""
    from .schema import SENDS_SCHEMA

    return KeyedTable(paths.sends, paths.root / "sends.updates", SENDS_SCHEMA, "id_send")


def _last_per_key(table: pa.Table, key: str) -> pa.Table:
    """The last row of each key, in the order the rows came (first occurrences, reversed)."""
    reversed_keys = table.column(key).to_numpy()[::-1]
    _, first = np.unique(reversed_keys, return_index=True)
    return table.take(pa.array(np.sort(len(reversed_keys) - 1 - first)))
