"""Fetching many requests: a plain loop vs. the toolkit vs. the toolkit again (warm cache).

    python bench/fetch.py [--requests 1000] [--latency-ms 50] [--workers 16]

The built-in simulator serves an account on loopback with a fixed latency per call (what
the network to ``api.mailkit.eu`` adds). The loop uses one ``requests.Session`` and calls
``client.results`` per request id; the toolkit is ``fetch_results`` with ``workers``
calls in flight into a fresh cache (rows written, campaigns enriched, frame read back);
the warm re-run asks for the same requests again, which are all final, so it makes no
HTTP call. Exits 1 when the toolkit is less than 8x faster than the loop.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Line, format_table, machine, measure  # noqa: E402

TARGET = 8.0


@contextmanager
def simulator(requests: int, latency_ms: float, folder: Path, *, seed: int = 3, settled_only: bool = True):
    """A running simulator with an account, and the manifest of ``requests`` of its ids.

    ``settled_only``: only requests sent more than an hour ago (final on the first fetch);
    otherwise the account's own ``requests`` requests, as the demo fetches them.
    """
    import pandas as pd

    from mailkit_analysis.demo import simulator_manifest
    from mailkit_analysis.simulator import (
        FaultConfig,
        MailkitSimulator,
        SimulatedAccount,
    )

    account = SimulatedAccount(seed=seed, n_requests=int(requests * 1.1) + 20 if settled_only else requests)
    manifest = simulator_manifest(account)
    cutoff = pd.Timestamp(account.anchor) - pd.Timedelta(hours=1 if settled_only else 0)
    settled = manifest[manifest["sent_at"] <= cutoff]
    settled = settled.sort_values("sent_at").head(requests)
    if len(settled) < requests:
        raise RuntimeError("the simulator account has too few settled requests")
    account.all_rows()  # generate every answer now, so the first way measured is not charged for it
    path = folder / f"manifest-{seed}-{requests}.parquet"
    settled.to_parquet(path)
    with MailkitSimulator(account, faults=FaultConfig(latency_ms=latency_ms)) as sim:
        yield sim, path


def fetch_lines(requests: int, latency_ms: float, workers: int, folder: Path) -> list[Line]:
    """Measure the three ways; one run each (the loop alone takes ``requests x latency``)."""
    with simulator(requests, latency_ms, folder) as (sim, manifest):
        cache = folder / "fetch-cache"
        loop = measure("loop, one Session", "fetch-loop", sim.json_url, manifest)
        sim.reset_count()
        toolkit = measure(f"fetch_results, {workers} workers", "fetch-toolkit", sim.json_url, manifest, cache, workers)
        calls = sim.request_count
        sim.reset_count()
        warm = measure("fetch_results again (warm)", "fetch-toolkit", sim.json_url, manifest, cache, workers)
        warm.note += f"; {sim.request_count} HTTP requests (first run: {calls})"
    task = f"fetch {requests} requests, {latency_ms:g} ms latency"
    return [
        Line(task, loop, toolkit),
        Line(f"{task}, warm cache", loop, warm),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mailkit-bench-") as temp:
        lines = fetch_lines(args.requests, args.latency_ms, args.workers, Path(temp))
    print(format_table(lines, f"mailkit-analysis fetch bench ({machine()})"))
    speedup = lines[0].naive.median / lines[0].toolkit.median
    verdict = "OK" if speedup >= TARGET else "BELOW TARGET"
    print(f"\ntoolkit vs loop: {speedup:.1f}x (target >= {TARGET:g}x): {verdict}")
    return 0 if speedup >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
