"""Campaign names and every send with its size, asked for once, over the periods needed.

``mailkit.campaigns.list`` gives ``ID_MESSAGE`` and ``NAME``. ``mailkit.report.campaign``
gives the sends of one campaign made in a range of days (``range_from`` / ``range_to``:
always sent, since the period Mailkit reports without them is not documented), with
``SEND_COUNT`` (the denominator of an error rate) and ``DELIVERED_COUNT``; every send it lists
is kept, also those without error rows, and so is which campaign each send belongs to.
``mailkit.report.message`` gives one send's counts, for a lone unknown send.

What is asked: the fetched requests place themselves in time (``sent_at`` from the manifest,
else the first ``DATE`` of their rows) and, when the manifest says so, in a campaign. A
request whose sends are all known, or whose moment falls in a period already asked about
(:class:`~mailkit_analysis.cache.enrichment.ReportRanges`), needs nothing, so a second fetch
of known requests makes no call. The days still needed become ranges; a range never crosses a
calendar month (see :func:`day_ranges` for why).

Everything here is best effort: an account that may not call these functions still gets its
results, minus names and sizes, and one warning line.
"""
from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd
import pyarrow.compute as pc

from ..api.client import MailkitClient
from ..api.reports import CAMPAIGNS_LIST, REPORT_CAMPAIGN, REPORT_MESSAGE
from ..api.results import ResultsAnswer
from ..cache.enrichment import ReportRanges, read_campaigns, read_report_ranges, read_sends, stage_sends
from ..cache.journal import Transaction
from ..cache.schema import CAMPAIGNS_SCHEMA, REPORT_RANGES_SCHEMA
from ..cache.tables import write_small_table
from ..errors import MailkitError
from ..paths import CachePaths
from ..prague_time import to_prague

__all__ = ["refresh_enrichment", "enrichment_needs", "day_ranges", "Needs", "MERGE_GAP_DAYS"]

log = logging.getLogger(__name__)

#: Needed days this close together are asked about in one range: a few more days in one
#: answer cost less than another call.
MERGE_GAP_DAYS = 7
#: Unknown sends asked about one by one in one fetch, at most (the rest wait for the next).
MAX_LONE_SENDS = 50


@dataclass
class Needs:
    """What the fetched requests need to know.

    Attributes
    ----------
    every_campaign : set of date
        Prague days whose sends of every campaign are needed (requests of unknown campaign).
    by_campaign : dict of int to set of date
        Days needed of one campaign only (the manifest names it).
    lone_sends : dict of int to int or None
        Unknown sends to ask about one by one (``report.message``), with their campaign
        when known.
    placed_sends : dict of int to int or None
        Unknown sends whose days are in ``every_campaign`` / ``by_campaign``.
    sendless : bool
        Some needed day comes from a request without a known send (only a range finds it).
    latest : Timestamp or None
        The latest moment placed in ``every_campaign`` (the campaign list must be this fresh).
    """

    every_campaign: set
    by_campaign: dict
    lone_sends: dict
    placed_sends: dict
    sendless: bool = False
    latest: pd.Timestamp | None = None

    def single_send(self) -> bool:
        """Only one unknown send of a known campaign is needed: ``report.message`` suffices."""
        return (
            not self.every_campaign and not self.sendless and not self.lone_sends
            and len(self.placed_sends) == 1 and None not in self.placed_sends.values()
        )

    def __bool__(self) -> bool:
        return bool(self.every_campaign or self.by_campaign or self.lone_sends)


