"""Every in-band answer Mailkit (or something in front of it) can give, and its typed error.

Decoder-level tests feed bytes straight to the codecs; the ``client`` ones replay the same
bytes from the loopback server to check that API errors are not retried.
"""
from __future__ import annotations

import json
import xmlrpc.client

import pytest
from loopback import FETCHED_AT, TEST_MD5, Reply, assert_no_secret, reference_bytes

from mailkit_analysis import MailkitAPIError, MailkitAuthError, MailkitError, MailkitResponseError
from mailkit_analysis.api.results import parse_results_answer
from mailkit_analysis.api.wire import (
    body_excerpt,
    decode_json_answer,
    decode_xmlrpc_answer,
)

pytestmark = pytest.mark.usefixtures("isolated_settings", "md5_never_in_errors")


@pytest.fixture(autouse=True)
def _md5_registered(credentials):
    """Creating the credentials registers the MD5 for redaction, as a real run does."""
    return credentials


def _fault(code, text) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True).encode()


def _bare_string(text: str) -> bytes:
    return xmlrpc.client.dumps((text,), methodresponse=True).encode()


UNTYPED_UNAUTHORIZED = (
    b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<methodResponse>\n <params>\n  <param>\n"
    b"   <value>Unauthorized</value>\n  </param>\n </params>\n</methodResponse>\n\t\t"
)


def _parse(answer, request_id=678):
    return parse_results_answer(answer, request_id=request_id, fetched_at=FETCHED_AT)


def _assert_auth_message(exc: MailkitAuthError) -> None:
    text = str(exc)
    assert "Profile / Integration" in text
    assert "IP address" in text
    assert_no_secret(text)


# --- authentication --------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, api_text",
    [
        (b'{"error_status": 1, "error": "Unauthorized"}', "Unauthorized"),
        (b'{"error_status": 1, "error": "Disallowed IP 1.2.3.4"}', "Disallowed IP 1.2.3.4"),
        (b'{"error_status": "1", "error": "unauthorized"}', "unauthorized"),
    ],
)
def test_json_auth_errors(body, api_text):
    with pytest.raises(MailkitAuthError) as info:
        decode_json_answer(body)
    assert info.value.api_text == api_text
    _assert_auth_message(info.value)
    if "Disallowed" in api_text:
        assert "1.2.3.4" in str(info.value)


@pytest.mark.parametrize(
    "body, api_text",
    [
        (_bare_string("Unauthorized"), "Unauthorized"),
        (UNTYPED_UNAUTHORIZED, "Unauthorized"),
        (_bare_string("Disallowed IP 10.0.0.7"), "Disallowed IP 10.0.0.7"),
        (_fault(1, "Unauthorized"), "Unauthorized"),
        (_fault(403, "Disallowed IP 1.2.3.4"), "Disallowed IP 1.2.3.4"),
    ],
)
def test_xmlrpc_auth_errors(body, api_text):
    with pytest.raises(MailkitAuthError) as info:
        decode_xmlrpc_answer(body)
    assert info.value.api_text == api_text
    _assert_auth_message(info.value)
    assert api_text in str(info.value)


def test_auth_error_keeps_where_it_happened():
    with pytest.raises(MailkitAuthError) as info:
        decode_json_answer(b'{"error": "Unauthorized"}', request_id=5, url="http://127.0.0.1:1/json.fcgi")
    assert info.value.request_id == 5
    assert "request_id=5" in str(info.value) and "http://127.0.0.1:1/json.fcgi" in str(info.value)


# --- other API errors ------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, fragment",
    [
        (b'{"error_status": 1, "error": "Missing parameter request_id"}', "Missing parameter request_id"),
        (b'{"error": "Unknown function"}', "Unknown function"),
        (b'{"error_status": 1, "error": {"code": 7, "text": "nested"}}', "nested"),
        ("{\"error_status\": 1, \"error\": \"Chybný požadavek\"}".encode(), "Chybný požadavek"),
    ],
)
def test_json_other_error_texts_are_api_errors(body, fragment):
    with pytest.raises(MailkitAPIError) as info:
        decode_json_answer(body)
    assert not isinstance(info.value, MailkitAuthError)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "body, fragment",
    [
        (_bare_string("Invalid request_id"), "Invalid request_id"),
        (_bare_string("Nebyl nalezen požadavek"), "Nebyl nalezen požadavek"),
        (_fault(-32601, "server error. requested method not found"), "requested method not found"),
        (_fault(500, "Internal error"), "fault 500: Internal error"),
    ],
)
def test_xmlrpc_other_strings_and_faults_are_api_errors(body, fragment):
    with pytest.raises(MailkitAPIError) as info:
        decode_xmlrpc_answer(body)
    assert not isinstance(info.value, MailkitAuthError)
    assert fragment in str(info.value)


