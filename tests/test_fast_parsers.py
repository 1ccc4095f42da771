"""The columnar decoders against the generic ones: same tables, same errors, always.

``decode_xmlrpc_results`` (regex rows + generic envelope) and the JSON dict pivot must be
indistinguishable from ``decode_xmlrpc_answer`` + ``rows_to_columns``: identical arrow
tables for what parses, identical error classes and messages for what does not. Documents
are generated in many layouts (member order, value tags, whitespace, CRLF, entities,
untyped values) and then mutated byte by byte.
"""
from __future__ import annotations

import json
import xmlrpc.client
from xml.sax.saxutils import escape

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from loopback import FETCHED_AT, reference_bytes
from test_frame_catalogue import MIXED_XML

from mailkit_analysis import MailkitError
from mailkit_analysis.api.results import parse_results_answer
from mailkit_analysis.api.wire import decode_xmlrpc_answer, decode_xmlrpc_results
from mailkit_analysis.api.wire.columns import WireColumns
from mailkit_analysis.api.wire.json_columns import dict_rows_to_columns
from mailkit_analysis.api.wire.xmlrpc_columns import FAST_MIN_BYTES
from mailkit_analysis.frame import WIRE_FIELDS, rows_to_columns
from mailkit_analysis.simulator import SimulatedAccount
from mailkit_analysis.simulator.xmlrpc_api import dump_response

FIELDS = list(WIRE_FIELDS)


def outcome(decode, body: bytes):
    """What a body turns into: ("ok", status, table) or where it failed and how."""
    try:
        answer = decode(body, request_id=7)
    except MailkitError as exc:
        return ("decode", type(exc).__name__, exc.message, getattr(exc, "excerpt", None))
    try:
        parsed = parse_results_answer(answer, request_id=7, fetched_at=FETCHED_AT)
    except MailkitError as exc:
        return ("parse", type(exc).__name__, exc.message)
    return ("ok", parsed.status, parsed.table)


def fast(body, **where):
    return decode_xmlrpc_results(body, min_bytes=0, **where)


def assert_same(body: bytes) -> bool:
    """Fast and generic decoders agree on ``body``; returns whether the fast path was used."""
    expected, got = outcome(decode_xmlrpc_answer, body), outcome(fast, body)
    assert got[:2] == expected[:2], (got[:3], expected[:3])
    if expected[0] == "ok":
        assert got[2].equals(expected[2])
    else:
        assert got == expected
    try:
        return isinstance(fast(body).get("results"), WireColumns)
    except (MailkitError, AttributeError):
        return False


# --- known documents take the fast path and agree ------------------------------------------
def test_reference_payloads_agree_and_use_the_fast_path():
    assert assert_same(reference_bytes("response_error.xml"))
    assert_same(reference_bytes("response_ok.xml"))  # no results array: generic by design


def test_mixed_tags_and_untyped_values_agree_and_use_the_fast_path():
    assert assert_same(MIXED_XML)
    assert assert_same(MIXED_XML.replace(b"\n", b"\r\n"))


def test_simulator_answer_above_threshold_uses_the_fast_path_by_default():
    account = SimulatedAccount(seed=2, n_requests=60)
    rows = [row for request in account.requests() for row in account.results_for(request.request_id)[1]]
    body = dump_response({"status": "ERROR", "results": rows})
    assert len(body) >= FAST_MIN_BYTES
    answer = decode_xmlrpc_results(body)
    assert isinstance(answer["results"], WireColumns) and len(answer["results"]) == len(rows)
    assert answer["results"][0] == rows[0]  # still reads like the list it replaces
    assert outcome(decode_xmlrpc_results, body)[2].equals(outcome(decode_xmlrpc_answer, body)[2])


def test_xmlrpc_client_dumps_agree():
    rows = [{"ERROR_CODE": 2, "INFO": "a < b & \"c\"", "DATE": "2024-03-31 02:30:00", "EMAIL": "x@y.cz",
             "ID_EMAIL": 5, "ID_SEND": 6, "ID_SEND_MESSAGE": 7}] * 3
    body = xmlrpc.client.dumps(({"status": "ERROR", "results": rows},), methodresponse=True).encode()
    assert assert_same(body)


