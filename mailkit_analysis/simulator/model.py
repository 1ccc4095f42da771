"""The model of an e-shop's Mailkit account: one home for what the simulator and the generator share.

:mod:`.account` (the account served over HTTP, generated request by request) and
:mod:`.generate` (a cache of any size, generated for whole arrays at once) both draw from
these parameters and functions, so the two can never tell different stories.

What the model says
-------------------
* Requests follow a daily rhythm (:data:`HOUR_WEIGHTS`), sized per campaign template with a
  log-normal spread (:func:`recipient_counts`), processed in minutes (:func:`processing_minutes`).
* Per recipient, codes 2, 3 and 6 occur at rates that are a property of the campaign (how
  good its list is: :func:`campaign_rates`), varying modestly from send to send; many
  requests have no error at all (:func:`draw_rates`). A request now and then reports a row or
  two of the undocumented code 9 (:data:`UNKNOWN_CODE_SHARE`).
* Set-up failures (codes 1, 4, 5, 7, 8) are *episodes*, not coin flips per request
  (:func:`draw_setup_episodes`): a campaign broken by an edit (1 missing attachment, 7 no
  sender, 8 invalid template) fails every send until someone fixes it, hours to days later,
  and not before a send or two failed (a campaign that sends rarely stays broken until its
  failures are noticed); a faulty integration deploy sends a wrong ``mailinglist_id`` /
  ``id_message`` (4, 5: no send is created) until it is rolled back; the attachment server
  goes down for a few hours now and then (1, on a campaign with attachments). Besides these,
  rare isolated failures.
* Data quality moves slowly or in bursts (:func:`draw_quality_episodes`): a bad import fills a
  campaign with invalid addresses for a day or three; a campaign's invalid-address share drifts
  up over weeks until the source is fixed; one send (or one day) of a campaign meets an
  unsubscribe surge.

Episode rates are per calendar time (per account, or per campaign), so a year of a large
account shows dozens of failure runs, not thousands, and a small account a handful.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .catalog import SETUP_CODES

__all__ = [
    "HOUR", "DAY", "HOUR_WEIGHTS", "CUSTOMERS", "UNSUBSCRIBED", "TYPO_RECORDS", "MALFORMED_RECORDS",
    "SURGE_RECORDS", "RATE_MEANS", "CAMPAIGN_RATE_SHAPE", "SEND_RATE_SIGMA", "CLEAN_REQUEST_SHARE",
    "UNKNOWN_CODE_SHARE", "CAMPAIGN_SETUP_CODES", "NO_SEND_CODES", "IMPORT_RATE", "SETUP_CODE_WEIGHTS",
    "Episode", "sample_times", "recipient_counts", "processing_minutes", "campaign_rates", "send_rates",
    "draw_rates", "draw_setup_episodes", "setup_codes", "isolated_failures", "ensure_every_setup_code",
    "draw_quality_episodes", "apply_quality",
]

HOUR, DAY, YEAR = 3600, 86400, 365.25 * 86400

#: Relative sending activity per hour of the day (Prague): quiet nights, busy afternoons.
HOUR_WEIGHTS = np.array(
    [0.10, 0.06, 0.04, 0.04, 0.05, 0.10, 0.25, 0.50, 0.80, 0.95, 1.00, 1.00,
     0.95, 0.95, 1.00, 1.00, 0.95, 0.90, 0.90, 0.95, 0.90, 0.70, 0.45, 0.25]
)

# Size of the customer base, and of the sub-populations that keep producing the same error in
# request after request (unsubscribed people, broken records), plus the fresh broken addresses
# a bad import brings.
CUSTOMERS, UNSUBSCRIBED, TYPO_RECORDS, MALFORMED_RECORDS, SURGE_RECORDS = 60_000, 2_500, 300, 400, 5_000

#: Recipients of one request: the template's median times a log-normal spread, clipped.
SIZE_SIGMA, MIN_RECIPIENTS, MAX_RECIPIENTS = 0.9, 20, 5000

#: Mean rates of codes 2, 3 and 6 among a request's recipients, over the account.
RATE_MEANS = (0.013, 0.003, 0.018)
#: Campaigns differ (a gamma law of this shape around the means: a spread of about 40 %) ...
CAMPAIGN_RATE_SHAPE = 6.0
#: ... and a campaign's sends differ less (log-normal, this sigma), so that ordinary noise
#: stays ordinary and a bad day stands out.
SEND_RATE_SIGMA = 0.3
#: Share of requests that report no recipient error at all.
CLEAN_REQUEST_SHARE = 0.45
#: Share of requests that also report one or two rows of the undocumented code 9.
UNKNOWN_CODE_SHARE = 0.003

#: Set-up codes after which the send and a message per recipient exist (the campaign was at fault).
CAMPAIGN_SETUP_CODES = (1, 7, 8)
#: Set-up codes that fail the request before a send exists.
NO_SEND_CODES = (4, 5)

# --- set-up failure episodes (rates per calendar time) ---
#: A campaign broken by an edit, per campaign and year; codes and their weights.
BROKEN_PER_CAMPAIGN_YEAR = 0.08
BROKEN_CODES, BROKEN_WEIGHTS = (1, 7, 8), (0.3, 0.35, 0.35)
#: Hours until a broken campaign is fixed: log-normal (median, sigma), clipped.
BROKEN_HOURS, BROKEN_SIGMA, BROKEN_HOURS_RANGE = 8.0, 1.2, (0.5, 240.0)
#: Failed sends it takes before anyone notices (geometric, mean 1 / p), within a horizon: a
#: campaign that sends once a week stays broken for weeks, not for its eight hours.
NOTICE_P, NOTICE_HORIZON_DAYS = 0.5, 30
#: A faulty integration deploy (codes 4, 5), per campaign and year, and hours until rollback.
DEPLOY_PER_CAMPAIGN_YEAR = 0.02
DEPLOY_CODES, DEPLOY_WEIGHTS = (4, 5), (0.55, 0.45)
DEPLOY_HOURS, DEPLOY_SIGMA, DEPLOY_HOURS_RANGE = 2.0, 0.8, (0.25, 48.0)
#: Attachment server outages (code 1) per account and year, lasting these many hours.
OUTAGES_PER_YEAR = 8.0
OUTAGE_HOURS_RANGE = (1.0, 6.0)
#: Share of requests failing on their own (one-off mistakes), with the set-up codes' weights.
ISOLATED_FAILURE_SHARE = 2e-5
#: Relative frequency of each set-up code among isolated failures (codes: catalog.SETUP_CODES).
SETUP_CODE_WEIGHTS = (0.25, 0.2, 0.15, 0.2, 0.2)

# --- data-quality episodes ---
#: Bad imports (a campaign collects invalid addresses for consecutive days) per account and month.
IMPORTS_PER_MONTH = 1.0
IMPORT_DAYS = (1, 3)
#: Invalid-address rate during a bad import: low + span * U(0, 1).
IMPORT_RATE = (0.15, 0.2)
#: Slow drifts of a campaign's invalid-address share per account and year, their length and
#: the share they add at their peak (just before the source is fixed).
DRIFTS_PER_YEAR = 4.0
DRIFT_WEEKS = (3.0, 8.0)
DRIFT_PEAK = (0.04, 0.10)
#: Unsubscribe surges (one send, or one day of a campaign) per account and year, and their rate.
UNSUB_SURGES_PER_YEAR = 6.0
UNSUB_RATE = (0.08, 0.12)


class Episode(NamedTuple):
    """One planted episode: a campaign (or ``-1``: chosen later) misbehaving from ``start`` to ``end``.

    Attributes
    ----------
    kind : str
        ``"broken"``, ``"deploy"``, ``"outage"`` (set-up codes); ``"import"``, ``"drift"``,
        ``"unsubscribe"`` (data quality).
    code : int
        The error code it produces.
    campaign : int
        Position of the campaign in the account's campaign list.
    start, end : float
        Epoch seconds; sends in ``[start, end)`` are affected. An ``"unsubscribe"`` episode with
        ``end == start`` hits the campaign's first send at or after ``start`` only.
    strength : float
        Rate (``import``, ``unsubscribe``) or peak added rate (``drift``); 1 for set-up codes.
    sends : int
        Set-up codes: the fewest sends of the campaign it fails, however short it is (nobody
        fixes what nobody has seen fail); the window is stretched to reach them.
    """

    kind: str
    code: int
    campaign: int
    start: float
    end: float
    strength: float = 1.0
    sends: int = 1


# --------------------------------------------------------------------------- requests

def sample_times(rng: np.random.Generator, n: int, start: float, stop: float) -> np.ndarray:
    """Draw ``n`` epoch seconds in ``[start, stop)`` following the daily rhythm (unsorted floats).

    Prague is UTC+1 or +2; +1 is close enough to shape a daily rhythm.
    """
    out, have = [], 0
    while have < n:
        candidates = rng.uniform(start, stop, 2 * (n - have) + 16)
        hour = ((candidates // HOUR).astype(np.int64) + 1) % 24
        keep = candidates[rng.random(candidates.size) < HOUR_WEIGHTS[hour]]
        out.append(keep)
        have += keep.size
    return np.concatenate(out)[:n] if out else np.zeros(0)


def recipient_counts(medians: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Recipients per request from the template medians and standard normal ``noise``."""
    sized = np.exp(np.log(np.asarray(medians, dtype=float)) + SIZE_SIGMA * np.asarray(noise))
    return np.clip(sized, MIN_RECIPIENTS, MAX_RECIPIENTS).astype(np.int64)


