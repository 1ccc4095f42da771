"""Charts of a results frame, drawn with matplotlib.

Every function takes a results frame (and aggregates it first: a million rows become a few
hundred bars) or the aggregate itself from :mod:`.analysis`/:mod:`.flags`, draws on ``ax``
or on a new figure, and returns the Axes. Nothing here shows, saves or picks a backend: a
notebook displays the figure, a script or a test saves it (``MPLBACKEND=Agg`` when there is
no display).

A code has the same colour in every chart (:mod:`.palette`) and the same label
(:func:`mailkit_analysis.codes.code_label`, e.g. ``"2 invalid_address"``). Long lists
(300 campaigns, thousands of domains) are cut to the top N plus one ``other`` bucket.

Titles, axis labels, legends and ticks speak the language in force when the chart is drawn
(:func:`mailkit_analysis.i18n.resolve_language`: ``with i18n.language("cs"): ...``, a
notebook's ``nbh.setup(lang)``, or ``$MAILKIT_ANALYSIS_LANG``); numbers and dates on the axes
are written the language's way (``1 000``, ``36 %``, ``18. 11.``).
"""
from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from ..analysis.flags import SEVERITIES
from ..analysis.summaries import (
    OTHER,
    by_campaign,
    campaign_code_matrix,
    campaign_label,
    counts_over_time,
    normalise_freq,
    recipient_domains,
)
from ..codes import code_label
from ..prague_time import PRAGUE
from ..i18n import N_, format_number, gettext as _, ngettext
from ..i18n.ticks import DateTicks, NumberTicks, PercentTicks
from .labels import bucket_label, severity_label
from .palette import (
    SEVERITY_COLOURS,
    SEVERITY_MARKERS,
    TYPO_COLOUR,
    UNKNOWN_HATCH,
    code_colour,
    code_hatch,
)

__all__ = [
    "plot_codes_over_time",
    "plot_campaign_heatmap",
    "plot_top_campaigns",
    "plot_recipient_domains",
    "plot_flags_timeline",
]

_PERIOD_DAYS = {"h": 1 / 24, "D": 1.0, "W": 7.0}
_PERIOD_TITLES = {"h": N_("Errors per hour by code"), "D": N_("Errors per day by code"),
                  "W": N_("Errors per week by code")}
_MAX_BARS = 120  # beyond this many periods, stacked bars turn to noise: draw areas
_ANNOTATE_CELLS = 300


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    ax = plt.subplots(figsize=figsize, layout="constrained")[1]
    return ax


def _is_results(data) -> bool:
    return isinstance(data, pd.DataFrame) and {"error_code", "date", "request_id"} <= set(data.columns)


def _date_numbers(times) -> np.ndarray:
    """Matplotlib date numbers of zone-aware times (matplotlib counts in UTC)."""
    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return mdates.date2num(index.to_numpy())


def _prague_date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(tz=PRAGUE)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(DateTicks(locator))


def _style_patches(patches, code) -> None:
    hatch = code_hatch(code)
    for patch in patches:
        if hatch:
            patch.set_hatch(hatch)
            patch.set_edgecolor("#404040")  # the hatch is drawn in the edge colour


def _legend_outside(ax) -> None:
    """The code legend right of the axes, where it never hides a bar."""
    ax.legend(title=_("error code"), loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
              frameon=False)


def _code_of(column) -> int:
    return int(str(column).removeprefix("code_"))


# --------------------------------------------------------------------------- over time

