"""Mailkit's JSON transport: a raw JSON body POSTed to ``json.fcgi``.

Mailkit answers errors with HTTP 200 and ``{"error_status": 1, "error": "..."}``. A
successful answer that *reports recipient errors* also carries ``"error_status": 1``, next
to ``"status": "ERROR"`` and ``results``: that is data, and this module passes it through.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from ...config import Credentials
from .common import api_error_for, malformed

__all__ = ["encode_json_call", "decode_json_answer", "decode_json_results"]


def encode_json_call(function: str, credentials: Credentials, parameters: Mapping[str, Any] | None) -> bytes:
    """Encode one API call as the JSON body Mailkit expects.

    Parameters
    ----------
    function : str
        e.g. ``"mailkit.sendmail_mass.results"``.
    credentials : Credentials
        The API ID and MD5 code (the only place the MD5 is revealed).
    parameters : mapping or None
        The function's ``parameters`` object; None values are left out.
    """
    call: dict[str, Any] = {
        "function": function,
        "id": str(credentials.client_id),
        "md5": credentials.client_md5.reveal(),
    }
    if parameters:
        call["parameters"] = {k: v for k, v in parameters.items() if v is not None}
    return json.dumps(call, ensure_ascii=False).encode("utf-8")


def _is_error_envelope(answer: dict) -> bool:
    error = answer.get("error")
    return error not in (None, "", 0, "0", False)


def decode_json_answer(body: bytes, **where) -> Any:
    """Decode a JSON answer, raising typed errors for Mailkit's in-band errors.

    Returns
    -------
    object
        The decoded JSON value (a dict for ``sendmail_mass.results``, a list for lists).

    Raises
    ------
    MailkitAuthError
        ``Unauthorized`` or ``Disallowed IP ...``.
    MailkitAPIError
        Any other ``error`` text.
    MailkitResponseError
        Not JSON, truncated, an HTML page, or an error flag with no explanation.
    """
    if not body or not body.strip():
        raise malformed("Empty answer where JSON was expected", body or b"", **where)
    try:
        answer = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise malformed("The answer is not valid JSON (truncated or not JSON)", body, **where) from None
    if isinstance(answer, dict):
        if _is_error_envelope(answer):
            error = answer["error"]
            text = error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)[:200]
            raise api_error_for(text, **where)
        flag = str(answer.get("error_status", "0")).strip()
        if flag not in ("0", "", "False", "false") and "status" not in answer:
            raise malformed(f"error_status {flag} came without an error text or a status", body, **where)
    return answer


def decode_json_results(body: bytes, **where) -> Any:
    """:func:`decode_json_answer` for ``mailkit.sendmail_mass.results``: a plain answer is
    read column by column by arrow's JSON reader
    (:func:`~.json_columns.arrow_results_columns`), anything else exactly as
    :func:`decode_json_answer` reads it (same values, same errors).

    Returns
    -------
    object
        ``{"status": ..., "results": WireColumns}`` or what :func:`decode_json_answer` returns.
    """
    from .json_columns import arrow_results_columns

    read = arrow_results_columns(body) if body else None
    if read is None:
        return decode_json_answer(body, **where)
    status, columns = read
    return {"status": status, "results": columns}
