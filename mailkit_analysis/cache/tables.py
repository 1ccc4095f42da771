"""The small single-file tables of the cache: request state, campaigns, sends.

Each is one parquet file with an explicit schema and the schema version in its metadata.
A file that cannot be read, or was written with a version its reader does not accept, is
reported, moved to the quarantine folder (never deleted) and treated as empty, so its contents
are fetched again. A file of an older version the schema still reads (see
:func:`~.schema.readable_versions`) is read with the columns it lacks as nulls.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..frame import nullable_types
from ..atomic import write_parquet_atomic
from .schema import file_version, readable_versions, schema_version, with_version

__all__ = ["read_small_table", "write_small_table", "small_table", "table_problem"]

log = logging.getLogger(__name__)


def table_problem(path: Path, schema: pa.Schema) -> str | None:
    """Why ``path`` cannot be used as a table of ``schema`` (None when it can)."""
    try:
        found = pq.read_schema(path)
    except Exception as exc:  # broken footers surface as several pyarrow/OS error types
        return f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
    version = file_version(found)
    readable = readable_versions(schema)
    if version not in readable:
        return f"schema version {version or 'missing'} (this toolkit writes {schema_version(schema)})"
    missing = [n for n in schema.names if n not in found.names and n not in readable[version]]
    return f"missing columns {missing}" if missing else None


def read_small_table(path: Path, schema: pa.Schema, *, quarantine: Path | None = None) -> pd.DataFrame | None:
    """Read one table file; None when it does not exist or is unusable.

    Parameters
    ----------
    quarantine : Path, optional
        Move an unusable file here (only pass it while holding the cache lock).
    """
    if not path.is_file():
        return None
    problem = table_problem(path, schema)
    if problem is None:
        try:
            table = pq.read_table(path, schema=schema)
            return table.to_pandas(types_mapper=nullable_types)
        except Exception as exc:  # a file can pass the footer check and still be cut short
            problem = f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
    log.warning("cache file %s cannot be used: %s; its contents will be fetched again", path, problem)
    if quarantine is not None:
        quarantine.mkdir(parents=True, exist_ok=True)
        stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S")
        shutil.move(str(path), quarantine / f"{stamp}-{path.name}")
    return None


def small_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as an arrow table of ``schema`` with its schema version.

    A nullable column the frame lacks is written empty (so a writer that predates a column
    keeps working); a missing non-nullable column is a ``KeyError``.
    """
    absent = [f.name for f in schema if f.name not in frame.columns]
    required = [name for name in absent if not schema.field(name).nullable]
    if required:
        raise KeyError(f"the table needs the columns {required}")
    if absent:
        frame = frame.assign(**{name: pd.Series(None, index=frame.index, dtype=object) for name in absent})
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    return with_version(table, schema_version(schema))


def write_small_table(frame: pd.DataFrame, path: Path, schema: pa.Schema) -> None:
    """Write ``frame`` atomically with ``schema`` and its version (see :func:`small_table`)."""
    try:
        table = small_table(frame, schema)
    except KeyError as exc:
        raise KeyError(f"{path.name}: {exc.args[0]}") from None
    write_parquet_atomic(table, path)
