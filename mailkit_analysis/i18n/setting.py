"""Which language a report, a chart or a command speaks.

The choice, strongest first: the ``lang`` argument of the call (``--lang`` on the command
line, ``render_report(..., lang=...)``, the notebook's ``lang`` parameter); the session's
language set with :func:`set_language` (what a notebook's ``nbh.setup(lang)`` does, so every
helper and chart of that notebook follows it); the ``MAILKIT_ANALYSIS_LANG`` environment
variable; English.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from ..errors import MailkitError

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "ENV_VAR", "UnknownLanguageError", "resolve_language",
           "set_language", "language"]

#: Languages the toolkit speaks: English (the source texts) and those with a catalogue.
LANGUAGES = ("en", "cs")
DEFAULT_LANGUAGE = "en"
#: Environment variable holding the default language.
ENV_VAR = "MAILKIT_ANALYSIS_LANG"

_session: str | None = None


class UnknownLanguageError(MailkitError, ValueError):
    """A language the toolkit has no catalogue for was asked for.

    A ``ValueError`` too, so the command line treats it as a usage error.
    """


def _normalise(value: str, where: str) -> str:
    # "cs_CZ.UTF-8", "cs-CZ" and "CS" all mean Czech; the region does not change the texts.
    text = str(value).strip().replace("-", "_").split(".")[0].split("_")[0].lower()
    if text not in LANGUAGES:
        raise UnknownLanguageError(
            f"{where}: unknown language {value!r}; choose one of {', '.join(LANGUAGES)}")
    return text


def resolve_language(lang: str | None = None) -> str:
    """The language to use: ``lang`` if given, else the session's, else ``$MAILKIT_ANALYSIS_LANG``,
    else English.

    Parameters
    ----------
    lang : str, optional
        ``"en"`` or ``"cs"`` (``"cs_CZ.UTF-8"`` and ``"cs-CZ"`` are read as ``"cs"``).

    Returns
    -------
    str
        One of :data:`LANGUAGES`.

    Raises
    ------
    UnknownLanguageError
        The argument, or the environment variable, names a language without a catalogue.
    """
    if lang is not None and str(lang).strip():
        return _normalise(lang, "lang")
    if _session is not None:
        return _session
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _normalise(env, ENV_VAR)
    return DEFAULT_LANGUAGE


def set_language(lang: str | None) -> str:
    """Set the session's language (None: back to ``$MAILKIT_ANALYSIS_LANG`` or English).

    Returns
    -------
    str
        The language now in force.
    """
    global _session
    _session = None if lang is None or not str(lang).strip() else _normalise(lang, "lang")
    return resolve_language()


@contextlib.contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Use ``lang`` as the session's language inside a ``with`` block (None changes nothing)."""
    global _session
    before = _session
    if lang is not None:
        _session = _normalise(lang, "lang")
    try:
        yield resolve_language()
    finally:
        _session = before
