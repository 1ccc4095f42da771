"""The client over real HTTP on loopback: retries, timeouts, transport errors, fetch_many."""
from __future__ import annotations

import json
import time
import xmlrpc.client

import pandas as pd
import pytest
from loopback import (
    TEST_MD5,
    Received,
    Reply,
    assert_no_secret,
    closed_port,
    reference_bytes,
)

from mailkit_analysis import MailkitAuthError, MailkitClient, MailkitTransportError, RetryPolicy
from mailkit_analysis.sync.concurrent_fetch import FetchFailure, RequestRef, fetch_many

pytestmark = pytest.mark.usefixtures("isolated_settings", "md5_never_in_errors")

OK_JSON = reference_bytes("response_ok.json")
ERROR_JSON = reference_bytes("response_error.json")
OK_XML = reference_bytes("response_ok.xml")
ERROR_XML = reference_bytes("response_error.xml")

ANSWERS = {"json": (OK_JSON, ERROR_JSON), "xmlrpc": (OK_XML, ERROR_XML)}


def _url(server, transport):
    return server.json_url if transport == "json" else server.rpc_url


# --- could not reach / gave up -----------------------------------------------------------
@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_connection_refused_is_a_transport_error(make_client, transport):
    client = make_client(f"http://127.0.0.1:{closed_port()}/json.fcgi", transport)
    started = time.monotonic()
    with pytest.raises(MailkitTransportError) as info:
        client.results(678)
    assert time.monotonic() - started < 5
    text = str(info.value)
    assert "Could not reach the endpoint" in text
    assert "request_id=678" in text and client.url in text
    assert_no_secret(text)


def test_invalid_url_is_a_transport_error(make_client):
    with pytest.raises(MailkitTransportError, match="Invalid endpoint URL"):
        make_client("not-a-url/json.fcgi").results(1)


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_503_every_time_gives_up_after_the_retries(server, make_client, transport):
    server.set_script([Reply(status=503, body=b"busy", content_type="text/plain")])
    client = make_client(_url(server, transport), transport, policy=RetryPolicy(retries=2, backoff_factor=0.01))
    with pytest.raises(MailkitTransportError) as info:
        client.results(678)
    assert server.count == 3  # the first try and two retries
    assert "HTTP 503" in str(info.value) and "after 2 retries" in str(info.value)
    assert_no_secret(str(info.value))


def test_404_is_not_retried(server, make_client):
    server.set_script([Reply(status=404, body=b"Not Found", content_type="text/plain")])
    with pytest.raises(MailkitTransportError, match="HTTP 404"):
        make_client(server.json_url).results(678)
    assert server.count == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_5xx_then_success_retries_the_post(server, make_client, transport, status):
    ok, error = ANSWERS[transport]
    server.set_script([Reply(status=status, body=b"oops", content_type="text/plain"), Reply(body=error)])
    client = make_client(_url(server, transport), transport)
    result = client.results(678)
    assert result.status == "ERROR" and len(result.frame) == 1
    assert server.count == 2
    assert [r.method for r in server.received] == ["POST", "POST"]
    assert server.bodies[0] == server.bodies[1]  # the same call, sent again


def test_429_retry_after_is_honoured(server, make_client):
    server.set_script([Reply(status=429, body=b"slow down", content_type="text/plain", headers={"Retry-After": "1"}), Reply(body=ERROR_JSON)])
    client = make_client(server.json_url, policy=RetryPolicy(retries=2, backoff_factor=0.01))
    started = time.monotonic()
    result = client.results(678)
    elapsed = time.monotonic() - started
    assert result.status == "ERROR"
    assert server.count == 2
    assert elapsed >= 0.95, f"Retry-After: 1 was not honoured ({elapsed:.2f}s)"
    gap = server.received[1].at - server.received[0].at
    assert gap >= 0.95
    assert elapsed < 10


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_connection_closed_without_answer_then_success(server, make_client, transport):
    ok, error = ANSWERS[transport]
    server.set_script([Reply(close_early=True), Reply(body=error)])
    result = make_client(_url(server, transport), transport).results(678)
    assert result.status == "ERROR"
    assert server.count == 2


