"""Arrow schemas of the cache files, and the schema version stored with the data.

The results frame's pandas dtypes (``frame.RESULT_DTYPES``) map one to one onto the arrow
schema below; the version is written into every file's metadata so that a future change of
layout is recognised instead of misread. A table whose layout changed on its own carries its
version in its schema's metadata (:func:`schema_version`), together with the older versions
it still reads (:func:`readable_versions`): the sends table is at version 2 and reads 1.
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
    "SENDS_VERSION",
    "REPORT_RANGES_SCHEMA",
    "with_version",
    "file_version",
    "schema_version",
    "readable_versions",
]

SCHEMA_VERSION = "1"
VERSION_KEY = b"mailkit_analysis.schema_version"
# Older versions a table still reads, with the columns they lack (filled with nulls):
# "1:delivered_count,failed_count" means a version-1 file lacks those two columns.
_READS_KEY = b"mailkit_analysis.reads_versions"
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

# Version 2: every send ``mailkit.report.campaign`` lists (not only those with error rows),
# with the delivered and failed counts beside ``send_count``. Version 1 files are read as is.
SENDS_VERSION = "2"
SENDS_SCHEMA = pa.schema(
    [
        pa.field("id_send", pa.int64(), nullable=False),
        pa.field("campaign_id", pa.int64()),
        pa.field("send_date", pa.string()),  # Mailkit's DATE: Prague wall time, "YYYY-MM-DD HH:MM:SS"
        pa.field("send_count", pa.int64()),  # recipients of the send: the denominator of its rates
        pa.field("delivered_count", pa.int64()),  # None where Mailkit did not say
        pa.field("failed_count", pa.int64()),  # only mailkit.report.message gives it
        pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    ],
    metadata={VERSION_KEY: SENDS_VERSION.encode(), _READS_KEY: b"1:delivered_count,failed_count"},
)


# Which periods mailkit.report.campaign was asked about, so that a period is asked once: a
# row covers the sends made from range_from to range_to (Prague days) up to asked_at. A row
# without campaign_id covers every campaign mailkit.campaigns.list listed at asked_at.
REPORT_RANGES_SCHEMA = pa.schema(
    [
        pa.field("campaign_id", pa.int64()),
        pa.field("range_from", pa.date32(), nullable=False),
        pa.field("range_to", pa.date32(), nullable=False),
        pa.field("asked_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def schema_version(schema: pa.Schema) -> str:
    """The version files of ``schema`` are written with (the shared one unless it has its own)."""
    value = (schema.metadata or {}).get(VERSION_KEY)
    return value.decode() if value is not None else SCHEMA_VERSION


def readable_versions(schema: pa.Schema) -> dict[str, tuple[str, ...]]:
    """Versions a reader of ``schema`` accepts, each with the columns such a file lacks."""
    readable = {schema_version(schema): ()}
    for entry in filter(None, (schema.metadata or {}).get(_READS_KEY, b"").decode().split(";")):
        version, _, columns = entry.partition(":")
        readable[version] = tuple(filter(None, columns.split(",")))
    return readable


def with_version(table: pa.Table, version: str = SCHEMA_VERSION) -> pa.Table:
    """Return ``table`` with ``version`` (default: the shared schema version) in its metadata."""
    metadata = dict(table.schema.metadata or {})
    metadata[VERSION_KEY] = version.encode()
    return table.replace_schema_metadata(metadata)


def file_version(schema: pa.Schema) -> str | None:
    """The schema version a file was written with (None for files without one)."""
    value = (schema.metadata or {}).get(VERSION_KEY)
    return value.decode() if value is not None else None
