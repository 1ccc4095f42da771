"""The whole path with a known MD5 and API ID: fetch through faults at DEBUG logging, flags,
check, cache info, every notebook and the rendered reports. Every artefact is searched:
none may hold the MD5; no report may hold the API ID or a full recipient address."""
from __future__ import annotations

import html
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from simhelpers import ANCHOR, settled_manifest

from mailkit_analysis.cache import load_results
from mailkit_analysis.simulator import FaultConfig, MailkitSimulator, SimulatedAccount

KNOWN_ID = 987654
KNOWN_MD5 = "f00dfacecafebeef0123456789abcdef"
NOTEBOOKS = ("01_error_overview", "02_campaign_drilldown", "03_recipient_quality")


def run_cli(*args, env, cwd):
    done = subprocess.run(
        [sys.executable, "-m", "mailkit_analysis", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )
    return done


@pytest.fixture(scope="module")
def whole_path(tmp_path_factory):
    """Run every command once; return the artefacts: texts and files."""
    root = tmp_path_factory.mktemp("e2e")
    data, reports = root / "data", root / "reports"
    account = SimulatedAccount(seed=0, anchor=ANCHOR, n_requests=250)
    manifest = settled_manifest(account)
    manifest_path = root / "requests.csv"
    manifest.to_csv(manifest_path, index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}
    env.update(MAILKIT_CLIENT_ID=str(KNOWN_ID), MAILKIT_CLIENT_MD5=KNOWN_MD5, MPLBACKEND="Agg")
    faults = FaultConfig(error_rate=0.08, reset_rate=0.04, html_rate=0.04, truncate_rate=0.04, max_faults_per_key=1)
    outputs: list[tuple[str, subprocess.CompletedProcess]] = []
    with MailkitSimulator(account, clock=lambda: ANCHOR, client_id=KNOWN_ID, client_md5=KNOWN_MD5, faults=faults) as sim:
        for transport, url in (("json", sim.json_url), ("xmlrpc", sim.rpc_url)):
            done = run_cli("fetch", "--manifest", str(manifest_path), "--url", url, "--transport", transport,
                           "--data-dir", str(data), "--retries", "3", "--refresh", "--debug", env=env, cwd=root)
            outputs.append((f"fetch {transport}", done))
            assert done.returncode == 0, done.stderr[-3000:]
        injected = sum(sim.faults_injected.values())
    assert injected > 0 and "Retry" in outputs[0][1].stderr + outputs[1][1].stderr  # retries were logged
    for args in (("flags",), ("check",), ("cache", "info")):
        outputs.append((" ".join(args), run_cli(*args, "--data-dir", str(data), "--debug", env=env, cwd=root)))
    report_files = []
    for name in NOTEBOOKS:
        target = reports / f"{name}.html"
        done = run_cli("report", "--notebook", name, "--data-dir", str(data), "-o", str(target), "--debug",
                       env=env, cwd=root)
        outputs.append((f"report {name}", done))
        assert done.returncode == 0, done.stderr[-3000:]
        report_files.append(target)
    # exports written by the masked runs, read before the --show-emails run below
    exports = {str(p): p.read_text(encoding="utf-8") for p in data.rglob("*.csv")}
    shown = reports / "shown.html"
    done = run_cli("report", "--notebook", "03_recipient_quality", "--data-dir", str(data), "-o", str(shown),
                   "--show-emails", env=env, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"root": root, "data": data, "outputs": outputs, "reports": report_files, "shown": shown,
            "injected": injected, "exports": exports}


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_md5_appears_in_no_output_log_cache_file_notebook_or_report(whole_path):
    for label, done in whole_path["outputs"]:
        assert KNOWN_MD5 not in done.stdout + done.stderr, label
    files = _all_files(whole_path["root"])
    scanned = [p for p in files if p.suffix in (".parquet", ".json", ".html", ".ipynb", ".csv", ".log", "")]
    assert any(p.suffix == ".parquet" for p in scanned) and any(p.suffix == ".html" for p in scanned)
    for path in files:
        if path.name == "requests.csv":
            continue
        content = path.read_bytes()
        assert KNOWN_MD5.encode() not in content, path
    print(f"\nsecrets: scanned {len(whole_path['outputs'])} command outputs and {len(files)} files, "
          f"{whole_path['injected']} faults injected on the way")


def test_reports_hold_neither_the_api_id_nor_code_cells(whole_path):
    for report in whole_path["reports"] + [whole_path["shown"]]:
        text = report.read_text(encoding="utf-8")
        assert str(KNOWN_ID) not in text, report
        assert "<img src=\"data:image/png;base64," in text or "data:image/png;base64" in text


def _variants(text: str) -> str:
    """The HTML as written, unescaped and URL-decoded: masking must survive every reading."""
    unescaped = html.unescape(text)
    return "\n".join((text, unescaped, urllib.parse.unquote(unescaped)))


def test_reports_hold_no_full_address_unless_asked(whole_path):
    frame = load_results(whole_path["data"])
    addresses = sorted({a for a in frame["email"].dropna() if "@" in a and len(a) > 3})
    assert len(addresses) > 50
    local_parts = sorted({a.split("@")[0] for a in addresses if len(a.split("@")[0]) >= 4})
    for report in whole_path["reports"]:
        readings = _variants(report.read_text(encoding="utf-8"))
        leaked = [a for a in addresses if a in readings]
        assert not leaked, f"{report.name} holds {len(leaked)} full addresses, e.g. {leaked[:3]}"
        leaked_local = [p for p in local_parts if f"{p}@" in readings]
        assert not leaked_local, f"{report.name} holds local parts {leaked_local[:3]}"
    shown = _variants(whole_path["shown"].read_text(encoding="utf-8"))
    assert sum(a in shown for a in addresses) > 0  # the check above can fail: --show-emails shows them


def test_exports_are_masked_by_default(whole_path):
    assert whole_path["exports"], "notebook 03 wrote no export"
    frame = load_results(whole_path["data"])
    addresses = [a for a in frame["email"].dropna().unique() if "@" in a and len(a) > 3]
    for path, text in whole_path["exports"].items():
        leaked = [a for a in addresses if a in text]
        assert not leaked, f"{path} holds full addresses, e.g. {leaked[:3]}"
