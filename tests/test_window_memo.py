"""What a process keeps between questions, and the short cuts of reading, against hand values.

A notebook asks several questions of one window: the lookups (sends, requests) and the
recipients sent per send are kept once read (``ProcessMemo``) while the cache's files are
unchanged, the lookups skip the last-row grouping for a base file with one row per key, and
rows whose parts store both campaign columns skip the campaign lookups. None of that may
change an answer: these tests change the cache between questions and check the answers
follow, and feed the short cuts the cases they must not take.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mailkit_analysis.analysis import tables
from mailkit_analysis.analysis.source import LOOKUPS, Source, _campaigns_complete
from mailkit_analysis.analysis.tables import UNIT_SIZES
from mailkit_analysis.analysis.window import Window
from mailkit_analysis.cache.schema import SENDS_SCHEMA
from mailkit_analysis.cache.store import ResultsStore
from mailkit_analysis.cache.tables import write_small_table
from mailkit_analysis.frame import RESULTS_SCHEMA
from mailkit_analysis.paths import CachePaths

from test_window import MARCH, cache  # noqa: F401  (the fixture)


@pytest.fixture
def own_cache(cache, tmp_path):  # noqa: F811
    """A copy of test_window's cache that a test may change."""
    data = tmp_path / "data"
    shutil.copytree(cache, data)
    LOOKUPS.clear()
    UNIT_SIZES.clear()
    return data


def _sends(send_counts: dict[int, int]) -> pd.DataFrame:
    utc = pd.Timestamp("2024-05-01", tz="UTC")
    dates = {100: "2024-03-04 10:00:00", 300: "2024-03-06 08:00:00", 500: "2024-03-07 08:00:00"}
    return pd.DataFrame({
        "id_send": list(send_counts), "campaign_id": [{100: 10}.get(i, 20) for i in send_counts],
        "send_count": list(send_counts.values()), "send_date": [dates[i] for i in send_counts],
        "fetched_at": [utc] * len(send_counts),
    })


def test_rates_follow_the_cache_between_two_questions(own_cache):
    window = Window(own_cache, **MARCH)
    first = tables.by_campaign(window).set_index("campaign_id")
    # By hand (see test_tables): campaign 10 sent 200 (send 100) + 50 (request 2); campaign 20
    # sent 1000 (send 300) + 500 (request 4) + 70 (send 500).
    assert first.loc[10, "recipients"] == 250 and first.loc[20, "recipients"] == 1570
    assert len(UNIT_SIZES._kept) == 1 and len(LOOKUPS._kept) == 2  # kept for the next question
    again = tables.by_campaign(window).set_index("campaign_id")
    pd.testing.assert_frame_equal(again, first)

    # Mailkit now reports send 100 with 400 recipients and send 300 with 2000.
    write_small_table(_sends({100: 400, 300: 2000, 500: 70}), CachePaths.under(own_cache).sends, SENDS_SCHEMA)
    changed = tables.by_campaign(window).set_index("campaign_id")
    assert changed.loc[10, "recipients"] == 450
    assert changed.loc[10, "error_rate"] == pytest.approx(201 / 450)
    assert changed.loc[20, "recipients"] == 2570
    assert tables.campaign_recipients(window).set_index("campaign_id").loc[20, "recipients"] == 2570


def test_new_rows_reach_a_question_asked_before(own_cache):
    window = Window(own_cache, **MARCH)
    assert tables.by_campaign(window, codes=[2]).set_index("campaign_id").loc[10, "errors"] == 150
    rows = pd.DataFrame([{
        "request_id": 4, "id_send": 400, "id_send_message": m, "id_email": None, "email": f"n{m}@seznam.cz",
        "error_code": 2, "error_name": None, "info": "info 2",
        "date": pd.Timestamp("2024-03-06 12:30", tz="Europe/Prague") + pd.Timedelta(seconds=m),
        "fetched_at": pd.Timestamp("2024-05-02", tz="UTC"), "campaign_id": 20, "campaign_name": "Newsletter",
    } for m in range(1, 6)])
    ResultsStore(CachePaths.under(own_cache)).replace_requests(
        pd.Index([4]), pa.Table.from_pandas(rows, schema=RESULTS_SCHEMA, preserve_index=False))
    table = tables.by_campaign(window, codes=[2]).set_index("campaign_id")
    # Request 4 (send 400, manifest 500 recipients) now has 5 invalid addresses.
    assert table.loc[20, ["errors", "affected", "recipients"]].tolist() == [5, 5, 1570]


