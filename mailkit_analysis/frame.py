"""The results frame: the one table shape every stage of the toolkit shares.

One row per recipient error reported by ``mailkit.sendmail_mass.results``; snake_case
columns with nullable dtypes. The column order and dtypes live here and nowhere else
(parsers, cache, analysis and reports all call into this module).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .codes import CATALOGUE, UNKNOWN
from .errors import MailkitResponseError
from .redaction import redact

__all__ = [
    "PRAGUE",
    "RESULT_COLUMNS",
    "RESULT_DTYPES",
    "WIRE_FIELDS",
    "empty_results_frame",
    "build_results_frame",
    "conform",
]

PRAGUE = ZoneInfo("Europe/Prague")

#: Column name -> pandas dtype, in frame order.
RESULT_DTYPES: dict[str, object] = {
    "request_id": "Int64",
    "id_send": "Int64",
    "id_send_message": "Int64",
    "id_email": "Int64",
    "email": "string",
    "error_code": "Int64",
    "error_name": "string",
    "info": "string",
    "date": pd.DatetimeTZDtype("us", "Europe/Prague"),
    "fetched_at": pd.DatetimeTZDtype("us", "UTC"),
    "campaign_id": "Int64",
    "campaign_name": "string",
}
RESULT_COLUMNS: list[str] = list(RESULT_DTYPES)

#: Mailkit field -> frame column, for the fields a result row carries on the wire.
WIRE_FIELDS: dict[str, str] = {
    "ID_SEND": "id_send",
    "ID_SEND_MESSAGE": "id_send_message",
    "ID_EMAIL": "id_email",
    "EMAIL": "email",
    "ERROR_CODE": "error_code",
    "INFO": "info",
    "DATE": "date",
}
# Mailkit writes 0 where no e-mail, send or message record was created: that is "absent".
_ZERO_MEANS_MISSING = ("ID_SEND", "ID_SEND_MESSAGE", "ID_EMAIL")
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_NO_DATE = {"", "0000-00-00 00:00:00", "0000-00-00"}


_EMPTY: pd.DataFrame | None = None


def empty_results_frame() -> pd.DataFrame:
    """Return a results frame with no rows and the full schema."""
    global _EMPTY
    if _EMPTY is None:  # building it costs milliseconds; most answers are empty
        _EMPTY = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in RESULT_DTYPES.items()})
    return _EMPTY.copy()


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the results columns, in order, with their dtypes.

    Missing columns are added as all-missing; extra columns are kept after the contract ones.
    """
    out = frame.copy()
    for column, dtype in RESULT_DTYPES.items():
        if column not in out:
            out[column] = pd.Series(pd.NA, index=out.index, dtype=dtype)
        elif str(out[column].dtype) != str(dtype):
            out[column] = out[column].astype(dtype)
    extra = [c for c in out.columns if c not in RESULT_DTYPES]
    return out[RESULT_COLUMNS + extra]


def _bad_value(field: str, row: int, value, reason: str) -> MailkitResponseError:
    shown = redact(repr(value))  # before cutting: a cut secret would escape redact()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return MailkitResponseError(f"results[{row}].{field} {reason}: {shown}")


def _int_column(values: Sequence, field: str, zero_is_missing: bool) -> pd.arrays.IntegerArray:
    """Integers as Mailkit sends them: ints, numeric strings, ``""``/None for absent."""
    n = len(values)
    if all(type(v) is int for v in values):
        try:
            data = np.fromiter(values, dtype=np.int64, count=n)
        except OverflowError:
            data = None
        if data is not None:
            mask = data == 0 if zero_is_missing else np.zeros(n, dtype=bool)
            return pd.arrays.IntegerArray(data, mask)
    data = np.zeros(n, dtype=np.int64)
    mask = np.zeros(n, dtype=bool)
    for i, value in enumerate(values):
        if value is None:
            mask[i] = True
            continue
        if isinstance(value, bool):
            raise _bad_value(field, i, value, "is a boolean, not a number")
        if isinstance(value, float):
            if not value.is_integer():
                raise _bad_value(field, i, value, "is not a whole number")
            value = int(value)
        elif isinstance(value, (str, bytes)):
            text = value.strip() if isinstance(value, str) else value.decode("utf-8", "replace").strip()
            if text == "":
                mask[i] = True
                continue
            try:
                value = int(text)
            except ValueError:
                raise _bad_value(field, i, value, "is not a whole number") from None
        elif not isinstance(value, int):
            raise _bad_value(field, i, value, "is not a number")
        if not -(2**63) <= value < 2**63:
            raise _bad_value(field, i, value, "is out of range")
        data[i] = value
    if zero_is_missing:
        mask |= data == 0
    return pd.arrays.IntegerArray(data, mask)


