"""Writing results frames as text: the by-code summary, JSON and CSV."""
from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from loopback import FETCHED_AT, reference_bytes

from mailkit_analysis.api.results import parse_results_answer
from mailkit_analysis.frame import RESULT_COLUMNS, build_results_frame, empty_results_frame
from mailkit_analysis.presentation.export import frame_to_csv, frame_to_json, summarize_by_code
from mailkit_analysis.api.wire import decode_xmlrpc_answer
from mailkit_analysis.presentation.export import format_table


def _requests_frame() -> pd.DataFrame:
    """Three requests: 4 rows of code 6, 2 of code 2, 2 of an unknown 9, 1 of code 4."""
    parts = [
        build_results_frame(
            {
                "ERROR_CODE": [6, 6, 2, 9],
                "ID_SEND": [100, 100, 100, 0],
                "ID_EMAIL": [1, 2, 3, 0],
                "EMAIL": ["a@x.cz", "b@x.cz", "c@x", ""],
                "INFO": ["odhlášen", "odhlášen", "bad", "new"],
                "DATE": ["2015-05-13 09:43:50"] * 3 + [""],
            },
            request_id=1,
            fetched_at=FETCHED_AT,
        ),
        build_results_frame(
            {"ERROR_CODE": [6, 6, 2, 9], "ID_SEND": [200, 201, 200, 200], "DATE": ["2024-01-15 08:00:00"] * 4},
            request_id=2,
            fetched_at=FETCHED_AT,
        ),
        build_results_frame({"ERROR_CODE": [4], "ID_SEND": [0]}, request_id=3, fetched_at=FETCHED_AT),
    ]
    return pd.concat(parts, ignore_index=True)


def test_summarize_by_code_counts():
    summary = summarize_by_code(_requests_frame())
    assert list(summary.columns) == ["error_code", "error_name", "category", "rows", "requests", "sends", "share"]
    assert summary["error_code"].tolist() == [6, 2, 9, 4]  # most rows first, ties by code
    assert summary["error_name"].tolist() == ["unsubscribed", "invalid_address", "unknown", "invalid_mailinglist"]
    assert summary["category"].tolist() == ["recipient status", "recipient data", "unknown", "request set-up"]
    assert summary["rows"].tolist() == [4, 2, 2, 1]
    assert summary["requests"].tolist() == [2, 2, 2, 1]
    assert summary["sends"].tolist() == [3, 2, 1, 0]  # missing id_send is not a send
    assert summary["share"].tolist() == [round(4 / 9, 4), round(2 / 9, 4), round(2 / 9, 4), round(1 / 9, 4)]
    assert summary["share"].sum() == pytest.approx(1.0, abs=1e-3)


def test_summarize_empty_frame():
    summary = summarize_by_code(empty_results_frame())
    assert summary.empty
    assert list(summary.columns) == ["error_code", "error_name", "category", "rows", "requests", "sends", "share"]


def test_format_table_mentions_counts():
    text = format_table(_requests_frame())
    assert "unsubscribed" in text and "44.4%" in text
    assert text.rstrip().endswith("9 error rows in 3 requests")
    assert "status OK" in format_table(empty_results_frame())


def test_frame_to_json_nulls_and_iso_times():
    frame = parse_results_answer(
        decode_xmlrpc_answer(reference_bytes("response_error.xml")), request_id=678, fetched_at=FETCHED_AT
    ).frame
    records = json.loads(frame_to_json(frame))
    assert records == [
        {
            "request_id": 678,
            "id_send": 12345,
            "id_send_message": 123456789,
            "id_email": 123456789,
            "email": "mail@mail.cz",
            "error_code": 1,
            "error_name": "attachment_failed",
            "info": "url return null",
            "date": "2015-05-13T09:43:50+02:00",
            "fetched_at": "2024-03-01T12:00:00+00:00",
            "campaign_id": None,
            "campaign_name": None,
        }
    ]


def test_frame_to_json_missing_values_are_null():
    records = json.loads(frame_to_json(_requests_frame()))
    assert len(records) == 9
    assert [list(r) for r in records] == [RESULT_COLUMNS] * 9
    unknown = records[3]
    assert unknown["error_code"] == 9 and unknown["error_name"] == "unknown"
    assert unknown["id_send"] is None and unknown["id_email"] is None and unknown["date"] is None
    assert unknown["email"] == ""
    assert records[0]["info"] == "odhlášen"
    assert records[4]["date"] == "2024-01-15T08:00:00+01:00"  # winter: +01:00
    assert records[8]["email"] is None
    assert all(type(r["request_id"]) is int for r in records)


def test_frame_to_json_keeps_diacritics_and_indents():
    text = frame_to_json(_requests_frame(), indent=2)
    assert "odhlášen" in text  # not \\u escapes
    assert text.startswith("[\n  {")


def test_frame_to_json_empty():
    assert json.loads(frame_to_json(empty_results_frame())) == []


def test_frame_to_csv_header_and_rows():
    text = frame_to_csv(_requests_frame())
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == RESULT_COLUMNS
    assert len(rows) == 10
    first = dict(zip(rows[0], rows[1]))
    assert first["date"] == "2015-05-13T09:43:50+02:00"
    assert first["fetched_at"] == "2024-03-01T12:00:00+00:00"
    assert first["error_code"] == "6" and first["id_send"] == "100"
    assert first["info"] == "odhlášen"
    unknown = dict(zip(rows[0], rows[4]))
    assert unknown["id_send"] == "" and unknown["date"] == ""


def test_frame_to_csv_empty_has_the_header():
    assert frame_to_csv(empty_results_frame()).splitlines() == [",".join(RESULT_COLUMNS)]


def test_export_does_not_change_the_frame():
    frame = _requests_frame()
    before = frame.copy()
    frame_to_json(frame)
    frame_to_csv(frame)
    summarize_by_code(frame)
    pd.testing.assert_frame_equal(frame, before)
