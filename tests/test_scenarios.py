"""The quarter test account: the planted incidents hold in the cache it writes."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from mailkit_analysis.cache import cache_info, load_campaigns, load_requests, load_results, load_sends
from mailkit_analysis.paths import CachePaths
from mailkit_analysis.simulator.scenarios import INCIDENT_COLUMNS, incident_quarter

END = "2026-11-20 12:00"
RULES = {"setup", "addresses", "drift", "unsubscribed", "unknown_code"}


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    data = tmp_path_factory.mktemp("quarter")
    planted = incident_quarter(data, end=END)
    return data, planted, load_results(data), load_requests(data)


def _one(planted, **match) -> pd.Series:
    frame = planted.incidents
    for key, value in match.items():
        frame = frame[frame[key] == value]
    assert len(frame) == 1, match
    return frame.iloc[0]


def _own_requests(requests, campaign_id) -> pd.DataFrame:
    return requests[requests["campaign_id"] == campaign_id].sort_values("sent_at")


def test_the_cache_has_every_file_and_field(quarter):
    data, planted, frame, requests = quarter
    paths = CachePaths.under(data)
    assert list(paths.results.glob("month=*/part-*.parquet"))
    assert cache_info(data).rows == len(frame) == planted.cache.rows > 100_000
    assert {"request_id", "campaign_id", "sent_at", "recipients", "status", "final", "rows"} <= set(requests.columns)
    assert requests["final"].all() and requests["rows"].sum() == len(frame)
    assert "send_count" in load_sends(data).columns
    campaigns = load_campaigns(data)
    assert 30 <= len(campaigns) <= 60  # dozens of campaigns
    assert json.loads((paths.root / "account.json").read_text())["client_id"] > 0
    assert frame["campaign_id"].notna().all()


def test_dates_are_inside_the_quarter(quarter):
    _, planted, frame, requests = quarter
    end = pd.Timestamp(END, tz="Europe/Prague")
    assert planted.end == end
    assert frame["date"].min() >= planted.start and frame["date"].max() < end
    assert requests["sent_at"].min() >= planted.start and requests["sent_at"].max() < end
    assert (frame["date"].max() - frame["date"].min()).days >= 85
    incidents = planted.incidents
    assert (incidents["first_sent"] >= planted.start).all() and (incidents["last_sent"] < end).all()
    assert str(incidents["first_sent"].dt.tz) == "Europe/Prague"


def test_incidents_table_is_complete(quarter):
    _, planted, _, _ = quarter
    incidents = planted.incidents
    assert tuple(incidents.columns) == INCIDENT_COLUMNS
    assert set(incidents["rule"]) == RULES
    assert set(incidents["severity"]) == {"critical", "warning"}
    assert (incidents["severity"] == "critical").eq(incidents["rule"] == "setup").all()
    assert set(incidents["status"]) == {"ongoing", "resolved"}
    assert incidents.loc[incidents["rule"] != "unknown_code", "campaign_id"].notna().all()
    assert incidents.loc[incidents["rule"] == "unknown_code", "campaign_id"].isna().all()
    assert (incidents["sends"] >= 1).all() and (incidents["recipients"] >= incidents["sends"]).all()
    assert set(incidents.loc[incidents["rule"] == "setup", "error_code"]) >= {1, 7, 8}
    assert len(incidents) <= 15


def test_the_ongoing_run_fails_every_recipient_of_every_send_to_the_end(quarter):
    _, planted, frame, requests = quarter
    run = _one(planted, rule="setup", status="ongoing")
    assert run["last_sent"] > planted.end - pd.Timedelta(days=2) and run["first_sent"] > planted.end - pd.Timedelta(days=2)
    own = _own_requests(requests, run["campaign_id"])
    inside = own[own["sent_at"] >= run["first_sent"]]
    assert len(inside) == run["sends"] >= 5
    assert own.iloc[-1]["request_id"] == inside.iloc[-1]["request_id"]  # the latest send still fails
    rows = frame[frame["request_id"].isin(inside["request_id"])]
    assert set(rows["error_code"]) == {run["error_code"]}
    assert (rows.groupby("request_id").size() == inside.set_index("request_id")["recipients"]).all()
    before = own[own["sent_at"] < run["first_sent"]]
    failed_before = frame[frame["request_id"].isin(before["request_id"]) & (frame["error_code"] == run["error_code"])]
    assert len(before) > 100 and failed_before.empty


@pytest.mark.parametrize("code", [7, 4, 1])
def test_resolved_runs_are_consecutive_and_followed_by_a_good_send(quarter, code):
    _, planted, frame, requests = quarter
    run = _one(planted, rule="setup", error_code=code)
    assert run["status"] == "resolved"
    own = _own_requests(requests, run["campaign_id"])
    inside = own[(own["sent_at"] >= run["first_sent"]) & (own["sent_at"] <= run["last_sent"])]
    assert len(inside) == run["sends"] >= 3
    failing = frame.loc[frame["error_code"] == code, "request_id"].unique()
    assert set(failing) == set(inside["request_id"])  # the run and nothing else carries the code
    after = own[own["sent_at"] > run["last_sent"]]
    assert len(after) and not set(after["request_id"]) & set(failing)
    if code == 4:
        assert frame.loc[frame["request_id"].isin(failing), "id_send"].isna().all()  # no send was created
    else:
        hours = (run["last_sent"] - run["first_sent"]) / pd.Timedelta(hours=1)
        assert hours < 30


def test_the_bad_import_spans_consecutive_days(quarter):
    _, planted, frame, requests = quarter
    found = _one(planted, rule="addresses")
    own = frame[(frame["campaign_id"] == found["campaign_id"]) & (frame["error_code"] == 2)]
    recipients = _own_requests(requests, found["campaign_id"]).set_index("sent_at")["recipients"]
    daily_rows = own.groupby(own["date"].dt.strftime("%Y-%m-%d")).size()
    daily_recipients = recipients.groupby(recipients.index.tz_convert("Europe/Prague").strftime("%Y-%m-%d")).sum()
    share = (daily_rows.reindex(daily_recipients.index, fill_value=0) / daily_recipients).astype(float)
    bad_days = share[share > 0.1].index
    gaps = pd.Series(pd.to_datetime(bad_days)).diff().dropna()
    assert len(bad_days) == 3 and (gaps == pd.Timedelta(days=1)).all()
    assert share.drop(bad_days).median() < 0.03


def test_the_drift_climbs_over_weeks(quarter):
    _, planted, frame, requests = quarter
    drift = _one(planted, rule="drift")
    own = _own_requests(requests, drift["campaign_id"]).set_index("request_id")
    invalid = frame[(frame["campaign_id"] == drift["campaign_id"]) & (frame["error_code"] == 2)].groupby("request_id").size()
    own["invalid"] = invalid.reindex(own.index, fill_value=0)
    weekly = own.groupby(own["sent_at"].dt.tz_convert("Europe/Prague").dt.tz_localize(None).dt.to_period("W")).agg(
        invalid=("invalid", "sum"), recipients=("recipients", "sum"))
    share = weekly["invalid"] / weekly["recipients"]
    assert share.iloc[-2:].mean() > 3 * share.iloc[:4].mean()
    assert share.max() < 0.15  # a drift, not one bad day


def test_the_unsubscribe_surge_is_one_old_send_far_above_its_campaign(quarter):
    _, planted, frame, requests = quarter
    surge = _one(planted, rule="unsubscribed")
    assert surge["sends"] == 1 and surge["first_sent"] < planted.end - pd.Timedelta(days=21)
    own = _own_requests(requests, surge["campaign_id"]).set_index("request_id")
    unsubscribed = frame[(frame["campaign_id"] == surge["campaign_id"]) & (frame["error_code"] == 6)].groupby("request_id").size()
    share = unsubscribed.reindex(own.index, fill_value=0) / own["recipients"]
    worst = share.idxmax()
    assert own.loc[worst, "sent_at"] == surge["first_sent"]
    assert share[worst] > 5 * share.drop(worst).mean() and unsubscribed[worst] == surge["recipients"]


def test_the_new_code_touches_two_campaigns_and_nine_trickles(quarter):
    _, planted, frame, _ = quarter
    new = _one(planted, rule="unknown_code", error_code=11)
    rows = frame[frame["error_code"] == 11]
    assert rows["campaign_id"].nunique() == 2 and len(rows) == new["recipients"]
    assert (rows["error_name"] == "unknown").all()
    nine = _one(planted, rule="unknown_code", error_code=9)
    trickle = frame[frame["error_code"] == 9]
    assert len(trickle) == nine["recipients"] and len(trickle) < 0.002 * len(frame)


def test_clean_campaigns_have_low_noise_and_nothing_planted(quarter):
    _, planted, frame, requests = quarter
    assert len(planted.clean_campaigns) >= 3
    assert not set(planted.clean_campaigns) & set(planted.incidents["campaign_id"].dropna())
    for campaign in planted.clean_campaigns:
        own = frame[frame["campaign_id"] == campaign]
        sent = requests.loc[requests["campaign_id"] == campaign, "recipients"].sum()
        assert sent > 10_000
        assert set(own["error_code"]) <= {2, 3, 6}
        assert len(own) / sent < 0.01
    noisy = frame[~frame["campaign_id"].isin(planted.clean_campaigns) & frame["error_code"].isin([2, 3, 6])]
    assert len(noisy) / requests.loc[~requests["campaign_id"].isin(planted.clean_campaigns), "recipients"].sum() > 0.01


def test_same_seed_same_quarter_and_default_end_is_now(quarter, tmp_path):
    _, planted, frame, _ = quarter
    again = incident_quarter(tmp_path / "again", end=END)
    pd.testing.assert_frame_equal(again.incidents, planted.incidents)
    pd.testing.assert_frame_equal(load_results(tmp_path / "again"), frame)
    now = incident_quarter(tmp_path / "now")
    ongoing = _one(now, status="ongoing", rule="setup")
    assert pd.Timestamp.now(tz="Europe/Prague") - ongoing["last_sent"] < pd.Timedelta(days=2)
    with pytest.raises(FileExistsError):
        incident_quarter(tmp_path / "now")
