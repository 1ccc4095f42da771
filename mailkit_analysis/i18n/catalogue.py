"""The message catalogues: gettext ``.po`` files shipped inside the package.

``mailkit_analysis/locale/<lang>/LC_MESSAGES/mailkit_analysis.po`` is the one source of every
translated text. It is read at run time with Babel and compiled in memory to the ``.mo`` form
the standard library's :mod:`gettext` reads, so the same file works from a clone, an editable
install and a wheel, with no build step to forget. Plural forms come from the catalogue's
``Plural-Forms`` header (Czech has three: 1 problém, 3 problémy, 5 problémů).

English is the source language: its "translation" returns the text it is given.
"""
from __future__ import annotations

import functools
import gettext as gettext_module
import io
from importlib import resources

from ..errors import MailkitError
from .setting import DEFAULT_LANGUAGE, resolve_language

__all__ = ["DOMAIN", "CatalogueError", "catalogue_path", "translation", "gettext", "ngettext", "pgettext",
           "N_", "NC_"]

#: The gettext domain: the file name of every catalogue.
DOMAIN = "mailkit_analysis"


class CatalogueError(MailkitError):
    """A language's catalogue is missing from the installed package or cannot be read."""


def catalogue_path(lang: str):
    """The ``.po`` file of ``lang`` inside the installed package (an importlib Traversable)."""
    return resources.files("mailkit_analysis").joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.po")


def translation(lang: str | None = None) -> gettext_module.NullTranslations:
    """The translations of ``lang`` (see :func:`~.setting.resolve_language`).

    Returns
    -------
    gettext.NullTranslations
        ``gettext``, ``ngettext`` and ``pgettext`` in that language; for English, the texts as
        given (with English plural rules).

    Raises
    ------
    CatalogueError
        The catalogue of a supported language is missing or broken.
    """
    return _load(resolve_language(lang))


@functools.lru_cache(maxsize=None)
def _load(lang: str) -> gettext_module.NullTranslations:
    if lang == DEFAULT_LANGUAGE:
        return gettext_module.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import PoFileError, read_po

    path = catalogue_path(lang)
    try:
        with path.open("rb") as stream:
            catalog = read_po(stream, locale=lang, domain=DOMAIN, abort_invalid=True)
    except FileNotFoundError:
        raise CatalogueError(f"The {lang!r} catalogue {DOMAIN}.po is missing from the installed package "
                             f"(locale/{lang}/LC_MESSAGES/); reinstall mailkit-analysis.") from None
    except (PoFileError, ValueError) as exc:
        raise CatalogueError(f"The {lang!r} catalogue locale/{lang}/LC_MESSAGES/{DOMAIN}.po cannot be read: "
                             f"{exc}") from None
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is a guess, not a translation
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def gettext(message: str, lang: str | None = None) -> str:
    """``message`` in ``lang`` (default: the language in force)."""
    return translation(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int, lang: str | None = None) -> str:
    """The form of ``singular``/``plural`` that fits the count ``n``, in ``lang``.

    Format the count into the result yourself: ``ngettext("{n} problem", "{n} problems",
    n).format(n=...)``.
    """
    return translation(lang).ngettext(singular, plural, int(n))


def pgettext(context: str, message: str, lang: str | None = None) -> str:
    """``message`` in ``lang``, told apart from the same English text by ``context``."""
    return translation(lang).pgettext(context, message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (module-level texts:
    translate them with :func:`gettext` where they are shown)."""
    return message


def NC_(context: str, message: str) -> str:
    """Mark ``message`` under ``context`` for the catalogue without translating it now
    (translate it with :func:`pgettext` where it is shown)."""
    return message
