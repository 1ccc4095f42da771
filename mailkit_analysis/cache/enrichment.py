"""The cached enrichment tables (campaign names, sends and their sizes) and lookups into them.

Written by :mod:`mailkit_analysis.sync.enrich`; read by :mod:`.load` to fill missing campaign
ids and names into result rows.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..paths import CachePaths
from .schema import CAMPAIGNS_SCHEMA, SENDS_SCHEMA
from .tables import read_small_table

__all__ = ["Enrichment", "read_campaigns", "read_sends"]


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
        campaign = pc.coalesce(campaign, _lookup(table.column("id_send"), self.send_campaigns, pa.int64()))
        if request_campaigns:
            campaign = pc.coalesce(campaign, _lookup(table.column("request_id"), request_campaigns, pa.int64()))
        name = pc.coalesce(table.column("campaign_name"), _lookup(campaign, self.campaign_names, pa.string()))
        table = table.set_column(table.schema.get_field_index("campaign_id"), "campaign_id", campaign)
        return table.set_column(table.schema.get_field_index("campaign_name"), "campaign_name", name)


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


def read_sends(paths: CachePaths, quarantine: bool = False) -> pd.DataFrame | None:
    """The cached sends (``id_send``, ``campaign_id``, ``send_count``), or None."""
    return read_small_table(paths.sends, SENDS_SCHEMA, quarantine=paths.quarantine if quarantine else None)
