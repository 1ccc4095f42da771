"""The answers of the reporting functions next to ``sendmail_mass.results``, as typed frames.

``mailkit.campaigns.list``, ``mailkit.report``, ``mailkit.report.campaign`` and
``mailkit.report.message`` answer lists of records. Their documentation and what clients of
the real service accept differ from the tidy example, so every shape seen is read here, once,
for both wire formats:

* a list of records (the documented form);
* "nothing": an empty list, ``{}``, an empty body, ``{"data": ""}`` (or ``null`` / ``[]``
  under ``data``);
* one record: a single object instead of a list of one (also under ``data``);
* numbers as ints (``<i4>``, ``<int>``, ``<i8>`` in XML-RPC) or as strings (JSON), ``""`` and
  ``0`` counting as "not given" for ids; ``USER_LIST`` as an int or an array (not kept).

Anything else raises :class:`~mailkit_analysis.errors.MailkitResponseError` naming the
function, so a caller can stay best effort without misreading an answer.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from ..errors import MailkitResponseError

__all__ = [
    "CAMPAIGNS_LIST",
    "REPORT",
    "REPORT_CAMPAIGN",
    "REPORT_MESSAGE",
    "SEND_COLUMNS",
    "records",
    "campaigns_frame",
    "report_frame",
    "sends_frame",
]

CAMPAIGNS_LIST = "mailkit.campaigns.list"
REPORT = "mailkit.report"
REPORT_CAMPAIGN = "mailkit.report.campaign"
REPORT_MESSAGE = "mailkit.report.message"

#: Columns of :func:`sends_frame`, the rows the cache's sends table is made of.
SEND_COLUMNS = ("id_send", "campaign_id", "send_date", "send_count", "delivered_count", "failed_count")

_EMPTY_DATA = (None, "", [], {})
_INT64_MAX = 2**63 - 1


def records(answer: Any, function: str, **where) -> list[dict]:
    """The records of a list answer, whichever of the shapes above it came in.

    Parameters
    ----------
    answer : object
        The decoded answer (:func:`~.wire.decode_json_answer` / :func:`~.wire.decode_xmlrpc_answer`),
        or ``None`` for an empty body.
    function : str
        The function called, named in errors.

    Raises
    ------
    MailkitResponseError
        Not a list of records, nor any of the shapes above.
    """
    if answer is None:
        return []
    if isinstance(answer, Mapping):
        if not answer:
            return []
        if set(answer) == {"data"}:
            answer = answer["data"]
            if answer in _EMPTY_DATA:
                return []
        if isinstance(answer, Mapping):
            if any(isinstance(v, Mapping) for v in answer.values()):
                raise MailkitResponseError(f"{function} answered an object that is not a record", **where)
            return [dict(answer)]
    if not isinstance(answer, list):
        raise MailkitResponseError(
            f"{function} answered a {type(answer).__name__} where a list of records was expected", **where
        )
    bad = next((i for i, r in enumerate(answer) if not isinstance(r, Mapping)), None)
    if bad is not None:
        raise MailkitResponseError(
            f"{function} answered a list whose item {bad} is a {type(answer[bad]).__name__}, not a record", **where
        )
    return [dict(r) for r in answer]


def _number(record: Mapping, field: str, function: str, where: dict, *, required: bool = False, id_like: bool = False):
    """An int from an int or a numeric string; ``<NA>`` when missing or empty (and 0 for ids)."""
    value = record.get(field)
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        if required:
            raise MailkitResponseError(f"{function} answered a record without {field}", **where)
        return pd.NA
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise MailkitResponseError(f"{function} answered {field} as a {type(value).__name__}, not a number", **where)
    number = _whole(value)
    if number is None:
        raise MailkitResponseError(f"{function} answered {field}={str(value)[:40]!r}, not a number", **where)
    if number < 0:
        raise MailkitResponseError(f"{function} answered a negative {field} ({number})", **where)
    if number > _INT64_MAX:
        raise MailkitResponseError(f"{function} answered {field} beyond 64 bits", **where)
    if id_like and number == 0:
        if required:
            raise MailkitResponseError(f"{function} answered a record with {field} 0", **where)
        return pd.NA
    return number


def _whole(value: int | float | str) -> int | None:
    """The whole number ``value`` stands for ("12", 12, 12.0, "12.0"), else None."""
    if isinstance(value, int):
        return value
    try:
        return int(value) if isinstance(value, str) else None
    except ValueError:
        pass
    try:  # a whole number written by a float-minded server
        as_float = float(value)
    except ValueError:
        return None
    return int(as_float) if as_float.is_integer() else None


def _text(record: Mapping, field: str):
    value = record.get(field)
    if value is None:
        return pd.NA
    if isinstance(value, (dict, list)):
        return pd.NA
    return str(value)


def _user_list_ok(record: Mapping, function: str, where: dict) -> None:
    """``USER_LIST`` is an int (XML example) or an array of ints (JSON example): both are fine."""
    value = record.get("USER_LIST")
    if value is None or isinstance(value, (int, str)):
        return
    if isinstance(value, list) and all(isinstance(v, (int, str)) for v in value):
        return
    raise MailkitResponseError(f"{function} answered USER_LIST as a {type(value).__name__}", **where)


def campaigns_frame(answer: Any, **where) -> pd.DataFrame:
    """``mailkit.campaigns.list`` as ``campaign_id``, ``campaign_name`` (one row per campaign)."""
    rows = records(answer, CAMPAIGNS_LIST, **where)
    for r in rows:
        _user_list_ok(r, CAMPAIGNS_LIST, where)
    frame = pd.DataFrame(
        {
            "campaign_id": pd.array(
                [_number(r, "ID_MESSAGE", CAMPAIGNS_LIST, where, required=True, id_like=True) for r in rows], dtype="Int64"
            ),
            "campaign_name": pd.array([_text(r, "NAME") for r in rows], dtype="string"),
        }
    )
    return frame.drop_duplicates("campaign_id", keep="last").reset_index(drop=True)


def report_frame(answer: Any, **where) -> pd.DataFrame:
    """``mailkit.report`` (campaign totals over a range) as ``campaign_id``, ``campaign_name``,
    ``send_count``, ``delivered_count``."""
    rows = records(answer, REPORT, **where)
    return pd.DataFrame(
        {
            "campaign_id": pd.array(
                [_number(r, "ID_MESSAGE", REPORT, where, required=True, id_like=True) for r in rows], dtype="Int64"
            ),
            "campaign_name": pd.array([_text(r, "NAME") for r in rows], dtype="string"),
            "send_count": pd.array([_number(r, "SEND_COUNT", REPORT, where) for r in rows], dtype="Int64"),
            "delivered_count": pd.array([_number(r, "DELIVERED_COUNT", REPORT, where) for r in rows], dtype="Int64"),
        }
    )


def sends_frame(answer: Any, function: str, *, campaign_id: int | None = None, id_send: int | None = None,
                **where) -> pd.DataFrame:
    """The sends of a ``mailkit.report.campaign`` or ``mailkit.report.message`` answer.

    Parameters
    ----------
    answer : object
        The decoded answer.
    function : {REPORT_CAMPAIGN, REPORT_MESSAGE}
        Which function answered: ``report.campaign`` rows carry ``ID_SEND`` and ``DATE``
        but not the campaign (it was asked for); ``report.message`` describes the one send
        asked for, with ``SEND_DATE`` and ``FAILED_COUNT``.
    campaign_id, id_send : int, optional
        What was asked: filled into the rows that do not carry it.

    Returns
    -------
    DataFrame
        :data:`SEND_COLUMNS`, one row per send (``Int64`` counts, ``send_date`` as Mailkit's
        ``YYYY-MM-DD HH:MM:SS`` text).
    """
    rows = records(answer, function, **where)
    ids = [
        (_number(r, "ID_SEND", function, where, required=id_send is None, id_like=True) if "ID_SEND" in r or id_send is None else pd.NA)
        for r in rows
    ]
    if id_send is not None:
        ids = [id_send if pd.isna(i) else i for i in ids]
        if any(i != id_send for i in ids):
            raise MailkitResponseError(f"{function} answered about another send than {id_send}", **where)
    return pd.DataFrame(
        {
            "id_send": pd.array(ids, dtype="Int64"),
            "campaign_id": pd.array([campaign_id] * len(rows), dtype="Int64"),
            "send_date": pd.array([_text(r, "DATE") if "DATE" in r else _text(r, "SEND_DATE") for r in rows], dtype="string"),
            "send_count": pd.array([_number(r, "SEND_COUNT", function, where) for r in rows], dtype="Int64"),
            "delivered_count": pd.array([_number(r, "DELIVERED_COUNT", function, where) for r in rows], dtype="Int64"),
            "failed_count": pd.array([_number(r, "FAILED_COUNT", function, where) for r in rows], dtype="Int64"),
        },
        columns=list(SEND_COLUMNS),
    )
