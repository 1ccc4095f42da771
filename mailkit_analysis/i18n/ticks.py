"""Matplotlib tick formatters that write numbers, percentages and dates like :mod:`.formatting`.

Each takes its language when made (default: the language in force), so a chart drawn in Czech
keeps Czech ticks even if it is redrawn later in another session language.
"""
from __future__ import annotations

import datetime as dt

import matplotlib.dates as mdates
from matplotlib.ticker import Formatter

from ..prague_time import PRAGUE
from .formatting import format_date, format_number, format_percent, format_skeleton, format_time
from .setting import resolve_language

__all__ = ["NumberTicks", "PercentTicks", "DateTicks", "localise_number_axis"]


class NumberTicks(Formatter):
    """``1 000`` / ``1,000``: whole ticks without decimals, others with up to two."""

    def __init__(self, lang: str | None = None):
        self.lang = resolve_language(lang)

    def __call__(self, x, pos=None) -> str:
        return format_number(round(float(x), 2), self.lang)


class PercentTicks(Formatter):
    """Shares (``xmax`` = 100 %) as ``36 %`` / ``36%``; one decimal when the axis spans under 5 %."""

    def __init__(self, xmax: float = 1.0, lang: str | None = None):
        self.xmax = float(xmax)
        self.lang = resolve_language(lang)

    def __call__(self, x, pos=None) -> str:
        low, high = self.axis.get_view_interval() if self.axis is not None else (0.0, self.xmax)
        decimals = 0 if abs(high - low) / self.xmax >= 0.05 else 1
        return format_percent(float(x) / self.xmax, self.lang, decimals=decimals)


class DateTicks(Formatter):
    """Date ticks in the language's words and order, in Prague time, as short as the ticks allow.

    Like matplotlib's ``ConciseDateFormatter``: ticks a year apart show the year, a month apart
    the month (``listopad 2026`` / ``Nov 2026``), a day apart the day (``18. 11.`` /
    ``Nov 18``), closer ones the time (``10:03``) with midnight shown as its day; the year, or
    the day of time ticks, goes to the axis' offset text.
    """

    def __init__(self, locator, lang: str | None = None):
        self.locator = locator
        self.lang = resolve_language(lang)
        self._offset = ""

    def _moments(self, values) -> list[dt.datetime]:
        return [mdates.num2date(v, tz=PRAGUE) for v in values]

    def format_ticks(self, values) -> list[str]:
        moments = self._moments(values)
        if not moments:
            self._offset = ""
            return []
        midnight = all(m.hour == 0 and m.minute == 0 for m in moments)
        if midnight and all(m.day == 1 and m.month == 1 for m in moments):
            self._offset = ""
            return [format_skeleton(m, "y", self.lang) for m in moments]
        if midnight and all(m.day == 1 for m in moments):
            self._offset = ""
            return [format_skeleton(m, "yMMM", self.lang) for m in moments]
        if midnight:
            years = {m.year for m in moments}
            self._offset = format_skeleton(moments[-1], "y", self.lang) if len(years) == 1 else ""
            skeleton = "MMMd" if len(years) == 1 else "yMMMd"
            return [format_skeleton(m, skeleton, self.lang) for m in moments]
        days = {m.date() for m in moments}
        self._offset = format_date(moments[-1], self.lang) if len(days) == 1 else ""
        return [format_skeleton(m, "MMMd", self.lang) if (m.hour, m.minute) == (0, 0) and len(days) > 1
                else format_time(m, self.lang) for m in moments]

    def __call__(self, x, pos=None) -> str:
        return self.format_ticks([x])[0]

    def get_offset(self) -> str:
        return self._offset


def localise_number_axis(axis, lang: str | None = None) -> None:
    """Give ``axis`` (``ax.xaxis`` / ``ax.yaxis``) number ticks in the language."""
    axis.set_major_formatter(NumberTicks(lang))
