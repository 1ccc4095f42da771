"""Synthetic results frames for the analysis, flag and chart tests.

:class:`ResultsBuilder` makes small frames with known numbers: a steady background of
invalid (2) and unsubscribed (6) rows, plus incidents planted on purpose (a send that fails
on a missing attachment, an invalid template, a surge of invalid addresses, a typo-domain
cluster, an unknown code) and a non-incident (a large send with the usual rates). It also
returns the denominators (``sends_frame``, ``recipients_frame``) that the planted sends
imply, so rates can be checked by hand.

:func:`big_frame` makes a million rows over 300 campaigns with numpy in about a second,
for the charts' scale tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from mailkit_analysis.codes import lookup
from mailkit_analysis.frame import conform
from mailkit_analysis.prague_time import PRAGUE

START = pd.Timestamp("2024-03-04 00:00", tz=PRAGUE)  # a Monday
FETCHED_AT = pd.Timestamp("2024-06-30 12:00", tz="UTC")
GOOD_DOMAINS = ("seznam.cz", "gmail.com", "email.cz", "centrum.cz", "post.cz")
INFO = {1: "url return null", 2: "neplatný formát e-mailové adresy", 3: "chybí e-mailová adresa",
        4: "missing mailinglist_id", 5: "neplatné id_message", 6: "příjemce je odhlášen",
        7: "kampaň nemá nastavenou odesílací adresu", 8: "neplatný soubor šablony",
        9: "adresa je na seznamu blokovaných adres"}


@dataclass(frozen=True)
class PlantedSend:
    """One send (or failed request) of a synthetic frame."""

    id_send: int | None
    request_id: int
    campaign_id: int
    campaign_name: str
    at: pd.Timestamp
    recipients: int


class ResultsBuilder:
    """Build a results frame send by send.

    Parameters
    ----------
    start : pandas.Timestamp
        Day 0 (Prague midnight).
    seed : int
        Seed of the background noise.
    """

    def __init__(self, start: pd.Timestamp = START, seed: int = 0):
        self.start = start
        self.rng = np.random.default_rng(seed)
        self.sends: list[PlantedSend] = []
        self._rows: list[dict] = []
        self._next_send = 50_000
        self._next_request = 1_000
        self._next_person = 0

    # -- sends and rows ------------------------------------------------------------------
    def send(self, campaign_id: int, campaign_name: str, day: int, recipients: int,
             hour: int = 10, creates_send: bool = True) -> PlantedSend:
        """Register a send made on ``day`` (0-based) at ``hour``."""
        self._next_request += 1
        id_send = None
        if creates_send:
            self._next_send += 1
            id_send = self._next_send
        at = self.start + pd.Timedelta(days=day, hours=hour)
        planted = PlantedSend(id_send, self._next_request, campaign_id, campaign_name, at, recipients)
        self.sends.append(planted)
        return planted

    def errors(self, send: PlantedSend, code: int, n: int, emails=None, info: str | None = None) -> "ResultsBuilder":
        """Add ``n`` error rows of ``code`` to ``send``, a few seconds apart."""
        if emails is None:
            emails = [self._address(code) for _ in range(n)]
        for i, email in enumerate(emails[:n]):
            self._next_person += 1
            self._rows.append(
                {
                    "request_id": send.request_id,
                    "id_send": send.id_send,
                    "id_send_message": None if send.id_send is None else send.id_send * 10_000 + len(self._rows),
                    "id_email": None if code == 3 else 1_000_000 + self._next_person,
                    "email": email,
                    "error_code": code,
                    "error_name": lookup(code).name,
                    "info": INFO.get(code, "") if info is None else info,
                    "date": send.at + pd.Timedelta(seconds=2 * i),
                    "fetched_at": FETCHED_AT,
                    "campaign_id": send.campaign_id,
                    "campaign_name": send.campaign_name,
                }
            )
        return self

    def _address(self, code: int, domain: str | None = None) -> str:
        self._next_person += 1
        person = self._next_person
        domain = domain or GOOD_DOMAINS[person % len(GOOD_DOMAINS)]
        if code == 3:
            return ""
        if code == 2:  # malformed, but on a well-known domain: no typo to find
            return (f"user{person}@@{domain}", f"user {person}@{domain}", f"user{person}{domain}")[person % 3]
        return f"user{person}@{domain}"

    # -- a steady background -------------------------------------------------------------
    def background(self, campaigns: dict[int, str], days: int = 28, sends_per_day: int = 2,
                   recipients: int = 500, rates: dict[int, float] | None = None) -> "ResultsBuilder":
        """Every campaign sends ``sends_per_day`` times a day with binomial noise on each code."""
        for day in range(days):
            for campaign_id, name in campaigns.items():
                for k in range(sends_per_day):
                    self._usual_errors(self.send(campaign_id, name, day, recipients, hour=8 + 4 * k), rates)
        return self

    def _usual_errors(self, send: PlantedSend, rates: dict[int, float] | None) -> None:
        for code, rate in ({2: 0.01, 6: 0.02} if rates is None else rates).items():
            self.errors(send, code, int(self.rng.binomial(send.recipients, rate)))

    # -- not incidents -------------------------------------------------------------------
    def large_send(self, campaign_id: int, name: str, day: int, recipients: int,
                   rates: dict[int, float] | None = None, hour: int = 14) -> PlantedSend:
        """A send of unusual size with the background's per-recipient rates: more rows of
        every code, and no problem."""
        send = self.send(campaign_id, name, day, recipients, hour=hour)
        self._usual_errors(send, rates)
        return send

    # -- planted incidents ---------------------------------------------------------------
    def missing_attachment(self, campaign_id: int, name: str, day: int, recipients: int = 240) -> PlantedSend:
        """A send in which every recipient failed with code 1 (INFO "url return null")."""
        send = self.send(campaign_id, name, day, recipients, hour=11)
        self.errors(send, 1, recipients)
        return send

    def invalid_template(self, campaign_id: int, name: str, day: int, recipients: int = 120) -> PlantedSend:
        """A send in which every recipient failed with code 8."""
        send = self.send(campaign_id, name, day, recipients, hour=15)
        self.errors(send, 8, recipients)
        return send

    def request_failure(self, campaign_id: int, name: str, day: int, code: int = 4,
                        recipients: int = 80) -> PlantedSend:
        """A request that failed before a send existed (id_send NA)."""
        send = self.send(campaign_id, name, day, recipients, hour=9, creates_send=False)
        self.errors(send, code, recipients)
        return send

    def address_surge(self, campaign_id: int, name: str, day: int, n: int = 400,
                      recipients: int = 2000) -> PlantedSend:
        """One send with ``n`` invalid addresses (code 2) on ordinary domains."""
        send = self.send(campaign_id, name, day, recipients, hour=13)
        self.errors(send, 2, n)
        return send

    def typo_cluster(self, campaign_id: int, name: str, day: int, domain: str = "gmial.com",
                     n: int = 60, recipients: int = 500) -> PlantedSend:
        """One send with ``n`` code-2 rows whose addresses use a misspelled domain."""
        send = self.send(campaign_id, name, day, recipients, hour=16)
        emails = [f"person{i}.x@{domain}" for i in range(n)]
        self.errors(send, 2, n, emails=emails)
        return send

    def unknown_code(self, campaign_id: int, name: str, day: int, code: int = 9, n: int = 5,
                     recipients: int = 300) -> PlantedSend:
        """A send with ``n`` rows of a code the catalogue does not know."""
        send = self.send(campaign_id, name, day, recipients, hour=17)
        self.errors(send, code, n)
        return send

    # -- outputs -------------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """The results frame (contract dtypes)."""
        return conform(pd.DataFrame(self._rows))

    def sends_frame(self) -> pd.DataFrame:
        """Denominators per send, as ``report_campaign`` gives them (no request-level failures)."""
        made = [s for s in self.sends if s.id_send is not None]
        return pd.DataFrame(
            {
                "campaign_id": pd.array([s.campaign_id for s in made], dtype="Int64"),
                "id_send": pd.array([s.id_send for s in made], dtype="Int64"),
                "send_count": pd.array([s.recipients for s in made], dtype="Int64"),
                "send_date": pd.array([s.at.strftime("%Y-%m-%d %H:%M:%S") for s in made], dtype="string"),
            }
        )

    def recipients_frame(self) -> pd.DataFrame:
        """Denominators per request, like the request manifest."""
        return pd.DataFrame(
            {
                "request_id": pd.array([s.request_id for s in self.sends], dtype="Int64"),
                "id_send": pd.array([s.id_send for s in self.sends], dtype="Int64"),
                "campaign_id": pd.array([s.campaign_id for s in self.sends], dtype="Int64"),
                "sent_at": pd.DatetimeIndex([s.at for s in self.sends]).tz_convert("UTC").as_unit("us"),
                "recipients": pd.array([s.recipients for s in self.sends], dtype="Int64"),
            }
        )


BACKGROUND_CAMPAIGNS = {101: "Potvrzení objednávky", 102: "Faktura", 103: "Newsletter", 104: "Obnovení hesla"}


def clean_builder(days: int = 28, seed: int = 0) -> ResultsBuilder:
    """Only the steady code-2/code-6 background on four campaigns."""
    return ResultsBuilder(seed=seed).background(BACKGROUND_CAMPAIGNS, days=days)


def incident_builder(seed: int = 0) -> tuple[ResultsBuilder, dict[str, PlantedSend]]:
    """The clean background plus one of each planted incident, and the planted sends by name."""
    builder = clean_builder(seed=seed)
    planted = {
        "attachment": builder.missing_attachment(102, "Faktura", day=20, recipients=240),
        "template": builder.invalid_template(104, "Obnovení hesla", day=22, recipients=120),
        "request": builder.request_failure(101, "Potvrzení objednávky", day=23, code=4, recipients=80),
        "surge": builder.address_surge(103, "Newsletter", day=25, n=400, recipients=2000),
        "typos": builder.typo_cluster(101, "Potvrzení objednávky", day=26, domain="gmial.com", n=60),
        "unknown": builder.unknown_code(104, "Obnovení hesla", day=27, code=9, n=5),
    }
    return builder, planted


# ------------------------------------------------------------------------------ scale

def _strings(pool, index: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``pool[index]`` as a pandas string array, via arrow (100x faster than from objects)."""
    dictionary = pa.array(list(pool), type=pa.large_string())
    taken = pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), dictionary)
    return pd.array(taken.cast(pa.large_string()), dtype="string")


