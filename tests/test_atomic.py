"""The toolkit's one file writer: temporary file in the same folder, fsync, os.replace."""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mailkit_analysis
from mailkit_analysis.atomic import (
    SHARED_MODE,
    TEMP_MARK,
    atomic_file,
    remove_stale_temporaries,
    write_bytes_atomic,
    write_parquet_atomic,
    write_text_atomic,
)

PACKAGE = Path(mailkit_analysis.__file__).parent


def test_writers_replace_whole_files(tmp_path):
    target = tmp_path / "sub" / "r.txt"
    assert write_text_atomic("one\r\ntwo\n", target) == target
    assert target.read_bytes() == b"one\r\ntwo\n"
    write_bytes_atomic(b"\x00\x01", target)
    assert target.read_bytes() == b"\x00\x01"
    table = pa.table({"a": [1, 2, 3]})
    write_parquet_atomic(table, tmp_path / "t.parquet")
    assert pq.read_table(tmp_path / "t.parquet").equals(table)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["r.txt", "sub", "t.parquet"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "month.parquet"
    target.write_bytes(b"old")
    seen = []
    with pytest.raises(RuntimeError):
        with atomic_file(target) as handle:
            handle.write(b"half of it")
            seen.append(Path(handle.name))
            raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]
    temp = seen[0]
    # Hidden, same folder, and no dataset glob (*.parquet) can pick it up.
    assert temp.parent == tmp_path and temp.name.startswith(".") and not temp.name.endswith(".parquet")
    assert TEMP_MARK in temp.name


def test_shared_files_are_readable_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        shared = write_text_atomic("report", tmp_path / "r.html", mode=SHARED_MODE)
        private = write_text_atomic("x", tmp_path / "p.txt")
    finally:
        os.umask(old)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_stale_temporaries_are_removed(tmp_path):
    (tmp_path / "results").mkdir()
    stale = tmp_path / "results" / f".part-0.parquet{TEMP_MARK}123-abcd"
    stale.write_bytes(b"x")
    keep = tmp_path / "results" / "part-0.parquet"
    keep.write_bytes(b"y")
    assert remove_stale_temporaries(tmp_path) == 1
    assert not stale.exists() and keep.exists()


def test_no_other_module_writes_via_its_own_temporary_file():
    pattern = re.compile(r"\bos\.replace\(|\bmkstemp\(|NamedTemporaryFile\(|\.rename\(\s*[a-z_]*(temp|tmp)")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py") if path.name != "atomic.py" or path.parent != PACKAGE
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
