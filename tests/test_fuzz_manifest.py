"""The manifest reader on hostile input: only ManifestError may come out."""
from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from mailkit_analysis.cache.manifest import ManifestError, read_manifest

VALID = (
    "request_id,id_send,campaign_id,sent_at,recipients\n"
    "700001,52001,41001,2026-11-01 10:00:00,120\n"
    "700002,,41002,2026-11-01T10:05:00+01:00,\n"
    "700003,52003,,,5\n"
).encode("utf-8")

tokens = st.sampled_from(
    ["request_id", "sent_at", "recipients", "id_send", "campaign_id", "700001", "-3", "0", "1e3", "12.5",
     "2026-11-01", "2026-13-45", "nan", "NaN", "", " ", '"', "\u00a0", "ž", "\x00", "9" * 40, ";", "\t"]
)


def _check(tmp_path, data: bytes, suffix: str = ".csv") -> None:
    path = tmp_path / f"m{suffix}"
    path.write_bytes(data)
    try:
        frame = read_manifest(path)
    except ManifestError as exc:
        assert str(path) in str(exc)
        return
    assert frame["request_id"].notna().all() and (frame["request_id"] > 0).all()
    assert frame["request_id"].is_unique


@given(st.binary(max_size=400))
def test_random_bytes(tmp_path_factory, data):
    _check(tmp_path_factory.mktemp("fz"), data)


@given(st.lists(st.lists(tokens, min_size=1, max_size=6), min_size=1, max_size=8))
def test_random_csv_grids(tmp_path_factory, grid):
    text = "\n".join(",".join(row) for row in grid)
    _check(tmp_path_factory.mktemp("fz"), text.encode("utf-8", "surrogatepass"))


@given(st.data())
def test_mutated_valid_manifest(tmp_path_factory, data):
    raw = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["flip", "cut", "dup", "insert"]))
        pos = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            raw = raw[:pos]
        elif kind == "dup":
            end = data.draw(st.integers(pos, len(raw)))
            raw[pos:pos] = raw[pos:end]
        else:
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    _check(tmp_path_factory.mktemp("fz"), bytes(raw))


@given(st.binary(max_size=300))
def test_random_bytes_as_parquet(tmp_path_factory, data):
    _check(tmp_path_factory.mktemp("fz"), b"PAR1" + data, suffix=".parquet")


def test_parquet_manifest_with_wrong_types(tmp_path):
    path = tmp_path / "m.parquet"
    pd.DataFrame({"request_id": [1.5, 2.0]}).to_parquet(path)
    try:
        read_manifest(path)
    except ManifestError as exc:
        assert "request_id" in str(exc) and "line 1" in str(exc)
    else:  # pragma: no cover - must not accept 1.5
        raise AssertionError("a fractional request_id was accepted")
