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
