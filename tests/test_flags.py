"""Problem flags: planted incidents are found, a clean frame stays quiet, thresholds matter."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from frames import BACKGROUND_CAMPAIGNS, ResultsBuilder, clean_builder, incident_builder
from mailkit_analysis.codes import UNKNOWN, lookup
from mailkit_analysis.flags import FLAG_COLUMNS, SEVERITIES, FlagConfig, find_flags, flags_to_json
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
    assert flag["message"] == (
        f"Campaign 'Faktura' send {send.id_send}: missing attachment, 240 of 240 recipients not sent "
        "(INFO: url return null)")
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
    assert f"request {planted['request'].request_id} (no send created)" in flag["message"]
    assert "80 recipients not sent" in flag["message"]


def test_surge_of_invalid_addresses_is_a_spike_and_an_address_warning(flags, incidents):
    _, planted = incidents
    surge = planted["surge"]
    spike = _only(flags, rule="spike", error_code=2)
    assert (spike["severity"], spike["campaign_id"], spike["id_send"]) == ("warning", 103, surge.id_send)
    assert spike["count"] >= 400
    assert spike["message"].startswith(f"Code 2 invalid_address spiked on {surge.at:%Y-%m-%d}")
    assert "campaign 'Newsletter'" in spike["message"]
    address = _only(flags, rule="addresses", campaign_id=103)
    assert (address["severity"], address["id_send"], address["count"]) == ("warning", surge.id_send, 400)
    assert "20.0% of its 2,000 recipients" in address["message"]


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


def test_nothing_else_is_flagged_and_the_order_is_severity_then_count(flags):
    assert sorted(flags["rule"]) == sorted(["setup"] * 3 + ["spike", "addresses", "addresses", "unknown_code"])
    rank = flags["severity"].map(SEVERITIES.index).tolist()
    assert rank == sorted(rank)
    for _, group in flags.groupby("severity"):
        assert group["count"].tolist() == sorted(group["count"], reverse=True)


def test_without_denominators_counts_stand_in(incidents):
    builder, _ = incidents
    flags = find_flags(builder.frame())
    assert (flags["severity"] == "critical").sum() == 3
    # 400 invalid addresses in one send pass the count bar; the 60 typos alone do not.
    assert flags.loc[flags["rule"] == "addresses", "campaign_id"].tolist() == [103]
    assert "recipients not sent" in flags.loc[flags["error_code"] == 1, "message"].iloc[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_frame_raises_no_critical_or_warning(seed):
    builder = clean_builder(seed=seed)
    for denominators in ({}, {"sends": builder.sends_frame()}, {"recipients": builder.recipients_frame()}):
        flags = find_flags(builder.frame(), **denominators)
        assert not flags["severity"].isin(["critical", "warning"]).any(), flags["message"].tolist()


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


def test_rising_unsubscribed_share_is_info():
    builder = ResultsBuilder(seed=3)
    builder.background(BACKGROUND_CAMPAIGNS, days=21)
    for day in range(21, 28):
        for campaign_id, name in BACKGROUND_CAMPAIGNS.items():
            for k in range(2):
                send = builder.send(campaign_id, name, day, 500, hour=8 + 4 * k)
                builder.errors(send, 2, int(builder.rng.binomial(500, 0.01)))
                rate = 0.08 if campaign_id == 103 else 0.02
                builder.errors(send, 6, int(builder.rng.binomial(500, rate)))
    frame = builder.frame()
    for denominators in ({}, {"sends": builder.sends_frame()}):
        flags = find_flags(frame, **denominators)
        flag = _only(flags, rule="unsubscribed")
        assert (flag["severity"], flag["campaign_id"], flag["error_code"]) == ("info", 103, 6)
        assert "Newsletter" in flag["message"] and "rose to" in flag["message"]
        assert not flags["severity"].isin(["critical", "warning"]).any()
    assert "of recipients" in find_flags(frame, sends=builder.sends_frame(), rules=["unsubscribed"])["message"].iloc[0]
    assert find_flags(frame, rules=["unsubscribed"], unsubscribed_ratio=10.0).empty


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
