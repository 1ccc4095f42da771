"""The XML-RPC transport (``POST /rpc.fcgi``): read a call, render its answer.

Parameters are positional: ``client_id, client_md5`` and then the function's
own. API errors are *not* faults: the method returns a bare string such as
``Unauthorized``. Only a call the server cannot dispatch at all (unreadable
XML, unknown method) is answered with a real ``<fault>``.
"""

from __future__ import annotations

import xmlrpc.client

from .api import (
    CAMPAIGNS_LIST,
    REPORT,
    REPORT_CAMPAIGN,
    REPORT_MESSAGE,
    RESULTS,
    ApiError,
    Call,
    MailkitApi,
    UnknownFunction,
)

CONTENT_TYPE = "text/xml; charset=utf-8"

#: Standard XML-RPC fault codes (the "specification for fault code interoperability").
PARSE_ERROR = -32700
METHOD_NOT_FOUND = -32601

# Names of the positional parameters after client_id and client_md5.
_POSITIONAL = {
    RESULTS: ("ID_send", "request_id"),
    CAMPAIGNS_LIST: ("ID_message",),
    REPORT_CAMPAIGN: ("ID_message", "range_from", "range_to"),
    REPORT: ("range_from", "range_to"),
    REPORT_MESSAGE: ("ID_send",),
}

_I4_MIN, _I4_MAX = -(2**31), 2**31 - 1


class _MailkitMarshaller(xmlrpc.client.Marshaller):
    """Marshal ints the way Mailkit does: ``<i4>``, and ``<i8>`` only when needed.

    The standard marshaller writes ``<int>`` and refuses values beyond 32 bits.
    """

    dispatch = dict(xmlrpc.client.Marshaller.dispatch)

    def dump_int(self, value, write):  # noqa: D102 - signature fixed by Marshaller
        tag = "i4" if _I4_MIN <= value <= _I4_MAX else "i8"
        write(f"<value><{tag}>{int(value)}</{tag}></value>\n")

    dispatch[int] = dump_int


def dump_response(value: object) -> bytes:
    """Render a successful ``methodResponse`` holding one value.

    Parameters
    ----------
    value : object
        A struct, an array or a bare string (an API error).

    Returns
    -------
    bytes
        UTF-8 XML, ints as ``<i4>``/``<i8>``.
    """
    params = _MailkitMarshaller(encoding="utf-8").dumps((value,))
    text = '<?xml version="1.0" encoding="utf-8"?>\n<methodResponse>\n' + params + "</methodResponse>\n"
    return text.encode("utf-8")


def dump_fault(code: int, message: str) -> bytes:
    """Render an XML-RPC fault response.

    Parameters
    ----------
    code : int
        ``faultCode``.
    message : str
        ``faultString``.

    Returns
    -------
    bytes
        UTF-8 XML.
    """
    fault = xmlrpc.client.Fault(code, message)
    return xmlrpc.client.dumps(fault, methodresponse=True, encoding="utf-8").encode("utf-8")


def parse_call(body: bytes) -> Call:
    """Read an XML-RPC ``methodCall`` into a :class:`~.api.Call`.

    Parameters
    ----------
    body : bytes
        The request body.

    Returns
    -------
    Call
        With ``malformed=True`` when the XML cannot be read.
    """
    try:
        params, method = xmlrpc.client.loads(body)
    except Exception:  # expat, ResponseError, bad base64...: all mean "unreadable"
        return Call(malformed=True)
    if not isinstance(method, str):
        return Call(malformed=True)
    names = _POSITIONAL.get(method, ())
    return Call(
        function=method,
        client_id=params[0] if len(params) > 0 else None,
        client_md5=params[1] if len(params) > 1 else None,
        params=dict(zip(names, params[2:])),
    )


def render_answer(api: MailkitApi, call: Call) -> bytes:
    """Execute a call and render Mailkit's XML-RPC answer.

    Parameters
    ----------
    api : MailkitApi
        Executes the call.
    call : Call
        As returned by :func:`parse_call`.

    Returns
    -------
    bytes
        A ``methodResponse``: the result, a bare error string, or a fault.
    """
    if call.malformed:
        return dump_fault(PARSE_ERROR, "Parse error: not well formed")
    try:
        result = api.execute(call)
        if call.function == CAMPAIGNS_LIST:
            result = [_single_user_list(c) for c in result]
        return dump_response(result)
    except UnknownFunction:
        return dump_fault(METHOD_NOT_FOUND, "Unknown method")
    except ApiError as exc:
        return dump_response(exc.text)


def _single_user_list(campaign: dict) -> dict:
    """The XML example gives ``USER_LIST`` as a single int (the JSON one as an array)."""
    lists = campaign.get("USER_LIST")
    if isinstance(lists, list) and len(lists) == 1:
        return {**campaign, "USER_LIST": lists[0]}
    return campaign
