"""The analysis window: its answers on a small cache whose numbers are worked out by hand.

The cache (March and April 2024, Prague time):

=========  =======  ========  ===============================================  ==========
request    send     campaign  error rows                                       recipients
=========  =======  ========  ===============================================  ==========
1          100      10        150 x code 2 (messages 1-150) and 51 x code 6    SEND_COUNT 200
                              (messages 150-200): 201 rows, 200 recipients     (manifest 200)
2          (none)   10        1 x code 4 without a message id                  manifest 50
3          300      20        3 x code 6 (messages 1, 2 and none), campaign    SEND_COUNT 1000
                              only known from the send                         (manifest 990)
4          400      20        none                                             manifest 500
(none)     500      20        none (a send enrichment lists, no request)       SEND_COUNT 70
5          (none)   20        none, sent in April                              manifest 10
6          700      30        2 x code 2 on 2 April, no manifest line          unknown
=========  =======  ========  ===============================================  ==========
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from mailkit_analysis.analysis.window import Window, WindowError
from mailkit_analysis.cache import load_requests, load_results, load_sends
from mailkit_analysis.cache.schema import CAMPAIGNS_SCHEMA, REQUESTS_SCHEMA, SENDS_SCHEMA
from mailkit_analysis.cache.store import ResultsStore
from mailkit_analysis.cache.tables import write_small_table
from mailkit_analysis.errors import MailkitError
from mailkit_analysis.frame import RESULTS_SCHEMA
from mailkit_analysis.prague_time import PRAGUE
from mailkit_analysis.paths import CachePaths

T = lambda text: pd.Timestamp(text, tz=PRAGUE)  # noqa: E731


def _rows() -> pa.Table:
    rows = []

    def add(request_id, id_send, message, code, when, campaign_id, name):
        rows.append(dict(request_id=request_id, id_send=id_send, id_send_message=message, id_email=None,
                         email=f"r{message}@seznam.cz" if message else None, error_code=code,
                         error_name=None, info=f"info {code}", date=when,
                         fetched_at=pd.Timestamp("2024-05-01", tz="UTC"), campaign_id=campaign_id,
                         campaign_name=name))

    for m in range(1, 151):
        add(1, 100, m, 2, T("2024-03-04 10:05") + pd.Timedelta(seconds=m), 10, "Faktura")
    for m in range(150, 201):
        add(1, 100, m, 6, T("2024-03-04 11:00") + pd.Timedelta(seconds=m), 10, "Faktura")
    add(2, None, None, 4, T("2024-03-05 09:00"), 10, "Faktura")
    for m in (1, 2, None):
        add(3, 300, m, 6, T("2024-03-06 08:30"), None, None)
    add(6, 700, 1, 2, T("2024-04-02 07:00"), 30, "Jaro")
    add(6, 700, 2, 2, T("2024-04-02 07:10"), 30, "Jaro")
    frame = pd.DataFrame(rows)
    return pa.Table.from_pandas(frame, schema=RESULTS_SCHEMA, preserve_index=False)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    data = tmp_path_factory.mktemp("window")
    paths = CachePaths.under(data).ensure()
    ResultsStore(paths).replace_requests(pd.Index([1, 2, 3, 6]), _rows())
    utc = lambda text: T(text).tz_convert("UTC")  # noqa: E731
    requests = pd.DataFrame({
        "request_id": [1, 2, 3, 4, 5],
        "id_send": pd.array([100, None, 300, 400, None], dtype="Int64"),
        "campaign_id": pd.array([10, 10, None, 20, 20], dtype="Int64"),
        "sent_at": [utc("2024-03-04 10:00"), utc("2024-03-05 09:00"), utc("2024-03-06 08:00"),
                    utc("2024-03-06 12:00"), utc("2024-04-02 06:00")],
        "recipients": pd.array([200, 50, 990, 500, 10], dtype="Int64"),
        "status": ["ERROR", "ERROR", "ERROR", "OK", "OK"],
        "rows": pd.array([201, 1, 3, 0, 0], dtype="Int64"),
        "first_fetched_at": [utc("2024-05-01")] * 5,
        "last_fetched_at": [utc("2024-05-01")] * 5,
        "final": [True, True, True, True, False],
        "last_error": [None] * 5,
        "last_error_at": pd.Series([pd.NaT] * 5, dtype="datetime64[us, UTC]"),
    })
    write_small_table(requests, paths.requests, REQUESTS_SCHEMA)
    sends = pd.DataFrame({
        "id_send": [100, 300, 500], "campaign_id": [10, 20, 20], "send_count": [200, 1000, 70],
        "send_date": ["2024-03-04 10:00:00", "2024-03-06 08:00:00", "2024-03-07 08:00:00"],
        "fetched_at": [utc("2024-05-01")] * 3,
    })
    write_small_table(sends, paths.sends, SENDS_SCHEMA)
    campaigns = pd.DataFrame({"campaign_id": [10, 20], "campaign_name": ["Faktura", "Newsletter"],
                              "fetched_at": [utc("2024-05-01")] * 2})
    write_small_table(campaigns, paths.campaigns, CAMPAIGNS_SCHEMA)
    return data


def _windows(cache, **bounds):
    """The same window over the cache and over the user's own frame and tables."""
    own = Window.from_frame(load_results(cache), sends=load_sends(cache), requests=load_requests(cache), **bounds)
    return {"cache": Window(cache, **bounds), "frame": own}