def _string_column(values: Sequence, field: str) -> pd.arrays.StringArray:
    if not all(type(v) is str for v in values):
        fixed = []
        for i, value in enumerate(values):
            if value is None or isinstance(value, str):
                fixed.append(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                fixed.append(str(value))  # e.g. an XML-RPC <int> where text was expected
            elif isinstance(value, bytes):
                fixed.append(value.decode("utf-8", "replace"))
            else:
                raise _bad_value(field, i, value, "is not text")
        values = fixed
    return pd.array(values, dtype="string")


def _date_column(values: Sequence, field: str) -> pd.Series:
    """``YYYY-MM-DD HH:MM:SS`` Prague wall time -> zone-aware datetimes (blank -> NaT)."""
    text = _string_column(values, field)
    series = pd.Series(text, dtype="string").str.strip()
    blank = series.isna() | series.isin(_NO_DATE)
    parsed = pd.to_datetime(series.where(~blank), format=_DATE_FORMAT, errors="coerce")
    bad = parsed.isna() & ~blank
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise _bad_value(field, row, values[row], "is not a date like 2015-05-13 09:43:50")
    # Wall time has no zone: in the autumn hour that happens twice we take the summer-time
    # reading, and a time skipped in spring is moved forward; both are rare and documented.
    local = parsed.astype("datetime64[us]").dt.tz_localize(
        PRAGUE, ambiguous=np.ones(len(parsed), dtype=bool), nonexistent="shift_forward"
    )
    return local


def build_results_frame(
    columns: Mapping[str, Sequence],
    *,
    request_id: int,
    fetched_at: dt.datetime | pd.Timestamp,
) -> pd.DataFrame:
    """Turn wire columns (Mailkit field name -> values) into a typed results frame.

    Parameters
    ----------
    columns : mapping
        ``{"ERROR_CODE": [...], "EMAIL": [...], ...}`` with equal lengths; a field that is
        absent from the mapping is missing in every row.
    request_id : int
        The request the rows belong to.
    fetched_at : datetime
        When the answer arrived (zone-aware; stored as UTC).

    Returns
    -------
    pandas.DataFrame
        The results frame (see :data:`RESULT_DTYPES`).

    Raises
    ------
    MailkitResponseError
        A value that cannot be what Mailkit documents (text in a number field, a bad date).
    """
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise MailkitResponseError("results rows have inconsistent fields")
    n = lengths.pop() if lengths else 0
    if n == 0:
        return empty_results_frame()
    blank = [None] * n
    codes = _int_column(columns.get("ERROR_CODE", blank), "ERROR_CODE", zero_is_missing=False)
    names = {code: entry.name for code, entry in CATALOGUE.items()}
    code_series = pd.Series(codes)
    error_names = code_series.map(names, na_action="ignore").fillna(UNKNOWN.name).astype("string")
    fetched = pd.Timestamp(fetched_at)
    fetched = fetched.tz_localize("UTC") if fetched.tzinfo is None else fetched.tz_convert("UTC")
    data = {
        "request_id": pd.array(np.full(n, int(request_id), dtype=np.int64), dtype="Int64"),
        "id_send": _int_column(columns.get("ID_SEND", blank), "ID_SEND", True),
        "id_send_message": _int_column(columns.get("ID_SEND_MESSAGE", blank), "ID_SEND_MESSAGE", True),
        "id_email": _int_column(columns.get("ID_EMAIL", blank), "ID_EMAIL", True),
        "email": _string_column(columns.get("EMAIL", blank), "EMAIL"),
        "error_code": codes,
        "error_name": error_names.array,
        "info": _string_column(columns.get("INFO", blank), "INFO"),
        "date": _date_column(columns.get("DATE", blank), "DATE").array,
        "fetched_at": pd.array(pd.DatetimeIndex([fetched] * n).as_unit("us")),
        "campaign_id": pd.array([pd.NA] * n, dtype="Int64"),
        "campaign_name": pd.array([pd.NA] * n, dtype="string"),
    }
    return conform(pd.DataFrame(data))


def rows_to_columns(rows: Iterable[Mapping], fields: Iterable[str] = WIRE_FIELDS) -> dict[str, list]:
    """Pivot a list of result structs into wire columns (missing members become None)."""
    fields = list(fields)
    out: dict[str, list] = {f: [] for f in fields}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise MailkitResponseError(f"results[{i}] is not a struct/object but {type(row).__name__}")
        for f in fields:
            out[f].append(row.get(f))
    return out
