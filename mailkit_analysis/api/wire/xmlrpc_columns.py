"""Large XML-RPC ``results`` answers decoded column by column.

The generic decoder (:mod:`.xmlrpc_codec`) calls a Python handler for every element: about
60 per result row, plus one dict per row. For a 100,000-row answer that is most of the
cost. This module splits the document in two:

* the *envelope* (everything except the rows inside ``results``/``array``/``data``) is
  small and goes through the generic decoder unchanged, so faults, bare error strings,
  ``status``, DTD refusal and every other check behave exactly as before;
* the *rows* are matched, as bytes, by one compiled regular expression per row shape
  learnt from the first row (member names, value tags and, when the serializer is
  consistent, its exact whitespace); :meth:`re.Pattern.findall` returns one tuple of
  captured texts per row in C, which is transposed to one list per field. Numbers become
  ``int`` through ``map(int, ...)``, texts are decoded once per distinct value.

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

import gc
import re
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from ...errors import MailkitError
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
_NOT_CHARACTERS = re.compile(rb"\]\]>|\xef\xbf[\xbe\xbf]")  # "]]>", U+FFFE, U+FFFF

_INT_TAGS = frozenset({b"i4", b"int", b"i8"})
_OPEN_KINDS = _INT_TAGS | {b"string", b"untyped"}
_WS = rb"[ \t\n]*"  # after end-of-line normalisation there is no \r left
_TAGS = rb"i4|int|i8|string|nil"
_ROW_OPEN = re.compile(_WS + rb"<value>" + _WS + rb"<struct>" + _WS)
_ROW_CLOSE = re.compile(rb"</struct>" + _WS + rb"</value>")
_ANY_MEMBER = re.compile(
    rb"<member>" + _WS + rb"<name>(?P<name>[^<&]*)</name>" + _WS + rb"<value>"
    rb"(?:" + _WS + rb"<(?P<tag>" + _TAGS + rb")(?:>(?P<text>[^<]*)</(?P=tag)>|/>)" + _WS
    + rb"|(?P<untyped>[^<]*))</value>" + _WS + rb"</member>" + _WS
)
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _NotPlain(Exception):
    """Internal: the fast path cannot vouch for this document; decode it generically."""


def decode_xmlrpc_results(body: bytes, *, min_bytes: int = FAST_MIN_BYTES, **where) -> Any:
    """Decode a ``mailkit.sendmail_mass.results`` XML-RPC answer, rows as columns.

    Same contract as :func:`~mailkit_analysis.api.wire.decode_xmlrpc_answer` (same return
    value, same errors), except that the ``results`` array of a large answer comes back as
    :class:`~mailkit_analysis.api.wire.columns.WireColumns` instead of a list of dicts.

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
        As :func:`~mailkit_analysis.api.wire.decode_xmlrpc_answer`.
    """
    if type(body) is bytes and len(body) >= min_bytes:
        try:
            answer = _decode_columnar(body, where)
        except (_NotPlain, ValueError, RecursionError):  # ValueError: bad UTF-8, not an int
            answer = None
        if answer is not None:
            return answer
    return decode_xmlrpc_answer(body, **where)


def _decode_columnar(body: bytes, where: dict) -> dict | None:
    at = body.find(_MARKER)
    if at < 0:
        return None
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
    if envelope.count(_MARKER) != 1 or not _plain_envelope(envelope):
        return None  # a second ``results`` member: the generic decoder decides which counts
    try:
        answer = decode_xmlrpc_answer(envelope, **where)
    except MailkitError:
        return None  # decoded again whole, so the error quotes the real body
    if type(answer) is not dict or type(answer.get("results")) is not list or answer["results"]:
        return None  # the array we cut out was not the top-level ``results``
    with _collector_paused():
        answer["results"] = _scan_rows(*_checked_rows(body, start, end))
    return answer


@contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector while the row tuples are built.

    ``findall`` and the transposition create a few hundred thousand short-lived tuples,
    which would otherwise set off collections that walk every object in the process
    (measured: a third of the CPU time of a 100,000-row answer). Nothing built here forms
    reference cycles. Concurrent callers at worst leave it enabled early, never disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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


def _checked_rows(body: bytes, start: int, end: int) -> tuple[bytes, int, int]:
    """The rows' bytes (and bounds), checked to hold only XML characters, with line ends
    normalised as XML does.

    The checks run over the whole body (the envelope holds the same characters, so nothing
    valid is refused) to avoid copying the rows. Everything the row patterns match outside
    texts and names is ASCII, and texts and names are decoded strictly, so invalid UTF-8
    cannot slip through either.
    """
    if body.translate(None, _ALLOWED_BYTES):
        raise _NotPlain
    if (b"]" in body or b"\xef" in body) and _NOT_CHARACTERS.search(body):  # memchr first: rare bytes
        raise _NotPlain
    if body.find(b"\r", start, end) >= 0:
        rows = body[start:end].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return rows, 0, len(rows)
    return body, start, end


def _scan_rows(data: bytes, start: int, end: int) -> WireColumns:
    while end > start and data[end - 1] in b" \t\n":  # whitespace before </data>
        end -= 1
    if end == start:
        return WireColumns({}, 0)
    template, literal = _first_row(data, start)
    names = tuple(name for name, _ in template)
    if not names or len(set(names)) != len(names):
        raise _NotPlain  # no members, or a repeated one (the generic decoder keeps the last)
    unescape = data.find(b"&", start, end) >= 0
    if literal is not None:
        # Cheapest first: every row laid out like the first, then any whitespace, then
        # any value tag per member. Each failed attempt stops at its first odd row.
        for pattern in (_literal_pattern(literal), _exact_pattern(template)):
            rows = pattern.findall(data, start, end)
            if rows and not rows[-1][-1]:
                return _exact_columns(template, rows, unescape)
    rows = _general_pattern(names).findall(data, start, end)
    if not rows or rows[-1][-1]:
        raise _NotPlain  # something between or inside rows the grammar does not allow
    return _general_columns(template, rows, unescape)


def _first_row(data: bytes, start: int):
    """The first row's shape: ``((name, kind), ...)`` and its literal layout (or None).

    The layout is the row's bytes with each value text cut out, for rows that are all
    typed ``<i4>``/``<int>``/``<i8>``/``<string>`` or untyped values.
    """
    opened = _ROW_OPEN.match(data, start)
    if opened is None:
        raise _NotPlain
    pos, members, cuts = opened.end(), [], []
    while (member := _ANY_MEMBER.match(data, pos)) is not None:
        tag, inner = member.group("tag", "text")
        kind = b"untyped" if tag is None else (tag if inner is not None else tag + b"/")
        members.append((member.group("name").decode("utf-8"), kind))
        cuts.append(member.span("untyped" if tag is None else "text"))
        pos = member.end()
    closed = _ROW_CLOSE.match(data, pos)
    if closed is None:
        raise _NotPlain
    template = tuple(members)
    if not all(kind in _OPEN_KINDS for _, kind in template):
        return template, None
    pieces, last = [], data.find(b"<value>", start)
    for begin, finish in cuts:
        pieces.append(data[last:begin])
        last = finish
    pieces.append(data[last : closed.end()])
    return template, tuple(pieces)


def _row_pattern(row: bytes) -> re.Pattern:
    # The catch-all branch swallows the rest at the first spot that is not a row, so a
    # mismatch costs one extra tuple, not one per remaining byte.
    return re.compile(_WS + row + rb"|([\s\S]+)")


@lru_cache(maxsize=64)
def _literal_pattern(pieces: tuple[bytes, ...]) -> re.Pattern:
    """One group per member, everything else byte for byte as in the first row."""
    return _row_pattern(rb"([^<]*)".join(re.escape(piece) for piece in pieces))


@lru_cache(maxsize=64)
def _exact_pattern(template: tuple[tuple[str, bytes], ...]) -> re.Pattern:
    """One group per member, any whitespace, the value tags of the first row."""
    members = []
    for name, kind in template:
        head = rb"<member>" + _WS + rb"<name>" + re.escape(name.encode("utf-8")) + rb"</name>" + _WS + rb"<value>"
        if kind == b"untyped":
            value = rb"([^<]*)"
        else:
            value = _WS + rb"<" + kind + rb">([^<]*)</" + kind + rb">" + _WS
        members.append(head + value + rb"</value>" + _WS + rb"</member>" + _WS)
    return _row_pattern(_WS + rb"<value>" + _WS + rb"<struct>" + _WS + b"".join(members) + rb"</struct>" + _WS + rb"</value>")


@lru_cache(maxsize=64)
def _general_pattern(names: tuple[str, ...]) -> re.Pattern:
    """Three groups per member: tag, text inside the tag, untyped text."""
    members = []
    for k, name in enumerate(names):
        t, x, u = (f"{g}{k}".encode() for g in "txu")
        members.append(
            rb"<member>" + _WS + rb"<name>" + re.escape(name.encode("utf-8")) + rb"</name>" + _WS + rb"<value>"
            rb"(?:" + _WS + rb"<(?P<" + t + rb">" + _TAGS + rb")(?:>(?P<" + x + rb">[^<]*)</(?P=" + t + rb")>|/>)" + _WS
            + rb"|(?P<" + u + rb">[^<]*))</value>" + _WS + rb"</member>" + _WS
        )
    return _row_pattern(_WS + rb"<value>" + _WS + rb"<struct>" + _WS + b"".join(members) + rb"</struct>" + _WS + rb"</value>")


def _exact_columns(template, rows: list[tuple], unescape: bool) -> WireColumns:
    columns = {}
    for (name, kind), texts in zip(template, zip(*rows)):
        # int(bytes) strips ASCII whitespace like the generic int(text.strip()); anything
        # else it refuses (a ValueError sends the document to the generic decoder).
        columns[name] = list(map(int, texts)) if kind in _INT_TAGS else _texts(texts, unescape)
    return WireColumns(columns, len(rows))


def _general_columns(template, rows: list[tuple], unescape: bool) -> WireColumns:
    columns = {}
    transposed = list(zip(*rows))
    for k, (name, _) in enumerate(template):
        tags, texts, untyped = transposed[3 * k : 3 * k + 3]
        kinds = set(tags)
        if kinds <= _INT_TAGS:
            columns[name] = list(map(int, texts))
        elif kinds == {b"string"}:
            columns[name] = _texts(texts, unescape)
        elif kinds == {b""}:
            columns[name] = _texts(untyped, unescape)
        else:
            columns[name] = [_cell(t, x, u, unescape) for t, x, u in zip(tags, texts, untyped)]
    return WireColumns(columns, len(rows))


def _cell(tag: bytes, text: bytes, untyped: bytes, unescape: bool):
    if tag in _INT_TAGS:
        return int(text)
    if tag == b"nil":
        return None
    value = (text if tag == b"string" else untyped).decode("utf-8")
    return _unescape(value) if unescape and "&" in value else value


def _texts(values, unescape: bool) -> list[str]:
    """Decode each distinct text once (INFO and DATE repeat a lot), then map the rows."""
    distinct = dict.fromkeys(values)
    for raw in distinct:
        text = raw.decode("utf-8")
        distinct[raw] = _unescape(text) if unescape and "&" in text else text
    return list(map(distinct.__getitem__, values))


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
