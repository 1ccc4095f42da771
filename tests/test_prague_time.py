"""One rule for Prague wall times, whichever path reads them (pandas, arrow, scalar, bound)."""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from loopback import FETCHED_AT

from mailkit_analysis.api.results import parse_results_answer
from mailkit_analysis.cache.manifest import normalise_manifest
from mailkit_analysis.prague_time import (
    PRAGUE,
    PRAGUE_DTYPE,
    assume_prague,
    parse_bound,
    prague_days,
    sql_assume_prague,
    sql_assume_prague_per_hour,
    to_prague,
    to_prague_times,
    to_utc,
    window_bounds,
)

# 2026: summer time ends 25 October (03:00 CEST -> 02:00 CET), starts 29 March (02:00 -> 03:00).
AMBIGUOUS = "2026-10-25 02:30:00"
SKIPPED = "2026-03-29 02:30:00"
EXPECTED_UTC = {
    AMBIGUOUS: pd.Timestamp("2026-10-25 00:30:00", tz="UTC"),  # the earlier, summer-time instant
    SKIPPED: pd.Timestamp("2026-03-29 01:00:00", tz="UTC"),  # 03:00 CEST, first valid instant
    "2026-07-01 12:00:00": pd.Timestamp("2026-07-01 10:00:00", tz="UTC"),
    "2026-12-01 12:00:00": pd.Timestamp("2026-12-01 11:00:00", tz="UTC"),
}


@pytest.mark.parametrize("wall, instant", EXPECTED_UTC.items())
def test_scalar_rule(wall, instant):
    stamp = to_prague(wall)
    assert stamp.tzinfo is not None and str(stamp.tz) == "Europe/Prague"
    assert stamp == instant


def test_ambiguous_and_skipped_times_read_as_documented():
    assert to_prague(AMBIGUOUS).utcoffset() == dt.timedelta(hours=2)  # still CEST
    assert to_prague(SKIPPED).strftime("%H:%M %z") == "03:00 +0200"


def test_aware_times_are_converted_not_relabelled():
    stamp = pd.Timestamp("2026-10-25 01:30:00", tz="UTC")  # 02:30 CET, the later of the two
    assert to_prague(stamp) == stamp
    assert to_prague(stamp).utcoffset() == dt.timedelta(hours=1)
    assert to_prague(dt.datetime(2026, 7, 1, 10, tzinfo=dt.UTC)).hour == 12


def test_missing_stays_missing():
    assert pd.isna(to_prague(None))
    times = to_prague_times(pd.Series([pd.NaT, pd.Timestamp(AMBIGUOUS)]))
    assert pd.isna(times.iloc[0]) and times.iloc[1] == EXPECTED_UTC[AMBIGUOUS]


def test_series_index_arrow_and_scalar_paths_agree():
    walls = list(EXPECTED_UTC)
    naive = pd.Series(pd.to_datetime(walls)).astype("datetime64[us]")
    series = to_prague_times(naive)
    index = to_prague_times(pd.DatetimeIndex(naive))
    arrow = assume_prague(pa.array(naive))
    assert isinstance(series, pd.Series) and isinstance(index, pd.DatetimeIndex)
    expected = [EXPECTED_UTC[w] for w in walls]
    assert list(series) == expected
    assert list(index) == expected
    assert [pd.Timestamp(v) for v in arrow.to_pylist()] == expected
    assert [to_prague(w) for w in walls] == expected


@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2037, 12, 31)))
def test_pandas_and_arrow_agree_on_any_wall_time(wall):
    wall = wall.replace(microsecond=0)
    naive = pd.Series([pd.Timestamp(wall)]).astype("datetime64[us]")
    from_arrow = pd.Timestamp(assume_prague(pa.array(naive))[0].as_py())
    assert to_prague_times(naive).iloc[0] == from_arrow == to_prague(wall)


def test_the_parser_and_the_manifest_follow_the_rule():
    answer = parse_results_answer(
        {"status": "ERROR", "results": [{"ERROR_CODE": 2, "EMAIL": "", "DATE": AMBIGUOUS},
                                        {"ERROR_CODE": 2, "EMAIL": "", "DATE": SKIPPED}]},
        request_id=1, fetched_at=FETCHED_AT,
    )
    assert list(answer.frame["date"]) == [EXPECTED_UTC[AMBIGUOUS], EXPECTED_UTC[SKIPPED]]
    for values in ([AMBIGUOUS, SKIPPED], list(pd.to_datetime([AMBIGUOUS, SKIPPED]))):
        manifest = normalise_manifest(pd.DataFrame({"request_id": [1, 2], "sent_at": values}))
        assert list(manifest["sent_at"]) == [EXPECTED_UTC[AMBIGUOUS], EXPECTED_UTC[SKIPPED]]


def test_bounds():
    assert parse_bound(None) is None and parse_bound("") is None
    assert parse_bound("2026-11-05") == pd.Timestamp("2026-11-05", tz=PRAGUE)
    assert parse_bound("2026-11-05", end=True) == pd.Timestamp("2026-11-06", tz=PRAGUE)
    assert parse_bound(dt.date(2026, 11, 5), end=True) == pd.Timestamp("2026-11-06", tz=PRAGUE)
    assert parse_bound("2026-11-05 10:00", end=True) == pd.Timestamp("2026-11-05 10:00", tz=PRAGUE)
    assert parse_bound(AMBIGUOUS) == EXPECTED_UTC[AMBIGUOUS]
    # The day of the autumn change has 25 hours, and a bare until still ends at midnight.
    since, until = window_bounds("2026-10-25", "2026-10-25")
    assert until - since == pd.Timedelta(hours=25)
    with pytest.raises(ValueError, match="not a date"):
        parse_bound("yesterday-ish")


