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

from ..api.client import MailkitClient
from ..cache.enrichment import read_campaigns, read_sends
from ..cache.schema import CAMPAIGNS_SCHEMA, SENDS_SCHEMA
from ..cache.tables import write_small_table
from ..errors import MailkitError
from ..paths import CachePaths

__all__ = ["refresh_enrichment"]

log = logging.getLogger(__name__)


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
