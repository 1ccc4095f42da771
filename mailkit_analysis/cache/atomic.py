"""Writing files so that a reader never sees half of one.

Every file is written under a temporary name in the same folder (hidden, and not ending in
``.parquet``, so ``pyarrow.dataset``, DuckDB and Dask globs never pick it up), flushed to
disk, then moved over the real name with ``os.replace``, which is atomic on POSIX and
Windows. A process killed mid-write leaves at most a stray temporary file, which the next
writer removes.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["write_parquet_atomic", "remove_stale_temporaries", "TEMP_MARK"]

TEMP_MARK = ".tmp-"


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def write_parquet_atomic(table: pa.Table, path: Path, *, compression: str = "zstd") -> None:
    """Write ``table`` to ``path`` via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(path)
    try:
        with open(temp, "wb") as handle:
            pq.write_table(table, handle, compression=compression)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(root: Path) -> int:
    """Delete temporary files left by killed writers under ``root``; returns how many.

    Call it only while holding the cache lock: then no live writer owns them.
    """
    removed = 0
    for temp in root.rglob(f".*{TEMP_MARK}*"):
        if temp.is_file():
            temp.unlink(missing_ok=True)
            removed += 1
    return removed