# --- answers that are data, not errors -------------------------------------------------
def test_error_status_1_with_results_is_data():
    body = reference_bytes("response_error.json")
    result = _parse(decode_json_answer(body))
    assert result.status == "ERROR"
    assert result.frame["error_code"].tolist() == [4]


@pytest.mark.parametrize(
    "body",
    [
        b'{"error_status": "0", "status": "OK"}',
        b'{"error_status": " 0 ", "status": "OK"}',
        b'{"error_status": 0, "status": "OK", "error": ""}',
        b'{"status": "OK"}',
        b'{"error_status": "1", "status": "OK"}',
    ],
)
def test_error_status_variants_with_ok_status_parse(body):
    result = _parse(decode_json_answer(body))
    assert result.status == "OK"
    assert result.frame.empty


def test_error_status_as_string_0_with_results_parses():
    body = json.dumps(
        {"error_status": "0", "status": "ERROR", "results": [{"ERROR_CODE": "6", "EMAIL": "a@b.cz", "DATE": ""}]}
    ).encode()
    frame = _parse(decode_json_answer(body)).frame
    assert frame["error_name"].tolist() == ["unsubscribed"]


# --- answers that cannot be understood -------------------------------------------------
REF_JSON = reference_bytes("response_error.json")
REF_XML = reference_bytes("response_error.xml")


@pytest.mark.parametrize(
    "body, words",
    [
        (b"", "Empty"),
        (b"  \n\t ", "Empty"),
        (b"Internal Server Error", "not valid JSON"),
        (REF_JSON[:40], "not valid JSON"),
        (REF_JSON[:-1], "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>", "HTML page"),
        (b'{"error_status": 1}', "error_status 1"),
    ],
)
def test_json_bodies_that_are_not_answers(body, words):
    with pytest.raises(MailkitResponseError) as info:
        decode_json_answer(body)
    assert words in str(info.value)
    if body.strip():
        assert info.value.excerpt, "a non-empty body is quoted"
        assert info.value.excerpt[:10] == " ".join(body.decode("utf-8", "replace").split())[:10]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodResponse><params><param><value><string>&lol9;</string></value></param></params></methodResponse>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodResponse><params><param><value><string>&xxe;</string></value></param></params></methodResponse>
