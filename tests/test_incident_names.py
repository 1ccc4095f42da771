"""Which campaign name an incident's message gives, on a cache written by hand.

The campaigns table names a campaign when it lists it (enrichment's ``campaigns.list``);
a campaign it does not list is named as its latest send's rows name it. Campaign 10 is
renamed between its two sends and is not in the campaigns table; campaign 20 is, under
another name than its rows give.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa

from mailkit_analysis.analysis.window import flags_for_window
from mailkit_analysis.cache.schema import CAMPAIGNS_SCHEMA
from mailkit_analysis.cache.store import ResultsStore
from mailkit_analysis.cache.tables import write_small_table
from mailkit_analysis.frame import RESULTS_SCHEMA
from mailkit_analysis.paths import CachePaths
from mailkit_analysis.prague_time import PRAGUE


def _cache(tmp_path, *, campaigns: bool):
    rows = []
    for request_id, id_send, campaign_id, name, when in (
        (1, 100, 10, "Old name", "2024-03-04 10:00"),
        (2, 200, 10, "New name", "2024-03-05 10:00"),
        (3, 300, 20, "Row name", "2024-03-05 11:00"),
    ):
        for m in range(3):
            rows.append(dict(request_id=request_id, id_send=id_send, id_send_message=id_send + m, id_email=None,
                             email=None, error_code=7, error_name=None, info="no sender",
                             date=pd.Timestamp(when, tz=PRAGUE) + pd.Timedelta(minutes=m),
                             fetched_at=pd.Timestamp("2024-05-01", tz="UTC"), campaign_id=campaign_id,
                             campaign_name=name))
    paths = CachePaths.under(tmp_path).ensure()
    table = pa.Table.from_pandas(pd.DataFrame(rows), schema=RESULTS_SCHEMA, preserve_index=False)
    ResultsStore(paths).replace_requests(pd.Index([1, 2, 3]), table)
    if campaigns:
        write_small_table(pd.DataFrame({"campaign_id": [20], "campaign_name": ["Lookup name"],
                                        "fetched_at": [pd.Timestamp("2024-05-01", tz="UTC")]}),
                          paths.campaigns, CAMPAIGNS_SCHEMA)
    return tmp_path


def _messages(data) -> dict[int, str]:
    flags = flags_for_window(data, since="2024-03-01", until="2024-04-01").flags
    setup = flags[flags["rule"] == "setup"]
    return dict(zip(setup["campaign_id"].astype(int), setup["message"]))


def test_the_campaigns_table_names_first_then_the_latest_send_rows(tmp_path):
    messages = _messages(_cache(tmp_path, campaigns=True))
    assert messages[10].startswith("Campaign 'New name': no sender address failed 2 sends")
    assert messages[20].startswith("Campaign 'Lookup name': no sender address failed 1 send")


def test_without_a_campaigns_table_every_name_comes_from_the_rows(tmp_path):
    messages = _messages(_cache(tmp_path, campaigns=False))
    assert messages[10].startswith("Campaign 'New name'")
    assert messages[20].startswith("Campaign 'Row name'")
