"""The simulated Mailkit account: campaigns, sends, requests and their error rows.

The account is a pure function of ``(seed, anchor, n_requests, days)``. The
manifest (which request went to which campaign, when, to how many recipients,
and which planted problems it carries) is drawn once at construction with
vectorised numpy. The per-recipient error rows are generated lazily, the first
time a request is asked about, from a generator seeded by ``(seed, request_id)``
and memoised, so that an account of thousands of requests is cheap to create
and asking about one request never depends on which others were asked first.

Every row also carries the moment Mailkit processed it. :meth:`SimulatedAccount.results_for`
returns only the rows processed by ``now``, so answers grow while a request is
being processed, exactly the behaviour that makes early ``status: OK`` answers
provisional.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np

from ..prague_time import PRAGUE
from .addresses import TYPO_DOMAINS, AddressBook
from . import model
from .catalog import CAMPAIGNS, INFO_TEXTS, TRANSACTIONAL, UNKNOWN_CODE
from .model import (
    CAMPAIGN_SETUP_CODES,
    CLEAN_REQUEST_SHARE,
    CUSTOMERS,
    IMPORT_RATE,
    MALFORMED_RECORDS,
    TYPO_RECORDS,
    UNKNOWN_CODE_SHARE,
    UNSUBSCRIBED,
)

UTC = timezone.utc
#: Format of Mailkit's ``DATE`` fields: Prague wall time, no zone.
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

#: Status of a request with no error rows (yet).
STATUS_OK = "OK"
#: Status of a request with at least one processed error row.
STATUS_ERROR = "ERROR"
#: Marker status: the account never issued this request id (Mailkit answers an API error).
STATUS_UNKNOWN_REQUEST = "UNKNOWN_REQUEST"

def answer_results(request_id, id_send, now: datetime | None, *, position, sent_ts, id_sends,
                   timed_rows) -> tuple[str, list[dict]]:
    """Mailkit's rules for a ``sendmail_mass.results`` answer, shared by every simulated account.

    Parameters
    ----------
    request_id, id_send : int or None
        The call's arguments.
    now : datetime or None
        Aware moment of the call; ``None``: the current time.
    position : Mapping[int, int]
        Request id to its index.
    sent_ts, id_sends : sequence
        Per index: the send time (POSIX seconds) and the request's ``ID_send``.
    timed_rows : callable
        ``timed_rows(index) -> (times, rows)``: the request's rows and the POSIX second at which
        each is processed, in that order.

    Returns
    -------
    status : str
        :data:`STATUS_OK`, :data:`STATUS_ERROR` or :data:`STATUS_UNKNOWN_REQUEST`.
    rows : list of dict
        Copies of the rows processed by ``now``.
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    i = position.get(int(request_id))
    now_ts = (now or datetime.now(UTC)).timestamp()
    if i is None or now_ts < sent_ts[i]:
        return STATUS_UNKNOWN_REQUEST, []
    # A wrong ID_send is not an error at Mailkit: the request simply has no rows for it.
    if id_send and int(id_send) != id_sends[i]:
        return STATUS_OK, []
    times, rows = timed_rows(i)
    done = bisect.bisect_right(times, now_ts)
    return (STATUS_ERROR, [dict(row) for row in rows[:done]]) if done else (STATUS_OK, [])


# Requests this young are still being processed at the anchor (and planted problems skip them).
_RECENT_WINDOW_S = 29 * 60


@dataclass(frozen=True)
class RequestRecord:
    """One ``mailkit.sendmail_mass`` call of the account (a manifest line).

    Attributes
    ----------
    request_id : int
        The id ``sendmail_mass`` returned.
    id_send : int
        The send (rozesílka) the request created.
    campaign_id : int
        ``ID_MESSAGE`` of the campaign the request used.
    sent_at : datetime
        When the request was made (aware, UTC).
    recipients : int
        Number of recipients in the request.
    processing_minutes : int
        How long Mailkit takes to process it; rows appear during this time.
    """

    request_id: int
    id_send: int
    campaign_id: int
    sent_at: datetime
    recipients: int
    processing_minutes: int


class _Rows:
    """Memoised error rows of one request, ordered by processing time."""

    __slots__ = ("times", "rows")

    def __init__(self, times: list[int], rows: list[dict]) -> None:
        self.times = times  # epoch seconds, ascending, aligned with rows
        self.rows = rows


