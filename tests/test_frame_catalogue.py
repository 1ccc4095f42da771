"""The results frame's contract and the error-code catalogue, on what Mailkit really sends."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from loopback import FETCHED_AT

from mailkit_analysis import MailkitResponseError
from mailkit_analysis.api.results import parse_results_answer
from mailkit_analysis.api.wire import decode_json_answer, decode_xmlrpc_answer
from mailkit_analysis.codes import CATALOGUE, SETUP_CODES, UNKNOWN, code_label, error_name, lookup
from mailkit_analysis.frame import (
    RESULT_COLUMNS,
    RESULT_DTYPES,
    build_results_frame,
    conform,
    empty_results_frame,
)

CZECH_INFO = "Neplatná adresa příjemce – žluťoučký kůň úpěl ďábelské ódy (ČŘŠŽÝÁÍÉŮÚĚŤĎŇ)"

#: Two result structs with every quirk at once: <int>/<i4>/<i8> side by side, numbers as
#: strings with tabs and spaces, an untyped <value>, tab-indented members, 0 and "" for
#: absent ids, an unknown code 9, Czech text, and whitespace after the root element.
MIXED_XML = f"""<?xml version="1.0" encoding="utf-8"?>
<methodResponse>
 <params><param><value><struct>
\t<member><name>status</name><value><string>ERROR</string></value></member>
\t<member><name>results</name><value><array><data>
\t\t<value><struct>
\t\t\t<member><name>ERROR_CODE</name><value><int>2</int></value></member>
\t\t\t<member><name>ID_SEND</name><value><i4> 12345 </i4></value></member>
\t\t\t<member><name>ID_EMAIL</name><value><i8>9876543210123</i8></value></member>
\t\t\t<member><name>ID_SEND_MESSAGE</name><value><string>\t7 </string></value></member>
\t\t\t<member><name>EMAIL</name><value>jan.novak@seznam.cy</value></member>
\t\t\t<member><name>INFO</name><value><string>{CZECH_INFO}</string></value></member>
\t\t\t<member><name>DATE</name><value><string>2015-05-13 09:43:50\t </string></value></member>
\t\t</struct></value>
\t\t<value><struct>
\t\t\t<member><name>ERROR_CODE</name><value><i4>9</i4></value></member>
\t\t\t<member><name>ID_SEND</name><value><int>0</int></value></member>
\t\t\t<member><name>ID_EMAIL</name><value><string></string></value></member>
\t\t\t<member><name>ID_SEND_MESSAGE</name><value><i8>0</i8></value></member>
\t\t\t<member><name>EMAIL</name><value><string></string></value></member>
\t\t\t<member><name>INFO</name><value><string>new thing</string></value></member>
\t\t\t<member><name>DATE</name><value><string>2024-01-15 08:00:00</string></value></member>
\t\t</struct></value>
\t</data></array></value></member>
 </struct></value></param></params>
