"""The one count of affected recipients (``window.affected_by``), against hand-counted groups.

Affected recipients are the distinct ``id_send_message`` values of a group, and each row
without one once. The SQL counts them as rows less repeats; these cases hold it to the
definition where that shortcut could go wrong: repeats in one group only, a message id
shared by two groups, NULL keys, rows without an id, a group of repeats alone.
"""
from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from mailkit_analysis.analysis.window import Window, affected_by

ROWS = pa.table({
    "request_id": pa.array([1, 1, 1, 1, 1, 2, 2, 2, None, None, None, 3, 3, 3], pa.int64()),
    "error_code": pa.array([6, 6, 6, 6, 2, 6, 6, 6, 6, 6, 6, 6, 6, None], pa.int64()),
    "id_send_message": pa.array([10, 10, 11, None, 10, 10, 12, 12, 20, 20, None, 30, 30, 30], pa.int64()),
})


def _grouped(keys, aggregates=""):
    con = duckdb.connect()
    con.register("rows_in", ROWS)
    out = con.execute(f"SELECT * FROM {affected_by('rows_in', keys, aggregates)} ORDER BY ALL").df()
    return out


def test_per_request_and_code_counts_distinct_ids_and_each_row_without_one():
    out = _grouped(["request_id", "error_code"], "count(*) AS rows")
    got = {(None if pd.isna(r) else int(r), None if pd.isna(c) else int(c)): (int(n), int(a))
           for r, c, n, a in out[["request_id", "error_code", "rows", "recipients"]].itertuples(index=False)}
    assert got == {
        (1, 6): (4, 3),      # 10 twice, 11, one row without an id
        (1, 2): (1, 1),      # id 10 again, but in another group: counted there too
        (2, 6): (3, 2),      # 10, 12 twice
        (None, 6): (3, 2),   # NULL request is a key of its own: 20 twice, one without an id
        (3, 6): (2, 1),      # a group of repeats alone
        (3, None): (1, 1),   # NULL code: its own group
    }


def test_coarser_keys_count_a_recipient_with_two_codes_once():
    out = _grouped(["request_id"])
    got = dict(zip(out["request_id"].astype("Int64").tolist(), out["recipients"].tolist()))
    # Request 1: ids 10, 11 and one row without an id; request 3: id 30 only.
    assert got == {1: 3, 2: 2, 3: 1, pd.NA: 2}


def test_the_window_over_a_frame_uses_it_for_its_per_code_aggregate():
    frame = ROWS.to_pandas().assign(
        id_send=lambda f: f["request_id"] * 100,
        date=pd.Timestamp("2026-03-02 10:00", tz="Europe/Prague"),
        campaign_id=7, campaign_name="March",
    )
    codes = Window.from_frame(frame).send_codes()
    request_one = codes[codes["request_id"] == 1].set_index("error_code")
    assert request_one.loc[6, ["rows", "recipients"]].tolist() == [4, 3]
    assert request_one.loc[2, ["rows", "recipients"]].tolist() == [1, 1]
