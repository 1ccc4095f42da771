"""Tables as a reader sees them: headings, values, the "first N of M" line and the sentences for
an empty table or chart in the report's language; whole-number counts without decimals."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from mailkit_analysis import i18n
from mailkit_analysis.presentation import labels
from mailkit_analysis.presentation import notebook_helpers as nbh

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\xa0"

#: The addresses-to-fix table of notebook 03, as the notebook asks for it.
FIX_HEADINGS = {"email": "Address", "reason": "Why", "suggested_email": "Suggested address", "rows": "Rows",
                "last_seen": "Last seen", "campaign_ids": "Campaigns"}


@pytest.fixture(autouse=True)
def english_by_default(monkeypatch):
    from mailkit_analysis.i18n import setting

    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    monkeypatch.setattr(setting, "_session", None)


@pytest.fixture
def shown(monkeypatch) -> list[str]:
    """What the helpers display: the Markdown sentences and the HTML tables, as text."""
    out: list[str] = []
    monkeypatch.setattr(nbh, "_display", lambda obj, **kw: out.append(getattr(obj, "data", str(obj))))
    return out


def _fix_table() -> pd.DataFrame:
    table = pd.DataFrame({
        "email": pd.array(["j***@gmial.com", "p***@@seznam.cz", "k***@seznan.cz"], dtype="string"),
        "reason": pd.array(["likely typo: gmial.com \u2192 gmail.com", "invalid format",
                            "likely typo: seznan.cz \u2192 seznam.cz"], dtype="string"),
        "suggested_email": pd.array(["j***@gmail.com", None, "k***@seznam.cz"], dtype="string"),
        "rows": pd.array([8, 3, 2], dtype="Int64"),
        "last_seen": pd.to_datetime(["2026-11-19 11:50", "2026-11-18 10:03", "2026-11-02 08:00"]).tz_localize(
            "Europe/Prague"),
        "campaign_ids": pd.array(["41079, 41090", "41108", "41230"], dtype="string"),
    })
    table.attrs["total"] = 919
    return table


def _headings(markup: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th\b[^>]*>(.*?)</th>", markup, re.S)]


def test_czech_table_has_czech_headings_values_and_count_line(shown):
    with i18n.language("cs"):
        nbh.show_table(_fix_table(), FIX_HEADINGS, max_rows=2, what="addresses")
    line, markup = shown
    assert line == "První 2 z 919 adres:"
    assert _headings(markup) == ["Adresa", "Důvod", "Navržená adresa", "Záznamy", "Naposledy", "Kampaně"]
    assert "pravděpodobný překlep: gmial.com \u2192 gmail.com" in markup and "neplatný formát" in markup
    assert not {"Address", "Why", "Suggested address", "Rows", "Last seen", "Campaigns"} & set(_headings(markup))
    assert "likely typo" not in markup and "invalid format" not in markup


def test_english_table_is_as_the_notebook_names_it(shown):
    nbh.show_table(_fix_table(), FIX_HEADINGS, max_rows=2, what="addresses")
    line, markup = shown
    assert line == "The first 2 of 919 addresses:"
    assert _headings(markup) == list(FIX_HEADINGS.values())
    assert "likely typo: gmial.com \u2192 gmail.com" in markup and "invalid format" in markup
    assert "překlep" not in markup and "Důvod" not in markup


def test_the_table_shown_leaves_the_frame_in_english(shown):
    table = _fix_table()
    with i18n.language("cs"):
        nbh.show_table(table, FIX_HEADINGS)
    assert list(table.columns) == list(FIX_HEADINGS)  # the names programs read
    assert table["reason"].iloc[1] == "invalid format"


@pytest.mark.parametrize("shown_rows, total, first", [(1, 2, "První 1 z 2"), (3, 40, "První 3 z 40"),
                                                      (15, 33, "Prvních 15 z 33")])
def test_first_of_line_in_czech_plural_forms_with_the_genitive(shown_rows, total, first):
    with i18n.language("cs"):
        assert labels.first_of_line(shown_rows, total, "campaigns") == f"{first} kampaní:"
        assert labels.first_of_line(shown_rows, total, "sends") == f"{first} rozesílek:"
        assert labels.first_of_line(shown_rows, total, "recipients") == f"{first} příjemců:"
        assert labels.first_of_line(shown_rows, total, "domains") == f"{first} domén:"
        assert labels.first_of_line(shown_rows, total) == f"{first} záznamů:"
    assert labels.first_of_line(shown_rows, total, "domains") == f"The first {shown_rows} of {total} domains:"


def test_whole_number_floats_show_as_integers(shown):
    # Counts with a gap (a send without a delivery report) arrive as floats.
    table = pd.DataFrame({"id_send": [53778.0, 52219.0, 53267.0], "recipients": [109.0, float("nan"), 1234.0],
                          "delivered": [109.0, 0.0, 1200.0], "ratio": [1.5, 2.0, 0.25]})
    with i18n.language("cs"):
        nbh.show_table(table, {"id_send": "Send", "recipients": "Recipients", "delivered": "Delivered",
                               "ratio": "ratio"})
    nbh.show_table(table)
    czech, english = shown
    cells = lambda markup: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td\b[^>]*>(.*?)</td>",  # noqa: E731
                                                                               markup, re.S)]
    assert cells(czech)[:4] == ["53778", "109", "109", "1,50"]
    assert f"1{NBSP}234" in cells(czech) and f"1{NBSP}200" in cells(czech) and i18n.EMPTY in cells(czech)
    assert cells(english)[:4] == ["53778", "109", "109", "1.50"] and "1,234" in cells(english)
    assert "109,00" not in czech and "109.00" not in english and "0,00" not in czech
    assert "2,00" in cells(czech) and "0,25" in cells(czech)  # a column of fractions keeps its decimals
    assert _headings(czech)[:3] == ["Rozesílka", "Příjemci", "Doručeno"]


def test_empty_table_chart_and_flags_say_so_in_the_language(shown):
    with i18n.language("cs"):
        nbh.show_table(pd.DataFrame(), empty="No address to fix in this window.")
        nbh.show_chart(lambda data: None, [], empty="No problems flagged, so no timeline.")
        nbh.show_flags(pd.DataFrame(), empty="No problem flagged for this choice in the window.")
        nbh.show_table(pd.DataFrame(), empty="A sentence of the caller's own.")
    assert shown == ["V tomto období není žádná adresa k opravě.",
                     "Nebyl zjištěn žádný problém, takže na časové ose není co ukázat.",
                     "Pro tento výběr nebyl v tomto období zjištěn žádný problém.",
                     "A sentence of the caller's own."]
    shown.clear()
    nbh.show_table(pd.DataFrame(), empty="No address to fix in this window.")
    assert shown == ["No address to fix in this window."]


def _notebook_texts() -> tuple[set[str], set[str], set[str]]:
    """The headings, empty sentences and ``what`` words the notebooks' code cells give the helpers."""
    headings, sentences, whats = set(), set(), set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "\n".join("" if line.lstrip().startswith("%") else line
                               for line in "".join(cell["source"]).splitlines())
            for call in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)):
                name = getattr(call.func, "attr", getattr(call.func, "id", ""))
                if name not in ("show_table", "show_chart", "show_flags"):
                    continue
                if name == "show_table" and len(call.args) > 1 and isinstance(call.args[1], ast.Dict):
                    headings |= {v.value for v in call.args[1].values if isinstance(v, ast.Constant)}
                for keyword in call.keywords:
                    if keyword.arg == "wide" and isinstance(keyword.value, ast.Tuple):
                        headings |= {e.value for e in keyword.value.elts if isinstance(e, ast.Constant)}
                    elif isinstance(keyword.value, ast.Constant) and keyword.arg in ("empty", "what"):
                        (sentences if keyword.arg == "empty" else whats).add(keyword.value.value)
    return headings, sentences, whats


def test_every_heading_and_sentence_of_the_notebooks_speaks_czech():
    headings, sentences, whats = _notebook_texts()
    assert len(headings) > 25 and len(sentences) > 10 and whats
    with i18n.language("cs"):
        english = sorted(h for h in headings if labels.heading_label(h) == h and h not in ("ID", "INFO"))
        assert not english, f"headings without a Czech text (labels._HEADINGS): {english}"
        english = sorted(s for s in sentences if labels.sentence_label(s) == s)
        assert not english, f"sentences without a Czech text (labels._SENTENCES): {english}"
        english = sorted(w for w in whats if w in labels.first_of_line(2, 9, w))
        assert not english, f"counted things without a Czech line (labels._first_of): {english}"
