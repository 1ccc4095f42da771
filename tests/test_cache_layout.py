"""The appending layout: parts per batch, compaction (automatic and on demand), the journal
that makes every change all-or-nothing (kills at each step of a compaction and of a fetch
batch), provisional answers that rewrite only their parts, and caches of the previous
layout (one ``part-0.parquet`` per month) read and compacted without loss."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from simhelpers import ANCHOR, ManualClock, settled_manifest, sim_client, snapshot

from mailkit_analysis.cache import cache_info, compact_cache, load_requests, load_results
from mailkit_analysis.cache.compact import AUTO_COMPACT_PARTS, auto_compact, parts_to_merge
from mailkit_analysis.cache.journal import JOURNAL_NAME
from mailkit_analysis.cache.lock import locked
from mailkit_analysis.cache.schema import RESULTS_SCHEMA, with_version
from mailkit_analysis.cache.store import ResultsStore, row_months
from mailkit_analysis.paths import CachePaths
from mailkit_analysis.simulator import MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.fetch import fetch_results

N = 200


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=11, anchor=ANCHOR, n_requests=260)


@pytest.fixture(scope="module")
def simulator(account):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        yield sim


@pytest.fixture(scope="module")
def manifest(account):
    return settled_manifest(account, N)


@pytest.fixture(scope="module")
def many_parts(tmp_path_factory, simulator, manifest):
    """A cache fetched in batches of 10 answers: many parts per month (auto compaction off)."""
    data = tmp_path_factory.mktemp("many")
    import mailkit_analysis.cache.compact as compact

    threshold = compact.AUTO_COMPACT_PARTS
    compact.AUTO_COMPACT_PARTS = 10_000
    try:
        with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
            outcome = fetch_results(manifest=manifest, data_dir=data, client=client, workers=4, progress=False,
                                    flush_every=10, flush_seconds=60, enrich=False)
    finally:
        compact.AUTO_COMPACT_PARTS = threshold
    assert outcome.ok and len(outcome.fetched) == N
    return data, snapshot(outcome.frame)


def _parts(data) -> dict[str, list[Path]]:
    months: dict[str, list[Path]] = {}
    for part in ResultsStore(CachePaths.under(data)).parts():
        months.setdefault(part.month, []).append(part.path)
    return months


def _plain_snapshot(data) -> pd.DataFrame:
    from mailkit_analysis.frame import conform, table_to_frame

    table = ds.dataset(data / "cache" / "results", format="parquet", partitioning="hive").to_table()
    if "month" not in table.column_names:  # no part at all
        table = RESULTS_SCHEMA.empty_table().append_column("month", pa.array([], pa.string()))
    return snapshot(conform(table_to_frame(table.drop_columns(["month"]).cast(RESULTS_SCHEMA))))


def _no_leftovers(data) -> None:
    cache = data / "cache"
    assert not (cache / JOURNAL_NAME).exists()
    assert not [p for p in cache.rglob(".*") if ".tmp-" in p.name]
    stray = [p for p in cache.rglob("*.parquet") if p.parent.parent.name == "results" and not p.name.startswith("part-")]
    assert not stray


def test_each_batch_appends_parts_and_every_reader_sees_the_same_rows(many_parts):
    data, expected = many_parts
    parts = _parts(data)
    assert sum(len(p) for p in parts.values()) > 2 * len(parts)  # several parts per month
    assert all(p.name.startswith("part-") and p.suffix == ".parquet" for ps in parts.values() for p in ps)
    pd.testing.assert_frame_equal(snapshot(load_results(data, fill=False)), expected)
    pd.testing.assert_frame_equal(_plain_snapshot(data), expected)
    results = data / "cache" / "results"
    count = duckdb.sql(f"select count(*) from read_parquet('{results}/*/*.parquet', hive_partitioning=true)").fetchall()[0][0]
    assert count == len(expected)
    info = cache_info(data)
    assert info.parts_per_month == {m: len(p) for m, p in parts.items()}
    assert info.last_compacted is None and "never" in str(info)
    _no_leftovers(data)


def test_compact_merges_each_month_into_one_part_without_loss(many_parts, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(many_parts[0], data)
    report = compact_cache(data)
    assert report.months and all(after == 1 for _, after in report.months.values())
    assert all(len(p) == 1 for p in _parts(data).values())
    pd.testing.assert_frame_equal(snapshot(load_results(data, fill=False)), many_parts[1])
    pd.testing.assert_frame_equal(_plain_snapshot(data), many_parts[1])
    info = cache_info(data)
    assert info.last_compacted is not None and set(info.parts_per_month.values()) == {1}
    assert "nothing to compact" in str(compact_cache(data))  # a second run has nothing to do
    _no_leftovers(data)


def test_automatic_compaction_merges_small_parts_and_keeps_big_ones():
    assert sorted(parts_to_merge([1000, 10, 10, 10])) == [1, 2, 3]  # the big part stays
    assert parts_to_merge([1000, 100, 10]) == []  # already a ladder
    assert sorted(parts_to_merge([3000] + [10] * 200)) == list(range(1, 201))  # the small ones
    assert len(parts_to_merge([1000] + [10] * 200)) == 201  # the small ones outgrew it: all
    assert sorted(parts_to_merge([5] * 9)) == list(range(9))
    ladder = [1000, 400, 150, 60, 20, 8, 3, 1]
    assert parts_to_merge(ladder) == []  # each holds more than all smaller ones together


def test_automatic_compaction_bounds_the_parts_of_a_month(many_parts, tmp_path):
    data = tmp_path / "copy"
    shutil.copytree(many_parts[0], data)
    paths = CachePaths.under(data)
    with locked(paths):
        report = auto_compact(paths)
    assert report.months
    assert all(len(p) <= AUTO_COMPACT_PARTS for p in _parts(data).values())
    pd.testing.assert_frame_equal(_plain_snapshot(data), many_parts[1])


def test_a_provisional_answer_rewrites_only_the_parts_holding_its_rows(tmp_path):
    account = SimulatedAccount(seed=5, anchor=ANCHOR, n_requests=200)

    def halfway(r):
        return r.sent_at + pd.Timedelta(minutes=r.processing_minutes // 2 + 2)

    request = next(r for r in account.requests()[50:]
                   if 0 < len(account.results_for(r.request_id, now=halfway(r))[1]) < len(account.results_for(r.request_id, now=ANCHOR)[1]))
    clock = ManualClock(halfway(request))
    cut = pd.Timestamp(request.sent_at) - pd.Timedelta(hours=1)
    others = settled_manifest(account).query("sent_at < @cut").tail(40)
    manifest = pd.concat([others, pd.DataFrame({"request_id": [request.request_id], "sent_at": [pd.Timestamp(request.sent_at)]})])
    with MailkitSimulator(account, clock=clock) as sim, sim_client(sim.json_url, clock=clock) as client:
        first = fetch_results(manifest=manifest, data_dir=tmp_path, client=client, progress=False, enrich=False, flush_every=20)
        assert first.provisional == [request.request_id]
        store = ResultsStore(CachePaths.under(tmp_path))
        before = {p.path: p.path.read_bytes() for p in store.parts()}
        holding = {p.path for p in store.parts_holding(pd.Index([request.request_id]), store.parts())}
        assert holding and holding != set(before)
        clock.advance(minutes=40)  # now final, with every row
        second = fetch_results(manifest=manifest, data_dir=tmp_path, client=client, progress=False, enrich=False)
    assert second.fetched == [request.request_id] and second.provisional == []
    after = {p.path: p.path.read_bytes() for p in store.parts()}
    assert set(before) - set(after) == holding  # exactly the parts that held its rows went
    for path in set(before) & set(after):
        assert before[path] == after[path]  # every other part untouched, byte for byte
    rows = load_results(tmp_path, request_ids=[request.request_id])
    assert len(rows) == len(account.results_for(request.request_id, now=clock())[1])
    assert len(load_results(tmp_path)) == len(_plain_snapshot(tmp_path))


# --- kills at every step of a change ------------------------------------------------------------
_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import mailkit_analysis.cache.journal as journal
    import mailkit_analysis.cache.store as store
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

    if step == "stage":      # staged files written, journal not yet: the change must vanish
        store.write_parquet_synced = die_after(store.write_parquet_synced)
    elif step == "commit":   # journal written, nothing applied: the change must happen
        journal._apply = die_after(lambda root, record: None)
    elif step == "apply":    # killed between the renames of the apply step
        journal.replace_file = die_after(journal.replace_file)
    {action}
    print("finished without being killed")
    """
)


