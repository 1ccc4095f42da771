"""Campaign names and per-send recipient counts, fetched once and cached.

``mailkit.campaigns.list`` gives ``ID_MESSAGE`` and ``NAME``; ``mailkit.report.campaign``
gives, per campaign, its sends with ``SEND_COUNT`` (the denominator of an error rate) —
and so which campaign each ``ID_SEND`` belongs to. Both are best effort: an account that
may not call them still gets its results, minus names and rates, and one warning line.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..client import MailkitClient
from ..errors import MailkitError
from ..paths import CachePaths
from .schema import CAMPAIGNS_SCHEMA, SENDS_SCHEMA
from .tables import read_small_table, write_small_table

__all__ = ["Enrichment", "read_campaigns", "read_sends", "refresh_enrichment"]

log = logging.getLogger(__name__)


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


def refresh_enrichment(
    client: MailkitClient,
    paths: CachePaths,
    *,
    campaign_ids: set[int],
    id_sends: set[int],
    workers: int,
    lock,
) -> list[str]:
    """Fetch what is missing for ``campaign_ids`` / ``id_sends``; returns warning lines.

    Calls nothing when the cache already knows every campaign and send asked about.
    """
    warnings: list[str] = []
    with lock:
        campaigns = read_campaigns(paths, quarantine=True)
        sends = read_sends(paths, quarantine=True)
    known_campaigns = set() if campaigns is None else set(campaigns["campaign_id"].astype(int))
    known_sends = set() if sends is None else set(sends["id_send"].astype(int))
    now = client.clock()
    if campaigns is None or campaign_ids - known_campaigns or id_sends - known_sends:
        try:
            listed = client.campaigns()
        except MailkitError as exc:
            warnings.append(f"campaign names unavailable (mailkit.campaigns.list: {exc.message})")
        else:
            listed["fetched_at"] = now
            campaigns = listed
            with lock:
                write_small_table(campaigns, paths.campaigns, CAMPAIGNS_SCHEMA)
            known_campaigns = set(campaigns["campaign_id"].astype(int))
    unknown_sends = id_sends - known_sends
    if unknown_sends and known_campaigns:
        reports, failed = [], []

        def report(campaign_id: int):
            try:
                return client.report_campaign(campaign_id)
            except MailkitError as exc:
                failed.append(f"{campaign_id}: {exc.message}")
                return None

        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="mailkit-enrich") as pool:
            reports = [r for r in pool.map(report, sorted(known_campaigns)) if r is not None]
        if failed:
            warnings.append(
                f"send counts unavailable for {len(failed)} campaign(s) (mailkit.report.campaign: {failed[0]})"
            )
        if reports:
            fresh = pd.concat(reports, ignore_index=True).dropna(subset=["id_send"])
            fresh["fetched_at"] = now
            merged = fresh if sends is None else pd.concat([sends[~sends["id_send"].isin(fresh["id_send"])], fresh])
            with lock:
                write_small_table(merged.drop_duplicates("id_send", keep="last"), paths.sends, SENDS_SCHEMA)
    return warnings
