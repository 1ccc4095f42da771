"""The parquet cache against the simulator: the 30-minute rule, zero-request re-runs,
crash safety, two writers, bad manifests, unusable files, filters and foreign readers."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from simhelpers import (
    ANCHOR,
    ManualClock,
    files_digest,
    settled_manifest,
    sim_client,
    snapshot,
)

from mailkit_analysis.cache import cache_info, load_requests, load_results, load_sends
from mailkit_analysis.cache.compact import AUTO_COMPACT_PARTS
from mailkit_analysis.cache.manifest import ManifestError
from mailkit_analysis.cache.schema import VERSION_KEY
from mailkit_analysis.frame import RESULT_COLUMNS, RESULT_DTYPES
from mailkit_analysis.simulator import FaultConfig, MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.fetch import fetch_results

N_SETTLED = 1000


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=3, anchor=ANCHOR, n_requests=1100)


@pytest.fixture(scope="module")
def simulator(account):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        yield sim


@pytest.fixture(scope="module")
def manifest(account):
    frame = settled_manifest(account, N_SETTLED)
    assert len(frame) == N_SETTLED
    return frame


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, simulator, manifest):
    """One undisturbed fetch of the 1,000 settled requests; other tests compare against it."""
    data = tmp_path_factory.mktemp("baseline")
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(manifest=manifest, data_dir=data, client=client, workers=8, progress=False)
    assert outcome.ok and len(outcome.fetched) == N_SETTLED and not outcome.provisional
    return data, outcome


def test_first_run_fetches_everything_and_types_the_frame(baseline, account):
    data, outcome = baseline
    frame = outcome.frame
    assert list(frame.columns) == RESULT_COLUMNS
    assert {c: str(t) for c, t in frame.dtypes.items()} == {c: str(t) for c, t in RESULT_DTYPES.items()}
    expected_rows = sum(len(account.results_for(r, now=ANCHOR)[1]) for r in outcome.fetched)
    assert len(frame) == expected_rows > 0
    # enrichment: every row with a send knows its campaign and its name
    with_send = frame[frame["id_send"].notna()]
    assert with_send["campaign_id"].notna().all() and with_send["campaign_name"].notna().all()
    sends = load_sends(data)
    assert {"id_send", "campaign_id", "send_count"} <= set(sends.columns) and len(sends) > 0


def test_second_run_over_final_requests_makes_no_http_request(baseline, simulator, manifest, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(baseline[0], data)
    before = files_digest(data / "cache" / "results")
    state_before = (data / "cache" / "requests.parquet").read_bytes()
    simulator.reset_count()
    started = time.perf_counter()
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(manifest=manifest, data_dir=data, client=client, progress=False)
    elapsed = time.perf_counter() - started
    print(f"warm re-run over {N_SETTLED} final requests: {elapsed:.2f}s, {simulator.request_count} HTTP requests")
    assert simulator.request_count == 0
    assert outcome.fetched == [] and outcome.from_cache == N_SETTLED
    assert elapsed < 2.0
    pd.testing.assert_frame_equal(snapshot(outcome.frame), snapshot(baseline[1].frame))
    # nothing to do means nothing written: no part, and not the request state either
    assert files_digest(data / "cache" / "results") == before
    assert (data / "cache" / "requests.parquet").read_bytes() == state_before


def test_provisional_request_is_refetched_and_becomes_final(tmp_path):
    account = SimulatedAccount(seed=5, anchor=ANCHOR, n_requests=200)
    # a request with several error rows once processed, none in its first minute; the clock
    # starts one minute after it was sent, when Mailkit has reported nothing yet (an early "OK")
    request = next(r for r in account.requests() if len(account.results_for(r.request_id, now=ANCHOR)[1]) > 3
                   and not account.results_for(r.request_id, now=r.sent_at + pd.Timedelta(minutes=1))[1])
    clock = ManualClock(request.sent_at + pd.Timedelta(minutes=1))
    assert account.results_for(request.request_id, now=clock())[0] == "OK"
    manifest = pd.DataFrame({"request_id": [request.request_id], "sent_at": [pd.Timestamp(request.sent_at)]})
    with MailkitSimulator(account, clock=clock) as sim, sim_client(sim.json_url, clock=clock) as client:
        first = fetch_results(manifest=manifest, data_dir=tmp_path, client=client, progress=False)
        assert first.provisional == [request.request_id]
        rows_before = len(first.frame)
        assert rows_before == 0  # status OK, but not final

        clock.advance(minutes=request.processing_minutes // 2 + 1)  # still inside the 30 minutes: fetched again, rows replaced
        sim.reset_count()
        second = fetch_results(manifest=manifest, data_dir=tmp_path, client=client, progress=False)
        assert sim.counts_by_function.get("mailkit.sendmail_mass.results") == 1
        assert second.provisional == [request.request_id]
        expected = account.results_for(request.request_id, now=clock())[1]
        assert len(second.frame) == len(expected) > rows_before
        assert not second.frame.duplicated(["id_send_message", "email", "error_code", "date"]).any()

        clock.advance(minutes=30)  # now ≥ 30 minutes after sent_at: this answer is final
        third = fetch_results(manifest=manifest, data_dir=tmp_path, client=client, progress=False)
        assert third.provisional == [] and third.fetched == [request.request_id]
        assert len(third.frame) == len(account.results_for(request.request_id, now=clock())[1])

        clock.advance(hours=5)
        sim.reset_count()
        fourth = fetch_results(manifest=manifest, data_dir=tmp_path, client=client, progress=False)
        assert sim.request_count == 0 and fourth.fetched == []
        pd.testing.assert_frame_equal(snapshot(fourth.frame), snapshot(third.frame))
    # a reader without toolkit code sees each row once, not the replaced provisional rows too
    plain = ds.dataset(tmp_path / "cache" / "results", format="parquet", partitioning="hive").to_table()
    assert plain.num_rows == len(third.frame)


def test_unknown_sent_at_is_final_thirty_minutes_after_first_fetch(tmp_path):
    clock = ManualClock()
    account = SimulatedAccount(seed=6, anchor=ANCHOR, n_requests=50)
    old = settled_manifest(account, 3)[["request_id"]]  # no sent_at given
    with MailkitSimulator(account, clock=clock) as sim, sim_client(sim.json_url, clock=clock) as client:
        assert fetch_results(manifest=old, data_dir=tmp_path, client=client).provisional == sorted(old["request_id"])
        clock.advance(minutes=31)
        assert fetch_results(manifest=old, data_dir=tmp_path, client=client).provisional == []
        sim.reset_count()
        fetch_results(manifest=old, data_dir=tmp_path, client=client)
        assert sim.request_count == 0
        fetch_results(manifest=old, data_dir=tmp_path, client=client, refresh=True)
        assert sim.counts_by_function.get("mailkit.sendmail_mass.results") == 3


def _fetch_script(url: str, manifest_path: Path, data: Path, flush_every: int = 10) -> str:
    return textwrap.dedent(
        f"""
        import datetime as dt, sys
        import pandas as pd
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from simhelpers import ANCHOR, sim_client
        from mailkit_analysis.sync.fetch import fetch_results
        manifest = pd.read_parquet({str(manifest_path)!r})
        with sim_client({url!r}, clock=lambda: ANCHOR) as client:
            out = fetch_results(manifest=manifest, data_dir={str(data)!r}, client=client,
                                workers=4, progress=False, flush_every={flush_every}, flush_seconds=0.05)
        print("done", len(out.fetched), len(out.frame))
        """
    )


def test_sigkill_mid_fetch_leaves_a_readable_cache_and_rerun_completes_it(account, baseline, manifest, tmp_path):
    manifest = manifest.iloc[:300]
    expected = baseline[1].frame[baseline[1].frame["request_id"].isin(manifest["request_id"])]
    manifest_path = tmp_path / "manifest.parquet"
    manifest.to_parquet(manifest_path)
    # 60 ms per call with 4 workers: at least 1.5 s between the last trial's kill point and
    # the end of the run, far more than the 0.1 s polling interval below.
    with MailkitSimulator(account, clock=lambda: ANCHOR, faults=FaultConfig(latency_ms=60)) as slow:
        for trial, wait_rows in enumerate((1, 60, 150, 200)):
            data = tmp_path / f"trial{trial}"
            proc = subprocess.Popen(
                [sys.executable, "-c", _fetch_script(slow.json_url, manifest_path, data, flush_every=20)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = load_requests(data) if (data / "cache").is_dir() else None
                if state is not None and state["status"].notna().sum() >= wait_rows:
                    break
                time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
            # readable right away, by the toolkit and by plain pyarrow
            partial = load_results(data)
            fetched_before = int(load_requests(data)["status"].notna().sum())
            assert fetched_before < len(manifest)
            # the toolkit read above finished or dropped the batch in flight: plain readers now
            # see exactly the toolkit's rows, none twice
            plain = ds.dataset(data / "cache" / "results", partitioning="hive").to_table()
            assert plain.num_rows == len(partial)
            print(f"trial {trial}: killed after {fetched_before} requests, {len(partial)} rows on disk "
                  f"({time.monotonic() - deadline + 60:.1f}s)")
            with sim_client(slow.json_url, clock=lambda: ANCHOR) as client:
                rerun = fetch_results(manifest=manifest, data_dir=data, client=client, workers=8, progress=False)
            assert rerun.ok
            assert len(rerun.fetched) <= len(manifest) - fetched_before + 10  # a batch in flight at most
            pd.testing.assert_frame_equal(snapshot(rerun.frame), snapshot(expected))
            assert not list((data / "cache").rglob(".*.tmp-*")) and not (data / "cache" / "journal.json").exists()
            plain = ds.dataset(data / "cache" / "results", partitioning="hive").to_table()
            assert plain.num_rows == len(expected)


def test_two_processes_fetching_overlapping_lists(account, baseline, manifest, simulator, tmp_path):
    data = tmp_path / "shared"
    manifest = manifest.iloc[:400]
    expected = baseline[1].frame[baseline[1].frame["request_id"].isin(manifest["request_id"])]
    first_half, second_half = manifest.iloc[:250], manifest.iloc[150:]
    paths = []
    for name, part in (("a", first_half), ("b", second_half)):
        path = tmp_path / f"{name}.parquet"
        part.to_parquet(path)
        paths.append(path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _fetch_script(simulator.json_url, path, data, flush_every=25)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for path in paths
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()[-3000:]
    merged = load_results(data)
    # identical rows can be real (two code-4 rows for the same missing list): compare counts
    per_request = merged.groupby("request_id").size()
    assert per_request.equals(expected.groupby("request_id").size())
    pd.testing.assert_frame_equal(snapshot(merged), snapshot(expected))
    state = load_requests(data)
    assert len(state) == len(manifest) and state["request_id"].is_unique and state["final"].all()
    # each process appended its own parts; automatic compaction kept every month small
    plain = ds.dataset(data / "cache" / "results", format="parquet", partitioning="hive").to_table()
    assert plain.num_rows == len(expected)
    assert max(cache_info(data).parts_per_month.values()) <= AUTO_COMPACT_PARTS


@pytest.mark.parametrize(
    "content, line, column",
    [
        ("id,sent_at\n1,2026-11-01\n", 1, None),
        ("request_id,sent_at\n700001,2026-11-01 10:00\nabc,2026-11-01\n", 3, "request_id"),
        ("request_id,sent_at\n700001,2026-11-01 10:00\n700002,yesterday-ish\n", 3, "sent_at"),
        ("request_id,recipients\n700001,12.5\n", 2, "recipients"),
    ],
)
def test_bad_manifest_is_refused_with_file_line_column_and_cache_untouched(baseline, tmp_path, content, line, column):
    data = tmp_path / "copy"
    shutil.copytree(baseline[0], data)
    before = files_digest(data)
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        fetch_results(manifest=bad, data_dir=data, client=None)
    message = str(info.value)
    assert str(bad) in message and f"line {line}" in message
    if column:
        assert f"column '{column}'" in message
    assert files_digest(data) == before


def test_manifest_is_stored_and_merged_on_reuse(simulator, account, tmp_path):
    manifest = settled_manifest(account, 6)
    thin = manifest[["request_id"]].iloc[:3]
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        fetch_results(manifest=manifest.iloc[:3], data_dir=tmp_path, client=client)
        fetch_results(manifest=thin, data_dir=tmp_path, client=client)  # thinner: forgets nothing
        fetch_results(manifest=manifest.iloc[3:], data_dir=tmp_path, client=client)
    state = load_requests(tmp_path).set_index("request_id").sort_index()
    expected = manifest.set_index("request_id").sort_index()
    assert list(state.index) == list(expected.index)
    assert state["recipients"].astype("int64").tolist() == expected["recipients"].astype("int64").tolist()
    assert list(state["sent_at"]) == list(expected["sent_at"])


def test_unreadable_and_foreign_version_files_are_reported_quarantined_and_refetched(baseline, simulator, manifest, tmp_path, caplog):
    data = tmp_path / "copy"
    shutil.copytree(baseline[0], data)
    months = sorted((data / "cache" / "results").glob("month=*"))
    assert len(months) >= 2
    parts = [sorted(m.glob("part-*.parquet"))[0] for m in months[:2]]
    parts[0].write_bytes(b"PAR1 this is not parquet any more")
    table = pq.read_table(parts[1])
    pq.write_table(table.replace_schema_metadata({VERSION_KEY: b"999"}), parts[1])
    # reading skips the bad files with a warning instead of crashing
    partial = load_results(data)
    assert 0 < len(partial) < len(baseline[1].frame)
    assert any("skipping" in r.getMessage() for r in caplog.records)
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(manifest=manifest, data_dir=data, client=client, workers=8, progress=False)
    assert any("quarantine" in w for w in outcome.warnings)
    assert len(list((data / "cache" / "quarantine").iterdir())) == 2  # moved, never deleted
    pd.testing.assert_frame_equal(snapshot(outcome.frame), snapshot(baseline[1].frame))


def test_offline_serves_only_the_cache_and_changes_nothing(baseline, manifest, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(baseline[0], data)
    before = files_digest(data)
    extra = pd.DataFrame({"request_id": [999_999_999]})
    outcome = fetch_results(manifest=pd.concat([manifest[["request_id"]], extra]), data_dir=data, offline=True)
    assert outcome.fetched == [] and outcome.from_cache == N_SETTLED
    pd.testing.assert_frame_equal(snapshot(outcome.frame), snapshot(baseline[1].frame))
    assert files_digest(data) == before


def test_load_results_filters_match_pandas_filters(baseline):
    data, outcome = baseline
    full = load_results(data)
    since, until = "2026-10-01", "2026-10-31"
    window = load_results(data, since=since, until=until)
    lo = pd.Timestamp(since, tz="Europe/Prague")
    hi = pd.Timestamp(until, tz="Europe/Prague") + pd.Timedelta(days=1)
    expected = full[(full["date"] >= lo) & (full["date"] < hi)]
    assert len(window) == len(expected) > 0
    pd.testing.assert_frame_equal(snapshot(window), snapshot(expected))

    codes = load_results(data, codes=[2, 3])
    assert set(codes["error_code"].unique()) == {2, 3}
    assert len(codes) == int(full["error_code"].isin([2, 3]).sum())

    campaign = int(full["campaign_id"].dropna().value_counts().index[0])
    one = load_results(data, campaigns=[campaign])
    assert len(one) == int((full["campaign_id"] == campaign).sum()) > 0

    narrow = load_results(data, columns=["error_code", "date"], codes=[2])
    assert list(narrow.columns) == RESULT_COLUMNS and len(narrow) == int((full["error_code"] == 2).sum())
    assert narrow["email"].isna().all()  # unread columns are missing, never invented

    ids = full["request_id"].drop_duplicates().head(5).tolist()
    some = load_results(data, request_ids=ids)
    assert set(some["request_id"]) == set(ids)


def test_dataset_is_readable_without_toolkit_code(baseline):
    data, outcome = baseline
    results = data / "cache" / "results"
    table = ds.dataset(results, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(outcome.frame)
    assert "month" in table.column_names
    counts = duckdb.sql(
        f"select error_code, count(*) as n from read_parquet('{results}/*/*.parquet', hive_partitioning=true) "
        "group by 1 order by 1"
    ).df()
    expected = outcome.frame.groupby("error_code").size()
    assert dict(zip(counts["error_code"], counts["n"])) == {int(k): int(v) for k, v in expected.items()}
    dd = pytest.importorskip("dask.dataframe")
    assert len(dd.read_parquet(str(results)).compute()) == len(outcome.frame)
    for part in results.glob("month=*/*.parquet"):
        assert pq.read_schema(part).metadata[VERSION_KEY] == b"1"


def test_cache_info_counts(baseline):
    data, outcome = baseline
    info = cache_info(data)
    assert info.requests == N_SETTLED and info.final == N_SETTLED and info.provisional == 0
    assert info.rows == len(outcome.frame) and info.size_bytes > 0
    assert info.first_date < info.last_date
    assert "final" in str(info)


def test_cache_refuses_another_account(baseline, simulator, manifest, tmp_path):
    from mailkit_analysis import Credentials, MailkitClient

    data = tmp_path / "copy"
    shutil.copytree(baseline[0], data)
    with MailkitClient(Credentials(4242, "another-md5-value"), url=simulator.json_url) as other:
        with pytest.raises(Exception) as info:
            fetch_results(manifest=manifest, data_dir=data, client=other, refresh=True)
    assert "another Mailkit account" in str(info.value)
    assert "another-md5-value" not in str(info.value)
    assert json.loads((data / "cache" / "account.json").read_text())["client_id"] != 4242
    assert os.environ.get("MAILKIT_CLIENT_MD5") is None


def test_enrichment_is_best_effort(account, manifest, tmp_path, caplog):
    denied = ("mailkit.campaigns.list", "mailkit.report.campaign")
    small = manifest.drop(columns=["campaign_id"]).head(40)
    with MailkitSimulator(account, clock=lambda: ANCHOR, denied_functions=denied) as sim:
        with sim_client(sim.json_url, clock=lambda: ANCHOR) as client:
            with caplog.at_level("WARNING", logger="mailkit_analysis"):
                outcome = fetch_results(manifest=small, data_dir=tmp_path, client=client)
    assert outcome.ok and len(outcome.fetched) == len(small) and len(outcome.frame) > 0
    assert len(outcome.warnings) == 1 and "campaign names unavailable" in outcome.warnings[0]
    assert "Access denied" in outcome.warnings[0]
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1
    assert outcome.frame["campaign_name"].isna().all()
    assert load_sends(tmp_path).empty  # no send counts: rates stay unknown
