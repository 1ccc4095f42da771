"""The results frame: the one table shape every stage of the toolkit shares.

One row per recipient error reported by ``mailkit.sendmail_mass.results``; snake_case
columns with nullable dtypes. The column order and dtypes live here and nowhere else
(parsers, cache, analysis and reports all call into this module).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .codes import CATALOGUE, UNKNOWN
from .errors import MailkitResponseError
from .prague_time import PRAGUE_NAME, assume_prague, to_utc
from .masking import mask_addresses
from .redaction import redact

__all__ = [
    "RESULT_COLUMNS",
    "RESULT_DTYPES",
    "RESULTS_SCHEMA",
    "WIRE_FIELDS",
    "empty_results_frame",
    "build_results_frame",
    "build_results_table",
    "table_to_frame",
    "nullable_types",
    "conform",
]

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
    "date": pd.DatetimeTZDtype("us", PRAGUE_NAME),
    "fetched_at": pd.DatetimeTZDtype("us", "UTC"),
    "campaign_id": "Int64",
    "campaign_name": "string",
}
RESULT_COLUMNS: list[str] = list(RESULT_DTYPES)

#: The same columns as an arrow schema: what the parsers build and the cache stores.
RESULTS_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.int64(), nullable=False),
        pa.field("id_send", pa.int64()),
        pa.field("id_send_message", pa.int64()),
        pa.field("id_email", pa.int64()),
        pa.field("email", pa.string()),
        pa.field("error_code", pa.int64()),
        pa.field("error_name", pa.string()),
        pa.field("info", pa.string()),
        pa.field("date", pa.timestamp("us", tz=PRAGUE_NAME)),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
        pa.field("campaign_id", pa.int64()),
        pa.field("campaign_name", pa.string()),
    ]
)

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
    return _conformed(frame.copy())


def _conformed(out: pd.DataFrame) -> pd.DataFrame:
    """:func:`conform` of a frame nobody else holds: its columns are changed in place, not copied."""
    for column, dtype in RESULT_DTYPES.items():
        if column not in out:
            out[column] = pd.Series(pd.NA, index=out.index, dtype=dtype)
        elif str(out[column].dtype) != str(dtype):
            out[column] = out[column].astype(dtype)
    extra = [c for c in out.columns if c not in RESULT_DTYPES]
    return out[RESULT_COLUMNS + extra]


def _bad_value(field: str, row: int, value, reason: str) -> MailkitResponseError:
    # Redact and mask before cutting: a cut secret or address would escape both.
    shown = mask_addresses(redact(repr(value)))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return MailkitResponseError(f"results[{row}].{field} {reason}: {shown}")


def _coerce_int(value, field: str, row: int) -> int | None:
    """One value of an integer field as Mailkit may send it (int, numeric text, blank)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad_value(field, row, value, "is a boolean, not a number")
    if isinstance(value, float):
        if not value.is_integer():
            raise _bad_value(field, row, value, "is not a whole number")
        value = int(value)
    elif isinstance(value, (str, bytes)):
        text = value.strip() if isinstance(value, str) else value.decode("utf-8", "replace").strip()
        if text == "":
            return None
        try:
            value = int(text)
        except ValueError:
            raise _bad_value(field, row, value, "is not a whole number") from None
    elif not isinstance(value, int):
        raise _bad_value(field, row, value, "is not a number")
    if not -(2**63) <= value < 2**63:
        raise _bad_value(field, row, value, "is out of range")
    return value


