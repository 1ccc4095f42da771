#!/usr/bin/env python3
"""Bring every language's catalogue in step with the texts marked in the code and notebooks.

Usage::

    python scripts/update_catalogue.py            # update the .po files
    python scripts/update_catalogue.py --check    # exit 1 if a .po file is out of step

New texts are added untranslated, texts no longer marked are removed, translations are kept.
Then translate the empty ``msgstr`` entries (any .po editor, or by hand) and run the tests:
``tests/test_i18n.py`` fails while a text is untranslated. A new language: create its folder
``mailkit_analysis/locale/<code>/LC_MESSAGES/`` with a ``mailkit_analysis.po`` holding only a
header (``Language`` and ``Plural-Forms``), add the code to ``LANGUAGES`` in
``mailkit_analysis/i18n/setting.py``, and run this script.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from babel.messages.pofile import read_po, write_po  # noqa: E402

from mailkit_analysis.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES  # noqa: E402
from mailkit_analysis.i18n.extract import extract_template  # noqa: E402


def _render(catalog) -> bytes:
    out = io.BytesIO()
    # No line numbers: the catalogue changes when a text does, not when code moves around it.
    write_po(out, catalog, width=100, sort_output=False, ignore_obsolete=True, include_previous=False,
             include_lineno=False)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether a catalogue is out of step")
    args = parser.parse_args(argv)
    template = extract_template(ROOT / "mailkit_analysis", ROOT / "notebooks")
    stale = []
    for lang in LANGUAGES:
        if lang == DEFAULT_LANGUAGE:
            continue
        path = ROOT / "mailkit_analysis" / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        before = path.read_bytes()
        catalog = read_po(io.BytesIO(before), locale=lang, domain=DOMAIN)
        template.creation_date = catalog.creation_date  # a stable header: only texts make a change
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        after = _render(catalog)
        untranslated = sum(1 for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple)
                                                                   else m.string))
        if after != before:
            stale.append(lang)
            if not args.check:
                path.write_bytes(after)
        print(f"{lang}: {len(catalog)} texts, {untranslated} untranslated"
              + (" (out of step)" if after != before else ""))
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
