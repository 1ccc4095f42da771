"""Write a realistic cache of any size, fast: for benchmarks, demos and scale tests.

The rows follow the simulator's model of an e-shop account (:mod:`.model`, which the
simulator's account uses too): its campaign templates and their popularity, recipients per
request, set-up failures as runs (a broken campaign fails every send until it is fixed,
attachment outages last hours, besides rare one-off failures), codes 2/3/6 drawn per
recipient with the model's rates, bad imports, slow drifts of invalid addresses and
unsubscribe surges, a trickle of the undocumented code 9, its INFO texts, Czech addresses
with misspelled and malformed ones among the invalid, and a daily rhythm. Nothing is
generated row by row: request-level draws are expanded with numpy and the columns are built
as arrow arrays, one month at a time, so ten million rows take seconds and bounded memory.

The files are exactly the cache's (:mod:`.cache`): one compacted part per month,
``results/month=YYYY-MM/part-<unique>.parquet``, with the schema version, plus ``requests.parquet``, ``campaigns.parquet``, ``sends.parquet``
and ``account.json``, so every reader of a fetched cache reads a generated one.

>>> generate_cache("big-data", 1_000_000)                  # doctest: +SKIP
GeneratedCache(rows=1000000, requests=..., months=12, ...)

From a shell: ``python -m mailkit_analysis.simulator.generate --rows 1000000 --data-dir DIR``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..atomic import write_parquet_atomic
from ..cache.keyed import requests_table, sends_table
from ..cache.schema import (
    CAMPAIGNS_SCHEMA,
    RESULTS_SCHEMA,
    with_version,
)
from ..cache.account import write_account_record
from ..cache.store import ROW_GROUP_ROWS, new_part_path
from ..cache.tables import write_small_table
from ..codes import CATALOGUE, UNKNOWN
from ..prague_time import PRAGUE, PRAGUE_NAME, to_prague, to_prague_times
from ..paths import CachePaths
from .addresses import AddressBook
from . import model
from .catalog import CAMPAIGNS, INFO_TEXTS, UNKNOWN_CODE
from .defaults import DEFAULT_CLIENT_ID
from .model import CUSTOMERS, MALFORMED_RECORDS, SURGE_RECORDS, TYPO_RECORDS, UNSUBSCRIBED

__all__ = ["GeneratedCache", "generate_cache", "main"]

# Variants that turn the 40 campaign templates into an account of a few hundred campaigns.
_VARIANTS = ("", " – SK", " – EN", " – B2B", " – varianta B", " – HU", " – PL", " – VIP")


@dataclass(frozen=True)
class GeneratedCache:
    """What :func:`generate_cache` wrote.

    Attributes
    ----------
    root : Path
        The cache folder (``<data_dir>/cache``).
    rows : int
        Result rows written.
    requests, sends, campaigns : int
        Rows of ``requests.parquet``, ``sends.parquet``, ``campaigns.parquet``.
    months : int
        Month partitions written.
    first, last : pandas.Timestamp
        Earliest and latest ``date`` (Prague).
    seconds : float
        Wall time taken.
    """

    root: Path
    rows: int
    requests: int
    sends: int
    campaigns: int
    months: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.rows:,} result rows ({self.months} months, {self.first:%Y-%m-%d} .. {self.last:%Y-%m-%d}), "
            f"{self.requests:,} requests, {self.sends:,} sends, {self.campaigns} campaigns "
            f"in {self.root} ({self.seconds:.1f}s)"
            if self.rows
            else f"no rows; {self.requests} requests in {self.root}"
        )


def generate_cache(
    data_dir: str | os.PathLike,
    rows: int,
    *,
    seed: int = 0,
    months: int = 12,
    campaigns: int = 300,
    end: str | pd.Timestamp | None = None,
    client_id: int = DEFAULT_CLIENT_ID,
) -> GeneratedCache:
    """Write a realistic cache of ``rows`` result rows under ``data_dir``.

    Parameters
    ----------
    data_dir : path
        Data folder; the cache goes to ``<data_dir>/cache``, which must not hold a cache yet
        (generated rows never mix with fetched ones).
    rows : int
        Exact number of result rows.
    seed : int
        Same seed, same arguments: the same files.
    months : int
        Requests are spread over this many calendar months before ``end``.
    campaigns : int
        Campaigns of the account (the simulator's 40 templates, in variants).
    end : str or Timestamp, optional
        End of the period (exclusive; naive values are Prague time). Default: now, so the
        newest rows are from the last hours and "last days" windows have data. Pass it
        for files that do not depend on the day they were generated.
    client_id : int
        API ID recorded in ``account.json`` (default: the simulator's).

    Returns
    -------
    GeneratedCache

    Raises
    ------
    FileExistsError
        ``<data_dir>/cache`` already holds results or request state.
    """
    started = time.perf_counter()
    rows, months, campaigns = int(rows), int(months), int(campaigns)
    if rows < 0 or months < 1 or campaigns < 1:
        raise ValueError("rows must be >= 0, months and campaigns >= 1")
    bounds = _month_bounds(_period_end(end), months)
    if bounds[-1] - bounds[0] < 2 * 3600:
        raise ValueError("the period is too short: end it at least two hours after its first month began")
    paths = CachePaths.under(data_dir)
    if paths.requests.exists() or (paths.results.is_dir() and any(paths.results.iterdir())):
        raise FileExistsError(f"{paths.root} already holds a cache; generate into an empty data folder")
    paths.ensure()
    rng = np.random.default_rng(seed)
    account = _campaigns(rng, campaigns)
    requests = _requests(rng, rows, bounds, account)
    return write_plan(paths, rng, requests, account, bounds, seed=seed, client_id=client_id, started=started)


def write_plan(paths: CachePaths, rng: np.random.Generator, requests: dict, account: dict, bounds: np.ndarray,
               *, seed: int, client_id: int, started: float) -> GeneratedCache:
    """Write the cache of a drawn account (every file), from request-level arrays.

    ``requests`` holds what :func:`draw_requests` and :func:`count_rows` return plus the ids
    :func:`number_requests` adds; ``bounds`` are the month starts of the period and its end.
    """
    pools = _AddressPools(seed)
    fetched_at = requests["sent"] + requests["processing"] * 60 + 1800 + rng.integers(60, 3600, len(requests["sent"]))
    written = _write_results(paths, rng, requests, account, pools, fetched_at, bounds)
    _write_small_tables(paths, requests, account, fetched_at)
    write_account_record(paths, client_id)
    rows = int(requests["count"].sum())
    first, last = (None, None) if not rows else (
        to_prague(pd.Timestamp(written[0], unit="s", tz="UTC")),
        to_prague(pd.Timestamp(written[1], unit="s", tz="UTC")),
    )
    return GeneratedCache(
        root=paths.root, rows=rows, requests=len(requests["request_id"]), sends=int((~requests["no_send"]).sum()),
        campaigns=len(account["id"]), months=written[2], first=first, last=last, seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- the account

def _period_end(end) -> pd.Timestamp:
    if end is None:
        return pd.Timestamp.now(tz=PRAGUE).floor("min")
    return to_prague(end)


def _month_bounds(period_end: pd.Timestamp, months: int) -> np.ndarray:
    """Epoch seconds of the Prague month starts covering the period (and the end itself)."""
    last_month = period_end - pd.Timedelta(microseconds=1)
    first = last_month.tz_localize(None).to_period("M") - (months - 1)
    starts = [to_prague((first + k).to_timestamp()) for k in range(months)]
    return np.array([int(s.timestamp()) for s in starts] + [int(period_end.timestamp())], dtype=np.int64)


def _campaigns(rng: np.random.Generator, n: int) -> dict:
    templates = [CAMPAIGNS[i % len(CAMPAIGNS)] for i in range(n)]
    names = []
    for i, template in enumerate(templates):
        round_ = i // len(CAMPAIGNS)
        variant = _VARIANTS[round_ % len(_VARIANTS)] + (f" {round_ // len(_VARIANTS) + 1}" if round_ >= len(_VARIANTS) else "")
        names.append(template.name + variant)
    # Variants are less used than the original, as in a real account.
    popularity = np.array([t.popularity for t in templates]) * rng.uniform(0.6, 1.4, n)
    popularity /= 1 + np.arange(n) // len(CAMPAIGNS)
    return {
        "id": 41000 + np.cumsum(rng.integers(1, 40, n)),
        "name": names,
        "p": popularity / popularity.sum(),
        "median": np.array([t.median_recipients for t in templates], dtype=float),
        "attachment": np.array([t.attachment for t in templates], dtype=bool),
        "rates": model.campaign_rates(rng, n),
    }


def account_episodes(rng: np.random.Generator, start: float, stop: float, account: dict) -> tuple[list, list]:
    """The period's set-up and data-quality episodes, drawn from the model."""
    setup = model.draw_setup_episodes(rng, start, stop, len(account["p"]), account["attachment"], account["p"])
    return setup, model.draw_quality_episodes(rng, start, stop, account["p"])


def _requests(rng: np.random.Generator, rows: int, bounds: np.ndarray, account: dict) -> dict:
    """Request-level draws, as many requests as it takes to report exactly ``rows`` rows.

    Requests are drawn over the whole period and then a random subset is kept, so trimming
    to an exact row count never leaves the last weeks empty.
    """
    # Sent at least an hour before the end, so every row falls inside the period.
    start, stop = int(bounds[0]), int(bounds[-1]) - 3600
    # Episodes belong to the period, not to a draw: the pilot and the real draw share them.
    episodes = account_episodes(rng, start, stop, account)
    # A pilot draw estimates the rows per request, so the real draw is barely too large.
    pilot_rng = np.random.default_rng(rng.integers(2**63))
    pilot = count_rows(pilot_rng, draw_requests(pilot_rng, 20_000, start, stop, account, *episodes))["count"].mean()
    n = max(1000, int(rows / max(pilot, 1.0) * 1.1))
    while True:
        draw = count_rows(rng, draw_requests(rng, n, start, stop, account, *episodes))
        if draw["count"].sum() >= rows:
            break
        n = int(n * 1.5)
    # A random order, in which failed requests rank in the first half: when most requests are
    # kept (a large cache) every failed one is, so trimming never breaks a run of failed sends
    # or loses the only send of a code; a small cache keeps them about twice as often as others.
    key = rng.random(n)
    key[draw["setup"] > 0] *= 0.5
    order = np.argsort(key, kind="stable")
    keep = np.zeros(n, dtype=bool)
    if rows:
        reached = np.cumsum(draw["count"][order])
        cut = int(np.searchsorted(reached, rows))  # first position reaching ``rows``
        keep[order[: cut + 1]] = True  # clean requests in that prefix stay, in proportion
        last = order[cut]
        draw["count"][last] -= int(reached[cut] - rows)  # the last one reports fewer
        if draw["setup"][last]:
            draw["recipients"][last] = draw["count"][last]  # a failed request still fails every recipient
        else:
            _trim_counts(draw, last)
    else:
        keep[order[: min(n, 100)]] = True  # an empty cache still follows a few requests
        for key in ("count", "n2", "n3", "n6", "nu"):
            draw[key][:] = 0
        draw["setup"][:] = 0
    chosen = np.flatnonzero(keep)
    return number_requests(rng, {key: value[chosen] for key, value in draw.items()})


def _trim_counts(draw: dict, i: int) -> None:
    """Make the per-code counts of request ``i`` add up to its (reduced) count."""
    left = int(draw["count"][i])
    for key in ("n2", "n3", "n6", "nu"):
        draw[key][i] = min(int(draw[key][i]), left)
        left -= int(draw[key][i])


def number_requests(rng: np.random.Generator, requests: dict) -> dict:
    """Give drawn requests (in send order) their request ids, send ids and message ids."""
    n = len(requests["sent"])
    requests["request_id"] = 700_000 + np.cumsum(rng.integers(2, 48, n))
    requests["id_send"] = 52_000 + np.cumsum(rng.integers(1, 9, n))
    requests["message_base"] = 400_000_000 + np.concatenate([[0], np.cumsum(requests["recipients"])[:-1]])
    requests["no_send"] = np.isin(requests["setup"], model.NO_SEND_CODES)
    return requests


def draw_requests(rng: np.random.Generator, n: int, start: int, stop: int, account: dict,
                  setup_episodes: list, quality_episodes: list, *, isolated: bool = True) -> dict:
    """Draw ``n`` requests of the period from the model, with the episodes applied (no row counts yet).

    Returns arrays in send order: ``sent`` (epoch s), ``campaign`` (position), ``recipients``,
    ``processing`` (minutes), ``setup`` (code or 0), ``rates`` (n, 3: codes 2, 3, 6), ``surge``
    (a bad import), ``nu`` / ``unknown`` (rows and code of an undocumented code), ``variant``.
    ``isolated=False`` leaves out the one-off failures and the guarantee that every set-up
    code occurs: only the episodes given fail.
    """
    sent = np.sort(model.sample_times(rng, n, start, stop)).astype(np.int64)
    campaign = rng.choice(len(account["p"]), size=n, p=account["p"])
    recipients = model.recipient_counts(account["median"][campaign], rng.standard_normal(n))
    processing = model.processing_minutes(recipients, rng.integers(0, 6, n))
    setup = model.setup_codes(sent, campaign, setup_episodes)
    if isolated:
        setup = np.where(setup > 0, setup, model.isolated_failures(rng, n))
        if n >= 50:
            model.ensure_every_setup_code(rng, sent, campaign, setup, np.arange(n))
    rates = model.draw_rates(rng, account["rates"][campaign])
    surge = model.apply_quality(rates, sent, campaign, setup, quality_episodes)
    return {
        "sent": sent,
        "campaign": campaign,
        "recipients": recipients,
        "setup": setup,
        "processing": processing,
        "rates": rates,
        "surge": surge,
        "nu": np.where(rng.random(n) < model.UNKNOWN_CODE_SHARE, rng.integers(1, 3, n), 0),
        "unknown": np.full(n, UNKNOWN_CODE, dtype=np.int64),
        "variant": rng.integers(0, 2**31, n),
    }


def count_rows(rng: np.random.Generator, draw: dict) -> dict:
    """Draw the rows per code of every request from its rates; adds ``n2``, ``n3``, ``n6``, ``count``.

    A request that failed a set-up code reports one row per recipient and nothing else.
    """
    recipients, rates = draw.pop("recipients"), draw.pop("rates")
    counts = rng.binomial(recipients[:, None], np.minimum(rates, 1.0))
    n2 = counts[:, 0]
    n3 = np.minimum(counts[:, 1], recipients - n2)
    n6 = np.minimum(counts[:, 2], recipients - n2 - n3)
    nu = np.minimum(draw["nu"], recipients - n2 - n3 - n6)
    failed = draw["setup"] > 0
    zero = np.zeros(len(recipients), dtype=np.int64)
    draw.update(
        recipients=recipients,
        n2=np.where(failed, zero, n2), n3=np.where(failed, zero, n3), n6=np.where(failed, zero, n6),
        nu=np.where(failed, zero, nu),
        count=np.where(failed, recipients, n2 + n3 + n6 + nu),
    )
    return draw


class _AddressPools:
    """Every address the rows can carry, built once; rows pick them by index."""

    def __init__(self, seed: int):
        book = AddressBook(seed)
        good = [book.good(i) for i in range(CUSTOMERS)]
        typo = [book.typo(i) for i in range(TYPO_RECORDS)]
        malformed = [book.malformed(i) for i in range(MALFORMED_RECORDS)]
        surge = [book.malformed(i, kind="surge") for i in range(SURGE_RECORDS)]
        self.typo_at = len(good)
        self.malformed_at = self.typo_at + len(typo)
        self.surge_at = self.malformed_at + len(malformed)
        self.blank_at = self.surge_at + len(surge)
        everything = good + typo + malformed + surge + [""]
        self.emails = pa.array(everything, type=pa.string())
        # Invalid addresses get no ID_EMAIL: Mailkit created no record for them.
        ids = [book.email_id(a) for a in good] + [0] * (len(everything) - len(good))
        self.ids = np.array(ids, dtype=np.int64)


# --------------------------------------------------------------------------- the rows

def _write_results(paths, rng, requests, account, pools, fetched_at, bounds) -> tuple[int, int, int]:
    """Write one partition per month; returns (first date, last date, partitions) in epoch s."""
    month_of_request = np.searchsorted(bounds, requests["sent"], side="right") - 1
    labels = [to_prague(pd.Timestamp(b, unit="s", tz="UTC")).strftime("%Y-%m") for b in bounds[:-1]]
    info_texts, info_offsets = _info_table()
    carry: pa.Table | None = None
    first = last = None
    written = 0
    for m in range(len(labels)):
        chosen = np.flatnonzero(month_of_request == m)
        table, dates = _rows(rng, requests, chosen, account, pools, fetched_at, info_texts, info_offsets)
        # A request sent just before midnight at a month's end reports into the next month.
        row_month = np.searchsorted(bounds, dates, side="right") - 1
        later = row_month > m
        parts = [t for t in (carry, table.filter(pa.array(~later)) if later.any() else table) if t is not None and t.num_rows]
        carry = table.filter(pa.array(later)) if later.any() else None
        if not parts:
            continue
        month_table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        # Rows are already in request order: the month is written as one compacted part.
        target = new_part_path(paths.results, labels[m])
        write_parquet_atomic(with_version(month_table), target, row_group_size=ROW_GROUP_ROWS)
        written += 1
        stamps = pc.min_max(month_table.column("date"))
        low, high = stamps["min"].value // 1_000_000, stamps["max"].value // 1_000_000
        first = low if first is None else min(first, low)
        last = high if last is None else max(last, high)
    return first, last, written


def _info_table() -> tuple[pa.Array, np.ndarray]:
    """All INFO texts in one array; offsets[code] is where that code's variants start."""
    texts, offsets = [], np.zeros(max(INFO_TEXTS) + 1, dtype=np.int64)
    for code in range(1, max(INFO_TEXTS) + 1):
        offsets[code] = len(texts)
        texts.extend(INFO_TEXTS.get(code, ("",)))
    return pa.array(texts, type=pa.string()), offsets


def _rows(rng, requests, chosen, account, pools, fetched_at, info_texts, info_offsets):
    counts = requests["count"][chosen]
    total = int(counts.sum())
    if total == 0:
        return RESULTS_SCHEMA.empty_table(), np.array([], dtype=np.int64)
    request = np.repeat(chosen, counts)
    first_row = np.repeat(np.cumsum(counts) - counts, counts)
    j = np.arange(total) - first_row  # position of the row within its request
    count = requests["count"][request]
    setup = requests["setup"][request]
    # Codes in blocks per request (2s, 3s, 6s, 9s), then shuffled within the request.
    n2, n3, n6 = requests["n2"][request], requests["n3"][request], requests["n6"][request]
    code = np.where(j < n2, 2, np.where(j < n2 + n3, 3, np.where(j < n2 + n3 + n6, 6, requests["unknown"][request])))
    code = code[np.argsort(request + rng.random(total), kind="stable")]
    code = np.where(setup > 0, setup, code)

    # Mailkit works through the recipient list in order: a row's slot fixes its time.
    fraction = (j + rng.random(total)) / count
    slot = (fraction * requests["recipients"][request]).astype(np.int64)
    sent = requests["sent"][request]
    setup_offset = 3 + (requests["variant"][request] % 57)  # one mistake fails all at once
    dates = np.where(setup > 0, sent + setup_offset, sent + (fraction * requests["processing"][request] * 60).astype(np.int64))

    pick = rng.integers(0, 2**31, total)
    typo = rng.random(total) < 0.5
    invalid = np.where(requests["surge"][request], pools.surge_at + pick % SURGE_RECORDS,
                       np.where(typo, pools.typo_at + pick % TYPO_RECORDS, pools.malformed_at + pick % MALFORMED_RECORDS))
    address = np.where(code == 2, invalid,
                       np.where(code == 3, pools.blank_at,
                                np.where(code == 6, pick % UNSUBSCRIBED, pick % CUSTOMERS)))
    no_send = requests["no_send"][request]
    message_less = (code == 2) | (code == 3) | no_send
    id_email = np.where(message_less, 0, pools.ids[address])
    id_send_message = np.where(message_less, 0, requests["message_base"][request] + slot)
    variants = np.array([len(INFO_TEXTS[c]) if c in INFO_TEXTS else 1 for c in range(max(INFO_TEXTS) + 1)])
    info = info_offsets[code] + requests["variant"][request] % variants[code]

    campaign = requests["campaign"][request]
    names = pa.array(account["name"], type=pa.string())
    known = np.array(sorted(CATALOGUE), dtype=np.int64)
    code_names = pa.array([CATALOGUE[c].name for c in known.tolist()] + [UNKNOWN.name], type=pa.string())
    name_index = np.where(np.isin(code, known), np.searchsorted(known, code), len(known))
    arrays = {
        "request_id": pa.array(requests["request_id"][request]),
        "id_send": pa.array(requests["id_send"][request], mask=no_send),
        "id_send_message": pa.array(id_send_message, mask=id_send_message == 0),
        "id_email": pa.array(id_email, mask=id_email == 0),
        "email": pools.emails.take(pa.array(address)),
        "error_code": pa.array(code.astype(np.int64)),
        "error_name": code_names.take(pa.array(name_index)),
        "info": info_texts.take(pa.array(info)),
        "date": pa.array(dates * 1_000_000, type=pa.timestamp("us", tz=PRAGUE_NAME)),
        "fetched_at": pa.array(fetched_at[request] * 1_000_000, type=pa.timestamp("us", tz="UTC")),
        "campaign_id": pa.array(account["id"][campaign].astype(np.int64)),
        "campaign_name": names.take(pa.array(campaign)),
    }
    return pa.Table.from_arrays(list(arrays.values()), schema=RESULTS_SCHEMA), dates


# --------------------------------------------------------------------------- small tables

def _utc(seconds: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(seconds, unit="s", utc=True).as_unit("us")


def _write_small_tables(paths: CachePaths, requests: dict, account: dict, fetched_at: np.ndarray) -> None:
    n = len(requests["request_id"])
    fetched = _utc(fetched_at)
    campaign_ids = account["id"][requests["campaign"]]
    state = pd.DataFrame(
        {
            "request_id": requests["request_id"],
            "id_send": pd.array(np.where(requests["no_send"], 0, requests["id_send"]), dtype="Int64"),
            "campaign_id": campaign_ids,
            "sent_at": _utc(requests["sent"]),
            "recipients": requests["recipients"],
            "status": np.where(requests["count"] > 0, "ERROR", "OK"),
            "rows": requests["count"],
            "first_fetched_at": fetched,
            "last_fetched_at": fetched,
            "final": np.ones(n, dtype=bool),
            "last_error": pd.array([None] * n, dtype="string"),
            "last_error_at": pd.Series(pd.NaT, index=range(n), dtype=pd.DatetimeTZDtype("us", "UTC")),
        }
    )
    state["id_send"] = state["id_send"].mask(requests["no_send"])
    requests_table(paths).write_base(state)  # sorted, in row groups a fetch can skip

    has_send = ~requests["no_send"]
    send_times = to_prague_times(pd.to_datetime(requests["sent"][has_send], unit="s", utc=True))
    sends = pd.DataFrame(
        {
            "id_send": requests["id_send"][has_send],
            "campaign_id": campaign_ids[has_send],
            "send_count": requests["recipients"][has_send],
            "send_date": send_times.strftime("%Y-%m-%d %H:%M:%S"),
            # As mailkit.report.campaign gives them: delivered counts, no failed counts.
            "delivered_count": np.maximum(requests["recipients"] - requests["count"], 0)[has_send],
            "failed_count": pd.array([None] * int(has_send.sum()), dtype="Int64"),
            "fetched_at": fetched[has_send],
        }
    )
    sends_table(paths).write_base(sends)
    generated_at = pd.Timestamp(int(fetched_at.max()) if n else 0, unit="s", tz="UTC").as_unit("us")
    listed = pd.DataFrame({"campaign_id": account["id"], "campaign_name": account["name"], "fetched_at": generated_at})
    write_small_table(listed, paths.campaigns, CAMPAIGNS_SCHEMA)


# --------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    """``python -m mailkit_analysis.simulator.generate --rows N --data-dir DIR``: write a cache, print a line."""
    parser = argparse.ArgumentParser(prog="python -m mailkit_analysis.simulator.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="result rows to write")
    parser.add_argument("--data-dir", required=True, help="data folder (the cache goes to DIR/cache; must not exist yet)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--campaigns", type=int, default=300)
    parser.add_argument("--end", default=None, help="end of the period (exclusive, Prague time); default now")
    args = parser.parse_args(argv)
    try:
        made = generate_cache(args.data_dir, args.rows, seed=args.seed, months=args.months,
                              campaigns=args.campaigns, end=args.end)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
