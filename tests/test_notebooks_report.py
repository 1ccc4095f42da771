"""The notebooks and the shareable HTML report, end to end.

One cache is filled from the simulator (with a client id and MD5 of its own, to prove they
never reach a report). Every notebook is then executed once, in parallel to keep the module
quick: the overview through the Python API in this process, the others through the command
line, together with README's main job (``mailkit-analysis demo``) in a clean working
directory. The tests read what those runs wrote: inline charts, the flags table, no code,
no credentials, no raw address (masked by default, shown with ``--show-emails``), a masked
CSV export, a typed error for a failing cell, and a report that opens in headless Chromium.
"""
from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from mailkit_analysis.analysis.recipients import addresses_to_fix
from mailkit_analysis.masking import mask_frame
from mailkit_analysis.analysis.window import flags_for_window
from simhelpers import ANCHOR

from mailkit_analysis import Credentials, MailkitClient
from mailkit_analysis.presentation import notebook_helpers as nbh
from mailkit_analysis.cache import load_results
from mailkit_analysis.demo import simulator_manifest
from mailkit_analysis.presentation.report import (
    ReportError,
    _assert_masked,
    find_notebook,
    render_report,
)
from mailkit_analysis.simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_MD5,
    MailkitSimulator,
    SimulatedAccount,
)
from mailkit_analysis.sync.fetch import fetch_results

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("01_error_overview", "02_campaign_drilldown", "03_recipient_quality")
#: The reports rendered in Czech, and their English twins.
CZECH = {"overview_cs": "overview", "drilldown_cs": "drilldown", "quality_cs": "quality"}
#: Credentials of this module's simulator: known, so the tests can look for them.
CUSTOM_ID = 7350021
CUSTOM_MD5 = "c0ffee5e1f0a1b2c3d4e5f60718293ab"
SECRETS = (CUSTOM_MD5, str(CUSTOM_ID), DEFAULT_CLIENT_MD5, str(DEFAULT_CLIENT_ID))
SINCE, UNTIL = "2026-10-01", "2026-11-15"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_INVISIBLE = re.compile(r"<style\b.*?</style>|<script\b.*?</script>|data:image/png;base64,[A-Za-z0-9+/=]+",
                        re.S | re.I)


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("mailkit-analysis")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "mailkit_analysis.cli"]


def _env_without_credentials() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MAILKIT_")}


def _visible(markup: str) -> str:
    """The report without its style sheets, scripts and image data."""
    return _INVISIBLE.sub(" ", markup)


@dataclass
class Rendered:
    """What the module's runs wrote."""

    html: dict[str, str] = field(default_factory=dict)
    exports: dict[str, Path] = field(default_factory=dict)
    runs: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    broken: ReportError | None = None
    broken_output: Path | None = None
    overview_path: Path | None = None
    seconds: float = 0.0


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """A cache filled over HTTP from a 300-request simulator account with custom credentials."""
    data = tmp_path_factory.mktemp("notebook-cache") / "data"
    account = SimulatedAccount(seed=11, anchor=ANCHOR, n_requests=300)
    clock = lambda: pd.Timestamp(ANCHOR)  # noqa: E731
    with MailkitSimulator(account, client_id=CUSTOM_ID, client_md5=CUSTOM_MD5, clock=lambda: ANCHOR) as sim:
        with MailkitClient(Credentials(CUSTOM_ID, CUSTOM_MD5), url=sim.json_url, clock=clock) as client:
            outcome = fetch_results(manifest=simulator_manifest(account), data_dir=data, client=client,
                                    progress=False, clock=clock)
    assert outcome.ok and len(outcome.frame) > 1000
    return data


@pytest.fixture(scope="module")
def frame(cache_dir) -> pd.DataFrame:
    return load_results(cache_dir)


