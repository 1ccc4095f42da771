#!/usr/bin/env python3
"""Open a rendered report in headless Chromium and save a screenshot of it.

Usage::

    python scripts/screenshot_report.py reports/error-overview_2026-11-27T0105.html [-o report.png]

A quick way to see a report as its reader will (CI has no display), and what the tests use
to prove a report loads in a real browser. Chromium runs with a throw-away profile and all
of its background networking off: a report is one self-contained file and needs no network.

Exit codes: 0 the PNG was written, 1 Chromium failed, 2 no Chromium was found (on Debian or
Ubuntu: ``apt-get install chromium``) or the report does not exist.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: Where Chromium is looked for, in order.
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags of every run: headless, sandbox-less (containers run as root), quiet, offline.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
WIDTH, HEIGHT = 1280, 4000
TIMEOUT_S = 90
EXIT_FAILED = 1
EXIT_MISSING = 2


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable, or None when there is none."""
    for candidate in CANDIDATES:
        found = shutil.which(candidate) if not candidate.startswith("/") else (
            candidate if Path(candidate).is_file() else None)
        if found:
            return found
    return None


def chromium_command(browser: str, profile: str, *extra: str, height: int = HEIGHT) -> list[str]:
    """The command line for one headless run with a throw-away ``profile`` folder."""
    return [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{height}", *extra]


def screenshot(report: Path, png: Path, browser: str, height: int = HEIGHT) -> subprocess.CompletedProcess:
    """Render the top ``height`` pixels of ``report`` into ``png``; returns the finished Chromium process."""
    png = png.resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mailkit-chromium-") as profile:
        command = chromium_command(browser, profile, f"--screenshot={png}", report.resolve().as_uri(), height=height)
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Screenshot a mailkit-analysis HTML report with headless Chromium.")
    parser.add_argument("report", type=Path, help="the report's .html file")
    parser.add_argument("-o", "--output", type=Path, help="the PNG to write (default: the report's name with .png)")
    parser.add_argument("--height", type=int, default=HEIGHT, help=f"pixels of the page to capture (default {HEIGHT})")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"error: no such report: {args.report}", file=sys.stderr)
        return EXIT_MISSING
    browser = find_chromium()
    if browser is None:
        print("error: Chromium was not found (looked for chromium, chromium-browser, google-chrome). "
              "Install it, e.g. on Debian/Ubuntu: apt-get install chromium", file=sys.stderr)
        return EXIT_MISSING
    png = args.output or args.report.with_suffix(".png")
    try:
        done = screenshot(args.report, png, browser, height=args.height)
    except subprocess.TimeoutExpired:
        print(f"error: Chromium did not finish within {TIMEOUT_S} s", file=sys.stderr)
        return EXIT_FAILED
    if done.returncode != 0 or not png.is_file() or png.stat().st_size == 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        print(f"error: Chromium failed (exit {done.returncode}):\n{tail}", file=sys.stderr)
        return EXIT_FAILED
    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
