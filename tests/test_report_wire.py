"""The reporting functions on the wire: requests as documented, every answer shape seen, in
both formats, against a scripted loopback server.

The answers below are written from the field lists of Mailkit's documentation (not copied
from its English JSON example, which is not valid JSON): numbers are quoted strings over JSON
and ``<i4>`` over XML-RPC.
"""
from __future__ import annotations

import json
import xmlrpc.client

import pandas as pd
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback import TEST_CLIENT_ID, TEST_MD5, LoopbackServer, Reply, assert_no_secret
from simhelpers import ANCHOR, settled_manifest, sim_client

from mailkit_analysis import Credentials, MailkitClient, RetryPolicy
from mailkit_analysis.api.reports import campaigns_frame, report_frame, sends_frame
from mailkit_analysis.cache import load_sends
from mailkit_analysis.errors import MailkitResponseError
from mailkit_analysis.simulator import MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.fetch import fetch_results

FAST = RetryPolicy(retries=1, backoff_factor=0.01, backoff_max=0.02, connect_timeout=2, read_timeout=5)

SEND = {  # one record of mailkit.report.campaign, every documented field
    "ID_SEND": 52011, "DATE": "2026-11-03 09:15:00", "DATE2": "2026-11-03 09:21:00",
    "SUBJECT": "Vaše zásilka je na cestě", "FROM": "info@obchod.example", "SEND_COUNT": 240,
    "DELIVERED_COUNT": 231, "READ_COUNT": 101, "READ_COUNT_U": 99, "CLICK_COUNT": 20,
    "CLICK_COUNT_U": 19, "CLICK_RATE": 9, "CLICK_RATE2": 20, "FORWARD_COUNT": 0, "PRINT_COUNT": 0,
    "UNSUBSCRIBE": 1, "SPAM_REPORT": 0, "CONVERSION_COUNT": 0, "CONVERSION_COUNT_U": 0, "REV": 0,
}
SECOND_SEND = {**SEND, "ID_SEND": 52019, "DATE": "2026-11-04 10:00:00", "SEND_COUNT": 12, "DELIVERED_COUNT": 12}
CAMPAIGN = {  # one record of mailkit.campaigns.list, every documented field
    "ID_MESSAGE": 41017, "NAME": "Odeslání zásilky", "SUBJECT": "Vaše zásilka je na cestě", "SUBJECT_B": "",
    "MSG_TYPE": "email", "CAMPAIGN_TYPE": "normal", "USE_AB": 0, "TEST_MODE": 0,
    "SEND_DATE": "2026-09-01 08:00:00", "TIME_ZONE": "Europe/Prague", "LAST_SENT": "2026-11-19 17:02:11",
    "REPEAT": 0, "REPEAT_COUNT": 0, "PERIOD": "", "DAYS": "", "STATUS": "enabled", "TYPE": "immediate",
    "USER_LIST": [20005, 20007],
}
MESSAGE = {"SEND_COUNT": 240, "FAILED_COUNT": 9, "DELIVERED_COUNT": 231, "SEND_DATE": "2026-11-03 09:15:00",
           "SUBJECT": "Vaše zásilka je na cestě", "UTM": ""}


def quoted(value):
    """Numbers as strings, as the JSON answers of the report functions carry them."""
    if isinstance(value, list):
        return [quoted(v) for v in value]
    if isinstance(value, dict):
        return {k: quoted(v) for k, v in value.items()}
    return str(value) if isinstance(value, int) else value


def body(transport: str, value, *, quote: bool = True) -> Reply:
    """``value`` as that transport sends it (``None``: an empty body)."""
    if value is None:
        return Reply(body=b"", content_type="application/json" if transport == "json" else "text/xml")
    if transport == "json":
        return Reply(body=json.dumps(quoted(value) if quote else value, ensure_ascii=False).encode())
    return Reply(body=xmlrpc.client.dumps((value,), methodresponse=True, encoding="utf-8").encode(),
                 content_type="text/xml")