def enrichment_needs(
    answers: list[ResultsAnswer], requests: pd.DataFrame, sends: pd.DataFrame | None, ranges: ReportRanges
) -> Needs:
    """What to ask about the requests just fetched.

    Parameters
    ----------
    answers : list of ResultsAnswer
        The answers of this run.
    requests : DataFrame
        The request state (``request_id``, ``id_send``, ``campaign_id``, ``sent_at``).
    sends : DataFrame or None
        The cached sends.
    ranges : ReportRanges
        The periods already asked about.
    """
    send_campaign = {} if sends is None else {
        int(s): (None if pd.isna(c) else int(c)) for s, c in zip(sends["id_send"], sends["campaign_id"])
    }
    info = requests.drop_duplicates("request_id", keep="last").set_index("request_id")
    needs = Needs(set(), {}, {}, {})
    for answer in answers:
        own = info.loc[answer.request_id] if answer.request_id in info.index else None
        ids = set()
        first = None
        if answer.rows:
            ids = {int(v) for v in pc.unique(answer.table.column("id_send")).drop_null().to_pylist()}
            earliest = pc.min(answer.table.column("date")).as_py()
            first = None if earliest is None else pd.Timestamp(earliest).tz_convert("UTC")
        campaign, moment = None, first
        if own is not None:
            if not pd.isna(own["id_send"]):
                ids.add(int(own["id_send"]))
            if not pd.isna(own["campaign_id"]):
                campaign = int(own["campaign_id"])
            if not pd.isna(own["sent_at"]):
                moment = pd.Timestamp(own["sent_at"])
        unknown = {s for s in ids if s not in send_campaign}
        if ids and not unknown:
            continue  # every send of the request is known, with its campaign
        if campaign is None:
            campaign = next((send_campaign[s] for s in ids - unknown if send_campaign[s] is not None), None)
        if moment is None:
            # Nowhere in time: only its sends can be asked about, one by one.
            needs.lone_sends.update({s: campaign for s in unknown})
            continue
        if ranges.covers(campaign, moment):
            # The period was asked about and the send was not listed: ask for it alone.
            needs.lone_sends.update({s: campaign for s in unknown})
            continue
        day = to_prague(moment).date()
        needs.placed_sends.update({s: campaign for s in unknown})
        needs.sendless |= not ids
        if campaign is None:
            needs.every_campaign.add(day)
            needs.latest = moment if needs.latest is None else max(needs.latest, moment)
        else:
            needs.by_campaign.setdefault(campaign, set()).add(day)
    return needs


def _named_sends(answers: list[ResultsAnswer], requests: pd.DataFrame) -> list[int]:
    """Every ``id_send`` of the answers' rows and of their requests' manifest entries."""
    ids: set[int] = set()
    for answer in answers:
        if answer.rows:
            ids.update(int(v) for v in pc.unique(answer.table.column("id_send")).drop_null().to_pylist())
    answered = requests["request_id"].isin([a.request_id for a in answers]) & requests["id_send"].notna()
    ids.update(int(v) for v in requests.loc[answered, "id_send"])
    return sorted(ids)


def day_ranges(days, gap: int = MERGE_GAP_DAYS) -> list[tuple[dt.date, dt.date]]:
    """Turn needed days into ``(range_from, range_to)`` pairs, inclusive.

    Days at most ``gap`` days apart share a range; no range crosses a calendar month. Month
    pieces keep every answer to about one month of one campaign's sends (a busy
    transactional campaign has one send per request), so one failed or slow call loses
    little, and a long history never depends on how long a period the service accepts in
    one call (which Mailkit does not document).
    """
    ordered = sorted(set(days))
    out: list[tuple[dt.date, dt.date]] = []
    for day in ordered:
        if out and (day - out[-1][1]).days <= gap and (day.year, day.month) == (out[-1][0].year, out[-1][0].month):
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def _calls(needs: Needs, campaigns: list[int]) -> tuple[list[tuple[int, dt.date, dt.date]], list[tuple[dt.date, dt.date]]]:
    """The ``report.campaign`` calls to make, and the ranges asked of every campaign."""
    shared = day_ranges(needs.every_campaign)
    calls = [(c, first, last) for first, last in shared for c in campaigns]
    for campaign, days in sorted(needs.by_campaign.items()):
        own = {d for d in days if not any(first <= d <= last for first, last in shared)}
        calls += [(campaign, first, last) for first, last in day_ranges(own)]
    return calls, shared


