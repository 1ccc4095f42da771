"""The three reports on generated caches: time and peak memory, this checkout against another.

Usage::

    python bench/window.py [--rows 1000000,10000000] [--data-root DIR] [--baseline SRC]
                           [--commands report,flags,check] [--repeat 1]

Each measurement is a fresh ``mailkit-analysis`` process (``python -m mailkit_analysis.cli``).
Its peak memory is that of its largest process, the notebook kernel included: the process
tree is sampled every 50 ms (psutil) and the largest resident set of any one process kept.
A cache of N rows is made once under ``--data-root`` by ``python -m mailkit_analysis.generate
--rows N`` and reused. With ``--baseline SRC`` (a source tree of another version, e.g. one
``git archive main`` unpacked) every command is also run with that tree first on
``PYTHONPATH``, in the same run, alternating, so the two columns are comparable.
``--commands tables`` times the tables each notebook asks of its window, without the
notebook, its kernel and its flags.

The targets of the 10-million-row cache (issue 11): each report at most 25 s and 1.5 GB.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

REPORTS = {
    "01 overview": ["report", "--notebook", "01_error_overview"],
    "02 drill-down": ["report", "--notebook", "02_campaign_drilldown"],
    "03 recipients": ["report", "--notebook", "03_recipient_quality"],
}
OTHER = {
    "flags": ["flags"],
    "check": ["check"],  # --since two days before the cache's end, added per cache
}
TARGET_SECONDS, TARGET_MB = 25.0, 1536.0

# The tables each notebook asks of its window (without its flags, which another module
# computes), run by ``--tables-of NOTEBOOK DATA`` in a fresh process.
TABLES = {
    "01 tables": [("overview", {}), ("counts_over_time", {"freq": "W"}), ("by_category", {}), ("by_code", {}),
                  ("by_campaign", {}), ("top_info", {"n": 10})],
    "02 tables": [("overview", {}), ("by_campaign", {}), ("FOCUS", {}), ("counts_over_time", {"freq": "D"}),
                  ("by_send", {}), ("by_code", {}), ("top_info", {"n": 5}), ("affected_recipients", {"limit": 30})],
    "03 tables": [("overview", {}), ("recipient_domains", {"codes": (2, 3, 6)}), ("likely_typos", {}),
                  ("by_campaign", {"codes": [3]}), ("by_campaign", {"codes": [6]}), ("addresses_to_fix", {})],
}


def tables_of(name: str, data_dir: str) -> None:
    """Ask the window the tables notebook ``name`` shows (the drill-down on its top campaign)."""
    from mailkit_analysis.analysis import tables
    from mailkit_analysis.analysis.window import Window

    window = Window(data_dir)
    for table, kwargs in TABLES[name]:
        if table == "FOCUS":
            ranking = tables.by_campaign(window)
            window = window.narrowed(campaigns=[int(ranking["campaign_id"].dropna().iloc[0])])
            continue
        getattr(tables, table)(window, **kwargs)


def _env(source: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_CLIENT_")}
    env["PYTHONWARNINGS"] = "ignore"
    if source is not None:
        env["PYTHONPATH"] = str(source) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_measured(args: list[str], env: dict, cwd: Path) -> tuple[float, float, int]:
    """Run one command; returns (seconds, peak MB of its largest process, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            try:
                peak = max(peak, p.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.05)
    proc.wait()
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: "critical flags" from check, not a failure
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    return seconds, peak / 2**20, proc.returncode


def two_days_before_end(data: Path) -> str:
    """Two days before the cache's latest row (Prague time): the window of a cron ``check``."""
    import duckdb

    files = str(data / "cache" / "results" / "**" / "*.parquet")
    latest = duckdb.sql(f"SELECT max(date) FROM read_parquet('{files}')").fetchall()[0][0]
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    if latest.tzinfo is not None:
        latest = latest.astimezone(ZoneInfo("Europe/Prague"))
    return (latest - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")


def ensure_cache(root: Path, rows: int) -> Path:
    data = root / f"rows-{rows}"
    if not (data / "cache").exists():
        subprocess.run([sys.executable, "-m", "mailkit_analysis.generate", "--rows", str(rows),
                        "--data-dir", str(data)], check=True, cwd=ROOT)
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--data-root", default=os.path.join(tempfile.gettempdir(), "mailkit-bench-window"))
    parser.add_argument("--baseline", default=None, help="source tree of the version to compare with")
    parser.add_argument("--commands", default="report,tables",
                        help="report, tables (the reports' tables alone, without flags), flags, check")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tables-of", nargs=2, metavar=("NOTEBOOK", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tables_of:
        tables_of(*args.tables_of)
        return 0
    wanted = set(args.commands.split(","))
    commands = {**(REPORTS if "report" in wanted else {}), **{k: v for k, v in OTHER.items() if k in wanted}}
    if "tables" in wanted:
        commands.update({name: ["TABLES", name] for name in TABLES})
    sizes = [int(r) for r in args.rows.split(",")]
    baseline = Path(args.baseline).resolve() if args.baseline else None
    ways = [("this", None)] + ([("baseline", baseline)] if baseline else [])
    print(f"{'command':<16}{'rows':>12}" + "".join(f"{w + ' s':>14}{w + ' MB':>14}" for w, _ in ways))
    misses = 0
    with tempfile.TemporaryDirectory(prefix="bench-window-") as out:
        for rows in sizes:
            data = ensure_cache(Path(args.data_root), rows)
            for name, command in commands.items():
                cells = []
                for way, source in ways:
                    best = None
                    for _ in range(args.repeat):
                        if command[0] == "TABLES":
                            if way != "this":
                                continue  # the tables module is this version's
                            cli = [sys.executable, str(Path(__file__).resolve()), "--tables-of", command[1], str(data)]
                        else:
                            cli = [sys.executable, "-m", "mailkit_analysis.cli", *command, "--data-dir", str(data)]
                        if command == ["check"]:
                            cli += ["--since", two_days_before_end(data)]  # what a cron job asks
                        if command[0] == "report":
                            cli += ["--quiet", "-o", str(Path(out) / f"{way}.html")]
                        seconds, mb, code = run_measured(cli, _env(source), Path(out))
                        best = (seconds, mb) if best is None or seconds < best[0] else best
                    cells.append(best or (float("nan"), float("nan")))
                    if way == "this" and best and rows >= 10_000_000 and command[0] == "report" and (
                            best[0] > TARGET_SECONDS or best[1] > TARGET_MB):
                        misses += 1
                print(f"{name:<16}{rows:>12,}" + "".join(f"{s:>14.1f}{m:>14.0f}" for s, m in cells), flush=True)
    print(f"targets on 10M rows: each report <= {TARGET_SECONDS:.0f} s and <= {TARGET_MB:.0f} MB; "
          f"{'all met' if not misses else f'{misses} missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
