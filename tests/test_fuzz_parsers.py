"""Property tests for the parsers: garbage in, a MailkitError (or a frame) out, nothing else.

And the positive side: rows generated once, encoded as a JSON answer and as an XML-RPC
answer (``xmlrpc.client.dumps(methodresponse=True)``), parse to equal frames.
"""
from __future__ import annotations

import datetime as dt
import json
import xmlrpc.client
from xml.sax.saxutils import escape

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from loopback import FETCHED_AT, reference_bytes

from mailkit_analysis import MailkitError
from mailkit_analysis.api.results import parse_results_answer
from mailkit_analysis.frame import RESULT_COLUMNS
from mailkit_analysis.api.wire import decode_json_answer, decode_xmlrpc_answer
from mailkit_analysis.codes import CATALOGUE
from mailkit_analysis.frame import RESULT_DTYPES

DECODERS = {"json": decode_json_answer, "xmlrpc": decode_xmlrpc_answer}
REFERENCE_ANSWERS = {
    name: reference_bytes(name)
    for name in ("response_error.json", "response_ok.json", "response_error.xml", "response_ok.xml")
}


def decode_and_parse(decode, body: bytes):
    """Run one body through the whole parsing path; only MailkitError may escape."""
    try:
        answer = decode(body, request_id=1)
    except MailkitError as exc:
        assert str(exc)  # every error explains itself
        return None
    return parse_or_error(answer)


def parse_or_error(answer):
    try:
        result = parse_results_answer(answer, request_id=1, fetched_at=FETCHED_AT)
    except MailkitError as exc:
        assert str(exc)
        return None
    # Whatever parses has the contract's columns and dtypes.
    assert list(result.frame.columns) == RESULT_COLUMNS
    assert {c: str(t) for c, t in result.frame.dtypes.items()} == {c: str(t) for c, t in RESULT_DTYPES.items()}
    assert result.status in ("OK", "ERROR")
    return result


# --- random bytes ---------------------------------------------------------------------------
@given(body=st.binary(max_size=600))
@example(body=b"")
@example(body=b"\x00")
@example(body=b"[]")
@example(body=b"null")
@example(body=b"<methodResponse/>")
@example(body=b'\xef\xbb\xbf{"status": "OK"}')
@example(body=b'"\xff"')
def test_random_bytes_json(body):
    decode_and_parse(decode_json_answer, body)


@given(body=st.binary(max_size=600))
@example(body=b"")
@example(body=b"<?xml version='1.0' encoding='x-unknown'?><methodResponse/>")
@example(body=b"<?xml version='1.0' encoding='utf-16'?><methodResponse/>")
@example(body=b"<methodResponse>\x00</methodResponse>")
def test_random_bytes_xmlrpc(body):
    decode_and_parse(decode_xmlrpc_answer, body)


# --- random JSON values ---------------------------------------------------------------------
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["OK", "ERROR", " ok ", "0", "1", "", "2015-05-13 09:43:50", "0000-00-00 00:00:00"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
wire_keys = st.sampled_from(["ERROR_CODE", "INFO", "DATE", "EMAIL", "ID_EMAIL", "ID_SEND", "ID_SEND_MESSAGE", "X"])
# Row members are mostly scalars (cheap to generate), sometimes a small list or object.
row_values = json_scalars | st.lists(json_scalars, max_size=2) | st.dictionaries(st.text(max_size=3), json_scalars, max_size=2)
result_rows = st.dictionaries(wire_keys, row_values, max_size=8)
answer_like = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["OK", "ERROR", "error", " ERROR ", "DONE", ""]) | json_scalars,
        "results": st.lists(result_rows | json_scalars, max_size=3) | json_scalars,
        "error_status": st.sampled_from([0, 1, "0", "1", " 0 ", None, True]),
        "error": st.sampled_from(["", None, 0, "0", "Unauthorized", "Disallowed IP 1.2.3.4", "boom"]) | json_values,
    },
)


@given(value=json_values | answer_like)
def test_random_json_values(value):
    body = json.dumps(value, allow_nan=True).encode()
    decode_and_parse(decode_json_answer, body)


@given(value=json_values | answer_like | st.binary(max_size=8) | st.lists(st.binary(max_size=4)))
@example(value={"status": "ERROR", "results": [{"ERROR_CODE": float("inf")}]})
@example(value={"status": "ERROR", "results": [{"ERROR_CODE": 1e300}]})
@example(value={"status": "ERROR", "results": [{"ERROR_CODE": 1, "DATE": "0001-01-01 00:00:00"}]})
@example(value={"status": "ERROR", "results": [{"ERROR_CODE": 1, "DATE": "9999-12-31 23:59:59"}]})
@example(value={"status": "ERROR", "results": [{"ERROR_CODE": b"\xff7"}]})
def test_random_decoded_answers(value):
    parse_or_error(value)


