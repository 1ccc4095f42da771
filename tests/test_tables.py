"""The window's tables against numbers worked out by hand on the cache of ``test_window``.

Each table is one SQL definition; it runs over the cache and over the user's own frame
(:meth:`Window.from_frame`), and both must give the hand-computed answers.
"""
from __future__ import annotations

import pandas as pd
import pytest

from mailkit_analysis.analysis import tables
from mailkit_analysis.analysis.tables import NO_ADDRESS

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