def _int_array(values: Sequence, field: str, zero_is_missing: bool) -> pa.Array:
    """Integers as Mailkit sends them: ints, numeric strings, ``""``/None for absent."""
    if isinstance(values, pa.Array):  # typed by a columnar decoder already
        array = values.cast(pa.int64())
        return pc.if_else(pc.equal(array, 0), pa.scalar(None, pa.int64()), array) if zero_is_missing else array
    try:
        kinds = set(map(type, values))  # one C loop; a generator per value cost more than the parse
        if bool in kinds or float in kinds:
            # arrow takes True as 1 and truncates 2.5 to 2: let _coerce_int judge those
            raise TypeError
        # Fast path in C: the values are already ints (or None).
        array = pa.array(values, type=pa.int64(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        array = pa.array([_coerce_int(v, field, i) for i, v in enumerate(values)], type=pa.int64())
    if zero_is_missing:
        array = pc.if_else(pc.equal(array, 0), pa.scalar(None, pa.int64()), array)
    return array


def _string_array(values: Sequence, field: str) -> pa.Array:
    if isinstance(values, pa.Array):  # typed by a columnar decoder already
        return values.cast(pa.string())
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
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
    return pa.array(fixed, type=pa.string())


def _strict_dates(text: pa.Array, blank: pa.Array) -> pa.Array | None:
    """The naive timestamps of ``text`` (null where ``blank``) when every other value is
    exactly Mailkit's ``YYYY-MM-DD HH:MM:SS`` and a real moment; None otherwise (the
    general path decides and names the bad row).

    Mailkit writes every ``DATE`` this way, so this is the path a large answer takes. Arrow's
    ISO 8601 cast rejects impossible dates and times (``02-30``, ``24:00``) on its own,
    which the general path must find with a ``strftime`` round trip costing several times
    the parse; the shape check keeps the cast to exactly the one shape (the cast alone also
    takes ``T``, fractions and bare dates).
    """
    if not _mailkit_shaped(text):
        return None
    try:
        return text.cast(pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # a value of the right shape that is no moment: named by the general path


# Years from 1000: Python's strict parser, which the general path trusts, knows no year 0.
_STRICT_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
# The shape as the bytes each position may hold: from _LOWEST to _LOWEST + _SPAN (a digit,
# or exactly the separator; the year's first digit from 1), repeated for _BLOCK rows.
_SHAPE = b"0000-00-00 00:00:00"
_BLOCK = 4096
_LOWEST = np.tile(np.frombuffer(b"1" + _SHAPE[1:], dtype=np.uint8), _BLOCK)
_SPAN = np.tile(np.array([8] + [9 if c == ord("0") else 0 for c in _SHAPE[1:]], dtype=np.uint8), _BLOCK)


def _mailkit_shaped(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every non-null value of ``text`` matches :data:`_STRICT_DATE`.

    The same test as the regular expression, made on the bytes: when every value is 19
    bytes long, the values lie back to back in the array's data buffer, and each byte is
    checked against what its position may hold, a block of rows at a time (``byte -
    lowest`` wraps around below the lowest, so one comparison bounds both ends). The
    regular expression took about 15 ms per 100,000 dates, most of the date column's
    cost; this takes well under 1 ms. Anything but plain ``string`` values goes to the
    expression.
    """
    values = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    values = values.drop_null()
    n = len(values)
    if n == 0:
        return True
    if values.type != pa.string():
        shaped = pc.match_substring_regex(values, _STRICT_DATE)
        return bool(pc.all(pc.fill_null(shaped, False)).as_py())
    width = len(_SHAPE)
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=n + 1, offset=values.offset * 4)
    if offsets[-1] - offsets[0] != n * width or not (np.diff(offsets) == width).all():
        return False
    data = np.frombuffer(data_buffer, dtype=np.uint8, count=n * width, offset=int(offsets[0]))
    step = _BLOCK * width
    for start in range(0, len(data), step):
        block = data[start:start + step]
        if not (np.subtract(block, _LOWEST[:len(block)], dtype=np.uint8) <= _SPAN[:len(block)]).all():
            return False
    return True


def _date_array(values: Sequence, field: str) -> pa.Array:
    """``YYYY-MM-DD HH:MM:SS`` Prague wall time -> zone-aware timestamps (blank -> null)."""
    text = pc.utf8_trim_whitespace(_string_array(values, field))
    blank = pc.or_(pc.is_null(text), pc.fill_null(pc.is_in(text, value_set=_NO_DATE_ARRAY), False))  # absent DATE -> null
    text = pc.if_else(blank, pa.scalar(None, pa.string()), text)
    strict = _strict_dates(text, blank)
    if strict is not None:
        # Wall time has no zone: prague_time's one rule settles the autumn and spring hours.
        return assume_prague(strict)
    naive = pc.strptime(text, format=_DATE_FORMAT, unit="us", error_is_null=True)
    bad = pc.and_(pc.invert(blank), pc.is_null(naive))
    bad_rows = pc.indices_nonzero(bad).to_pylist()
    # strptime rolls impossible dates over (2015-02-30 -> 2015-03-02): a reading that does
    # not print back as its text is judged by Python's strict parser instead.
    printed = pc.strftime(naive.cast(pa.timestamp("s")), format=_DATE_FORMAT)
    for row in pc.indices_nonzero(pc.fill_null(pc.not_equal(printed, text), False)).to_pylist():
        try:
            dt.datetime.strptime(text[row].as_py(), _DATE_FORMAT)
        except ValueError:
            bad_rows.append(row)
    if bad_rows:
        row = min(bad_rows)
        value = values[row]
        value = value.as_py() if isinstance(value, pa.Scalar) else value  # the text, as either decoder names it
        raise _bad_value(field, row, value, "is not a date like 2015-05-13 09:43:50")
    # Wall time has no zone: prague_time's one rule settles the autumn and spring hours.
    return assume_prague(naive)


_NO_DATE_ARRAY = pa.array(sorted(_NO_DATE), type=pa.string())
_KNOWN_CODES = pa.array(sorted(CATALOGUE), type=pa.int64())
_KNOWN_NAMES = pa.array([CATALOGUE[c].name for c in sorted(CATALOGUE)], type=pa.string())


def build_results_table(
    columns: Mapping[str, Sequence],
    *,
    request_id: int,
    fetched_at: dt.datetime | pd.Timestamp,
) -> pa.Table:
    """Turn wire columns (Mailkit field name -> values) into a typed arrow table.

    The arrow table has the cache's schema (:data:`mailkit_analysis.cache.schema.RESULTS_SCHEMA`);
    :func:`table_to_frame` turns it into the results frame. Building columns in arrow keeps
    large answers fast: no per-row Python objects beyond the decoded values.

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
        return RESULTS_SCHEMA.empty_table()
    blank = [None] * n
    codes = _int_array(columns.get("ERROR_CODE", blank), "ERROR_CODE", zero_is_missing=False)
    names = pc.fill_null(pc.take(_KNOWN_NAMES, pc.index_in(codes, value_set=_KNOWN_CODES)), UNKNOWN.name)
    fetched = to_utc(fetched_at)
    arrays = [
        pa.repeat(pa.scalar(int(request_id), pa.int64()), n),
        _int_array(columns.get("ID_SEND", blank), "ID_SEND", True),
        _int_array(columns.get("ID_SEND_MESSAGE", blank), "ID_SEND_MESSAGE", True),
        _int_array(columns.get("ID_EMAIL", blank), "ID_EMAIL", True),
        _string_array(columns.get("EMAIL", blank), "EMAIL"),
        codes,
        names,
        _string_array(columns.get("INFO", blank), "INFO"),
        _date_array(columns.get("DATE", blank), "DATE"),
        pa.repeat(pa.scalar(fetched.to_pydatetime(), pa.timestamp("us", tz="UTC")), n),
        pa.nulls(n, pa.int64()),
        pa.nulls(n, pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=RESULTS_SCHEMA)


def nullable_types(arrow_type: pa.DataType):
    """Arrow -> pandas nullable dtypes, so a missing id stays <NA> and text stays ``string``."""
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    return None


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """An arrow table of results (cache schema) as the results frame."""
    if table.num_rows == 0:
        return empty_results_frame()
    # The frame is new (arrow's conversion allocates its own arrays): conform it without a copy.
    return _conformed(table.to_pandas(types_mapper=nullable_types))


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
    return table_to_frame(build_results_table(columns, request_id=request_id, fetched_at=fetched_at))


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