@pytest.fixture(scope="module")
def rendered(cache_dir, tmp_path_factory) -> Rendered:
    """Execute every notebook once, and the main job, in parallel."""
    out = tmp_path_factory.mktemp("reports")
    work = tmp_path_factory.mktemp("clean-clone-cwd")
    cli = _cli()
    common = ["--data-dir", str(cache_dir), "--quiet"]
    jobs = {
        "drilldown": [*cli, "report", "--notebook", "02_campaign_drilldown", *common, "--since", SINCE,
                      "--until", UNTIL, "-o", str(out / "drilldown.html")],
        "quality": [*cli, "report", "--notebook", "03_recipient_quality", *common, "-o", str(out / "quality.html")],
        "quality_unmasked": [*cli, "report", "--notebook", "recipient_quality", *common, "--show-emails",
                             "-o", str(out / "quality_unmasked.html")],
        # README's first command on a clean clone: no credentials, a working directory of its own.
        "demo": [*cli, "demo", "--data-dir", str(work / "data")],
        # The three reports in Czech: by --lang, and by the environment's setting.
        "overview_cs": [*cli, "report", "--lang", "cs", *common, "--since", SINCE, "--until", UNTIL,
                        "-o", str(out / "overview_cs.html")],
        "drilldown_cs": [*cli, "report", "--notebook", "02_campaign_drilldown", *common, "--since", SINCE,
                         "--until", UNTIL, "-o", str(out / "drilldown_cs.html")],
        "quality_cs": [*cli, "report", "--notebook", "03_recipient_quality", "--lang", "cs", *common,
                       "-o", str(out / "quality_cs.html")],
    }
    started = time.perf_counter()
    env = _env_without_credentials()
    czech_env = dict(env, MAILKIT_ANALYSIS_LANG="cs")
    procs = {name: subprocess.Popen(cmd, cwd=work, env=czech_env if name == "drilldown_cs" else env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, cmd in jobs.items()}
    result = Rendered()
    try:
        result.overview_path = render_report("01_error_overview", data_dir=cache_dir, output=out / "overview.html",
                                             progress=False)
        result.html["overview"] = result.overview_path.read_text(encoding="utf-8")
        broken = out / "broken.ipynb"
        nbformat.write(_broken_notebook(), broken)
        result.broken_output = out / "broken.html"
        try:
            render_report(broken, data_dir=cache_dir, output=result.broken_output, progress=False)
        except ReportError as exc:
            result.broken = exc
        for name, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=240)
            result.runs[name] = subprocess.CompletedProcess(jobs[name], proc.returncode, stdout, stderr)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    result.seconds = time.perf_counter() - started
    for name in ("drilldown", "quality", "quality_unmasked", *CZECH):
        run = result.runs[name]
        assert run.returncode == 0, f"{name} failed: {run.stderr[-2000:]}"
        result.html[name] = (out / f"{name}.html").read_text(encoding="utf-8")
    exports = sorted((cache_dir / "exports").glob("addresses-to-fix_*.csv"))
    result.exports = {("unmasked" if "_unmasked" in p.name else "masked"): p for p in exports}
    yield result
    demo_report = _demo_report_path(result.runs.get("demo"))
    if demo_report is not None and demo_report.parent == ROOT / "reports":
        demo_report.unlink(missing_ok=True)  # an artefact of this test in the checkout's reports/


def _broken_notebook():
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("data_dir = None\nsince = None\nuntil = None\ncampaigns = None\nmask_emails = True")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A notebook that fails"),
        params,
        nbformat.v4.new_code_cell("raise ValueError('boom in cell three')"),
    ]
    return nb


def _demo_report_path(run: subprocess.CompletedProcess | None) -> Path | None:
    if run is None:
        return None
    match = re.search(r"^Report\b[^:]*:\s*(\S+\.html)\s*$", run.stdout, re.M)
    return Path(match.group(1)) if match else None


def _masked_reports(rendered: Rendered) -> dict[str, str]:
    return {k: v for k, v in rendered.html.items() if k != "quality_unmasked"}


# --------------------------------------------------------------------------- the notebooks as committed

@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean_with_parameters(name):
    path = ROOT / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    text = path.read_text(encoding="utf-8")
    for machine_path in ("/tmp/", "/work/", "/home/", "/Users/", "C:\\\\"):
        assert machine_path not in text, f"{name} names a machine path"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{name} has outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for variable in ("data_dir = None", "since = None", "until = None", "campaigns = None", "mask_emails = True"):
        assert variable in params[0].source
    # Every chart is introduced by a markdown sentence right before it.
    for before, cell in zip(nb.cells, nb.cells[1:]):
        if cell.cell_type == "code" and "show_chart(" in cell.source:
            assert before.cell_type == "markdown" and before.source.strip(), f"{name}: a chart without its sentence"
    # Glue only: no analysis written in the notebook itself.
    joined = "\n".join(c.source for c in code)
    assert "groupby" not in joined and "plt." not in joined and "def " not in joined