def processing_minutes(recipients: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Minutes Mailkit takes per request; ``noise`` is ``rng.integers(0, 6, n)``."""
    return np.clip(5 + np.asarray(recipients) // 350 + np.asarray(noise), 5, 25).astype(np.int64)


def campaign_rates(rng: np.random.Generator, n_campaigns: int) -> np.ndarray:
    """Usual rates of codes 2, 3 and 6 of each campaign, shape ``(n_campaigns, 3)``."""
    means = np.array(RATE_MEANS)
    return rng.gamma(CAMPAIGN_RATE_SHAPE, means / CAMPAIGN_RATE_SHAPE, size=(n_campaigns, 3))


def send_rates(base: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Rates of one send (or of many) from its campaign's ``base`` and standard normal ``noise``.

    The log-normal factor has mean 1, so the campaign's rates stay its means.
    """
    return np.asarray(base) * np.exp(SEND_RATE_SIGMA * np.asarray(noise) - SEND_RATE_SIGMA**2 / 2)


def draw_rates(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """Per-request rates of codes 2, 3 and 6 from the campaigns' ``base`` rows ``(n, 3)``; clean requests get zeros."""
    rates = send_rates(base, rng.standard_normal(np.shape(base)))
    rates[rng.random(len(base)) < CLEAN_REQUEST_SHARE] = 0.0
    return rates


# --------------------------------------------------------------------------- set-up failures

def _poisson_times(rng: np.random.Generator, rate_per_year: float, start: float, stop: float) -> np.ndarray:
    k = rng.poisson(rate_per_year * max(stop - start, 0.0) / YEAR)
    return np.sort(rng.uniform(start, stop, k))


def _hours(rng, k, median, sigma, bounds) -> np.ndarray:
    return np.clip(median * np.exp(sigma * rng.standard_normal(k)), *bounds) * HOUR


def draw_setup_episodes(
    rng: np.random.Generator,
    start: float,
    stop: float,
    n_campaigns: int,
    attachment: np.ndarray,
    campaign_p: np.ndarray,
) -> list[Episode]:
    """Draw the set-up failure episodes of a period (broken campaigns, faulty deploys, outages).

    Parameters
    ----------
    rng : numpy.random.Generator
    start, stop : float
        The period, epoch seconds.
    n_campaigns : int
        Campaigns of the account; edits and deploys hit any of them alike.
    attachment : array of bool
        Which campaigns carry an attachment (outages hit only those).
    campaign_p : array of float
        Share of requests per campaign; an outage is noticed on the busiest attachment campaigns.

    Returns
    -------
    list of Episode
    """
    episodes = []
    for kind, rate, codes, weights, (median, sigma, bounds) in (
        ("broken", BROKEN_PER_CAMPAIGN_YEAR, BROKEN_CODES, BROKEN_WEIGHTS, (BROKEN_HOURS, BROKEN_SIGMA, BROKEN_HOURS_RANGE)),
        ("deploy", DEPLOY_PER_CAMPAIGN_YEAR, DEPLOY_CODES, DEPLOY_WEIGHTS, (DEPLOY_HOURS, DEPLOY_SIGMA, DEPLOY_HOURS_RANGE)),
    ):
        times = _poisson_times(rng, rate * n_campaigns, start, stop)
        campaigns = rng.integers(0, n_campaigns, times.size)
        chosen = rng.choice(np.array(codes), size=times.size, p=np.array(weights))
        lengths = _hours(rng, times.size, median, sigma, bounds)
        noticed = rng.geometric(NOTICE_P, times.size)
        episodes += [Episode(kind, int(c), int(k), float(t), float(t + d), 1.0, int(m))
                     for t, k, c, d, m in zip(times, campaigns, chosen, lengths, noticed)]
    with_attachment = np.flatnonzero(attachment)
    if with_attachment.size:
        times = _poisson_times(rng, OUTAGES_PER_YEAR, start, stop)
        p = campaign_p[with_attachment] / campaign_p[with_attachment].sum()
        campaigns = rng.choice(with_attachment, size=times.size, p=p)
        lengths = rng.uniform(*OUTAGE_HOURS_RANGE, times.size) * HOUR
        episodes += [Episode("outage", 1, int(k), float(t), float(t + d)) for t, k, d in zip(times, campaigns, lengths)]
    return episodes


def _window(sent: np.ndarray, episode: Episode) -> slice:
    """Positions of the (sorted) send times inside the episode."""
    return slice(int(np.searchsorted(sent, episode.start, "left")), int(np.searchsorted(sent, episode.end, "left")))


def _failed_sends(sent: np.ndarray, campaign: np.ndarray, episode: Episode) -> np.ndarray:
    """Positions of the sends an episode fails: its campaign's inside it, and at least ``episode.sends``."""
    window = _window(sent, episode)
    hit = np.flatnonzero(campaign[window] == episode.campaign) + window.start
    if hit.size < episode.sends:
        horizon = int(np.searchsorted(sent, episode.start + NOTICE_HORIZON_DAYS * DAY, "left"))
        hit = np.flatnonzero(campaign[window.start:horizon] == episode.campaign)[: episode.sends] + window.start
    return hit


def setup_codes(sent: np.ndarray, campaign: np.ndarray, episodes: list[Episode]) -> np.ndarray:
    """The set-up code of every request (0: none): every send of an episode's campaign inside it fails.

    ``sent`` must be sorted ascending. Where episodes overlap, the earlier one wins: the
    campaign was already broken.
    """
    sent = np.asarray(sent)
    codes = np.zeros(sent.size, dtype=np.int64)
    for episode in sorted(episodes, key=lambda e: -e.start):
        codes[_failed_sends(sent, campaign, episode)] = episode.code
    return codes


def isolated_failures(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rare one-off set-up failures, one code per request (0: none)."""
    failing = rng.random(n) < ISOLATED_FAILURE_SHARE
    codes = rng.choice(np.array(SETUP_CODES), size=int(failing.sum()), p=np.array(SETUP_CODE_WEIGHTS))
    out = np.zeros(n, dtype=np.int64)
    out[failing] = codes
    return out


def ensure_every_setup_code(
    rng: np.random.Generator, sent: np.ndarray, campaign: np.ndarray, codes: np.ndarray, eligible: np.ndarray,
) -> list[Episode]:
    """Episodes that make every set-up code occur at least once, starting at eligible sends.

    A realistic account of some size meets the whole catalogue, and tests and demos rely on
    it. A missing code gets an episode of its usual kind starting at a random eligible send
    (positions ``eligible``) whose campaign is not failing already.
    """
    added = []
    for code in SETUP_CODES:
        if (codes == code).any():
            continue
        free = eligible[codes[eligible] == 0]
        if not free.size:
            break
        at = int(rng.choice(free))
        deploy = code in NO_SEND_CODES
        median, sigma, bounds = (DEPLOY_HOURS, DEPLOY_SIGMA, DEPLOY_HOURS_RANGE) if deploy else (
            BROKEN_HOURS, BROKEN_SIGMA, BROKEN_HOURS_RANGE)
        length = float(_hours(rng, 1, median, sigma, bounds)[0])
        episode = Episode("deploy" if deploy else "broken", code, int(campaign[at]), float(sent[at]),
                          float(sent[at]) + length, 1.0, int(rng.geometric(NOTICE_P)))
        hit = _failed_sends(sent, campaign, episode)
        hit = hit[codes[hit] == 0]
        codes[hit] = code
        added.append(episode)
    return added


# --------------------------------------------------------------------------- data quality

def draw_quality_episodes(
    rng: np.random.Generator, start: float, stop: float, campaign_p: np.ndarray,
) -> list[Episode]:
    """Draw bad imports, slow drifts and unsubscribe surges of a period (busy campaigns more often)."""
    n = len(campaign_p)
    episodes = []
    for t in _poisson_times(rng, IMPORTS_PER_MONTH * 12, start, stop):
        days = int(rng.integers(IMPORT_DAYS[0], IMPORT_DAYS[1] + 1))
        day_start = t - (t % DAY)
        episodes.append(Episode("import", 2, int(rng.choice(n, p=campaign_p)), float(day_start),
                                float(day_start + days * DAY), IMPORT_RATE[0] + IMPORT_RATE[1] * float(rng.random())))
    for t in _poisson_times(rng, DRIFTS_PER_YEAR, start, stop):
        length = float(rng.uniform(*DRIFT_WEEKS)) * 7 * DAY
        episodes.append(Episode("drift", 2, int(rng.choice(n, p=campaign_p)), float(t), float(t + length),
                                float(rng.uniform(*DRIFT_PEAK))))
    for t in _poisson_times(rng, UNSUB_SURGES_PER_YEAR, start, stop):
        end = t if rng.random() < 0.5 else t + DAY  # one send, or one day
        episodes.append(Episode("unsubscribe", 6, int(rng.choice(n, p=campaign_p)), float(t), float(end),
                                UNSUB_RATE[0] + UNSUB_RATE[1] * float(rng.random())))
    return episodes


def apply_quality(
    rates: np.ndarray, sent: np.ndarray, campaign: np.ndarray, setup: np.ndarray, episodes: list[Episode],
) -> np.ndarray:
    """Apply data-quality episodes to per-request rates ``(n, 3)`` in place; returns the bad-import mask.

    ``sent`` must be sorted ascending. Requests that failed a set-up code are left alone.
    """
    sent = np.asarray(sent)
    imported = np.zeros(sent.size, dtype=bool)
    for episode in episodes:
        if episode.kind == "unsubscribe" and episode.end == episode.start:
            own = np.flatnonzero((campaign[int(np.searchsorted(sent, episode.start)):] == episode.campaign))
            hit = own[:1] + int(np.searchsorted(sent, episode.start))
        else:
            window = _window(sent, episode)
            hit = np.flatnonzero(campaign[window] == episode.campaign) + window.start
        hit = hit[setup[hit] == 0]
        if episode.kind == "import":
            rates[hit, 0] = episode.strength
            imported[hit] = True
        elif episode.kind == "drift":
            progress = (sent[hit] - episode.start) / max(episode.end - episode.start, 1.0)
            rates[hit, 0] += episode.strength * progress
        elif episode.kind == "unsubscribe":
            rates[hit, 2] = np.maximum(rates[hit, 2], episode.strength)
    return imported