def _prague(ts: float) -> str:
    return datetime.fromtimestamp(ts, PRAGUE).strftime(DATE_FORMAT)


def _prague_date(ts: float) -> date:
    return datetime.fromtimestamp(ts, PRAGUE).date()


def _utc_now_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def campaign_record(id_message: int, name: str, subject: str, first: str, last: str, user_list: int) -> dict:
    """One campaign as ``mailkit.campaigns.list`` documents it (see :meth:`SimulatedAccount.campaigns`)."""
    return {
        "ID_MESSAGE": id_message,
        "NAME": name,
        "SUBJECT": subject,
        "SUBJECT_B": "",
        "MSG_TYPE": "email",
        "CAMPAIGN_TYPE": "normal",
        "USE_AB": 0,
        "TEST_MODE": 0,
        "SEND_DATE": first,
        "TIME_ZONE": "Europe/Prague",
        "LAST_SENT": last,
        "REPEAT": 0,
        "REPEAT_COUNT": 0,
        "PERIOD": "",
        "DAYS": "",
        "STATUS": "enabled",
        "TYPE": "immediate",
        "USER_LIST": [user_list],
    }


def send_record(id_send: int, start: str, end: str, subject: str, size: int, delivered: int,
                reads: int = 0, clicks: int = 0) -> dict:
    """One send as ``mailkit.report.campaign`` documents it (see :meth:`SimulatedAccount.report_campaign`)."""
    return {
        "ID_SEND": id_send,
        "DATE": start,
        "DATE2": end,
        "SUBJECT": subject,
        "FROM": "info@obchod.example",
        "SEND_COUNT": size,
        "DELIVERED_COUNT": delivered,
        "READ_COUNT": reads,
        "READ_COUNT_U": reads,
        "CLICK_COUNT": clicks,
        "CLICK_COUNT_U": clicks,
        "CLICK_RATE": round(100 * clicks / delivered) if delivered else 0,
        "CLICK_RATE2": round(100 * clicks / reads) if reads else 0,
        "FORWARD_COUNT": 0,
        "PRINT_COUNT": 0,
        "UNSUBSCRIBE": 0,
        "SPAM_REPORT": 0,
        "CONVERSION_COUNT": 0,
        "CONVERSION_COUNT_U": 0,
        "REV": 0,
    }


def error_row(code: int, info: str, stamp: str, email: str, id_email: int, id_send: int, id_send_message: int) -> dict:
    """One ``sendmail_mass.results`` row, in the field order of the XML-RPC example on Mailkit's page."""
    return {
        "ERROR_CODE": code,
        "INFO": info,
        "DATE": stamp,
        "ID_EMAIL": id_email,
        "EMAIL": email,
        "ID_SEND": id_send,
        "ID_SEND_MESSAGE": id_send_message,
    }


