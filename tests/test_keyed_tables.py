"""The request state and the sends as a base plus update parts (``cache/keyed.py``): a fetch
into a big cache writes only the rows it changed, every reader (pandas, DuckDB) sees the
last row of each key, compaction folds the updates without loss, a kill at any step of a
batch loses nothing, and a cache of the previous layout (one file each) is read, extended
and compacted without loss.

A big cache is simulated by setting ``SMALL_TABLE_ROWS`` to 0: below it the tables are
rewritten whole on every write, as a small cache's are.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from simhelpers import ANCHOR, settled_manifest, sim_client

from mailkit_analysis.analysis.source import Source
from mailkit_analysis.cache import cache_info, compact_cache, load_requests, load_results, load_sends
from mailkit_analysis.cache import keyed
from mailkit_analysis.cache.compact import AUTO_COMPACT_PARTS
from mailkit_analysis.cache.journal import JOURNAL_NAME
from mailkit_analysis.cache.keyed import BASE_ROW_GROUP, KeyedTable, requests_table, sends_table
from mailkit_analysis.cache.schema import REQUESTS_SCHEMA
from mailkit_analysis.cache.state_file import last_fetched_at
from mailkit_analysis.paths import CachePaths
from mailkit_analysis.simulator import MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.fetch import fetch_results


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=5, anchor=ANCHOR, n_requests=220)


@pytest.fixture(scope="module")
def simulator(account):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        yield sim


@pytest.fixture(scope="module")
def manifest(account):
    return settled_manifest(account, 160)


def _fetch(url, manifest, data, **options):
    with sim_client(url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(manifest=manifest, data_dir=data, client=client, progress=False, workers=4, **options)
    assert outcome.ok, outcome.failures
    return outcome


def _requests(data) -> pd.DataFrame:
    return load_requests(data).sort_values("request_id").reset_index(drop=True)


def _sends(data) -> pd.DataFrame:
    return load_sends(data).sort_values("id_send").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, simulator, manifest):
    """The two fetches every test makes, into a cache that stays small (one file per table)."""
    data = tmp_path_factory.mktemp("reference")
    _fetch(simulator.json_url, manifest.iloc[:100], data)
    _fetch(simulator.json_url, manifest.iloc[80:], data, refresh=True)
    assert not requests_table(CachePaths.under(data)).update_files()
    return data


def _duckdb_views(data) -> tuple[pd.DataFrame, pd.DataFrame]:
    with Source(data) as source:
        requests = source.query("SELECT request_id, id_send, campaign_id, status, final FROM mk_requests ORDER BY request_id")
        sends = source.query("SELECT id_send, campaign_id, send_count FROM mk_sends ORDER BY id_send")
    return requests, sends


def _assert_same_tables(data, reference) -> None:
    pd.testing.assert_frame_equal(_requests(data), _requests(reference))
    pd.testing.assert_frame_equal(_sends(data), _sends(reference))
    for mine, theirs in zip(_duckdb_views(data), _duckdb_views(reference)):
        pd.testing.assert_frame_equal(mine, theirs)
    pd.testing.assert_frame_equal(load_results(data), load_results(reference))


def _write_previous_layout(data: Path) -> None:
    """Rewrite the two tables as the previous layout did: one file each, in one row group,
    in no particular order (written from the frame as it stood)."""
    for table in (requests_table(CachePaths.under(data)), sends_table(CachePaths.under(data))):
        stored = pq.read_table(table.base)
        pq.write_table(stored.take(pa.array(range(stored.num_rows - 1, -1, -1))), table.base, compression="zstd")


def test_a_big_cache_gets_updates_and_every_reader_sees_the_last_row(reference, simulator, manifest, tmp_path, monkeypatch):
    data = tmp_path / "big"
    _fetch(simulator.json_url, manifest.iloc[:100], data)
    monkeypatch.setattr(keyed, "SMALL_TABLE_ROWS", 0)  # as if the tables were big
    base = {t.base: t.base.read_bytes() for t in (requests_table(CachePaths.under(data)), sends_table(CachePaths.under(data)))}
    _fetch(simulator.json_url, manifest.iloc[80:], data, refresh=True)
    paths = CachePaths.under(data)
    updates = requests_table(paths).update_files()
    assert updates  # the second fetch added an update instead of rewriting the state
    for path, content in base.items():
        assert path.read_bytes() == content  # the bases were not rewritten
    # An update holds only the rows the run changed: its 80 requests, not the first 80.
    written = pa.concat_tables([pq.read_table(p) for p in updates]).column("request_id").to_pylist()
    assert set(written) == set(manifest["request_id"].iloc[80:].astype(int))
    _assert_same_tables(data, reference)
    assert cache_info(data).table_parts["requests"] == {"base": 1, "updates": len(updates)}
    assert last_fetched_at(paths) == _requests(reference)["last_fetched_at"].max()

    report = compact_cache(data)
    assert report.tables["requests"] == (1 + len(updates), 1)
    assert not requests_table(paths).update_files() and not sends_table(paths).update_files()
    _assert_same_tables(data, reference)


def test_updates_are_merged_past_the_threshold_and_the_state_stays_exact(account, simulator, tmp_path, monkeypatch):
    manifest = settled_manifest(account, 200)
    data = tmp_path / "many"
    _fetch(simulator.json_url, manifest.iloc[:40], data, enrich=False)
    monkeypatch.setattr(keyed, "SMALL_TABLE_ROWS", 0)
    for start in range(40, 200, 20):  # eight more runs of four batches each
        _fetch(simulator.json_url, manifest.iloc[start:start + 20], data, enrich=False, flush_every=5, flush_seconds=60)
        assert len(requests_table(CachePaths.under(data)).update_files()) <= AUTO_COMPACT_PARTS
    reference = tmp_path / "reference"
    _fetch(simulator.json_url, manifest, reference, enrich=False)
    pd.testing.assert_frame_equal(_requests(data), _requests(reference))


def test_a_cache_of_the_previous_layout_is_read_extended_and_compacted_without_loss(reference, simulator, manifest,
                                                                                    tmp_path, monkeypatch):
    data = tmp_path / "old"
    _fetch(simulator.json_url, manifest.iloc[:100], data)
    _write_previous_layout(data)
    paths = CachePaths.under(data)
    old_keys = pq.read_table(paths.requests, columns=["request_id"]).column("request_id").to_pylist()
    assert old_keys != sorted(old_keys)
    before = _requests(data)
    assert len(before) == 100
    monkeypatch.setattr(keyed, "SMALL_TABLE_ROWS", 0)
    _fetch(simulator.json_url, manifest.iloc[80:], data, refresh=True)
    assert requests_table(paths).update_files()
    _assert_same_tables(data, reference)
    compact_cache(data)
    for table in (requests_table(paths), sends_table(paths)):
        assert not table.update_files()
        meta = pq.ParquetFile(table.base).metadata
        assert all(meta.row_group(g).num_rows <= BASE_ROW_GROUP for g in range(meta.num_row_groups))
        keys = pq.read_table(table.base, columns=[table.key]).column(table.key).to_pylist()
        assert keys == sorted(keys)  # sorted by key, so a read of a few keys skips the rest
    _assert_same_tables(data, reference)


def test_a_read_of_a_few_keys_reads_only_their_row_groups(tmp_path):
    table = KeyedTable(tmp_path / "t.parquet", tmp_path / "t.updates", REQUESTS_SCHEMA, "request_id")
    frame = pd.DataFrame({"request_id": range(1, 200_001), "status": "ERROR"})
    table.write_base(frame)
    assert pq.ParquetFile(table.base).metadata.num_row_groups == 4
    from mailkit_analysis.cache.journal import Transaction

    tx = Transaction(tmp_path)
    table.stage_update(tx, pd.DataFrame({"request_id": [5, 200_000, 300_000], "status": ["OK", "OK", "ERROR"]}))
    tx.commit()
    few = table.read([4, 5, 300_000, 999_999]).set_index("request_id")["status"]
    assert few.to_dict() == {4: "ERROR", 5: "OK", 300_000: "ERROR"}
    whole = table.read()
    assert len(whole) == 200_001 and whole.set_index("request_id").loc[200_000, "status"] == "OK"


# --- kills at every step of a batch that writes updates ------------------------------------------
_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import mailkit_analysis.cache.journal as journal
    import mailkit_analysis.cache.keyed as keyed
    keyed.SMALL_TABLE_ROWS = 0
    step, after = {step!r}, {after}
    calls = {{"n": 0}}

    def die_after(func):
        def wrapper(*args, **kwargs):
            result = func(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] >= after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        return wrapper

    if step == "stage":      # an update written under its staged name, journal not yet
        keyed.write_parquet_synced = die_after(keyed.write_parquet_synced)
    elif step == "commit":   # journal written, nothing applied: the change must happen
        journal._apply = die_after(lambda root, record: None)
    elif step == "apply":    # killed between the renames of the apply step
        journal.replace_file = die_after(journal.replace_file)
    {action}
    print("finished without being killed")
    """
)


