"""A longer fuzz run than the test suite's: mutate the reference payloads and manifests.

Feeds byte-flipped, cut, duplicated and spliced versions of Mailkit's example payloads to
both parsers (JSON and XML-RPC, through to the results table) and of a manifest to the
manifest reader. Only the toolkit's typed errors may come out; anything else is printed
and makes the exit code 1.

    python scripts/fuzz.py --cases 20000 --seed 1
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import pandas as pd

from mailkit_analysis.api.results import parse_results_answer
from mailkit_analysis.api.wire import decode_json_answer, decode_xmlrpc_answer
from mailkit_analysis.cache.manifest import read_manifest
from mailkit_analysis.errors import MailkitError

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "fixtures" / "reference"
MANIFEST = (
    b"request_id,id_send,campaign_id,sent_at,recipients\n"
    b"700001,52001,41001,2026-11-01 10:00:00,120\n"
    b"700002,,41002,2026-11-01T10:05:00+01:00,\n"
)
FETCHED_AT = pd.Timestamp("2026-11-27T00:00:00Z")


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Apply 1-5 random mutations: flip, cut, duplicate a slice, splice random bytes."""
    raw = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        if not raw:
            raw += bytes([rng.randrange(256)])
        pos = rng.randrange(len(raw))
        kind = rng.choice(("flip", "cut", "dup", "insert", "delete"))
        if kind == "flip":
            raw[pos] ^= 1 << rng.randrange(8)
        elif kind == "cut":
            raw = raw[:pos]
        elif kind == "dup":
            end = min(len(raw), pos + rng.randint(1, 200))
            raw[pos:pos] = raw[pos:end]
        elif kind == "insert":
            raw[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            del raw[pos : pos + rng.randint(1, 20)]
    return bytes(raw)


def parse_json(body: bytes) -> None:
    parse_results_answer(decode_json_answer(body), request_id=1, fetched_at=FETCHED_AT)


def parse_xmlrpc(body: bytes) -> None:
    parse_results_answer(decode_xmlrpc_answer(body), request_id=1, fetched_at=FETCHED_AT)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000, help="cases per target")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    seeds = {
        "json": [p.read_bytes() for p in sorted(REFERENCE.glob("response_*.json"))],
        "xmlrpc": [p.read_bytes() for p in sorted(REFERENCE.glob("response_*.xml"))],
        "manifest": [MANIFEST],
    }
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        manifest_path = Path(tmp) / "m.csv"

        def parse_manifest(body: bytes) -> None:
            manifest_path.write_bytes(body)
            read_manifest(manifest_path)

        targets = {"json": parse_json, "xmlrpc": parse_xmlrpc, "manifest": parse_manifest}
        print(f"{'target':<10}{'cases':>8}{'accepted':>10}{'typed errors':>14}{'other':>7}{'seconds':>9}")
        for name, target in targets.items():
            outcome: Counter = Counter()
            started = time.perf_counter()
            for _ in range(args.cases):
                body = mutate(rng.choice(seeds[name]), rng)
                try:
                    target(body)
                    outcome["accepted"] += 1
                except MailkitError:
                    outcome["typed"] += 1
                except Exception:  # the point of the run: anything untyped is a finding
                    outcome["other"] += 1
                    if outcome["other"] <= 3:
                        print(f"--- {name}: untyped error for input {body[:120]!r}", file=sys.stderr)
                        traceback.print_exc()
            failures += outcome["other"]
            print(f"{name:<10}{args.cases:>8}{outcome['accepted']:>10}{outcome['typed']:>14}{outcome['other']:>7}"
                  f"{time.perf_counter() - started:>9.1f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
