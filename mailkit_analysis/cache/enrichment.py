"""The cached enrichment tables (campaign names, sends and their sizes) and lookups into them.

Written by :mod:`mailkit_analysis.sync.enrich`; read by :mod:`.load` to fill missing campaign
ids and names into result rows. :class:`ReportRanges` says which sends the sends table holds
for sure (the periods already asked about), so that no period is asked about twice.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..paths import CachePaths
from ..prague_time import to_prague
from .schema import CAMPAIGNS_SCHEMA, REPORT_RANGES_SCHEMA, SENDS_SCHEMA
from .keyed import sends_table
from .tables import read_small_table

__all__ = ["Enrichment", "ReportRanges", "read_campaigns", "read_sends", "stage_sends", "read_report_ranges"]


class Enrichment:
    """Lookup maps built from the cached enrichment tables."""

    def __init__(self, campaigns: pd.DataFrame | None, sends: pd.DataFrame | None):
        self.campaigns = campaigns if campaigns is not None else _empty(CAMPAIGNS_SCHEMA)
        self.sends = sends if sends is not None else _empty(SENDS_SCHEMA)

    @property
    def campaign_names(self) -> dict[int, str]:
        frame = self.campaigns.dropna(subset=["campaign_name"])
        return dict(zip(frame["campaign_id"].astype(int), frame["campaign_name"].astype(str)))

    @property
    def send_campaigns(self) -> dict[int, int]:
        frame = self.sends.dropna(subset=["campaign_id"])
        return dict(zip(frame["id_send"].astype(int), frame["campaign_id"].astype(int)))

    def fill(self, table: pa.Table, request_campaigns: dict[int, int] | None = None) -> pa.Table:
        """Fill missing ``campaign_id`` (from the send, then the manifest) and ``campaign_name``.

        Works on arrow tables of the cache schema, vectorised (lookups via ``index_in``).
        """
        if table.num_rows == 0:
            return table
        campaign = table.column("campaign_id")
        campaign = pc.coalesce(campaign, _take(table.column("id_send"), *self._send_lookup))
        if request_campaigns:
            campaign = pc.coalesce(campaign, _lookup(table.column("request_id"), request_campaigns, pa.int64()))
        name = pc.coalesce(table.column("campaign_name"), _take(campaign, *self._name_lookup))
        table = table.set_column(table.schema.get_field_index("campaign_id"), "campaign_id", campaign)
        return table.set_column(table.schema.get_field_index("campaign_name"), "campaign_name", name)


    @cached_property
    def _send_lookup(self) -> tuple[pd.Index, pa.Array]:
        """Sends' ids (an index, hashed once) and campaigns; the last row of a send wins, as
        in a dict. A big cache has a row per send: too many to hash again on every fill."""
        frame = self.sends.dropna(subset=["id_send", "campaign_id"]).drop_duplicates("id_send", keep="last")
        return (pd.Index(frame["id_send"].to_numpy(dtype="int64")), pa.array(frame["campaign_id"].to_numpy(dtype="int64")))

    @cached_property
    def _name_lookup(self) -> tuple[pd.Index, pa.Array]:
        frame = self.campaigns.dropna(subset=["campaign_id", "campaign_name"]).drop_duplicates("campaign_id", keep="last")
        return (pd.Index(frame["campaign_id"].to_numpy(dtype="int64")),
                pa.array(frame["campaign_name"].astype(str).tolist(), pa.string()))


def _take(keys, known: pd.Index, values: pa.Array):
    """``values[position of key in known]`` for every key, null where unknown (vectorised)."""
    if not len(known):
        return pa.nulls(len(keys), values.type)
    keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    missing = np.iinfo(np.int64).min  # no id is this
    positions = known.get_indexer(pc.fill_null(keys, missing).to_numpy(zero_copy_only=False))
    return pc.take(values, pa.array(positions, mask=positions < 0))


class ReportRanges:
    """The periods ``mailkit.report.campaign`` answered for: which sends are known for sure.

    A row ``(campaign_id, range_from, range_to, asked_at)`` says that every send of that
    campaign made on those Prague days, up to ``asked_at``, is in the sends table; a row
    without ``campaign_id`` says it for every campaign listed at ``asked_at`` (a campaign
    created later has no earlier sends).
    """

    def __init__(self, ranges: pd.DataFrame | None):
        self.frame = ranges if ranges is not None else _empty(REPORT_RANGES_SCHEMA)

    def covers(self, campaign_id: int | None, moment: pd.Timestamp) -> bool:
        """Whether the sends of ``campaign_id`` (None: of every campaign) made at ``moment``
        are known."""
        if self.frame.empty:
            return False
        frame = self.frame
        rows = frame["campaign_id"].isna()
        if campaign_id is not None:
            rows = rows | (frame["campaign_id"] == int(campaign_id)).fillna(False)
        day = to_prague(moment).date()
        inside = (frame["range_from"] <= day) & (frame["range_to"] >= day) & (frame["asked_at"] >= moment)
        return bool((rows & inside).any())


def _lookup(keys, mapping: dict, value_type: pa.DataType):
    """``mapping[key]`` for every key, null where unknown (vectorised)."""
    if not mapping:
        return pa.nulls(len(keys), value_type)
    known = pa.array(list(mapping), type=pa.int64())
    values = pa.array(list(mapping.values()), type=value_type)
    return pc.take(values, pc.index_in(keys, value_set=known))


def _empty(schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas()


def read_campaigns(paths: CachePaths, quarantine: bool = False) -> pd.DataFrame | None:
    """The cached campaign names, or None."""
    return read_small_table(paths.campaigns, CAMPAIGNS_SCHEMA, quarantine=paths.quarantine if quarantine else None)


def read_sends(paths: CachePaths, quarantine: bool = False, ids=None) -> pd.DataFrame | None:
    """The cached sends (``id_send``, ``campaign_id``, ``send_count``), or None.

    Parameters
    ----------
    quarantine : bool
        Move an unusable file to the quarantine folder (only while holding the cache lock).
    ids : array-like of int, optional
        Only these sends (read without loading the rest of a big sends table).
    """
    return sends_table(paths).read(ids, quarantine=paths.quarantine if quarantine else None)


def stage_sends(tx, paths: CachePaths, rows: pd.DataFrame) -> None:
    """Add new or changed sends (whole rows) to the transaction ``tx`` (see :mod:`.keyed`)."""
    sends_table(paths).stage_rows(tx, rows)


def read_report_ranges(paths: CachePaths, quarantine: bool = False) -> pd.DataFrame | None:
    """The periods already asked about (see :class:`ReportRanges`), or None."""
    return read_small_table(
        paths.report_ranges, REPORT_RANGES_SCHEMA, quarantine=paths.quarantine if quarantine else None
    )