def _lookup(data, name: str) -> pd.DataFrame:
    with Source(data) as source:
        source.materialize(name)
        return source.query(f"SELECT * FROM {name} ORDER BY 1")


def test_a_base_with_repeated_keys_keeps_its_last_row(own_cache):
    # An older cache may hold a send twice in its base file: the later row wins.
    repeated = pd.concat([_sends({100: 111, 300: 1000, 500: 70}), _sends({100: 200})], ignore_index=True)
    write_small_table(repeated, CachePaths.under(own_cache).sends, SENDS_SCHEMA)
    sends = _lookup(own_cache, "mk_sends").set_index("id_send")
    assert sends["send_count"].to_dict() == {100: 200, 300: 1000, 500: 70}


def test_update_parts_win_over_the_base(own_cache):
    paths = CachePaths.under(own_cache)
    updates = paths.root / "sends.updates"
    updates.mkdir()
    write_small_table(_sends({300: 1500}), updates / "update-0001.parquet", SENDS_SCHEMA)
    write_small_table(_sends({300: 1700, 500: 90}), updates / "update-0002.parquet", SENDS_SCHEMA)
    sends = _lookup(own_cache, "mk_sends").set_index("id_send")
    assert sends["send_count"].to_dict() == {100: 200, 300: 1700, 500: 90}
    assert str(sends.loc[300, "sent"]) == "2024-03-06 08:00:00+01:00"  # Prague wall time, as stored
    with Source(own_cache) as source:  # the view, read without the short cut, agrees
        view = source.query("SELECT * FROM mk_sends ORDER BY 1").set_index("id_send")
    pd.testing.assert_frame_equal(view, sends)


def test_campaign_columns_short_cut_only_for_parts_that_store_them(own_cache, tmp_path):
    paths = CachePaths.under(own_cache)
    parts = ResultsStore(paths).usable_parts()
    # test_window's March rows include request 3 without a campaign: filled from send 300.
    march = [p.path for p in parts if p.month == "2024-03"]
    assert march and not any(_campaigns_complete(p) for p in march)
    filled = Window(own_cache, **MARCH).rows(1000, columns=["request_id", "campaign_id", "campaign_name"])
    of_three = filled[filled["request_id"] == 3]
    assert of_three["campaign_id"].tolist() == [20, 20, 20]
    assert of_three["campaign_name"].tolist() == ["Newsletter"] * 3
    # April's rows all carry both columns.
    april = [p.path for p in parts if p.month == "2024-04"]
    assert april and all(_campaigns_complete(p) for p in april)
    rows = Window(own_cache, since="2024-04-01", until="2024-04-30").rows(1000, columns=["id_send", "campaign_name"])
    assert rows["campaign_name"].tolist() == ["Jaro", "Jaro"]
    # A file written without statistics gives no evidence: the lookups are used.
    bare = tmp_path / "bare.parquet"
    pq.write_table(pq.read_table(april[0]), bare, write_statistics=False)
    assert not _campaigns_complete(bare)


def test_one_row_per_key_is_read_off_a_sorted_key_column(tmp_path):
    from mailkit_analysis.analysis.source import _strictly_increasing

    def written(values):
        path = tmp_path / f"t{len(list(tmp_path.iterdir()))}.parquet"
        pq.write_table(pa.table({"id_send": pa.array(values, pa.int64())}), path)
        return path

    assert _strictly_increasing(written([1, 2, 5, None]), "id_send") is True
    # Not shown by the sort: left to the SQL count (an unsorted file may still be unique).
    assert _strictly_increasing(written([2, 1, 5]), "id_send") is None
    assert _strictly_increasing(written([1, 2, 2]), "id_send") is None
    assert _strictly_increasing(written([1, 2]), "campaign_id") is None
