"""Recording request ids at send time: ``record_request`` / ``manifest add``, many processes at
once, recorded requests counted as never fetched, then fetched by a plain ``fetch``."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from simhelpers import ANCHOR, settled_manifest, sim_client

from mailkit_analysis.cache import cache_info, load_requests, record_request
from mailkit_analysis.cache.capture import RECORDED_NAME
from mailkit_analysis.cache.manifest import ManifestError
from mailkit_analysis.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.fetch import fetch_results

PROCESSES, EACH = 8, 25


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=21, anchor=ANCHOR, n_requests=260)


def test_eight_processes_recording_at_once_lose_no_line_and_a_fetch_follows_them(account, tmp_path):
    manifest = settled_manifest(account, PROCESSES * EACH).reset_index(drop=True)
    go = tmp_path / "go"
    script = textwrap.dedent(
        """
        import os, sys, time
        from mailkit_analysis.cli import main
        rows = sys.argv[1:]
        while not os.path.exists({go!r}):
            time.sleep(0.005)
        for row in rows:
            request_id, id_send, campaign, sent_at, recipients = row.split(",")
            code = main(["manifest", "add", "--request-id", request_id, "--id-send", id_send,
                         "--campaign-id", campaign, "--sent-at", sent_at, "--recipients", recipients,
                         "--data-dir", {data!r}])
            assert code == 0
        """
    ).format(go=str(go), data=str(tmp_path))
    procs = []
    for k in range(PROCESSES):
        rows = [f"{r.request_id},{r.id_send},{r.campaign_id},{r.sent_at.isoformat()},{r.recipients}"
                for r in manifest.iloc[k * EACH:(k + 1) * EACH].itertuples()]
        procs.append(subprocess.Popen([sys.executable, "-c", script, *rows], stderr=subprocess.PIPE))
    go.touch()  # all start appending at the same moment
    for proc in procs:
        assert proc.wait(timeout=180) == 0, proc.stderr.read().decode()[-2000:]
    lines = (tmp_path / "cache" / RECORDED_NAME).read_text().splitlines()
    assert lines[0] == "request_id,id_send,campaign_id,sent_at,recipients"
    assert len(lines) == 1 + PROCESSES * EACH
    assert sorted(int(line.split(",")[0]) for line in lines[1:]) == sorted(manifest["request_id"].astype(int))

    info = cache_info(tmp_path)
    assert info.requests == info.never_fetched == PROCESSES * EACH and info.final == 0
    state = load_requests(tmp_path).set_index("request_id").sort_index()
    expected = manifest.set_index("request_id").sort_index()
    assert state["recipients"].astype(int).tolist() == expected["recipients"].astype(int).tolist()
    assert list(state["sent_at"]) == list(expected["sent_at"])

    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim, sim_client(sim.json_url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(data_dir=tmp_path, client=client, progress=False, enrich=False)  # no ids: the recorded
        assert sorted(outcome.fetched) == sorted(manifest["request_id"].astype(int))
        sim.reset_count()
        again = fetch_results(data_dir=tmp_path, client=client, progress=False, enrich=False)
        assert again.requested == 0 and sim.request_count == 0  # everything final: nothing to fetch
    assert not (tmp_path / "cache" / RECORDED_NAME).exists()  # merged into the request state
    info = cache_info(tmp_path)
    assert info.final == PROCESSES * EACH and info.never_fetched == 0


def test_recording_a_request_twice_keeps_the_first_values(tmp_path):
    record_request(900001, recipients=10, sent_at="2026-11-02 10:00", data_dir=tmp_path)
    record_request(900001, id_send=55, sent_at="2026-11-02 10:05", data_dir=tmp_path)  # a retry, later
    state = load_requests(tmp_path)
    assert len(state) == 1
    row = state.iloc[0]
    assert row["recipients"] == 10 and row["id_send"] == 55
    assert row["sent_at"] == pd.Timestamp("2026-11-02 09:00", tz="UTC")  # 10:00 in Prague


@pytest.mark.parametrize("kwargs, column", [
    ({"request_id": 0}, "request_id"),
    ({"request_id": 5, "recipients": -1}, "recipients"),
    ({"request_id": 5, "sent_at": "yesterday-ish"}, "sent_at"),
])
def test_bad_values_are_refused_and_nothing_is_recorded(tmp_path, kwargs, column):
    with pytest.raises(ManifestError) as info:
        record_request(data_dir=tmp_path, **kwargs)
    assert column in str(info.value)
    assert not (tmp_path / "cache" / RECORDED_NAME).exists()


def test_manifest_add_on_the_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}
    done = subprocess.run([sys.executable, "-m", "mailkit_analysis", "manifest", "add", "--request-id", "123456",
                           "--recipients", "40", "--data-dir", str(tmp_path)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    info = subprocess.run([sys.executable, "-m", "mailkit_analysis", "cache", "info", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, env={**env, "MAILKIT_CLIENT_ID": str(DEFAULT_CLIENT_ID),
                                                               "MAILKIT_CLIENT_MD5": DEFAULT_CLIENT_MD5})
    assert "1 never fetched" in info.stdout, info.stdout + info.stderr


def test_naive_sent_at_follows_the_prague_rule_for_skipped_and_repeated_hours(tmp_path):
    """A naive sent_at gets its zone by prague_time's rule, not a second one of its own."""
    from mailkit_analysis.prague_time import to_prague

    record_request(910001, sent_at="2026-03-29 02:30", data_dir=tmp_path)  # skipped hour
    record_request(910002, sent_at="2026-10-25 02:30", data_dir=tmp_path)  # repeated hour
    (recorded,) = tmp_path.rglob(RECORDED_NAME)
    lines = recorded.read_text().splitlines()[1:]
    stamps = [pd.Timestamp(line.split(",")[3]) for line in lines]
    assert stamps[0] == to_prague("2026-03-29 02:30") == pd.Timestamp("2026-03-29 03:00", tz="Europe/Prague")
    assert stamps[1] == to_prague("2026-10-25 02:30") == pd.Timestamp("2026-10-25 00:30", tz="UTC")
