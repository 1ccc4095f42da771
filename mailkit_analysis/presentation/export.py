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
    """The by-code summary as a plain text table (what ``fetch --format table`` prints)."""
    summary = summarize_by_code(frame)
    if summary.empty:
        return "No recipient errors reported (status OK)."
    shown = summary.assign(share=(summary["share"] * 100).map("{:.1f}%".format))
    total = f"\n{int(summary['rows'].sum())} error rows in {frame['request_id'].nunique()} requests"
    return shown.to_string(index=False) + total


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
