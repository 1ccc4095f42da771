"""The three reports on generated caches: time and peak memory, this checkout against another.

Usage::

    python bench/window.py [--rows 1000000,10000000] [--data-root DIR] [--baseline SRC]
                           [--commands report,flags,check,tables] [--repeat 1]

Each measurement is a fresh ``mailkit-analysis`` process (``python -m mailkit_analysis.cli``).
Its peak memory is that of its largest process, the notebook kernel included: the process
tree is sampled every 50 ms (psutil) and the largest resident set of any one process kept.
A cache of N rows is made once under ``--data-root`` by ``python -m mailkit_analysis.generate
--rows N`` and reused. With ``--baseline SRC`` (a source tree of another version, e.g. one
``git archive main`` unpacked) every command is also run with that tree first on
``PYTHONPATH``, in the same run, alternating, so the two columns are comparable.
``--commands tables`` times the tables each notebook asks of its window, without the
notebook, its kernel and its flags.

At the end, every command's numbers per cache size side by side, with how time grew from the
smallest cache to the largest. The targets of the 10-million-row cache (issue 11): each
report at most 25 s and 1.5 GB, ``flags`` at most 10 s and ``check`` (two days) at most 3 s,
both within 1 GB; time at most 4x for 10x the rows. The exit code is 1 when one is missed.
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
#: flags over the whole cache, check over its last two days (issue 11, item 3).
OTHER_TARGETS = {"flags": (10.0, 1024.0), "check": (3.0, 1024.0)}
#: The cache size the targets are for.
TARGET_ROWS = 10_000_000
#: Time on 10x the rows at most this many times the time on the smaller cache.
GROWTH_TARGET = 4.0

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
    parser.add_argument("--commands", default="report,flags,check",
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
    # {(command, way): {rows: (seconds, MB)}}, printed per size as measured, then side by side.
    results: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    print(f"{'command':<16}{'rows':>12}" + "".join(f"{w + ' s':>14}{w + ' MB':>14}" for w, _ in ways))
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
                    if best:
                        results.setdefault((name, way), {})[rows] = best
                print(f"{name:<16}{rows:>12,}" + "".join(f"{s:>14.1f}{m:>14.0f}" for s, m in cells), flush=True)
    side_by_side(results, sizes, [w for w, _ in ways])
    return 0


def _target(name: str) -> tuple[float, float] | None:
    if name in REPORTS:
        return TARGET_SECONDS, TARGET_MB
    return OTHER_TARGETS.get(name)


def side_by_side(results: dict, sizes: list[int], ways: list[str]) -> int:
    """Print each command's time and peak memory per cache size next to each other, the growth
    of time from the smallest to the largest size, and the issue's targets on the largest;
    returns how many targets were missed."""
    small, large = min(sizes), max(sizes)
    label = lambda n: f"{n / 1e6:g}M" if n >= 1e6 else f"{n:,}"  # noqa: E731
    print()
    print(f"{'command':<16}{'way':<10}" + "".join(f"{label(n) + ' s':>10}{label(n) + ' MB':>10}" for n in sorted(sizes))
          + (f"{'growth':>9}" if len(sizes) > 1 else "") + f"{'target on ' + label(TARGET_ROWS):>22}{'met':>6}")
    misses = 0
    for (name, way), by_size in sorted(results.items(), key=lambda kv: (list(REPORTS) + list(OTHER) + list(TABLES))
                                       .index(kv[0][0]) * 10 + ways.index(kv[0][1])):
        cells = "".join(f"{by_size[n][0]:>10.1f}{by_size[n][1]:>10.0f}" if n in by_size else f"{'-':>10}{'-':>10}"
                        for n in sorted(sizes))
        growth = ""
        if len(sizes) > 1:
            growth = (f"{by_size[large][0] / by_size[small][0]:>8.1f}x" if small in by_size and large in by_size
                      else f"{'-':>9}")
        target, met = _target(name), ""
        if target is not None and large in by_size and large >= TARGET_ROWS:
            ok = by_size[large][0] <= target[0] and by_size[large][1] <= target[1]
            if len(sizes) > 1 and small in by_size and large >= 10 * small:
                ok = ok and by_size[large][0] <= GROWTH_TARGET * by_size[small][0]
            met = "yes" if ok else "NO"
            misses += way == "this" and not ok
            target_text = f"<= {target[0]:g} s, {target[1]:g} MB"
        else:
            target_text = ""
        print(f"{name:<16}{way:<10}{cells}{growth}{target_text:>22}{met:>6}")
    print(f"targets (issue 11): on {label(TARGET_ROWS)} rows each report <= {TARGET_SECONDS:g} s and {TARGET_MB:g} MB, "
          f"flags <= {OTHER_TARGETS['flags'][0]:g} s and check <= {OTHER_TARGETS['check'][0]:g} s within "
          f"{OTHER_TARGETS['flags'][1]:g} MB; time at most {GROWTH_TARGET:g}x for 10x the rows; "
          + (f"{'all met' if not misses else f'{misses} missed'} (this version)" if large >= TARGET_ROWS
             else f"not judged below {label(TARGET_ROWS)} rows"))
    return misses


if __name__ == "__main__":
    sys.exit(main())
