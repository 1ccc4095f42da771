"""The main job: fetch results into the cache, summarise them, render the overview report.

Without ``MAILKIT_CLIENT_ID`` / ``MAILKIT_CLIENT_MD5`` the built-in simulator starts on a
free loopback port and the job fetches every request of its demo account over HTTP. With
credentials and a manifest, the same job runs against Mailkit itself. Either way it ends by
rendering ``notebooks/01_error_overview.ipynb`` as an HTML report (addresses masked) and
printing where the report is and how to open the notebooks.
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd

from .api.client import MailkitClient
from .config import Credentials, load_credentials
from .errors import ConfigError
from .presentation.export import format_table
from .sync.concurrent_fetch import DEFAULT_WORKERS
from .sync.fetch import fetch_results

__all__ = ["run_demo", "simulator_manifest"]


def simulator_manifest(account) -> pd.DataFrame:
    """The simulator account's requests as a manifest frame (what a user would keep)."""
    records = account.requests()
    return pd.DataFrame(
        {
            "request_id": [r.request_id for r in records],
            "id_send": [r.id_send for r in records],
            "campaign_id": [r.campaign_id for r in records],
            "sent_at": pd.DatetimeIndex([r.sent_at for r in records]),
            "recipients": [r.recipients for r in records],
        }
    )


def run_demo(args: argparse.Namespace) -> int:
    """Run the main job for the command line; returns the exit code."""
    workers = args.workers or DEFAULT_WORKERS
    credentials = load_credentials(required=False)
    if credentials is not None:
        if not args.manifest:
            raise ConfigError("Credentials are set: give the requests to follow with --manifest FILE")
        outcome = fetch_results(
            manifest=args.manifest, data_dir=args.data_dir, credentials=credentials,
            transport=args.transport, url=args.url, workers=workers,
        )
        source = "Mailkit"
    else:
        from .simulator import (
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_MD5,
            MailkitSimulator,
            SimulatedAccount,
        )

        account = SimulatedAccount(seed=args.seed)
        with MailkitSimulator(account, client_id=DEFAULT_CLIENT_ID, client_md5=DEFAULT_CLIENT_MD5) as sim:
            url = sim.json_url if args.transport == "json" else sim.rpc_url
            print(f"No Mailkit credentials set: using the built-in simulator at {url}", file=sys.stderr)
            creds = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5)
            with MailkitClient(creds, transport=args.transport, url=url, pool_size=max(workers, 4)) as client:
                outcome = fetch_results(
                    manifest=simulator_manifest(account), data_dir=args.data_dir, client=client, workers=workers
                )
        source = "the simulator"
    print(f"{outcome.summary()} (from {source}, over {args.transport})")
    print(format_table(outcome.frame))
    for failure in outcome.failures:
        print(f"  failed: {failure}", file=sys.stderr)
    if not getattr(args, "no_report", False):
        _render_overview(args.data_dir)
    return 1 if outcome.failures else 0


def _render_overview(data_dir) -> None:
    """Render the overview report of the whole cache and say where it and the notebooks are."""
    from .paths import resolve_data_dir
    from .presentation.report import DEFAULT_NOTEBOOK, render_report, skip_unused_schema_formats

    print(f"Rendering the overview report ({DEFAULT_NOTEBOOK}.ipynb) ...", file=sys.stderr, flush=True)
    skip_unused_schema_formats()
    path = render_report(DEFAULT_NOTEBOOK, data_dir=data_dir)
    print(f"\nReport (no code, no credentials, recipient addresses masked): {path}")
    print("Notebooks: make lab   (or: .venv/bin/pip install -e '.[lab]' && .venv/bin/jupyter lab notebooks/)")
    if data_dir is not None:
        print(f"  this cache is not the default one: set data_dir = {str(resolve_data_dir(data_dir))!r} in a notebook's "
              "parameters cell, or export MAILKIT_ANALYSIS_DATA")
