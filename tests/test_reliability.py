"""Reliability: a bounded soak through injected faults, and a command-line run with
permanent failures. The figures (requests, faults, retries, rows compared) are printed."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from simhelpers import ANCHOR, settled_manifest, sim_client, snapshot

from mailkit_analysis import RetryPolicy
from mailkit_analysis.cache import load_requests, load_results
from mailkit_analysis.simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_MD5,
    FaultConfig,
    MailkitSimulator,
    SimulatedAccount,
)
from mailkit_analysis.sync.fetch import fetch_results

SOAK_REQUESTS = 2000

#: 20 % of calls go wrong, in every way the simulator knows; each call at most twice.
SOAK_FAULTS = dict(
    error_rate=0.06,
    rate_limit_rate=0.015,
    retry_after_s=1,
    reset_rate=0.04,
    truncate_rate=0.03,
    html_rate=0.03,
    invalid_xml_rate=0.02,
    stall_rate=0.005,
    stall_s=1.5,
    max_faults_per_key=2,
    seed=20261127,
)


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=11, anchor=ANCHOR, n_requests=2150)


@pytest.fixture(scope="module")
def manifest(account):
    frame = settled_manifest(account, SOAK_REQUESTS)
    assert len(frame) == SOAK_REQUESTS
    return frame


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory, account, manifest):
    data = tmp_path_factory.mktemp("fault-free")
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim, sim_client(sim.json_url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(manifest=manifest, data_dir=data, client=client, workers=8)
    assert outcome.ok
    return load_results(data)


@pytest.mark.slow
def test_soak_through_twenty_percent_transient_faults(fault_free, account, manifest, tmp_path):
    permanent = frozenset(int(r) for r in manifest["request_id"].iloc[[7, 700, 1400]])
    faults = FaultConfig(permanent_fail_ids=permanent, **SOAK_FAULTS)
    policy = RetryPolicy(retries=3, backoff_factor=0.01, backoff_max=0.05, connect_timeout=2.0, read_timeout=0.5)
    started = time.perf_counter()
    with MailkitSimulator(account, clock=lambda: ANCHOR, faults=faults) as sim:
        # XML-RPC, so that broken-XML faults are exercised too; the reference run was JSON.
        with sim_client(sim.rpc_url, clock=lambda: ANCHOR, transport="xmlrpc", policy=policy, pool_size=16) as client:
            outcome = fetch_results(manifest=manifest, data_dir=tmp_path, client=client, workers=16)
        http_requests = sim.request_count
        results_calls = sim.counts_by_function.get("mailkit.sendmail_mass.results", 0)
        injected = dict(sim.faults_injected)
    elapsed = time.perf_counter() - started

    got = load_results(tmp_path)
    expected = fault_free[~fault_free["request_id"].isin(permanent)]
    print(
        f"\nsoak: {SOAK_REQUESTS} requests, {http_requests} HTTP requests ({results_calls} results calls, "
        f"{results_calls - SOAK_REQUESTS} of them retries), faults injected {sum(injected.values())} {injected}, "
        f"rows compared {len(got)}, permanent failures {len(outcome.failures)}, {elapsed:.1f}s"
    )
    assert sum(injected.values()) >= 0.15 * SOAK_REQUESTS  # the faults really happened
    assert {f.request_id for f in outcome.failures} == set(permanent)
    assert all("503" in f.reason for f in outcome.failures)
    pd.testing.assert_frame_equal(snapshot(got), snapshot(expected))  # every result once, row for row
    state = load_requests(tmp_path).set_index("request_id")
    assert state.loc[sorted(permanent), "status"].isna().all()
    assert state.loc[sorted(permanent), "last_error"].str.contains("503").all()
    assert int(state["status"].notna().sum()) == SOAK_REQUESTS - len(permanent)
    assert results_calls > SOAK_REQUESTS  # faulted calls were retried, not given up


def test_cli_lists_permanent_failures_keeps_the_rest_and_exits_non_zero(account, manifest, tmp_path):
    small = manifest.head(40)
    permanent = frozenset(int(r) for r in small["request_id"].iloc[[3, 17]])
    path = tmp_path / "requests.csv"
    small.to_csv(path, index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}
    env.update(MAILKIT_CLIENT_ID=str(DEFAULT_CLIENT_ID), MAILKIT_CLIENT_MD5=DEFAULT_CLIENT_MD5)
    faults = FaultConfig(error_rate=0.1, reset_rate=0.05, max_faults_per_key=1, permanent_fail_ids=permanent)
    with MailkitSimulator(account, clock=lambda: ANCHOR, faults=faults) as sim:
        done = subprocess.run(
            [sys.executable, "-m", "mailkit_analysis", "fetch", "--manifest", str(path), "--url", sim.json_url,
             "--data-dir", str(tmp_path / "data"), "--retries", "2", "--settle-minutes", "30"],
            capture_output=True, text=True, env=env, timeout=120,
        )
    assert done.returncode == 1, done.stderr
    assert "2 request(s) could not be fetched" in done.stderr
    for request_id in permanent:
        assert f"request_id={request_id}" in done.stderr
    assert "HTTP 503" in done.stderr
    kept = load_requests(tmp_path / "data")
    assert int(kept["status"].notna().sum()) == len(small) - len(permanent)
