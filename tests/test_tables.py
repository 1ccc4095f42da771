"""The window's tables against numbers worked out by hand on the cache of ``test_window``.

Each table is one SQL definition; it runs over the cache and over the user's own frame
(:meth:`Window.from_frame`), and both must give the hand-computed answers.
"""
from __future__ import annotations

import pandas as pd
import pytest

from mailkit_analysis.analysis import tables
from mailkit_analysis.analysis.tables import NO_ADDRESS
from mailkit_analysis.analysis.window import Window

from test_window import MARCH, T, _windows, cache  # noqa: F401  (the fixture)


@pytest.fixture(params=["cache", "frame"])
def march(request, cache):  # noqa: F811
    return _windows(cache, **MARCH)[request.param]


def test_counts_over_time_per_day_and_code(march):
    table = tables.counts_over_time(march, "D")
    assert list(table.columns) == [2, 4, 6]
    assert table.index[0] == T("2024-03-04") and table.index[-1] == T("2024-03-06")
    assert table.loc[T("2024-03-04")].tolist() == [150, 0, 51]
    assert table.loc[T("2024-03-05")].tolist() == [0, 1, 0]
    assert table.loc[T("2024-03-06")].tolist() == [0, 0, 3]


def test_by_code_counts_rows_requests_and_sends(march):
    table = tables.by_code(march).set_index("error_code")
    assert table.loc[2, ["rows", "requests", "sends"]].tolist() == [150, 1, 1]
    assert table.loc[6, ["rows", "requests", "sends"]].tolist() == [54, 2, 2]
    assert table.loc[4, ["rows", "requests", "sends"]].tolist() == [1, 1, 0]
    assert table.loc[6, "share"] == round(54 / 205, 4)
    assert tables.by_code(march)["error_code"].tolist() == [2, 6, 4]


def test_by_category(march):
    table = tables.by_category(march).set_index("category")
    assert table.loc["recipient data", "errors"] == 150
    assert table.loc["recipient status", "errors"] == 54
    assert table.loc["recipient status", "sends"] == 2
    assert table["errors"].sum() == 205 and abs(table["share"].sum() - 1) < 1e-12


def test_top_info(march):
    table = tables.top_info(march, n=2)
    assert table["info"].tolist() == ["info 2", "info 6"]
    assert table["count"].tolist() == [150, 54]
    assert table["share"].iloc[0] == 150 / 205


def test_by_campaign_rate_is_affected_recipients_over_recipients_sent(march):
    table = tables.by_campaign(march).set_index("campaign_id")
    # Campaign 10: send 100 (201 rows, 200 recipients affected of SEND_COUNT 200) and the
    # failed request 2 (1 row without a message id, manifest 50): 201 of 250, not 202 / 250.
    assert table.loc[10, ["errors", "affected", "recipients"]].tolist() == [202, 201, 250]
    assert table.loc[10, "error_rate"] == pytest.approx(201 / 250)
    # Campaign 20 (known from send 300 only): 3 rows, messages 1, 2 and one without an id;
    # sent: send 300 (SEND_COUNT 1000, not the manifest's 990), request 4 (500), send 500 (70).
    assert table.loc[20, ["errors", "affected", "recipients"]].tolist() == [3, 3, 1570]
    assert table.loc[20, "error_rate"] == pytest.approx(3 / 1570)
    assert table.loc[10, ["code_2", "code_4", "code_6"]].tolist() == [150, 1, 51]
    assert table.loc[10, "campaign_name"] == "Faktura"


def test_a_rate_is_never_above_one(cache):  # noqa: F811
    one_send = _windows(cache, **MARCH)["cache"].narrowed(id_send=100)
    table = tables.by_send(one_send)
    assert table["errors"].tolist() == [201] and table["affected"].tolist() == [200]
    assert table["recipients"].tolist() == [200] and table["error_rate"].tolist() == [1.0]