@pytest.mark.parametrize(
    "change",
    [
        (b"<i4>1</i4>", b"<i4>x</i4>"),  # not a number: a decode error, as before
        (b"<i4>1</i4>", b"<i4>1_0</i4>"),  # Python's int() accepts it; so must we
        (b"<i4>1</i4>", b"<boolean>1</boolean>"),
        (b"url return null", b"url &amp; &#x10; null"),  # invalid character reference
        (b"url return null", b"url &nbsp; null"),  # undefined entity
        (b"url return null", b"url ]]> null"),
        (b"url return null", b"url \x01 null"),
        (b"url return null", b"url \xc3 null"),  # invalid UTF-8
        (b"url return null", b"url <!-- c --> null"),
        (b"url return null", b"url <![CDATA[x]]> null"),
        (b"<methodResponse>", b'<!DOCTYPE x [<!ENTITY e "results">]><methodResponse>'),
        (b'encoding="utf-8"', b'encoding="iso-8859-2"'),
        (b"<name>INFO</name>", b"<name>ERROR_CODE</name>"),  # duplicate member: last wins
        (b"<name>status</name>", b"<name>results</name>"),  # two results members
        (b"</data>", b"<value><struct></struct></value></data>"),
        (b"<struct>\n           <member>", b"<struct>\n           <member>\n<name>X</name><value><array><data></data></array></value></member><member>"),
    ],
)
def test_documents_the_fast_path_must_not_misread(change):
    old, new = change
    body = reference_bytes("response_error.xml")
    assert old in body
    assert_same(body.replace(old, new, 1))


def test_errors_keep_their_context():
    body = reference_bytes("response_error.xml").replace(b"<i4>1</i4>", b"<i4>x</i4>")
    with pytest.raises(MailkitError) as caught:
        fast(body, request_id=99, url="http://x/rpc.fcgi")
    assert caught.value.request_id == 99 and "<i4>" in caught.value.message


# --- generated documents ---------------------------------------------------------------------
ws = st.sampled_from(["", "\n", " ", "\t", "\r\n", "\n\t\t\t\t\t ", "  \n  ", "\r"])
xml_chars = st.characters(exclude_categories=("Cs",), codec="utf-8")
plain_text = st.text(alphabet=xml_chars, max_size=12)
czech = st.sampled_from(["neplatný formát e-mailové adresy", "příjemce je odhlášen", "2015-05-13 09:43:50",
                         "jana.novakova@seznam.cz", "", " 12 ", "0", "a&b<c>\"d'", "\t tab\r\n", "]]"])
numbers = st.integers(-(2**63), 2**63 + 5) | st.sampled_from([0, 1, 2, 9, 123456789, 2**31])


@st.composite
def value_xml(draw, value, clean: bool):
    """One member value in one of the spellings the wire allows (unless ``clean``, also a
    few it does not)."""
    if value is None:
        return draw(st.sampled_from(["<nil/>", "<nil></nil>", "<string/>"]))
    if isinstance(value, int):
        tags = ["i4", "int", "i8", "string", "untyped"] + ([] if clean else ["double", "boolean"])
        tag = draw(st.sampled_from(tags))
        text = draw(st.sampled_from([str(value), f" {value}\t", f"\n{value}\n"]))
        if tag == "untyped":
            return str(value)
        return f"{draw(ws)}<{tag}>{text}</{tag}>{draw(ws)}"
    text = draw(st.sampled_from(["escape", "escape", "entities"] + ([] if clean else ["raw"])))
    if text == "escape":
        body = escape(value)
    elif text == "entities":
        body = "".join(draw(st.sampled_from([escape(c), f"&#{ord(c)};", f"&#x{ord(c):x};"])) for c in value)
    else:
        body = value  # may hold '<' or '&': malformed, both decoders must refuse it alike
    if draw(st.booleans()):
        return body  # untyped
    if body == "" and draw(st.booleans()):
        return f"{draw(ws)}<string/>{draw(ws)}"
    return f"{draw(ws)}<string>{body}</string>{draw(ws)}"


@st.composite
def row_values(draw):
    row = {}
    for field in FIELDS:
        kind = draw(st.sampled_from(["int", "text", "missing", "none"] if field not in ("INFO", "EMAIL", "DATE") else ["text", "text", "int", "missing", "none"]))
        if kind == "int":
            row[field] = draw(numbers)
        elif kind == "text":
            row[field] = draw(czech | plain_text)
        elif kind == "none":
            row[field] = None
    if draw(st.booleans()):
        row[draw(st.sampled_from(["X", "results", "status", " ERROR_CODE"]))] = draw(numbers | czech)
    return row