@pytest.mark.parametrize("step, after", [("stage", 1), ("stage", 2), ("commit", 2), ("apply", 3)])
def test_a_kill_at_any_step_of_a_batch_writing_updates_loses_nothing(reference, simulator, manifest, tmp_path, step, after):
    data = tmp_path / "kill"
    _fetch(simulator.json_url, manifest.iloc[:100], data)
    manifest.iloc[80:].to_parquet(tmp_path / "m.parquet")
    action = textwrap.dedent(f"""
        import pandas as pd
        from simhelpers import ANCHOR, sim_client
        from mailkit_analysis.sync.fetch import fetch_results
        with sim_client({simulator.json_url!r}, clock=lambda: ANCHOR) as client:
            fetch_results(manifest=pd.read_parquet({str(tmp_path / 'm.parquet')!r}), client=client, progress=False,
                          refresh=True, flush_every=15, flush_seconds=60, workers=2)
    """)
    script = _KILLER.format(tests=str(Path(__file__).parent), step=step, after=after, action=action)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MAILKIT_ANALYSIS_DATA": str(data)})
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr[-2000:]
    state = load_requests(data)  # recovers
    assert not (data / "cache" / JOURNAL_NAME).exists()
    assert not [p for p in (data / "cache").rglob(".*") if ".tmp-" in p.name]
    assert set(state["request_id"]) >= set(manifest["request_id"].iloc[:100])  # nothing committed went
    stored = load_results(data, fill=False)
    fetched = set(state.loc[state["status"].notna(), "request_id"])
    assert set(stored["request_id"]) <= fetched  # no row of a request the state does not know
    shutil.rmtree(data / "cache" / "quarantine", ignore_errors=True)
    _fetch(simulator.json_url, manifest.iloc[80:], data)  # what the kill cut short
    pd.testing.assert_frame_equal(load_results(data), load_results(reference))
    assert set(_requests(data)["request_id"]) == set(_requests(reference)["request_id"])
    assert _requests(data)["final"].all()
