"""Languages of the reports, charts and command line: English (the source) and Czech.

* :mod:`.setting`: which language is in force (argument > session > ``MAILKIT_ANALYSIS_LANG``
  > English).
* :mod:`.catalogue`: the gettext catalogue (``locale/<lang>/LC_MESSAGES/mailkit_analysis.po``),
  with the language's plural forms.
* :mod:`.formatting`: numbers, percentages and dates from CLDR (Babel).
* :mod:`.ticks`: matplotlib tick formatters that write the same.

Texts that programs read (``severity``, ``rule``, ``status``, column names of JSON and CSV)
are never translated.
"""
from __future__ import annotations

from .catalogue import DOMAIN, CatalogueError, N_, NC_, catalogue_path, gettext, ngettext, pgettext, translation
from .formatting import (
    EMPTY,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    format_skeleton,
    format_time,
)
from .setting import (
    DEFAULT_LANGUAGE,
    ENV_VAR,
    LANGUAGES,
    UnknownLanguageError,
    language,
    resolve_language,
    set_language,
)

__all__ = [
    "LANGUAGES", "DEFAULT_LANGUAGE", "ENV_VAR", "UnknownLanguageError", "resolve_language", "set_language",
    "language", "DOMAIN", "CatalogueError", "catalogue_path", "translation", "gettext", "ngettext", "pgettext",
    "N_", "NC_", "EMPTY", "format_number", "format_percent", "format_datetime", "format_date", "format_time",
    "format_skeleton",
]
