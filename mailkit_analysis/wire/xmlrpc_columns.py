"""Large XML-RPC ``results`` answers decoded column by column.

The generic decoder (:mod:`.xmlrpc_codec`) calls a Python handler for every element: about
60 per result row, plus one dict per row. For a 100,000-row answer that is most of the
cost. This module splits the document in two:

* the *envelope* (everything except the rows inside ``results``/``array``/``data``) is
  small and goes through the generic decoder unchanged, so faults, bare error strings,
  ``status``, DTD refusal and every other check behave exactly as before;
* the *rows* are matched by one compiled regular expression per row shape (learnt from the
  first row: member names and value tags), with :meth:`re.Pattern.findall` returning one
  tuple of captured texts per row in C, transposed to one list per field.

Strictness comes from the grammar, not from trust: the rows must be a sequence of
``<value><struct><member><name>…</name><value>scalar</value></member>…</struct></value>``
with only whitespace between tags, every value an ``<i4>``/``<int>``/``<i8>``/``<string>``/
``<nil/>`` or untyped text, and the text must be well-formed XML character data (valid
UTF-8, no control characters, no ``]]>``, only the five predefined entities and valid
character references). Anything else (comments, CDATA, attributes, nested arrays, other
encodings, a member order that changes between rows, text that is not a number inside an
int tag) makes the fast path step aside and the whole document is decoded generically, so
correctness never depends on it and malformed input raises the same typed errors as before.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..errors import MailkitError
from .columns import WireColumns
from .xmlrpc_codec import decode_xmlrpc_answer

__all__ = ["decode_xmlrpc_results", "FAST_MIN_BYTES"]

#: Smaller answers go straight to the generic decoder: splitting them would gain nothing.
FAST_MIN_BYTES = 32 * 1024

_MARKER = b"<name>results</name>"
_ARRAY_OPEN = re.compile(rb"[ \t\r\n]*<value>[ \t\r\n]*<array>[ \t\r\n]*<data>")
_DECLARATION = re.compile(rb"<\?xml[ \t\r\n][^<>]*\?>")
_ENCODING = re.compile(rb"encoding[ \t\r\n]*=[ \t\r\n]*([\"'])([A-Za-z0-9._-]*)\1")
_BOM = b"\xef\xbb\xbf"
# C0 controls other than tab, newline and carriage return are not XML characters. In UTF-8
# they only ever occur as themselves, so a byte-level check finds every one.
_CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D}
_ALLOWED_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_NOT_XML = (b"]]>", "\ufffe".encode(), "\uffff".encode())

_INT_TAGS = frozenset({"i4", "int", "i8"})
_OPEN_KINDS = _INT_TAGS | {"string", "untyped"}
_WS = r"[ \t\n]*"  # after end-of-line normalisation there is no \r left
_NAME = r"[^<&]*"  # member names with entity references are left to the generic decoder
_TAGS = "i4|int|i8|string|nil"
_ROW_OPEN = re.compile(rf"{_WS}<value>{_WS}<struct>{_WS}")
_ROW_CLOSE = re.compile(rf"</struct>{_WS}</value>")
_ANY_MEMBER = re.compile(
    rf"<member>{_WS}<name>(?P<name>{_NAME})</name>{_WS}<value>"
    rf"(?:{_WS}<(?P<tag>{_TAGS})(?:>(?P<text>[^<]*)</(?P=tag)>|/>){_WS}|(?P<untyped>[^<]*))"
    rf"</value>{_WS}</member>{_WS}"
)
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _NotPlain(Exception):
    """Internal: the fast path cannot vouch for this document; decode it generically."""


def decode_xmlrpc_results(body: bytes, *, min_bytes: int = FAST_MIN_BYTES, **where) -> Any:
    """Decode a ``mailkit.sendmail_mass.results`` XML-RPC answer, rows as columns.

    Same contract as :func:`~mailkit_analysis.wire.decode_xmlrpc_answer` (same return
    value, same errors), except that a large ``results`` array comes back as
    :class:`~mailkit_analysis.wire.columns.WireColumns` instead of a list of dicts.

    Parameters
    ----------
    body : bytes
        The HTTP response body.
    min_bytes : int
        Bodies shorter than this skip the columnar scanner (it pays off on large answers).
    **where
        ``request_id``, ``url``: context for error messages.

    Returns
    -------
    object
        The decoded answer; a dict with ``status`` and ``results`` for this method.

    Raises
    ------
    MailkitAuthError, MailkitAPIError, MailkitResponseError
        As :func:`~mailkit_analysis.wire.decode_xmlrpc_answer`.
    """
    if type(body) is bytes and len(body) >= min_bytes:
        try:
            answer = _decode_columnar(body, where)
        except (_NotPlain, ValueError, RecursionError):
            answer = None
        if answer is not None:
            return answer
    return decode_xmlrpc_answer(body, **where)


def _decode_columnar(body: bytes, where: dict) -> dict | None:
    at = body.find(_MARKER)
    if at < 0 or body.find(_MARKER, at + 1) >= 0:
        return None  # no results, or a name we cannot place without the generic decoder
    opened = _ARRAY_OPEN.match(body, at + len(_MARKER))
    if opened is None:
        return None
    start = opened.end()
    end = body.find(b"</data>", start)
    if end < 0:
        return None
    # If the rows held a nested array, this </data> would close it rather than the results
    # array: the envelope would then close more elements than it opened and fail below.
    envelope = body[:start] + body[end:]
    if not _plain_envelope(envelope):
        return None
    try:
        answer = decode_xmlrpc_answer(envelope, **where)
    except MailkitError:
        return None  # decoded again whole, so the error quotes the real body
    if type(answer) is not dict or type(answer.get("results")) is not list or answer["results"]:
        return None  # the array we cut out was not the top-level ``results``
    answer["results"] = _scan_rows(_row_text(body[start:end]))
    return answer


def _plain_envelope(envelope: bytes) -> bool:
    """UTF-8, no DTD/comment/CDATA/processing instruction, no entity references.

    Entity references could spell ``results`` in a member name the marker search missed.
    """
    head = envelope[len(_BOM):] if envelope.startswith(_BOM) else envelope
    declarations = 0
    if head.startswith(b"<?xml"):
        declaration = _DECLARATION.match(head)
        if declaration is None:
            return False
        encoding = _ENCODING.search(declaration.group(0))
        if encoding is not None and encoding.group(2).lower() != b"utf-8":
            return False
        declarations = 1
    return envelope.count(b"<?") == declarations and b"<!" not in envelope and b"&" not in envelope


def _row_text(raw: bytes) -> str:
    """The rows as text, checked to be XML character data, line ends normalised as XML does."""
    if raw.translate(None, _ALLOWED_BYTES) or any(bad in raw for bad in _NOT_XML):
        raise _NotPlain
    text = raw.decode("utf-8")  # strict: invalid UTF-8 and encoded surrogates raise ValueError
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _scan_rows(text: str) -> WireColumns:
    end = len(text.rstrip(" \t\n"))
    if end == 0:
        return WireColumns({}, 0)
    template = _first_row(text)
    names = tuple(name for name, _ in template)
    if not names or len(set(names)) != len(names):
        raise _NotPlain  # no members, or a repeated one (the generic decoder keeps the last)
    if all(kind in _OPEN_KINDS for _, kind in template):
        rows = _exact_pattern(template).findall(text, 0, end)
        if rows and not rows[-1][-1]:
            return _exact_columns(template, rows, unescape="&" in text)
    rows = _general_pattern(names).findall(text, 0, end)
    if not rows or rows[-1][-1]:
        raise _NotPlain  # something between or inside rows the grammar does not allow
    return _general_columns(names, rows, unescape="&" in text)


def _first_row(text: str) -> tuple[tuple[str, str], ...]:
    """Member names and value kinds of the first row: the shape the others should share."""
    opened = _ROW_OPEN.match(text)
    if opened is None:
        raise _NotPlain
    pos, members = opened.end(), []
    while (member := _ANY_MEMBER.match(text, pos)) is not None:
        tag, inner = member.group("tag", "text")
        kind = "untyped" if tag is None else (tag if inner is not None else tag + "/")
        members.append((member.group("name"), kind))
        pos = member.end()
    if _ROW_CLOSE.match(text, pos) is None:
        raise _NotPlain
    return tuple(members)


def _row_pattern(members: list[str]) -> re.Pattern:
    # The catch-all branch swallows the rest of the text at the first spot that is not a
    # row, so a mismatch costs one extra tuple, not one per remaining character.
    row = rf"{_WS}<value>{_WS}<struct>{_WS}{''.join(members)}</struct>{_WS}</value>"
    return re.compile(rf"{row}|([\s\S]+)")


@lru_cache(maxsize=64)
def _exact_pattern(template: tuple[tuple[str, str], ...]) -> re.Pattern:
    """One group per member: its text, with the tag fixed to the first row's."""
    members = []
    for name, kind in template:
        head = rf"<member>{_WS}<name>{re.escape(name)}</name>{_WS}<value>"
        if kind == "untyped":
            value = r"([^<]*)"
        else:
            value = rf"{_WS}<{kind}>([^<]*)</{kind}>{_WS}"
        members.append(rf"{head}{value}</value>{_WS}</member>{_WS}")
    return _row_pattern(members)


