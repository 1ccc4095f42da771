"""The simulator serves a written cache (the quarter test account) over HTTP: a fetch rebuilds it."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from simhelpers import sim_client

from mailkit_analysis.cache import load_results, load_sends
from mailkit_analysis.demo import simulator_manifest
from mailkit_analysis.errors import ConfigError
from mailkit_analysis.simulator import MailkitSimulator
from mailkit_analysis.simulator.cached_account import CachedAccount
from mailkit_analysis.simulator.scenarios import incident_quarter
from mailkit_analysis.sync.fetch import fetch_results

END = "2026-11-20 12:00"
CORE = ["request_id", "id_send", "id_send_message", "id_email", "email", "error_code", "error_name", "info", "date"]


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):
    data = tmp_path_factory.mktemp("served")
    planted = incident_quarter(data, end=END)
    return data, planted, CachedAccount(data)


def _core(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[CORE].sort_values(["request_id", "date", "id_send_message", "email"]).reset_index(drop=True)


def test_a_fetch_from_the_served_quarter_rebuilds_its_rows(quarter, tmp_path):
    data, planted, account = quarter
    original = load_results(data)
    ongoing = planted.incidents.query("rule == 'setup' and status == 'ongoing'").iloc[0]
    manifest = simulator_manifest(account)
    # the ongoing run's campaign over the last two days, the new code's requests, and a sample
    recent = manifest[(manifest["campaign_id"] == ongoing["campaign_id"])
                      & (manifest["sent_at"] >= planted.end - pd.Timedelta(days=2))]
    new_code = manifest[manifest["request_id"].isin(original.loc[original["error_code"] == 11, "request_id"])]
    chosen = pd.concat([recent, new_code, manifest.sample(120, random_state=1)]).drop_duplicates("request_id")
    clock = lambda: planted.end.to_pydatetime().astimezone(dt.UTC)  # noqa: E731
    with MailkitSimulator(account, clock=clock) as sim, sim_client(sim.json_url, clock=clock) as client:
        outcome = fetch_results(manifest=chosen, data_dir=tmp_path, client=client, workers=4, progress=False)
    assert outcome.ok, outcome.failures
    fetched = load_results(tmp_path)
    expected = original[original["request_id"].isin(chosen["request_id"])]
    assert len(fetched) == len(expected) > 1000
    pd.testing.assert_frame_equal(_core(fetched), _core(expected), check_dtype=False)
    run = fetched[fetched["request_id"].isin(recent.loc[recent["sent_at"] >= ongoing["first_sent"], "request_id"])]
    assert set(run["error_code"]) == {ongoing["error_code"]}
    # enrichment through the served report functions: campaigns and send sizes
    assert (fetched["campaign_id"].astype(int) == fetched["request_id"].map(
        chosen.set_index("request_id")["campaign_id"])).all()
    assert fetched["campaign_name"].notna().all()
    served_sizes = load_sends(tmp_path).set_index("id_send")["send_count"]
    written_sizes = load_sends(data).set_index("id_send")["send_count"]
    assert (served_sizes == written_sizes.reindex(served_sizes.index)).all() and len(served_sizes) > 100


def test_requests_appear_when_sent_and_rows_when_processed(quarter):
    _, planted, account = quarter
    record = next(r for r in account.requests() if account.results_for(r.request_id)[0] == "ERROR")
    assert account.results_for(record.request_id, now=record.sent_at - dt.timedelta(seconds=1)) == ("UNKNOWN_REQUEST", [])
    final = account.results_for(record.request_id)[1]
    assert final and list(final[0]) == ["ERROR_CODE", "INFO", "DATE", "ID_EMAIL", "EMAIL", "ID_SEND", "ID_SEND_MESSAGE"]
    assert account.results_for(record.request_id, id_send=1) == ("OK", [])
    assert account.results_for(1) == ("UNKNOWN_REQUEST", [])
    campaigns = account.campaigns()
    assert len(campaigns) == 40 and {c["TIME_ZONE"] for c in campaigns} == {"Europe/Prague"}
    with pytest.raises(KeyError):
        account.report_campaign(1)


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no cache"):
        CachedAccount(tmp_path)