def test_empty_window_says_so_instead_of_crashing(tmp_path, monkeypatch):
    """Each notebook's code, run in this process against a cache that holds nothing."""
    shown: list = []
    monkeypatch.setattr(nbh, "_display", lambda obj, **kw: shown.append(obj))
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        namespace: dict = {}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
            exec(compile(source, f"{name}.ipynb", "exec"), namespace)  # noqa: S102 - our own notebooks
            if "parameters" in cell.metadata.get("tags", []):
                namespace.update(data_dir=str(tmp_path / "empty"), since="2030-01-01", until="2030-01-31")
    texts = [getattr(o, "data", "") for o in shown]
    assert any("No error rows in 2030-01-01 – 2030-01-31" in t for t in texts)
    assert any("Nothing to drill into" in t for t in texts)
    assert not any(isinstance(o, dict) and "image/png" in o for o in shown), "a chart of nothing was drawn"


# --------------------------------------------------------------------------- the rendered reports

def test_reports_hold_inline_charts_and_no_code(rendered):
    minimum_charts = {"overview": 4, "drilldown": 1, "quality": 1, "quality_unmasked": 1,
                      "overview_cs": 4, "drilldown_cs": 1, "quality_cs": 1}
    for name, markup in rendered.html.items():
        assert markup.count('<img src="data:image/png;base64,') >= minimum_charts[name], name
        assert not re.search(r'class="[^"]*\b(jp-InputArea|input_area|jp-InputPrompt|jp-CodeMirrorEditor)\b', markup), name
        assert not re.search(r"<script\b", markup, re.I), f"{name} carries a script"
        assert not re.search(r"<(img|link|iframe)[^>]+(src|href)=\"https?:", markup), f"{name} loads from the web"
        visible = _visible(markup)
        assert not re.search(r"(?m)^\s*(from\s+[\w.]+\s+)?import\s+\w", visible), f"{name} shows code"
        assert "nbh." not in visible and "show_chart" not in visible and "Traceback" not in visible
        assert "application/vnd" not in visible and "papermill" not in markup.lower()


def test_overview_starts_with_the_flags_and_their_remedies(rendered, cache_dir):
    markup = rendered.html["overview"]
    critical = flags_for_window(cache_dir).critical
    assert len(critical), "the simulator account plants set-up failures"
    first = critical.iloc[0]
    assert html.escape(first["message"], quote=False) in markup
    assert html.escape(first["remedy"], quote=False) in markup
    flags_at = markup.index("Problems to act on")
    for later in ("Error codes over time", "Categories and codes", "Campaigns with the most errors",
                  "Most frequent INFO messages"):
        assert markup.index(later) > flags_at


def test_reports_end_without_a_kernel_interrupt_message(rendered):
    """A finished notebook's kernel is shut down, not interrupted: no KeyboardInterrupt noise."""
    for name, run in rendered.runs.items():
        assert "KeyboardInterrupt" not in run.stderr, f"{name}: {run.stderr[-500:]}"


def test_title_carries_the_window_and_the_time_it_was_made(rendered):
    title = re.search(r"<title>(.*?)</title>", rendered.html["drilldown"], re.S).group(1)
    assert "campaign drill-down" in title and f"{SINCE} – {UNTIL}" in title and "made 20" in title
    overview = re.search(r"<title>(.*?)</title>", rendered.html["overview"], re.S).group(1)
    assert re.search(r"\d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d \(Europe/Prague\) · made \d{4}-\d\d-\d\d \d\d:\d\d", overview)


def test_no_credentials_or_machine_paths_in_any_report(rendered, cache_dir):
    demo_report = _demo_report_path(rendered.runs["demo"])
    reports = dict(rendered.html, demo=demo_report.read_text(encoding="utf-8"))
    for name, markup in reports.items():
        for secret in SECRETS:
            assert secret not in markup, f"{name} holds a credential"
        assert str(cache_dir) not in markup and str(cache_dir.parent) not in markup, f"{name} names the data folder"