def refresh_enrichment(
    client: MailkitClient,
    paths: CachePaths,
    *,
    answers: list[ResultsAnswer],
    requests: pd.DataFrame,
    workers: int,
    lock,
) -> list[str]:
    """Ask what the requests of ``answers`` need and is not cached; returns warning lines.

    Parameters
    ----------
    client : MailkitClient
        Makes the calls.
    paths : CachePaths
        The cache.
    answers : list of ResultsAnswer
        The answers fetched in this run.
    requests : DataFrame
        Their request state (manifest columns ``request_id``, ``id_send``, ``campaign_id``,
        ``sent_at``).
    workers : int
        Calls in flight at once.
    lock : FileLock
        The cache lock (held only while reading and writing the tables).

    Returns
    -------
    list of str
        At most one line, saying what could not be learnt and why; nothing is raised.
    """
    with lock:
        campaigns = read_campaigns(paths, quarantine=True)
        # Only the sends these answers can name: a big account has millions.
        sends = read_sends(paths, quarantine=True, ids=_named_sends(answers, requests))
        ranges = read_report_ranges(paths, quarantine=True)
    needs = enrichment_needs(answers, requests, sends, ReportRanges(ranges))
    if not needs:
        return []
    now = client.clock()
    problems: list[str] = []
    known = set() if campaigns is None else set(campaigns["campaign_id"].astype(int))
    listed_at = None if campaigns is None or campaigns.empty else campaigns["fetched_at"].min()
    stale = listed_at is None or (needs.latest is not None and listed_at < needs.latest)
    wanted = set(needs.by_campaign) | {c for c in needs.lone_sends.values() if c is not None}
    if stale or wanted - known:
        try:
            listed = client.campaigns()
        except MailkitError as exc:
            problems.append(f"campaign names unavailable ({CAMPAIGNS_LIST}: {exc.message})")
        else:
            listed["fetched_at"] = now
            campaigns, listed_at, stale = listed, now, False
            with lock:
                write_small_table(campaigns, paths.campaigns, CAMPAIGNS_SCHEMA)
            known = set(campaigns["campaign_id"].astype(int))
    if needs.every_campaign and not known:
        needs.every_campaign.clear()  # nobody to ask: the warning above says why
    if needs.single_send():
        needs.lone_sends, needs.by_campaign = needs.placed_sends, {}
    calls, shared = _calls(needs, sorted(known))
    lone = sorted(needs.lone_sends.items())
    if len(lone) > MAX_LONE_SENDS:
        problems.append(f"{len(lone) - MAX_LONE_SENDS} unknown send(s) left for the next fetch ({REPORT_MESSAGE})")
        lone = lone[:MAX_LONE_SENDS]
    if not calls and not lone:
        return _one_line(problems)

    fresh: list[pd.DataFrame] = []
    asked: list[dict] = []
    failed: list[tuple[str, tuple, str]] = []  # function, what was asked, why it failed

    def report(call):
        campaign, first, last = call
        try:
            fresh.append(client.report_campaign(campaign, first, last))
        except MailkitError as exc:
            failed.append((REPORT_CAMPAIGN, (first, last), exc.message))
        else:
            asked.append({"campaign_id": campaign, "range_from": first, "range_to": last, "asked_at": now})

    def message(item):
        id_send, campaign = item
        try:
            frame = client.report_message(id_send)
        except MailkitError as exc:
            failed.append((REPORT_MESSAGE, (id_send,), exc.message))
        else:
            fresh.append(frame.assign(campaign_id=pd.array([campaign] * len(frame), dtype="Int64")))

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="mailkit-enrich") as pool:
        list(pool.map(report, calls))
        list(pool.map(message, lone))
    if failed:
        function, _, why = failed[0]
        problems.append(f"send sizes unavailable for {len(failed)} of {len(calls) + len(lone)} call(s) ({function}: {why})")
    if not stale:
        # A range every campaign listed answered for covers the sends of every campaign up to
        # the moment of the list (a campaign created later has no earlier sends).
        missed = {what for function, what, _ in failed if function == REPORT_CAMPAIGN}
        asked += [
            {"campaign_id": None, "range_from": first, "range_to": last, "asked_at": min(now, listed_at)}
            for first, last in shared
            if (first, last) not in missed
        ]
    _store(paths, lock, fresh, asked, now)
    return _one_line(problems)


def _store(paths, lock, fresh: list[pd.DataFrame], asked: list[dict], now) -> None:
    """Add the sends learnt and the ranges asked to the cached tables.

    A send already cached keeps what the new answer does not say (``report.campaign`` gives
    no failed count, ``report.message`` no campaign).
    """
    if not fresh and not asked:
        return
    with lock:
        # Read again under the lock: another process may have added rows meanwhile.
        ranges = read_report_ranges(paths, quarantine=True)
        if fresh:
            new = pd.concat(fresh, ignore_index=True).dropna(subset=["id_send"])
            new = new.drop_duplicates("id_send", keep="last").set_index("id_send")
            new["fetched_at"] = now
            # Only the rows of the sends learnt are read and written (as an update part).
            sends = read_sends(paths, quarantine=True, ids=new.index.to_numpy(dtype="int64"))
            if sends is not None and len(sends):
                new = new.combine_first(sends.drop_duplicates("id_send", keep="last").set_index("id_send"))
            tx = Transaction(paths.root)
            stage_sends(tx, paths, new.reset_index())
            tx.commit()
        if asked:
            rows = pd.DataFrame(asked, columns=REPORT_RANGES_SCHEMA.names)
            rows["campaign_id"] = rows["campaign_id"].astype("Int64")
            rows["asked_at"] = pd.to_datetime(rows["asked_at"], utc=True)
            merged = rows if ranges is None else pd.concat([ranges, rows], ignore_index=True)
            write_small_table(merged, paths.report_ranges, REPORT_RANGES_SCHEMA)


def _one_line(problems: list[str]) -> list[str]:
    return ["; ".join(problems)] if problems else []