@given(rows=st.lists(result_rows, min_size=1, max_size=4), status=st.sampled_from(["ERROR", "OK"]))
def test_answer_shaped_json_with_random_fields(rows, status):
    body = json.dumps({"error_status": 1, "status": status, "results": rows}, allow_nan=True).encode()
    decode_and_parse(decode_json_answer, body)


# --- random XML-RPC-ish documents -------------------------------------------------------------
TAGS = [
    "methodResponse", "params", "param", "value", "struct", "member", "name", "array", "data", "fault",
    "int", "i4", "i8", "ex:i8", "string", "boolean", "double", "nil", "ex:nil", "base64",
    "dateTime.iso8601", "methodCall", "html", "x",
]
xml_text = st.one_of(
    st.text(max_size=10).map(escape),
    st.sampled_from(["1", " 7 ", "0", "-3", "abc", "OK", "ERROR", "status", "results", "ERROR_CODE", "DATE",
                     "2015-05-13 09:43:50", "faultString", "Unauthorized", "aGVsbG8=", "1.5", "&amp;", "&#x10;"]),
)


def _element(tag_children):
    tag, children = tag_children
    return f"<{tag}>{''.join(children)}</{tag}>"


xml_nodes = st.recursive(
    xml_text,
    lambda children: st.tuples(st.sampled_from(TAGS), st.lists(children, max_size=4)).map(_element),
    max_leaves=25,
)


@st.composite
def xmlrpc_ish(draw):
    inner = draw(st.lists(xml_nodes, max_size=3))
    wrapper = draw(st.sampled_from(["bare", "value", "param", "params", "fault"]))
    body = "".join(inner)
    if wrapper in ("value", "param", "params"):
        body = f"<value>{body}</value>"
    if wrapper in ("param", "params"):
        body = f"<param>{body}</param>"
    if wrapper == "params":
        body = f"<params>{body}</params>"
    if wrapper == "fault":
        body = f"<fault>{body}</fault>"
    prolog = draw(st.sampled_from(["", "<?xml version='1.0'?>\n", '<?xml version="1.0" encoding="utf-8"?>']))
    tail = draw(st.sampled_from(["", "\n\t\t", "<x/>", "</methodResponse>"]))
    return (f"{prolog}<methodResponse>{body}</methodResponse>{tail}").encode("utf-8", "surrogatepass")


@given(body=xmlrpc_ish())
@example(body=b"<methodResponse><params><param><data><value>x</value></data></param></params></methodResponse>")
@example(body=b"<methodResponse><params><param><value><data><value>x</value></data></value></param></params></methodResponse>")
@example(body=b"<methodResponse><params><param><value><struct><data><value>1</value></data></struct></value></param></params></methodResponse>")
@example(body=b"<methodResponse><data><value>x</value></data></methodResponse>")
@example(body=b"<methodResponse><params><param><value><struct><member><value>1</value></member></struct></value></param></params></methodResponse>")
@example(body=b"<methodResponse><params><param><value><int>" + b"9" * 5000 + b"</int></value></param></params></methodResponse>")
@example(body=b"<methodResponse>" + b"<value><array><data>" * 200 + b"</data></array></value>" * 200 + b"</methodResponse>")
def test_random_xmlrpc_documents(body):
    decode_and_parse(decode_xmlrpc_answer, body)


xmlrpc_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.floats() | st.text(
        alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=10
    ) | st.binary(max_size=6).map(xmlrpc.client.Binary),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["status", "results", "ERROR_CODE", "DATE", "ID_SEND", "EMAIL", "INFO", "faultString"]),
        children,
        max_size=5,
    ),
    max_leaves=20,
)


@given(value=xmlrpc_values, status=st.sampled_from(["OK", "ERROR", None]))
def test_random_values_dumped_by_xmlrpc_client(value, status):
    if status is not None:
        value = {"status": status, "results": value if isinstance(value, list) else [value]}
    body = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode("utf-8")
    decode_and_parse(decode_xmlrpc_answer, body)


# --- mutations of the reference payloads -------------------------------------------------------
@st.composite
def mutated_reference(draw):
    name = draw(st.sampled_from(sorted(REFERENCE_ANSWERS)))
    body = bytearray(REFERENCE_ANSWERS[name])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "duplicate", "delete", "insert"]))
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        if op == "flip":
            body[at] = draw(st.integers(0, 255))
        elif op == "cut":
            body = body[:at]
        elif op == "duplicate":
            length = draw(st.integers(1, 80))
            where = draw(st.integers(0, len(body)))
            body[where:where] = body[at : at + length]
        elif op == "delete":
            del body[at : at + draw(st.integers(1, 40))]
        else:
            body[at:at] = draw(st.sampled_from([b"<", b">", b"&", b'"', b"\x00", b"\xc3", b"</value>", b"<i4>", b"{", b"]", b"0"]))
    return name, bytes(body)


