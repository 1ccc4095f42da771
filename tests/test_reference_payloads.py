"""The reference page's example payloads, byte for byte: what they parse to, and what we send.

Ground truth is ``tests/fixtures/reference/`` (copied from Mailkit's page, including the
``<int>``/``<i4>`` mix, the tab-indented members and the tabs after the root element).
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import xmlrpc.client

import pandas as pd
import pytest
from loopback import FETCHED_AT, TEST_CLIENT_ID, TEST_MD5, Reply, reference_bytes

from mailkit_analysis.api.results import parse_results_answer
from mailkit_analysis.frame import RESULT_COLUMNS, RESULT_DTYPES
from mailkit_analysis.api.wire import decode_json_answer, decode_xmlrpc_answer

pytestmark = pytest.mark.usefixtures("isolated_settings", "md5_never_in_errors")

REQUEST_ID = 678
ID_SEND = 12345

DECODERS = {"json": decode_json_answer, "xmlrpc": decode_xmlrpc_answer}
SUFFIX = {"json": "json", "xmlrpc": "xml"}
CONTENT_TYPE = {"json": "application/json", "xmlrpc": "text/xml"}

#: Every value of the one row in each ERROR example, written out by hand.
EXPECTED_ERROR_ROW = {
    "json": {
        "request_id": REQUEST_ID,
        "id_send": pd.NA,  # ID_SEND 0: no send was created
        "id_send_message": pd.NA,
        "id_email": pd.NA,
        "email": "mail@mail.cz",
        "error_code": 4,
        "error_name": "invalid_mailinglist",
        "info": "missing mailinglist_id",
        "date": pd.Timestamp("2020-09-07 14:24:13", tz="Europe/Prague"),
        "fetched_at": FETCHED_AT,
        "campaign_id": pd.NA,
        "campaign_name": pd.NA,
    },
    "xmlrpc": {
        "request_id": REQUEST_ID,
        "id_send": 12345,
        "id_send_message": 123456789,
        "id_email": 123456789,
        "email": "mail@mail.cz",
        "error_code": 1,
        "error_name": "attachment_failed",
        "info": "url return null",
        "date": pd.Timestamp("2015-05-13 09:43:50", tz="Europe/Prague"),
        "fetched_at": FETCHED_AT,
        "campaign_id": pd.NA,
        "campaign_name": pd.NA,
    },
}


def _parse(transport: str, body: bytes):
    answer = DECODERS[transport](body)
    return parse_results_answer(answer, request_id=REQUEST_ID, fetched_at=FETCHED_AT)


def _assert_row(frame: pd.DataFrame, expected: dict) -> None:
    assert list(frame.columns) == RESULT_COLUMNS
    assert len(frame) == 1
    row = frame.iloc[0]
    for column, value in expected.items():
        if value is pd.NA:
            assert pd.isna(row[column]), f"{column} should be missing, is {row[column]!r}"
        else:
            assert row[column] == value, f"{column}: {row[column]!r} != {value!r}"


def _assert_schema(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == RESULT_COLUMNS
    assert {c: str(t) for c, t in frame.dtypes.items()} == {c: str(t) for c, t in RESULT_DTYPES.items()}


# --- parsing the bytes -----------------------------------------------------------------
def test_reference_files_are_the_pages_bytes():
    # Guards the fixtures themselves: the quirks the parsers must survive are really there.
    xml = reference_bytes("response_error.xml")
    assert b"<i4>1</i4>" in xml and b"\t\t\t\t\t <member>" in xml and xml.endswith(b"</methodResponse>\n\t\t")
    assert reference_bytes("request.xml").count(b"<int>") == 1 and reference_bytes("request.xml").count(b"<i4>") == 2
    assert json.loads(reference_bytes("response_error.json"))["error_status"] == 1


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_error_example_parses_to_the_written_out_values(transport):
    result = _parse(transport, reference_bytes(f"response_error.{SUFFIX[transport]}"))
    assert result.status == "ERROR"
    assert result.request_id == REQUEST_ID
    assert result.id_send is None
    assert result.fetched_at == FETCHED_AT
    _assert_row(result.frame, EXPECTED_ERROR_ROW[transport])
    _assert_schema(result.frame)
    assert str(result.frame["date"].iloc[0]) == (
        "2020-09-07 14:24:13+02:00" if transport == "json" else "2015-05-13 09:43:50+02:00"
    )


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_ok_example_is_an_empty_frame_with_the_full_schema(transport):
    result = _parse(transport, reference_bytes(f"response_ok.{SUFFIX[transport]}"))
    assert result.status == "OK"
    assert result.request_id == REQUEST_ID
    assert result.frame.empty
    _assert_schema(result.frame)


def test_json_error_example_with_error_status_1_is_data_not_a_failure():
    answer = decode_json_answer(reference_bytes("response_error.json"))
    assert answer["error_status"] == 1 and answer["status"] == "ERROR"
    assert len(answer["results"]) == 1


def test_xmlrpc_example_decodes_int_tags_to_ints_and_keeps_text():
    answer = decode_xmlrpc_answer(reference_bytes("response_error.xml"))
    assert answer == {
        "status": "ERROR",
        "results": [
            {
                "ERROR_CODE": 1,
                "INFO": "url return null",
                "DATE": "2015-05-13 09:43:50",
                "ID_EMAIL": 123456789,
                "EMAIL": "mail@mail.cz",
                "ID_SEND": 12345,
                "ID_SEND_MESSAGE": 123456789,
            }
        ],
    }
    assert decode_xmlrpc_answer(reference_bytes("response_ok.xml")) == {"status": "OK"}
    assert decode_json_answer(reference_bytes("response_ok.json")) == {"error_status": 0, "status": "OK"}


@pytest.mark.parametrize("kind", ["error", "ok"])
def test_both_transports_give_the_same_columns_and_dtypes(kind):
    json_frame = _parse("json", reference_bytes(f"response_{kind}.json")).frame
    xml_frame = _parse("xmlrpc", reference_bytes(f"response_{kind}.xml")).frame
    assert list(json_frame.columns) == list(xml_frame.columns) == RESULT_COLUMNS
    assert json_frame.dtypes.to_dict() == xml_frame.dtypes.to_dict()


def test_ok_and_error_frames_share_dtypes():
    ok = _parse("xmlrpc", reference_bytes("response_ok.xml")).frame
    error = _parse("xmlrpc", reference_bytes("response_error.xml")).frame
    assert ok.dtypes.to_dict() == error.dtypes.to_dict()
    # An empty frame concatenates with a full one without changing any dtype.
    both = pd.concat([ok, error], ignore_index=True)
    assert both.dtypes.to_dict() == error.dtypes.to_dict()


# --- replayed through the client over HTTP ---------------------------------------------
@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
@pytest.mark.parametrize("kind", ["error", "ok"])
def test_client_replays_reference_answers_byte_for_byte(server, make_client, transport, kind):
    body = reference_bytes(f"response_{kind}.{SUFFIX[transport]}")
    server.set_script([Reply(body=body, content_type=CONTENT_TYPE[transport])])
    url = server.json_url if transport == "json" else server.rpc_url
    client = make_client(url, transport)
    result = client.results(REQUEST_ID, id_send=ID_SEND)
    assert server.count == 1
    assert client.calls == 1
    assert result.status == kind.upper()
    assert result.id_send == ID_SEND
    direct = _parse(transport, body).frame
    pd.testing.assert_frame_equal(result.frame, direct)
    if kind == "error":
        _assert_row(result.frame, EXPECTED_ERROR_ROW[transport])
    else:
        assert result.frame.empty
    _assert_schema(result.frame)
    assert server.received[0].method == "POST"
    assert server.received[0].path == ("/json.fcgi" if transport == "json" else "/rpc.fcgi")
    assert server.received[0].headers["Content-Type"] == CONTENT_TYPE[transport]


def _reference_json_request_shape() -> dict:
    # request.json has bare placeholders (id_send, request_id), so it is not JSON as is:
    # substitute numbers for them to read its shape.
    text = reference_bytes("request.json").decode("utf-8")
    text = re.sub(r":\s*(id_send|request_id)\b", ": 0", text)
    return json.loads(text)


def test_json_request_has_the_reference_shape(server, make_client, reference):
    server.set_script([Reply(body=reference("response_ok.json"))])
    make_client(server.json_url, "json").results(REQUEST_ID, id_send=ID_SEND)
    sent = json.loads(server.bodies[0])
    shape = _reference_json_request_shape()
    assert set(sent) == set(shape) == {"function", "id", "md5", "parameters"}
    assert set(sent["parameters"]) == set(shape["parameters"]) == {"ID_send", "request_id"}
    assert sent["function"] == shape["function"] == "mailkit.sendmail_mass.results"
    assert type(sent["id"]) is type(shape["id"]) is str  # the page quotes it: "client_id"
    assert sent["id"] == str(TEST_CLIENT_ID)
    assert sent["md5"] == TEST_MD5
    assert sent["parameters"] == {"ID_send": ID_SEND, "request_id": REQUEST_ID}


def test_json_request_without_id_send_leaves_it_out(server, make_client, reference):
    server.set_script([Reply(body=reference("response_ok.json"))])
    make_client(server.json_url, "json").results(REQUEST_ID)
    sent = json.loads(server.bodies[0])
    assert sent["parameters"] == {"request_id": REQUEST_ID}


def _reference_xml_request(client_id: int, md5: str, id_send: int, request_id: int) -> bytes:
    text = reference_bytes("request.xml").decode("utf-8")
    for placeholder, value in (
        ("client_md5", md5),
        ("client_id", str(client_id)),
        ("id_send", str(id_send)),
        ("request_id", str(request_id)),
    ):
        text = text.replace(f">{placeholder}<", f">{value}<")
    return text.encode("utf-8")


def _param_type_tags(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    return [value[0].tag for value in root.findall("./params/param/value")]


@pytest.mark.parametrize("id_send", [ID_SEND, None])
def test_xmlrpc_request_matches_reference_structure(server, make_client, reference, id_send):
    server.set_script([Reply(body=reference("response_ok.xml"), content_type="text/xml")])
    make_client(server.rpc_url, "xmlrpc").results(REQUEST_ID, id_send=id_send)
    sent = server.bodies[0]
    params, method = xmlrpc.client.loads(sent)
    expected = xmlrpc.client.loads(_reference_xml_request(TEST_CLIENT_ID, TEST_MD5, id_send or 0, REQUEST_ID))
    assert method == expected[1] == "mailkit.sendmail_mass.results"
    assert params == expected[0] == (TEST_CLIENT_ID, TEST_MD5, id_send or 0, REQUEST_ID)
    assert len(params) == 4
    # Same XML-RPC types in the same positions: an integer, a string, two integers.
    ints = {"int", "i4"}
    sent_tags = _param_type_tags(sent)
    ref_tags = _param_type_tags(_reference_xml_request(TEST_CLIENT_ID, TEST_MD5, 0, REQUEST_ID))
    assert ref_tags == ["int", "string", "i4", "i4"]
    assert [t in ints for t in sent_tags] == [t in ints for t in ref_tags] == [True, False, True, True]
    assert sent_tags[1] == "string"
