#!/usr/bin/env python3
"""Open a rendered report in headless Chromium and save a screenshot of it.

Usage::

    python scripts/screenshot_report.py reports/error-overview_2026-11-27T0105.html [-o report.png]
    python scripts/screenshot_report.py reports/overview_cs.html --lang cs   # must be the Czech one
    python scripts/screenshot_report.py 01_error_overview --lang cs --data-dir data -o overview_cs.png

A quick way to see a report as its reader will (CI has no display), and what the tests use
to prove a report loads in a real browser. Chromium runs with a throw-away profile and all
of its background networking off: a report is one self-contained file and needs no network.

Given a notebook (a name of ``notebooks/`` such as ``01_error_overview`` or ``overview``, or
a ``.ipynb`` path) instead of an ``.html`` file, the report is rendered first, in ``--lang``,
next to the PNG (same name, ``.html``). Given an ``.html`` file and ``--lang``, the report
must say it is in that language (``<html lang="cs">``): a screenshot "of the Czech overview"
is then one. Chromium itself runs in ``--lang`` too.

Exit codes: 0 the PNG was written, 1 Chromium or the rendering failed, 2 no Chromium was found
(on Debian or Ubuntu: ``apt-get install chromium``), the report or notebook does not exist,
or the report is in another language than ``--lang``.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # a plain clone: the package next to this script

from mailkit_analysis.i18n import LANGUAGES  # noqa: E402  (light: no pandas, no matplotlib)

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


def chromium_command(browser: str, profile: str, *extra: str, height: int = HEIGHT,
                     lang: str | None = None) -> list[str]:
    """The command line for one headless run with a throw-away ``profile`` folder (in ``lang``,
    when given: Chromium's locale and the languages it asks pages for)."""
    locale = [f"--lang={lang}", f"--accept-lang={lang}"] if lang else []
    return [browser, *FLAGS, *locale, f"--user-data-dir={profile}", f"--window-size={WIDTH},{height}", *extra]


def report_language(report: Path) -> str | None:
    """The language a rendered report says it is in (``<html lang="cs">``), or None."""
    with report.open("r", encoding="utf-8", errors="replace") as handle:
        head = handle.read(4096)
    found = re.search(r"<html[^>]*\slang=[\"']?([A-Za-z-]+)", head, re.I)
    return found.group(1).split("-")[0].lower() if found else None


def render(notebook: str, html: Path, lang: str | None, data_dir: str | None = None,
           since: str | None = None, until: str | None = None) -> Path:
    """Render ``notebook`` into ``html`` in ``lang`` (see ``render_report``); returns its path."""
    from mailkit_analysis.presentation.report import render_report

    return render_report(notebook, data_dir=data_dir, since=since, until=until, lang=lang, output=html,
                         progress=False)


def screenshot(report: Path, png: Path, browser: str, height: int = HEIGHT,
               lang: str | None = None) -> subprocess.CompletedProcess:
    """Render the top ``height`` pixels of ``report`` into ``png``; returns the finished Chromium process."""
    png = png.resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mailkit-chromium-") as profile:
        command = chromium_command(browser, profile, f"--screenshot={png}", report.resolve().as_uri(),
                                   height=height, lang=lang)
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Screenshot a mailkit-analysis HTML report with headless Chromium.")
    parser.add_argument("report", help="the report's .html file, or a notebook to render first "
                                         "(01_error_overview, 02_campaign_drilldown, 03_recipient_quality, "
                                         "part of a name, or a .ipynb path)")
    parser.add_argument("-o", "--output", type=Path, help="the PNG to write (default: the report's name with "
                                                          ".png; for a notebook, <notebook>[_<lang>].png here)")
    parser.add_argument("--height", type=int, default=HEIGHT, help=f"pixels of the page to capture (default {HEIGHT})")
    parser.add_argument("--lang", choices=LANGUAGES, help="the report's language: a notebook is rendered in it, "
                                                          "an .html report must be in it")
    parser.add_argument("--data-dir", help="for a notebook: the data folder (default: $MAILKIT_ANALYSIS_DATA "
                                           "or the project's data/)")
    parser.add_argument("--since", help="for a notebook: window start (ISO date/time, Prague time)")
    parser.add_argument("--until", help="for a notebook: window end (a bare date includes that day)")
    args = parser.parse_args(argv)
    report = Path(args.report)
    is_html = report.suffix.lower() in (".html", ".htm")
    if is_html and not report.is_file():
        print(f"error: no such report: {report}", file=sys.stderr)
        return EXIT_MISSING
    browser = find_chromium()
    if browser is None:
        print("error: Chromium was not found (looked for chromium, chromium-browser, google-chrome). "
              "Install it, e.g. on Debian/Ubuntu: apt-get install chromium", file=sys.stderr)
        return EXIT_MISSING
    if is_html:
        png = args.output or report.with_suffix(".png")
        if args.lang is not None and report_language(report) != args.lang:
            said = report_language(report)
            print(f"error: {report} is {'in ' + repr(said) if said else 'of no stated language'}, not "
                  f"{args.lang!r}; render it with: mailkit-analysis report --lang {args.lang}", file=sys.stderr)
            return EXIT_MISSING
    else:
        png = args.output or Path(f"{report.stem}{'_' + args.lang if args.lang else ''}.png")
        from mailkit_analysis.errors import MailkitError
        from mailkit_analysis.presentation.report import find_notebook

        try:
            find_notebook(args.report)
        except MailkitError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_MISSING
        try:
            report = render(args.report, png.with_suffix(".html"), args.lang, args.data_dir, args.since, args.until)
        except MailkitError as exc:
            print(f"error: the report was not rendered: {exc}", file=sys.stderr)
            return EXIT_FAILED
    try:
        done = screenshot(report, png, browser, height=args.height, lang=args.lang or report_language(report))
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