class SimulatedAccount:
    """A deterministic, realistic Mailkit account for the simulator.

    Parameters
    ----------
    seed : int, default 0
        Non-negative seed; the whole account is a function of it and of the
        other parameters.
    anchor : datetime, optional
        The account's "now" (timezone-aware). Every time in the account is
        ``anchor`` minus an offset. Default: the current UTC time truncated to
        the minute.
    n_requests : int, default 600
        Number of ``sendmail_mass`` requests in the manifest.
    days : int, default 90
        The requests are spread over this many days before ``anchor``.

    Notes
    -----
    The account follows the shared model (:mod:`.model`), like the generator. Planted
    problems, for analysis to find (described by :attr:`incidents` and :meth:`failure_runs`):

    * set-up errors (codes 1, 4, 5, 7, 8) as runs: a campaign broken by an edit or a faulty
      deploy fails every one of its sends until fixed, an attachment outage fails a
      campaign's sends for hours, besides rare one-off failures; each failing every recipient
      of its request. Every such code occurs at least once in an account of 50 requests or
      more;
    * a handful of rows with the undocumented code 9;
    * one campaign with a surge of invalid addresses on one day;
    * a week in which the registration campaign collects misspelled provider
      domains (``gmial.com``, ``seznam.cy``, ...), on top of a steady trickle of
      typo domains among invalid addresses everywhere;
    * the model's slow drifts of invalid addresses and unsubscribe surges, when the period
      draws any.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> acc = SimulatedAccount(seed=1, anchor=datetime(2024, 11, 20, 12, 0, tzinfo=timezone.utc))
    >>> status, rows = acc.results_for(acc.demo_request_ids()[0])
    >>> status in ("OK", "ERROR")
    True
    """

    def __init__(
        self,
        seed: int = 0,
        anchor: datetime | None = None,
        n_requests: int = 600,
        days: int = 90,
    ) -> None:
        if n_requests < 1:
            raise ValueError("n_requests must be at least 1")
        if days < 1:
            raise ValueError("days must be at least 1")
        if anchor is None:
            anchor = _utc_now_minute()
        if anchor.tzinfo is None:
            raise ValueError("anchor must be timezone-aware")
        self.seed = int(seed)
        self.anchor = anchor.astimezone(UTC)
        self.n_requests = int(n_requests)
        self.days = int(days)
        self._book = AddressBook(self.seed)
        self._memo: dict[int, _Rows] = {}
        self._memo_lock = threading.Lock()
        rng = np.random.default_rng(self.seed)
        self._build_campaigns(rng)
        self._build_requests(rng)
        # Campaign moves first (the surge and the typo cluster move requests between
        # campaigns), then the episodes, so that every send of a broken campaign fails.
        self._plant_invalid_surge(rng)
        self._plant_typo_cluster(rng)
        self._plant_episodes(rng)
        self._plant_unknown_code(rng)
        self._finish_manifest()

    # ------------------------------------------------------------------ build

    def _build_campaigns(self, rng: np.random.Generator) -> None:
        n = len(CAMPAIGNS)
        self._campaign_ids = (41000 + np.cumsum(rng.integers(1, 40, n))).tolist()
        popularity = np.array([c.popularity for c in CAMPAIGNS]) * rng.uniform(0.6, 1.4, n)
        self._campaign_p = popularity / popularity.sum()
        # Campaign creation times were drawn here once; mailkit.campaigns.list documents no such
        # field, but the draw stays so that every account keeps its seeded contents.
        rng.uniform(self.days + 5, self.days + 700, n)
        self._campaign_index = {cid: i for i, cid in enumerate(self._campaign_ids)}
        self._campaign_rates = model.campaign_rates(rng, n)

    def _sample_ages(self, rng: np.random.Generator, k: int, low: float, high: float) -> np.ndarray:
        """Draw ``k`` ages (seconds before anchor) following the daily rhythm."""
        anchor_ts = self.anchor.timestamp()
        return anchor_ts - model.sample_times(rng, k, anchor_ts - high, anchor_ts - low)

    def _build_requests(self, rng: np.random.Generator) -> None:
        n = self.n_requests
        n_recent = min(n, 12, max(3, n // 150))
        old = self._sample_ages(rng, n - n_recent, _RECENT_WINDOW_S + 60, self.days * 86400.0)
        recent = rng.uniform(60, _RECENT_WINDOW_S, n_recent)
        recent[0] = 120.0  # at least one request is certainly still being processed
        ages = np.sort(np.concatenate([old, recent]))[::-1]
        anchor_ts = int(self.anchor.timestamp())
        self._sent_ts = (anchor_ts - ages.astype(np.int64)).tolist()
        self._recent = np.zeros(n, dtype=bool)
        self._recent[n - n_recent:] = True

        self._request_ids = (700000 + np.cumsum(rng.integers(2, 48, n))).tolist()
        self._id_sends = (52000 + np.cumsum(rng.integers(1, 9, n))).tolist()
        self._camp = rng.choice(len(CAMPAIGNS), size=n, p=self._campaign_p)
        self._dates = [_prague_date(ts) for ts in self._sent_ts]

        self._setup = np.zeros(n, dtype=np.int64)
        self._unknown_rows = np.zeros(n, dtype=np.int64)
        self._surge = np.zeros(n, dtype=bool)
        self._typo = np.zeros(n, dtype=bool)
        # Rates the data-quality episodes add: invalid addresses (column 0) and the floor of
        # the unsubscribed share (column 2); column 1 stays zero.
        self._quality = np.zeros((n, 3))
        # Drawn now (not when the campaign is final) so that the surge and typo
        # incidents, which move requests between campaigns, keep sizes stable.
        self._size_noise = rng.standard_normal(n)
        self._proc_noise = rng.integers(0, 6, n)

    def _eligible(self) -> np.ndarray:
        """Positions a planted problem may take: old enough, not already special."""
        return np.flatnonzero(
            ~self._recent & (self._setup == 0) & (self._unknown_rows == 0) & ~self._surge & ~self._typo
        )

    def _plant_episodes(self, rng: np.random.Generator) -> None:
        """Set-up failure runs and data-quality episodes of the model, over the final campaigns."""
        n = self.n_requests
        anchor_ts = self.anchor.timestamp()
        start, stop = anchor_ts - self.days * 86400.0, anchor_ts - _RECENT_WINDOW_S
        sent = np.array(self._sent_ts, dtype=np.float64)
        attachment = np.array([c.attachment for c in CAMPAIGNS], dtype=bool)
        episodes = model.draw_setup_episodes(rng, start, stop, len(CAMPAIGNS), attachment, self._campaign_p)
        setup = model.setup_codes(sent, self._camp, episodes)
        setup = np.where(setup > 0, setup, model.isolated_failures(rng, n))
        setup[self._recent] = 0  # still being processed: nothing planted there
        # Every documented set-up code shows up once, so that any analysis of a realistic
        # account meets the whole catalogue.
        if n >= 50:
            model.ensure_every_setup_code(rng, sent, self._camp, setup, np.flatnonzero(~self._recent))
        self._setup = setup
        # The account plants its one bad import itself (the surge above), so the model's are left out.
        quality = [e for e in model.draw_quality_episodes(rng, start, stop, self._campaign_p) if e.kind != "import"]
        model.apply_quality(self._quality, sent, self._camp, setup, quality)
        self._quality[self._recent] = 0.0
        # A failed request reports its set-up code only.
        self._surge &= setup == 0
        self._typo &= setup == 0

    def _plant_unknown_code(self, rng: np.random.Generator) -> None:
        eligible = self._eligible()
        k = min(eligible.size, max(2, round(UNKNOWN_CODE_SHARE * self.n_requests)))
        if k:
            chosen = rng.choice(eligible, size=k, replace=False)
            self._unknown_rows[chosen] = rng.integers(1, 3, k)

    def _plant_invalid_surge(self, rng: np.random.Generator) -> None:
        """One campaign receives a badly imported list on one day."""
        transactional = [i for i, c in enumerate(CAMPAIGNS) if c.type == TRANSACTIONAL]
        top = sorted(transactional, key=lambda i: -self._campaign_p[i])[:3]
        campaign = int(rng.choice(top))
        eligible = self._eligible()
        if eligible.size == 0:
            self._surge_info = None
            return
        own = eligible[self._camp[eligible] == campaign]
        day = self._dates[int(rng.choice(own if own.size else eligible))]
        same_day = np.array([i for i in eligible.tolist() if self._dates[i] == day], dtype=np.int64)
        # Make sure the surge is several requests strong, not a single outlier.
        others = same_day[self._camp[same_day] != campaign]
        moved = rng.choice(others, size=min(others.size, max(4, others.size // 2)), replace=False)
        self._camp[moved] = campaign
        self._surge[same_day[self._camp[same_day] == campaign]] = True
        self._surge_info = (campaign, day)

    def _plant_typo_cluster(self, rng: np.random.Generator) -> None:
        """The registration form lost its validation for about a week."""
        campaign = next(i for i, c in enumerate(CAMPAIGNS) if c.name.startswith("Registrace"))
        length = min(7.0, self.days / 3.0) * 86400.0
        start_age = rng.uniform(0.25, 0.75) * self.days * 86400.0 + length
        anchor_ts = self.anchor.timestamp()
        start = float(int(anchor_ts - start_age))
        end = start + length
        sent = np.array(self._sent_ts, dtype=np.float64)
        eligible = self._eligible()
        inside = eligible[(sent[eligible] >= start) & (sent[eligible] < end)]
        # A broken sign-up form means more sign-ups slip through: move some
        # requests of the window to the registration campaign.
        moved = inside[rng.random(inside.size) < 0.3]
        self._camp[moved] = campaign
        self._typo[inside[self._camp[inside] == campaign]] = True
        self._typo_info = (campaign, start, end)

    def _finish_manifest(self) -> None:
        n = self.n_requests
        medians = np.array([CAMPAIGNS[i].median_recipients for i in self._camp.tolist()], dtype=float)
        recipients = model.recipient_counts(medians, self._size_noise)
        self._recipients = recipients.tolist()
        self._proc = model.processing_minutes(recipients, self._proc_noise).tolist()
        # One ID_SEND_MESSAGE per recipient, from one account-wide sequence.
        starts = np.concatenate([[0], np.cumsum(recipients)[:-1]])
        self._message_base = (400_000_000 + starts).tolist()
        self._position = {rid: i for i, rid in enumerate(self._request_ids)}
        self._send_position = {sid: i for i, sid in enumerate(self._id_sends)}
        self._campaign_positions: dict[int, list[int]] = {}
        for i, c in enumerate(self._camp.tolist()):
            self._campaign_positions.setdefault(c, []).append(i)
        self._records = [
            RequestRecord(
                request_id=self._request_ids[i],
                id_send=self._id_sends[i],
                campaign_id=self._campaign_ids[int(self._camp[i])],
                sent_at=datetime.fromtimestamp(self._sent_ts[i], UTC),
                recipients=self._recipients[i],
                processing_minutes=int(self._proc[i]),
            )
            for i in range(n)
        ]

    # ------------------------------------------------------------- error rows

    def _rows(self, i: int) -> _Rows:
        rows = self._memo.get(i)
        if rows is None:
            # Generation is deterministic, so a rare double computation under a
            # race is harmless; the lock only keeps the memo consistent.
            rows = self._generate(i)
            with self._memo_lock:
                rows = self._memo.setdefault(i, rows)
        return rows

    def _generate(self, i: int) -> _Rows:
        rng = np.random.default_rng([self.seed, self._request_ids[i]])
        code = int(self._setup[i])
        if code:
            return self._generate_setup_failure(i, code, rng)
        return self._generate_recipient_errors(i, rng)

    def _generate_setup_failure(self, i: int, code: int, rng: np.random.Generator) -> _Rows:
        n = self._recipients[i]
        ts = self._sent_ts[i] + int(rng.integers(3, 60))  # one mistake fails all at once
        stamp = _prague(ts)
        info = INFO_TEXTS[code][int(rng.integers(len(INFO_TEXTS[code])))]
        created = code in CAMPAIGN_SETUP_CODES
        id_send = self._id_sends[i] if created else 0
        base = self._message_base[i]
        rows = []
        for slot, person in enumerate(rng.choice(CUSTOMERS, size=n, replace=False).tolist()):
            email = self._book.good(person)
            rows.append(self._row(
                code, info, stamp, email,
                self._book.email_id(email) if created else 0,
                id_send,
                base + slot if created else 0,
            ))
        return _Rows([ts] * n, rows)

    def _error_rates(self, i: int, rng: np.random.Generator) -> np.ndarray:
        """Rates of codes 2, 3 and 6 among the request's recipients."""
        # One vectorised draw each: numpy's per-call overhead, not the maths,
        # dominates row generation, and accounts may hold thousands of requests.
        r2, r3, r6 = model.send_rates(self._campaign_rates[int(self._camp[i])], rng.standard_normal(3))
        u = rng.random(2)
        if self._surge[i]:
            rates = np.array([IMPORT_RATE[0] + IMPORT_RATE[1] * u[0], 0.01 * u[1], r6])
        elif self._typo[i]:
            rates = np.array([0.06 + 0.08 * u[0], r3, r6])
        elif u[0] < CLEAN_REQUEST_SHARE:
            rates = np.zeros(3)
        else:
            rates = np.array([r2, r3, r6])
        # Drifts add invalid addresses on top; an unsubscribe surge sets a floor.
        extra = self._quality[i]
        return np.array([rates[0] + extra[0], rates[1], max(rates[2], extra[2])])

    def _invalid_address(self, i: int, j: int, coin: float, pick: int) -> str:
        if self._surge[i]:
            # A fresh bad import: new broken addresses, mostly syntactic garbage.
            return self._book.malformed(self._request_ids[i] * 10_000 + j, kind="surge")
        # Elsewhere the same broken customer records come back request after request.
        if coin < (0.9 if self._typo[i] else 0.5):
            return self._book.typo(pick % TYPO_RECORDS)
        return self._book.malformed(pick % MALFORMED_RECORDS)

    def _generate_recipient_errors(self, i: int, rng: np.random.Generator) -> _Rows:
        n = self._recipients[i]
        n2, n3, n6 = rng.binomial(n, np.minimum(self._error_rates(i, rng), 1.0)).tolist()
        n3 = min(n3, n - n2)
        n9 = min(int(self._unknown_rows[i]), n - n2 - n3)
        n6 = min(n6, n - n2 - n3 - n9)
        k = n2 + n3 + n6 + n9
        if k == 0:
            return _Rows([], [])
        codes = np.array([2] * n2 + [3] * n3 + [6] * n6 + [UNKNOWN_CODE] * n9, dtype=np.int64)
        rng.shuffle(codes)
        # Slots are positions in the recipient list; Mailkit works through the
        # list in order, so a slot also fixes when its error is reported.
        slots = np.sort(rng.choice(n, size=k, replace=False))
        offsets = ((slots + rng.random(k)) / n * (self._proc[i] * 60)).astype(np.int64)
        coins = rng.random(k).tolist()
        picks = rng.integers(0, 2**31, k).tolist()
        variants = rng.integers(0, 2**31, 4).tolist()
        infos = {c: INFO_TEXTS[c][v % len(INFO_TEXTS[c])]
                 for c, v in zip((2, 3, 6, UNKNOWN_CODE), variants)}
        start, id_send, base = self._sent_ts[i], self._id_sends[i], self._message_base[i]
        times, rows = [], []
        stamps: dict[int, str] = {}
        for j, (code, slot, off) in enumerate(zip(codes.tolist(), slots.tolist(), offsets.tolist())):
            ts = start + off
            stamp = stamps.get(ts) or stamps.setdefault(ts, _prague(ts))
            if code == 2:
                email, id_email, message = self._invalid_address(i, j, coins[j], picks[j]), 0, 0
            elif code == 3:
                email, id_email, message = "", 0, 0
            else:
                pool = UNSUBSCRIBED if code == 6 else CUSTOMERS
                email = self._book.good(picks[j] % pool)
                id_email, message = self._book.email_id(email), base + slot
            times.append(ts)
            rows.append(self._row(code, infos[code], stamp, email, id_email, id_send, message))
        return _Rows(times, rows)

    _row = staticmethod(error_row)

    # ------------------------------------------------------------- public API

    def results_for(
        self, request_id: int, id_send: int | None = None, now: datetime | None = None
    ) -> tuple[str, list[dict]]:
        """Answer ``mailkit.sendmail_mass.results`` for one request.

        Parameters
        ----------
        request_id : int
            The request asked about.
        id_send : int, optional
            Narrow the answer to this send; ``None`` or ``0`` means not given.
            A send other than the request's own yields no rows.
        now : datetime, optional
            Aware moment of the question; only rows processed by then are
            returned. Default: the current time.

        Returns
        -------
        status : str
            ``"OK"`` (no errors so far), ``"ERROR"`` (rows follow) or
            :data:`STATUS_UNKNOWN_REQUEST` when the account has not issued
            ``request_id`` (by ``now``).
        rows : list of dict
            Copies of the processed rows, with Mailkit's field names.
        """
        def timed_rows(i):
            memo = self._rows(i)
            return memo.times, memo.rows

        return answer_results(request_id, id_send, now, position=self._position, sent_ts=self._sent_ts,
                              id_sends=self._id_sends, timed_rows=timed_rows)

    def all_rows(self, now: datetime | None = None) -> dict[int, list[dict]]:
        """Return the processed rows of every request that has any.

        Parameters
        ----------
        now : datetime, optional
            Aware moment; default: the current time.

        Returns
        -------
        dict of int to list of dict
            Request id to its rows, only for requests answered ``"ERROR"``.
        """
        now = now or datetime.now(UTC)
        out = {}
        for rid in self._request_ids:
            status, rows = self.results_for(rid, now=now)
            if status == STATUS_ERROR:
                out[rid] = rows
        return out

    def campaigns(self) -> list[dict]:
        """Return the campaign list, as ``mailkit.campaigns.list`` documents it.

        Returns
        -------
        list of dict
            One per campaign, the documented fields: ``ID_MESSAGE``, ``NAME``, ``SUBJECT``,
            ``SUBJECT_B``, ``MSG_TYPE`` (``"email"``), ``CAMPAIGN_TYPE`` (``"normal"``),
            ``USE_AB``, ``TEST_MODE``, ``SEND_DATE``, ``TIME_ZONE``, ``LAST_SENT``,
            ``REPEAT``, ``REPEAT_COUNT``, ``PERIOD``, ``DAYS``, ``STATUS`` (``"enabled"``),
            ``TYPE`` (``"immediate"``: sent through ``sendmail_mass`` as requests come) and
            ``USER_LIST`` (the mailing list ids, a list: each transport renders it its way).
            Plain Python values; the transports decide how numbers travel.
        """
        out = []
        for i, c in enumerate(CAMPAIGNS):
            positions = self._campaign_positions.get(i, [])
            first = _prague(self._sent_ts[positions[0]]) if positions else ""
            last = _prague(self._sent_ts[positions[-1]]) if positions else ""
            out.append(campaign_record(self._campaign_ids[i], c.name, c.subject, first, last, 20000 + i))
        return out

    # -------------------------------------------------------------- sends

    def _has_send(self, i: int) -> bool:
        """Requests that failed with code 4 or 5 created no send."""
        return int(self._setup[i]) not in (4, 5)

    def _send_counts(self, i: int) -> tuple[int, int, int]:
        """``(SEND_COUNT, DELIVERED_COUNT, FAILED_COUNT)`` of the send of request ``i``.

        Failed: the send's error rows plus a few bounces drawn from the seed (bounces are
        not ``sendmail_mass.results`` rows), so the error rows explain part of the failures.
        """
        size = self._recipients[i]
        own = self._id_sends[i]
        errors = sum(1 for row in self._rows(i).rows if row["ID_SEND"] == own)
        rng = np.random.default_rng([self.seed, self._request_ids[i], 7])
        bounces = int(rng.binomial(size - errors, 0.01)) if size > errors else 0
        failed = errors + bounces
        return size, size - failed, failed

    def _in_range(self, i: int, first: date | None, last: date | None, limit: float) -> bool:
        day = self._dates[i]
        return (
            self._sent_ts[i] <= limit
            and (first is None or day >= first)
            and (last is None or day <= last)
        )

    def report_campaign(
        self,
        id_message: int,
        now: datetime | None = None,
        range_from: date | None = None,
        range_to: date | None = None,
    ) -> list[dict]:
        """Return the sends of one campaign, as ``mailkit.report.campaign`` documents them.

        Parameters
        ----------
        id_message : int
            ``ID_MESSAGE`` of the campaign.
        now : datetime, optional
            Sends made after this aware moment are not listed yet. Default: no limit.
        range_from, range_to : date, optional
            First and last Prague day of the sends listed (inclusive); None: unbounded.

        Returns
        -------
        list of dict
            One per send, oldest first, the documented fields (plain ints): ``ID_SEND``,
            ``DATE`` / ``DATE2`` (start and end of sending, Prague wall time), ``SUBJECT``,
            ``FROM``, ``SEND_COUNT``, ``DELIVERED_COUNT``, the read / click / forward / print /
            unsubscribe / spam / conversion counts, the click rates and ``REV``. Requests that
            failed with code 4 or 5 created no send and are absent.

        Raises
        ------
        KeyError
            If the account has no such campaign.
        """
        c = self._campaign_index[int(id_message)]
        limit = now.timestamp() if now else float("inf")
        subject = CAMPAIGNS[c].subject
        out = []
        for i in self._campaign_positions.get(c, []):
            if not (self._has_send(i) and self._in_range(i, range_from, range_to, limit)):
                continue
            size, delivered, _ = self._send_counts(i)
            rng = np.random.default_rng([self.seed, self._request_ids[i], 11])
            reads = int(rng.binomial(delivered, 0.45)) if delivered else 0
            clicks = int(rng.binomial(reads, 0.2)) if reads else 0
            out.append(send_record(
                self._id_sends[i], _prague(self._sent_ts[i]), _prague(self._sent_ts[i] + 60 * int(self._proc[i])),
                subject, size, delivered, reads, clicks,
            ))
        return out

    def report_message(self, id_send: int, now: datetime | None = None) -> dict:
        """Return one send, as ``mailkit.report.message`` describes it.

        Returns
        -------
        dict
            ``SEND_COUNT``, ``FAILED_COUNT``, ``DELIVERED_COUNT``, ``SEND_DATE`` (Prague wall
            time), ``SUBJECT``, ``UTM``.

        Raises
        ------
        KeyError
            No such send (by ``now``).
        """
        i = self._send_position.get(int(id_send))
        limit = now.timestamp() if now else float("inf")
        if i is None or not self._has_send(i) or self._sent_ts[i] > limit:
            raise KeyError(id_send)
        size, delivered, failed = self._send_counts(i)
        return {
            "SEND_COUNT": size,
            "FAILED_COUNT": failed,
            "DELIVERED_COUNT": delivered,
            "SEND_DATE": _prague(self._sent_ts[i]),
            "SUBJECT": CAMPAIGNS[int(self._camp[i])].subject,
            "UTM": "",
        }

    def report(self, range_from: date | None, range_to: date | None, now: datetime | None = None) -> list[dict]:
        """Return per-campaign totals of the sends made in a range, as ``mailkit.report`` does.

        Returns
        -------
        list of dict
            One per campaign with a send in the range: ``ID_MESSAGE``, ``NAME``,
            ``SEND_COUNT``, ``DELIVERED_COUNT`` (plain ints).
        """
        limit = now.timestamp() if now else float("inf")
        out = []
        for c, positions in sorted(self._campaign_positions.items()):
            chosen = [i for i in positions if self._has_send(i) and self._in_range(i, range_from, range_to, limit)]
            if not chosen:
                continue
            counts = [self._send_counts(i) for i in chosen]
            out.append({
                "ID_MESSAGE": self._campaign_ids[c],
                "NAME": CAMPAIGNS[c].name,
                "SEND_COUNT": sum(size for size, _, _ in counts),
                "DELIVERED_COUNT": sum(delivered for _, delivered, _ in counts),
            })
        return out

    def requests(self) -> list[RequestRecord]:
        """Return the manifest: every request of the account, oldest first."""
        return list(self._records)

    def demo_request_ids(self) -> list[int]:
        """Return all request ids of the account, sorted ascending."""
        return sorted(self._request_ids)

    def setup_failures(self) -> dict[int, int]:
        """Return the request ids that fail every recipient, with their code."""
        return {self._request_ids[i]: int(c) for i, c in enumerate(self._setup.tolist()) if c}

    def failure_runs(self) -> list[dict]:
        """Return the runs of failed sends: consecutive requests of one campaign failing with one code.

        Returns
        -------
        list of dict
            Oldest first: ``campaign_id``, ``error_code``, ``request_ids`` (in send order) and
            ``ongoing`` (the campaign's latest request fails with that code).
        """
        runs: list[tuple[int, dict]] = []
        for c, positions in self._campaign_positions.items():
            codes = [int(self._setup[i]) for i in positions]
            k = 0
            while k < len(positions):
                if not codes[k]:
                    k += 1
                    continue
                end = k
                while end + 1 < len(positions) and codes[end + 1] == codes[k]:
                    end += 1
                runs.append((positions[k], {
                    "campaign_id": self._campaign_ids[c],
                    "error_code": codes[k],
                    "request_ids": [self._request_ids[i] for i in positions[k:end + 1]],
                    "ongoing": end == len(positions) - 1,
                }))
                k = end + 1
        return [run for _, run in sorted(runs, key=lambda item: item[0])]

    @property
    def incidents(self) -> dict[str, dict]:
        """Describe the planted incidents, so tests and demos can check they are found.

        Returns
        -------
        dict
            ``"invalid_address_surge"``: ``campaign_id``, ``campaign_name``,
            ``date`` (Prague calendar day) and ``request_ids``;
            ``"typo_domain_cluster"``: ``campaign_id``, ``campaign_name``,
            ``start``/``end`` (aware UTC), ``request_ids`` and ``domains``
            (the misspelled domains used).
        """
        out: dict[str, dict] = {}
        if self._surge_info is not None:
            campaign, day = self._surge_info
            out["invalid_address_surge"] = {
                "campaign_id": self._campaign_ids[campaign],
                "campaign_name": CAMPAIGNS[campaign].name,
                "date": day,
                "request_ids": [self._request_ids[i] for i in np.flatnonzero(self._surge).tolist()],
            }
        campaign, start, end = self._typo_info
        out["typo_domain_cluster"] = {
            "campaign_id": self._campaign_ids[campaign],
            "campaign_name": CAMPAIGNS[campaign].name,
            "start": datetime.fromtimestamp(start, UTC),
            "end": datetime.fromtimestamp(end, UTC),
            "request_ids": [self._request_ids[i] for i in np.flatnonzero(self._typo).tolist()],
            "domains": [domain for domain, _ in TYPO_DOMAINS],
        }
        return out


__all__ = [
    "DATE_FORMAT",
    "STATUS_ERROR",
    "STATUS_OK",
    "STATUS_UNKNOWN_REQUEST",
    "RequestRecord",
    "SimulatedAccount",
]