def test_by_send(march):
    table = tables.by_send(march)
    assert table["id_send"].tolist()[:2] == [100, 300]
    first = table.iloc[0]
    assert first["codes"] == "2, 6" and first["info"] == "info 2" and first["request_id"] == 1
    failed = table[table["id_send"].isna()].iloc[0]
    assert failed["request_id"] == 2 and failed["recipients"] == 50 and failed["affected"] == 1


def test_affected_recipients_counts_people_and_keeps_rows_without_address(march):
    table = tables.affected_recipients(march)
    assert table.attrs["total"] == 201  # r1..r200, and the rows without an address
    # Three addresses and the address-less rows have 2 rows each; the later ones first.
    assert set(table["email"].head(3)) == {"r1@seznam.cz", "r2@seznam.cz", NO_ADDRESS}
    top = table[table["email"] == "r1@seznam.cz"].iloc[0]
    assert top["email"] == "r1@seznam.cz" and top["rows"] == 2 and top["error_codes"] == "2, 6" and top["sends"] == 2
    none = table[table["email"] == NO_ADDRESS].iloc[0]
    assert none["rows"] == 2  # request 2's code 4 and send 300's code 6 without a message
    limited = tables.affected_recipients(march, limit=3)
    assert len(limited) == 3 and limited.attrs["total"] == 201


def test_recipient_domains(march):
    table = tables.recipient_domains(march, codes=(2, 6), top_n=5)
    assert table["domain"].tolist() == ["seznam.cz", "(no domain)"]
    assert table["count"].tolist() == [203, 1]
    assert table["code_2"].tolist() == [150, 0] and not table["is_typo"].any()


def test_overview(march):
    facts = tables.overview(march)
    assert {k: facts[k] for k in ("rows", "requests", "sends", "campaigns")} == {
        "rows": 205, "requests": 3, "sends": 2, "campaigns": 2}
    assert facts["first"] == T("2024-03-04 10:05:01") and facts["last"] == T("2024-03-06 08:30")


def test_likely_typos_and_addresses_to_fix(march):
    assert tables.likely_typos(march).empty  # every address of the cache is @seznam.cz
    fix = tables.addresses_to_fix(march)
    assert len(fix) == 150 and set(fix["reason"]) == {"invalid format"}  # the code-2 addresses
    assert fix["email"].str.contains("*", regex=False).all()
    unmasked = tables.addresses_to_fix(march, mask=False)
    assert set(unmasked["email"]) == {f"r{m}@seznam.cz" for m in range(1, 151)}
    # Only the invalid rows of an address count: r150's code-6 row is not a reason to fix it.
    r150 = unmasked.set_index("email").loc["r150@seznam.cz"]
    assert r150["error_codes"] == "2" and r150["rows"] == 1 and r150["campaign_ids"] == "10"
    assert r150["last_id_send"] == 100 and r150["last_request_id"] == 1


def _typo_window():
    """Eight rows by hand: a typo domain seen with several codes, sends and dates."""
    when = [T("2024-03-04 10:00"), T("2024-03-04 11:00"), T("2024-03-05 09:00"), T("2024-03-05 10:00"),
            T("2024-03-04 12:00"), T("2024-03-06 08:00"), T("2024-03-04 09:00"), T("2024-03-04 13:00")]
    frame = pd.DataFrame({
        "request_id": pd.array([1, 1, 2, 2, 1, 3, 1, 2], dtype="Int64"),
        "id_send": pd.array([100, 100, 200, 200, 100, 300, 100, 200], dtype="Int64"),
        "id_send_message": pd.array([1, 2, 3, 4, 5, 6, 7, 8], dtype="Int64"),
        "email": pd.array(["jana@gmial.com", "Petr@GMIAL.com", "jana@gmial.com", "ok@seznam.cz",
                           "bad@seznam.cz", "bad@seznam.cz", "", "x@seznam.cy"], dtype="string"),
        "error_code": pd.array([6, 2, 6, 2, 2, 6, 3, 6], dtype="Int64"),
        "date": when,
        "campaign_id": pd.array([10, 10, 20, 20, 10, 30, 10, 20], dtype="Int64"),
        "campaign_name": ["A", "A", "B", "B", "A", "C", "A", "B"],
    })
    return Window.from_frame(frame)


