"""The ``mailkit-analysis`` command line.

Every subcommand accepts ``--debug`` (DEBUG logging with secrets redacted, tracebacks on
errors). Without it an error is one line on stderr and a non-zero exit code.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from . import __version__
from .errors import MailkitError, WindowError
from .i18n import (
    ENV_VAR,
    LANGUAGES,
    UnknownLanguageError,
    format_datetime,
    format_number,
    gettext as _,
    language,
    ngettext,
)
from .redaction import install_log_redaction

__all__ = ["main", "build_parser"]

log = logging.getLogger("mailkit_analysis")

EXIT_OK = 0
EXIT_FAILED = 1  # an error, failed requests, or (check) a critical incident
EXIT_USAGE = 2
EXIT_BLIND = 3  # check, flags, report: no data folder or cache, an empty cache, or a stale fetch
EXIT_ERROR = 4  # check: any other failure (never 0 or 1, which a cron job reads as answers)

#: What check judges: critical incidents come from the set-up rule alone.
CHECK_RULES = ("setup",)
#: History check reads before its window, so that a run that began earlier keeps its start.
CHECK_LOOKBACK = "14D"

CHECK_EXIT_CODES = """exit codes:
  0  nothing critical in the window
  1  a critical incident has a failed send inside the window (ongoing or not)
  2  usage error (bad option, --since not before --until, bad --config)
  3  cannot see: missing data folder or cache, empty cache, or (with --max-age) the last
     successful fetch is older than that
  4  any other failure (unreadable cache, internal error)"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _duration(text: str):
    import pandas as pd

    units = {"m": "min", "h": "h", "d": "D"}
    number, unit = text[:-1], text[-1:].lower()
    try:
        if unit not in units or float(number) <= 0:
            raise ValueError
        return pd.Timedelta(float(number), unit=units[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30m, 2h or 1d") from None


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="DEBUG logging (secrets redacted) and tracebacks")
    return common


def _add_connection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--transport", choices=("json", "xmlrpc"), default="json", help="wire format (default json)")
    p.add_argument("--url", help="endpoint of the chosen transport, e.g. http://127.0.0.1:8080/json.fcgi")
    p.add_argument("--workers", type=_positive, default=None, help="calls in flight at once (default 4)")
    p.add_argument("--retries", type=int, default=None, metavar="N",
                   help="retries per call on connection errors, 429 and 5xx (default 5, with backoff)")


def _add_lang(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=LANGUAGES, default=None,
                   help=f"language of what a person reads (default: ${ENV_VAR}, else en); "
                        "JSON and CSV values and column names stay the same in every language")


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR", help="data folder (default: $MAILKIT_ANALYSIS_DATA or the project's data/)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="mailkit-analysis",
        description="Why did my Mailkit mass send fail? Fetch, cache, chart and report "
        "mailkit.sendmail_mass.results.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    fetch = sub.add_parser("fetch", parents=[common], help="fetch results into the cache and print them",
                           description="Fetch results into the cache. Without --request-id or --manifest: every "
                           "followed request that is not final yet (recorded with 'manifest add', provisional, failed).")
    source = fetch.add_mutually_exclusive_group()
    source.add_argument("--request-id", type=_positive, action="append", dest="request_ids", metavar="N",
                        help="sendmail_mass request id (repeat for more)")
    source.add_argument("--manifest", metavar="FILE", help="CSV or parquet with request_id [, id_send, campaign_id, sent_at, recipients]")
    fetch.add_argument("--id-send", type=_positive, help="show only the rows of this send")
    _add_connection(fetch)
    _add_data_dir(fetch)
    fetch.add_argument("--refresh", action="store_true", help="fetch final answers again too")
    fetch.add_argument("--offline", action="store_true", help="no network: serve only what is cached")
    fetch.add_argument("--settle-minutes", type=float, default=30.0,
                       help="an answer fetched this long after the send is final (default 30)")
    fetch.add_argument("--no-enrich", action="store_true", help="skip campaign names and send counts")
    fetch.add_argument("--format", choices=("table", "csv", "json"), default="table",
                       help="table: counts by code (default); csv/json: the rows")
    fetch.set_defaults(handler=_cmd_fetch)

    cache = sub.add_parser("cache", parents=[common], help="inspect the local cache")
    cache_sub = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    info = cache_sub.add_parser("info", parents=[common], help="requests final/provisional/failed, rows, size, dates")
    _add_data_dir(info)
    info.add_argument("--format", choices=("table", "json"), default="table")
    info.set_defaults(handler=_cmd_cache_info)
    compact = cache_sub.add_parser("compact", parents=[common], help="merge each month's part files into one")
    _add_data_dir(compact)
    compact.set_defaults(handler=_cmd_cache_compact)
    prune = cache_sub.add_parser("prune", parents=[common],
                                 help="drop result rows, requests, sends and exports older than a date")
    prune.add_argument("--before", required=True, metavar="DATE",
                       help="first day to keep (ISO date/time; Prague time if naive)")
    _add_data_dir(prune)
    prune.set_defaults(handler=_cmd_cache_prune)
    forget = cache_sub.add_parser("forget", parents=[common],
                                  help="erase one recipient address from every file of the cache")
    forget.add_argument("--email", required=True, metavar="ADDRESS", help="the address to erase (any case)")
    _add_data_dir(forget)
    forget.set_defaults(handler=_cmd_cache_forget)

    manifest = sub.add_parser("manifest", parents=[common], help="record the requests to follow")
    manifest_sub = manifest.add_subparsers(dest="manifest_command", metavar="ACTION", required=True)
    add = manifest_sub.add_parser("add", parents=[common],
                                  help="record one sendmail_mass request id (safe from many processes at once)")
    add.add_argument("--request-id", type=_positive, required=True, metavar="N", help="the id sendmail_mass returned")
    add.add_argument("--id-send", type=_positive, metavar="K", help="the send it created")
    add.add_argument("--campaign-id", type=_positive, metavar="C", help="ID_MESSAGE of the campaign used")
    add.add_argument("--sent-at", metavar="T", help="when sendmail_mass was called, ISO 8601 (default: now; naive = Prague)")
    add.add_argument("--recipients", type=int, metavar="R", help="how many recipients the request carried")
    _add_data_dir(add)
    add.set_defaults(handler=_cmd_manifest_add)

    for name, text in (
        ("flags", "list the incidents found in the cached results, most urgent first, with remedies"),
        ("check", "exit 1 when a critical incident falls in the window (for cron; see its exit codes)"),
    ):
        extra = {"epilog": CHECK_EXIT_CODES, "formatter_class": argparse.RawDescriptionHelpFormatter} \
            if name == "check" else {}
        cmd = sub.add_parser(name, parents=[common], help=text, description=text, **extra)
        _add_data_dir(cmd)
        cmd.add_argument("--since", metavar="DATE", help="window start (ISO date/time; Prague time if naive)")
        cmd.add_argument("--until", metavar="DATE", help="window end; a bare date includes that whole day")
        cmd.add_argument("--campaign", type=_positive, action="append", dest="campaigns", metavar="ID",
                         help="only this campaign (repeat for more)")
        cmd.add_argument("--config", metavar="FILE", help="flag thresholds (TOML or JSON)")
        cmd.add_argument("--format", choices=("table", "json", "csv"), default="table")
        _add_lang(cmd)
        if name == "check":
            cmd.add_argument("--max-age", type=_duration, metavar="AGE",
                             help="exit 3 when the last successful fetch is older than this (e.g. 2h, 30m, 1d)")
            cmd.add_argument("--new", action="store_true",
                             help="report only incidents new or grown since the last --new run on this cache")
        cmd.set_defaults(handler=_cmd_flags if name == "flags" else _cmd_check)

    simulate = sub.add_parser("simulate", parents=[common], help="run the built-in Mailkit simulator")
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    simulate.add_argument("--port", type=int, default=8080, help="port (0 = any free one)")
    simulate.add_argument("--seed", type=int, default=0, help="the account is a pure function of the seed")
    simulate.add_argument("--requests", type=_positive, default=600, dest="n_requests", help="requests in the account")
    simulate.add_argument("--client-id", type=_positive, default=None, help="API ID it accepts")
    simulate.add_argument("--client-md5", default=None, help="MD5 code it accepts (a test value, not a real one)")
    simulate.add_argument("--default-range-days", type=_positive, default=None, metavar="DAYS",
                          help="report functions called without a range report only the last DAYS days "
                               "(Mailkit does not document its default; default: everything)")
    _add_faults(simulate)
    simulate.set_defaults(handler=_cmd_simulate)

    report = sub.add_parser(
        "report", parents=[common],
        help="render a notebook as one shareable HTML file (no code, no secrets, addresses masked)")
    report.add_argument("--notebook", default="01_error_overview", metavar="NAME",
                        help="a notebook of notebooks/ (01_error_overview, 02_campaign_drilldown, "
                             "03_recipient_quality, or part of a name) or a .ipynb path (default: the overview)")
    _add_data_dir(report)
    report.add_argument("--since", metavar="DATE", help="window start (ISO date/time; Prague time if naive)")
    report.add_argument("--until", metavar="DATE", help="window end; a bare date includes that whole day")
    report.add_argument("--campaign", type=_positive, nargs="+", action="extend", dest="campaigns", metavar="ID",
                        help="only these campaigns (--campaign 1 2, or repeat the option); "
                             "02_campaign_drilldown: the campaign to drill into")
    report.add_argument("--id-send", type=_positive, metavar="N", help="02_campaign_drilldown: this one send")
    report.add_argument("-o", "--output", metavar="FILE",
                        help="the HTML file to write (default: reports/<name>_<date>T<time>.html)")
    report.add_argument("--show-emails", action="store_true",
                        help="show recipient addresses in full (such a report must not be shared)")
    report.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_lang(report)
    report.set_defaults(handler=_cmd_report)

    demo = sub.add_parser("demo", parents=[common],
                          help="the main job: fetch (simulator without credentials), summarise, render the overview report")
    _add_connection(demo)
    _add_data_dir(demo)
    demo.add_argument("--manifest", metavar="FILE", help="requests to follow when credentials are set")
    demo.add_argument("--seed", type=int, default=0, help="simulator seed")
    demo.add_argument("--no-report", action="store_true", help="fetch and summarise only, render no report")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _add_faults(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("fault injection (reliability testing)")
    g.add_argument("--latency-ms", type=float, default=0.0, help="added latency per answer")
    g.add_argument("--error-rate", type=float, default=0.0, help="share of HTTP 500/502/503 answers")
    g.add_argument("--rate-limit-rate", type=float, default=0.0, help="share of 429 answers with Retry-After")
    g.add_argument("--reset-rate", type=float, default=0.0, help="share of connections reset")
    g.add_argument("--truncate-rate", type=float, default=0.0, help="share of bodies cut short")
    g.add_argument("--html-rate", type=float, default=0.0, help="share of HTML error pages with status 200")
    g.add_argument("--invalid-xml-rate", type=float, default=0.0, help="share of broken XML-RPC bodies")
    g.add_argument("--stall-rate", type=float, default=0.0, help="share of answers that stop mid-body")


# --- commands --------------------------------------------------------------------------
def _cmd_fetch(args: argparse.Namespace) -> int:
    from .api.session import RetryPolicy
    from .presentation.export import format_table, frame_to_csv, frame_to_json
    from .sync.concurrent_fetch import DEFAULT_WORKERS
    from .sync.fetch import fetch_results

    outcome = fetch_results(
        args.request_ids,
        policy=RetryPolicy(retries=max(0, args.retries)) if args.retries is not None else None,
        manifest=args.manifest,
        id_send=args.id_send,
        data_dir=args.data_dir,
        transport=args.transport,
        url=args.url,
        workers=args.workers or DEFAULT_WORKERS,
        refresh=args.refresh,
        offline=args.offline,
        settle_minutes=args.settle_minutes,
        enrich=not args.no_enrich,
    )
    frame = outcome.frame
    if args.format == "table":
        print(format_table(frame))
    elif args.format == "csv":
        sys.stdout.write(frame_to_csv(frame))
    else:
        print(frame_to_json(frame))
    print(outcome.summary(), file=sys.stderr)
    return _report_failures(outcome.failures)


def _cmd_cache_info(args: argparse.Namespace) -> int:
    import json

    from .cache.info import cache_info

    info = cache_info(args.data_dir)
    print(json.dumps(info.as_dict(), indent=2) if args.format == "json" else info)
    return EXIT_OK


def _cmd_cache_compact(args: argparse.Namespace) -> int:
    from .cache.compact import compact_cache

    print(compact_cache(args.data_dir))
    return EXIT_OK


def _cmd_cache_prune(args: argparse.Namespace) -> int:
    from .cache.retention import prune_cache

    print(prune_cache(args.before, args.data_dir))
    return EXIT_OK


def _cmd_cache_forget(args: argparse.Namespace) -> int:
    from .cache.retention import forget_email

    print(forget_email(args.email, args.data_dir))
    return EXIT_OK


def _cmd_manifest_add(args: argparse.Namespace) -> int:
    from .cache.capture import record_request

    record_request(args.request_id, id_send=args.id_send, campaign_id=args.campaign_id, sent_at=args.sent_at,
                   recipients=args.recipients, data_dir=args.data_dir)
    return EXIT_OK


def _print_flags(flags, fmt: str, window: str) -> None:
    from .analysis.flags import flags_to_json

    if fmt == "json":
        print(flags_to_json(flags, indent=2))
        return
    if fmt == "csv":
        # The list of sends is a JSON array in a CSV cell, so that a program can read it back.
        import json

        table = flags.assign(id_sends=[json.dumps(list(v)) for v in flags["id_sends"]])
        sys.stdout.write(table.to_csv(index=False))
        return
    from .presentation.labels import severity_label

    if flags.empty:
        print(_("No problems flagged in {window}.").format(window=window))
        return
    print(ngettext("{n} problem flagged in {window}:", "{n} problems flagged in {window}:", len(flags)).format(
        n=format_number(len(flags)), window=window))
    for i, flag in enumerate(flags.itertuples(index=False), 1):
        seen = format_datetime(flag.last_seen) if not _missing(flag.last_seen) else "?"
        sends = ngettext("{n} send", "{n} sends", len(flag.id_sends)).format(n=format_number(len(flag.id_sends)))
        print(f"\n{i}. [{severity_label(flag.severity).upper()}] {flag.message}")
        print("   " + _("rule {rule}, {status}, {sends}, last seen {time}").format(
            rule=flag.rule, status=_status_label(flag.status), sends=sends, time=seen))
        print("   " + _("remedy: {remedy}").format(remedy=flag.remedy))


def _status_label(status: str) -> str:
    return _("ongoing") if status == "ongoing" else _("resolved")


def _missing(value) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def _blind(data_dir, max_age=None) -> int | None:
    """Print why the cache cannot answer and return the exit code, or None when it can."""
    from .analysis.alarm import blind_spot

    problem = blind_spot(data_dir, max_age)
    if problem is None:
        return None
    print(problem, file=sys.stderr)
    return EXIT_BLIND


def _cmd_flags(args: argparse.Namespace) -> int:
    from .analysis.window import flags_for_window

    blind = _blind(args.data_dir)
    if blind is not None:
        return blind
    found = flags_for_window(args.data_dir, since=args.since, until=args.until, campaigns=args.campaigns, config=args.config)
    _print_flags(found.flags, args.format, found.describe_window())
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from .analysis.alarm import SeenIncidents
    from .analysis.window import flags_for_window

    blind = _blind(args.data_dir, args.max_age)
    if blind is not None:
        return blind
    if args.config is not None:
        from .analysis.flags import FlagConfig

        try:
            args.config = FlagConfig.from_file(args.config)
        except (OSError, ValueError) as exc:  # a setting the user gave: a usage error
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    # check answers for critical incidents only: the set-up rule, with the history a run
    # that began before the window needs (not the weeks of baselines the warnings need).
    found = flags_for_window(args.data_dir, since=args.since, until=args.until, campaigns=args.campaigns,
                             config=args.config, rules=CHECK_RULES, lookback=CHECK_LOOKBACK)
    flags = found.flags
    if args.new:
        seen = SeenIncidents(args.data_dir)
        flags = seen.new_or_grown(flags)
        seen.remember(found.flags)
    critical = flags[flags["severity"] == "critical"]
    if args.format == "table":
        if critical.empty:
            if args.new:  # the critical incidents reported by an earlier run, still there
                known = int((found.flags["severity"] == "critical").sum())
                others = ngettext("{n} other flag", "{n} other flags", known).format(n=format_number(known))
                print(_("OK: no new critical problem in {window} ({others}).").format(
                    window=found.describe_window(), others=others))
            else:
                print(_("OK: no critical problem in {window}.").format(window=found.describe_window()))
        else:
            print(ngettext("CRITICAL: {n} problem in {window}:", "CRITICAL: {n} problems in {window}:",
                           len(critical)).format(n=format_number(len(critical)), window=found.describe_window()))
            for flag in critical.itertuples(index=False):
                print(f"  - [{_status_label(flag.status)}] {flag.message}\n    "
                      + _("remedy: {remedy}").format(remedy=flag.remedy))
    else:
        _print_flags(critical, args.format, found.describe_window())
    return EXIT_FAILED if len(critical) else EXIT_OK


def _report_failures(failures) -> int:
    if not failures:
        return EXIT_OK
    print(f"error: {len(failures)} request(s) could not be fetched:", file=sys.stderr)
    for failure in failures:
        print(f"  {failure}", file=sys.stderr)
    return EXIT_FAILED


def _fault_config(args: argparse.Namespace):
    from .simulator import FaultConfig

    return FaultConfig(
        latency_ms=args.latency_ms, error_rate=args.error_rate, rate_limit_rate=args.rate_limit_rate,
        reset_rate=args.reset_rate, truncate_rate=args.truncate_rate, html_rate=args.html_rate,
        invalid_xml_rate=args.invalid_xml_rate, stall_rate=args.stall_rate, seed=args.seed,
    )


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .simulator import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_MD5,
        MailkitSimulator,
        SimulatedAccount,
    )

    account = SimulatedAccount(seed=args.seed, n_requests=args.n_requests)
    sim = MailkitSimulator(
        account, host=args.host, port=args.port,
        client_id=args.client_id or DEFAULT_CLIENT_ID, client_md5=args.client_md5 or DEFAULT_CLIENT_MD5,
        faults=_fault_config(args), default_range_days=args.default_range_days,
    )
    sim.start()
    print(f"Mailkit simulator (seed {args.seed}, {len(account.demo_request_ids())} requests)")
    print(f"  JSON:    {sim.json_url}")
    print(f"  XML-RPC: {sim.rpc_url}")
    print(f"  API ID:  {args.client_id or DEFAULT_CLIENT_ID} (MD5: the simulator's documented default unless --client-md5)")
    print("Ctrl-C stops it.", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from .presentation.report import find_notebook, render_report, skip_unused_schema_formats

    skip_unused_schema_formats()
    blind = _blind(args.data_dir)
    if blind is not None:
        return blind
    notebook = find_notebook(args.notebook)
    print(f"Rendering {notebook.name} ...", file=sys.stderr, flush=True)
    path = render_report(
        notebook,
        data_dir=args.data_dir,
        since=args.since,
        until=args.until,
        campaigns=args.campaigns,
        mask_emails=not args.show_emails,
        output=args.output,
        parameters={"id_send": args.id_send} if args.id_send else None,
        progress=not args.quiet,
        lang=args.lang,
    )
    if args.show_emails:
        print("warning: this report shows recipient addresses in full; do not share it", file=sys.stderr)
    print(path)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args)


# --- entry point -------------------------------------------------------------------------
def _setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s" if debug else "%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    install_log_redaction()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.debug)
    try:
        with language(getattr(args, "lang", None)):
            if getattr(args, "since", None) is not None or getattr(args, "until", None) is not None:
                from .analysis.window import window_bounds

                window_bounds(args.since, args.until)  # before any work: an empty window is a usage error
            return args.handler(args)
    except UnknownLanguageError as exc:  # a setting the user gave, like a bad option
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WindowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MailkitError as exc:
        if args.debug:
            log.exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR if args.command == "check" else EXIT_FAILED
    except ValueError as exc:
        if args.command == "check":  # its settings were read up front: this is a failure, not usage
            return _check_failed(args, exc)
        if args.debug:
            log.exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `mailkit-analysis flags | head`: the reader left; not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - check must never fall back to 0 or 1
        if args.command != "check":
            raise
        return _check_failed(args, exc)


def _check_failed(args: argparse.Namespace, exc: Exception) -> int:
    """One line for a check that could not run, and its own exit code (never 0 or 1)."""
    if args.debug:
        log.exception("failed")
    text = " ".join(str(exc).split())
    print(f"error: check could not run ({type(exc).__name__}: {text}); run it again with --debug "
          "to see where", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