def big_frame(n: int = 1_000_000, campaigns: int = 300, days: int = 90, seed: int = 0) -> pd.DataFrame:
    """A million-row results frame over ``campaigns`` campaigns, built with numpy.

    Campaign popularity is Zipf-like; most rows are codes 6 and 2, with some 3, a rare
    unknown 9, and 30 sends that fail entirely on a set-up code (4 and 5 without id_send).
    """
    rng = np.random.default_rng(seed)
    n_sends = 20_000
    weights = 1.0 / np.arange(1, campaigns + 1) ** 1.1
    send_campaign = rng.choice(campaigns, size=n_sends, p=weights / weights.sum()) + 1
    send_time = START.value // 1000 + rng.integers(0, days * 86_400, size=n_sends) * 1_000_000  # µs
    row_send = rng.integers(0, n_sends, size=n)
    codes = rng.choice(np.array([6, 2, 3, 9]), size=n, p=[0.6, 0.33, 0.066, 0.004])
    failed = rng.choice(n_sends, size=30, replace=False)
    failed_code = dict(zip(failed.tolist(), rng.choice([1, 4, 5, 7, 8], size=30).tolist()))
    is_failed = np.isin(row_send, failed)
    codes[is_failed] = pd.Series(row_send[is_failed]).map(failed_code).to_numpy()
    id_send = pd.array(100_000 + row_send, dtype="Int64")
    id_send[is_failed & np.isin(codes, [4, 5])] = pd.NA

    pool_size = 60_000
    domains = GOOD_DOMAINS + ("gmial.com", "seznam.cy", "firma.cz")
    pool_domains = rng.choice(len(domains), size=pool_size, p=[0.3, 0.25, 0.15, 0.1, 0.1, 0.04, 0.03, 0.03])
    pool = [f"u{i}@{domains[d]}" for i, d in enumerate(pool_domains)] + [""]
    email_index = rng.integers(0, pool_size, size=n)
    email_index[codes == 3] = pool_size  # the empty address
    campaign = send_campaign[row_send]
    names = [f"Kampaň {c:03d}" for c in range(campaigns + 1)]
    dates = send_time[row_send] + rng.integers(0, 600, size=n) * 1_000_000
    frame = pd.DataFrame(
        {
            "request_id": pd.array(500_000 + row_send, dtype="Int64"),
            "id_send": id_send,
            "id_send_message": pd.array(np.arange(1, n + 1), dtype="Int64"),
            "id_email": pd.array(1_000_000 + rng.integers(0, pool_size, size=n), dtype="Int64"),
            "email": _strings(pool, email_index),
            "error_code": pd.array(codes, dtype="Int64"),
            "error_name": _strings([lookup(c).name for c in range(10)], codes),
            "info": _strings([INFO.get(c, "") for c in range(10)], codes),
            "date": pd.to_datetime(dates, unit="us", utc=True).tz_convert(PRAGUE).as_unit("us"),
            "fetched_at": pd.DatetimeIndex(np.full(n, FETCHED_AT.value // 1000), dtype="datetime64[us]")
            .tz_localize("UTC"),
            "campaign_id": pd.array(campaign, dtype="Int64"),
            "campaign_name": _strings(names, campaign),
        }
    )
    return conform(frame)


def big_sends(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Denominators for :func:`big_frame`: each send had 20 times its error rows, at least 50."""
    rows = frame.dropna(subset=["id_send"]).groupby("id_send").agg(
        campaign_id=("campaign_id", "first"), errors=("error_code", "size"))
    return pd.DataFrame(
        {
            "id_send": rows.index.astype("Int64"),
            "campaign_id": rows["campaign_id"].astype("Int64").to_numpy(),
            "send_count": pd.array(np.maximum(rows["errors"].to_numpy() * 20, 50), dtype="Int64"),
        }
    )