def test_domain_tables_by_hand():
    window = _typo_window()
    counts = tables.domain_counts(window).sort_values(["domain", "error_code"], na_position="last")
    as_tuples = [tuple(None if pd.isna(v) else v for v in row) for row in counts.itertuples(index=False)]
    assert as_tuples == [
        ("gmial.com", 2, 1, "Petr@GMIAL.com"),
        ("gmial.com", 6, 2, "jana@gmial.com"),
        ("seznam.cy", 6, 1, "x@seznam.cy"),
        ("seznam.cz", 2, 2, "bad@seznam.cz"),  # 10:00 on the 4th is before ok@'s 10:00 on the 5th
        ("seznam.cz", 6, 1, "bad@seznam.cz"),
        (None, 3, 1, ""),
    ]
    typos = tables.likely_typos(window)
    assert typos["domain"].tolist() == ["gmial.com", "seznam.cy"]
    assert typos["suggestion"].tolist() == ["gmail.com", "seznam.cz"]
    assert typos["count"].tolist() == [3, 1]
    assert typos["example"].tolist() == ["j***@gmial.com", "x***@seznam.cy"]  # the earliest address
    assert tables.likely_typos(window, codes=[2])["count"].tolist() == [1]
    domains = tables.recipient_domains(window, codes=(2, 6), top_n=1)
    assert domains["domain"].tolist() == ["gmial.com", "other"] and domains["count"].tolist() == [3, 4]  # a tie: by name


def test_addresses_to_fix_by_hand():
    fix = tables.addresses_to_fix(_typo_window(), mask=False).set_index("email")
    # A typo domain lists every row of the address (codes 6 too); a valid domain only code 2.
    assert fix.index.tolist() == ["jana@gmial.com", "ok@seznam.cz", "x@seznam.cy", "bad@seznam.cz",
                                  "Petr@GMIAL.com"]
    jana = fix.loc["jana@gmial.com"]
    assert jana["rows"] == 2 and jana["error_codes"] == "6" and jana["campaign_ids"] == "10, 20"
    assert jana["last_id_send"] == 200 and jana["last_request_id"] == 2
    assert jana["first_seen"] == T("2024-03-04 10:00") and jana["last_seen"] == T("2024-03-05 09:00")
    assert jana["suggested_email"] == "jana@gmail.com" and jana["reason"] == "likely typo: gmial.com \u2192 gmail.com"
    bad = fix.loc["bad@seznam.cz"]
    assert bad["rows"] == 1 and bad["error_codes"] == "2" and bad["campaign_ids"] == "10"
    assert bad["last_id_send"] == 100 and bad["reason"] == "invalid format" and pd.isna(bad["suggested_email"])
    assert fix.loc["Petr@GMIAL.com", "domain"] == "gmial.com"
    assert fix.loc["x@seznam.cy", "suggested_domain"] == "seznam.cz"
    with_six = tables.addresses_to_fix(_typo_window(), codes=(2, 6), mask=False).set_index("email")
    assert with_six.loc["bad@seznam.cz", "rows"] == 2 and with_six.loc["bad@seznam.cz", "error_codes"] == "2, 6"
    assert tables.addresses_to_fix(_typo_window())["email"].str.contains("*", regex=False).all()


def test_addresses_to_fix_of_an_address_without_campaign():
    frame = pd.DataFrame({"request_id": pd.array([1], dtype="Int64"), "id_send": pd.array([5], dtype="Int64"),
                          "email": pd.array(["a@gmial.com"], dtype="string"), "error_code": pd.array([6], dtype="Int64"),
                          "date": [T("2024-03-04 10:00")]})
    fix = tables.addresses_to_fix(Window.from_frame(frame), mask=False)
    assert fix["campaign_ids"].tolist() == [""] and fix["rows"].tolist() == [1]