@pytest.fixture(params=["json", "xmlrpc"])
def transport(request):
    return request.param


def client_for(server, transport) -> MailkitClient:
    url = server.json_url if transport == "json" else server.rpc_url
    return MailkitClient(Credentials(TEST_CLIENT_ID, TEST_MD5), transport=transport, url=url, policy=FAST)


def sent(server, transport) -> tuple[str, dict | tuple]:
    """What the server received last: the function and its parameters."""
    raw = server.bodies[-1]
    if transport == "json":
        call = json.loads(raw)
        return call["function"], call.get("parameters", {})
    params, method = xmlrpc.client.loads(raw)
    return method, params


# --------------------------------------------------------------------------- requests

def test_report_campaign_carries_the_range(transport):
    with LoopbackServer([body(transport, [SEND])]) as server, client_for(server, transport) as client:
        client.report_campaign(41017, "2026-11-01", pd.Timestamp("2026-11-30"))
        function, params = sent(server, transport)
    assert function == "mailkit.report.campaign"
    if transport == "json":
        assert params == {"ID_message": 41017, "range_from": "2026-11-01", "range_to": "2026-11-30"}
    else:
        assert params == (TEST_CLIENT_ID, TEST_MD5, 41017, "2026-11-01", "2026-11-30")


def test_report_message_and_report_requests(transport):
    with LoopbackServer([body(transport, MESSAGE), body(transport, [])]) as server, client_for(server, transport) as client:
        client.report_message(52011)
        function, params = sent(server, transport)
        assert function == "mailkit.report.message"
        assert params == ({"ID_send": 52011} if transport == "json" else (TEST_CLIENT_ID, TEST_MD5, 52011))
        client.report("2026-09-01", "2026-11-30")
        function, params = sent(server, transport)
        assert function == "mailkit.report"
        expected = ("2026-09-01", "2026-11-30")
        assert params == (dict(zip(("range_from", "range_to"), expected)) if transport == "json"
                          else (TEST_CLIENT_ID, TEST_MD5, *expected))


def test_a_range_is_checked_before_calling(transport):
    with LoopbackServer([body(transport, [])]) as server, client_for(server, transport) as client:
        with pytest.raises(ValueError, match="after"):
            client.report_campaign(41017, "2026-11-30", "2026-11-01")
        with pytest.raises(ValueError, match="range_from"):
            client.report_campaign(41017, "not a day", "2026-11-01")
        assert server.count == 0


# --------------------------------------------------------------------------- answers

def test_documented_list_with_numbers_as_sent(transport):
    with LoopbackServer([body(transport, [SEND, SECOND_SEND])]) as server, client_for(server, transport) as client:
        frame = client.report_campaign(41017, "2026-11-01", "2026-11-30")
    assert frame["id_send"].tolist() == [52011, 52019]
    assert frame["campaign_id"].tolist() == [41017, 41017]
    assert frame["send_count"].tolist() == [240, 12] and str(frame["send_count"].dtype) == "Int64"
    assert frame["delivered_count"].tolist() == [231, 12]
    assert frame["failed_count"].isna().all()  # report.campaign does not give it
    assert frame["send_date"].tolist() == ["2026-11-03 09:15:00", "2026-11-04 10:00:00"]


@pytest.mark.parametrize("nothing", [[], {}, None, {"data": ""}, {"data": []}],
                         ids=["empty-list", "empty-object", "empty-body", "data-empty-string", "data-empty-list"])
def test_nothing_in_every_shape(transport, nothing):
    with LoopbackServer([body(transport, nothing)]) as server, client_for(server, transport) as client:
        frame = client.report_campaign(41017, "2026-11-01", "2026-11-30")
        campaigns = client.campaigns()
    assert frame.empty and list(frame.columns)[:4] == ["id_send", "campaign_id", "send_date", "send_count"]
    assert campaigns.empty and list(campaigns.columns) == ["campaign_id", "campaign_name"]
    assert server.count == 2  # an empty answer is an answer, not something to retry


