"""One measured step per process: ``python bench/steps.py STEP ARGS...``.

Each step loads its inputs, resets the process's peak-RSS counter (Linux
``/proc/self/clear_refs``), runs the naive or the toolkit's way once, and prints one JSON
line: ``{"seconds": ..., "peak_mb": ..., "children_peak_mb": ..., "note": ...}``. A fresh
process per measurement keeps one way's allocations (arrow pools, DuckDB buffers, pandas
caches) from flattering or burdening the other. :mod:`bench.common` runs these.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

STEPS = {}


def step(name):
    def register(func):
        STEPS[name] = func
        return func
    return register


# --------------------------------------------------------------------------- memory

def _reset_peak() -> bool:
    """Start the peak-RSS counter (VmHWM) afresh, so setup does not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb(reset_worked: bool) -> float:
    if reset_worked:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _measure(func, *args) -> dict:
    reset = _reset_peak()
    started = time.perf_counter()
    note = func(*args)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_mb": round(_peak_mb(reset), 1),
        "children_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "note": note,
    }


# --------------------------------------------------------------------------- parse 100k rows

def _naive_fixes(rows):
    """What one writes by hand: a DataFrame of the rows, then each column put right."""
    import pandas as pd

    from mailkit_analysis.codes import CATALOGUE

    frame = pd.DataFrame(rows)
    out = pd.DataFrame({"request_id": pd.array([1] * len(frame), dtype="Int64")})
    for field in ("ID_SEND", "ID_SEND_MESSAGE", "ID_EMAIL"):
        ids = pd.to_numeric(frame[field]).astype("Int64")
        out[field.lower()] = ids.mask(ids == 0)
    out["email"] = frame["EMAIL"].astype("string")
    out["error_code"] = pd.to_numeric(frame["ERROR_CODE"]).astype("Int64")
    out["error_name"] = out["error_code"].map({c: e.name for c, e in CATALOGUE.items()}).fillna("unknown").astype("string")
    out["info"] = frame["INFO"].astype("string")
    dates = pd.to_datetime(frame["DATE"].replace({"": None}), format="%Y-%m-%d %H:%M:%S")
    out["date"] = dates.dt.tz_localize("Europe/Prague", ambiguous="NaT", nonexistent="shift_forward")
    out["fetched_at"] = pd.Timestamp.now(tz="UTC")
    return out


@step("parse-naive-json")
def parse_naive_json(path):
    import json

    body = Path(path).read_bytes()

    def run():
        frame = _naive_fixes(json.loads(body)["results"])
        return f"{len(frame)} rows"
    return _measure(run)


@step("parse-naive-xmlrpc")
def parse_naive_xmlrpc(path):
    import xmlrpc.client

    body = Path(path).read_bytes()

    def run():
        (answer,), _ = xmlrpc.client.loads(body)
        frame = _naive_fixes(answer["results"])
        return f"{len(frame)} rows"
    return _measure(run)


def _toolkit_parse(path, decode):
    import pandas as pd

    from mailkit_analysis.api.results import parse_results_answer

    body = Path(path).read_bytes()
    fetched = pd.Timestamp.now(tz="UTC")

    def run():
        frame = parse_results_answer(decode(body, request_id=1), request_id=1, fetched_at=fetched).frame
        return f"{len(frame)} rows"
    return _measure(run)


@step("parse-toolkit-json")
def parse_toolkit_json(path):
    from mailkit_analysis.api.wire import decode_json_answer

    return _toolkit_parse(path, decode_json_answer)


@step("parse-toolkit-xmlrpc")
def parse_toolkit_xmlrpc(path):
    from mailkit_analysis.api.wire import decode_xmlrpc_results

    return _toolkit_parse(path, decode_xmlrpc_results)


# --------------------------------------------------------------------------- fetch

def _client(url, **kwargs):
    from mailkit_analysis import Credentials, MailkitClient
    from mailkit_analysis.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5

    return MailkitClient(Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5), url=url, **kwargs)