@st.composite
def results_document(draw):
    """A whole methodResponse whose rows share a layout most of the time."""
    n = draw(st.integers(0, 5))
    clean = draw(st.booleans())
    template = draw(row_values())
    rows = [template] + [draw(row_values()) if draw(st.integers(0, 4)) == 0 else dict(template) for _ in range(n - 1)]
    rows = rows[:n]
    order = list(template)
    if draw(st.booleans()):
        order = draw(st.permutations(order))
    layout = [draw(ws) for _ in range(6)]
    spellings: dict = {}

    def render(row):
        members = []
        keys = [k for k in order if k in row] + [k for k in row if k not in order]
        for key in keys:
            cache_key = (key, repr(row[key]))
            if cache_key not in spellings or draw(st.integers(0, 6)) == 0:
                spellings[cache_key] = draw(value_xml(row[key], clean))
            members.append(f"<member>{layout[0]}<name>{escape(key)}</name>{layout[1]}<value>{spellings[cache_key]}</value>{layout[2]}</member>{layout[3]}")
        return f"<value>{layout[4]}<struct>{layout[5]}{''.join(members)}</struct>{layout[4]}</value>"

    rows_xml = draw(ws).join(render(row) for row in rows)
    status = draw(st.sampled_from(["ERROR", "OK", " error ", "DONE"]))
    parts = [
        f"<member><name>status</name><value><string>{status}</string></value></member>",
        f"<member>{draw(ws)}<name>results</name>{draw(ws)}<value>{draw(ws)}<array>{draw(ws)}<data>{draw(ws)}"
        f"{rows_xml}{draw(ws)}</data></array></value></member>",
    ]
    if draw(st.booleans()):
        parts.append("<member><name>error_status</name><value><i4>1</i4></value></member>")
    parts = draw(st.permutations(parts))
    prolog = draw(st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>\n', "<?xml version='1.0' encoding='UTF-8'?>",
                                   '<?xml version="1.0"?>\n', "\ufeff"]))
    tail = draw(st.sampled_from(["", "\n\t\t", "\n"]))
    document = (f"{prolog}<methodResponse>{draw(ws)}<params><param><value><struct>{draw(ws)}"
                f"{draw(ws).join(parts)}</struct></value></param></params>{draw(ws)}</methodResponse>{tail}")
    return document.encode("utf-8", "surrogatepass")


@given(body=results_document())
@example(body=MIXED_XML)
def test_generated_documents_decode_alike(body):
    event("fast path" if assert_same(body) else "generic path")


MUTATIONS = [b"<", b">", b"&", b"&amp;", b"&#0;", b"&#x41;", b"\x00", b"\x0b", b"\r", b"\xc3", b"\xef\xbf\xbe",
             b"]]>", b"</value>", b"<value>", b"<i4>", b"</data>", b"<data>", b"<nil/>", b"<!-- x -->",
             b"<?pi x?>", b"<name>results</name>", b"\xef\xbb\xbf", b" ", b"\t", b"0", b"9" * 30]


@st.composite
def mutated_document(draw):
    body = bytearray(draw(results_document()))
    for _ in range(draw(st.integers(1, 3))):
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        if draw(st.booleans()):  # just after a tag: inside texts and between elements
            ends = [i + 1 for i, byte in enumerate(body) if byte == ord(">")]
            at = ends[at % len(ends)] if ends else at
        op = draw(st.sampled_from(["flip", "cut", "duplicate", "delete", "insert", "insert"]))
        if op == "flip":
            body[min(at, len(body) - 1)] = draw(st.integers(0, 255))
        elif op == "cut":
            body = body[:at]
        elif op == "duplicate":
            length = draw(st.integers(1, 120))
            where = draw(st.integers(0, len(body)))
            body[where:where] = body[at : at + length]
        elif op == "delete":
            del body[at : at + draw(st.integers(1, 30))]
        else:
            body[at:at] = draw(st.sampled_from(MUTATIONS))
    return bytes(body)


@given(body=mutated_document())
def test_mutated_documents_decode_alike(body):
    event("fast path" if assert_same(body) else "generic path")


@settings(max_examples=50)
@given(rows=st.lists(row_values(), min_size=1, max_size=4), status=st.sampled_from(["ERROR", "OK"]))
def test_xmlrpc_client_dumps_of_generated_rows_decode_alike(rows, status):
    clean = [{k: (v if not isinstance(v, int) or -(2**31) <= v < 2**31 else str(v)) for k, v in row.items()} for row in rows]
    try:
        body = xmlrpc.client.dumps(({"status": status, "results": clean},), methodresponse=True, allow_none=True).encode()
    except (OverflowError, ValueError):
        return
    assert_same(body)