@lru_cache(maxsize=64)
def _general_pattern(names: tuple[str, ...]) -> re.Pattern:
    """Three groups per member: tag, text inside the tag, untyped text."""
    members = []
    for k, name in enumerate(names):
        members.append(
            rf"<member>{_WS}<name>{re.escape(name)}</name>{_WS}<value>"
            rf"(?:{_WS}<(?P<t{k}>{_TAGS})(?:>(?P<x{k}>[^<]*)</(?P=t{k})>|/>){_WS}|(?P<u{k}>[^<]*))"
            rf"</value>{_WS}</member>{_WS}"
        )
    return _row_pattern(members)


def _ints(texts) -> list[int]:
    # Exactly the generic decoder's int(text.strip()); a ValueError sends the document there.
    return list(map(int, map(str.strip, texts)))


def _exact_columns(template, rows: list[tuple], unescape: bool) -> WireColumns:
    columns = {}
    for (name, kind), texts in zip(template, zip(*rows)):
        if kind in _INT_TAGS:
            columns[name] = _ints(texts)
        else:
            columns[name] = _unescaped(texts) if unescape else list(texts)
    return WireColumns(columns, len(rows))


def _general_columns(names, rows: list[tuple], unescape: bool) -> WireColumns:
    columns = {}
    transposed = list(zip(*rows))
    for k, name in enumerate(names):
        tags, texts, untyped = transposed[3 * k : 3 * k + 3]
        kinds = set(tags)
        if kinds <= _INT_TAGS:
            values = _ints(texts)
        elif kinds == {"string"}:
            values = list(texts)
        elif kinds == {""}:
            values = list(untyped)
        elif kinds == {"nil"}:
            values = [None] * len(rows)
        else:
            values = [_cell(t, x, u) for t, x, u in zip(tags, texts, untyped)]
        columns[name] = _unescaped(values) if unescape else values
    return WireColumns(columns, len(rows))


def _cell(tag: str, text: str, untyped: str):
    if tag in _INT_TAGS:
        return int(text.strip())
    if tag == "string":
        return text
    if tag == "nil":
        return None
    return untyped


def _unescaped(values) -> list:
    return [_unescape(v) if type(v) is str and "&" in v else v for v in values]


def _unescape(text: str) -> str:
    """Expand the references XML allows in character data; anything else is not plain."""
    if text.count("&") != len(_ENTITY.findall(text)):
        raise _NotPlain  # a bare '&' or an undefined entity: malformed, let expat say so
    return _ENTITY.sub(_expand, text)


def _expand(match: re.Match) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF):
        raise _NotPlain  # a reference to a character XML does not allow
    return chr(code)
