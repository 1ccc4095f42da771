"""Scale tooling: the generator writes a real cache, and the DuckDB summaries equal pandas.

``aggregate.*_from_cache`` must return exactly what ``analysis``/``export`` compute on
``load_results``: on a generated cache (every row carries its campaign), on a simulator
cache whose rows lack campaigns (filled from the sends and requests tables), with every
filter, and across Prague's clock changes. The generated files must read the same through
DuckDB, ``pyarrow.dataset`` and the toolkit.
"""
from __future__ import annotations

import subprocess
import sys

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from mailkit_analysis.analysis.aggregate import (
    by_campaign_from_cache,
    counts_over_time_from_cache,
    summary_by_code_from_cache,
)
from simhelpers import ANCHOR, settled_manifest, sim_client

from mailkit_analysis.analysis import summaries as analysis
from mailkit_analysis.analysis import tables
from mailkit_analysis.analysis.window import Window
from mailkit_analysis.cache import (
    cache_info,
    load_campaigns,
    load_requests,
    load_results,
    load_sends,
)
from mailkit_analysis.atomic import write_parquet_atomic
from mailkit_analysis.cache.schema import (
    RESULTS_SCHEMA,
    SCHEMA_VERSION,
    VERSION_KEY,
    with_version,
)
from mailkit_analysis.cache.store import ResultsStore
from mailkit_analysis.paths import CachePaths
from mailkit_analysis.presentation.export import summarize_by_code
from mailkit_analysis.simulator import MailkitSimulator, SimulatedAccount
from mailkit_analysis.simulator.generate import generate_cache
from mailkit_analysis.sync.fetch import fetch_results

ROWS = 40_000
END = "2026-11-15 12:00"  # 14 months back: both 2025 clock changes and the spring 2026 one


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    data = tmp_path_factory.mktemp("generated")
    made = generate_cache(data, ROWS, seed=11, months=14, campaigns=120, end=END)
    return data, made


