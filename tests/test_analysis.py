"""Analysis and domain functions on small frames whose numbers are checked by hand."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from frames import START, ResultsBuilder
from hypothesis import given
from hypothesis import strategies as st
from mailkit_analysis.analysis.domains import (
    extract_domain,
    extract_domains,
    likely_typos,
    osa_distance,
    suggest_domain,
    suggest_domains,
)

from mailkit_analysis.analysis import summaries as A
from mailkit_analysis.masking import mask_email, mask_emails
from mailkit_analysis.frame import RESULT_DTYPES, conform, empty_results_frame
from mailkit_analysis.prague_time import PRAGUE

# ---------------------------------------------------------------------------- a tiny frame
#
#   campaign 1 "A": send S1 day 0, 100 recipients: 3 x code 2, 2 x code 6
#                   send S2 day 1, 100 recipients: 1 x code 6
#   campaign 2 "B": send S3 day 1, 50 recipients: 50 x code 1 (every recipient)
#                   request R4 day 1, 20 recipients: 20 x code 5, no send created
#   campaign 3 "C": send S5 day 8 (the next week), 10 recipients: 1 x code 3, 1 x code 9
#   78 rows in all.

@pytest.fixture(scope="module")
def tiny():
    b = ResultsBuilder()
    s1 = b.send(1, "A", day=0, recipients=100, hour=10)
    b.errors(s1, 2, 3, emails=["jan@gmial.com", "eva@gmial.com", "petr@@seznam.cz"])
    b.errors(s1, 6, 2, emails=["a@seznam.cz", "b@gmail.com"])
    s2 = b.send(1, "A", day=1, recipients=100, hour=8)
    b.errors(s2, 6, 1, emails=["c@seznam.cz"])
    s3 = b.send(2, "B", day=1, recipients=50, hour=11)
    b.errors(s3, 1, 50)
    r4 = b.send(2, "B", day=1, recipients=20, hour=9, creates_send=False)
    b.errors(r4, 5, 20)
    s5 = b.send(3, "C", day=8, recipients=10, hour=12)
    b.errors(s5, 3, 1, emails=[""])
    b.errors(s5, 9, 1, emails=["z@firma.cz"])
    return b, dict(s1=s1, s2=s2, s3=s3, r4=r4, s5=s5)


def test_builder_makes_a_contract_frame(tiny):
    b, _ = tiny
    frame = b.frame()
    assert len(frame) == 78
    assert {c: str(t) for c, t in frame.dtypes.items()} == {c: str(t) for c, t in RESULT_DTYPES.items()}
    assert frame["id_send"].isna().sum() == 20


def test_counts_over_time_daily(tiny):
    b, _ = tiny
    counts = A.counts_over_time(b.frame())
    assert list(counts.columns) == [1, 2, 3, 5, 6, 9]
    assert len(counts) == 9  # day 0 to day 8, quiet days included
    assert str(counts.index.tz) == "Europe/Prague"
    assert counts.index[0] == START
    assert counts.loc[START].to_dict() == {1: 0, 2: 3, 3: 0, 5: 0, 6: 2, 9: 0}
    assert counts.loc[START + pd.Timedelta(days=1)].to_dict() == {1: 50, 2: 0, 3: 0, 5: 20, 6: 1, 9: 0}
    assert counts.iloc[2:8].to_numpy().sum() == 0
    assert int(counts.to_numpy().sum()) == 78


def test_counts_over_time_weekly_hourly_and_codes(tiny):
    b, _ = tiny
    frame = b.frame()
    weekly = A.counts_over_time(frame, freq="week")
    assert list(weekly.index) == [START, START + pd.Timedelta(days=7)]  # weeks start on Monday
    assert weekly.loc[START].sum() == 76 and weekly.iloc[1].sum() == 2
    hourly = A.counts_over_time(frame, freq="hour")
    assert hourly.loc[START + pd.Timedelta(hours=10)].sum() == 5
    assert hourly.loc[START + pd.Timedelta(days=1, hours=9), 5] == 20
    assert len(hourly) == 8 * 24 + 12 - 10 + 1
    chosen = A.counts_over_time(frame, codes=[2, 4])
    assert list(chosen.columns) == [2, 4] and chosen[4].sum() == 0 and chosen[2].sum() == 3
    with pytest.raises(ValueError, match="freq"):
        A.counts_over_time(frame, freq="month")


def _rows_at(*local_times: str) -> pd.DataFrame:
    dates = pd.to_datetime(list(local_times))
    n = len(dates)
    return conform(pd.DataFrame({
        "request_id": np.arange(1, n + 1), "id_send": np.arange(1, n + 1), "error_code": [2] * n,
        "date": dates.tz_localize(PRAGUE, ambiguous=[True, False][:n] if n == 2 else "raise"),
    }))


def test_periods_across_the_autumn_dst_change():
    # 02:30 happens twice on 2024-10-27: summer time first, then winter time.
    frame = _rows_at("2024-10-27 02:30", "2024-10-27 02:30")
    hourly = A.counts_over_time(frame, "h")
    assert len(hourly) == 2 and hourly[2].tolist() == [1, 1]
    assert [t.utcoffset() for t in hourly.index] == [pd.Timedelta(hours=2), pd.Timedelta(hours=1)]
    daily = A.counts_over_time(frame, "D")
    assert daily.index.tolist() == [pd.Timestamp("2024-10-27", tz=PRAGUE)] and daily[2].tolist() == [2]


def test_counts_of_an_empty_frame():
    counts = A.counts_over_time(empty_results_frame())
    assert counts.empty
    assert A.by_campaign(empty_results_frame()).empty
    assert A.by_send(empty_results_frame()).empty
    assert A.by_category(empty_results_frame()).empty
    assert A.top_info(empty_results_frame()).empty
    assert A.recipient_domains(empty_results_frame()).empty


def test_rates_need_denominators(tiny):
    b, p = tiny
    frame = b.frame()
    assert A.rates_over_time(frame).isna().all().all()
    rates = A.rates_over_time(frame, sends=b.sends_frame(), recipients={p["r4"].request_id: 20})
    day0, day1 = START, START + pd.Timedelta(days=1)
    assert rates.loc[day0, 2] == pytest.approx(3 / 100)
    assert rates.loc[day1, 1] == pytest.approx(50 / 170)  # S2 100 + S3 50 + R4 20
    assert pd.isna(rates.loc[day0 + pd.Timedelta(days=3), 2])  # nothing sent that day
    assert rates.attrs["recipients"].loc[day1] == 170
    # Without R4's size, day 1 is incomplete: no rate rather than one that is too high.
    partial = A.rates_over_time(frame, sends=b.sends_frame())
    assert pd.isna(partial.loc[day1, 1]) and partial.loc[day0, 2] == pytest.approx(0.03)


def test_by_campaign_counts_and_rates(tiny):
    b, _ = tiny
    frame = b.frame()
    table = A.by_campaign(frame)
    assert table["campaign_id"].tolist() == [2, 1, 3]
    b_row = table.iloc[0]
    assert (b_row["errors"], b_row["requests"], b_row["sends"], b_row["code_1"], b_row["code_5"]) == (70, 2, 1, 50, 20)
    a_row = table.iloc[1]
    assert (a_row["errors"], a_row["requests"], a_row["code_2"], a_row["code_6"]) == (6, 2, 3, 3)
    assert table["recipients"].isna().all() and table["error_rate"].isna().all()
    assert {"code_1", "code_2", "code_3", "code_5", "code_6", "code_9"} <= set(table.columns)

    rated = A.by_campaign(frame, sends=b.sends_frame(), recipients=b.recipients_frame()).set_index("campaign_id")
    assert rated.loc[1, "recipients"] == 200 and rated.loc[1, "error_rate"] == pytest.approx(6 / 200)
    assert rated.loc[2, "recipients"] == 70 and rated.loc[2, "error_rate"] == pytest.approx(1.0)
    assert rated.loc[3, "error_rate"] == pytest.approx(0.2)
    # sends alone do not know R4 (no send was created): B's total stays unknown.
    sends_only = A.by_campaign(frame, sends=b.sends_frame()).set_index("campaign_id")
    assert pd.isna(sends_only.loc[2, "recipients"]) and sends_only.loc[1, "recipients"] == 200


def test_campaign_totals_are_unknown_when_a_denominator_has_no_campaign(tiny):
    b, p = tiny
    mapping = {s.request_id: s.recipients for s in b.sends}
    table = A.by_campaign(b.frame(), recipients=mapping).set_index("campaign_id")
    assert table.loc[1, "recipients"] == 200  # every request is in the frame: attributable
    mapping[99_999] = 5_000  # an error-free request of an unknown campaign
    table = A.by_campaign(b.frame(), recipients=mapping)
    assert table["recipients"].isna().all()


def test_by_send_keeps_request_level_rows(tiny):
    b, p = tiny
    table = A.by_send(b.frame(), sends=b.sends_frame(), recipients=b.recipients_frame())
    assert len(table) == 5 and table["errors"].sum() == 78
    first = table.iloc[0]
    assert (first["id_send"], first["errors"], first["codes"], first["info"]) == (p["s3"].id_send, 50, "1", "url return null")
    assert first["error_rate"] == pytest.approx(1.0)
    request_row = table[table["id_send"].isna()].iloc[0]
    assert request_row["request_id"] == p["r4"].request_id and request_row["errors"] == 20
    assert request_row["recipients"] == 20 and request_row["code_5"] == 20
    s1 = table.set_index("id_send").loc[p["s1"].id_send]
    assert s1["codes"] == "2, 6" and s1["recipients"] == 100 and s1["error_rate"] == pytest.approx(0.05)


def test_by_category_and_top_info(tiny):
    b, _ = tiny
    frame = b.frame()
    categories = A.by_category(frame).set_index("category")
    assert categories["errors"].to_dict() == {
        "campaign set-up": 50, "request set-up": 20, "recipient data": 4, "recipient status": 3, "unknown": 1}
    assert categories.loc["recipient data", "codes"] == "2, 3"
    assert categories["share"].sum() == pytest.approx(1.0)
    assert categories.loc["request set-up", "sends"] == 0  # no send was created
    info = A.top_info(frame, n=2)
    assert len(info) == 2
    assert info.iloc[0][["info", "error_code", "error_name", "count"]].tolist() == [
        "url return null", 1, "attachment_failed", 50]
    assert info.iloc[0]["share"] == pytest.approx(50 / 78)
    assert A.top_info(frame).set_index("error_code").loc[9, "error_name"] == "unknown"


def test_campaign_code_matrix_folds_the_rest(tiny):
    b, _ = tiny
    matrix = A.campaign_code_matrix(b.frame(), top_n=2)
    assert matrix.index.tolist() == ["B (2)", "A (1)", "other"]
    assert list(matrix.columns) == [1, 2, 3, 5, 6, 9]
    assert matrix.loc["other"].to_dict() == {1: 0, 2: 0, 3: 1, 5: 0, 6: 0, 9: 1}
    assert int(matrix.to_numpy().sum()) == 78
    assert "other" not in A.campaign_code_matrix(b.frame(), top_n=3).index


def test_recipient_domains(tiny):
    b, _ = tiny
    table = A.recipient_domains(b.frame()).set_index("domain")
    assert table.loc["seznam.cz", ["count", "code_2", "code_6"]].tolist() == [3, 1, 2]
    assert table.loc["gmial.com", "suggestion"] == "gmail.com" and table.loc["gmial.com", "is_typo"]
    assert table.loc[A.NO_DOMAIN, "code_3"] == 1
    assert pd.isna(table.loc["seznam.cz", "suggestion"])
    assert table["count"].sum() == 7
    folded = A.recipient_domains(b.frame(), top_n=2)
    assert folded["domain"].tolist() == ["seznam.cz", "gmial.com", "other"]
    assert folded["count"].tolist() == [3, 2, 2]


def test_campaign_label():
    assert A.campaign_label(101, "Faktura") == "Faktura (101)"
    assert A.campaign_label(101, pd.NA) == "campaign 101"
    assert A.campaign_label(pd.NA, "x") == A.NO_CAMPAIGN


# ---------------------------------------------------------------------------- domains

@pytest.mark.parametrize(
    "address, domain",
    [
        ("petr@@email.cz", "email.cz"),
        ("martin@gmial", "gmial"),
        ("x@seznam,cz", "seznam,cz"),
        ("Jana.Novakova@Seznam.CZ", "seznam.cz"),
        ("jan novak@centrum.cz", "centrum.cz"),
        ("<eva@post.cz>", "post.cz"),
        ("a@x.cz; b@y.cz", "x.cz"),
        ("a@x.cz, b@y.cz", "x.cz"),
        ("jan@novak@seznam.cz", "seznam.cz"),
        ("petrnovakseznam.cz", None),
        ("x@", None),
        ("", None),
        (None, None),
        (pd.NA, None),
    ],
)
def test_extract_domain(address, domain):
    assert extract_domain(address) == domain


def test_extract_domains_is_vectorised_and_keeps_the_index():
    series = pd.Series(["a@gmail.com", None, "", "b@@seznam.cz"], index=[10, 11, 12, 13], dtype="string")
    out = extract_domains(series)
    assert out.index.tolist() == [10, 11, 12, 13] and str(out.dtype) == "string"
    assert out.tolist() == ["gmail.com", pd.NA, pd.NA, "seznam.cz"]


@pytest.mark.parametrize(
    "domain, suggestion",
    [
        ("gmial.com", "gmail.com"), ("seznam.cy", "seznam.cz"), ("seznan.cz", "seznam.cz"),
        ("gmail.con", "gmail.com"), ("gmial", "gmail.com"), ("seznam", "seznam.cz"),
        ("gmai.com", "gmail.com"), ("emial.cz", "email.cz"), ("centrum.cy", "centrum.cz"),
        ("sezanm.cz", "seznam.cz"), ("seznam.c", "seznam.cz"), ("seznam,cz", "seznam.cz"),
        ("email..cz", "email.cz"), ("gmail.com.", "gmail.com"), ("gmail.cz", "gmail.com"),
        ("gmaill.con", "gmail.com"),  # two edits on a long domain
        # known or real domains are never "corrected"
        ("seznam.cz", None), ("gmail.com", None), ("centrum.sk", None), ("email.com", None),
        # too far, too short or ambiguous
        ("firma.cz", None), ("mail", None), ("o2", None), ("", None), (None, None),
    ],
)
def test_suggest_domain(domain, suggestion):
    assert suggest_domain(domain) == suggestion


def test_osa_distance_counts_a_transposition_as_one_edit():
    assert osa_distance("gmial", "gmail") == 1
    assert osa_distance("seznam", "seznam") == 0
    assert osa_distance("", "abc") == 3
    assert osa_distance("ca", "abc") == 3  # optimal string alignment, not full Damerau


def test_suggest_domains_over_a_million_rows_is_fast():
    domains = pd.Series(np.array(["gmial.com", "seznam.cz", "seznam.cy", None] * 250_000, dtype=object))
    started = time.perf_counter()
    out = suggest_domains(domains)
    assert time.perf_counter() - started < 3
    assert out.iloc[:4].tolist() == ["gmail.com", pd.NA, "seznam.cz", pd.NA]


@pytest.mark.parametrize(
    "address, masked",
    [
        ("jana.novakova@gmail.com", "j***@gmail.com"),
        ("petr@@email.cz", "p***@email.cz"),
        ("martin@gmial", "m***@gmial"),
        ("jan novak@seznam.cz", "j***@seznam.cz"),
        ("<eva@post.cz>", "e***@post.cz"),
        ("petrnovakseznam.cz", "p***"),
        ("@gmail.com", "***@gmail.com"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_email(address, masked):
    assert mask_email(address) == masked


def test_mask_emails_vectorised():
    series = pd.Series(["jan@x.cz", None, "", "eva@@y.cz"], dtype="string")
    assert mask_emails(series).tolist() == ["j***@x.cz", pd.NA, "", "e***@y.cz"]


@given(
    local=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=30),
    domain=st.sampled_from(["gmail.com", "seznam.cz", "gmial.com", "firma.cz"]),
)
def test_mask_never_leaks_more_than_the_first_character(local, domain):
    assert mask_email(f"{local}@{domain}") == f"{local[0]}***@{domain}"


def test_likely_typos_table(tiny):
    b, _ = tiny
    table = likely_typos(b.frame())
    assert table.to_dict("records") == [
        {"domain": "gmial.com", "suggestion": "gmail.com", "count": 2, "example": "j***@gmial.com"}]
    assert likely_typos(b.frame(), codes=[6]).empty