@pytest.mark.parametrize("cut", [0, 1, 20, -1])
@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_body_cut_short_is_retried_then_succeeds(server, make_client, transport, cut):
    ok, error = ANSWERS[transport]
    server.set_script([Reply(body=error, send_bytes=len(error) + cut if cut < 0 else cut), Reply(body=error)])
    client = make_client(_url(server, transport), transport)
    result = client.results(678)
    assert result.status == "ERROR"
    assert len(result.frame) == 1
    assert server.count == 2
    assert client.calls == 1


def test_body_cut_short_every_time_is_a_transport_error(server, make_client):
    server.set_script([Reply(body=ERROR_JSON, send_bytes=30)])
    client = make_client(server.json_url)
    with pytest.raises(MailkitTransportError, match="while reading the answer") as info:
        client.results(678)
    assert server.count == client.policy.retries + 1
    assert_no_secret(str(info.value))


def test_read_timeout_is_a_transport_error(server, make_client):
    server.set_script([Reply(body=OK_JSON, delay=1.0)])
    policy = RetryPolicy(retries=1, backoff_factor=0.01, connect_timeout=1.0, read_timeout=0.25)
    client = make_client(server.json_url, policy=policy)
    started = time.monotonic()
    with pytest.raises(MailkitTransportError) as info:
        client.results(678)
    assert time.monotonic() - started < 3
    assert server.count == 2  # the read timeout is retried once, then reported
    assert "timed out" in str(info.value).lower()


def test_read_timeout_then_success(server, make_client):
    server.set_script([Reply(body=OK_JSON, delay=1.0), Reply(body=ERROR_JSON)])
    policy = RetryPolicy(retries=2, backoff_factor=0.01, connect_timeout=1.0, read_timeout=0.25)
    result = make_client(server.json_url, policy=policy).results(678)
    assert result.status == "ERROR"
    assert server.count == 2


def test_stall_mid_body_is_retried(server, make_client):
    server.set_script([Reply(body=ERROR_XML, send_bytes=40, stall=1.0), Reply(body=ERROR_XML)])
    policy = RetryPolicy(retries=2, backoff_factor=0.01, connect_timeout=1.0, read_timeout=0.25)
    result = make_client(server.rpc_url, "xmlrpc", policy=policy).results(678)
    assert result.status == "ERROR"
    assert result.frame["error_code"].tolist() == [1]
    assert server.count == 2


def test_one_client_serves_many_calls(server, make_client):
    server.set_script([Reply(body=OK_JSON)])
    client = make_client(server.json_url)
    for request_id in range(1, 6):
        assert client.results(request_id).status == "OK"
    assert client.calls == 5 and server.count == 5
    assert [json.loads(b)["parameters"]["request_id"] for b in server.bodies] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("bad", [0, -3, "abc", None])
def test_request_id_must_be_positive(server, make_client, bad):
    with pytest.raises(ValueError):
        make_client(server.json_url).results(bad)
    assert server.count == 0


def test_transport_must_be_known(credentials):
    with pytest.raises(ValueError, match="transport"):
        MailkitClient(credentials, transport="soap", url="http://127.0.0.1:1/")


# --- fetch_many ---------------------------------------------------------------------------
def _requested_id(received: Received) -> int:
    if received.path.endswith("json.fcgi"):
        return int(json.loads(received.body)["parameters"]["request_id"])
    params, _ = xmlrpc.client.loads(received.body)
    return int(params[3])


def _row(request_id: int, code: int) -> dict:
    return {
        "ID_SEND_MESSAGE": request_id * 10, "ID_SEND": 500 + request_id, "ID_EMAIL": request_id * 100,
        "DATE": "2024-05-01 10:00:00", "EMAIL": f"r{request_id}@example.cz", "ERROR_CODE": code, "INFO": f"row of {request_id}",
    }