@pytest.fixture(scope="module")
def sim_cache(tmp_path_factory):
    """A fetched simulator cache whose rows are then stripped of half their campaign ids and
    names, as a cache looks before enrichment succeeded."""
    data = tmp_path_factory.mktemp("simulated")
    account = SimulatedAccount(seed=4, anchor=ANCHOR, n_requests=160, days=200)
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim, sim_client(sim.json_url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(manifest=settled_manifest(account), data_dir=data, client=client, workers=8, progress=False)
    assert outcome.ok and len(outcome.frame) > 500
    store = ResultsStore(CachePaths.under(data))
    for part in store.usable_parts():
        path = part.path
        table = pq.read_table(path, schema=RESULTS_SCHEMA)
        odd = pc.equal(pc.bit_wise_and(table.column("request_id"), 1), 1)
        for name, kind in (("campaign_id", pa.int64()), ("campaign_name", pa.string())):
            blanked = pc.if_else(odd, pa.scalar(None, kind), table.column(name))
            table = table.set_column(table.schema.get_field_index(name), name, blanked)
        write_parquet_atomic(with_version(table), path)
    return data, account


def _campaigns_of(data, k=3):
    frame = load_results(data)
    return frame["campaign_id"].value_counts().index[:k].astype(int).tolist()


def _windows(data):
    frame = load_results(data)
    first, last = frame["date"].min(), frame["date"].max()
    middle = first + (last - first) / 2
    return [
        {},
        {"since": middle.strftime("%Y-%m-%d"), "until": last.strftime("%Y-%m-%d")},
        {"until": (first + pd.Timedelta(days=20)).isoformat()},
        {"codes": [2, 6, 42]},
        {"campaigns": _campaigns_of(data)},
        {"since": middle.isoformat(), "campaigns": _campaigns_of(data, 5), "codes": [1, 2, 3, 4, 5]},
        {"since": "2001-01-01", "until": "2001-02-01"},  # nothing there
    ]


# --- the generator -----------------------------------------------------------------------------
def test_generator_writes_a_cache_the_toolkit_reads(generated):
    data, made = generated
    assert made.rows == ROWS and made.months == 14
    info = cache_info(data)
    assert info.rows == ROWS and info.partitions == 14 and not info.unusable_files
    for path in (CachePaths.under(data).results).glob("month=*/part-*.parquet"):
        assert pq.read_schema(path).metadata[VERSION_KEY] == SCHEMA_VERSION.encode()
    frame = load_results(data)
    assert len(frame) == ROWS
    assert frame["date"].max() < pd.Timestamp(END, tz="Europe/Prague")
    assert set(frame["error_code"].unique()) >= {1, 2, 3, 4, 5, 6, 7, 8}
    # codes 4 and 5 fail before a send exists; invalid and missing addresses have no record
    assert frame.loc[frame["error_code"].isin([4, 5]), "id_send"].isna().all()
    assert frame.loc[frame["error_code"].isin([2, 3]), "id_email"].isna().all()
    assert (frame.loc[frame["error_code"] == 3, "email"] == "").all()
    assert frame["campaign_name"].notna().all()
    requests, sends = load_requests(data), load_sends(data)
    assert requests["rows"].sum() == ROWS and requests["final"].all()
    assert set(frame["request_id"]) <= set(requests["request_id"])
    assert len(sends) == made.sends and len(load_campaigns(data)) == 120


def test_generator_is_deterministic_and_refuses_an_existing_cache(tmp_path):
    first = generate_cache(tmp_path / "a", 3000, seed=5, end=END, months=3)
    generate_cache(tmp_path / "b", 3000, seed=5, end=END, months=3)
    assert first.rows == 3000
    for name in ("a", "b"):
        assert len(load_results(tmp_path / name)) == 3000
    left, right = load_results(tmp_path / "a"), load_results(tmp_path / "b")
    pd.testing.assert_frame_equal(left, right)
    with pytest.raises(FileExistsError):
        generate_cache(tmp_path / "a", 10)


@pytest.mark.parametrize("module", ["mailkit_analysis.generate", "mailkit_analysis.simulator.generate"])
def test_generator_command_line(tmp_path, module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--rows", "2500", "--data-dir", str(tmp_path), "--months", "2"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "2,500 result rows" in done.stdout
    assert cache_info(tmp_path).rows == 2500


# --- foreign readers ----------------------------------------------------------------------------
def test_generated_cache_reads_the_same_everywhere(generated):
    data, _ = generated
    results = CachePaths.under(data).results
    with_duckdb = duckdb.sql(
        f"SELECT error_code, count(*) AS n, count(DISTINCT request_id) AS r FROM "
        f"read_parquet('{results}/*/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1"
    ).df()
    table = ds.dataset(results, format="parquet", partitioning="hive").to_table()
    with_arrow = table.group_by("error_code").aggregate([("error_code", "count"), ("request_id", "count_distinct")])
    with_arrow = with_arrow.to_pandas().sort_values("error_code").reset_index(drop=True)
    summary = summary_by_code_from_cache(data).sort_values("error_code").reset_index(drop=True)
    frame = load_results(data)
    with_pandas = frame.groupby("error_code").agg(n=("request_id", "size"), r=("request_id", "nunique")).reset_index()
    assert with_duckdb["error_code"].tolist() == with_arrow["error_code"].tolist() == summary["error_code"].tolist()
    assert with_duckdb["n"].tolist() == with_arrow["error_code_count"].tolist() == summary["rows"].tolist() == with_pandas["n"].tolist()
    assert with_duckdb["r"].tolist() == with_arrow["request_id_count_distinct"].tolist() == summary["requests"].tolist()
    assert table.num_rows == ROWS and set(table.column("month").unique().to_pylist()) == set(
        frame["date"].dt.strftime("%Y-%m")
    )


# --- aggregates equal pandas --------------------------------------------------------------------
@pytest.mark.parametrize("cache", ["generated", "sim_cache"])
def test_counts_over_time_from_cache_equals_pandas(cache, request):
    data = request.getfixturevalue(cache)[0]
    for filters in _windows(data):
        frame = load_results(data, **filters)
        for freq in ("h", "D", "W"):
            expected = analysis.counts_over_time(frame, freq, codes=filters.get("codes"))
            got = counts_over_time_from_cache(data, freq=freq, **filters)
            pd.testing.assert_frame_equal(got, expected, obj=f"{freq} {filters}")


@pytest.mark.parametrize("cache", ["generated", "sim_cache"])
def test_by_campaign_and_summary_from_cache_equal_the_users_frame(cache, request):
    """The one SQL definition gives the same over the cache as over load_results' frame with
    the cache's sends and requests (the source fills campaigns like load_results)."""
    data = request.getfixturevalue(cache)[0]
    sends, requests = load_sends(data), load_requests(data)
    for filters in _windows(data):
        frame = load_results(data, **filters)
        window = {k: v for k, v in filters.items() if k in ("since", "until")}
        own = Window.from_frame(frame, sends=sends, requests=requests, **window)
        expected = tables.by_campaign(own)
        pd.testing.assert_frame_equal(by_campaign_from_cache(data, **filters), expected, obj=str(filters))
        assert (expected["error_rate"].dropna() <= 1).all()
        pd.testing.assert_frame_equal(summary_by_code_from_cache(data, **filters), summarize_by_code(frame), obj=str(filters))


def test_simulator_cache_rows_without_campaign_are_filled_like_load_results(sim_cache):
    data, _ = sim_cache
    stored = ds.dataset(CachePaths.under(data).results, format="parquet", partitioning="hive").to_table()
    assert stored.column("campaign_id").null_count > 0  # the fill is really exercised
    table = by_campaign_from_cache(data, rates=False)
    assert table["campaign_name"].notna().sum() == table["campaign_id"].notna().sum() > 3


def _write_rows(data_dir, instants: pd.DatetimeIndex) -> None:
    """Store one result row per instant (three requests, codes 2 and 6) with the cache's writer."""
    n = len(instants)
    table = pa.table(
        {
            "request_id": pa.array([900 + i % 3 for i in range(n)], pa.int64()),
            "id_send": pa.array([50 + i % 3 for i in range(n)], pa.int64()),
            "id_send_message": pa.array(range(1, n + 1), pa.int64()),
            "id_email": pa.nulls(n, pa.int64()),
            "email": pa.array(["a@b.cz"] * n),
            "error_code": pa.array([2, 6] * (n // 2) + [2] * (n % 2), pa.int64()),
            "error_name": pa.array(["x"] * n),
            "info": pa.array(["i"] * n),
            "date": pa.array(instants.tz_convert("Europe/Prague"), pa.timestamp("us", tz="Europe/Prague")),
            "fetched_at": pa.array(instants + pd.Timedelta(hours=2), pa.timestamp("us", tz="UTC")),
            "campaign_id": pa.array([7] * n, pa.int64()),
            "campaign_name": pa.array(["c"] * n),
        },
        schema=RESULTS_SCHEMA,
    )
    ResultsStore(CachePaths.under(data_dir).ensure()).replace_requests(pd.Index([900, 901, 902]), table)


def test_prague_clock_changes(tmp_path):
    """Rows around both 2024 changes: days and weeks by Prague wall time, hours by UTC."""
    instants = pd.to_datetime([
        "2024-03-30 22:59:59", "2024-03-30 23:00:00",  # the last second of 30 March / its midnight
        "2024-03-31 00:59:59", "2024-03-31 01:00:00",  # 01:59:59 CET, then 03:00 CEST
        "2024-03-31 21:59:59", "2024-03-31 22:00:00",  # the short day ends at 22:00 UTC
        "2024-10-26 21:59:59", "2024-10-26 22:00:00",
        "2024-10-27 00:30:00", "2024-10-27 01:30:00",  # 02:30 twice
        "2024-10-27 22:59:59", "2024-10-27 23:00:00",  # the long day ends at 23:00 UTC
        "2024-10-28 00:00:00",
    ], utc=True)
    n = len(instants)
    _write_rows(tmp_path, instants)
    frame = load_results(tmp_path)
    assert len(frame) == n
    for freq in ("h", "D", "W"):
        pd.testing.assert_frame_equal(counts_over_time_from_cache(tmp_path, freq=freq), analysis.counts_over_time(frame, freq))
    days = counts_over_time_from_cache(tmp_path, freq="D").sum(axis=1)
    assert days[pd.Timestamp("2024-03-31", tz="Europe/Prague")] == 4
    assert days[pd.Timestamp("2024-10-27", tz="Europe/Prague")] == 4  # 25 hours long
    assert days[pd.Timestamp("2024-10-28", tz="Europe/Prague")] == 2
    hours = counts_over_time_from_cache(tmp_path, freq="h").sum(axis=1)
    assert hours[pd.Timestamp("2024-10-27 00:30", tz="UTC").floor("h").tz_convert("Europe/Prague")] == 1
    assert hours[pd.Timestamp("2024-10-27 01:30", tz="UTC").floor("h").tz_convert("Europe/Prague")] == 1


def test_local_mean_time_before_1891(tmp_path):
    """Prague's offset was +0:57:44 until October 1891: hours no longer align with days."""
    _write_rows(tmp_path, pd.to_datetime(["1890-06-01 22:55:00", "1890-06-01 23:30:00", "1890-06-02 00:10:00"], utc=True))
    frame = load_results(tmp_path)
    for freq in ("D", "W"):
        pd.testing.assert_frame_equal(counts_over_time_from_cache(tmp_path, freq=freq), analysis.counts_over_time(frame, freq))
    assert counts_over_time_from_cache(tmp_path, freq="D").sum(axis=1).tolist() == [1, 2]


def test_rows_without_a_date(tmp_path):
    """Undated rows (``month=unknown``) count in by-code and by-campaign tables, not in time."""
    _write_rows(tmp_path, pd.DatetimeIndex(pd.to_datetime(["2024-01-01 10:00", None, "2024-02-03 10:00", None], utc=True)))
    frame = load_results(tmp_path)
    table = by_campaign_from_cache(tmp_path)
    assert table["errors"].tolist() == [4] and table["first_seen"].notna().all()
    assert table[["code_2", "code_6"]].iloc[0].tolist() == [2, 2]
    pd.testing.assert_frame_equal(summary_by_code_from_cache(tmp_path), summarize_by_code(frame))
    for freq in ("h", "D", "W"):
        pd.testing.assert_frame_equal(counts_over_time_from_cache(tmp_path, freq=freq), analysis.counts_over_time(frame, freq))


def test_empty_and_missing_caches(tmp_path):
    assert counts_over_time_from_cache(tmp_path).empty
    assert by_campaign_from_cache(tmp_path).empty
    assert summary_by_code_from_cache(tmp_path).empty
    pd.testing.assert_frame_equal(counts_over_time_from_cache(tmp_path, codes=[2]), analysis.counts_over_time(load_results(tmp_path), codes=[2]))