def plot_codes_over_time(data, freq: str = "D", codes=None, kind: str = "auto", ax=None):
    """Stacked error rows per period, one colour per code.

    Parameters
    ----------
    data : pandas.DataFrame
        A results frame, or the output of :func:`~mailkit_analysis.analysis.summaries.counts_over_time`.
    freq : {"h", "D", "W"}
        Period, when ``data`` is a results frame (Prague local time).
    codes : iterable of int, optional
        Only these codes.
    kind : {"auto", "bar", "area"}
        Stacked bars, or stacked areas; ``auto`` draws bars up to 120 periods.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    unit = normalise_freq(freq)
    counts = counts_over_time(data, unit, codes) if _is_results(data) else data
    if codes is not None and not _is_results(data):
        counts = counts.reindex(columns=list(codes), fill_value=0)
    ax = _new_axes(ax, (11, 4.5))
    if not _is_results(data) and len(counts.index) > 1:
        step = float(np.median(np.diff(_date_numbers(counts.index))))
    else:
        step = _PERIOD_DAYS[unit]
    if kind == "auto":
        kind = "bar" if len(counts) <= _MAX_BARS else "area"
    if kind not in ("bar", "area"):
        raise ValueError(f"kind must be 'auto', 'bar' or 'area', not {kind!r}")
    x = _date_numbers(counts.index)
    if counts.empty or counts.shape[1] == 0:
        ax.text(0.5, 0.5, _("no error rows"), transform=ax.transAxes, ha="center", va="center")
    elif kind == "bar":
        bottom = np.zeros(len(counts))
        for code in counts.columns:
            values = counts[code].to_numpy(dtype=float)
            drawn = values > 0  # zero-height bars cost drawing time and show nothing
            bars = ax.bar(x[drawn], values[drawn], width=0.85 * step, bottom=bottom[drawn], align="edge",
                          color=code_colour(code), label=code_label(code), linewidth=0)
            _style_patches(bars.patches, code)
            bottom += values
    else:
        layers = ax.stackplot(x, *[counts[c].to_numpy(dtype=float) for c in counts.columns],
                              colors=[code_colour(c) for c in counts.columns],
                              labels=[code_label(c) for c in counts.columns], linewidth=0)
        for layer, code in zip(layers, counts.columns):
            if code_hatch(code):
                layer.set_hatch(UNKNOWN_HATCH)
                layer.set_edgecolor("#404040")
    _prague_date_axis(ax)
    ax.set_ylabel(_("error rows"))
    ax.yaxis.set_major_formatter(NumberTicks())
    ax.set_title(_(_PERIOD_TITLES[unit]))
    if len(counts.columns) and not counts.empty:
        _legend_outside(ax)
    ax.margins(x=0.01)
    return ax


# --------------------------------------------------------------------------- campaigns

def plot_campaign_heatmap(data, top_n: int = 20, annotate: bool | None = None, ax=None):
    """Errors per campaign and code as a heat map (log colour scale, zeros blank).

    Parameters
    ----------
    data : pandas.DataFrame
        A results frame, or :func:`~mailkit_analysis.analysis.summaries.campaign_code_matrix` output.
    top_n : int, default 20
        Campaigns shown by name when ``data`` is a results frame; the rest is "other".
    annotate : bool, optional
        Write the count in each cell; default: when there are at most 300 cells.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The x tick labels are the code labels, coloured like the code.
    """
    matrix = campaign_code_matrix(data, top_n) if _is_results(data) else data
    ax = _new_axes(ax, (1.6 + 0.9 * max(matrix.shape[1], 3), 1.2 + 0.32 * max(matrix.shape[0], 3)))
    values = matrix.to_numpy(dtype=float)
    if values.size == 0 or values.max() <= 0:
        ax.text(0.5, 0.5, _("no error rows"), transform=ax.transAxes, ha="center", va="center")
        return ax
    shown = np.ma.masked_less_equal(values, 0)
    image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap="YlOrRd",
                      norm=LogNorm(vmin=1, vmax=max(values.max(), 2)))
    colorbar = ax.figure.colorbar(image, ax=ax, label=_("error rows (log scale)"), shrink=0.8)
    colorbar.ax.yaxis.set_major_formatter(NumberTicks())
    ax.set_xticks(range(matrix.shape[1]), [code_label(c) for c in matrix.columns], rotation=30, ha="right")
    for tick, code in zip(ax.get_xticklabels(), matrix.columns):
        tick.set_color(code_colour(code))
        tick.set_fontweight("bold")
    ax.set_yticks(range(matrix.shape[0]), [bucket_label(i) for i in matrix.index])
    if annotate is None:
        annotate = values.size <= _ANNOTATE_CELLS
    if annotate:
        threshold = np.sqrt(max(values.max(), 1))  # the middle of the log scale
        for (row, col), value in np.ndenumerate(values):
            if value > 0:
                ax.text(col, row, format_number(int(value)), ha="center", va="center", fontsize="x-small",
                        color="white" if value > threshold else "black")
    ax.set_title(_("Errors per campaign and code"))
    return ax


def _campaign_table(data, sends, recipients) -> pd.DataFrame:
    if _is_results(data):
        return by_campaign(data, sends=sends, recipients=recipients)
    return data


def _no_data_note(ax, text: str):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", wrap=True,
            fontsize="medium", color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_top_campaigns(data, by: str = "errors", top_n: int = 15, sends=None, recipients=None,
                       min_recipients: int = 100, ax=None):
    """The campaigns with the most errors, or the highest error rate, stacked by code.

    Parameters
    ----------
    data : pandas.DataFrame
        A results frame, or :func:`~mailkit_analysis.analysis.summaries.by_campaign` output.
    by : {"errors", "error_rate"}
        Rank by error rows, or by error rate (affected recipients per recipient sent).
        Rates need denominators: without any, the axes say so instead of drawing.
    top_n : int, default 15
        Campaigns shown; the rest form one "other" bar.
    sends, recipients : optional
        Denominators, when ``data`` is a results frame.
    min_recipients : int, default 100
        For rates: campaigns with fewer recipients are left out (3 errors in 5 e-mails
        would top the chart and mean little).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if by not in ("errors", "error_rate"):
        raise ValueError(f"by must be 'errors' or 'error_rate', not {by!r}")
    table = _campaign_table(data, sends, recipients)
    ax = _new_axes(ax, (10, 1.5 + 0.35 * (min(len(table), top_n) + 1)))
    code_columns = [c for c in table.columns if str(c).startswith("code_")]
    if by == "error_rate":
        known = table[table["recipients"].notna() & (table["recipients"] >= max(min_recipients, 1))]
        if known.empty:
            ax.set_title(_("Error rate per campaign"))
            return _no_data_note(ax, _("no denominators: error rates need the recipients of each send\n"
                                       "(pass sends= from report_campaign or recipients= from the manifest)"))
        ranked = known.assign(_rank=known["errors"] / known["recipients"]).sort_values(
            "_rank", ascending=False, kind="stable")
    else:
        ranked = table.sort_values("errors", ascending=False, kind="stable")
    shown = ranked.head(top_n)
    rest = ranked.iloc[top_n:]
    labels = [campaign_label(i, n) for i, n in zip(shown["campaign_id"], shown["campaign_name"])]
    parts = shown[code_columns].astype(float)
    denominators = shown["recipients"].astype(float).to_numpy() if by == "error_rate" else None
    if len(rest):
        labels.append(bucket_label(OTHER))
        parts = pd.concat([parts, rest[code_columns].astype(float).sum().to_frame().T], ignore_index=True)
        if by == "error_rate":
            denominators = np.append(denominators, float(rest["recipients"].sum()))
    if by == "error_rate":
        parts = parts.div(denominators, axis=0)
    y = np.arange(len(labels))
    left = np.zeros(len(labels))
    for column in code_columns:
        code = _code_of(column)
        values = parts[column].to_numpy(dtype=float)
        if not values.any():
            continue
        bars = ax.barh(y, values, left=left, color=code_colour(code), label=code_label(code), linewidth=0)
        _style_patches(bars.patches, code)
        left += values
    ax.set_yticks(y, labels)
    if len(rest):
        ax.get_yticklabels()[-1].set_color("#555555")
    ax.invert_yaxis()
    if by == "error_rate":
        ax.xaxis.set_major_formatter(PercentTicks(1.0))
        ax.set_xlabel(_("error rows per recipient"))
        left_out = len(table) - len(known)
        if left_out:
            title = ngettext("Campaigns by error rate ({n} without denominators or under {minimum} recipients "
                             "left out)",
                             "Campaigns by error rate ({n} without denominators or under {minimum} recipients "
                             "left out)", left_out).format(n=format_number(left_out),
                                                           minimum=format_number(min_recipients))
        else:
            title = _("Campaigns by error rate")
        ax.set_title(title, fontsize="medium")
    else:
        ax.xaxis.set_major_formatter(NumberTicks())
        ax.set_xlabel(_("error rows"))
        ax.set_title(_("Campaigns by error rows"))
    _legend_outside(ax)
    return ax