def test_data_null_is_nothing_over_json():  # XML-RPC has no null
    with LoopbackServer([body("json", {"data": None})]) as server, client_for(server, "json") as client:
        assert client.report_campaign(41017, "2026-11-01", "2026-11-30").empty


@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "under-data"])
def test_single_object_is_one_record(transport, wrapped):
    single = {"data": SEND} if wrapped else SEND
    with LoopbackServer([body(transport, single)]) as server, client_for(server, transport) as client:
        frame = client.report_campaign(41017, "2026-11-01", "2026-11-30")
    assert frame["id_send"].tolist() == [52011] and frame["send_count"].tolist() == [240]


def test_report_message_gives_failed_and_delivered(transport):
    with LoopbackServer([body(transport, MESSAGE)]) as server, client_for(server, transport) as client:
        frame = client.report_message(52011)
    row = frame.iloc[0]
    assert len(frame) == 1 and row["id_send"] == 52011 and pd.isna(row["campaign_id"])
    assert (row["send_count"], row["delivered_count"], row["failed_count"]) == (240, 231, 9)
    assert row["send_date"] == "2026-11-03 09:15:00"


@pytest.mark.parametrize("user_list", [[20005, 20007], 20005, "20005"], ids=["array", "int", "string"])
def test_campaigns_with_user_list_as_int_or_array(transport, user_list):
    listed = [{**CAMPAIGN, "USER_LIST": user_list}, {**CAMPAIGN, "ID_MESSAGE": 41030, "NAME": "Faktura"}]
    with LoopbackServer([body(transport, listed, quote=False)]) as server, client_for(server, transport) as client:
        frame = client.campaigns()
    assert frame["campaign_id"].tolist() == [41017, 41030]
    assert frame["campaign_name"].tolist() == ["Odeslání zásilky", "Faktura"]


def test_campaign_ids_as_strings(transport):
    with LoopbackServer([body(transport, [CAMPAIGN])]) as server, client_for(server, transport) as client:
        assert client.campaigns()["campaign_id"].tolist() == [41017]


def test_report_totals(transport):
    totals = [{"ID_MESSAGE": 41017, "NAME": "Odeslání zásilky", "SEND_COUNT": 1200, "DELIVERED_COUNT": 1170}]
    with LoopbackServer([body(transport, totals)]) as server, client_for(server, transport) as client:
        frame = client.report("2026-11-01", "2026-11-30")
    assert frame.to_dict("records") == [
        {"campaign_id": 41017, "campaign_name": "Odeslání zásilky", "send_count": 1200, "delivered_count": 1170}
    ]


@pytest.mark.parametrize(
    "answer, function, says",
    [
        ([{**SEND, "SEND_COUNT": "many"}], "mailkit.report.campaign", "SEND_COUNT"),
        ([{**SEND, "SEND_COUNT": "-4"}], "mailkit.report.campaign", "negative"),
        ([{k: v for k, v in SEND.items() if k != "ID_SEND"}], "mailkit.report.campaign", "without ID_SEND"),
        (["52011", "52019"], "mailkit.report.campaign", "not a record"),
        (52011, "mailkit.report.campaign", "list of records"),
        ({"52011": SEND}, "mailkit.report.campaign", "not a record"),
        ([{**CAMPAIGN, "USER_LIST": {"id": 1}}], "mailkit.campaigns.list", "USER_LIST"),
        ([{**CAMPAIGN, "ID_MESSAGE": "x"}], "mailkit.campaigns.list", "ID_MESSAGE"),
    ],
    ids=["count-not-a-number", "negative-count", "no-send-id", "list-of-strings", "a-number", "keyed-object",
         "user-list-struct", "campaign-id-not-a-number"],
)
def test_anything_else_is_a_response_error_naming_the_function(transport, answer, function, says):
    with LoopbackServer([body(transport, answer, quote=False)]) as server, client_for(server, transport) as client:
        with pytest.raises(MailkitResponseError) as info:
            if function == "mailkit.campaigns.list":
                client.campaigns()
            else:
                client.report_campaign(41017, "2026-11-01", "2026-11-30")
    assert function in str(info.value) and says in str(info.value)
    assert_no_secret(str(info.value))