def test_no_raw_address_in_masked_reports(rendered, frame):
    addresses = {a for a in frame["email"].dropna().unique() if a.strip()}
    local_parts = {p for a in addresses for p in re.findall(r"([^\s@<>;,\"'()\[\]]+)@", a) if len(p) >= 4}
    assert len(addresses) > 500 and len(local_parts) > 300
    for name, markup in _masked_reports(rendered).items():
        escaped = html.unescape(markup)
        leaked = [a for a in addresses if a in markup or a in escaped]
        assert not leaked, f"{name} shows {len(leaked)} raw address(es)"
        visible = html.unescape(_visible(markup))
        leaked = [p for p in local_parts if p in visible]
        assert not leaked, f"{name} shows {len(leaked)} local part(s), e.g. of length {len(leaked[0])}"
        assert "***@" in markup or name == "overview"


def test_show_emails_shows_the_addresses(rendered, frame):
    markup = html.unescape(rendered.html["quality_unmasked"])
    to_fix = addresses_to_fix(frame)
    shown = [a for a in to_fix["email"].head(10) if a in markup]
    assert len(shown) == 10
    assert "do not share" in markup
    assert not any(a in html.unescape(rendered.html["quality"]) for a in to_fix["email"].head(10))


def test_exported_csv_is_masked_by_default(rendered, frame):
    masked = pd.read_csv(rendered.exports["masked"], dtype=str, keep_default_na=False)
    expected = addresses_to_fix(mask_frame(frame))
    assert len(masked) == len(expected) > 0
    assert masked["email"].str.contains(r"\*\*\*", regex=True).all()
    text = rendered.exports["masked"].read_text(encoding="utf-8")
    assert not [a for a in frame["email"].dropna().unique() if a.strip() and a in text]
    unmasked = pd.read_csv(rendered.exports["unmasked"], dtype=str, keep_default_na=False)
    assert set(unmasked["email"]) == set(addresses_to_fix(frame)["email"])


def test_a_failing_cell_raises_a_typed_error_naming_notebook_and_cell(rendered):
    error = rendered.broken
    assert isinstance(error, ReportError)
    assert error.notebook == "broken.ipynb" and error.cell == 3 and error.ename == "ValueError"
    assert "broken.ipynb" in str(error) and "cell 3" in str(error) and "boom in cell three" in str(error)
    assert "Traceback" not in str(error)
    assert not rendered.broken_output.exists()
    assert not list(rendered.broken_output.parent.glob(".broken*"))


def test_unknown_notebook_lists_the_available_ones():
    with pytest.raises(ReportError, match="01_error_overview, 02_campaign_drilldown, 03_recipient_quality"):
        find_notebook("no_such_notebook")
    assert find_notebook("drilldown").name == "02_campaign_drilldown.ipynb"


def test_masking_guard_refuses_an_address_that_slipped_through():
    _assert_masked("<td>j***@gmail.com</td><style>@media print {}</style>", Path("x.ipynb"))
    with pytest.raises(ReportError, match="unmasked") as caught:
        _assert_masked("<td>jana.novakova@gmail.com</td>", Path("x.ipynb"))
    assert "jana" not in str(caught.value)