def test_to_utc_reads_naive_as_utc():
    assert to_utc("2026-11-05 10:00") == pd.Timestamp("2026-11-05 10:00", tz="UTC")
    assert to_utc(pd.Timestamp("2026-11-05 11:00", tz=PRAGUE)) == pd.Timestamp("2026-11-05 10:00", tz="UTC")


@pytest.mark.parametrize("session_zone", ["UTC", "Europe/Prague"])
def test_duckdb_path_follows_the_rule(session_zone):
    walls = list(EXPECTED_UTC) + ["2026-10-25 01:59:59", "2026-10-25 03:00:00", "2026-03-29 01:59:59",
                                  "2026-03-29 02:00:00", "2026-03-29 03:00:00", "2026-01-01 00:00:00"]
    expression = sql_assume_prague("try_strptime($1, '%Y-%m-%d %H:%M:%S')")
    con = duckdb.connect()
    try:
        con.execute(f"SET TimeZone = '{session_zone}'")
        got = [con.execute(f"SELECT epoch_us({expression})", [w]).fetchone()[0] for w in walls]
    finally:
        con.close()
    assert [pd.Timestamp(us, unit="us", tz="UTC") for us in got] == [to_prague(w) for w in walls]


def test_prague_days_start_each_day_at_prague_midnight():
    # UTC instants on both sides of both changes of 2026 and of Prague midnight.
    instants = pd.Series(pd.to_datetime([
        "2026-03-28 22:59:59", "2026-03-28 23:00:00",  # 23:59:59 CET / 00:00 CET on the 29th
        "2026-03-29 00:59:59", "2026-03-29 01:00:00",  # the spring change (02:00 CET -> 03:00 CEST)
        "2026-10-24 21:59:59", "2026-10-24 22:00:00",  # 23:59:59 CEST / 00:00 CEST on the 25th
        "2026-10-25 00:30:00", "2026-10-25 01:30:00",  # 02:30 CEST, then 02:30 CET
        None,
    ], utc=True)).astype("datetime64[us, UTC]")
    days = prague_days(instants)
    midnight = {
        "28 Mar": pd.Timestamp("2026-03-28 00:00", tz=PRAGUE), "29 Mar": pd.Timestamp("2026-03-29 00:00", tz=PRAGUE),
        "24 Oct": pd.Timestamp("2026-10-24 00:00", tz=PRAGUE), "25 Oct": pd.Timestamp("2026-10-25 00:00", tz=PRAGUE),
    }
    expected = ["28 Mar", "29 Mar", "29 Mar", "29 Mar", "24 Oct", "25 Oct", "25 Oct", "25 Oct"]
    assert days.iloc[:-1].tolist() == [midnight[d] for d in expected]
    assert pd.isna(days.iloc[-1])
    assert days.dtype == PRAGUE_DTYPE
    # The 29 March midnight is +01:00 and the 25 October one +02:00 (before each change).
    assert days.iloc[1].utcoffset() == pd.Timedelta(hours=1)
    assert days.iloc[5].utcoffset() == pd.Timedelta(hours=2)
    assert prague_days(instants.iloc[:0]).empty


def test_the_per_hour_query_gives_the_rule_s_instants():
    walls = [AMBIGUOUS, SKIPPED, "2026-03-29 02:00:00", "2026-03-29 01:59:59", "2026-03-29 03:00:00",
             "2026-10-25 01:59:59", "2026-10-25 02:00:00", "2026-10-25 02:59:59", "2026-10-25 03:00:00",
             "2026-07-01 12:00:00", "2026-07-01 12:34:56.789", "2026-12-01 12:00:00", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE walls AS SELECT * FROM (VALUES " + ", ".join(
        f"({i}, {'NULL' if w is None else repr(w)}::TIMESTAMP, 'x{i}')" for i, w in enumerate(walls))
        + ") t(id, wall, label)")
    query = sql_assume_prague_per_hour("walls", "wall", ["id", "label"], "at")
    got = {i: (label, at) for i, label, at in con.execute(f"SELECT * FROM ({query}) ORDER BY id").fetchall()}
    assert [got[i][0] for i in range(len(walls))] == [f"x{i}" for i in range(len(walls))]
    instants = {i: None if at is None else pd.Timestamp(at).tz_convert("UTC") for i, (_l, at) in got.items()}
    expected = {
        AMBIGUOUS: "2026-10-25 00:30:00", SKIPPED: "2026-03-29 01:00:00",
        "2026-03-29 02:00:00": "2026-03-29 01:00:00", "2026-03-29 01:59:59": "2026-03-29 00:59:59",
        "2026-03-29 03:00:00": "2026-03-29 01:00:00", "2026-10-25 01:59:59": "2026-10-24 23:59:59",
        "2026-10-25 02:00:00": "2026-10-25 00:00:00", "2026-10-25 02:59:59": "2026-10-25 00:59:59",
        "2026-10-25 03:00:00": "2026-10-25 02:00:00", "2026-07-01 12:00:00": "2026-07-01 10:00:00",
        "2026-07-01 12:34:56.789": "2026-07-01 10:34:56.789", "2026-12-01 12:00:00": "2026-12-01 11:00:00",
    }
    for i, wall in enumerate(walls):
        if wall is None:
            assert instants[i] is None
        else:
            assert instants[i] == pd.Timestamp(expected[wall], tz="UTC"), wall
    # The per-row expression agrees on every one of them.
    per_row = con.execute(f"SELECT id, {sql_assume_prague('wall')} FROM walls ORDER BY id").fetchall()
    assert [at for _i, at in per_row] == [got[i][1] for i in range(len(walls))]