def _kill_at(step: str, after: int, action: str, data: Path) -> None:
    script = _KILLER.format(tests=str(Path(__file__).parent), step=step, after=after, action=action)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MAILKIT_ANALYSIS_DATA": str(data)})
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr[-2000:]


@pytest.mark.parametrize("step, after", [("stage", 1), ("stage", 3), ("commit", 1), ("apply", 1), ("apply", 4)])
def test_a_kill_at_any_step_of_a_compaction_loses_nothing(many_parts, tmp_path, step, after):
    data = tmp_path / "copy"
    shutil.copytree(many_parts[0], data)
    parts_before = _parts(data)
    action = "from mailkit_analysis.cache import compact_cache; compact_cache()"
    _kill_at(step, after, action, data)
    # the next toolkit command (here a read) finishes or undoes the change, then reads exactly
    pd.testing.assert_frame_equal(snapshot(load_results(data, fill=False)), many_parts[1])
    pd.testing.assert_frame_equal(_plain_snapshot(data), many_parts[1])
    _no_leftovers(data)
    if (step, after) == ("stage", 1):
        assert _parts(data) == parts_before  # nothing was committed (each month is one change)
    compact_cache(data)
    pd.testing.assert_frame_equal(_plain_snapshot(data), many_parts[1])
    assert all(len(p) == 1 for p in _parts(data).values())


