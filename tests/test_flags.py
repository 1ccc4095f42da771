"""Problem flags: planted incidents are found, a clean frame stays quiet, thresholds matter."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from frames import BACKGROUND_CAMPAIGNS, ResultsBuilder, clean_builder, incident_builder
from mailkit_analysis.analysis.flags import (
    FLAG_COLUMNS,
    SEVERITIES,
    FlagConfig,
    find_flags,
    flags_to_json,
)

from mailkit_analysis.codes import UNKNOWN, lookup
from mailkit_analysis.frame import empty_results_frame


@pytest.fixture(scope="module")
def incidents():
    return incident_builder()


@pytest.fixture(scope="module")
def flags(incidents):
    builder, _ = incidents
    return find_flags(builder.frame(), sends=builder.sends_frame(), recipients=builder.recipients_frame())


def _only(flags, **where) -> pd.Series:
    chosen = flags
    for column, value in where.items():
        chosen = chosen[chosen[column] == value]
    assert len(chosen) == 1, f"expected one flag with {where}, got:\n{chosen}"
    return chosen.iloc[0]


def test_flags_frame_shape(flags):
    assert list(flags.columns) == list(FLAG_COLUMNS)
    assert {c: str(t) for c, t in flags.dtypes.items()} == {c: str(t) for c, t in FLAG_COLUMNS.items()}


def test_missing_attachment_is_critical_for_its_send(flags, incidents):
    _, planted = incidents
    send = planted["attachment"]
    flag = _only(flags, rule="setup", error_code=1)
    assert flag["severity"] == "critical"
    assert (flag["campaign_id"], flag["id_send"], flag["count"]) == (102, send.id_send, 240)
    # A later send of the campaign went out without the code: the one-send run is resolved.
    assert (flag["status"], flag["sends"], flag["requests"], flag["recipients"], flag["id_sends"]) == (
        "resolved", 1, 1, 240, [send.id_send])
    assert flag["message"] == (
        f"Campaign 'Faktura': missing attachment failed 1 send, 240 recipients, {send.at:%b} {send.at.day} "
        f"{send.at:%H:%M} – {flag['last_seen']:%H:%M}; a later send went out without it")
    assert flag["remedy"] == lookup(1).remedy
    assert flag["first_seen"] == send.at


def test_invalid_template_is_critical_for_its_send(flags, incidents):
    _, planted = incidents
    flag = _only(flags, rule="setup", error_code=8)
    assert (flag["severity"], flag["campaign_id"], flag["id_send"], flag["count"]) == (
        "critical", 104, planted["template"].id_send, 120)
    assert "invalid template" in flag["message"] and "Obnovení hesla" in flag["message"]


def test_request_failure_without_a_send_is_flagged_per_request(flags, incidents):
    _, planted = incidents
    flag = _only(flags, rule="setup", error_code=4)
    assert flag["severity"] == "critical" and pd.isna(flag["id_send"]) and flag["campaign_id"] == 101
    assert "failed 1 request (no send created), 80 recipients" in flag["message"]
    assert (flag["sends"], flag["requests"], flag["id_sends"]) == (0, 1, [])


def test_surge_of_invalid_addresses_is_one_address_warning(flags, incidents):
    _, planted = incidents
    surge = planted["surge"]
    address = _only(flags, rule="addresses", campaign_id=103)
    assert (address["severity"], address["id_send"], address["count"]) == ("warning", surge.id_send, 400)
    assert "invalid addresses in 1 send, 400 recipients" in address["message"]
    assert "(worst send: 20.0%)" in address["message"]
    # The same rows make a spike of code 2 that day, which the address warning already reports.
    assert not ((flags["rule"] == "spike") & (flags["error_code"] == 2)).any()


def test_surge_of_invalid_addresses_is_a_rate_spike_on_its_own(incidents):
    builder, planted = incidents
    surge = planted["surge"]
    for denominators in ({"sends": builder.sends_frame()}, {"recipients": builder.recipients_frame()}):
        spike = _only(find_flags(builder.frame(), rules=["spike"], **denominators), rule="spike")
        assert (spike["severity"], spike["error_code"], spike["campaign_id"], spike["id_send"]) == (
            "warning", 2, 103, surge.id_send)
        assert spike["count"] >= 400 and spike["first_seen"].date() == surge.at.date()
        assert spike["message"].startswith("Campaign 'Newsletter': code 2 spiked to ")
        assert "of recipients (usually " in spike["message"]
    # Without denominators the day's count stands in for its rate.
    spike = _only(find_flags(builder.frame(), rules=["spike"]), rule="spike")
    assert (spike["campaign_id"], spike["id_send"]) == (103, surge.id_send)
    assert spike["first_seen"].date() == surge.at.date()


def test_typo_cluster_is_an_address_warning_naming_the_domain(flags, incidents):
    _, planted = incidents
    flag = _only(flags, rule="addresses", campaign_id=101)
    assert (flag["severity"], flag["id_send"], flag["count"], flag["error_code"]) == (
        "warning", planted["typos"].id_send, 60, 2)
    assert "gmial.com (-> gmail.com) 60" in flag["message"]


def test_unknown_code_is_a_warning_once(flags, incidents):
    _, planted = incidents
    flag = _only(flags, rule="unknown_code")
    assert (flag["severity"], flag["error_code"], flag["count"]) == ("warning", 9, 5)
    assert (flag["campaign_id"], flag["id_send"]) == (104, planted["unknown"].id_send)
    assert flag["message"].startswith("Mailkit returned code 9, not in the catalogue")
    assert flag["remedy"] == UNKNOWN.remedy


def test_nothing_else_is_flagged_and_the_order_is_what_needs_action(flags):
    assert sorted(flags["rule"]) == sorted(["setup"] * 3 + ["addresses", "addresses", "unknown_code"])
    rank = flags["severity"].map(SEVERITIES.index).tolist()
    assert rank == sorted(rank)
    # Criticals: ongoing first, then the most recent failed send first; warnings: most recipients first.
    critical = flags[flags["severity"] == "critical"]
    assert (critical["status"] == "resolved").all() and critical["last_seen"].is_monotonic_decreasing
    assert flags.loc[flags["severity"] == "warning", "recipients"].is_monotonic_decreasing


def test_without_denominators_counts_stand_in(incidents):
    builder, _ = incidents
    flags = find_flags(builder.frame())
    assert (flags["severity"] == "critical").sum() == 3
    # 400 invalid addresses in one send pass the count bar; the 60 typos alone do not.
    assert flags.loc[flags["rule"] == "addresses", "campaign_id"].tolist() == [103]
    assert "failed 1 send, 240 recipients" in flags.loc[flags["error_code"] == 1, "message"].iloc[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_frame_raises_no_critical_or_warning(seed):
    builder = clean_builder(seed=seed)
    for denominators in ({}, {"sends": builder.sends_frame()}, {"recipients": builder.recipients_frame()}):
        flags = find_flags(builder.frame(), **denominators)
        assert not flags["severity"].isin(["critical", "warning"]).any(), flags["message"].tolist()


def test_large_send_with_usual_rates_is_no_spike():
    # One send a day of 1,000 recipients, and on day 20 one more of 10,000: ten times the
    # rows of every code, at the same per-recipient rates.
    builder = ResultsBuilder(seed=1).background({105: "Akce"}, days=28, sends_per_day=1, recipients=1000)
    large = builder.large_send(105, "Akce", day=20, recipients=10_000)
    frame = builder.frame()
    by_count = find_flags(frame, rules=["spike"])
    assert sorted(by_count["error_code"]) == [2, 6]  # counts alone cannot tell volume from a spike
    assert set(by_count["first_seen"].dt.date) == {large.at.date()}
    for denominators in ({"sends": builder.sends_frame()}, {"recipients": builder.recipients_frame()},
                         {"sends": builder.sends_frame(), "recipients": builder.recipients_frame()}):
        flags = find_flags(frame, **denominators)
        assert not flags["severity"].isin(["critical", "warning"]).any(), flags["message"].tolist()


def test_rate_jump_on_a_normal_send_is_a_spike():
    builder = ResultsBuilder(seed=2).background({106: "Upomínka"}, days=28, sends_per_day=1, recipients=2000,
                                                rates={2: 0.008, 6: 0.02})
    jump = builder.send(106, "Upomínka", day=25, recipients=2000, hour=13)
    builder.errors(jump, 2, 80)  # 4 %: five times the usual rate, below the address rule's 5 %
    builder.errors(jump, 6, 40)
    for denominators in ({"sends": builder.sends_frame()}, {"recipients": builder.recipients_frame()}):
        flags = find_flags(builder.frame(), **denominators)
        spike = _only(flags, severity="warning")
        assert (spike["rule"], spike["error_code"], spike["campaign_id"], spike["id_send"]) == (
            "spike", 2, 106, jump.id_send)
        assert spike["message"].startswith("Campaign 'Upomínka': code 2 spiked to ")
        assert "of recipients (usually 0." in spike["message"]
        assert spike["count"] >= 80 and spike["first_seen"].date() == jump.at.date()


def test_a_spike_beside_an_address_warning_is_judged_without_its_rows():
    # One surge already flagged by the address rule (campaign 101) and, the same day, a
    # second one spread over small sends of campaign 102 that the address rule cannot see.
    builder = ResultsBuilder(seed=4).background({101: "Potvrzení objednávky", 102: "Faktura"}, days=28,
                                                sends_per_day=1, recipients=1000, rates={2: 0.01})
    surge = builder.address_surge(101, "Potvrzení objednávky", day=25, n=300, recipients=1000)
    for k in range(20):  # 9 % each, under the address rule's 10 % and 20 rows per send
        builder.errors(builder.send(102, "Faktura", day=25, recipients=100, hour=14 + k // 4), 2, 9)
    frame, sends = builder.frame(), builder.sends_frame()
    flags = find_flags(frame, sends)
    assert _only(flags, rule="addresses")["campaign_id"] == 101
    spike = _only(flags, rule="spike")
    assert spike["campaign_id"] == 102 and 180 <= spike["count"] < 300
    # The surge and the usual rows of campaign 101 that day are the address warning's: the
    # spike holds campaign 102's rows only.
    assert "Campaign 'Faktura': code 2 spiked" in spike["message"]
    alone = _only(find_flags(frame, sends, rules=["spike"]), rule="spike")
    assert alone["campaign_id"] == 101 and surge.id_send in alone["id_sends"] and alone["count"] > 300


def test_setup_codes_are_not_spikes_even_when_not_skipped(incidents):
    builder, _ = incidents
    flags = find_flags(builder.frame(), builder.sends_frame(), spike_skip_codes=[], spike_min_history_days=1)
    assert not ((flags["rule"] == "spike") & flags["error_code"].isin([1, 4, 5, 7, 8])).any()
    assert (flags["severity"] == "critical").sum() == 3
    # Not even alone: every run of a set-up code is the set-up rule's, never a spike.
    alone = find_flags(builder.frame(), builder.sends_frame(), rules=["spike"], spike_skip_codes=[],
                       spike_min_history_days=1)
    assert not alone["error_code"].isin([1, 4, 5, 7, 8]).any()


def test_small_numbers_never_spike():
    builder = ResultsBuilder().background({1: "Tiny"}, days=28, sends_per_day=1, recipients=50,
                                          rates={2: 0.01})
    builder.errors(builder.send(1, "Tiny", day=27, recipients=50), 2, 15)  # from ~0 to 15: still small
    assert find_flags(builder.frame(), rules=["spike"]).empty


def test_thresholds_change_outcomes(incidents):
    builder, _ = incidents
    frame, sends = builder.frame(), builder.sends_frame()
    assert "spike" not in set(find_flags(frame, sends, spike_min_count=1000)["rule"])
    assert "spike" not in set(find_flags(frame, sends, FlagConfig(spike_k=100.0, spike_min_ratio=20.0))["rule"])
    relaxed = find_flags(frame, sends, address_max_rate=0.15)
    assert relaxed.loc[relaxed["rule"] == "addresses", "campaign_id"].tolist() == [103]  # 20% > 15% > 12%
    strict = find_flags(frame, address_max_count=50)  # no denominators: counts decide
    assert sorted(strict.loc[strict["rule"] == "addresses", "campaign_id"]) == [101, 103]
    only_setup = find_flags(frame, sends, rules=["setup"])
    assert set(only_setup["rule"]) == {"setup"}
    with pytest.raises(ValueError, match="unknown flag rule"):
        find_flags(frame, rules=["nope"])
    with pytest.raises(ValueError, match="spike_kk"):
        find_flags(frame, spike_kk=3)


def test_now_ignores_later_rows(incidents):
    builder, planted = incidents
    now = planted["attachment"].at + pd.Timedelta(hours=1)
    flags = find_flags(builder.frame(), now=now)
    assert flags["rule"].tolist() == ["setup"] and flags["error_code"].tolist() == [1]


def test_unsubscribe_surge_over_days_is_one_warning_wherever_it_falls():
    builder = ResultsBuilder(seed=3)
    builder.background(BACKGROUND_CAMPAIGNS, days=28)
    # Days 10-13, weeks before the end: the newsletter's unsubscribed share jumps from ~2 % to 25 %.
    for day in range(10, 14):
        for campaign_id, name in BACKGROUND_CAMPAIGNS.items():
            for k in range(2):
                send = builder.send(campaign_id, name, day, 500, hour=8 + 4 * k)
                builder.errors(send, 2, int(builder.rng.binomial(500, 0.01)))
                rate = 0.25 if campaign_id == 103 else 0.02
                builder.errors(send, 6, int(builder.rng.binomial(500, rate)))
    frame, sends = builder.frame(), builder.sends_frame()
    flags = find_flags(frame, sends)
    flag = _only(flags, rule="unsubscribed")
    assert (flag["severity"], flag["campaign_id"], flag["error_code"], flag["sends"]) == ("warning", 103, 6, 8)
    assert flag["message"].startswith("Campaign 'Newsletter': ") and "of recipients, usually" in flag["message"]
    assert not (flags["severity"] == "critical").any()
    # The floors: a higher multiple or count than the surge reaches silences it.
    assert find_flags(frame, sends, rules=["unsubscribed"], unsubscribed_ratio=20.0).empty
    assert find_flags(frame, sends, rules=["unsubscribed"], unsubscribed_min_count=1000).empty


def test_empty_frame_has_no_flags():
    flags = find_flags(empty_results_frame())
    assert flags.empty and list(flags.columns) == list(FLAG_COLUMNS)
    assert flags_to_json(flags) == "[]"


def test_flags_to_json(flags):
    records = json.loads(flags_to_json(flags))
    assert len(records) == len(flags) and set(records[0]) == set(FLAG_COLUMNS)
    request = next(r for r in records if r["error_code"] == 4)
    assert request["id_send"] is None and request["severity"] == "critical"
    assert request["first_seen"].endswith("+01:00")  # Prague winter time, ISO 8601
    assert isinstance(request["count"], int)


# ---------------------------------------------------------------------------- config files

def test_config_from_toml_and_json(tmp_path):
    toml = tmp_path / "flags.toml"
    toml.write_text("spike_k = 3\nspike_min_count = 50\naddress_codes = [2]\n", encoding="utf-8")
    config = FlagConfig.from_file(toml)
    assert (config.spike_k, config.spike_min_count, config.address_codes) == (3.0, 50, (2,))
    assert config.address_max_rate == FlagConfig().address_max_rate
    table = tmp_path / "settings.toml"
    table.write_text("[flags]\naddress_max_rate = 0.1\n", encoding="utf-8")
    assert FlagConfig.from_file(table).address_max_rate == 0.1
    as_json = tmp_path / "flags.json"
    as_json.write_text(json.dumps({"unsubscribed_ratio": 1.5}), encoding="utf-8")
    assert FlagConfig.from_file(as_json).unsubscribed_ratio == 1.5


def test_config_file_changes_outcomes(tmp_path, incidents):
    builder, _ = incidents
    path = tmp_path / "quiet.toml"
    path.write_text("spike_min_count = 100000\n", encoding="utf-8")
    assert "spike" not in set(find_flags(builder.frame(), config=path)["rule"])
    assert "spike" not in set(find_flags(builder.frame(), config={"spike_min_count": 100000})["rule"])


def test_config_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("spike_kk = 3\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        FlagConfig.from_file(path)
    assert "spike_kk" in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["spike_k = 'high'\n", "spike_min_count = 2.5\n", "spike_k = -1\n",
                                  "address_codes = 2\n", "not toml at all ==\n"])
def test_config_bad_values(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        FlagConfig.from_file(path)


def test_config_wrong_suffix(tmp_path):
    path = tmp_path / "flags.yaml"
    path.write_text("spike_k: 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="toml or .json"):
        FlagConfig.from_file(path)


def test_config_replace_and_defaults():
    config = FlagConfig().replace(spike_k=2)
    assert config.spike_k == 2.0 and FlagConfig().spike_k == 5.0
    assert FlagConfig().setup_codes == (1, 4, 5, 7, 8)


def test_unsubscribe_surge_stands_above_the_campaigns_ordinary_range_not_only_its_median():
    """A newsletter whose sends often lose ~1.5 % is not surging at 1.5 %; at 20 % it is."""
    builder = ResultsBuilder(seed=5)
    for day in range(28):
        for k in range(2):
            send = builder.send(103, "Newsletter", day, 3000, hour=8 + 4 * k)
            # Most sends lose ~0.1 %, one in three ~1.5 % (an older part of the list).
            rate = 0.015 if (2 * day + k) % 3 == 0 else 0.001
            builder.errors(send, 6, int(builder.rng.binomial(3000, rate)))
    quiet = find_flags(builder.frame(), builder.sends_frame(), rules=["unsubscribed"])
    assert quiet.empty, quiet[["message"]]
    loud = builder.send(103, "Newsletter", 20, 3000, hour=18)
    builder.errors(loud, 6, 600)
    flag = _only(find_flags(builder.frame(), builder.sends_frame(), rules=["unsubscribed"]), rule="unsubscribed")
    assert flag["id_send"] == loud.id_send and flag["recipients"] == 600


def test_a_quantile_above_one_is_a_config_error_naming_it():
    with pytest.raises(ValueError, match="unsubscribed_ordinary_quantile is a quantile"):
        FlagConfig(unsubscribed_ordinary_quantile=1.5)
