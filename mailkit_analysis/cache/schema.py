"""Arrow schemas of the cache files, and the schema version stored with the data.

The results frame's pandas dtypes (``frame.RESULT_DTYPES``) map one to one onto the arrow
schema below; the version is written into every file's metadata so that a future change of
layout is recognised instead of misread.
"""
from __future__ import annotations

import pyarrow as pa

from ..frame import RESULTS_SCHEMA

__all__ = [
    "SCHEMA_VERSION",
    "VERSION_KEY",
    "RESULTS_SCHEMA",
    "PARTITION_COLUMN",
    "REQUESTS_SCHEMA",
    "CAMPAIGNS_SCHEMA",
    "SENDS_SCHEMA",
    "with_version",
    "file_version",
]

SCHEMA_VERSION = "1"
VERSION_KEY = b"mailkit_analysis.schema_version"
PARTITION_COLUMN = "month"  # hive key: month=YYYY-MM of the row's DATE (Prague), or "unknown"

REQUESTS_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.int64(), nullable=False),
        pa.field("id_send", pa.int64()),
        pa.field("campaign_id", pa.int64()),
        pa.field("sent_at", pa.timestamp("us", tz="UTC")),
        pa.field("recipients", pa.int64()),
        pa.field("status", pa.string()),  # OK / ERROR from Mailkit, None before the first fetch
        pa.field("rows", pa.int64()),
        pa.field("first_fetched_at", pa.timestamp("us", tz="UTC")),
        pa.field("last_fetched_at", pa.timestamp("us", tz="UTC")),
        pa.field("final", pa.bool_()),
        pa.field("last_error", pa.string()),  # why the latest attempt failed, None when it worked
        pa.field("last_error_at", pa.timestamp("us", tz="UTC")),
    ]
)

CAMPAIGNS_SCHEMA = pa.schema(
    [
        pa.field("campaign_id", pa.int64(), nullable=False),
        pa.field("campaign_name", pa.string()),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    ]
)

SENDS_SCHEMA = pa.schema(
    [
        pa.field("id_send", pa.int64(), nullable=False),
        pa.field("campaign_id", pa.int64()),
        pa.field("send_count", pa.int64()),
        pa.field("send_date", pa.string()),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    ]
)


def with_version(table: pa.Table) -> pa.Table:
    """Return ``table`` with the schema version in its metadata."""
    metadata = dict(table.schema.metadata or {})
    metadata[VERSION_KEY] = SCHEMA_VERSION.encode()
    return table.replace_schema_metadata(metadata)


def file_version(schema: pa.Schema) -> str | None:
    """The schema version a file was written with (None for files without one)."""
    value = (schema.metadata or {}).get(VERSION_KEY)
    return value.decode() if value is not None else None