# --------------------------------------------------------------------------- best effort

def test_a_misshapen_report_leaves_results_untouched(tmp_path, transport, caplog):
    """Results come from the simulator; mailkit.report.campaign answers nonsense: one
    warning line, the rows and their fetch state stay as fetched."""
    account = SimulatedAccount(seed=8, anchor=ANCHOR, n_requests=60)
    manifest = settled_manifest(account, 20)[["request_id", "sent_at"]]
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim, requests.Session() as upstream:
        target = sim.json_url if transport == "json" else sim.rpc_url

        def respond(received):
            if b"mailkit.report.campaign" in received.body:
                return body(transport, [["not", "a", "record"]], quote=False)
            answer = upstream.post(target, data=received.body, headers={"Content-Type": received.headers["Content-Type"]})
            return Reply(body=answer.content, content_type=answer.headers["Content-Type"])

        with LoopbackServer(respond) as proxy:
            url = proxy.json_url if transport == "json" else proxy.rpc_url
            with sim_client(url, clock=lambda: ANCHOR, transport=transport) as client:
                with caplog.at_level("WARNING", logger="mailkit_analysis"):
                    outcome = fetch_results(manifest=manifest, data_dir=tmp_path, client=client)
                with MailkitSimulator(account, clock=lambda: ANCHOR) as plain:
                    with sim_client(plain.json_url, clock=lambda: ANCHOR) as direct:
                        reference = fetch_results(manifest=manifest, data_dir=tmp_path / "plain", client=direct,
                                                  enrich=False)
    assert outcome.ok and len(outcome.fetched) == len(manifest)
    assert len(outcome.warnings) == 1 and "mailkit.report.campaign" in outcome.warnings[0]
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
    columns = ["request_id", "id_send", "error_code", "email", "date"]
    assert outcome.frame[columns].equals(reference.frame[columns])
    assert outcome.frame["campaign_id"].isna().all()  # nothing made up from a misread answer
    assert load_sends(tmp_path).empty


# --------------------------------------------------------------------------- any answer at all

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**40), st.floats(allow_nan=True),
                     st.text(max_size=8), st.sampled_from(["", "0", "12", " 7 ", "12.0", "x"]))
_fields = st.sampled_from(["ID_SEND", "ID_MESSAGE", "SEND_COUNT", "DELIVERED_COUNT", "FAILED_COUNT", "DATE",
                           "SEND_DATE", "NAME", "USER_LIST", "data"])
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(_fields, inner, max_size=5)), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(_values)
def test_any_decoded_answer_is_a_frame_or_a_response_error(answer):
    """Whatever a server answers, the readers give typed frames or a MailkitResponseError
    naming the function, never another exception."""
    for function, read in (
        ("mailkit.campaigns.list", lambda a: campaigns_frame(a)),
        ("mailkit.report.campaign", lambda a: sends_frame(a, "mailkit.report.campaign", campaign_id=41017)),
        ("mailkit.report.message", lambda a: sends_frame(a, "mailkit.report.message", id_send=52011)),
        ("mailkit.report", lambda a: report_frame(a)),
    ):
        try:
            frame = read(answer)
        except MailkitResponseError as exc:
            assert function in str(exc)
        else:
            numbers = [c for c in frame.columns if c not in ("campaign_name", "send_date")]
            assert all(str(frame[c].dtype) == "Int64" for c in numbers)
            assert all((frame[c].dropna() >= 0).all() for c in numbers)
