"""Enrichment as Mailkit documents it, end to end against the simulator.

The simulator runs in its restrictive mode: a report call without a range reports only the
last 30 days. A manifest holding only ``request_id`` and ``sent_at`` for three months of sends
must still get every send's campaign and size, over both wire formats, with ranges that cover
the manifest (checked at the server) and no call at all on a second fetch.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from simhelpers import ANCHOR, sim_client

from mailkit_analysis.cache import load_sends
from mailkit_analysis.demo import simulator_manifest
from mailkit_analysis.simulator import MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.enrich import day_ranges
from mailkit_analysis.sync.fetch import fetch_results

REPORT_FUNCTIONS = {"mailkit.campaigns.list", "mailkit.report.campaign", "mailkit.report.message", "mailkit.report"}


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=21, anchor=ANCHOR, n_requests=400, days=92)


@pytest.fixture(scope="module")
def truth(account):
    """Every send the account made by ANCHOR: campaign, Prague day and size."""
    failures = account.setup_failures()
    rows = [
        (r.id_send, r.campaign_id, r.recipients, pd.Timestamp(r.sent_at).tz_convert("Europe/Prague").date())
        for r in account.requests()
        if failures.get(r.request_id) not in (4, 5)
    ]
    return pd.DataFrame(rows, columns=["id_send", "campaign_id", "send_count", "day"]).set_index("id_send")


@pytest.fixture(scope="module")
def lean_manifest(account):
    manifest = simulator_manifest(account)[["request_id", "sent_at"]]
    span = manifest["sent_at"].max() - manifest["sent_at"].min()
    assert span > pd.Timedelta(days=85)  # three months: far beyond the 30 days of the default
    return manifest


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_three_months_without_campaign_ids(account, truth, lean_manifest, tmp_path, transport):
    with MailkitSimulator(account, clock=lambda: ANCHOR, default_range_days=30) as sim:
        url = sim.json_url if transport == "json" else sim.rpc_url
        with sim_client(url, clock=lambda: ANCHOR, transport=transport) as client:
            outcome = fetch_results(manifest=lean_manifest, data_dir=tmp_path, client=client)
            first_calls = sim.report_calls
            sim.reset_count()
            again = fetch_results(manifest=lean_manifest, data_dir=tmp_path, client=client)
            second = {f: n for f, n in sim.counts_by_function.items() if f in REPORT_FUNCTIONS}
            sim.reset_count()
            refreshed = fetch_results(manifest=lean_manifest, data_dir=tmp_path, client=client, refresh=True)
            after_refresh = {f: n for f, n in sim.counts_by_function.items() if f in REPORT_FUNCTIONS}

    assert outcome.ok and not outcome.warnings, outcome.warnings
    # Rows of a send: campaign id and name, and the right campaign.
    rows = outcome.frame[outcome.frame["id_send"].notna()]
    assert len(rows) > 500
    named = rows["campaign_id"].notna() & rows["campaign_name"].notna()
    assert named.mean() >= 0.99
    expected = rows["id_send"].map(truth["campaign_id"])
    assert (rows.loc[named, "campaign_id"] == expected[named]).all()

    # Every send made, with or without error rows, sized.
    sends = load_sends(tmp_path).set_index("id_send")
    with_rows = set(rows["id_send"].astype(int))
    without_rows = set(truth.index) - with_rows
    assert len(without_rows) > 50  # the sends a results-only view never sees
    sized = sends["send_count"].reindex(truth.index)
    assert sized.notna().mean() >= 0.99
    assert (sized.dropna() == truth.loc[sized.dropna().index, "send_count"]).all()
    assert sends["campaign_id"].reindex(truth.index).eq(truth["campaign_id"]).mean() >= 0.99
    assert sends["delivered_count"].notna().all()

    # At the server: every report.campaign call carried a range, and they cover the manifest.
    reports = [p for f, p in first_calls if f == "mailkit.report.campaign"]
    assert reports and all(p.get("range_from") and p.get("range_to") for p in reports)
    covered: dict[int, list[tuple[dt.date, dt.date]]] = {}
    for p in reports:
        covered.setdefault(int(p["ID_message"]), []).append(
            (dt.date.fromisoformat(p["range_from"]), dt.date.fromisoformat(p["range_to"]))
        )
    for id_send, send in truth.iterrows():
        assert any(a <= send["day"] <= b for a, b in covered.get(int(send["campaign_id"]), [])), id_send

    # Known requests: no enrichment call, whether served from the cache or fetched again.
    assert again.ok and second == {}
    assert refreshed.ok and len(refreshed.fetched) == len(lean_manifest) and after_refresh == {}
    assert not again.warnings and not refreshed.warnings


def test_day_ranges_merge_close_days_within_a_month():
    d = dt.date
    days = [d(2026, 9, 1), d(2026, 9, 3), d(2026, 9, 30), d(2026, 10, 1), d(2026, 10, 20), d(2026, 10, 27)]
    assert day_ranges(days, gap=7) == [
        (d(2026, 9, 1), d(2026, 9, 3)),
        (d(2026, 9, 30), d(2026, 9, 30)),
        (d(2026, 10, 1), d(2026, 10, 1)),
        (d(2026, 10, 20), d(2026, 10, 27)),
    ]
    assert day_ranges([]) == []


def test_only_the_manifest_campaigns_are_asked_about(account, truth, tmp_path):
    manifest = simulator_manifest(account)
    chosen = manifest["campaign_id"].value_counts().index[:2].tolist()
    mine = manifest[manifest["campaign_id"].isin(chosen)].drop(columns=["id_send", "recipients"])
    with MailkitSimulator(account, clock=lambda: ANCHOR, default_range_days=30) as sim:
        with sim_client(sim.json_url, clock=lambda: ANCHOR) as client:
            outcome = fetch_results(manifest=mine, data_dir=tmp_path, client=client)
        calls = sim.report_calls
    asked = {int(p["ID_message"]) for f, p in calls if f == "mailkit.report.campaign"}
    assert outcome.ok and not outcome.warnings and asked == set(chosen)
    assert [f for f, _ in calls].count("mailkit.campaigns.list") == 1
    sends = load_sends(tmp_path).set_index("id_send")
    theirs = truth[truth["campaign_id"].isin(chosen)]
    assert sends["send_count"].reindex(theirs.index).eq(theirs["send_count"]).all()


def test_a_single_unknown_send_is_asked_about_alone(account, truth, tmp_path):
    manifest = simulator_manifest(account)
    with_rows = account.all_rows(ANCHOR)
    one = manifest[manifest["request_id"].isin(list(with_rows))].iloc[[5]].drop(columns=["id_send", "recipients"])
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        with sim_client(sim.rpc_url, clock=lambda: ANCHOR, transport="xmlrpc") as client:
            outcome = fetch_results(manifest=one, data_dir=tmp_path, client=client)
        calls = [f for f, _ in sim.report_calls]
    assert outcome.ok and not outcome.warnings
    assert calls == ["mailkit.campaigns.list", "mailkit.report.message"]
    sends = load_sends(tmp_path)
    id_send = int(outcome.frame["id_send"].dropna().iloc[0])
    row = sends.set_index("id_send").loc[id_send]
    assert row["send_count"] == truth.loc[id_send, "send_count"] and row["campaign_id"] == one["campaign_id"].iloc[0]
    assert row["failed_count"] + row["delivered_count"] == row["send_count"]
    assert row["failed_count"] >= (outcome.frame["id_send"] == id_send).sum()  # the errors are part of the failures
    assert outcome.frame["campaign_name"].notna().all()