# --- JSON: the C-level pivot equals the general one ---------------------------------------------
json_rows = st.lists(
    st.dictionaries(st.sampled_from(FIELDS + ["X"]), st.none() | st.integers() | st.text(max_size=5) | st.booleans(), max_size=8)
    | st.integers() | st.text(max_size=3) | st.lists(st.integers(), max_size=2),
    max_size=6,
)


def parsed(results):
    try:
        answer = parse_results_answer({"status": "ERROR", "results": results}, request_id=1, fetched_at=FETCHED_AT)
    except MailkitError as exc:
        return ("error", type(exc).__name__, exc.message)
    return ("ok", answer.table)


@given(rows=json_rows)
def test_json_pivot_matches_rows_to_columns(rows):
    columns = dict_rows_to_columns(rows, FIELDS)
    if columns is None:
        assert any(type(r) is not dict for r in rows)
        return
    general = rows_to_columns(rows)
    assert columns.columns == general
    # parse_results_answer pivots a list itself: same table (or error) as the general pivot's
    through_pivot, through_general = parsed(rows), parsed(WireColumns(general, len(rows)))
    assert through_pivot[0] == through_general[0]
    if through_pivot[0] == "ok":
        assert through_pivot[1].equals(through_general[1])
    else:
        assert through_pivot == through_general


def test_json_answers_parse_through_the_pivot_alike():
    rows = [{"ERROR_CODE": 2, "DATE": "2024-10-27 02:30:00", "ID_SEND": "12"}, {"ERROR_CODE": "6", "EMAIL": "a@b.cz"}]
    through_pivot = parse_results_answer({"status": "ERROR", "results": rows}, request_id=1, fetched_at=FETCHED_AT)
    general = parse_results_answer(
        {"status": "ERROR", "results": WireColumns(rows_to_columns(rows), len(rows))}, request_id=1, fetched_at=FETCHED_AT
    )
    assert through_pivot.table.equals(general.table)


# --------------------------------------------------------------------------- DATE

def _general_dates(values):
    """What the general DATE path alone makes of ``values`` (or the error it raises)."""
    from unittest import mock

    from mailkit_analysis import frame

    with mock.patch.object(frame, "_strict_dates", return_value=None):
        try:
            return frame._date_array(values, "DATE")
        except MailkitError as exc:
            return str(exc)


def _dates(values):
    from mailkit_analysis.frame import _date_array

    try:
        return _date_array(values, "DATE")
    except MailkitError as exc:
        return str(exc)


_DATE_TEXT = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    st.from_regex(r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2})?\Z"),
    st.sampled_from(["", " ", "0000-00-00", "0000-00-00 00:00:00", "2015-02-29 10:00:00", "2016-02-29 10:00:00",
                     "2015-01-01 24:00:00", "2015-01-01 23:59:60", "0999-01-01 00:00:00", " 2015-05-13 09:43:50 ",
                     "2026-10-25 02:30:00", "2026-03-29 02:30:00", "2015-05-13", "2015-05-13 09:43:50.5"]),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_DATE_TEXT, min_size=1, max_size=8))
@example(["2015-05-13 09:43:50", None, "", "0000-00-00 00:00:00"])
@example(["2015-02-30 10:00:00"])
def test_strict_date_path_agrees_with_the_general_one(values):
    fast, general = _dates(values), _general_dates(values)
    event("error" if isinstance(general, str) else "dates")
    assert (fast == general) if isinstance(general, str) else fast.equals(general)


def test_mailkit_dates_take_the_strict_path():
    import pyarrow as pa

    from mailkit_analysis.frame import _strict_dates

    text = pa.array(["2015-05-13 09:43:50", None, "2016-02-29 23:59:59"])
    blank = pa.array([False, True, False])
    assert _strict_dates(text, blank) is not None
    assert _strict_dates(pa.array(["2015-02-30 10:00:00"]), pa.array([False])) is None
    assert _strict_dates(pa.array(["2015-05-13T09:43:50"]), pa.array([False])) is None


# Near misses of the shape: one character changed, added or removed (non-ASCII included).
_NEAR_DATE = st.builds(
    lambda text, at, char, how: (text[:at] + char + text[at + (how == "replace"):] if how != "drop"
                                 else text[:at] + text[at + 1:]),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
    st.integers(0, 19), st.sampled_from(list("0123456789- :T/.xé\n")), st.sampled_from(["replace", "insert", "drop"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_NEAR_DATE, _DATE_TEXT), min_size=1, max_size=6), st.integers(0, 2))