MARCH = {"since": "2024-03-04", "until": "2024-03-07"}


@pytest.mark.parametrize("over", ["cache", "frame"])
def test_send_codes_by_hand(cache, over):
    got = _windows(cache, **MARCH)[over].send_codes()
    assert list(got.columns) == ["campaign_id", "campaign_name", "request_id", "id_send", "error_code",
                                 "first_date", "last_date", "rows", "recipients"]
    as_tuples = [tuple(None if pd.isna(v) else v for v in row)
                 for row in got[["request_id", "id_send", "error_code", "campaign_id", "campaign_name",
                                 "rows", "recipients"]].itertuples(index=False)]
    assert as_tuples == [
        (1, 100, 2, 10, "Faktura", 150, 150),
        (1, 100, 6, 10, "Faktura", 51, 51),
        (2, None, 4, 10, "Faktura", 1, 1),
        (3, 300, 6, 20, "Newsletter", 3, 3),  # two message ids and one row without
    ]
    assert got.loc[0, "first_date"] == T("2024-03-04 10:05:01")
    assert got.loc[0, "last_date"] == T("2024-03-04 10:07:30")
    assert str(got["first_date"].dtype) == "datetime64[us, Europe/Prague]"
    for column in ("campaign_id", "request_id", "id_send", "error_code"):
        assert str(got[column].dtype) == "Int64"
    assert str(got["campaign_name"].dtype) == "string"
    assert got["rows"].dtype == "int64" and got["recipients"].dtype == "int64"


@pytest.mark.parametrize("over", ["cache", "frame"])
def test_sends_by_hand(cache, over):
    got = _windows(cache, **MARCH)[over].sends()
    assert list(got.columns) == ["request_id", "id_send", "campaign_id", "campaign_name", "sent_at",
                                 "send_count", "status", "final", "rows"]
    plain = [tuple(None if pd.isna(v) else v for v in row)
             for row in got[["request_id", "id_send", "campaign_id", "campaign_name", "send_count", "rows"]]
             .itertuples(index=False)]
    assert plain == [
        (1, 100, 10, "Faktura", 200, 201),
        (2, None, 10, "Faktura", 50, 1),
        (3, 300, 20, "Newsletter", 1000, 3),  # Mailkit's SEND_COUNT wins over the manifest
        (4, 400, 20, "Newsletter", 500, 0),  # clean: the manifest's recipients
        (None, 500, 20, "Newsletter", 70, 0),  # listed by enrichment, no request
    ]
    assert got["sent_at"].tolist() == [T("2024-03-04 10:00"), T("2024-03-05 09:00"), T("2024-03-06 08:00"),
                                       T("2024-03-06 12:00"), T("2024-03-07 08:00")]
    assert got["status"].tolist()[:4] == ["ERROR", "ERROR", "ERROR", "OK"] and pd.isna(got["status"].iloc[4])
    assert str(got["final"].dtype) == "boolean" and str(got["send_count"].dtype) == "Int64"


def test_whole_cache_and_a_request_without_manifest_line(cache):
    got = Window(cache).sends()
    assert got["request_id"].tolist()[-2:] == [5, 6]
    last = got.iloc[-1]
    # No manifest line, no send size: sent when its first error row was, size unknown.
    assert last["sent_at"] == T("2024-04-02 07:00") and pd.isna(last["send_count"]) and last["rows"] == 2
    assert last["campaign_name"] == "Jaro"


def test_lookback_reaches_back_and_pruning_keeps_months_apart(cache):
    april = Window(cache, since="2024-04-01")
    assert april.send_codes()["request_id"].tolist() == [6]
    back = april.send_codes(lookback=pd.Timedelta(days=30))
    assert back["request_id"].tolist() == [1, 1, 2, 3, 6]  # from 2 March on
    assert Window(cache, since="2024-04-01").sends(lookback=pd.Timedelta(days=30))["request_id"].tolist()[:2] == [1, 2]


@pytest.mark.parametrize("over", ["cache", "frame"])
def test_campaign_and_send_filters(cache, over):
    by_campaign = _windows(cache, campaigns=[20], **MARCH)[over]
    assert by_campaign.send_codes()["request_id"].tolist() == [3]
    assert by_campaign.sends()["id_send"].tolist() == [300, 400, 500]
    one_send = _windows(cache, id_send=100, **MARCH)[over]
    assert one_send.send_codes()["rows"].tolist() == [150, 51]
    assert one_send.sends()["request_id"].tolist() == [1]


def test_rows_only_on_request_and_limited(cache):
    window = Window(cache, **MARCH)
    first = window.rows(limit=3)
    assert len(first) == 3 and first["id_send_message"].tolist() == [1, 2, 3]
    assert str(first["date"].dtype) == "datetime64[us, Europe/Prague]"
    assert len(window.rows()) == 205
    assert window.rows(codes=[6], columns=["id_send_message"])["id_send_message"].notna().sum() == 53


def test_since_after_until_is_a_typed_error(cache):
    with pytest.raises(WindowError, match="since .* is not before until") as raised:
        Window(cache, since="2024-03-08", until="2024-03-01")
    assert isinstance(raised.value, MailkitError)
    Window(cache, since="2024-03-01", until="2024-03-01")  # one whole day is a window
