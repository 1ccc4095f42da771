"""Mailkit's XML-RPC transport: ``text/xml`` POSTed to ``rpc.fcgi``.

The decoder is a small streaming state machine over expat (the C parser in the standard
library). It accepts what Mailkit really sends: ``<int>``, ``<i4>`` and ``<i8>`` side by
side, tab-indented members, whitespace after the root element, untyped ``<value>`` text.
Document type declarations are refused outright, so entity tricks (billion laughs, external
entities) never run. Mailkit reports API errors by *returning a bare string*
(``Unauthorized``) rather than a fault; both are turned into typed errors here.
"""
from __future__ import annotations

import base64
import xmlrpc.client
from typing import Any, Sequence
from xml.parsers import expat

from ...errors import MailkitAuthError
from ...redaction import redact
from .common import api_error_for, looks_like_html, malformed

__all__ = ["encode_xmlrpc_call", "decode_xmlrpc_answer", "parse_xmlrpc_response"]

_INT_TAGS = frozenset({"int", "i4", "i8", "i1", "i2", "ex:i8", "ex:i4", "ex:i2", "ex:i1"})
_NIL_TAGS = frozenset({"nil", "ex:nil"})
_SCALAR_TAGS = _INT_TAGS | _NIL_TAGS | {"string", "boolean", "double", "ex:float", "dateTime.iso8601", "base64"}
_STRUCTURE_TAGS = frozenset({"methodResponse", "params", "param", "fault", "struct", "member", "name", "array", "data", "value"})
_MAX_DEPTH = 64  # deeper nesting than Mailkit ever sends is an attack or garbage


class _Malformed(Exception):
    """Internal: the document is well-formed XML but not a valid XML-RPC answer."""


def encode_xmlrpc_call(method: str, params: Sequence[Any]) -> bytes:
    """Encode a ``methodCall`` with positional ``params`` (UTF-8 bytes)."""
    return xmlrpc.client.dumps(tuple(params), methodname=method, encoding="utf-8", allow_none=False).encode("utf-8")


class _Decoder:
    """Expat callbacks that build the response value with an explicit stack."""

    def __init__(self):
        self.stack: list[list] = []  # frames: [tag, payload, ...]
        self.text: list[str] = []
        self.params: list[Any] = []
        self.fault: Any = None
        self.root: str | None = None

    # expat handlers -------------------------------------------------------------------
    def start(self, tag: str, attrs) -> None:
        if self.root is None:
            self.root = tag
            if tag != "methodResponse":
                raise _Malformed(f"the root element is <{tag}>, not <methodResponse>")
        if tag not in _STRUCTURE_TAGS and tag not in _SCALAR_TAGS:
            raise _Malformed(f"unexpected element <{tag}>")
        if len(self.stack) > _MAX_DEPTH:
            raise _Malformed("nesting is too deep")
        parent = self.stack[-1][0] if self.stack else None
        if tag in _SCALAR_TAGS or tag in ("struct", "array"):
            if parent != "value":
                raise _Malformed(f"<{tag}> outside a <value>")
            if self.stack[-1][2]:
                raise _Malformed("a <value> holds more than one typed element")
        if tag == "value":
            frame = ["value", None, False]  # tag, value, has typed child
        elif tag == "struct":
            frame = ["struct", {}, None]
        elif tag == "array":
            frame = ["array", [], None]
        elif tag == "member":
            frame = ["member", None, False, None]  # tag, value, has value, name
        else:
            frame = [tag, None, None]
        self.stack.append(frame)
        self.text = []

    def chars(self, data: str) -> None:
        self.text.append(data)

    def end(self, tag: str) -> None:
        frame = self.stack.pop()
        text = "".join(self.text)
        self.text = []
        if tag in _SCALAR_TAGS:
            self._set_value(self._scalar(tag, text))
        elif tag in ("struct", "array"):
            self._set_value(frame[1])
        elif tag == "value":
            value = frame[1] if frame[2] else text  # untyped <value> text is a string
            self._deliver(value)
        elif tag == "name":
            if not self.stack or self.stack[-1][0] != "member":
                raise _Malformed("<name> outside a <member>")
            self.stack[-1][3] = text
        elif tag == "member":
            if frame[3] is None or not frame[2]:
                raise _Malformed("a <member> without <name> or <value>")
            if not self.stack or self.stack[-1][0] != "struct":
                raise _Malformed("<member> outside a <struct>")
            self.stack[-1][1][frame[3]] = frame[1]

    # helpers --------------------------------------------------------------------------
    def _set_value(self, value: Any) -> None:
        holder = self.stack[-1]
        holder[1], holder[2] = value, True

    def _deliver(self, value: Any) -> None:
        parent = self.stack[-1][0] if self.stack else None
        if parent == "data":
            if len(self.stack) < 2 or self.stack[-2][0] != "array":
                raise _Malformed("<data> outside an <array>")
            self.stack[-2][1].append(value)  # data sits inside array
        elif parent == "member":
            self.stack[-1][1], self.stack[-1][2] = value, True
        elif parent == "param":
            self.params.append(value)
        elif parent == "fault":
            self.fault = value
        else:
            raise _Malformed(f"<value> inside <{parent}>")

    @staticmethod
    def _scalar(tag: str, text: str) -> Any:
        if tag in _INT_TAGS:
            try:
                return int(text.strip())
            except ValueError:
                raise _Malformed(f"<{tag}> holds {redact(text.strip())[:30]!r}, not a whole number") from None
        if tag == "string":
            return text
        if tag in _NIL_TAGS:
            return None
        if tag == "boolean":
            if text.strip() not in ("0", "1"):
                raise _Malformed(f"<boolean> holds {redact(text.strip())[:30]!r}")
            return text.strip() == "1"
        if tag in ("double", "ex:float"):
            try:
                return float(text.strip())
            except ValueError:
                raise _Malformed(f"<double> holds {redact(text.strip())[:30]!r}") from None
        if tag == "base64":
            try:
                return base64.b64decode(text.encode("ascii"), validate=False)
            except (ValueError, UnicodeEncodeError):
                raise _Malformed("<base64> is not base64") from None
        return text.strip()  # dateTime.iso8601: kept as text