@pytest.mark.parametrize("step, after", [("stage", 1), ("commit", 1), ("apply", 2)])
def test_a_kill_at_any_step_of_a_fetch_batch_loses_nothing(simulator, manifest, many_parts, tmp_path, step, after):
    data = tmp_path / "kill"
    batch = manifest.iloc[:30]
    batch.to_parquet(tmp_path / "m.parquet")
    action = textwrap.dedent(f"""
        import pandas as pd
        from simhelpers import ANCHOR, sim_client
        from mailkit_analysis.sync.fetch import fetch_results
        with sim_client({simulator.json_url!r}, clock=lambda: ANCHOR) as client:
            fetch_results(manifest=pd.read_parquet({str(tmp_path / 'm.parquet')!r}), client=client, progress=False,
                          enrich=False, flush_every=10, flush_seconds=60)
    """)
    _kill_at(step, after, action, data)
    state = load_requests(data)  # recovers
    fetched = set(state.loc[state["status"].notna(), "request_id"].astype(int))
    stored = load_results(data, fill=False)
    assert set(stored["request_id"]) <= fetched  # no row of a request the state does not know
    expected = many_parts[1][many_parts[1]["request_id"].isin(fetched)].reset_index(drop=True)
    pd.testing.assert_frame_equal(snapshot(stored), expected)
    pd.testing.assert_frame_equal(_plain_snapshot(data), expected)
    _no_leftovers(data)
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        rerun = fetch_results(manifest=batch, data_dir=data, client=client, progress=False, enrich=False)
    assert sorted(rerun.fetched) == sorted(set(batch["request_id"].astype(int)) - fetched)
    full = many_parts[1][many_parts[1]["request_id"].isin(batch["request_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(_plain_snapshot(data), full)


# --- the previous layout --------------------------------------------------------------------------
def _write_old_layout(rows: pa.Table, data: Path) -> None:
    """One ``part-0.parquet`` per month, as the toolkit wrote caches before parts."""
    months = row_months(rows)
    for month in pc.unique(months).to_pylist():
        table = rows.filter(pc.equal(months, month))
        order = pc.sort_indices(table, [("request_id", "ascending"), ("date", "ascending")])
        target = data / "cache" / "results" / f"month={month}" / "part-0.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(with_version(table.take(order)), target, compression="zstd")


def test_a_cache_of_the_previous_layout_is_read_extended_and_compacted_without_loss(many_parts, simulator, manifest, tmp_path):
    source, expected = many_parts
    data = tmp_path / "old"
    (data / "cache").mkdir(parents=True)
    old = expected[expected["request_id"].isin(manifest["request_id"].iloc[:150])]
    stored = ds.dataset(source / "cache" / "results", partitioning="hive").to_table().drop_columns(["month"])
    stored = stored.filter(pc.is_in(stored.column("request_id"), value_set=pa.array(old["request_id"].unique())))
    _write_old_layout(stored.cast(RESULTS_SCHEMA), data)
    for name in ("requests.parquet", "account.json"):
        shutil.copy(source / "cache" / name, data / "cache" / name)
    # the old state knows only the first 150 requests
    state = pq.read_table(data / "cache" / "requests.parquet")
    keep = pc.is_in(state.column("request_id"), value_set=pa.array(old["request_id"].unique()))
    pq.write_table(state.filter(keep), data / "cache" / "requests.parquet")
    assert {p.name for ps in _parts(data).values() for p in ps} == {"part-0.parquet"}
    pd.testing.assert_frame_equal(snapshot(load_results(data, fill=False)), old.reset_index(drop=True))

    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:  # the other 50, and 20 again
        outcome = fetch_results(manifest=manifest.iloc[130:], data_dir=data, client=client, progress=False,
                                enrich=False, refresh=True)
    assert len(outcome.fetched) == N - 130
    pd.testing.assert_frame_equal(_plain_snapshot(data), expected)
    compact_cache(data)
    assert all(len(p) == 1 and p[0].name != "part-0.parquet" for p in _parts(data).values())
    pd.testing.assert_frame_equal(_plain_snapshot(data), expected)
    pd.testing.assert_frame_equal(snapshot(load_results(data, fill=False)), expected)