def test_readme_main_job_leaves_a_report_and_prints_its_path(rendered):
    run = rendered.runs["demo"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert "simulator" in run.stderr
    path = _demo_report_path(run)
    assert path is not None, run.stdout
    assert path.is_file() and path.suffix == ".html" and path.parent.name == "reports"
    assert re.fullmatch(r"error-overview_\d{4}-\d\d-\d\dT\d{4}\.html", path.name)
    markup = path.read_text(encoding="utf-8")
    assert "<title>Mailkit send errors: overview" in markup and '<img src="data:image/png;base64,' in markup
    assert "make lab" in run.stdout


# --------------------------------------------------------------------------- in Czech

CZECH_TITLES = {"overview_cs": "Chyby rozesílek Mailkitu: přehled",
                "drilldown_cs": "Chyby rozesílek Mailkitu: detail kampaně",
                "quality_cs": "Chyby rozesílek Mailkitu: kvalita adres příjemců"}


def _without_flag_messages(visible: str, cache_dir: Path) -> str:
    """The visible text without the flag texts (whose dates and numbers other tests check)."""
    from mailkit_analysis.i18n import language

    with language("cs"):  # the messages name codes by their Czech labels
        flags = pd.concat([flags_for_window(cache_dir).flags,
                           flags_for_window(cache_dir, since=SINCE, until=UNTIL).flags])
    for text in (*flags["message"], *flags["remedy"]):
        visible = visible.replace(html.unescape(html.escape(text, quote=False)), " ")
    return visible


@pytest.mark.parametrize("name", sorted(CZECH))
def test_czech_reports_speak_czech_in_utf8_with_czech_numbers_and_dates(rendered, name, cache_dir):
    markup = rendered.html[name]
    assert '<html lang="cs">' in markup and re.search(r'<meta charset="utf-8"', markup, re.I)
    title = re.search(r"<title>(.*?)</title>", markup, re.S).group(1)
    assert title.startswith(CZECH_TITLES[name]) and " · vytvořeno " in title
    # Czech dates: "1. 10. 2026" (no ISO dates anywhere a reader looks), times "10:03".
    visible = _without_flag_messages(html.unescape(_visible(markup)), cache_dir)
    if name != "quality_cs":  # the one rendered without a window: its bounds come from the cache
        assert "1. 10. 2026 – 15. 11. 2026 (Europe/Prague)" in title
    assert not re.search(r"\b20\d\d-\d\d-\d\d \d\d:\d\d\b", visible), "an English date in a Czech report"
    assert re.search(r"\b\d{1,2}\. \d{1,2}\. 20\d\d \d{1,2}:\d\d\b", visible)
    # Thousands with CLDR's no-break space, never a comma; percentages "36,0 %".
    assert re.search(r"\d\xa0\d{3}\b", visible), "no Czech thousands"
    assert not re.search(r"\b\d{1,3},\d{3}\b", visible), "English thousands in a Czech report"
    if name != "drilldown_cs":
        assert re.search(r"\b\d{1,3},\d\xa0%", visible), "no Czech percentage"
    assert "Report obsahuje jen tabulky a grafy výše" in visible and "adresy příjemců skryté" in visible
    # The English twin of the same notebook says the same in English.
    english = rendered.html[CZECH[name]]
    assert '<html lang="en">' in english and "Report obsahuje" not in english


def _markdown_sentences(notebook: Path, lang: str) -> list[str]:
    """The prose of the notebook's Markdown cells tagged ``lang-<lang>``: lines of some length,
    without Markdown marks (what a reader would see as a sentence of the report)."""
    nb = nbformat.read(notebook, as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and f"lang-{lang}" in cell.metadata.get("tags", []) \
                and "lab-only" not in cell.metadata.get("tags", []):
            for line in cell.source.splitlines():
                text = re.sub(r"\s+", " ", re.sub(r"`|\*\*|^#+", "", line)).strip()
                for piece in re.split(r"[;:(),]", text):
                    if len(piece.strip()) >= 20:
                        out.append(piece.strip())
    return out


@pytest.mark.parametrize("name", sorted(CZECH))
def test_czech_report_holds_no_english_prose_of_notebook_or_catalogue(rendered, name, cache_dir):
    """The Czech report keeps the Czech twins of the Markdown cells, none of the English ones,
    and none of the catalogue's English texts (except those whose Czech text is the same)."""
    from babel.messages.pofile import read_po

    import mailkit_analysis

    notebook = find_notebook(CZECH[name])
    def words(markup: str) -> str:  # the text a reader sees, tags out, spaces as one
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", _visible(markup))))

    czech = words(rendered.html[name])  # flag texts included: they speak Czech too
    english = words(rendered.html[CZECH[name]])
    english_prose, czech_prose = _markdown_sentences(notebook, "en"), _markdown_sentences(notebook, "cs")
    assert english_prose and czech_prose
    assert not [s for s in english_prose if s in czech], "English Markdown in a Czech report"
    assert all(s in czech for s in czech_prose) and not [s for s in czech_prose if s in english]
    po = Path(mailkit_analysis.__file__).parent / "locale" / "cs" / "LC_MESSAGES" / "mailkit_analysis.po"
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    leaked = []
    for message in catalogue:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            # Whole texts only (a placeholder's value varies), of a length a reader would read.
            if not msgid or "{" in msgid or len(msgid) < 16 or msgid in texts:
                continue
            if re.search(rf"(?<![\w-]){re.escape(html.unescape(msgid))}(?![\w-])", czech):
                leaked.append(msgid)
    assert not leaked, f"English catalogue texts in the Czech {name}: {leaked[:5]}"


def _table_headings(markup: str) -> set[str]:
    return {html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
            for h in re.findall(r"<th\b[^>]*>(.*?)</th>", markup, re.S)} - {""}


@pytest.mark.parametrize("name", sorted(CZECH))
def test_czech_report_tables_have_czech_headings_values_and_counts(rendered, name):
    """The notebooks name their headings in English; the Czech report shows none of them, nor an
    English reason of an address, nor an English "first N of M" line, nor a count as 109,00."""
    from mailkit_analysis.i18n import language
    from mailkit_analysis.presentation import labels

    czech, english = rendered.html[name], rendered.html[CZECH[name]]
    with language("cs"):
        translated = {h for h in labels._HEADINGS if labels.heading_label(h) != h}
    assert _table_headings(english) & translated, "the English report lost its headings"
    left = _table_headings(czech) & translated
    assert not left, f"English table headings in the Czech {name}: {sorted(left)}"
    visible = html.unescape(_visible(czech))
    assert not re.search(r"\bThe first \d|\bof [\d\xa0]+ \w+:", visible)
    assert not re.search(r"<td\b[^>]*>[\d\xa0]+,00</td>", czech), "a whole-number count with decimals"
    if name == "quality_cs":
        assert re.search(r"Prvních 20 z [\d\xa0]+ adres:", visible) and "Důvod" in _table_headings(czech)
        assert "pravděpodobný překlep: " in visible and "likely typo" not in visible
        assert "invalid format" not in visible and "likely typo: " in html.unescape(english)


def test_exports_keep_the_program_values_whatever_the_report_language(rendered, cache_dir):
    """The Czech quality report wrote its CSV too: reasons and columns stay English."""
    exports = sorted((cache_dir / "exports").glob("addresses-to-fix_*.csv"))
    assert exports
    for path in exports:
        table = pd.read_csv(path)
        assert list(table.columns[:2]) == ["email", "reason"]
        assert table["reason"].str.match(r"likely typo: .+ \u2192 .+|invalid format$").all(), path.name


def test_czech_overview_tables_and_values(rendered):
    visible = html.unescape(_visible(rendered.html["overview_cs"]))
    for heading in ("Závažnost", "Problém", "Co udělat", "Naposledy"):
        assert f">{heading}<" in rendered.html["overview_cs"]
    assert "kritické" in visible and "zjištěn" in visible


# --------------------------------------------------------------------------- a real browser

def _screenshot_module():
    spec = importlib.util.spec_from_file_location("screenshot_report", ROOT / "scripts" / "screenshot_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_opens_in_headless_chromium(rendered, tmp_path):
    shot = _screenshot_module()
    browser = shot.find_chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    report = rendered.overview_path
    command = shot.chromium_command(browser, str(tmp_path / "profile"), "--enable-logging=stderr", "--v=0",
                                    "--dump-dom", report.as_uri())
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    title = re.search(r"<title>(.*?)</title>", rendered.html["overview"], re.S).group(1)
    assert f"<title>{title}</title>" in dom
    assert "Problems to act on" in dom and "What to do" in dom and "CRITICAL" in dom.upper()
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    png = tmp_path / "overview.png"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshot_report.py"), str(report), "-o", str(png)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 50_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 4000)


def test_screenshot_script_without_chromium_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    shot = _screenshot_module()
    monkeypatch.setattr(shot, "CANDIDATES", (str(tmp_path / "no-chromium"), "no-such-chromium-browser"))
    report = tmp_path / "r.html"
    report.write_text("<html></html>", encoding="utf-8")
    assert shot.main([str(report)]) == 2
    assert "apt-get install chromium" in capsys.readouterr().err


def test_report_api_is_documented():
    doc = render_report.__doc__
    for word in ("notebook", "data_dir", "since", "until", "campaigns", "mask_emails", "output", "Returns", "Raises"):
        assert word in doc
