"""JSON result rows to wire columns without a Python-level loop per row and field.

``json.loads`` (C) already builds the row dicts; pivoting them one ``append`` at a time
costs as much again for a large answer. When every row is a plain dict, each field becomes
one ``map(itemgetter(field), rows)`` (a C loop); anything unusual returns None and the
caller uses the general pivot, which also raises the precise errors.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Any, Iterable

from .columns import WireColumns

__all__ = ["dict_rows_to_columns"]


def dict_rows_to_columns(rows: Any, fields: Iterable[str]) -> WireColumns | None:
    """Pivot a list of row dicts into :class:`WireColumns` (None when it is not one).

    Parameters
    ----------
    rows : object
        The decoded ``results`` value.
    fields : iterable of str
        The Mailkit fields to keep; a row without a field gives None there.

    Returns
    -------
    WireColumns or None
        None unless ``rows`` is a list of plain dicts (so the general code path decides
        what to do with anything else, errors included).
    """
    if type(rows) is not list:
        return None
    if rows and set(map(type, rows)) != {dict}:
        return None
    columns = {}
    for field in fields:
        try:
            columns[field] = list(map(itemgetter(field), rows))
        except KeyError:  # some row lacks the field: it is missing (None) there
            columns[field] = [row.get(field) for row in rows]
    return WireColumns(columns, len(rows))


# The result fields as Mailkit documents them on the JSON wire: ids and codes are numbers,
# the rest text. A value of any other kind makes arrow's reader fail, and the general path
# (json.loads) takes over and judges it.
_RESULT_FIELDS = {
    "ID_SEND": "int", "ID_SEND_MESSAGE": "int", "ID_EMAIL": "int", "ERROR_CODE": "int",
    "EMAIL": "str", "INFO": "str", "DATE": "str",
}


def arrow_results_columns(body: bytes) -> tuple[str, WireColumns] | None:
    """``(status, columns)`` of a plain JSON ``results`` answer read by arrow's JSON reader,
    or None for anything else (the caller then decodes it with ``json.loads``).

    ``json.loads`` builds a dict and seven objects per row, and pivoting them into columns
    costs about as much again; arrow's reader (C++) builds the typed columns directly, in
    less time than ``json.loads`` alone. It is strict: a value of another type, a key twice,
    invalid UTF-8 or JSON make it fail, and those bodies go the general way, which raises
    the errors users know. Bodies that may carry Mailkit's in-band ``error`` are left to the
    general path too (any ``"error"`` string in the body, conservatively).

    Returns
    -------
    tuple of (str, WireColumns) or None
        The raw ``status`` and the rows as arrow arrays, one per Mailkit field (null where a
        row lacks it).
    """
    if b'"error"' in body or not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return None
    import pyarrow as pa
    import pyarrow.json as pa_json

    types = {"int": pa.int64(), "str": pa.string()}
    row = pa.struct([(name, types[kind]) for name, kind in _RESULT_FIELDS.items()])
    schema = pa.schema([("status", pa.string()), ("results", pa.list_(row))])
    try:
        table = pa_json.read_json(
            pa.BufferReader(body),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(body) + 1),
            parse_options=pa_json.ParseOptions(explicit_schema=schema, newlines_in_values=True,
                                               unexpected_field_behavior="ignore"),
        )
    except Exception:  # noqa: BLE001 - any failure: the general path decides, with its own errors
        return None
    if table.num_rows != 1:
        return None  # several JSON values in one body: not an answer json.loads would read
    results = table.column("results")
    # One row, so one chunk: taken as it is (combine_chunks would copy every row once more).
    results = results.chunk(0) if results.num_chunks == 1 else results.combine_chunks()
    status = table.column("status")[0].as_py()
    if status is None or results.null_count:
        return None
    rows = results.flatten()
    if rows.null_count:
        return None  # a null among the rows: the general path names it
    columns = {name: rows.field(name) for name in _RESULT_FIELDS}
    return status, WireColumns(columns, len(rows))
