"""The JSON transport (``POST /json.fcgi``): read a call, render its answer.

Mailkit answers every JSON call with HTTP 200; failures travel in the body as
``{"error_status": 1, "error": "..."}``. A results answer that *lists
recipient errors* also says ``"error_status": 1`` (next to ``"status": "ERROR"``),
which is data, not a failure: the simulator reproduces that on purpose.
"""

from __future__ import annotations

import json

from .api import CAMPAIGNS_LIST, RESULTS, STRING_NUMBERS, ApiError, Call, MailkitApi, UnknownFunction

CONTENT_TYPE = "application/json; charset=utf-8"

# Field order of the JSON example on Mailkit's page.
_ROW_ORDER = ("ID_SEND_MESSAGE", "ID_SEND", "ID_EMAIL", "DATE", "EMAIL", "ERROR_CODE", "INFO")


def parse_call(body: bytes) -> Call:
    """Read a JSON request body into a :class:`~.api.Call`.

    Parameters
    ----------
    body : bytes
        ``{"function": ..., "id": ..., "md5": ..., "parameters": {...}}``.

    Returns
    -------
    Call
        With ``malformed=True`` when the body is not such an object.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Call(malformed=True)
    if not isinstance(data, dict):
        return Call(malformed=True)
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        return Call(malformed=True)
    function = data.get("function")
    if function == CAMPAIGNS_LIST and "ID_message" in data and "ID_message" not in params:
        # One documented example (and the Keboola client) put it at the top level.
        params = {**params, "ID_message": data["ID_message"]}
    return Call(
        function=function if isinstance(function, str) else None,
        client_id=data.get("id"),
        client_md5=data.get("md5"),
        params=params,
    )


def _error(text: str) -> dict:
    return {"error_status": 1, "error": text}


def render_answer(api: MailkitApi, call: Call) -> bytes:
    """Execute a call and render Mailkit's JSON answer.

    Parameters
    ----------
    api : MailkitApi
        Executes the call.
    call : Call
        As returned by :func:`parse_call`.

    Returns
    -------
    bytes
        UTF-8 JSON (Czech text is sent as is, not ``\\u``-escaped).
    """
    if call.malformed:
        answer: object = _error("Invalid request")
    else:
        try:
            result = api.execute(call)
        except UnknownFunction:
            answer = _error("Unknown function")
        except ApiError as exc:
            answer = _error(exc.text)
        else:
            if call.function == RESULTS:
                answer = _results_answer(result)
            elif call.function in STRING_NUMBERS:
                answer = _quoted_numbers(result)
            else:
                answer = result
    return json.dumps(answer, ensure_ascii=False).encode("utf-8")


def _quoted_numbers(value: object) -> object:
    """Every number as a string, as the documented JSON examples of the report functions show."""
    if isinstance(value, list):
        return [_quoted_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _quoted_numbers(v) for k, v in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _results_answer(result: dict) -> dict:
    if "results" not in result:
        return {"error_status": 0, "status": result["status"]}
    rows = [{key: row[key] for key in _ROW_ORDER} for row in result["results"]]
    return {"error_status": 1, "status": result["status"], "results": rows}