def _answer(transport: str, request_id: int) -> bytes:
    value = {"status": "ERROR", "results": [_row(request_id, request_id % 8 + 1)]} if request_id % 2 else {"status": "OK"}
    if transport == "json":
        return json.dumps({"error_status": int(request_id % 2), **value}).encode()
    return xmlrpc.client.dumps((value,), methodresponse=True).encode()


def _responder(transport: str, broken: set[int] = frozenset(), auth: set[int] = frozenset(), delay: float = 0.0):
    def respond(received: Received) -> Reply:
        request_id = _requested_id(received)
        if request_id in broken:
            return Reply(status=500, body=b"permanently broken", content_type="text/plain")
        if request_id in auth:
            body = b'{"error_status": 1, "error": "Unauthorized"}' if transport == "json" else xmlrpc.client.dumps(
                ("Unauthorized",), methodresponse=True
            ).encode()
            return Reply(body=body)
        return Reply(body=_answer(transport, request_id), delay=delay)

    return respond


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_fetch_many_keeps_successes_and_reports_the_failure(server, make_client, transport):
    server.set_script(_responder(transport, broken={3}))
    client = make_client(_url(server, transport), transport)
    seen = []
    report = fetch_many(client, [1, 2, 3, 4, 5, (5, 0), RequestRef(1)], workers=3, on_answer=seen.append)
    assert not report.ok
    assert sorted(a.request_id for a in report.answers) == [1, 2, 4, 5]
    assert sorted(a.request_id for a in seen) == [1, 2, 4, 5]
    assert len(report.failures) == 1
    failure = report.failures[0]
    assert isinstance(failure, FetchFailure)
    assert failure.request_id == 3
    assert failure.error_type == "MailkitTransportError"
    assert "HTTP 500" in failure.reason
    assert "request_id=3" in str(failure)
    assert_no_secret(str(failure))
    frame = report.frame()
    assert frame["request_id"].tolist() == [1, 5]  # only odd ids report rows; ordered by request
    assert frame["email"].tolist() == ["r1@example.cz", "r5@example.cz"]
    assert frame["id_send"].tolist() == [501, 505]
    # 4 good requests once each (duplicates fetched once) + request 3 tried 1 + 2 retries.
    assert server.count == 4 + 3


def test_fetch_many_all_good(server, make_client):
    server.set_script(_responder("json"))
    report = fetch_many(make_client(server.json_url), range(1, 9), workers=4)
    assert report.ok
    assert sorted(a.request_id for a in report.answers) == list(range(1, 9))
    assert sorted(report.frame()["request_id"].tolist()) == [1, 3, 5, 7]
    assert {a.status for a in report.answers} == {"OK", "ERROR"}


def test_fetch_many_nothing_to_fetch(make_client):
    report = fetch_many(make_client("http://127.0.0.1:1/json.fcgi"), [])
    assert report.ok and report.answers == [] and report.frame().empty


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_fetch_many_stops_on_an_auth_error(server, make_client, transport):
    server.set_script(_responder(transport, auth={1}, delay=0.2))
    ids = list(range(1, 11))
    with pytest.raises(MailkitAuthError) as info:
        fetch_many(make_client(_url(server, transport), transport), ids, workers=1)
    # Request 1 is refused; at most the one call already in flight follows it.
    assert server.count <= 3 < len(ids), "the run went on after the credentials were refused"
    assert_no_secret(str(info.value))
    assert TEST_MD5 not in str(info.value)


def test_fetch_many_results_frame_has_the_schema(server, make_client):
    server.set_script(_responder("json"))
    frame = fetch_many(make_client(server.json_url), [1, 3]).frame()
    assert frame["error_name"].notna().all()
    assert str(frame["date"].dtype) == "datetime64[us, Europe/Prague]"
    assert frame["date"].iloc[0] == pd.Timestamp("2024-05-01 10:00:00", tz="Europe/Prague")
