"""The cache's sends table: version 2 with delivered/failed counts, version 1 files still read."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mailkit_analysis.cache import load_sends
from mailkit_analysis.cache.schema import SENDS_SCHEMA, SENDS_VERSION, VERSION_KEY, with_version
from mailkit_analysis.cache.tables import read_small_table, table_problem, write_small_table
from mailkit_analysis.paths import CachePaths

# The layout this toolkit wrote before the sends table carried delivered and failed counts.
V1_SENDS = pa.schema(
    [
        pa.field("id_send", pa.int64(), nullable=False),
        pa.field("campaign_id", pa.int64()),
        pa.field("send_count", pa.int64()),
        pa.field("send_date", pa.string()),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    ]
)
FETCHED = pd.Timestamp("2026-11-20 10:00", tz="UTC")


def _v1_file(path, version="1"):
    table = pa.table(
        {
            "id_send": [52001, 52002],
            "campaign_id": [41010, None],
            "send_count": [120, 45],
            "send_date": ["2026-11-01 08:00:00", "2026-11-02 09:30:00"],
            "fetched_at": pa.array([FETCHED.to_pydatetime()] * 2, type=pa.timestamp("us", tz="UTC")),
        },
        schema=V1_SENDS,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(with_version(table, version), path)


def test_written_with_its_own_version(tmp_path):
    frame = pd.DataFrame(
        {
            "id_send": [1, 2],
            "campaign_id": [10, 10],
            "send_date": ["2026-11-01 08:00:00", "2026-11-03 08:00:00"],
            "send_count": [100, 7],
            "delivered_count": [97, pd.NA],
            "failed_count": [3, pd.NA],
            "fetched_at": [FETCHED, FETCHED],
        }
    )
    path = tmp_path / "sends.parquet"
    write_small_table(frame, path, SENDS_SCHEMA)
    assert pq.read_schema(path).metadata[VERSION_KEY] == SENDS_VERSION.encode() == b"2"
    back = read_small_table(path, SENDS_SCHEMA)
    assert back["delivered_count"].tolist()[0] == 97 and back["delivered_count"].isna().tolist() == [False, True]
    assert back["failed_count"].tolist()[0] == 3


def test_version_1_file_is_read_with_null_counts(tmp_path):
    paths = CachePaths.under(tmp_path)
    _v1_file(paths.sends)
    assert table_problem(paths.sends, SENDS_SCHEMA) is None
    sends = load_sends(tmp_path)
    assert sends["id_send"].tolist() == [52001, 52002]
    assert sends["send_count"].tolist() == [120, 45]
    assert sends["campaign_id"].isna().tolist() == [False, True]
    assert sends["delivered_count"].isna().all() and sends["failed_count"].isna().all()
    assert paths.sends.is_file()  # read, not quarantined


@pytest.mark.parametrize("version", ["3", None])
def test_unknown_version_is_refused(tmp_path, version):
    paths = CachePaths.under(tmp_path)
    _v1_file(paths.sends, version="1")
    if version is None:  # a file with no version at all
        table = pq.read_table(paths.sends).replace_schema_metadata({})
        pq.write_table(table, paths.sends)
    else:
        _v1_file(paths.sends, version=version)
    assert "schema version" in table_problem(paths.sends, SENDS_SCHEMA)
    assert read_small_table(paths.sends, SENDS_SCHEMA, quarantine=paths.quarantine) is None
    assert not paths.sends.exists() and len(list(paths.quarantine.iterdir())) == 1


def test_a_writer_without_the_new_columns_writes_them_empty(tmp_path):
    path = tmp_path / "sends.parquet"
    frame = pd.DataFrame({"id_send": [1], "campaign_id": [10], "send_count": [100],
                          "send_date": ["2026-11-01 08:00:00"], "fetched_at": [FETCHED]})
    write_small_table(frame, path, SENDS_SCHEMA)
    back = read_small_table(path, SENDS_SCHEMA)
    assert back["send_count"].tolist() == [100] and back["delivered_count"].isna().all()
    with pytest.raises(KeyError, match="id_send"):
        write_small_table(frame.drop(columns=["id_send"]), path, SENDS_SCHEMA)