def _refuse_dtd(*_args) -> None:
    raise _Malformed("document type declarations are not accepted")


def parse_xmlrpc_response(body: bytes) -> tuple[list[Any], Any]:
    """Parse a ``methodResponse`` into ``(params, fault)`` without judging their content.

    Raises
    ------
    ValueError
        With a description of what is wrong with the document.
    """
    decoder = _Decoder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = decoder.start
    parser.EndElementHandler = decoder.end
    parser.CharacterDataHandler = decoder.chars
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise ValueError(f"invalid or truncated XML ({expat.ErrorString(exc.code)} at line {exc.lineno}, column {exc.offset})") from None
    except _Malformed as exc:
        raise ValueError(f"not an XML-RPC answer: {exc}") from None
    except RecursionError:
        raise ValueError("not an XML-RPC answer: nesting is too deep") from None
    except (LookupError, ValueError) as exc:  # an encoding expat cannot use (unknown, multi-byte)
        raise ValueError(f"invalid XML ({str(exc)[:80]})") from None
    if decoder.root is None:
        raise ValueError("no XML element in the answer")
    return decoder.params, decoder.fault


def decode_xmlrpc_answer(body: bytes, **where) -> Any:
    """Decode an XML-RPC answer, raising typed errors for faults and bare error strings.

    Returns
    -------
    object
        The single returned value (a dict for a struct, a list for an array).

    Raises
    ------
    MailkitAuthError
        ``Unauthorized`` / ``Disallowed IP ...`` as a bare string result or a fault.
    MailkitAPIError
        Any other bare string result, or a fault.
    MailkitResponseError
        Not XML, truncated, an HTML page, or not a ``methodResponse`` with one value.
    """
    if not body or not body.strip():
        raise malformed("Empty answer where XML-RPC was expected", body or b"", **where)
    if looks_like_html(body):
        raise malformed("The answer is not XML-RPC", body, **where)
    try:
        params, fault = parse_xmlrpc_response(body)
    except ValueError as exc:
        raise malformed(f"The answer is not valid XML-RPC: {exc}", body, **where) from None
    if fault is not None:
        if isinstance(fault, dict) and "faultString" in fault:
            text = str(fault.get("faultString"))
            error = api_error_for(text, **where)
            if not isinstance(error, MailkitAuthError):
                error = api_error_for(f"fault {fault.get('faultCode')}: {text}", **where)
            raise error
        raise malformed("The answer is an XML-RPC fault without faultString", body, **where)
    if len(params) != 1:
        raise malformed(f"The answer holds {len(params)} values instead of one", body, **where)
    value = params[0]
    if isinstance(value, str):
        # Mailkit's XML-RPC side reports API errors as a plain string result.
        raise api_error_for(value, **where)
    return value