@given(case=mutated_reference())
def test_mutated_reference_payloads(case):
    name, body = case
    decode_and_parse(decode_json_answer if name.endswith(".json") else decode_xmlrpc_answer, body)


@given(name=st.sampled_from(sorted(REFERENCE_ANSWERS)), data=st.data())
def test_reference_payloads_cut_anywhere(name, data):
    body = REFERENCE_ANSWERS[name]
    cut = data.draw(st.integers(0, len(body)))
    result = decode_and_parse(DECODERS["json" if name.endswith(".json") else "xmlrpc"], body[:cut])
    if cut < len(body.rstrip()):
        # A cut inside the document is never taken for a whole answer.
        assert result is None


# --- generated rows round-trip through both transports ------------------------------------------
id_values = st.one_of(st.integers(0, 2**31 - 1), st.just(0))
id_wire = id_values.flatmap(lambda i: st.sampled_from([i, str(i), f" {i}\t"]))
xml_safe_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\t\n áčďéěíňóřšťúůýžÁČŘŠŽ"),
    max_size=25,
)
dates = st.one_of(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2035, 12, 31)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
    ),
    st.just(""),
)
generated_rows = st.fixed_dictionaries(
    {
        "ERROR_CODE": st.integers(1, 12),
        "INFO": xml_safe_text,
        "DATE": dates,
        "EMAIL": st.one_of(
            xml_safe_text,
            st.tuples(st.from_regex(r"[a-z0-9._+-]{1,12}", fullmatch=True), st.sampled_from(["seznam.cz", "gmail.com", "mail.cz"])).map("@".join),
        ),
        "ID_EMAIL": id_wire,
        "ID_SEND": id_wire,
        "ID_SEND_MESSAGE": id_wire,
    }
)


def _int_or_na(value):
    number = int(str(value).strip())
    return pd.NA if number == 0 else number


@settings(max_examples=100)  # each example builds two frames: keep the suite quick
@given(rows=st.lists(generated_rows, min_size=1, max_size=6), request_id=st.integers(1, 2**31 - 1))
def test_generated_rows_round_trip_through_both_transports(rows, request_id):
    answer = {"status": "ERROR", "results": rows}
    json_body = json.dumps({"error_status": 1, **answer}, ensure_ascii=False).encode("utf-8")
    xml_body = xmlrpc.client.dumps((answer,), methodresponse=True, encoding="utf-8").encode("utf-8")
    from_json = parse_results_answer(decode_json_answer(json_body), request_id=request_id, fetched_at=FETCHED_AT)
    from_xml = parse_results_answer(decode_xmlrpc_answer(xml_body), request_id=request_id, fetched_at=FETCHED_AT)
    pd.testing.assert_frame_equal(from_json.frame, from_xml.frame)

    frame = from_json.frame
    assert len(frame) == len(rows)
    assert frame["request_id"].tolist() == [request_id] * len(rows)
    assert frame["error_code"].tolist() == [r["ERROR_CODE"] for r in rows]
    assert frame["error_name"].tolist() == [
        CATALOGUE[r["ERROR_CODE"]].name if r["ERROR_CODE"] in CATALOGUE else "unknown" for r in rows
    ]
    assert frame["info"].tolist() == [r["INFO"] for r in rows]
    assert frame["email"].tolist() == [r["EMAIL"] for r in rows]
    for column, field in (("id_email", "ID_EMAIL"), ("id_send", "ID_SEND"), ("id_send_message", "ID_SEND_MESSAGE")):
        got = frame[column].astype(object).where(frame[column].notna(), pd.NA).tolist()
        assert got == [_int_or_na(r[field]) for r in rows]
    for value, row in zip(frame["date"], rows):
        if row["DATE"] == "":
            assert pd.isna(value)
        else:
            assert value.strftime("%Y-%m-%d %H:%M:%S") == row["DATE"] or value.tz_localize(None) > pd.Timestamp(row["DATE"])
            assert str(value.tz) == "Europe/Prague"


@pytest.mark.parametrize("status", ["OK", "ERROR"])
def test_empty_results_round_trip(status):
    answer = {"status": status, "results": []} if status == "ERROR" else {"status": status}
    json_frame = parse_or_error(decode_json_answer(json.dumps(answer).encode())).frame
    xml_frame = parse_or_error(decode_xmlrpc_answer(xmlrpc.client.dumps((answer,), methodresponse=True).encode())).frame
    pd.testing.assert_frame_equal(json_frame, xml_frame)
    assert json_frame.empty
