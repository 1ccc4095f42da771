"""One model: the simulator's account and the generator draw from simulator.model and agree."""
from __future__ import annotations

import ast
import inspect
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from mailkit_analysis.cache import load_requests, load_results
from mailkit_analysis.simulator import SimulatedAccount, account as account_module, generate, model
from mailkit_analysis.simulator.catalog import SETUP_CODES

ANCHOR = datetime(2024, 11, 20, 12, 0, tzinfo=timezone.utc)
END = "2024-11-20 13:00"


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=3, anchor=ANCHOR, n_requests=3000, days=90)


@pytest.fixture(scope="module")
def account_frame(account):
    """One line per request of the account: campaign, time, size, set-up code and rows per code."""
    later = ANCHOR + timedelta(hours=1)
    failures = account.setup_failures()
    lines = []
    for r in account.requests():
        rows = account.results_for(r.request_id, now=later)[1]
        codes = [row["ERROR_CODE"] for row in rows]
        lines.append({"request_id": r.request_id, "campaign_id": r.campaign_id, "sent_at": r.sent_at,
                      "recipients": r.recipients, "setup": failures.get(r.request_id, 0),
                      **{f"n{c}": codes.count(c) for c in (2, 3, 6)}})
    return pd.DataFrame(lines)


@pytest.fixture(scope="module")
def generated_frame(tmp_path_factory):
    """The same per-request view of a generated cache of the same templates."""
    data = tmp_path_factory.mktemp("model")
    generate.generate_cache(data, 60_000, seed=3, months=3, campaigns=40, end=END)
    requests = load_requests(data).set_index("request_id")
    rows = load_results(data, columns=["request_id", "error_code"])
    counts = rows.groupby(["request_id", "error_code"]).size().unstack(fill_value=0)
    frame = requests[["campaign_id", "sent_at", "recipients"]].copy()
    for c in (2, 3, 6):
        frame[f"n{c}"] = counts.get(c, pd.Series(dtype=int)).reindex(frame.index, fill_value=0)
    setup = counts.reindex(columns=list(SETUP_CODES), fill_value=0)
    frame["setup"] = np.where(setup.reindex(frame.index, fill_value=0).sum(axis=1) > 0,
                              setup.reindex(frame.index, fill_value=0).idxmax(axis=1), 0)
    return frame.reset_index()


def _defined_names(module) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name):
                    names.add(leaf.id.lstrip("_"))
    return names


def test_no_model_constant_is_defined_again():
    shared = {name for name in _defined_names(model) if name.isupper()}
    assert {"HOUR_WEIGHTS", "RATE_MEANS", "CLEAN_REQUEST_SHARE", "CUSTOMERS", "UNKNOWN_CODE_SHARE"} <= shared
    for module in (account_module, generate):
        assert not shared & _defined_names(module), module.__name__


def test_generator_rates_match_the_account(account_frame, generated_frame):
    for frame in (account_frame, generated_frame):
        assert len(frame) > 2000
    def shares(frame):
        ok = frame[frame["setup"] == 0]
        per_request = ok[["n2", "n3", "n6"]].div(ok["recipients"], axis=0)
        return {
            "median_size": ok["recipients"].median(),
            "clean": (ok[["n2", "n3", "n6"]].sum(axis=1) == 0).mean(),
            # a high quantile per request (half the requests report nothing): bad imports and
            # drifts move the means and the tails, not the bulk
            **{code: per_request[code].quantile(0.8) for code in ("n2", "n6")},
            # no episode touches missing addresses: their overall share is the model's
            "n3": ok["n3"].sum() / ok["recipients"].sum(),
            "night": pd.to_datetime(frame["sent_at"], utc=True).dt.tz_convert("Europe/Prague").dt.hour.isin([1, 2, 3, 4]).mean(),
        }
    simulated, generated = shares(account_frame), shares(generated_frame)
    for key in simulated:
        assert generated[key] == pytest.approx(simulated[key], rel=0.3, abs=0.0005), key
    assert simulated["night"] < 0.03 and 0.4 < simulated["clean"] < 0.8


def test_set_up_failures_come_in_runs_in_both(account, account_frame, generated_frame):
    runs = account.failure_runs()
    assert runs and sum(len(r["request_ids"]) for r in runs) == len(account.setup_failures())
    assert set(account.setup_failures().values()) == set(SETUP_CODES)
    for frame in (account_frame, generated_frame):
        frame = frame.sort_values("sent_at")
        failed = frame[frame["setup"] > 0]
        assert 0 < len(failed) < 0.02 * len(frame)
        assert set(failed["setup"]) == set(SETUP_CODES)
        # every failed send of a campaign is followed by a send of it with the same code, or by
        # none, or a good one: runs never interleave codes
        for _, own in frame.groupby("campaign_id"):
            codes = own["setup"].to_numpy()
            changes = codes[1:][(codes[1:] != codes[:-1]) & (codes[1:] > 0) & (codes[:-1] > 0)]
            assert not changes.size


def test_a_large_account_year_has_dozens_of_failure_runs():
    rng = np.random.default_rng(1)
    start, stop = 0, int(365 * 86400)
    account = generate._campaigns(rng, 300)
    episodes = generate.account_episodes(rng, start, stop, account)
    draw = generate.draw_requests(rng, 800_000, start, stop, account, *episodes)
    order = np.lexsort((draw["sent"], draw["campaign"]))
    campaign, codes = draw["campaign"][order], draw["setup"][order]
    starts = (codes > 0) & ((np.r_[0, codes[:-1]] != codes) | (np.r_[-1, campaign[:-1]] != campaign))
    assert 12 <= starts.sum() <= 150  # dozens, not thousands
    assert (codes > 0).sum() > starts.sum()  # some runs are longer than one send


def test_episodes_fail_every_send_of_the_campaign_inside_them():
    sent = np.arange(0, 100 * 3600, 600, dtype=float)
    campaign = np.arange(sent.size) % 3
    episode = model.Episode("broken", 8, 1, 10 * 3600, 20 * 3600)
    codes = model.setup_codes(sent, campaign, [episode])
    inside = (sent >= episode.start) & (sent < episode.end)
    assert (codes[inside & (campaign == 1)] == 8).all()
    assert not codes[~inside | (campaign != 1)].any()
    rates = np.zeros((sent.size, 3))
    drift = model.Episode("drift", 2, 2, 0.0, 100 * 3600, 0.1)
    surge = model.Episode("unsubscribe", 6, 0, 50 * 3600, 50 * 3600, 0.2)
    model.apply_quality(rates, sent, campaign, codes, [drift, surge])
    climbing = rates[campaign == 2, 0]
    assert (np.diff(climbing) > 0).all() and climbing[-1] == pytest.approx(0.1, abs=0.01)
    assert (rates[:, 2] > 0).sum() == 1 and rates[np.flatnonzero(rates[:, 2])[0]].tolist() == [0, 0, 0.2]
