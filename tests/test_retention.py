"""Retention and erasure: ``cache prune --before`` and ``cache forget --email``."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from simhelpers import ANCHOR, settled_manifest, sim_client, snapshot

from mailkit_analysis.cache import forget_email, load_requests, load_results, prune_cache
from mailkit_analysis.simulator import MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.fetch import fetch_results


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A cache over four months, in several parts, with an export holding addresses."""
    data = tmp_path_factory.mktemp("retention")
    account = SimulatedAccount(seed=8, anchor=ANCHOR, n_requests=240, days=120)
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim, sim_client(sim.json_url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(manifest=settled_manifest(account), data_dir=data, client=client, progress=False,
                                flush_every=40)
    frame = outcome.frame
    exports = data / "exports"
    exports.mkdir()
    named = frame[frame["email"].fillna("").str.contains("@")]
    named[["email", "error_code"]].to_csv(exports / "addresses-to-fix_2026-11-20T1200.csv", index=False)
    return data, frame


def _all_files(data):
    return [p for p in data.rglob("*") if p.is_file()]


def test_forget_leaves_no_trace_of_the_address_in_any_file(filled, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(filled[0], data)
    frame = filled[1]
    counts = frame["email"].str.lower().value_counts()
    address = counts[counts.index.str.contains("@")].index[0]  # the most frequent address
    shouting = address.upper()  # matching ignores case
    # the address also sits inside other texts: a failure message and an INFO text
    state = pq.read_table(data / "cache" / "requests.parquet")
    errors = pa.array([f"MailkitAPIError: refused {address}"] + [None] * (state.num_rows - 1), pa.string())
    state = state.set_column(state.schema.get_field_index("last_error"), "last_error", errors)
    pq.write_table(state, data / "cache" / "requests.parquet")
    other = frame[frame["email"].str.lower() != address].iloc[0]
    from mailkit_analysis.cache.store import ResultsStore
    from mailkit_analysis.paths import CachePaths

    store = ResultsStore(CachePaths.under(data))
    rows = store.read_requests(pd.Index([int(other["request_id"])]))
    first = pc.equal(pa.array(range(rows.num_rows)), 0)
    rows = rows.set_column(rows.schema.get_field_index("info"), "info",
                           pc.if_else(first, pa.scalar(f"Contact {shouting} bounced"), rows.column("info")))
    store.replace_requests(pd.Index([int(other["request_id"])]), rows)

    report = forget_email(shouting, data)
    mine = int((frame["email"].str.lower() == address).sum())
    in_export = int((filled[1]["email"].str.lower() == address).sum())
    assert report.rows_removed == mine + in_export
    assert report.rows_edited == 2  # the failure message and the INFO text
    assert f"{report.rows_changed:,} rows changed" in str(report)

    needle = address.lower().encode()
    for path in _all_files(data):
        assert needle not in path.read_bytes().lower(), path
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.columns:
                if pa.types.is_string(column.type):
                    hits = pc.match_substring(column, address, ignore_case=True)
                    assert not pc.any(pc.fill_null(hits, False)).as_py(), (path, column)
    after = load_results(data)
    assert len(after) == len(frame) - mine
    assert (after["info"] == "Contact [erased] bounced").sum() == 1
    assert load_requests(data)["last_error"].dropna().tolist() == ["MailkitAPIError: refused [erased]"]
    plain = ds.dataset(data / "cache" / "results", format="parquet", partitioning="hive").to_table()
    assert plain.num_rows == len(after)


def test_forget_on_the_command_line_says_how_many_rows_changed(filled, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(filled[0], data)
    address = filled[1].loc[filled[1]["email"].str.contains("@"), "email"].iloc[-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}
    done = subprocess.run([sys.executable, "-m", "mailkit_analysis", "cache", "forget", "--email", address,
                           "--data-dir", str(data)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rows changed" in done.stdout and address not in done.stdout + done.stderr
    bad = subprocess.run([sys.executable, "-m", "mailkit_analysis", "cache", "forget", "--email", "nobody",
                          "--data-dir", str(data)], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode != 0 and "not an e-mail address" in bad.stderr


def test_prune_drops_rows_requests_sends_and_exports_before_the_date(filled, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(filled[0], data)
    frame = filled[1]
    old_export = data / "exports" / "addresses-to-fix_2026-08-01T0900.csv"
    old_export.write_text("email\nsomeone@example.cz\n")
    long_ago = time.time() - 200 * 86400
    os.utime(old_export, (long_ago, long_ago))
    cutoff = "2026-10-01"
    limit = pd.Timestamp(cutoff, tz="Europe/Prague")
    requests = load_requests(data)
    old_requests = set(requests.loc[requests["sent_at"] < limit, "request_id"].astype(int))
    assert old_requests and len(old_requests) < len(requests)

    report = prune_cache(cutoff, data)
    assert report.requests == len(old_requests)
    assert "addresses-to-fix_2026-08-01T0900.csv" in report.files
    assert not old_export.exists() and (data / "exports" / "addresses-to-fix_2026-11-20T1200.csv").exists()

    kept = frame[(frame["date"] >= limit) & ~frame["request_id"].isin(old_requests)]
    assert report.rows == len(frame) - len(kept)
    pd.testing.assert_frame_equal(snapshot(load_results(data)), snapshot(kept))
    assert set(load_requests(data)["request_id"].astype(int)).isdisjoint(old_requests)
    months = {p.name for p in (data / "cache" / "results").iterdir()}
    assert all(m >= "month=2026-10" for m in months)  # whole months before the date are gone
    plain = ds.dataset(data / "cache" / "results", format="parquet", partitioning="hive").to_table()
    assert plain.num_rows == len(kept)
    sends = pq.read_table(data / "cache" / "sends.parquet").to_pandas()
    assert (pd.to_datetime(sends["send_date"]).dt.tz_localize("Europe/Prague") >= limit).all()
    assert "nothing" not in str(prune_cache(cutoff, data)) and prune_cache(cutoff, data).rows == 0