def test_date_shape_check_is_the_regular_expression(values, cut):
    """The byte-wise shape check of the strict DATE path accepts exactly what its regular
    expression accepts, on whole arrays and on slices of them (an offset into the buffers)."""
    import re

    import pyarrow as pa

    from mailkit_analysis.frame import _STRICT_DATE, _mailkit_shaped

    array = pa.array(["2015-05-13 09:43:50"] * cut + values, pa.string()).slice(cut)
    expected = all(re.search(_STRICT_DATE, v) for v in values if v is not None)
    assert _mailkit_shaped(array) == expected
    assert _mailkit_shaped(pa.chunked_array([array[:1], array[1:]])) == expected


def test_date_shape_check_covers_every_block():
    """A bad value is found wherever it lies in a long column (the check goes block by block)."""
    import pyarrow as pa

    from mailkit_analysis.frame import _mailkit_shaped

    good = ["2015-05-13 09:43:50"] * 10_000
    assert _mailkit_shaped(pa.array(good))
    for at in (0, 4095, 4096, 9999):
        for bad in ("2015-05-13 09:43:5x", "0999-05-13 09:43:50", "2015-05-13 09:43:500"):
            column = list(good)
            column[at] = bad
            assert not _mailkit_shaped(pa.array(column)), (at, bad)


# --- JSON: arrow's reader for plain results answers equals json.loads ---------------------------
def _decoded_and_parsed(decode, body):
    from mailkit_analysis.errors import MailkitError as Error

    try:
        answer = parse_results_answer(decode(body, request_id=1), request_id=1, fetched_at=FETCHED_AT)
    except Error as exc:
        return ("error", type(exc).__name__, exc.message)
    return ("ok", answer.status, answer.table)


_json_value = (st.none() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=6) | st.booleans()
               | st.floats(allow_nan=False, width=32) | st.sampled_from(["2015-05-13 09:43:50", "2015-02-30 10:00:00", "", "7"]))
_json_bodies = st.builds(
    lambda status, rows, extra, indent: json.dumps({"error_status": 1, "status": status, "results": rows, **extra},
                                                   ensure_ascii=False, indent=indent).encode("utf-8"),
    st.sampled_from(["ERROR", "OK", " error ", "???"]),
    st.lists(st.dictionaries(st.sampled_from(FIELDS + ["X"]), _json_value, max_size=8) | st.none() | st.integers(),
             max_size=5) | st.none() | st.just(""),
    st.dictionaries(st.sampled_from(["error", "note"]), st.text(max_size=3) | st.integers(), max_size=1),
    st.none() | st.just(1),
)


@given(body=_json_bodies)
@example(body=json.dumps({"status": "ERROR", "results": [{"ID_SEND": 0, "DATE": "2015-02-30 10:00:00"}]}).encode())
@example(body=b'{"status":"ERROR","results":[{"EMAIL":"a"}]}\n{"status":"OK"}')
@example(body=b'{"status":"ERROR","status":"OK","results":[]}')
def test_json_results_read_by_arrow_parse_as_json_loads_does(body):
    from mailkit_analysis.api.wire import decode_json_answer, decode_json_results

    fast, general = _decoded_and_parsed(decode_json_results, body), _decoded_and_parsed(decode_json_answer, body)
    if fast[0] == "ok" and general[0] == "ok":
        assert fast[1] == general[1] and fast[2].equals(general[2])
    else:
        assert fast == general


def test_a_plain_json_answer_takes_arrows_reader():
    from mailkit_analysis.api.wire.json_columns import arrow_results_columns

    rows = [{"ID_SEND_MESSAGE": 5, "ID_SEND": 3, "ID_EMAIL": 0, "DATE": "2015-05-13 09:43:50",
             "EMAIL": "jan@example.cz", "ERROR_CODE": 2, "INFO": "neplatný formát"}]
    body = json.dumps({"error_status": 1, "status": "ERROR", "results": rows}, ensure_ascii=False).encode("utf-8")
    status, columns = arrow_results_columns(body)
    assert status == "ERROR" and len(columns) == 1 and columns.columns["EMAIL"].to_pylist() == ["jan@example.cz"]
    assert arrow_results_columns(b'{"error": "Unauthorized"}') is None
