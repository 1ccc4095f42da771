"""The request manifest: which ``sendmail_mass`` requests to follow.

A CSV or parquet file with a ``request_id`` column and, optionally, ``id_send``,
``campaign_id``, ``sent_at`` (ISO 8601; naive times are Prague local time) and
``recipients`` (how many recipients the request carried). Empty cells are allowed in the
optional columns. A bad file is refused with its name, line and column; nothing else runs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import MailkitError
from ..prague_time import to_prague, to_prague_times

__all__ = ["ManifestError", "MANIFEST_DTYPES", "read_manifest", "manifest_from_ids", "normalise_manifest"]

MANIFEST_DTYPES = {
    "request_id": "Int64",
    "id_send": "Int64",
    "campaign_id": "Int64",
    "sent_at": pd.DatetimeTZDtype("us", "UTC"),
    "recipients": "Int64",
}
_INT_COLUMNS = ("request_id", "id_send", "campaign_id", "recipients")


class ManifestError(MailkitError):
    """A manifest that cannot be used; the message names the file, line and column."""

    def __init__(self, message: str, *, source: str, line: int | None = None, column: str | None = None):
        self.source, self.line, self.column = source, line, column
        where = source + (f", line {line}" if line is not None else "") + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {message}")


def _fail(message, source, index, column, offset):
    line = None if index is None else int(index) + offset
    raise ManifestError(message, source=source, line=line, column=column)


def normalise_manifest(raw: pd.DataFrame, *, source: str = "manifest", line_offset: int = 2) -> pd.DataFrame:
    """Validate and type a manifest table.

    Parameters
    ----------
    raw : DataFrame
        Columns as read (text or numbers); unknown columns are ignored.
    source : str
        Name used in error messages (the file).
    line_offset : int
        Line number of the first data row (2 for CSV with a header; rows for parquet).

    Returns
    -------
    DataFrame
        One row per request id, columns of :data:`MANIFEST_DTYPES`.

    Raises
    ------
    ManifestError
        Missing ``request_id`` column, a non-integer or non-positive id, an unparseable
        date, a negative recipient count, or one request listed twice with different values.
    """
    columns = {str(c).strip().lower(): c for c in raw.columns}
    if "request_id" not in columns:
        raise ManifestError(
            f"missing the required column 'request_id' (found: {', '.join(map(str, raw.columns)) or 'none'})",
            source=source, line=1 if line_offset == 2 else None,
        )
    out = pd.DataFrame(index=raw.index)
    for name in _INT_COLUMNS:
        if name not in columns:
            out[name] = pd.array([pd.NA] * len(raw), dtype="Int64")
            continue
        values = raw[columns[name]]
        text = values.astype("string").str.strip()
        blank = text.isna() | (text == "")
        if name == "request_id" and blank.any():
            _fail("request_id is empty", source, np.flatnonzero(blank.to_numpy())[0], name, line_offset)
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        whole = numbers.notna() & (numbers == np.floor(numbers.fillna(0)))
        bad = ~blank & ~whole
        if bad.any():
            i = np.flatnonzero(bad.to_numpy())[0]
            _fail(f"{text.iloc[i]!r} is not a whole number", source, i, name, line_offset)
        ints = numbers.astype("Float64").astype("Int64")
        limit = 0 if name == "recipients" else 1
        small = ints.notna() & (ints < limit)
        if small.any():
            i = np.flatnonzero(small.to_numpy())[0]
            _fail(f"{text.iloc[i]} must be {'≥ 0' if limit == 0 else 'positive'}", source, i, name, line_offset)
        out[name] = ints.to_numpy()
        out[name] = out[name].astype("Int64")
    out["sent_at"] = _parse_sent_at(raw[columns["sent_at"]] if "sent_at" in columns else None, len(raw), source, line_offset).array
    out = out[list(MANIFEST_DTYPES)]
    return _merge_duplicates(out.reset_index(drop=True), source)


def _parse_sent_at(values, n: int, source: str, offset: int) -> pd.Series:
    if values is None:
        return pd.Series(pd.NaT, index=range(n), dtype=MANIFEST_DTYPES["sent_at"])
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(MANIFEST_DTYPES["sent_at"]).reset_index(drop=True)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        local = to_prague_times(values)
        return local.dt.tz_convert("UTC").astype(MANIFEST_DTYPES["sent_at"]).reset_index(drop=True)
    out = []
    for i, value in enumerate(values.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
            out.append(pd.NaT)
            continue
        try:
            stamp = pd.Timestamp(str(value).strip())
        except (ValueError, TypeError, OverflowError):
            _fail(f"{str(value)[:40]!r} is not an ISO 8601 date/time", source, i, "sent_at", offset)
        if pd.isna(stamp):
            _fail(f"{str(value)[:40]!r} is not an ISO 8601 date/time", source, i, "sent_at", offset)
        # naive times are Mailkit's own: Prague local time
        out.append(to_prague(stamp).tz_convert("UTC"))
    return pd.Series(pd.DatetimeIndex(out, tz="UTC") if out else [], dtype=MANIFEST_DTYPES["sent_at"])


def _merge_duplicates(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """One row per request: repeated rows must agree; their known values are combined."""
    if not frame["request_id"].duplicated().any():
        return frame
    merged = frame.groupby("request_id", sort=False, as_index=False).first()
    for column in ("id_send", "campaign_id", "sent_at", "recipients"):
        distinct = frame.dropna(subset=[column]).groupby("request_id")[column].nunique()
        clash = distinct[distinct > 1]
        if not clash.empty:
            raise ManifestError(
                f"request {clash.index[0]} is listed twice with different {column}", source=source, column=column
            )
    return merged.astype(MANIFEST_DTYPES)


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a manifest file (``.csv`` or ``.parquet``).

    Raises
    ------
    ManifestError
        The file is missing or unreadable, or a value is wrong (file, line, column named).
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ManifestError("no such file", source=source)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
            return normalise_manifest(raw, source=source, line_offset=1)
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    except ManifestError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ManifestError(f"cannot be read as {path.suffix.lstrip('.') or 'CSV'}: {str(exc)[:200]}", source=source) from None
    except Exception as exc:  # pyarrow raises its own types for a broken parquet file
        raise ManifestError(f"cannot be read: {type(exc).__name__}: {str(exc)[:200]}", source=source) from None
    return normalise_manifest(raw, source=source, line_offset=2)


def manifest_from_ids(request_ids: Iterable[int], id_send: int | None = None) -> pd.DataFrame:
    """A manifest for request ids given on the command line or in Python."""
    raw = pd.DataFrame({"request_id": [str(r) for r in request_ids]})
    if id_send is not None:
        raw["id_send"] = str(id_send)
    return normalise_manifest(raw, source="--request-id")