</methodResponse>
\t\t""".encode("utf-8")

MIXED_JSON = json.dumps(
    {
        "error_status": 1,
        "status": "ERROR",
        "results": [
            {"ERROR_CODE": "2", "ID_SEND": "12345", "ID_EMAIL": 9876543210123, "ID_SEND_MESSAGE": " 7 ",
             "EMAIL": "jan.novak@seznam.cy", "INFO": CZECH_INFO, "DATE": "2015-05-13 09:43:50\t "},
            {"ERROR_CODE": 9, "ID_SEND": 0, "ID_EMAIL": "", "ID_SEND_MESSAGE": "0",
             "EMAIL": "", "INFO": "new thing", "DATE": "2024-01-15 08:00:00"},
        ],
    },
    ensure_ascii=False,
).encode("utf-8")


def _frame(answer, request_id=77):
    return parse_results_answer(answer, request_id=request_id, fetched_at=FETCHED_AT).frame


@pytest.fixture(params=["json", "xmlrpc"])
def mixed(request):
    if request.param == "json":
        return _frame(decode_json_answer(MIXED_JSON))
    return _frame(decode_xmlrpc_answer(MIXED_XML))


def _values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


def test_numbers_as_strings_and_mixed_int_tags(mixed):
    assert _values(mixed["error_code"]) == [2, 9]
    assert _values(mixed["id_send"]) == [12345, None]
    assert _values(mixed["id_email"]) == [9876543210123, None]  # <i8> beyond 32 bits
    assert _values(mixed["id_send_message"]) == [7, None]


def test_zero_and_empty_mean_missing_in_id_columns(mixed):
    row = mixed.iloc[1]
    assert pd.isna(row["id_send"]) and pd.isna(row["id_email"]) and pd.isna(row["id_send_message"])
    assert row["email"] == ""  # an empty address is data (codes 2/3), not missing


def test_unknown_code_is_kept_and_named_unknown(mixed):
    assert mixed["error_code"].tolist() == [2, 9]
    assert mixed["error_name"].tolist() == ["invalid_address", "unknown"]
    assert mixed["info"].iloc[1] == "new thing"


def test_whitespace_around_dates_is_ignored(mixed):
    assert mixed["date"].tolist() == [
        pd.Timestamp("2015-05-13 09:43:50", tz="Europe/Prague"),
        pd.Timestamp("2024-01-15 08:00:00", tz="Europe/Prague"),
    ]
    assert [t.utcoffset().total_seconds() for t in mixed["date"]] == [7200, 3600]  # summer, winter


def test_czech_diacritics_survive_both_transports(mixed):
    assert mixed["info"].iloc[0] == CZECH_INFO


def test_both_transports_give_equal_frames():
    pd.testing.assert_frame_equal(
        _frame(decode_json_answer(MIXED_JSON)), _frame(decode_xmlrpc_answer(MIXED_XML))
    )


def test_latin2_declared_xml_keeps_diacritics():
    body = MIXED_XML.decode("utf-8").replace('encoding="utf-8"', 'encoding="iso-8859-2"')
    body = body.replace(" – ", " - ")  # the en dash has no Latin-2 form
    frame = _frame(decode_xmlrpc_answer(body.encode("iso-8859-2")))
    assert frame["info"].iloc[0] == CZECH_INFO.replace(" – ", " - ")


def test_schema_is_the_contract(mixed):
    assert list(mixed.columns) == RESULT_COLUMNS
    assert RESULT_COLUMNS[:4] == ["request_id", "id_send", "id_send_message", "id_email"]
    assert {c: str(t) for c, t in mixed.dtypes.items()} == {
        "request_id": "Int64", "id_send": "Int64", "id_send_message": "Int64", "id_email": "Int64",
        "email": "string", "error_code": "Int64", "error_name": "string", "info": "string",
        "date": "datetime64[us, Europe/Prague]", "fetched_at": "datetime64[us, UTC]",
        "campaign_id": "Int64", "campaign_name": "string",
    }
    assert mixed["request_id"].tolist() == [77, 77]
    assert (mixed["fetched_at"] == FETCHED_AT).all()
    assert mixed["campaign_id"].isna().all() and mixed["campaign_name"].isna().all()


@pytest.mark.parametrize(
    "answer",
    [{"status": "OK"}, {"status": "OK", "results": []}, {"status": "OK", "results": ""}, {"status": " ok "},
     {"status": "ERROR", "results": []}],
)
def test_no_rows_gives_the_full_schema_with_the_same_dtypes(answer, mixed):
    frame = _frame(answer)
    assert frame.empty
    assert list(frame.columns) == RESULT_COLUMNS
    assert frame.dtypes.to_dict() == mixed.dtypes.to_dict()
    assert empty_results_frame().dtypes.to_dict() == mixed.dtypes.to_dict()


def test_ok_status_is_kept_uppercase():
    result = parse_results_answer({"status": " ok "}, request_id=1, fetched_at=FETCHED_AT)
    assert result.status == "OK"


# --- build_results_frame and conform directly ---------------------------------------------
def test_absent_fields_are_missing():
    frame = build_results_frame({"ERROR_CODE": [3]}, request_id=5, fetched_at=FETCHED_AT)
    row = frame.iloc[0]
    assert row["error_name"] == "missing_address"
    for column in ("id_send", "id_send_message", "id_email", "email", "info", "date"):
        assert pd.isna(row[column]), column


def test_error_code_zero_is_kept_not_missing():
    frame = build_results_frame({"ERROR_CODE": [0, "0"]}, request_id=5, fetched_at=FETCHED_AT)
    assert frame["error_code"].tolist() == [0, 0]
    assert frame["error_name"].tolist() == ["unknown", "unknown"]


def test_inconsistent_columns_are_refused():
    with pytest.raises(MailkitResponseError, match="inconsistent"):
        build_results_frame({"ERROR_CODE": [1, 2], "INFO": ["a"]}, request_id=5, fetched_at=FETCHED_AT)


def test_naive_fetched_at_is_taken_as_utc_and_aware_is_converted():
    naive = build_results_frame({"ERROR_CODE": [1]}, request_id=5, fetched_at=pd.Timestamp("2024-03-01 12:00:00"))
    aware = build_results_frame(
        {"ERROR_CODE": [1]}, request_id=5, fetched_at=pd.Timestamp("2024-03-01 13:00:00", tz="Europe/Prague")
    )
    assert naive["fetched_at"].iloc[0] == aware["fetched_at"].iloc[0] == FETCHED_AT
    assert str(aware["fetched_at"].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", None),
        ("0000-00-00 00:00:00", None),
        ("0000-00-00", None),
        ("2024-10-27 02:30:00", "2024-10-27 02:30:00+02:00"),  # the autumn hour that happens twice: summer time
        ("2024-03-31 02:30:00", "2024-03-31 03:00:00+02:00"),  # skipped in spring: moved forward
        ("2024-07-01 00:00:00", "2024-07-01 00:00:00+02:00"),
    ],
)
def test_dates_are_prague_wall_time(text, expected):
    frame = build_results_frame({"ERROR_CODE": [1], "DATE": [text]}, request_id=5, fetched_at=FETCHED_AT)
    value = frame["date"].iloc[0]
    if expected is None:
        assert pd.isna(value)
    else:
        assert value.isoformat() == expected.replace(" ", "T")


@pytest.mark.parametrize(
    "text",
    ["2015-02-30 10:00:00", "2023-02-29 00:00:00", "2015-04-31 00:00:00", "2015-05-13 24:00:00",
     "2015-05-13 23:59:60", "2015-13-01 00:00:00", "2015-05-13", "13.05.2015 09:43:50", "2015-05-13T09:43:50"],
)
def test_impossible_or_foreign_dates_are_refused(text):
    with pytest.raises(MailkitResponseError, match=r"results\[1\]\.DATE is not a date"):
        build_results_frame(
            {"ERROR_CODE": [1, 1], "DATE": ["2015-05-13 09:43:50", text]}, request_id=5, fetched_at=FETCHED_AT
        )


def test_leap_day_is_a_date():
    frame = build_results_frame({"ERROR_CODE": [1], "DATE": ["2024-02-29 12:00:00"]}, request_id=5, fetched_at=FETCHED_AT)
    assert frame["date"].iloc[0] == pd.Timestamp("2024-02-29 12:00:00", tz="Europe/Prague")


@pytest.mark.parametrize("field", ["ERROR_CODE", "ID_SEND", "ID_EMAIL", "ID_SEND_MESSAGE"])
def test_integer_fields_take_whole_floats_and_refuse_the_rest(field):
    frame = build_results_frame({"ERROR_CODE": [1, 1], field: [2.0, 3]}, request_id=5, fetched_at=FETCHED_AT)
    assert frame[{"ERROR_CODE": "error_code"}.get(field, field.lower())].tolist() == [2, 3]
    for bad, words in ((2.5, "not a whole number"), (True, "boolean"), (float("nan"), "not a whole number"),
                       ("1e3", "not a whole number"), ([1], "not a number")):
        with pytest.raises(MailkitResponseError, match=words):
            build_results_frame({"ERROR_CODE": [1, 1], field: [1, bad]}, request_id=5, fetched_at=FETCHED_AT)


def test_conform_adds_missing_columns_and_keeps_extras_last():
    frame = pd.DataFrame({"extra": [1], "error_code": [4], "request_id": [9]})
    out = conform(frame)
    assert list(out.columns) == RESULT_COLUMNS + ["extra"]
    assert {c: str(out[c].dtype) for c in RESULT_COLUMNS} == {c: str(t) for c, t in RESULT_DTYPES.items()}
    assert out["error_code"].tolist() == [4] and out["email"].isna().all()


# --- the catalogue ---------------------------------------------------------------------------
def test_catalogue_has_the_eight_documented_codes():
    assert sorted(CATALOGUE) == list(range(1, 9))
    assert {c: e.name for c, e in CATALOGUE.items()} == {
        1: "attachment_failed", 2: "invalid_address", 3: "missing_address", 4: "invalid_mailinglist",
        5: "invalid_campaign", 6: "unsubscribed", 7: "missing_sender", 8: "invalid_template",
    }
    assert len({e.name for e in CATALOGUE.values()} | {UNKNOWN.name}) == 9


def test_catalogue_categories_follow_the_reference_page():
    assert SETUP_CODES == {1, 4, 5, 7, 8}
    assert {c for c, e in CATALOGUE.items() if e.category == "recipient data"} == {2, 3}
    assert CATALOGUE[6].category == "recipient status" and CATALOGUE[6].severity == "info"
    assert all(CATALOGUE[c].severity == "critical" for c in SETUP_CODES)
    assert all(e.czech and e.english and e.remedy for e in CATALOGUE.values())
    assert "mailinglist_id" in CATALOGUE[4].czech


@pytest.mark.parametrize(
    "code, name, label",
    [(1, "attachment_failed", "1 attachment_failed"), ("6", "unsubscribed", "6 unsubscribed"),
     (9, "unknown", "9 unknown"), (0, "unknown", "0 unknown"), ("abc", "unknown", "? unknown"),
     (None, "unknown", "? unknown")],
)
def test_lookup_names_and_labels(code, name, label):
    assert error_name(code) == name
    assert lookup(code).name == name
    assert code_label(code) == label
