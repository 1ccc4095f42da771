"""Result rows held column by column, as the fast decoders hand them over.

A ``results`` array of 100,000 structs costs one Python dict per row when decoded value by
value. The columnar decoders (:mod:`.xmlrpc_columns`, :mod:`.json_columns`) skip that and
deliver ``{Mailkit field: [values...]}`` directly, which is what
:func:`mailkit_analysis.frame.build_results_table` consumes. :class:`WireColumns` carries
those lists in place of the decoded list, and still reads like one (a sequence of row dicts)
for code that looks at a decoded answer by hand.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Mapping

__all__ = ["WireColumns"]


class WireColumns(Sequence):
    """The rows of a ``results`` array as one list per Mailkit field.

    Parameters
    ----------
    columns : mapping of str to list
        Field name (``"ERROR_CODE"``, ``"EMAIL"``, ...) to its values, one per row, exactly
        as the generic decoder would have put them in the row structs (``int``, ``str`` or
        ``None`` for a field a row does not carry).
    rows : int
        Number of rows (every list has this length).

    Notes
    -----
    Indexing or iterating builds row dicts on demand (slow, for inspection only); the fast
    path reads :attr:`columns`.
    """

    __slots__ = ("columns", "rows")

    def __init__(self, columns: Mapping[str, list], rows: int):
        self.columns = dict(columns)
        self.rows = int(rows)
        if any(len(values) != self.rows for values in self.columns.values()):
            raise ValueError("every column must hold one value per row")

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.rows))]
        if index < 0:
            index += self.rows
        if not 0 <= index < self.rows:
            raise IndexError("row index out of range")
        return {field: values[index] for field, values in self.columns.items()}

    def __repr__(self) -> str:
        return f"WireColumns(rows={self.rows}, fields={list(self.columns)})"