@step("fetch-loop")
def fetch_loop(url, manifest):
    """One session, one ``client.results`` after the other, frames concatenated."""
    import pandas as pd

    ids = pd.read_parquet(manifest)["request_id"].astype(int).tolist()
    client = _client(url)

    def run():
        frames = [client.results(request_id).frame for request_id in ids]
        frame = pd.concat(frames, ignore_index=True)
        return f"{len(ids)} requests, {len(frame)} rows"
    try:
        return _measure(run)
    finally:
        client.close()


@step("fetch-toolkit")
def fetch_toolkit(url, manifest, data_dir, workers):
    """``fetch_results`` into the cache: bounded concurrency, writes, enrichment, read back."""
    import pandas as pd

    from mailkit_analysis.sync.fetch import fetch_results

    frame = pd.read_parquet(manifest)
    workers = int(workers)
    client = _client(url, pool_size=max(workers, 4))

    def run():
        outcome = fetch_results(manifest=frame, data_dir=data_dir, client=client, workers=workers, progress=False)
        if outcome.failures:
            raise SystemExit(f"fetch failed: {outcome.failures[:3]}")
        return f"{len(outcome.fetched)} fetched, {outcome.from_cache} from cache, {len(outcome.frame)} rows"
    try:
        return _measure(run)
    finally:
        client.close()


# --------------------------------------------------------------------------- one large answer, whole process

_NAIVE = {
    "json": """
import json, sys
import pandas as pd
import requests
url, out, client_id, md5 = sys.argv[1:5]
body = {"function": "mailkit.sendmail_mass.results", "id": client_id, "md5": md5, "parameters": {"request_id": 1}}
answer = requests.post(url, data=json.dumps(body), timeout=300)
pd.DataFrame(json.loads(answer.content)["results"]).to_parquet(out)
""",
    "xmlrpc": """
import sys, xmlrpc.client
import pandas as pd
import requests
url, out, client_id, md5 = sys.argv[1:5]
call = xmlrpc.client.dumps((int(client_id), md5, 0, 1), "mailkit.sendmail_mass.results")
answer = requests.post(url, data=call, headers={"Content-Type": "text/xml"}, timeout=300)
(result,), _ = xmlrpc.client.loads(answer.content)
pd.DataFrame(result["results"]).to_parquet(out)
""",
}


def _credentials():
    from mailkit_analysis.simulator.defaults import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5

    return str(DEFAULT_CLIENT_ID), DEFAULT_CLIENT_MD5


@step("answer-naive")
def answer_naive(transport, url, out):
    """The naive script as its own process: requests + json (or xmlrpc.client) + pandas + to_parquet."""
    import subprocess

    client_id, md5 = _credentials()

    def run():
        subprocess.run([sys.executable, "-c", _NAIVE[transport], url, out, client_id, md5], check=True)
        return f"{Path(out).stat().st_size / 1e6:.1f} MB of parquet"
    return _measure(run)


