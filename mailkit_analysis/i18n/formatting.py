"""Numbers, percentages and dates as a reader of the language writes them, from CLDR (Babel).

=========  ====================  =====================
           English               Czech
=========  ====================  =====================
number     ``1,234``             ``1 234``
percent    ``36.0%``             ``36,0 %``
date-time  ``2026-11-18 10:03``  ``18. 11. 2026 10:03``
=========  ====================  =====================

Czech separates thousands and the percent sign with a no-break space (CLDR's choice, so a
number never breaks across lines). English dates stay ISO 8601: the English readers of these
reports are international and ``11/18`` reads differently in the US and in Europe; every other
language gets its CLDR medium date and short time. Times are Europe/Prague, like the data.
"""
from __future__ import annotations

import datetime as dt
import math

from .setting import DEFAULT_LANGUAGE, resolve_language

__all__ = ["EMPTY", "format_number", "format_percent", "format_datetime", "format_date", "format_time",
           "format_skeleton", "locale_of"]

#: Shown for a missing value in every language.
EMPTY = "–"
_ISO_DATE, _ISO_TIME = "yyyy-MM-dd", "HH:mm"


def locale_of(lang: str | None = None):
    """The Babel ``Locale`` of ``lang`` (English is ``en``, with CLDR's English conventions)."""
    from babel import Locale

    return Locale.parse(resolve_language(lang))


def _missing(value) -> bool:
    import pandas as pd  # here, not at the top: the command line starts without pandas

    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def format_number(value, lang: str | None = None, decimals: int | None = None) -> str:
    """A number with the language's grouping and decimal sign: ``1 234`` / ``1,234``.

    Parameters
    ----------
    value : int or float
    lang : str, optional
        Default: the language in force.
    decimals : int, optional
        Exactly this many decimals; default: whole numbers as they are, other numbers with up
        to two decimals.
    """
    from babel.numbers import format_decimal

    if _missing(value):
        return EMPTY
    if decimals is None:
        pattern = "#,##0" if float(value).is_integer() else "#,##0.##"
    else:
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=locale_of(lang))


def format_percent(share, lang: str | None = None, decimals: int = 1) -> str:
    """A share (0.36) as a percentage: ``36,0 %`` / ``36.0%``.

    The language's CLDR percent pattern decides where the sign goes and whether a space comes
    before it; ``decimals`` only sets the precision.
    """
    from babel.numbers import format_percent as babel_percent

    if _missing(share):
        return EMPTY
    locale = locale_of(lang)
    pattern = locale.percent_formats[None].pattern
    if decimals > 0:
        pattern = pattern.replace("0", "0." + "0" * decimals, 1) if "0." not in pattern else pattern
    return babel_percent(float(share), format=pattern, locale=locale, decimal_quantization=True)


def _prague(value) -> dt.datetime:
    from ..prague_time import to_prague  # the one rule for naive and ambiguous Prague times

    return to_prague(value).to_pydatetime()


def _patterns(lang: str) -> tuple[str, str, str]:
    """(date, time, "{1} {0}"-style joining) patterns of ``lang``."""
    if lang == DEFAULT_LANGUAGE:
        return _ISO_DATE, _ISO_TIME, "{1} {0}"
    from babel.dates import get_date_format, get_datetime_format, get_time_format

    locale = locale_of(lang)
    return (get_date_format("medium", locale).pattern, get_time_format("short", locale).pattern,
            get_datetime_format("medium", locale))


def format_datetime(value, lang: str | None = None) -> str:
    """A moment in Prague time: ``18. 11. 2026 10:03`` / ``2026-11-18 10:03``."""
    from babel.dates import format_datetime as babel_datetime

    if _missing(value):
        return EMPTY
    lang = resolve_language(lang)
    date_pattern, time_pattern, joined = _patterns(lang)
    moment = _prague(value)
    pattern = joined.replace("{1}", date_pattern).replace("{0}", time_pattern)
    return babel_datetime(moment, format=pattern, tzinfo=moment.tzinfo, locale=locale_of(lang))


def format_date(value, lang: str | None = None) -> str:
    """A day (Prague time): ``18. 11. 2026`` / ``2026-11-18``."""
    from babel.dates import format_date as babel_date

    if _missing(value):
        return EMPTY
    lang = resolve_language(lang)
    return babel_date(_prague(value).date(), format=_patterns(lang)[0], locale=locale_of(lang))


def format_time(value, lang: str | None = None) -> str:
    """A time of day (Prague time): ``10:03``."""
    from babel.dates import format_time as babel_time

    if _missing(value):
        return EMPTY
    lang = resolve_language(lang)
    moment = _prague(value)
    return babel_time(moment, format=_patterns(lang)[1], tzinfo=moment.tzinfo, locale=locale_of(lang))


def format_skeleton(value, skeleton: str, lang: str | None = None) -> str:
    """A date in a CLDR skeleton (``"MMMd"``, ``"yMMM"``), the language's own order and words."""
    from babel.dates import format_skeleton as babel_skeleton

    moment = _prague(value)
    return babel_skeleton(skeleton, moment, tzinfo=moment.tzinfo, locale=locale_of(lang))
