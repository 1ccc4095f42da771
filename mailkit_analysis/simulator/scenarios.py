"""Test accounts with planted incidents: caches whose problems are known in advance.

:func:`incident_quarter` writes a quarter of a year of a large account (40 campaigns, a few
hundred sends a day, ordinary noise of codes 2, 3 and 6 at the model's rates and a small
trickle of the undocumented code 9) with one incident of every kind planted among the noise,
and returns what was planted, so that an incident engine can be tested against the truth:

* ``setup`` (critical): an ongoing run (invalid template, code 8, since yesterday: the
  campaign's latest send still fails), a resolved run (no sender, code 7, a day long, a
  month ago), a faulty deploy (code 4, hours; no send is created), an attachment outage
  (code 1, a few hours) and one isolated failure (code 5);
* ``addresses`` (warning): a bad import, invalid addresses (2) in one campaign on three
  consecutive days;
* ``drift`` (warning): a campaign's invalid-address share climbing over six weeks, to the end;
* ``unsubscribed`` (warning): an unsubscribe surge (6) in one newsletter send, weeks ago;
* ``unknown_code`` (warning): a new code 11 in two campaigns on one day, and the trickle of
  code 9 (undocumented too, so one more warning naming no single campaign);

and a few clean campaigns with a fraction of the usual noise and nothing planted.

>>> planted = incident_quarter("quarter-data", end="2026-11-20 12:00")   # doctest: +SKIP
>>> planted.incidents[["rule", "severity", "campaign_id", "error_code", "status"]]  # doctest: +SKIP
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..paths import CachePaths
from ..prague_time import to_prague_times
from . import model
from .catalog import CAMPAIGNS, UNKNOWN_CODE
from .defaults import DEFAULT_CLIENT_ID
from .generate import (
    GeneratedCache,
    _campaigns,
    _month_bounds,
    _period_end,
    count_rows,
    draw_requests,
    number_requests,
    write_plan,
)

__all__ = ["PlantedIncidents", "incident_quarter", "INCIDENT_COLUMNS"]

#: Length of the quarter, in days.
QUARTER_DAYS = 91
#: Requests of the account over the quarter (about 260 a day).
QUARTER_REQUESTS = 24_000
#: Columns of :attr:`PlantedIncidents.incidents`.
INCIDENT_COLUMNS = ("rule", "severity", "campaign_id", "campaign_name", "error_code", "status",
                    "first_sent", "last_sent", "sends", "recipients")

_HOUR, _DAY = model.HOUR, model.DAY


def _template(name: str) -> int:
    return next(i for i, c in enumerate(CAMPAIGNS) if c.name == name)


# Which campaign carries which incident (positions in the catalogue's campaign list).
_ONGOING = _template("Odeslání zásilky")
_RESOLVED = _template("Obnovení hesla")
_DEPLOY = _template("Potvrzení platby")
_OUTAGE = _template("Faktura za služby")
_ISOLATED = _template("Hodnocení nákupu")
_IMPORT = _template("Registrace – ověření e-mailu")
_DRIFT = _template("Uvítací e-mail")
_UNSUBSCRIBE = _template("Newsletter – Říjen")
_NEW_CODE = (_template("Opuštěný košík"), _template("Doručení zásilky"))
_CLEAN = tuple(_template(n) for n in ("Rezervace termínu", "Připomenutí termínu", "Dvoufázové ověření – kód",
                                        "Vyzvednutí na pobočce"))
#: The code no catalogue knows yet, planted on one day in two campaigns.
NEW_CODE = 11
#: Noise of the clean campaigns, as a share of the model's usual rates.
CLEAN_NOISE = 0.15


@dataclass(frozen=True)
class PlantedIncidents:
    """What :func:`incident_quarter` wrote and planted.

    Attributes
    ----------
    incidents : pandas.DataFrame
        One row per planted incident, columns :data:`INCIDENT_COLUMNS`: ``rule`` (setup,
        addresses, drift, unsubscribed, unknown_code), ``severity`` (critical for set-up
        codes, warning otherwise), ``campaign_id`` (nullable Int64; missing for an unknown
        code, which touches several campaigns), ``campaign_name``, ``error_code``, ``status``
        (``ongoing`` when the latest request of the campaign, or of any campaign an unknown
        code touched, still carries the problem; ``resolved`` otherwise), ``first_sent`` /
        ``last_sent`` (Prague, of the affected requests), ``sends`` (affected requests; with
        codes 4 and 5 Mailkit created no send) and ``recipients`` (affected rows).
    clean_campaigns : tuple of int
        ``campaign_id`` of the campaigns with low noise and nothing planted.
    cache : GeneratedCache
        The files written (rows, requests, sends, first and last row date).
    end : pandas.Timestamp
        End of the quarter (Prague); every send is before it.
    """

    incidents: pd.DataFrame
    clean_campaigns: tuple[int, ...]
    cache: GeneratedCache
    end: pd.Timestamp

    @property
    def start(self) -> pd.Timestamp:
        """Start of the quarter (Prague)."""
        return self.end - pd.Timedelta(days=QUARTER_DAYS)


def incident_quarter(
    data_dir: str | os.PathLike, *, end: str | pd.Timestamp | None = None, seed: int = 7,
) -> PlantedIncidents:
    """Write a quarter of a large account with one incident of every kind planted, and say what.

    Parameters
    ----------
    data_dir : path
        Data folder; the cache goes to ``<data_dir>/cache``, which must not hold one yet.
    end : str or Timestamp, optional
        End of the quarter (naive: Prague time). Default: now, so "the last two days" of a
        check hold the ongoing incident.
    seed : int
        Same seed and end, same files.

    Returns
    -------
    PlantedIncidents

    Raises
    ------
    FileExistsError
        ``<data_dir>/cache`` already holds results or request state.
    """
    started = time.perf_counter()
    period_end = _period_end(end)
    paths = CachePaths.under(data_dir)
    if paths.requests.exists() or (paths.results.is_dir() and any(paths.results.iterdir())):
        raise FileExistsError(f"{paths.root} already holds a cache; write the quarter into an empty data folder")
    stop = int(period_end.timestamp()) - _HOUR  # every row is processed before the end
    start = int((period_end - pd.Timedelta(days=QUARTER_DAYS)).timestamp())
    bounds = _month_bounds(period_end, 4)
    rng = np.random.default_rng(seed)
    account = _campaigns(rng, len(CAMPAIGNS))
    setup_eps, quality_eps = _episodes(period_end, stop)
    draw = draw_requests(rng, QUARTER_REQUESTS, start, stop, account, setup_eps, quality_eps, isolated=False)
    _plant_isolated(draw, period_end)
    _plant_new_code(rng, draw, period_end)
    _quiet_clean_campaigns(draw)
    requests = number_requests(rng, count_rows(rng, draw))
    paths.ensure()
    cache = write_plan(paths, rng, requests, account, bounds, seed=seed, client_id=DEFAULT_CLIENT_ID, started=started)
    incidents = _describe(requests, account, setup_eps, quality_eps)
    clean = tuple(int(account["id"][c]) for c in _CLEAN)
    return PlantedIncidents(incidents=incidents, clean_campaigns=clean, cache=cache, end=period_end)


# --------------------------------------------------------------------------- planting

def _at(period_end: pd.Timestamp, days_before: float, hour: float | None = None) -> float:
    """Epoch seconds ``days_before`` the end, at a Prague hour of that day if given."""
    moment = period_end - pd.Timedelta(days=days_before)
    if hour is not None:
        moment = moment.normalize() + pd.Timedelta(hours=hour)
    return float(moment.timestamp())


def _episodes(period_end: pd.Timestamp, stop: int) -> tuple[list, list]:
    E = model.Episode
    ongoing_start = min(_at(period_end, 1, 9.0), stop - 14 * _HOUR)  # yesterday morning at the latest
    setup = [
        # The fewest sends each run fails: a quiet afternoon must not leave a run of one.
        E("broken", 8, _ONGOING, ongoing_start, stop + _DAY, sends=8),
        E("broken", 7, _RESOLVED, _at(period_end, 31, 8.5), _at(period_end, 30, 10.5), sends=8),
        E("deploy", 4, _DEPLOY, _at(period_end, 52, 13.0), _at(period_end, 52, 16.0), sends=3),
        E("outage", 1, _OUTAGE, _at(period_end, 12, 10.0), _at(period_end, 12, 14.0), sends=3),
    ]
    import_start = _at(period_end, 41, 0.0)
    quality = [
        E("import", 2, _IMPORT, import_start, import_start + 3 * _DAY, 0.25),
        E("drift", 2, _DRIFT, _at(period_end, 42), float(stop) + 1, 0.09),
        E("unsubscribe", 6, _UNSUBSCRIBE, _at(period_end, 35, 9.0), _at(period_end, 35, 9.0), 0.15),
    ]
    return setup, quality


def _first_of(draw: dict, campaign: int, after: float) -> int:
    own = np.flatnonzero((draw["campaign"] == campaign) & (draw["sent"] >= after) & (draw["setup"] == 0))
    return int(own[0])


def _plant_isolated(draw: dict, period_end: pd.Timestamp) -> None:
    """One request with a wrong id_message, on its own (code 5: no send is created)."""
    draw["setup"][_first_of(draw, _ISOLATED, _at(period_end, 70, 11.0))] = 5


def _plant_new_code(rng: np.random.Generator, draw: dict, period_end: pd.Timestamp) -> None:
    """Rows of a code nobody documents (a provider rejecting mail), in the first sends of two campaigns on one day."""
    after = _at(period_end, 20, 8.0)
    for campaign in _NEW_CODE:
        own = np.flatnonzero((draw["campaign"] == campaign) & (draw["sent"] >= after) & (draw["sent"] < after + 12 * _HOUR)
                             & (draw["setup"] == 0))[:3]
        draw["nu"][own] = rng.integers(8, 21, own.size)
        draw["unknown"][own] = NEW_CODE


def _quiet_clean_campaigns(draw: dict) -> None:
    clean = np.isin(draw["campaign"], _CLEAN)
    draw["rates"][clean] *= CLEAN_NOISE
    draw["nu"][clean] = 0


# --------------------------------------------------------------------------- the truth

def _describe(requests: dict, account: dict, setup_eps: list, quality_eps: list) -> pd.DataFrame:
    """One row per planted incident, read back from the request-level arrays that were written."""
    campaign, sent, setup = requests["campaign"], requests["sent"], requests["setup"]
    latest = np.zeros(len(requests["sent"]), dtype=bool)
    latest[[int(np.flatnonzero(campaign == c)[-1]) for c in np.unique(campaign)]] = True
    unknown_rows = requests["nu"]
    planted = []  # (rule, code, campaign position or None, mask of requests, affected rows per request)
    for episode in setup_eps + [model.Episode("isolated", 5, _ISOLATED, 0.0, 0.0)]:
        mask = (setup == episode.code) & (campaign == episode.campaign)
        planted.append(("setup", episode.code, episode.campaign, mask, requests["count"]))
    for episode in quality_eps:
        own = (campaign == episode.campaign) & (setup == 0)
        if episode.kind == "import":
            planted.append(("addresses", 2, episode.campaign, own & requests["surge"], requests["n2"]))
        elif episode.kind == "drift":
            planted.append(("drift", 2, episode.campaign, own & (sent >= episode.start) & (sent < episode.end), requests["n2"]))
        else:
            first = np.zeros_like(own)
            first[int(np.flatnonzero(own & (sent >= episode.start))[0])] = True
            planted.append(("unsubscribed", 6, episode.campaign, first, requests["n6"]))
    for code in (NEW_CODE, UNKNOWN_CODE):
        planted.append(("unknown_code", code, None, (requests["unknown"] == code) & (unknown_rows > 0), unknown_rows))
    rows = []
    for rule, code, position, mask, affected in planted:
        times = to_prague_times(pd.to_datetime(sent[mask], unit="s", utc=True))
        rows.append({
            "rule": rule,
            "severity": "critical" if rule == "setup" else "warning",
            "campaign_id": None if position is None else int(account["id"][position]),
            "campaign_name": None if position is None else account["name"][position],
            "error_code": code,
            "status": "ongoing" if (mask & latest).any() else "resolved",
            "first_sent": times.min(),
            "last_sent": times.max(),
            "sends": int(mask.sum()),
            "recipients": int(affected[mask].sum()),
        })
    frame = pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))
    return frame.astype({"rule": "string", "severity": "string", "campaign_id": "Int64", "campaign_name": "string",
                         "error_code": "int64", "status": "string", "sends": "int64", "recipients": "int64"})
