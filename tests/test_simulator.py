"""Tests of the built-in Mailkit simulator, over real HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import re
import time
import xml.parsers.expat
import xmlrpc.client
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from mailkit_analysis.simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_MD5,
    FaultConfig,
    MailkitSimulator,
    SimulatedAccount,
)

UTC = timezone.utc
PRAGUE = ZoneInfo("Europe/Prague")
# A winter anchor: the 90 days before it cross the end of summer time, so the
# Prague wall-time check below covers both UTC offsets.
ANCHOR = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
LATER = ANCHOR + timedelta(hours=1)  # every request is fully processed by then
RESULTS = "mailkit.sendmail_mass.results"
NO_ADDRESS_RECORD = {2, 3, 4, 5}
NO_SEND = {4, 5}


@pytest.fixture(scope="module")
def account() -> SimulatedAccount:
    return SimulatedAccount(seed=0, anchor=ANCHOR)


@pytest.fixture(scope="module")
def rows(account) -> dict[int, list[dict]]:
    return account.all_rows(LATER)


@pytest.fixture(scope="module")
def small_account() -> SimulatedAccount:
    return SimulatedAccount(seed=5, anchor=ANCHOR, n_requests=120)


@pytest.fixture()
def session():
    with requests.Session() as s:
        yield s


def call_json(session, sim, function, *, client_id=DEFAULT_CLIENT_ID, md5=DEFAULT_CLIENT_MD5,
              timeout=5, **params):
    body = {"function": function, "id": client_id, "md5": md5, "parameters": params}
    return session.post(sim.json_url, data=json.dumps(body), timeout=timeout)


def error_request(account, min_rows=1, codes=None):
    """A request of the account whose final rows match the wish."""
    for rid in account.demo_request_ids():
        status, found = account.results_for(rid, now=LATER)
        if len(found) >= min_rows and (codes is None or {r["ERROR_CODE"] for r in found} <= codes):
            return rid, found
    raise AssertionError("no such request")


# ----------------------------------------------------------------- the account

def test_same_seed_same_account_and_other_seed_differs(account):
    twin = SimulatedAccount(seed=0, anchor=ANCHOR)
    assert twin.requests() == account.requests()
    assert twin.campaigns() == account.campaigns()
    for rid in account.demo_request_ids()[::25]:
        assert twin.results_for(rid, now=LATER) == account.results_for(rid, now=LATER)
    other = SimulatedAccount(seed=1, anchor=ANCHOR)
    assert other.requests() != account.requests()


def test_rows_do_not_depend_on_which_request_is_asked_first(account):
    ids = account.demo_request_ids()
    fresh = SimulatedAccount(seed=0, anchor=ANCHOR)
    for rid in reversed(ids[-40:]):
        assert fresh.results_for(rid, now=LATER) == account.results_for(rid, now=LATER)


def test_manifest_is_realistic(account):
    records = account.requests()
    assert len(records) == 600
    ids = [r.request_id for r in records]
    assert ids == sorted(ids) and len(set(ids)) == 600 and ids[0] > 700000
    assert any(b - a > 1 for a, b in zip(ids, ids[1:]))  # not contiguous
    assert all(20 <= r.recipients <= 5000 for r in records)
    assert all(5 <= r.processing_minutes <= 25 for r in records)
    assert all(ANCHOR - timedelta(days=90) <= r.sent_at <= ANCHOR for r in records)
    assert all(r.sent_at.tzinfo is not None for r in records)
    assert sum(r.sent_at > ANCHOR - timedelta(minutes=30) for r in records) >= 3
    assert account.demo_request_ids() == ids
    assert 35 <= len(account.campaigns()) <= 45


def test_all_codes_including_unknown_occur(rows):
    codes = Counter(r["ERROR_CODE"] for found in rows.values() for r in found)
    assert set(codes) == set(range(1, 10))
    assert codes[9] <= 10  # a handful only
    assert codes[2] > codes[3] and codes[6] > codes[3]


def test_many_requests_have_no_error(account, rows):
    assert 0.25 < 1 - len(rows) / account.n_requests < 0.75


def test_setup_errors_fail_every_recipient(account, rows):
    failures = account.setup_failures()
    assert set(failures.values()) == {1, 4, 5, 7, 8}
    assert len(failures) / account.n_requests < 0.05
    recipients = {r.request_id: r.recipients for r in account.requests()}
    for rid, code in failures.items():
        assert len(rows[rid]) == recipients[rid]
        assert {r["ERROR_CODE"] for r in rows[rid]} == {code}
    for rid, found in rows.items():
        if rid not in failures:
            assert len(found) < recipients[rid]
            assert not {r["ERROR_CODE"] for r in found} & {1, 4, 5, 7, 8}


def test_setup_failures_come_in_runs_of_consecutive_sends(account):
    records = account.requests()
    failures = account.setup_failures()
    runs = account.failure_runs()
    assert len(runs) < len(failures)  # at least one campaign failed more than one send in a row
    assert sorted(rid for run in runs for rid in run["request_ids"]) == sorted(failures)
    for run in runs:
        own = [r.request_id for r in records if r.campaign_id == run["campaign_id"]]
        at = own.index(run["request_ids"][0])
        assert own[at:at + len(run["request_ids"])] == run["request_ids"]  # consecutive sends of the campaign
        assert {failures[rid] for rid in run["request_ids"]} == {run["error_code"]}
        after = own[at + len(run["request_ids"]):]
        assert run["ongoing"] == (not after)
        assert not after or failures.get(after[0]) != run["error_code"]  # fixed: the next send is fine


def test_zero_id_rules_per_code(account, rows):
    sends = {r.request_id: r.id_send for r in account.requests()}
    messages = []
    for rid, found in rows.items():
        for r in found:
            code = r["ERROR_CODE"]
            assert (r["ID_EMAIL"] == 0) == (code in NO_ADDRESS_RECORD)
            assert (r["ID_SEND_MESSAGE"] == 0) == (code in NO_ADDRESS_RECORD)
            assert r["ID_SEND"] == (0 if code in NO_SEND else sends[rid])
            assert (r["EMAIL"] == "") == (code == 3)
            assert isinstance(r["INFO"], str) and r["INFO"]
            if r["ID_SEND_MESSAGE"]:
                messages.append(r["ID_SEND_MESSAGE"])
    assert len(messages) == len(set(messages))  # one per recipient


def test_field_names_and_types(rows):
    row = next(iter(rows.values()))[0]
    assert list(row) == ["ERROR_CODE", "INFO", "DATE", "ID_EMAIL", "EMAIL", "ID_SEND", "ID_SEND_MESSAGE"]
    types = {k: type(v) for k, v in row.items()}
    assert types == {"ERROR_CODE": int, "INFO": str, "DATE": str, "ID_EMAIL": int, "EMAIL": str,
                     "ID_SEND": int, "ID_SEND_MESSAGE": int}


def test_date_is_prague_wall_time_within_processing(account, rows):
    records = {r.request_id: r for r in account.requests()}
    offsets = set()
    for rid, found in rows.items():
        rec = records[rid]
        for r in found:
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["DATE"])
            local = datetime.strptime(r["DATE"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=PRAGUE)
            offsets.add(local.utcoffset())
            # A wrong zone would be off by an hour or two, far beyond the window.
            assert rec.sent_at <= local.astimezone(UTC) <= rec.sent_at + timedelta(minutes=rec.processing_minutes)
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}


def test_incidents_are_visible_in_the_rows(account, rows):
    surge = account.incidents["invalid_address_surge"]
    recipients = {r.request_id: r.recipients for r in account.requests()}
    assert len(surge["request_ids"]) >= 3
    for rid in surge["request_ids"]:
        invalid = sum(r["ERROR_CODE"] == 2 for r in rows[rid])
        assert invalid / recipients[rid] > 0.1
    domains = Counter(r["EMAIL"].rsplit("@", 1)[-1] for found in rows.values()
                      for r in found if r["ERROR_CODE"] == 2)
    top = {d for d, _ in domains.most_common(6)}
    assert {"gmial.com", "seznam.cy", "seznan.cz"} & top
    assert account.incidents["typo_domain_cluster"]["request_ids"]


def test_unknown_request_and_foreign_send(account):
    assert account.results_for(1, now=LATER) == ("UNKNOWN_REQUEST", [])
    with pytest.raises(ValueError):
        account.results_for(account.demo_request_ids()[0], now=LATER.replace(tzinfo=None))
    rid, _ = error_request(account)
    assert account.results_for(rid, id_send=1, now=LATER) == ("OK", [])


def test_campaign_reports_match_manifest(account):
    records = account.requests()
    failures = account.setup_failures()
    campaign = account.campaigns()[0]["ID_MESSAGE"]
    report = account.report_campaign(campaign)
    expected = [r for r in records if r.campaign_id == campaign and failures.get(r.request_id) not in (4, 5)]
    assert [s["ID_SEND"] for s in report] == [r.id_send for r in expected]
    assert [s["SEND_COUNT"] for s in report] == [r.recipients for r in expected]
    with pytest.raises(KeyError):
        account.report_campaign(1)


def test_large_accounts_are_cheap():
    start = time.perf_counter()
    big = SimulatedAccount(seed=2, anchor=ANCHOR, n_requests=2000)
    assert time.perf_counter() - start < 1.0
    huge = SimulatedAccount(seed=2, anchor=ANCHOR, n_requests=5000)
    assert len(set(huge.demo_request_ids())) == 5000
    assert big.results_for(big.demo_request_ids()[-1], now=LATER)[0] in ("OK", "ERROR")


def test_default_anchor_is_now_to_the_minute():
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    acc = SimulatedAccount(n_requests=10)
    assert acc.anchor.second == 0 and acc.anchor.microsecond == 0
    assert before <= acc.anchor <= datetime.now(UTC)


# ------------------------------------------------------------- JSON over HTTP

def test_results_are_ok_before_processing_then_grow(small_account, session):
    now = [ANCHOR]
    rid, final = error_request(small_account, min_rows=8, codes={2, 3, 6, 9})
    record = next(r for r in small_account.requests() if r.request_id == rid)
    with MailkitSimulator(small_account, clock=lambda: now[0]) as sim:
        now[0] = record.sent_at - timedelta(seconds=1)
        assert call_json(session, sim, RESULTS, request_id=rid).json() == {
            "error_status": 1, "error": "Invalid request_id"}
        now[0] = record.sent_at
        assert call_json(session, sim, RESULTS, request_id=rid).json() == {"error_status": 0, "status": "OK"}
        seen = []
        for minute in range(record.processing_minutes + 1):
            now[0] = record.sent_at + timedelta(minutes=minute, seconds=30)
            answer = call_json(session, sim, RESULTS, request_id=str(rid)).json()
            seen.append(len(answer.get("results", [])))
        assert seen == sorted(seen) and seen[-1] == len(final)
        assert len(set(seen)) > 2  # grew in steps, not all at once


def test_recent_requests_are_still_being_processed(account):
    recent = [r for r in account.requests() if r.sent_at > ANCHOR - timedelta(minutes=30)]
    assert len(recent) >= 3
    assert any(r.sent_at + timedelta(minutes=r.processing_minutes) > ANCHOR for r in recent)
    for r in recent:
        early = account.results_for(r.request_id, now=ANCHOR)[1]
        final = account.results_for(r.request_id, now=LATER)[1]
        assert early == final[: len(early)]


def test_json_results_shape(small_account, session):
    rid, final = error_request(small_account, min_rows=1)
    ok_rid = next(i for i in small_account.demo_request_ids() if small_account.results_for(i, now=LATER)[0] == "OK")
    send = next(r.id_send for r in small_account.requests() if r.request_id == rid)
    with MailkitSimulator(small_account, clock=lambda: LATER) as sim:
        response = call_json(session, sim, RESULTS, client_id=str(DEFAULT_CLIENT_ID), request_id=rid)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        answer = response.json()
        assert answer["error_status"] == 1 and answer["status"] == "ERROR"
        assert answer["results"] == final
        assert list(answer["results"][0]) == ["ID_SEND_MESSAGE", "ID_SEND", "ID_EMAIL", "DATE", "EMAIL",
                                              "ERROR_CODE", "INFO"]
        assert call_json(session, sim, RESULTS, request_id=rid, ID_send=send).json() == answer
        assert call_json(session, sim, RESULTS, request_id=rid, ID_send="").json() == answer
        assert call_json(session, sim, RESULTS, request_id=rid, ID_send=send + 1).json()["status"] == "OK"
        assert call_json(session, sim, RESULTS, request_id=ok_rid, ID_send=0).json() == {
            "error_status": 0, "status": "OK"}
        assert call_json(session, sim, RESULTS).json() == {"error_status": 1, "error": "Missing request_id"}
        assert call_json(session, sim, RESULTS, request_id=1).json() == {
            "error_status": 1, "error": "Invalid request_id"}


def test_json_errors_and_credentials(small_account, session):
    with MailkitSimulator(small_account, clock=lambda: LATER) as sim:
        rid = small_account.demo_request_ids()[0]
        response = call_json(session, sim, RESULTS, md5="0" * 32, request_id=rid)
        assert response.status_code == 200
        assert response.json() == {"error_status": 1, "error": "Unauthorized"}
        assert call_json(session, sim, RESULTS, client_id=1, request_id=rid).json()["error"] == "Unauthorized"
        assert call_json(session, sim, "mailkit.nothing").json() == {"error_status": 1, "error": "Unknown function"}
        bad = session.post(sim.json_url, data=b"{not json", timeout=5)
        assert bad.status_code == 200 and bad.json() == {"error_status": 1, "error": "Invalid request"}
        answers = call_json(session, sim, RESULTS, request_id=rid).text + response.text
        assert DEFAULT_CLIENT_MD5 not in answers


def test_json_campaign_functions(small_account, session):
    with MailkitSimulator(small_account, clock=lambda: LATER) as sim:
        campaigns = call_json(session, sim, "mailkit.campaigns.list").json()
        assert campaigns == small_account.campaigns()
        assert any(c["NAME"] == "Potvrzení objednávky" for c in campaigns)
        used = small_account.requests()[0].campaign_id
        report = call_json(session, sim, "mailkit.report.campaign", ID_message=str(used)).json()
        expected = small_account.report_campaign(used)
        assert [r["ID_SEND"] for r in report] == [str(r["ID_SEND"]) for r in expected]  # numbers as strings
        assert call_json(session, sim, "mailkit.report.campaign", ID_message=1).json() == {
            "error_status": 1, "error": "Invalid ID_message"}


# ------------------------------------------------------------ XML-RPC over HTTP

def test_xmlrpc_results_match_json(small_account, session):
    rid, final = error_request(small_account, min_rows=1)
    with MailkitSimulator(small_account, clock=lambda: LATER) as sim:
        proxy = xmlrpc.client.ServerProxy(sim.rpc_url)
        answer = proxy.mailkit.sendmail_mass.results(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, 0, rid)
        assert answer == {"status": "ERROR", "results": final}
        assert proxy.mailkit.sendmail_mass.results(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, "", rid) == answer
        raw = session.post(sim.rpc_url, timeout=5, headers={"Content-Type": "text/xml"}, data=xmlrpc.client.dumps(
            (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, 0, rid), "mailkit.sendmail_mass.results"))
        assert raw.status_code == 200 and "<i4>" in raw.text and "<int>" not in raw.text
        ok_rid = next(i for i in small_account.demo_request_ids() if small_account.results_for(i, now=LATER)[0] == "OK")
        assert proxy.mailkit.sendmail_mass.results(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, 0, ok_rid) == {"status": "OK"}
        assert proxy.mailkit.sendmail_mass.results(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, 0, 1) == "Invalid request_id"
        listed = proxy.mailkit.campaigns.list(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5)
        assert [c["ID_MESSAGE"] for c in listed] == [c["ID_MESSAGE"] for c in small_account.campaigns()]
        used = small_account.requests()[0].campaign_id
        assert proxy.mailkit.report.campaign(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, used) == \
            small_account.report_campaign(used)


def test_xmlrpc_ints_are_i4_and_i8_only_beyond_32_bits():
    from mailkit_analysis.simulator.xmlrpc_api import dump_response

    text = dump_response({"small": 2**31 - 1, "big": 2**40}).decode()
    assert "<i4>2147483647</i4>" in text and "<i8>1099511627776</i8>" in text
    assert xmlrpc.client.loads(text)[0][0] == {"small": 2**31 - 1, "big": 2**40}


def test_xmlrpc_wrong_credentials_is_a_bare_string(small_account, session):
    rid = small_account.demo_request_ids()[0]
    with MailkitSimulator(small_account, clock=lambda: LATER) as sim:
        proxy = xmlrpc.client.ServerProxy(sim.rpc_url)
        assert proxy.mailkit.sendmail_mass.results(DEFAULT_CLIENT_ID, "wrong", 0, rid) == "Unauthorized"
        raw = session.post(sim.rpc_url, timeout=5, data=xmlrpc.client.dumps(
            (DEFAULT_CLIENT_ID, "wrong", 0, rid), "mailkit.sendmail_mass.results")).text
        assert "<fault>" not in raw and "<string>Unauthorized</string>" in raw


def test_xmlrpc_faults_for_unknown_method_and_bad_xml(small_account, session):
    with MailkitSimulator(small_account, clock=lambda: LATER) as sim:
        proxy = xmlrpc.client.ServerProxy(sim.rpc_url)
        with pytest.raises(xmlrpc.client.Fault) as info:
            proxy.mailkit.no_such_thing(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5)
        assert info.value.faultCode == -32601
        raw = session.post(sim.rpc_url, data=b"<methodCall><methodName>", timeout=5)
        with pytest.raises(xmlrpc.client.Fault) as info:
            xmlrpc.client.loads(raw.content)
        assert info.value.faultCode == -32700


# ------------------------------------------------------------- HTTP plumbing

def test_paths_methods_keep_alive_and_counter(small_account, session):
    with MailkitSimulator(small_account, clock=lambda: LATER) as sim:
        assert session.get(sim.json_url, timeout=5).status_code == 405
        assert session.post(sim.base_url + "/api", data=b"{}", timeout=5).status_code == 404
        rid = small_account.demo_request_ids()[0]
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
        body = json.dumps({"function": RESULTS, "id": DEFAULT_CLIENT_ID, "md5": DEFAULT_CLIENT_MD5,
                           "parameters": {"request_id": rid}})
        for _ in range(3):  # three answers on one connection
            conn.request("POST", "/json.fcgi", body=body)
            response = conn.getresponse()
            assert response.status == 200 and response.getheader("Connection") == "keep-alive"
            assert int(response.getheader("Content-Length")) == len(response.read())
        conn.close()
        assert sim.request_count == 5
        assert sim.counts_by_function == {RESULTS: 3}
        sim.reset_count()
        assert sim.request_count == 0 and sim.counts_by_function == {}
    assert "5e1f" not in repr(sim)


# ---------------------------------------------------------------------- faults

def fault_sim(account, **config):
    return MailkitSimulator(account, clock=lambda: LATER, faults=FaultConfig(**config))


def test_rate_limit_has_retry_after_and_is_transient(small_account, session):
    rid = small_account.demo_request_ids()[0]
    with fault_sim(small_account, rate_limit_rate=1.0, retry_after_s=3) as sim:
        statuses = []
        for _ in range(3):
            response = call_json(session, sim, RESULTS, request_id=rid)
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["Retry-After"] == "3"
        assert statuses == [429, 429, 200]
        assert call_json(session, sim, RESULTS, request_id=rid).status_code == 200
        assert sim.faults_injected == {"rate_limit": 2}


def test_server_errors_and_unlimited_faults(small_account, session):
    rid = small_account.demo_request_ids()[0]
    with fault_sim(small_account, error_rate=1.0, max_faults_per_key=None) as sim:
        statuses = {call_json(session, sim, RESULTS, request_id=rid).status_code for _ in range(6)}
        assert statuses <= {500, 502, 503} and statuses
        assert sim.faults_injected == {"error": 6}


def test_reset_raises_connection_error(small_account, session):
    rid = small_account.demo_request_ids()[0]
    with fault_sim(small_account, reset_rate=1.0) as sim:
        with pytest.raises(requests.exceptions.ConnectionError):
            call_json(session, sim, RESULTS, request_id=rid)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.post(sim.json_url, data=b"{}", timeout=5)  # another key, fresh budget
        assert sim.faults_injected == {"reset": 2}


def test_truncated_body_is_shorter_than_content_length(small_account):
    rid, _ = error_request(small_account, min_rows=1)
    with fault_sim(small_account, truncate_rate=1.0) as sim:
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
        body = json.dumps({"function": RESULTS, "id": DEFAULT_CLIENT_ID, "md5": DEFAULT_CLIENT_MD5,
                           "parameters": {"request_id": rid}})
        conn.request("POST", "/json.fcgi", body=body)
        response = conn.getresponse()
        promised = int(response.getheader("Content-Length"))
        with pytest.raises(http.client.IncompleteRead) as info:
            response.read()
        assert 0 < len(info.value.partial) < promised
        conn.close()


def test_html_page_and_invalid_xml(small_account, session):
    rid = small_account.demo_request_ids()[0]
    with fault_sim(small_account, html_rate=1.0) as sim:
        response = call_json(session, sim, RESULTS, request_id=rid)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        assert "<h1>502 Bad Gateway</h1>" in response.text
        with pytest.raises(ValueError):
            response.json()
    with fault_sim(small_account, invalid_xml_rate=1.0) as sim:
        proxy = xmlrpc.client.ServerProxy(sim.rpc_url)
        with pytest.raises(xml.parsers.expat.ExpatError):
            proxy.mailkit.sendmail_mass.results(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, 0, rid)
        # Broken XML is an XML-RPC fault only: JSON calls are answered normally.
        assert call_json(session, sim, RESULTS, request_id=rid).json()["status"] in ("OK", "ERROR")
        assert sim.faults_injected == {"invalid_xml": 1}


def test_stall_times_out_the_client(small_account, session):
    rid = small_account.demo_request_ids()[0]
    sim = fault_sim(small_account, stall_rate=1.0, stall_s=3.0).start()
    try:
        start = time.perf_counter()
        with pytest.raises(requests.exceptions.RequestException):
            call_json(session, sim, RESULTS, request_id=rid, timeout=(2, 0.4))
        assert time.perf_counter() - start < 2.0
    finally:
        start = time.perf_counter()
        sim.stop()
        assert time.perf_counter() - start < 2.0  # stop wakes the stalled answer


def test_permanent_ids_always_fail(small_account, session):
    doomed, fine = small_account.demo_request_ids()[:2]
    with fault_sim(small_account, permanent_fail_ids=[doomed]) as sim:
        assert [call_json(session, sim, RESULTS, request_id=doomed).status_code for _ in range(5)] == [503] * 5
        assert call_json(session, sim, RESULTS, request_id=fine).status_code == 200
        assert sim.faults_injected == {"permanent": 5}


def test_latency_and_live_reconfiguration(small_account, session):
    rid = small_account.demo_request_ids()[0]
    with fault_sim(small_account, latency_ms=150) as sim:
        start = time.perf_counter()
        call_json(session, sim, RESULTS, request_id=rid)
        assert time.perf_counter() - start >= 0.15
        sim.faults = None
        start = time.perf_counter()
        call_json(session, sim, RESULTS, request_id=rid)
        assert time.perf_counter() - start < 0.15


def test_fault_decisions_are_reproducible(small_account, session):
    ids = small_account.demo_request_ids()[:20]

    def statuses():
        with fault_sim(small_account, error_rate=0.3, rate_limit_rate=0.2, seed=11) as sim:
            return [call_json(session, sim, RESULTS, request_id=rid).status_code for rid in ids for _ in range(3)]

    first = statuses()
    assert first == statuses()
    assert 200 in first and set(first) - {200}


def test_fault_config_is_validated():
    with pytest.raises(ValueError):
        FaultConfig(error_rate=0.7, reset_rate=0.5)
    with pytest.raises(ValueError):
        FaultConfig(html_rate=-0.1)
    assert FaultConfig(permanent_fail_ids=[1, 2]).permanent_fail_ids == frozenset({1, 2})