# --------------------------------------------------------------------------- domains

def plot_recipient_domains(data, codes=(2, 3, 6), top_n: int = 20, ax=None):
    """Recipient domains of the invalid, missing and unsubscribed rows, typos highlighted.

    A domain that looks like a typo of a common provider is labelled with its likely
    correction (``"gmial.com -> gmail.com"``), its label drawn in red and its bar outlined.

    Parameters
    ----------
    data : pandas.DataFrame
        A results frame, or :func:`~mailkit_analysis.analysis.summaries.recipient_domains` output.
    codes : iterable of int, default (2, 3, 6)
        Codes counted, when ``data`` is a results frame.
    top_n : int, default 20
        Domains shown; the rest form one "other" bar.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = recipient_domains(data, codes=codes, top_n=top_n) if _is_results(data) else data
    ax = _new_axes(ax, (10, 1.5 + 0.35 * max(len(table), 3)))
    if table.empty:
        return _no_data_note(ax, _("no rows with these codes"))
    code_columns = [c for c in table.columns if str(c).startswith("code_")]
    typo = table["is_typo"].to_numpy(dtype=bool)
    labels = [f"{d}  \u2192 {s}" if t else bucket_label(d)
              for d, s, t in zip(table["domain"], table["suggestion"], typo)]
    y = np.arange(len(table))
    left = np.zeros(len(table))
    for column in code_columns:
        code = _code_of(column)
        values = table[column].to_numpy(dtype=float)
        if not values.any():
            continue
        bars = ax.barh(y, values, left=left, color=code_colour(code), label=code_label(code), linewidth=0)
        _style_patches(bars.patches, code)
        left += values
    for row in np.flatnonzero(typo):  # an outline around the whole stacked bar
        ax.barh(y[row], left[row], fill=False, edgecolor=TYPO_COLOUR, linewidth=1.8)
    ax.set_yticks(y, labels)
    for tick, is_typo, domain in zip(ax.get_yticklabels(), typo, table["domain"]):
        if is_typo:
            tick.set_color(TYPO_COLOUR)
            tick.set_fontweight("bold")
        elif domain == OTHER:
            tick.set_color("#555555")
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(NumberTicks())
    ax.set_xlabel(_("error rows"))
    ax.set_title(_("Recipient domains (likely typos in red, with their correction)"), fontsize="medium")
    _legend_outside(ax)
    return ax


# --------------------------------------------------------------------------- flags

def plot_flags_timeline(flags: pd.DataFrame, ax=None, label_limit: int = 25):
    """Flags over time, one lane per severity; a line spans first to last seen.

    Parameters
    ----------
    flags : pandas.DataFrame
        What :func:`~mailkit_analysis.analysis.flags.find_flags` returned.
    ax : matplotlib.axes.Axes, optional
    label_limit : int, default 25
        Write the code next to each marker when there are at most this many flags.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax, (11, 3.2))
    lanes = {severity: len(SEVERITIES) - 1 - i for i, severity in enumerate(SEVERITIES)}
    ax.set_yticks(list(lanes.values()), [severity_label(s) for s in lanes])
    ax.set_ylim(-0.6, len(SEVERITIES) - 0.4)
    ax.set_title(_("Problem flags over time"))
    if flags.empty:
        ax.text(0.5, 0.5, _("no flags"), transform=ax.transAxes, ha="center", va="center", color="#555555")
        return ax
    for severity in SEVERITIES:
        chosen = flags[flags["severity"] == severity]
        if chosen.empty:
            continue
        start = _date_numbers(chosen["first_seen"])
        end = _date_numbers(chosen["last_seen"].fillna(chosen["first_seen"]))
        lane = np.full(len(chosen), lanes[severity], dtype=float)
        ax.hlines(lane, start, end, colors=SEVERITY_COLOURS[severity], linewidth=3, alpha=0.5)
        ax.scatter(start, lane, marker=SEVERITY_MARKERS[severity], s=70, color=SEVERITY_COLOURS[severity],
                   edgecolors="black", linewidths=0.5, zorder=3, label=f"{severity_label(severity)} ({format_number(len(chosen))})")
        if len(flags) <= label_limit:
            for x, code in zip(start, chosen["error_code"]):
                if not pd.isna(code):
                    ax.annotate(str(int(code)), (x, lanes[severity]), xytext=(0, 7),
                                textcoords="offset points", ha="center", fontsize="x-small")
    _prague_date_axis(ax)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", frameon=False, ncols=len(SEVERITIES))
    return ax
