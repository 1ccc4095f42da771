"""What a fetch does not do (issue 13, "fetch overhead"): load machinery it does not use,
write the request state more than once per batch, or read back the rows it has just written."""
from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest
from simhelpers import ANCHOR, settled_manifest, sim_client

from mailkit_analysis.cache import load_requests, load_results
from mailkit_analysis.cache import keyed
from mailkit_analysis.cache.keyed import KeyedTable
from mailkit_analysis.cache.state_file import UPDATES_DIR
from mailkit_analysis.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.fetch import fetch_results

# Loaded by a fetch only when it needs them, which a first fetch of one request with
# --no-enrich does not: the analysis stack, DuckDB, plotting, notebooks and translations
# catalogues' tooling, progress bars (and asyncio under them), arrow's dataset engine.
FORBIDDEN = ("duckdb", "matplotlib", "papermill", "nbclient", "nbconvert", "nbformat", "IPython", "babel",
             "tqdm", "asyncio", "pyarrow.dataset", "mailkit_analysis.analysis", "mailkit_analysis.presentation.plots",
             "mailkit_analysis.presentation.report", "mailkit_analysis.presentation.notebook_helpers")

# Runs the command line in this interpreter, then lists what it imported.
_WRAPPER = """
import sys
from mailkit_analysis.cli import main
code = main(sys.argv[1:])
print("EXIT", code)
print("MODULES", " ".join(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=0, anchor=ANCHOR)


@pytest.fixture(scope="module")
def simulator(account):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        yield sim


def _loaded_by_fetch(url: str, transport: str, request_id: int, data_dir) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}
    env.update({"MAILKIT_CLIENT_ID": str(DEFAULT_CLIENT_ID), "MAILKIT_CLIENT_MD5": DEFAULT_CLIENT_MD5})
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, "fetch", "--request-id", str(request_id), "--transport", transport,
         "--url", url, "--no-enrich", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert "EXIT 0" in done.stdout, done.stderr[-2000:]
    assert DEFAULT_CLIENT_MD5 not in done.stdout + done.stderr
    return next(line for line in done.stdout.splitlines() if line.startswith("MODULES")).split()[1:]


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_a_fetch_process_imports_only_what_it_uses(simulator, account, tmp_path, transport):
    rid = max(account.all_rows(ANCHOR).items(), key=lambda item: len(item[1]))[0]  # rows in several columns
    url = simulator.json_url if transport == "json" else simulator.rpc_url
    loaded = _loaded_by_fetch(url, transport, rid, tmp_path)
    assert "mailkit_analysis.sync.fetch" in loaded and "pyarrow.parquet" in loaded  # it did fetch and write
    assert not [m for m in loaded if m in FORBIDDEN or m.startswith(tuple(f + "." for f in FORBIDDEN))]
    assert load_results(tmp_path, request_ids=[rid]).shape[0] == len(account.all_rows(ANCHOR)[rid])


def test_the_frame_of_a_fetch_is_what_the_cache_then_holds(simulator, account, tmp_path):
    """Built from the written rows instead of read back: the same rows, order and dtypes."""
    manifest = settled_manifest(account, 60)
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        outcome = fetch_results(manifest=manifest, data_dir=tmp_path, client=client, progress=False,
                                enrich=False, flush_every=7, flush_seconds=60)
    assert len(outcome.fetched) == len(manifest)
    read_back = load_results(tmp_path, request_ids=manifest["request_id"])
    pd.testing.assert_frame_equal(outcome.frame, read_back)


def test_a_fetch_writes_the_request_state_once_per_batch(simulator, account, tmp_path, monkeypatch):
    """One write of the state per batch: whole while it is small, else only the changed rows."""
    written = []
    for name in ("stage_update", "stage_fold"):
        original = getattr(KeyedTable, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            if self.key == "request_id":
                written.append(_name)
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(KeyedTable, name, counted)
    manifest = settled_manifest(account, 25)
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        fetch_results(manifest=manifest, data_dir=tmp_path / "one", client=client, progress=False, enrich=False)
    assert written == ["stage_fold"]  # one batch into a new cache: the state is written whole, once
    written.clear()
    # As if the state were big: a base holding more rows than the updates gets updates only.
    monkeypatch.setattr(keyed, "SMALL_TABLE_ROWS", 0)
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        fetch_results(manifest=manifest, data_dir=tmp_path / "three", client=client, progress=False, enrich=False,
                      flush_every=10, flush_seconds=60)
    # 10 + 10 + 5 answers: the first batch makes the base (all 25 requests of the manifest),
    # the next two each add an update holding only their own requests.
    assert written == ["stage_fold", "stage_update", "stage_update"]
    updates = sorted((tmp_path / "three" / "cache" / UPDATES_DIR).glob("*.parquet"))
    assert [pq.read_metadata(p).num_rows for p in updates] == [10, 5]
    state = load_requests(tmp_path / "three")
    assert set(state.loc[state["status"].notna(), "request_id"]) == set(manifest["request_id"])