@step("answer-toolkit")
def answer_toolkit(transport, url, data_dir):
    """``mailkit-analysis fetch --no-enrich`` as its own process, into an empty cache."""
    import os
    import subprocess

    client_id, md5 = _credentials()
    script = Path(sys.executable).with_name("mailkit-analysis")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mailkit_analysis"]
    env = {**os.environ, "MAILKIT_CLIENT_ID": client_id, "MAILKIT_CLIENT_MD5": md5}

    def run():
        done = subprocess.run([*command, "fetch", "--request-id", "1", "--transport", transport, "--url", url,
                               "--no-enrich", "--data-dir", data_dir], check=True, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return done.stderr.strip().splitlines()[-1]
    return _measure(run)


# --------------------------------------------------------------------------- the cache's layout

@step("read-month")
def read_month(data_dir, month):
    """``load_results`` of one month (every column, filled), as a notebook reads it."""
    import pandas as pd

    from mailkit_analysis.cache import load_results

    since = pd.Timestamp(f"{month}-01")
    until = (since + pd.offsets.MonthBegin(1)) - pd.Timedelta(days=1)

    def run():
        frame = load_results(data_dir, since=since.strftime("%Y-%m-%d"), until=until.strftime("%Y-%m-%d"))
        parts = len(list((Path(data_dir) / "cache" / "results" / f"month={month}").glob("part-*.parquet")))
        return f"{len(frame)} rows from {parts} part(s)"
    return _measure(run)


# --------------------------------------------------------------------------- summaries

def _read_everything(data_dir):
    import pandas as pd

    return pd.read_parquet(Path(data_dir) / "cache" / "results")


@step("days-naive")
def days_naive(data_dir):
    """Read every row, then a groupby by Prague day and code."""
    def run():
        frame = _read_everything(data_dir)
        day = frame["date"].dt.tz_convert("Europe/Prague").dt.floor("D", ambiguous=True, nonexistent="shift_forward")
        table = frame.groupby([day, "error_code"]).size().unstack(fill_value=0)
        return f"{len(frame)} rows -> {table.shape[0]} days x {table.shape[1]} codes"
    return _measure(run)


@step("days-toolkit")
def days_toolkit(data_dir):
    from mailkit_analysis.analysis.aggregate import (
        counts_over_time_from_cache,
    )

    def run():
        table = counts_over_time_from_cache(data_dir, freq="D")
        return f"{table.shape[0]} days x {table.shape[1]} codes"
    return _measure(run)


@step("campaigns-naive")
def campaigns_naive(data_dir):
    """Read every row, then per-campaign counts, distinct requests/sends and codes."""
    def run():
        frame = _read_everything(data_dir)
        grouped = frame.groupby("campaign_id", dropna=False)
        table = grouped.agg(
            campaign_name=("campaign_name", "first"), errors=("request_id", "size"),
            requests=("request_id", "nunique"), sends=("id_send", "nunique"),
            first_seen=("date", "min"), last_seen=("date", "max"),
        ).join(frame.groupby(["campaign_id", "error_code"]).size().unstack(fill_value=0).add_prefix("code_"))
        return f"{len(frame)} rows -> {len(table)} campaigns"
    return _measure(run)


@step("campaigns-toolkit")
def campaigns_toolkit(data_dir):
    from mailkit_analysis.analysis.aggregate import by_campaign_from_cache

    def run():
        table = by_campaign_from_cache(data_dir, rates=False)
        return f"{len(table)} campaigns"
    return _measure(run)


@step("rates-pandas")
def rates_pandas(data_dir):
    """The in-memory toolkit: load_results, then analysis.by_campaign with denominators."""
    from mailkit_analysis.analysis import summaries as analysis
    from mailkit_analysis.cache import load_requests, load_results, load_sends

    def run():
        table = analysis.by_campaign(load_results(data_dir), sends=load_sends(data_dir),
                                     recipients=load_requests(data_dir))
        return f"{len(table)} campaigns, {int(table['recipients'].notna().sum())} with rates"
    return _measure(run)


@step("rates-toolkit")
def rates_toolkit(data_dir):
    from mailkit_analysis.analysis.aggregate import by_campaign_from_cache

    def run():
        table = by_campaign_from_cache(data_dir)
        return f"{len(table)} campaigns, {int(table['recipients'].notna().sum())} with rates"
    return _measure(run)


# --------------------------------------------------------------------------- report

@step("report")
def report(data_dir, output):
    from mailkit_analysis.presentation.report import render_report

    def run():
        path = render_report(data_dir=data_dir, output=output, progress=False)
        return f"{Path(path).stat().st_size / 1e6:.1f} MB of HTML"
    return _measure(run)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in STEPS:
        print(f"usage: steps.py {{{','.join(STEPS)}}} ARGS...", file=sys.stderr)
        return 2
    print(json.dumps(STEPS[argv[0]](*argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
