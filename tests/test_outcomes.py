"""Delivered and failed counts beside a send's error rows."""
from __future__ import annotations

import pandas as pd

from mailkit_analysis.analysis.outcomes import send_outcomes


def _sends():
    return pd.DataFrame(
        {
            "id_send": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
            "send_count": pd.array([100, 50, 10, 30, 5], dtype="Int64"),
            "delivered_count": pd.array([90, 50, pd.NA, 40, 0], dtype="Int64"),
            "failed_count": pd.array([pd.NA, pd.NA, 4, pd.NA, 5], dtype="Int64"),
        }
    )


def test_failed_from_the_count_or_from_size_less_delivered():
    table = pd.DataFrame({"id_send": pd.array([1, 2, 3, 4, 5, 9, pd.NA], dtype="Int64"),
                          "errors": [4, 0, 6, 1, 5, 2, 3]})
    out = send_outcomes(table, _sends())
    assert out["delivered"].tolist()[:2] == [90, 50]
    failed = out["failed"]
    assert failed.iloc[0] == 10 and failed.iloc[1] == 0 and failed.iloc[2] == 4 and failed.iloc[4] == 5
    assert pd.isna(failed.iloc[3])  # 40 delivered of 30 sent: unknown, not -10
    assert pd.isna(failed.iloc[5]) and pd.isna(failed.iloc[6])  # unknown send, no send
    explained = out["explained"]
    assert explained.iloc[0] == 0.4  # 4 error rows of 10 failures
    assert pd.isna(explained.iloc[1])  # nothing failed
    assert explained.iloc[2] == 1.0  # more rows than failures: capped, never above 100 %
    assert explained.iloc[4] == 1.0
    assert out["errors"].tolist() == table["errors"].tolist()  # the table itself is unchanged


def test_without_a_sends_table_the_counts_are_unknown():
    table = pd.DataFrame({"id_send": pd.array([1, 2], dtype="Int64"), "rows": [3, 4]})
    for sends in (None, _sends().iloc[0:0]):
        out = send_outcomes(table, sends, errors="rows")
        assert out["delivered"].isna().all() and out["failed"].isna().all() and out["explained"].isna().all()


def test_an_old_sends_table_without_the_counts():
    old = _sends()[["id_send", "send_count"]]
    out = send_outcomes(pd.DataFrame({"id_send": pd.array([1], dtype="Int64"), "errors": [2]}), old)
    assert pd.isna(out["delivered"].iloc[0]) and pd.isna(out["explained"].iloc[0])
