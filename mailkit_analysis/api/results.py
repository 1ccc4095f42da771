"""From a decoded ``mailkit.sendmail_mass.results`` answer to the results frame.

Both transports decode to the same shape (a struct/object with ``status`` and, on
``ERROR``, ``results``), so one function turns either into the typed frame.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

import pandas as pd
import pyarrow as pa

from ..errors import MailkitResponseError
from ..frame import (
    RESULTS_SCHEMA,
    WIRE_FIELDS,
    build_results_table,
    rows_to_columns,
    table_to_frame,
)
from ..prague_time import to_utc
from .wire.columns import WireColumns
from .wire.json_columns import dict_rows_to_columns

__all__ = ["ResultsAnswer", "parse_results_answer", "STATUS_OK", "STATUS_ERROR"]

STATUS_OK = "OK"
STATUS_ERROR = "ERROR"


@dataclass(frozen=True)
class ResultsAnswer:
    """One answer of ``mailkit.sendmail_mass.results``.

    Attributes
    ----------
    request_id : int
        The request asked about.
    id_send : int or None
        The send it was narrowed to, if any.
    status : str
        ``"OK"`` (no errors *so far*) or ``"ERROR"``.
    table : pyarrow.Table
        The rows as arrow columns (the cache's schema); empty for ``OK``.
    fetched_at : pandas.Timestamp
        When the answer arrived (UTC).
    """

    request_id: int
    id_send: int | None
    status: str
    table: pa.Table
    fetched_at: pd.Timestamp

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The results frame (built on first use; the cache never needs it)."""
        return table_to_frame(self.table)

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def __repr__(self) -> str:
        return (
            f"ResultsAnswer(request_id={self.request_id}, id_send={self.id_send}, "
            f"status={self.status!r}, rows={self.rows}, fetched_at={self.fetched_at.isoformat()})"
        )


def parse_results_answer(
    answer: Any,
    *,
    request_id: int,
    id_send: int | None = None,
    fetched_at: dt.datetime | pd.Timestamp,
    **where,
) -> ResultsAnswer:
    """Validate a decoded answer and build its results frame.

    Parameters
    ----------
    answer : object
        What :func:`~mailkit_analysis.api.wire.decode_json_answer` or
        :func:`~mailkit_analysis.api.wire.decode_xmlrpc_answer` returned.
    request_id, id_send : int
        What was asked (the rows do not repeat the request id).
    fetched_at : datetime
        When the answer arrived.

    Raises
    ------
    MailkitResponseError
        The answer is not a struct with a known ``status`` and a list of result structs.
    """
    where.setdefault("request_id", request_id)
    if not isinstance(answer, Mapping):
        raise MailkitResponseError(
            f"Expected a struct with 'status', got {type(answer).__name__}", **where
        )
    status = answer.get("status")
    status = status.strip().upper() if isinstance(status, str) else status
    results = answer.get("results")
    if status not in (STATUS_OK, STATUS_ERROR):
        raise MailkitResponseError(f"Unexpected status {status!r} (expected 'OK' or 'ERROR')", **where)
    if status == STATUS_ERROR and results is None:
        raise MailkitResponseError("status 'ERROR' came without 'results'", **where)
    if results is None or results == "":
        results = []
    if not isinstance(results, (list, WireColumns)):
        raise MailkitResponseError(f"'results' is a {type(results).__name__}, not a list", **where)
    fetched = to_utc(fetched_at)
    if not results:
        table = RESULTS_SCHEMA.empty_table()
    else:
        try:
            table = build_results_table(_wire_columns(results), request_id=request_id, fetched_at=fetched)
        except MailkitResponseError as exc:
            raise MailkitResponseError(exc.message, **where) from None
    return ResultsAnswer(int(request_id), id_send, status, table, fetched)


def _wire_columns(results) -> dict:
    """Field -> values: handed over by a columnar decoder, pivoted in C for plain dict rows,
    or by the general pivot (which also names the row that is not a struct)."""
    if isinstance(results, WireColumns):
        return results.columns
    columns = dict_rows_to_columns(results, WIRE_FIELDS)
    return columns.columns if columns is not None else rows_to_columns(results)
