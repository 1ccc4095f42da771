"""Writing files so that a reader never sees half of one: the toolkit's only file writer.

Every file (cache parquet, the account record, reports, CSV exports) is written under a
temporary name in the same folder, flushed to disk, then moved over the real name with
``os.replace``, which is atomic on POSIX and Windows. The temporary name is hidden and does
not end in ``.parquet`` (``.<name>.tmp-<pid>-<random>``), so ``pyarrow.dataset``, DuckDB and
Dask globs never pick it up. A process killed mid-write leaves at most a stray temporary file,
which :func:`remove_stale_temporaries` removes.

:func:`atomic_file` is the one place that does this (as pooch's ``temporary_file`` serves
every downloader); :func:`write_parquet_atomic`, :func:`write_bytes_atomic` and
:func:`write_text_atomic` are thin uses of it.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "TEMP_MARK",
    "SHARED_MODE",
    "atomic_file",
    "write_parquet_atomic",
    "write_bytes_atomic",
    "write_text_atomic",
    "synced_file",
    "replace_file",
    "write_parquet_synced",
    "write_bytes_synced",
    "remove_stale_temporaries",
]

TEMP_MARK = ".tmp-"
#: Permissions of files made to be read by others (reports, exports): ``rw-r--r--``.
SHARED_MODE = 0o644


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, mode: int | None = None) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for binary writing; on success it becomes ``path``.

    Parameters
    ----------
    path : path
        The file to (re)place. Its folder is created if missing.
    mode : int, optional
        Permission bits to give the file (e.g. :data:`SHARED_MODE`); default: what the
        process umask gives a new file.

    Yields
    ------
    file object
        A binary file open for writing. When the ``with`` block ends normally, the data is
        flushed and fsynced and the file moved over ``path``; when it raises, the temporary
        file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(path)
    try:
        with open(temp, "xb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_parquet_atomic(table: pa.Table, path: str | os.PathLike, *, compression: str = "zstd", **options) -> None:
    """Write an arrow ``table`` to ``path`` as parquet, atomically (see :func:`atomic_file`).

    ``options`` go to :func:`pyarrow.parquet.write_table` (e.g. ``row_group_size``).
    """
    with atomic_file(path) as handle:
        pq.write_table(table, handle, compression=compression, **options)


@contextlib.contextmanager
def synced_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open ``path`` itself for binary writing; flushed to disk when the block ends.

    Only for names no reader looks at: a file staged by a journalled change of the cache
    (:mod:`mailkit_analysis.cache.journal`), which the journal makes visible by renaming.
    """
    with open(path, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_parquet_synced(table: pa.Table, path: str | os.PathLike, *, compression: str = "zstd", **options) -> None:
    """Write ``table`` to ``path`` itself, flushed to disk (see :func:`synced_file`)."""
    with synced_file(path) as handle:
        pq.write_table(table, handle, compression=compression, **options)


def write_bytes_synced(data: bytes, path: str | os.PathLike) -> None:
    """Write ``data`` to ``path`` itself, flushed to disk (see :func:`synced_file`)."""
    with synced_file(path) as handle:
        handle.write(data)


def write_bytes_atomic(data: bytes, path: str | os.PathLike, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path (see :func:`atomic_file`)."""
    with atomic_file(path, mode=mode) as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(text: str, path: str | os.PathLike, *, mode: int | None = None, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically, line ends as they are; returns the path."""
    return write_bytes_atomic(text.encode(encoding), path, mode=mode)


def replace_file(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move the complete file ``source`` over ``target`` atomically (``os.replace``).

    For files written completely beforehand under a name no reader looks at: the staged
    files of a journalled cache change, a file set aside to be merged.
    """
    os.replace(source, target)


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


def remove_stale_temporaries(root: str | os.PathLike) -> int:
    """Delete temporary files left by killed writers under ``root``; returns how many.

    Call it only while holding the cache lock: then no live writer owns them.
    """
    removed = 0
    for temp in Path(root).rglob(f".*{TEMP_MARK}*"):
        if temp.is_file():
            temp.unlink(missing_ok=True)
            removed += 1
    return removed
