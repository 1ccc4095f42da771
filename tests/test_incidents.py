"""Incidents on the quarter test account: every planted incident found, one entry per problem,
what needs action now first; and ``check`` as cron runs it, in real processes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from mailkit_analysis.analysis.flags import FLAG_COLUMNS
from mailkit_analysis.analysis.incidents import SCREENFUL, order_incidents
from mailkit_analysis.analysis.window import flags_for_window
from mailkit_analysis.simulator.scenarios import incident_quarter


def run_cli(*args, timeout=180):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}
    return subprocess.run([sys.executable, "-m", "mailkit_analysis", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture(scope="session")
def quarter(tmp_path_factory):
    data = tmp_path_factory.mktemp("quarter")
    return data, incident_quarter(data)


@pytest.fixture(scope="session")
def incidents(quarter):
    data, _planted = quarter
    return flags_for_window(data).flags


def _two_days_before(planted) -> str:
    return (planted.end - pd.Timedelta(days=2)).strftime("%Y-%m-%d %H:%M")


def test_every_planted_incident_is_found_among_the_first_screenful(quarter, incidents):
    _data, planted = quarter
    first = incidents.head(SCREENFUL)
    for truth in planted.incidents.itertuples(index=False):
        chosen = first[(first["error_code"] == truth.error_code) & (first["severity"] == truth.severity)]
        if not pd.isna(truth.campaign_id):
            chosen = chosen[(chosen["campaign_id"] == truth.campaign_id).fillna(False)]
        assert len(chosen) == 1, f"planted {truth.rule} {truth.error_code} in {truth.campaign_id}: {chosen}"
        found = chosen.iloc[0]
        if truth.rule == "setup":
            # Each run of failed sends is one entry, with its status and every request of the run.
            assert found["status"] == truth.status
            assert found["requests"] == truth.sends
        assert found["rule"] == truth.rule


def test_the_quarter_is_a_short_list_in_the_order_of_what_needs_action(incidents):
    assert 0 < len(incidents) <= 40
    assert list(incidents.columns) == list(FLAG_COLUMNS)
    top = incidents.iloc[0]
    assert (top["severity"], top["status"]) == ("critical", "ongoing")
    assert incidents.equals(order_incidents(incidents.sample(frac=1, random_state=1)))
    critical = incidents[incidents["severity"] == "critical"]
    resolved = critical[critical["status"] == "resolved"]
    assert resolved["last_seen"].is_monotonic_decreasing
    warnings = incidents[incidents["severity"] == "warning"]
    assert warnings["recipients"].is_monotonic_decreasing
    assert all(len(ids) == n for ids, n in zip(incidents["id_sends"], incidents["sends"]))


def test_messages_say_what_happened_in_one_line(quarter, incidents):
    top = incidents.iloc[0]
    assert "\n" not in "".join(incidents["message"])
    assert top["message"].startswith("Campaign 'Odeslání zásilky': invalid template failed ")
    assert top["message"].endswith("— still failing") and f"{top['sends']} sends" in top["message"]


def test_a_clean_campaign_raises_no_warning(quarter, incidents):
    _data, planted = quarter
    assert not incidents["campaign_id"].isin(list(planted.clean_campaigns)).fillna(False).any()


def test_check_over_the_last_two_days_names_the_ongoing_incident(quarter):
    data, planted = quarter
    ongoing = planted.incidents[(planted.incidents["status"] == "ongoing")
                                & (planted.incidents["severity"] == "critical")].iloc[0]
    done = run_cli("check", "--data-dir", str(data), "--since", _two_days_before(planted))
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("CRITICAL: 1 problem in ")
    assert f"Campaign '{ongoing.campaign_name}'" in done.stdout and "still failing" in done.stdout


def test_flags_json_is_a_top_level_array_with_the_sends_of_each_incident(quarter, incidents):
    data, _planted = quarter
    done = run_cli("flags", "--data-dir", str(data), "--format", "json")
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert isinstance(records, list) and len(records) == len(incidents)
    assert records[0]["status"] == "ongoing" and isinstance(records[0]["id_sends"], list)
    assert records[0]["id_send"] == records[0]["id_sends"][-1]
    assert "client_md5" not in done.stdout


# --------------------------------------------------------------------------- check exit codes

def test_check_cannot_see_a_missing_folder_cache_or_empty_cache(tmp_path):
    missing = run_cli("check", "--data-dir", str(tmp_path / "no-such-folder"))
    assert missing.returncode == 3 and missing.stdout == ""
    assert "cannot see: the data folder" in missing.stderr and "mailkit-analysis fetch" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    no_cache = run_cli("check", "--data-dir", str(tmp_path))
    assert no_cache.returncode == 3 and "cannot see: no cache in" in no_cache.stderr
    (tmp_path / "cache" / "results").mkdir(parents=True)
    empty = run_cli("check", "--data-dir", str(tmp_path))
    assert empty.returncode == 3 and "is empty" in empty.stderr
    for command in ("flags", "report"):
        done = run_cli(command, "--data-dir", str(tmp_path / "no-such-folder"))
        assert done.returncode == 3 and "No problems flagged" not in done.stdout and "cannot see" in done.stderr


def test_check_with_max_age_sees_a_stale_fetch(quarter, tmp_path):
    data, planted = quarter
    fresh = run_cli("check", "--data-dir", str(data), "--since", _two_days_before(planted), "--max-age", "1d")
    assert fresh.returncode == 1, fresh.stderr
    # The same cache, its fetch job dead for three hours.
    copy = tmp_path / "stale"
    shutil.copytree(data / "cache", copy / "cache", ignore=shutil.ignore_patterns("check_seen.json"))
    table = pq.read_table(copy / "cache" / "requests.parquet")
    column = table.schema.get_field_index("last_fetched_at")
    older = pc.subtract(table.column(column), pa.scalar(pd.Timedelta(hours=3).to_pytimedelta(), pa.duration("us")))
    pq.write_table(table.set_column(column, table.schema.field(column), older), copy / "cache" / "requests.parquet")
    stale = run_cli("check", "--data-dir", str(copy), "--max-age", "2h")
    assert stale.returncode == 3, (stale.stdout, stale.stderr)
    assert "cannot see: the last successful fetch was" in stale.stderr and "--max-age" in stale.stderr
    assert len(stale.stderr.strip().splitlines()) == 1
    assert run_cli("check", "--data-dir", str(copy)).returncode == 1  # no staleness check without --max-age


def test_check_exit_codes_0_2_and_4(quarter, tmp_path):
    data, planted = quarter
    before = (planted.start + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    clean = run_cli("check", "--data-dir", str(data), "--since", before, "--until", before,
                    "--campaign", str(planted.clean_campaigns[0]))
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("OK: no critical problem in ") and clean.stdout.strip().endswith(").")
    usage = run_cli("check", "--data-dir", str(data), "--since", "2026-11-02", "--until", "2026-11-01")
    assert usage.returncode == 2 and usage.stderr.startswith("error: ")
    assert run_cli("check", "--max-age", "soon").returncode == 2
    broken = tmp_path / "broken"
    shutil.copytree(data / "cache", broken / "cache", ignore=shutil.ignore_patterns("check_seen.json"))
    (broken / "cache" / "requests.parquet").write_bytes(b"not parquet at all")
    failed = run_cli("check", "--data-dir", str(broken))
    assert failed.returncode == 4, (failed.returncode, failed.stdout, failed.stderr)
    assert len(failed.stderr.strip().splitlines()) == 1 and "requests.parquet cannot be used" in failed.stderr
    assert run_cli("check", "--data-dir", str(data), "--config", str(tmp_path / "none.toml")).returncode == 2


def test_check_new_reports_an_incident_once(quarter, tmp_path):
    data, planted = quarter
    copy = tmp_path / "copy"
    shutil.copytree(data / "cache", copy / "cache", ignore=shutil.ignore_patterns("check_seen.json"))
    window = ["--data-dir", str(copy), "--since", _two_days_before(planted), "--new"]
    first = run_cli("check", *window)
    assert first.returncode == 1 and "still failing" in first.stdout, first.stderr
    assert (copy / "cache" / "check_seen.json").exists()
    second = run_cli("check", *window)
    assert second.returncode == 0, second.stdout
    assert second.stdout.startswith("OK: no new critical problem in ") and "(1 other flag)" in second.stdout
    # Without --new the ongoing incident is still there.
    assert run_cli("check", *window[:-1]).returncode == 1
