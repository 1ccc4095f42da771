"""The command line as a user runs it: real processes against the simulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from simhelpers import ANCHOR, settled_manifest, sim_client

from mailkit_analysis.codes import SETUP_CODES
from mailkit_analysis.frame import RESULT_COLUMNS
from mailkit_analysis.simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_MD5,
    MailkitSimulator,
    SimulatedAccount,
)
from mailkit_analysis.sync.fetch import fetch_results

WRONG_MD5 = "0123456789abcdef-wrong-md5-value"


def run_cli(*args, env_extra=None, cwd=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "mailkit_analysis", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
    )


@pytest.fixture(scope="module")
def account():
    return SimulatedAccount(seed=0, anchor=ANCHOR)  # the default demo account


@pytest.fixture(scope="module")
def simulator(account):
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        yield sim


@pytest.fixture(scope="module")
def filled(tmp_path_factory, simulator, account):
    data = tmp_path_factory.mktemp("cli-cache")
    with sim_client(simulator.json_url, clock=lambda: ANCHOR) as client:
        fetch_results(manifest=settled_manifest(account), data_dir=data, client=client, workers=8)
    return data


def sim_env():
    return {"MAILKIT_CLIENT_ID": str(DEFAULT_CLIENT_ID), "MAILKIT_CLIENT_MD5": DEFAULT_CLIENT_MD5}


@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_fetch_prints_counts_by_code(simulator, account, tmp_path, transport):
    ids = [str(r) for r in list(account.setup_failures())[:2]]
    url = simulator.json_url if transport == "json" else simulator.rpc_url
    args = ["fetch", "--transport", transport, "--url", url, "--data-dir", str(tmp_path)]
    for r in ids:
        args += ["--request-id", r]
    done = run_cli(*args, env_extra=sim_env())
    assert done.returncode == 0, done.stderr
    assert "error_code" in done.stdout and "error rows in 2 requests" in done.stdout
    codes = {account.setup_failures()[int(r)] for r in ids}
    for code in codes:
        assert any(line.split()[:1] == [str(code)] for line in done.stdout.splitlines())


def test_fetch_json_and_csv_rows(simulator, account, tmp_path):
    rid = str(next(iter(account.setup_failures())))
    base = ["fetch", "--url", simulator.json_url, "--data-dir", str(tmp_path), "--request-id", rid]
    as_json = run_cli(*base, "--format", "json", env_extra=sim_env())
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    expected = account.results_for(int(rid), now=ANCHOR)[1]
    assert len(rows) == len(expected) > 0
    assert list(rows[0]) == RESULT_COLUMNS
    assert rows[0]["date"].endswith(("+01:00", "+02:00")) and rows[0]["fetched_at"].endswith("+00:00")
    as_csv = run_cli(*base, "--format", "csv", "--offline", env_extra=sim_env())
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines()[0].split(",") == RESULT_COLUMNS
    assert len(as_csv.stdout.splitlines()) == len(expected) + 1


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("transport", ["json", "xmlrpc"])
def test_wrong_md5_exits_non_zero_with_one_line_and_never_prints_it(simulator, tmp_path, transport, debug):
    url = simulator.json_url if transport == "json" else simulator.rpc_url
    args = ["fetch", "--request-id", "700001", "--transport", transport, "--url", url, "--data-dir", str(tmp_path)]
    if debug:
        args.append("--debug")
    done = run_cli(*args, env_extra={"MAILKIT_CLIENT_ID": str(DEFAULT_CLIENT_ID), "MAILKIT_CLIENT_MD5": WRONG_MD5})
    assert done.returncode != 0
    assert WRONG_MD5 not in done.stdout + done.stderr
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert "Unauthorized" in error_lines[0] and "Profile / Integration" in error_lines[0]
    if not debug:
        assert "Traceback" not in done.stderr and done.stderr.strip() == error_lines[0]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert WRONG_MD5.encode() not in path.read_bytes()


def test_missing_credentials_is_one_clear_line(tmp_path):
    done = run_cli("fetch", "--request-id", "1", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip().startswith("error: No Mailkit credentials")
    assert "Profile / Integration" in done.stderr


def _window_around(moment: pd.Timestamp) -> tuple[str, str]:
    day = moment.tz_convert("Europe/Prague").strftime("%Y-%m-%d")
    return day, day


def test_check_exits_1_on_a_setup_error_and_0_on_a_clean_window(filled, account):
    records = {r.request_id: r for r in account.requests()}
    failure_days = {
        pd.Timestamp(records[r].sent_at).tz_convert("Europe/Prague").normalize()
        for r, code in account.setup_failures().items() if code in SETUP_CODES
    }
    failing_day = sorted(failure_days)[0]
    since, until = failing_day.strftime("%Y-%m-%d"), failing_day.strftime("%Y-%m-%d")
    bad = run_cli("check", "--data-dir", str(filled), "--since", since, "--until", until)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert bad.stdout.startswith("CRITICAL") and "remedy:" in bad.stdout

    all_days = pd.date_range(ANCHOR - pd.Timedelta(days=89), ANCHOR - pd.Timedelta(days=1), freq="D", tz="UTC")
    clean = next(d.tz_convert("Europe/Prague").normalize() for d in all_days
                 if d.tz_convert("Europe/Prague").normalize() not in failure_days)
    day = clean.strftime("%Y-%m-%d")
    good = run_cli("check", "--data-dir", str(filled), "--since", day, "--until", day)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("OK")

    as_json = run_cli("flags", "--data-dir", str(filled), "--since", since, "--until", until, "--format", "json")
    flags = json.loads(as_json.stdout)
    assert any(f["severity"] == "critical" and f["rule"] == "setup" for f in flags)


def test_cache_info_command(filled):
    done = run_cli("cache", "info", "--data-dir", str(filled), "--format", "json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["requests"] > 0 and info["final"] == info["requests"] and info["rows"] > 0


def test_bad_manifest_on_the_command_line(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("request_id\n12\nabc\n", encoding="utf-8")
    done = run_cli("fetch", "--manifest", str(bad), "--data-dir", str(tmp_path / "d"), env_extra=sim_env())
    assert done.returncode != 0
    assert "line 3" in done.stderr and "request_id" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "d" / "cache" / "requests.parquet").exists()


@pytest.mark.parametrize("command", ["flags", "check", "report"])
def test_since_after_until_is_a_usage_error(tmp_path, command):
    """An inverted window would only give an empty answer: say so in one line and exit 2."""
    done = run_cli(command, "--data-dir", str(tmp_path), "--since", "2026-11-20", "--until", "2026-11-01")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the window is empty: since (2026-11-20 00:00)")
    assert done.stdout == ""


def test_fetch_loads_no_analysis_plotting_duckdb_or_notebook_machinery(simulator, account, tmp_path):
    """A cron job's fetch imports only what it uses (checked in a fresh interpreter)."""
    rid = str(next(iter(account.setup_failures())))
    script = (
        "import sys\n"
        "from mailkit_analysis.cli import main\n"
        f"code = main(['fetch', '--url', {simulator.json_url!r}, '--data-dir', {str(tmp_path)!r}, "
        f"'--request-id', {rid!r}, '--no-enrich'])\n"
        "print('EXIT', code)\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**env, **sim_env()})
    assert "EXIT 0" in done.stdout, done.stderr
    loaded = next(line for line in done.stdout.splitlines() if line.startswith("MODULES")).split()[1:]
    assert "mailkit_analysis.sync.fetch" in loaded  # it did fetch
    forbidden = ("duckdb", "matplotlib", "papermill", "nbconvert", "nbclient", "nbformat", "IPython",
                 "mailkit_analysis.analysis", "mailkit_analysis.presentation.plots",
                 "mailkit_analysis.presentation.report", "mailkit_analysis.presentation.notebook_helpers")
    # Masking error messages shares the address-domain parsing of analysis.domains (plain
    # string code); nothing else of the analysis package may load.
    allowed = ("mailkit_analysis.analysis", "mailkit_analysis.analysis.domains")
    assert not [m for m in loaded if (m.split(".")[0] in forbidden or m.startswith(forbidden)) and m not in allowed]


def test_flags_and_check_speak_the_chosen_language_and_keep_what_programs_read(filled, account):
    records = {r.request_id: r for r in account.requests()}
    day = min(pd.Timestamp(records[r].sent_at).tz_convert("Europe/Prague")
              for r, code in account.setup_failures().items() if code in SETUP_CODES).strftime("%Y-%m-%d")
    window = ["--data-dir", str(filled), "--since", day, "--until", day]
    czech = run_cli("check", *window, "--lang", "cs")
    assert czech.returncode == 1, czech.stderr
    assert czech.stdout.startswith("KRITICKÉ: v období ") and "řešení:" in czech.stdout
    by_setting = run_cli("check", *window, env_extra={"MAILKIT_ANALYSIS_LANG": "cs"})
    assert by_setting.stdout == czech.stdout
    overruled = run_cli("check", *window, "--lang", "en", env_extra={"MAILKIT_ANALYSIS_LANG": "cs"})
    assert overruled.stdout.startswith("CRITICAL") and "remedy:" in overruled.stdout

    table = run_cli("flags", *window, "--lang", "cs")
    assert "[KRITICKÉ]" in table.stdout and "pravidlo setup" in table.stdout

    english = json.loads(run_cli("flags", *window, "--format", "json").stdout)
    in_czech = json.loads(run_cli("flags", *window, "--format", "json", "--lang", "cs").stdout)
    assert [sorted(f) for f in in_czech] == [sorted(f) for f in english]
    for key in ("severity", "rule", "error_code", "campaign_id", "count", "first_seen"):
        assert [f[key] for f in in_czech] == [f[key] for f in english]
    csv_header = run_cli("flags", *window, "--format", "csv", "--lang", "cs").stdout.splitlines()[0]
    assert csv_header == run_cli("flags", *window, "--format", "csv").stdout.splitlines()[0]


def test_an_unknown_language_is_a_usage_error():
    wrong = run_cli("flags", "--lang", "de")
    assert wrong.returncode == 2 and "invalid choice: 'de'" in wrong.stderr
    unset = run_cli("check", env_extra={"MAILKIT_ANALYSIS_LANG": "klingon"})
    assert unset.returncode == 2
    assert unset.stderr.strip() == ("error: MAILKIT_ANALYSIS_LANG: unknown language 'klingon'; "
                                    "choose one of en, cs")