"""


@pytest.mark.parametrize(
    "body, words",
    [
        (b"", "Empty"),
        (b"not xml at all", "not valid XML-RPC"),
        (REF_XML[:200], "not valid XML-RPC"),
        (REF_XML[: REF_XML.index(b"</struct>")], "not valid XML-RPC"),
        (b"<html><head><title>500</title></head><body>Internal error</body></html>", "HTML page"),
        (b"<?xml version='1.0'?><methodCall><methodName>x</methodName></methodCall>", "not <methodResponse>"),
        (b"<?xml version='1.0'?><methodResponse><params></params></methodResponse>", "0 values"),
        (BILLION_LAUGHS, "document type declarations are not accepted"),
        (EXTERNAL_ENTITY, "document type declarations are not accepted"),
        (
            b"<methodResponse><params><param><value><int>12a</int></value></param></params></methodResponse>",
            "not a whole number",
        ),
        (
            b"<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
            "fault without faultString",
        ),
    ],
)
def test_xml_bodies_that_are_not_answers(body, words):
    with pytest.raises(MailkitResponseError) as info:
        decode_xmlrpc_answer(body)
    assert words in str(info.value)
    if body.strip():
        assert info.value.excerpt


def test_html_page_with_200_is_quoted_in_the_error():
    page = b"<html><body><h1>Service Unavailable</h1><p>The proxy could not reach api.mailkit.eu</p></body></html>"
    for decode in (decode_json_answer, decode_xmlrpc_answer):
        with pytest.raises(MailkitResponseError) as info:
            decode(page)
        assert "Service Unavailable" in info.value.excerpt
        assert "Service Unavailable" in str(info.value)


WRONG_SHAPES = [
    ([{"status": "OK"}], "got list"),
    ("OK", "got str"),
    ({"status": "DONE"}, "Unexpected status 'DONE'"),
    ({"results": []}, "Unexpected status None"),
    ({"status": "ERROR"}, "without 'results'"),
    ({"status": "ERROR", "results": {"ERROR_CODE": 1}}, "'results' is a dict"),
    ({"status": "ERROR", "results": "abc"}, "'results' is a str"),
    ({"status": "ERROR", "results": [1, 2]}, "results[0] is not a struct"),
    ({"status": "ERROR", "results": [{"ERROR_CODE": "abc"}]}, "ERROR_CODE is not a whole number"),
    ({"status": "ERROR", "results": [{"ERROR_CODE": 2.5}]}, "ERROR_CODE is not a whole number"),
    ({"status": "ERROR", "results": [{"ERROR_CODE": True}]}, "ERROR_CODE is a boolean"),
    ({"status": "ERROR", "results": [{"ERROR_CODE": 1, "DATE": "13.05.2015 09:43"}]}, "DATE is not a date"),
    ({"status": "ERROR", "results": [{"ERROR_CODE": 1, "DATE": "2015-02-30 10:00:00"}]}, "DATE is not a date"),
    ({"status": "ERROR", "results": [{"ERROR_CODE": 1, "ID_SEND": [1]}]}, "ID_SEND is not a number"),
    ({"status": "ERROR", "results": [{"ERROR_CODE": 1, "EMAIL": {"a": 1}}]}, "EMAIL is not text"),
    ({"status": "ERROR", "results": [{"ERROR_CODE": 2**64}]}, "out of range"),
]


@pytest.mark.parametrize("answer, words", WRONG_SHAPES)
def test_wrong_shapes_are_response_errors(answer, words):
    with pytest.raises(MailkitResponseError) as info:
        _parse(answer)
    assert words in str(info.value)
    assert info.value.request_id == 678


@pytest.mark.parametrize("answer, words", WRONG_SHAPES[:6])
def test_wrong_shapes_through_both_decoders(answer, words):
    json_body = json.dumps(answer).encode()
    with pytest.raises(MailkitResponseError):
        _parse(decode_json_answer(json_body))
    if isinstance(answer, str):
        return  # a bare string over XML-RPC is an API error, tested above
    xml_body = xmlrpc.client.dumps((answer,), methodresponse=True).encode()
    with pytest.raises(MailkitResponseError) as info:
        _parse(decode_xmlrpc_answer(xml_body))
    assert words in str(info.value)


# --- the MD5 never shows -----------------------------------------------------------------
ECHOES = [
    ("json", f"<html><body>Bad request: md5={TEST_MD5}</body></html>".encode()),
    ("json", f'{{"echo": {{"md5": "{TEST_MD5}"'.encode()),  # truncated JSON echoing the request
    ("json", b" " * 620 + TEST_MD5.encode() + b" trailing garbage"),  # md5 across the end of the byte window
    ("json", b"\n" * 637 + TEST_MD5.encode()),
    ("xmlrpc", b"<methodResponse>" + b"\t" * 610 + TEST_MD5.encode()),
    ("xmlrpc", f"<methodResponse><params><param><value><int>{TEST_MD5}</int></value></param></params></methodResponse>".encode()),
    ("xmlrpc", f"<methodResponse><params><param><value><double>{TEST_MD5}</double></value></param></params></methodResponse>".encode()),
    ("xmlrpc", f"<methodResponse><params><param><value><boolean>{TEST_MD5}</boolean></value></param></params></methodResponse>".encode()),
    ("xmlrpc", f"<methodResponse><params><param><value><string>{TEST_MD5}</string>".encode()),  # truncated
    ("xmlrpc", f"<!DOCTYPE x [<!ENTITY e '{TEST_MD5}'>]><methodResponse/>".encode()),
]


@pytest.mark.parametrize("transport, body", ECHOES)
def test_excerpt_never_contains_the_md5(transport, body):
    decode = decode_json_answer if transport == "json" else decode_xmlrpc_answer
    with pytest.raises(MailkitResponseError) as info:
        decode(body)
    assert_no_secret(info.value.excerpt)
    assert_no_secret(str(info.value))
    assert_no_secret(info.value.message)
    assert_no_secret(body_excerpt(body))


@pytest.mark.parametrize(
    "transport, body, error",
    [
        ("json", json.dumps({"error": f"Unauthorized: id 1 md5 {TEST_MD5}"}).encode(), MailkitAuthError),
        ("json", json.dumps({"error": f"Bad md5 {TEST_MD5}"}).encode(), MailkitAPIError),
        ("json", json.dumps({"error": {"md5": TEST_MD5, "pad": "x" * 300}}).encode(), MailkitAPIError),
        ("xmlrpc", _fault(1, f"Unauthorized ({TEST_MD5})"), MailkitAuthError),
        ("xmlrpc", _fault(TEST_MD5, "Bad call"), MailkitAPIError),
        ("xmlrpc", _bare_string(f"Bad md5 {TEST_MD5}"), MailkitAPIError),
    ],
)
def test_api_error_texts_never_contain_the_md5(transport, body, error):
    decode = decode_json_answer if transport == "json" else decode_xmlrpc_answer
    with pytest.raises(error) as info:
        decode(body)
    assert_no_secret(str(info.value))
    assert_no_secret(info.value.api_text)


@pytest.mark.parametrize("field", ["ERROR_CODE", "ID_SEND", "ID_EMAIL", "ID_SEND_MESSAGE", "DATE"])
def test_bad_values_echoing_the_md5_are_not_quoted(field):
    row = {"ERROR_CODE": 1, field: f"x{TEST_MD5}"}
    with pytest.raises(MailkitResponseError) as info:
        _parse({"status": "ERROR", "results": [row]})
    assert field in str(info.value)
    assert_no_secret(str(info.value))


# --- through the client: API errors are final, not retried -----------------------------
@pytest.mark.parametrize(
    "transport, body, error",
    [
        ("json", b'{"error_status": 1, "error": "Unauthorized"}', MailkitAuthError),
        ("json", b'{"error_status": 1, "error": "Disallowed IP 1.2.3.4"}', MailkitAuthError),
        ("json", b'{"error_status": 1, "error": "Invalid request_id"}', MailkitAPIError),
        ("xmlrpc", _bare_string("Unauthorized"), MailkitAuthError),
        ("xmlrpc", UNTYPED_UNAUTHORIZED, MailkitAuthError),
        ("xmlrpc", _fault(1, "Unauthorized"), MailkitAuthError),
        ("xmlrpc", _fault(2, "Internal error"), MailkitAPIError),
        ("xmlrpc", _bare_string("Invalid request_id"), MailkitAPIError),
    ],
)
def test_client_does_not_retry_api_errors(server, make_client, transport, body, error):
    server.set_script([Reply(body=body, content_type="text/xml" if transport == "xmlrpc" else "application/json")])
    client = make_client(server.json_url if transport == "json" else server.rpc_url, transport)
    with pytest.raises(error) as info:
        client.results(4711)
    assert server.count == 1
    assert info.value.request_id == 4711
    assert info.value.url == client.url
    assert_no_secret(str(info.value))
    if error is MailkitAuthError:
        _assert_auth_message(info.value)


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_client_wrong_shape_is_not_retried(server, make_client, transport):
    body = b'{"error_status": 0, "status": "PENDING"}' if transport == "json" else xmlrpc.client.dumps(
        ({"status": "PENDING"},), methodresponse=True
    ).encode()
    server.set_script([Reply(body=body)])
    client = make_client(server.json_url if transport == "json" else server.rpc_url, transport)
    with pytest.raises(MailkitResponseError, match="PENDING"):
        client.results(99)
    assert server.count == 1


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_client_html_page_with_200_is_a_response_error_after_retries(server, make_client, transport):
    page = f"<!DOCTYPE html><html><body>Gateway says no. md5={TEST_MD5}</body></html>".encode()
    server.set_script([Reply(body=page, content_type="text/html")])
    client = make_client(server.json_url if transport == "json" else server.rpc_url, transport)
    with pytest.raises(MailkitResponseError) as info:
        client.results(99)
    assert "Gateway says no" in info.value.excerpt
    assert_no_secret(str(info.value))
    assert server.count == client.policy.retries + 1  # malformed answers are retried, then reported


def test_every_error_made_in_a_test_is_checked_for_the_md5(md5_never_in_errors):
    # The module-wide fixture sees errors raised and caught inside the toolkit as well.
    with pytest.raises(MailkitAuthError):
        decode_json_answer(b'{"error": "Unauthorized"}')
    assert [type(e) for e in md5_never_in_errors] == [MailkitAuthError]


def test_every_error_is_a_mailkit_error():
    for cls in (MailkitAPIError, MailkitAuthError, MailkitResponseError):
        assert issubclass(cls, MailkitError)


def test_excerpts_and_value_messages_mask_recipient_addresses():
    from mailkit_analysis.api.results import parse_results_answer
    from mailkit_analysis.api.wire import decode_json_answer
    from mailkit_analysis.errors import MailkitResponseError

    cut = b'{"error_status": 1, "status": "ERROR", "results": [{"EMAIL": "jana.novakova@seznam.cz", "ERROR_CODE": 2'
    with pytest.raises(MailkitResponseError) as info:
        decode_json_answer(cut)
    assert "jana.novakova@seznam.cz" not in str(info.value) and "j***@seznam.cz" in str(info.value)
    answer = {"status": "ERROR", "results": [{"ERROR_CODE": "petr.svoboda@email.cz", "EMAIL": "x"}]}
    with pytest.raises(MailkitResponseError) as info:
        parse_results_answer(answer, request_id=1, fetched_at=FETCHED_AT)
    assert "petr.svoboda" not in str(info.value) and "p***@email.cz" in str(info.value)
