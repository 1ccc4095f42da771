"""The simulator's reporting functions answer as Mailkit documents them: field sets, types
per transport, ranges honoured, and a restrictive default when a call gives no range."""
from __future__ import annotations

import datetime as dt
import xmlrpc.client

import pytest
import requests
from simhelpers import ANCHOR

from mailkit_analysis.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, MailkitSimulator, SimulatedAccount

# The documented field sets (neighbour functions reference).
CAMPAIGN_FIELDS = {
    "ID_MESSAGE", "NAME", "SUBJECT", "SUBJECT_B", "MSG_TYPE", "CAMPAIGN_TYPE", "USE_AB", "TEST_MODE", "SEND_DATE",
    "TIME_ZONE", "LAST_SENT", "REPEAT", "REPEAT_COUNT", "PERIOD", "DAYS", "STATUS", "TYPE", "USER_LIST",
}
SEND_FIELDS = {
    "ID_SEND", "DATE", "DATE2", "SUBJECT", "FROM", "SEND_COUNT", "DELIVERED_COUNT", "READ_COUNT", "READ_COUNT_U",
    "CLICK_COUNT", "CLICK_COUNT_U", "CLICK_RATE", "CLICK_RATE2", "FORWARD_COUNT", "PRINT_COUNT", "UNSUBSCRIBE",
    "SPAM_REPORT", "CONVERSION_COUNT", "CONVERSION_COUNT_U", "REV",
}
SEND_NUMBERS = SEND_FIELDS - {"DATE", "DATE2", "SUBJECT", "FROM"}
MESSAGE_FIELDS = {"SEND_COUNT", "FAILED_COUNT", "DELIVERED_COUNT", "SEND_DATE", "SUBJECT", "UTM"}
PRAGUE_DAY = ANCHOR.astimezone(dt.timezone(dt.timedelta(hours=1))).date()  # November: UTC+1


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=4, anchor=ANCHOR, n_requests=200, days=90)


@pytest.fixture(scope="module")
def busiest(account):
    counts: dict[int, int] = {}
    for r in account.requests():
        counts[r.campaign_id] = counts.get(r.campaign_id, 0) + 1
    return max(counts, key=counts.get)


def json_call(sim, function, **params):
    body = {"function": function, "id": DEFAULT_CLIENT_ID, "md5": DEFAULT_CLIENT_MD5, "parameters": params}
    return requests.post(sim.json_url, json=body, timeout=10).json()


def rpc(sim):
    return xmlrpc.client.ServerProxy(sim.rpc_url)


def test_campaigns_list_documented_fields(account):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        over_json = json_call(sim, "mailkit.campaigns.list")
        over_xml = rpc(sim).mailkit.campaigns.list(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5)
        one = json_call(sim, "mailkit.campaigns.list", ID_message=over_json[1]["ID_MESSAGE"])
    for listed in (over_json, over_xml):
        assert all(set(c) == CAMPAIGN_FIELDS for c in listed)
        assert {c["STATUS"] for c in listed} == {"enabled"} and {c["MSG_TYPE"] for c in listed} == {"email"}
        assert {c["CAMPAIGN_TYPE"] for c in listed} == {"normal"}
        assert not {"CREATED"} & set(listed[0]) and "transactional" not in {c["TYPE"] for c in listed}
        assert all(isinstance(c["ID_MESSAGE"], int) for c in listed)
    assert all(isinstance(c["USER_LIST"], list) for c in over_json)  # an array in the JSON example
    assert all(isinstance(c["USER_LIST"], int) for c in over_xml)  # a single int in the XML example
    assert [c["ID_MESSAGE"] for c in one] == [over_json[1]["ID_MESSAGE"]]


def test_report_campaign_fields_and_types(account, busiest):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        over_json = json_call(sim, "mailkit.report.campaign", ID_message=busiest,
                              range_from="2026-08-01", range_to="2026-11-30")
        raw = requests.post(sim.rpc_url, timeout=10, headers={"Content-Type": "text/xml"}, data=xmlrpc.client.dumps(
            (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, busiest, "2026-08-01", "2026-11-30"), "mailkit.report.campaign"))
    over_xml = xmlrpc.client.loads(raw.content)[0][0]
    assert over_json and len(over_json) == len(over_xml)
    for row in over_json:
        assert set(row) == SEND_FIELDS
        assert all(isinstance(row[f], str) and row[f].isdigit() for f in SEND_NUMBERS)  # numbers as strings
        assert int(row["DELIVERED_COUNT"]) <= int(row["SEND_COUNT"])
    for row in over_xml:
        assert set(row) == SEND_FIELDS and all(isinstance(row[f], int) for f in SEND_NUMBERS)
    assert "<i4>" in raw.text and "<int>" not in raw.text


