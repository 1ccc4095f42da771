"""Writing a results frame as text: a by-code table, CSV and JSON.

JSON is an array of objects with the frame's column names, missing values as ``null`` and
times in ISO 8601 with their UTC offset (``2015-05-13T09:43:50+02:00``).
"""
from __future__ import annotations

import json

import pandas as pd


__all__ = ["summarize_by_code", "frame_to_json", "frame_to_csv", "format_table"]


def summarize_by_code(frame: pd.DataFrame) -> pd.DataFrame:
    """Count error rows per code: :func:`mailkit_analysis.analysis.tables.by_code` over ``frame``.

    Returns
    -------
    pandas.DataFrame
        Columns ``error_code``, ``error_name``, ``category``, ``rows``, ``requests``, ``sends``,
        ``share``; most frequent code first. Unknown codes are kept.
    """
    from ..analysis import tables
    from ..analysis.summaries import _window

    return tables.by_code(_window(frame))


def format_table(frame: pd.DataFrame) -> str:
    """The by-code summary of one fetched answer as a plain text table (what ``fetch
    --format table`` prints).

    A cron job that only fetches must stay light (no DuckDB): this counts the few rows of
    the answer just fetched with pandas; every report and window uses
    :func:`summarize_by_code`'s SQL definition.
    """
    summary = _fetched_by_code(frame)
    if summary.empty:
        return "No recipient errors reported (status OK)."
    shown = summary.assign(share=(summary["share"] * 100).map("{:.1f}%".format))
    total = f"\n{int(summary['rows'].sum())} error rows in {frame['request_id'].nunique()} requests"
    return shown.to_string(index=False) + total


def _fetched_by_code(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["error_code", "error_name", "category", "rows", "requests", "sends", "share"]
    if frame.empty:
        return pd.DataFrame({c: [] for c in columns})
    from ..codes import lookup

    grouped = frame.groupby("error_code", dropna=False)
    out = pd.DataFrame({"rows": grouped.size(), "requests": grouped["request_id"].nunique(),
                        "sends": grouped["id_send"].nunique()}).reset_index()
    out["error_name"] = out["error_code"].map(lambda c: lookup(c).name if pd.notna(c) else "unknown")
    out["category"] = out["error_code"].map(lambda c: lookup(c).category if pd.notna(c) else "unknown")
    out["share"] = (out["rows"] / out["rows"].sum()).round(4)
    return out.sort_values(["rows", "error_code"], ascending=[False, True])[columns].reset_index(drop=True)


def _iso_columns(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda t: None if pd.isna(t) else t.isoformat(), na_action=None).astype(object)
    return out


def frame_to_json(frame: pd.DataFrame, indent: int | None = None) -> str:
    """The rows as a JSON array of objects (nulls for missing, ISO 8601 times with offset)."""
    out = _iso_columns(frame).astype(object)
    out = out.where(out.notna(), None)
    records = out.to_dict(orient="records")
    return json.dumps(records, ensure_ascii=False, indent=indent, default=_plain)


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def frame_to_csv(frame: pd.DataFrame) -> str:
    """The rows as CSV with a header; times in ISO 8601 with offset."""
    return _iso_columns(frame).to_csv(index=False)
