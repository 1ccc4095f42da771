"""Languages: the setting, the Czech catalogue, CLDR formatting, chart texts and packaging."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from babel.messages.pofile import read_po

from mailkit_analysis import i18n
from mailkit_analysis.codes import CATALOGUE, code_label, lookup
from mailkit_analysis.i18n.extract import extract_template
from mailkit_analysis.presentation import labels

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "mailkit_analysis" / "locale" / "cs" / "LC_MESSAGES" / "mailkit_analysis.po"
NBSP = "\xa0"


@pytest.fixture(autouse=True)
def no_language_setting(monkeypatch):
    from mailkit_analysis.i18n import setting

    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    monkeypatch.setattr(setting, "_session", None)  # restored after the test, whatever it set


def _catalog():
    with PO.open("rb") as stream:
        return read_po(stream, locale="cs")


# --------------------------------------------------------------------------- the setting

def test_argument_beats_session_beats_environment_beats_english(monkeypatch):
    assert i18n.resolve_language() == "en"
    monkeypatch.setenv(i18n.ENV_VAR, "cs_CZ.UTF-8")
    assert i18n.resolve_language() == "cs"
    i18n.set_language("en")
    assert i18n.resolve_language() == "en"
    assert i18n.resolve_language("cs-CZ") == "cs"
    with i18n.language("cs"):
        assert i18n.gettext("Severity") == "Závažnost"
    assert i18n.gettext("Severity") == "Severity"  # the block restored the session's English


def test_unknown_language_is_a_usage_error_naming_the_setting(monkeypatch):
    with pytest.raises(i18n.UnknownLanguageError, match=r"lang: unknown language 'de'.*en, cs"):
        i18n.resolve_language("de")
    monkeypatch.setenv(i18n.ENV_VAR, "klingon")
    with pytest.raises(ValueError, match=i18n.ENV_VAR):
        i18n.resolve_language()


# --------------------------------------------------------------------------- the catalogue

def test_catalogue_holds_every_marked_text_and_nothing_else():
    template = extract_template(ROOT / "mailkit_analysis", ROOT / "notebooks")
    marked = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in template if m.id}
    catalogue = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _catalog() if m.id}
    assert len(marked) > 100
    assert not marked - catalogue, f"not in the catalogue (run scripts/update_catalogue.py): {marked - catalogue}"
    assert not catalogue - marked, f"no longer used: {catalogue - marked}"


def test_every_czech_text_is_translated_with_the_same_placeholders():
    catalog = _catalog()
    assert catalog.num_plurals == 3
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = set(re.findall(r"\{\w+\}", ids[-1]))
        for text in strings:
            if set(re.findall(r"\{\w+\}", text)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r} -> {text!r}")
    assert not problems, "\n".join(problems)



#: Every language with a catalogue (English is the source).
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT_LANGUAGE]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_language_has_a_complete_catalogue_with_its_plural_forms(lang):
    """What a new language needs (README, "Languages"), named by what is missing."""
    from babel.messages.plurals import get_plural

    po = ROOT / "mailkit_analysis" / "locale" / lang / "LC_MESSAGES" / "mailkit_analysis.po"
    assert po.is_file(), f"{lang}: no catalogue {po.relative_to(ROOT)} (see README, Languages)"
    with po.open("rb") as stream:
        catalog = read_po(stream, locale=lang)
    assert str(catalog.locale) == lang
    assert catalog.num_plurals == get_plural(lang).num_plurals, f"{lang}: Plural-Forms differs from CLDR's"
    template = extract_template(ROOT / "mailkit_analysis", ROOT / "notebooks")
    marked = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in template if m.id}
    held = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}
    assert not marked - held, f"{lang}: run scripts/update_catalogue.py, then translate: {sorted(marked - held)[:5]}"
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings) or len(strings) != (catalog.num_plurals if len(ids) > 1 else 1):
            problems.append(f"untranslated: {ids[0]!r}")
        elif any(set(re.findall(r"\{\w+\}", text)) != set(re.findall(r"\{\w+\}", ids[-1])) for text in strings):
            problems.append(f"placeholders differ: {ids[0]!r}")
    assert not problems, f"{lang}:\n" + "\n".join(problems)
    assert i18n.translation(lang).gettext("Severity") not in ("", None)


@pytest.mark.parametrize("count, word", [(1, "problém"), (3, "problémy"), (4, "problémy"), (5, "problémů"),
                                         (22, "problémů"), (0, "problémů")])
def test_czech_plural_forms(count, word):
    text = i18n.ngettext("{n} other flag", "{n} other flags", count, "cs").format(n=count)
    assert text.split()[-1] == word and text.startswith(f"{count} ")
    english = i18n.ngettext("{n} other flag", "{n} other flags", count, "en").format(n=count)
    assert english == f"{count} other flag{'' if count == 1 else 's'}"


def test_code_catalogue_speaks_czech():
    with i18n.language("cs"):
        assert code_label(2) == "2 neplatná adresa"
        assert code_label(99) == "99 neznámý kód"
        assert labels.severity_label("critical") == "kritické"
        assert labels.category_label("recipient data") == "údaje příjemců"
        assert labels.bucket_label("other") == "ostatní"
        for entry in CATALOGUE.values():
            assert entry.remedy_text() != entry.remedy and entry.description() != entry.english
    assert code_label(2) == "2 invalid_address" and lookup(6).remedy_text("en") == lookup(6).remedy


def test_every_value_vocabulary_is_in_the_catalogue():
    from mailkit_analysis.analysis.summaries import NO_CAMPAIGN, NO_DOMAIN, OTHER
    from mailkit_analysis.codes import CATEGORIES, UNKNOWN

    assert set(labels._BUCKETS) == {OTHER, NO_CAMPAIGN, NO_DOMAIN}
    assert set(labels._CATEGORIES) == set(CATEGORIES)
    assert set(labels._NAMES) == {e.name for e in CATALOGUE.values()} | {UNKNOWN.name}
    with i18n.language("cs"):
        for value in (*labels._BUCKETS, *labels._CATEGORIES):
            assert labels.value_label("category", value) != value or labels.bucket_label(value) != value


# --------------------------------------------------------------------------- formatting

def test_numbers_percentages_and_dates_the_czech_way():
    moment = pd.Timestamp("2026-11-18 09:03", tz="UTC")  # 10:03 in Prague
    assert i18n.format_number(1234, "cs") == f"1{NBSP}234"
    assert i18n.format_number(1234567.891, "cs") == f"1{NBSP}234{NBSP}567,89"
    assert i18n.format_percent(0.36, "cs") == f"36,0{NBSP}%"
    assert i18n.format_datetime(moment, "cs") == "18. 11. 2026 10:03"
    assert i18n.format_date(moment, "cs") == "18. 11. 2026"
    assert i18n.format_number(1234, "en") == "1,234"
    assert i18n.format_percent(0.36, "en") == "36.0%"
    assert i18n.format_datetime(moment, "en") == "2026-11-18 10:03"
    assert i18n.format_number(None, "cs") == i18n.EMPTY and i18n.format_datetime(pd.NaT, "cs") == i18n.EMPTY


# --------------------------------------------------------------------------- charts

def test_czech_chart_texts_ticks_and_diacritics_in_the_svg(tmp_path):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mailkit_analysis.presentation import plots

    counts = pd.DataFrame({2: [1200, 900, 1500], 6: [300, 200, 100]},
                          index=pd.date_range("2026-11-16", periods=3, freq="D", tz="Europe/Prague"))
    with i18n.language("cs"):
        ax = plots.plot_codes_over_time(counts, freq="D")
    ax.figure.canvas.draw()
    assert ax.get_title() == "Chyby po dnech podle kódu"
    assert ax.get_ylabel() == "počet chybových záznamů"
    assert ax.get_legend().get_title().get_text() == "kód chyby"
    assert "2 neplatná adresa" in [t.get_text() for t in ax.get_legend().get_texts()]
    y_ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert f"1{NBSP}000" in y_ticks, y_ticks
    x_ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "17. 11." in x_ticks, x_ticks
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text in the SVG
        ax.figure.savefig(tmp_path / "chart.svg")
    plt.close(ax.figure)
    svg = (tmp_path / "chart.svg").read_text(encoding="utf-8")
    for text in ("Chyby po dnech podle kódu", "počet chybových záznamů", "neplatná adresa", "odhlášená adresa"):
        assert text in svg

    with i18n.language("en"):
        english = plots.plot_codes_over_time(counts, freq="D")
    english.figure.canvas.draw()
    assert english.get_title() == "Errors per day by code"
    assert "1,000" in [t.get_text() for t in english.get_yticklabels()]
    plt.close(english.figure)


def test_czech_rate_axis_and_severity_lanes():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mailkit_analysis.presentation import plots

    table = pd.DataFrame({"campaign_id": [1, 2], "campaign_name": ["Objednávka", "Faktura"], "errors": [30, 10],
                          "recipients": [200, 400], "code_2": [30, 10]})
    with i18n.language("cs"):
        ax = plots.plot_top_campaigns(table, by="error_rate", min_recipients=1)
        ax.figure.canvas.draw()
        ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert ticks and all(t.endswith(f"{NBSP}%") for t in ticks), ticks
        assert ax.get_title() == "Kampaně podle chybovosti"
        plt.close(ax.figure)
        lanes = plots.plot_flags_timeline(pd.DataFrame(columns=["severity", "first_seen", "last_seen",
                                                                "error_code"]))
        assert [t.get_text() for t in lanes.get_yticklabels()] == ["kritické", "varování", "informace"]
        plt.close(lanes.figure)


# --------------------------------------------------------------------------- packaging

def test_a_built_wheel_carries_the_catalogue_and_loads_it(tmp_path):
    """Build a wheel from a copy of the sources (no network: the test extra has setuptools),
    and translate through the catalogue inside it."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "mailkit_analysis", source / "mailkit_analysis",
                    ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=240)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((tmp_path / "dist").glob("mailkit_analysis-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert "mailkit_analysis/locale/cs/LC_MESSAGES/mailkit_analysis.po" in archive.namelist()
        archive.extractall(tmp_path / "installed")
    probe = ("import mailkit_analysis, sys; from mailkit_analysis import i18n; "
             "print(mailkit_analysis.__file__); "
             "print(i18n.ngettext('{n} other flag', '{n} other flags', 5, 'cs').format(n=5))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "installed"), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    where, text = run.stdout.splitlines()
    assert where.startswith(str(tmp_path / "installed"))
    assert text == "5 jiných problémů"