def test_ranges_are_honoured(account, busiest):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        everything = json_call(sim, "mailkit.report.campaign", ID_message=busiest)
        october = json_call(sim, "mailkit.report.campaign", ID_message=busiest,
                            range_from="2026-10-01", range_to="2026-10-31")
        one_day = rpc(sim).mailkit.report.campaign(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, busiest,
                                                   october[0]["DATE"][:10], october[0]["DATE"][:10])
        backwards = json_call(sim, "mailkit.report.campaign", ID_message=busiest,
                              range_from="2026-10-31", range_to="2026-10-01")
        not_a_day = json_call(sim, "mailkit.report.campaign", ID_message=busiest, range_from="yesterday")
    assert october and all(r["DATE"].startswith("2026-10-") for r in october)
    assert [r for r in everything if r["DATE"].startswith("2026-10-")] == october
    assert len(everything) > len(october)
    assert one_day and {r["DATE"][:10] for r in one_day} == {october[0]["DATE"][:10]}
    assert backwards == {"error_status": 1, "error": "Invalid range"}
    assert not_a_day == {"error_status": 1, "error": "Invalid range_from"}


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_restrictive_mode_reports_only_the_last_30_days_without_a_range(account, busiest, transport):
    first_day = PRAGUE_DAY - dt.timedelta(days=29)
    with MailkitSimulator(account, clock=lambda: ANCHOR, default_range_days=30) as sim:
        if transport == "json":
            default = json_call(sim, "mailkit.report.campaign", ID_message=busiest)
            ranged = json_call(sim, "mailkit.report.campaign", ID_message=busiest,
                               range_from="2026-08-01", range_to=PRAGUE_DAY.isoformat())
            totals = json_call(sim, "mailkit.report")
        else:
            proxy = rpc(sim)
            default = proxy.mailkit.report.campaign(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, busiest)
            ranged = proxy.mailkit.report.campaign(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, busiest,
                                                   "2026-08-01", PRAGUE_DAY.isoformat())
            totals = proxy.mailkit.report(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5)
    days = {dt.date.fromisoformat(r["DATE"][:10]) for r in default}
    assert days and min(days) >= first_day
    assert min(dt.date.fromisoformat(r["DATE"][:10]) for r in ranged) < first_day  # a range reaches further
    assert len(ranged) > len(default)
    recent = sum(int(r["SEND_COUNT"]) for r in default)
    assert recent == next(int(t["SEND_COUNT"]) for t in totals if int(t["ID_MESSAGE"]) == busiest)


def test_report_message_one_send(account, busiest):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        sends = json_call(sim, "mailkit.report.campaign", ID_message=busiest, range_from="2026-08-01",
                          range_to="2026-11-30")
        one = json_call(sim, "mailkit.report.message", ID_send=sends[0]["ID_SEND"])
        over_xml = rpc(sim).mailkit.report.message(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, int(sends[0]["ID_SEND"]))
        unknown = json_call(sim, "mailkit.report.message", ID_send=1)
    assert set(one) == MESSAGE_FIELDS and set(over_xml) == MESSAGE_FIELDS
    assert one["SEND_COUNT"] == sends[0]["SEND_COUNT"] and one["SEND_DATE"] == sends[0]["DATE"]
    assert int(one["FAILED_COUNT"]) + int(one["DELIVERED_COUNT"]) == int(one["SEND_COUNT"])
    assert isinstance(over_xml["FAILED_COUNT"], int) and over_xml["FAILED_COUNT"] == int(one["FAILED_COUNT"])
    assert unknown == {"error_status": 1, "error": "Invalid ID_send"}


def test_report_lists_active_campaigns(account):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        week = json_call(sim, "mailkit.report", range_from=(PRAGUE_DAY - dt.timedelta(days=6)).isoformat(),
                         range_to=PRAGUE_DAY.isoformat())
        quarter = json_call(sim, "mailkit.report", range_from="2026-08-01", range_to=PRAGUE_DAY.isoformat())
    assert week and len(quarter) >= len(week)
    assert all({"ID_MESSAGE", "NAME", "SEND_COUNT", "DELIVERED_COUNT"} <= set(t) for t in quarter)
    assert all(isinstance(t["SEND_COUNT"], str) for t in quarter)
