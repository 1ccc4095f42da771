"""The toolkit's benchmarks in one table: the naive way and the toolkit's way, side by side.

    python bench/run.py [--quick] [--only parse,fetch,summaries,report] [--summary-rows 1000000,3000000]
                        [--work DIR]

Lines (each way measured in a fresh process, alternating with the other, median shown):

* parse a 100,000-row ``results`` answer: ``json.loads`` / ``xmlrpc.client.loads`` +
  ``pd.DataFrame`` + per-column fixes vs. the toolkit's decoders + ``parse_results_answer``;
* one 100,000-row answer fetched and cached, whole process against whole process (median
  of three): a script with ``requests`` + ``json`` (or ``xmlrpc.client``) + pandas +
  ``to_parquet`` vs. ``mailkit-analysis fetch --no-enrich``, over JSON and XML-RPC, from a
  loopback server answering with the prepared body;
* fetch 1,000 requests at 50 ms latency from the simulator: a sequential loop vs.
  ``fetch_results`` with 16 workers, and the warm re-run (see ``bench/fetch.py``);
* the cache's layout: the demo account's 600 requests fetched into an empty cache and into a
  copy of the generated 10-million-row cache; and ``load_results`` of one month of it split
  into many parts (the automatic compaction's bound, and 64) against the same month compacted;
* summarise a generated 10-million-row cache by day and code, and by campaign:
  ``pd.read_parquet`` of everything + groupby vs. :mod:`mailkit_analysis.analysis.aggregate`; and by
  campaign with error rates, ``load_results`` + ``analysis.by_campaign`` vs. the same;
* render the overview report (``report.render_report``) on a 1-million-row cache.

``--quick`` uses 200 requests, a 1-million-row cache for the summaries and a 100,000-row one
for the report, and a single run per way. Generated caches are kept under ``--work`` (a
temporary folder by default) and reused when they exist.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    Line,
    Measured,
    canned_answer,
    format_table,
    interleaved,
    machine,
    measure,
    prepare_bodies,
    prepare_cache,
    size_label,
)
from fetch import fetch_lines  # noqa: E402

PARTS = ("parse", "answer", "fetch", "cache", "summaries", "report")


def parse_lines(work: Path, rows: int, repeat: int) -> list[Line]:
    json_path, xml_path = prepare_bodies(work / "bodies", rows)
    lines = []
    for transport, path in (("JSON", json_path), ("XML-RPC", xml_path)):
        naive_step = "parse-naive-json" if transport == "JSON" else "parse-naive-xmlrpc"
        toolkit_step = "parse-toolkit-json" if transport == "JSON" else "parse-toolkit-xmlrpc"
        naive_label = ("json.loads" if transport == "JSON" else "xmlrpc.client.loads") + " + DataFrame + fixes"
        toolkit_label = ("decode_json_answer" if transport == "JSON" else "decode_xmlrpc_results") + " + parse_results_answer"
        naive, toolkit = interleaved((naive_label, naive_step, path), (toolkit_label, toolkit_step, path), repeat)
        size = path.stat().st_size / 1e6
        lines.append(Line(f"parse {size_label(rows)} rows, {transport} ({size:.0f} MB)", naive, toolkit))
    return lines


def _compile_toolkit() -> None:
    """Write the toolkit's bytecode, as ``pip install`` does for an installed package.

    An editable install has none, and with ``PYTHONDONTWRITEBYTECODE`` set (as on some
    development machines and containers) every ``mailkit-analysis`` process would compile
    the package's sources again, a cost no installed copy pays and the naive script, whose
    libraries are installed with their bytecode, does not pay either.
    """
    import compileall

    import mailkit_analysis

    compileall.compile_dir(Path(mailkit_analysis.__file__).parent, quiet=1)


def answer_lines(work: Path, rows: int, repeat: int) -> list[Line]:
    """One large answer, whole process against whole process, per transport."""
    json_path, xml_path = prepare_bodies(work / "bodies", rows)
    _compile_toolkit()
    lines = []
    with canned_answer(json_path, xml_path) as server:
        for transport, url in (("json", server.json_url), ("xmlrpc", server.rpc_url)):
            naive = Measured("script: requests + " + ("json" if transport == "json" else "xmlrpc.client")
                             + " + pandas + to_parquet")
            toolkit = Measured("mailkit-analysis fetch --no-enrich")
            for k in range(repeat):
                out, data = work / f"naive-{transport}-{k}.parquet", work / f"answer-{transport}-{k}"
                out.unlink(missing_ok=True)
                shutil.rmtree(data, ignore_errors=True)  # each run fetches into an empty cache
                measure(naive.label, "answer-naive", transport, url, out, into=naive)
                measure(toolkit.label, "answer-toolkit", transport, url, data, into=toolkit)
            lines.append(Line(f"one {size_label(rows)}-row answer, {transport}, whole process", naive, toolkit))
    return lines


def _split_month(source: Path, month: str, parts: int, target: Path) -> None:
    """A data folder holding only ``month`` of ``source``, in ``parts`` parts (as batches leave it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mailkit_analysis.cache.schema import RESULTS_SCHEMA
    from mailkit_analysis.cache.store import new_part_path, sort_rows, write_part

    if target.exists():
        return
    folder = source / "cache" / "results" / f"month={month}"
    table = sort_rows(pa.concat_tables([pq.read_table(p, schema=RESULTS_SCHEMA) for p in sorted(folder.glob("part-*.parquet"))]))
    size = -(-table.num_rows // parts)
    for k in range(parts):
        path = new_part_path(target / "cache" / "results", month)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_part(table.slice(k * size, size), path)


def cache_lines(work: Path, rows: int, repeat: int) -> list[Line]:
    """Appending into a big cache vs an empty one, and reading many parts vs one."""
    from fetch import simulator as demo_simulator

    from mailkit_analysis.cache.compact import AUTO_COMPACT_PARTS

    big = prepare_cache(work / f"cache-{rows}", rows)
    label = size_label(rows)
    with demo_simulator(600, 0.0, work, seed=0, settled_only=False) as (sim, manifest):
        empty, into_big = Measured("into an empty cache"), Measured(f"into the {label}-row cache")
        for k in range(repeat):
            shutil.rmtree(work / f"demo-empty-{k}", ignore_errors=True)
            measure(empty.label, "fetch-toolkit", sim.json_url, manifest, work / f"demo-empty-{k}", 4, into=empty)
            copy = work / f"demo-big-{k}"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(big, copy)
            measure(into_big.label, "fetch-toolkit", sim.json_url, manifest, copy, 4, into=into_big)
            shutil.rmtree(copy, ignore_errors=True)
    lines = [Line("fetch the demo's 600 requests", empty, into_big)]
    months = sorted(p.name.split("=", 1)[1] for p in (big / "cache" / "results").glob("month=*"))
    month = months[len(months) // 2]
    for parts in (AUTO_COMPACT_PARTS, 64):
        one, many = work / f"month-{month}-1", work / f"month-{month}-{parts}"
        _split_month(big, month, 1, one)
        _split_month(big, month, parts, many)
        compacted, split = interleaved(("1 part (compacted)", "read-month", one, month),
                                       (f"{parts} parts", "read-month", many, month), repeat)
        lines.append(Line(f"read one month of the {label}-row cache, {parts} parts vs 1", compacted, split))
    return lines


def summary_lines(work: Path, rows: int, repeat: int, rates: bool = True) -> list[Line]:
    data = prepare_cache(work / f"cache-{rows}", rows)
    label = size_label(rows)
    days = interleaved(("read_parquet(all) + groupby", "days-naive", data),
                       ("counts_over_time_from_cache", "days-toolkit", data), repeat)
    campaigns = interleaved(("read_parquet(all) + groupby", "campaigns-naive", data),
                            ("by_campaign_from_cache(rates=False)", "campaigns-toolkit", data), repeat)
    lines = [
        Line(f"summarise {label} rows by day and code", *days),
        Line(f"summarise {label} rows by campaign", *campaigns),
    ]
    if rates:
        with_rates = interleaved(("load_results + analysis.by_campaign", "rates-pandas", data),
                                 ("by_campaign_from_cache", "rates-toolkit", data), repeat)
        lines.append(Line(f"by campaign with error rates, {label} rows", *with_rates))
    return lines


def report_lines(work: Path, rows: int) -> list[Line]:
    try:
        from mailkit_analysis.presentation.report import render_report  # noqa: F401
    except ImportError:
        return [Line("report", None, None, "TODO report: not available yet")]
    data = prepare_cache(work / f"cache-{rows}", rows)
    rendered = measure("render_report(01_error_overview)", "report", data, work / "report.html")
    return [Line(f"render the overview report, {size_label(rows)} rows", None, rendered)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one run per way (CI)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--summary-rows", default=None, help="cache sizes for the summaries, e.g. 1000000,3000000,10000000")
    parser.add_argument("--work", default=None, help="folder for inputs and generated caches (kept; default: temporary)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {','.join(PARTS)}")
    quick = args.quick
    repeat = 1 if quick else 3
    summary_sizes = [int(s) for s in args.summary_rows.split(",")] if args.summary_rows else [1_000_000 if quick else 10_000_000]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="mailkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    lines: list[Line] = []
    try:
        if "parse" in parts:
            print("parse ...", file=sys.stderr)
            lines += parse_lines(work, 100_000, repeat)
        if "answer" in parts:
            print("answer ...", file=sys.stderr)
            lines += answer_lines(work, 100_000, repeat if quick else 3)
        if "fetch" in parts:
            print("fetch ...", file=sys.stderr)
            fetch_dir = work / "fetch"
            shutil.rmtree(fetch_dir, ignore_errors=True)
            fetch_dir.mkdir()
            lines += fetch_lines(200 if quick else 1000, 50.0, 16, fetch_dir)
        if "cache" in parts:
            print("cache ...", file=sys.stderr)
            lines += cache_lines(work, 1_000_000 if quick else 10_000_000, 1 if quick else 3)
        if "summaries" in parts:
            for rows in summary_sizes:
                print(f"summaries {size_label(rows)} ...", file=sys.stderr)
                lines += summary_lines(work, rows, 1 if quick or rows > 3_000_000 else 2)
        if "report" in parts:
            print("report ...", file=sys.stderr)
            lines += report_lines(work, 100_000 if quick else 1_000_000)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    mode = "quick" if quick else "full"
    print(format_table(lines, f"mailkit-analysis bench ({mode}; {machine()})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
