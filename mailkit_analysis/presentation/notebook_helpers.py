"""Display glue for the notebooks in ``notebooks/``: load a window, show tables and charts.

The notebooks (and the HTML reports rendered from them) call only these helpers and the
analysis, flag and chart functions of the package; nothing here computes a number.

* :func:`open_window` opens one date window of the cache (an
  :class:`~mailkit_analysis.analysis.window.Window`) with its flags and headline numbers and
  no rows; :func:`focus` narrows it to a campaign or a send. Every table is one query of
  :mod:`mailkit_analysis.analysis.tables` over the window; :meth:`Shown.table` masks the
  addresses of what comes back (see :func:`mailkit_analysis.masking.mask_emails`) before it
  is shown, so no table, chart or export drawn from it holds a raw address.
* :func:`show_table` shows a DataFrame as a readable HTML table (no index, thousands
  separators, percentages, Prague times, every text HTML-escaped); :func:`show_flags`
  shows the problem flags with their remedies.
* :func:`show_chart` draws one of :mod:`mailkit_analysis.presentation.plots` and shows it as a PNG, or a
  sentence when there is nothing to draw, so an empty window never crashes a notebook.

Every sentence, heading, number and date they show speaks the notebook's language, set once by
:func:`setup` (its ``lang`` parameter; see :mod:`mailkit_analysis.i18n`).
"""
from __future__ import annotations

import base64
import html
import io
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

# The cache's progress bars import tqdm.auto, which warns in a kernel without ipywidgets;
# the notebooks never show a progress bar, so the warning is noise in a report.
warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")

from ..masking import mask_emails, mask_text  # noqa: E402
from ..analysis import tables  # noqa: E402
from ..analysis.summaries import campaign_label  # noqa: E402
from ..analysis.incidents import SCREENFUL  # noqa: E402
from ..analysis.window import Window, flags_for_window  # noqa: E402
from ..prague_time import PRAGUE, to_prague  # noqa: E402
from ..i18n import (  # noqa: E402
    EMPTY,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    gettext as _,
    ngettext,
    set_language,
)
from .labels import VALUE_CONTEXTS, first_of_line, heading_label, sentence_label, value_label  # noqa: E402
from .palette import SEVERITY_COLOURS  # noqa: E402

__all__ = [
    "Shown",
    "setup",
    "open_window",
    "focus",
    "note",
    "show_window",
    "show_focus",
    "show_table",
    "show_flags",
    "show_chart",
    "show_export",
    "export_name",
    "describe_window",
]

#: Pixels per inch of the charts: sharp on high-density screens, shown at 100 px per inch.
CHART_DPI = 150
_SHOWN_DPI = 100
_EMPTY = EMPTY


def setup(lang: str | None = None) -> str:
    """Set the notebook's language and readable chart defaults (font sizes, white background,
    no top/right frame).

    Call once at the top of a notebook; charts keep the sizes :mod:`.plots` gives them.

    Parameters
    ----------
    lang : {"en", "cs"}, optional
        The language of every text, table and chart the notebook shows (its ``lang``
        parameter); None: ``$MAILKIT_ANALYSIS_LANG``, else English.

    Returns
    -------
    str
        The language in force.
    """
    import matplotlib as mpl

    chosen = set_language(lang)

    mpl.rcParams.update(
        {
            "figure.dpi": _SHOWN_DPI,
            "figure.facecolor": "white",
            "font.size": 10,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return chosen


# --------------------------------------------------------------------------- the window

@dataclass(frozen=True)
class Shown:
    """What a notebook shows of one :class:`~mailkit_analysis.analysis.window.Window`.

    The window itself (dates, campaigns, send) is the analysis window; this adds only what
    showing it needs: its flags, whether addresses are masked, its headline numbers and,
    after :func:`focus`, which campaign or send is drilled into and why. No rows are held:
    every table is asked of ``window`` (:mod:`mailkit_analysis.analysis.tables`).

    Attributes
    ----------
    window : Window
        The analysis window.
    flags : pandas.DataFrame
        Its problem flags (:func:`mailkit_analysis.analysis.window.flags_for_window`),
        texts masked when ``masked``.
    masked : bool
        Whether recipient addresses are masked in everything shown.
    facts : dict
        :func:`mailkit_analysis.analysis.tables.overview` of the window.
    focus, focus_reason : str or None
        After :func:`focus`: which campaign or send, and why.
    campaign_id : int or None
        After :func:`focus`: the campaign shown.
    """

    window: Window
    flags: pd.DataFrame
    masked: bool = True
    facts: dict = field(default_factory=dict)
    focus: str | None = None
    focus_reason: str | None = None
    campaign_id: int | None = None

    @property
    def since(self) -> pd.Timestamp | None:
        return self.window.since

    @property
    def until(self) -> pd.Timestamp | None:
        return self.window.until

    @property
    def id_send(self) -> int | None:
        return self.window.id_send

    @property
    def empty(self) -> bool:
        """No error rows in the window."""
        return not self.facts.get("rows")

    @property
    def label(self) -> str:
        """The window as text: ``"2026-11-01 – 2026-11-20 (Europe/Prague)"``."""
        return describe_window(self.since, self.until, self.facts.get("first"), self.facts.get("last"))

    @property
    def freq(self) -> str:
        """A period for charts over time: hours for up to 3 days, days up to 120, else weeks."""
        first, last = self.facts.get("first"), self.facts.get("last")
        span = (last - first) if first is not None and last is not None else pd.Timedelta(0)
        if span <= pd.Timedelta(days=3):
            return "h"
        return "D" if span <= pd.Timedelta(days=120) else "W"

    def table(self, name: str, *args, **kwargs) -> pd.DataFrame:
        """One table of :mod:`mailkit_analysis.analysis.tables` over the window, masked.

        Parameters
        ----------
        name : str
            The table, e.g. ``"by_campaign"`` or ``"affected_recipients"``.
        *args, **kwargs
            Passed to it (``limit=``, ``codes=``, ``n=``...).

        Returns
        -------
        pandas.DataFrame
            The table; when the window is masked, its addresses (``email``) are masked and
            address-like words in ``info`` and ``campaign_name`` too.
        """
        if name == "addresses_to_fix":
            kwargs.setdefault("mask", self.masked)
        table = getattr(tables, name)(self.window, *args, **kwargs)
        if not self.masked or not isinstance(table, pd.DataFrame) or table.empty:
            return table
        masked = {}
        if "email" in table and name != "addresses_to_fix":
            masked["email"] = mask_emails(table["email"].astype("string"))
        for column in ("info", "campaign_name"):
            if column in table:
                masked[column] = mask_text(table[column])
        out = table.assign(**masked)
        out.attrs = dict(table.attrs)
        return out


def open_window(
    data_dir: str | os.PathLike | None = None,
    *,
    since=None,
    until=None,
    campaigns: Iterable[int] | None = None,
    mask_emails: bool = True,
    config=None,
) -> Shown:
    """Open one window of the cache for a notebook: its flags and headline numbers, no rows.

    Parameters
    ----------
    data_dir : path, optional
        Data folder (default: the project's ``data/``, see :mod:`mailkit_analysis.paths`).
    since, until : str, date or datetime, optional
        The window (``since <= date < until``; a bare date ``until`` includes that day;
        naive times are Prague time). None = open.
    campaigns : iterable of int, optional
        Only these campaigns.
    mask_emails : bool, default True
        Mask every recipient address (``j***@gmail.com``) in the flag texts and in the
        tables shown through :meth:`Shown.table`. Only set False for people allowed to
        see the addresses.
    config : FlagConfig or path, optional
        Flag thresholds.

    Returns
    -------
    Shown
    """
    window = Window(data_dir, since, until, campaigns)
    found = flags_for_window(data_dir, since=since, until=until,
                             campaigns=list(window.campaigns) if window.campaigns is not None else None,
                             config=config)
    flags = found.flags
    if mask_emails:
        flags = flags.assign(message=mask_text(flags["message"]), remedy=mask_text(flags["remedy"]))
    return Shown(window=window, flags=flags, masked=bool(mask_emails), facts=tables.overview(window))


def focus(shown: Shown, campaign_id: int | None = None, id_send: int | None = None) -> Shown:
    """Narrow a window to one send, or one campaign (by default the one with the most errors).

    Parameters
    ----------
    shown : Shown
        What :func:`open_window` gave.
    campaign_id : int, optional
        The campaign (``ID_MESSAGE``); default: the window's campaign when it was opened for
        exactly one, else the campaign with the most error rows.
    id_send : int, optional
        One send; wins over ``campaign_id``.

    Returns
    -------
    Shown
        The narrowed window with only its flags, and ``focus`` saying which.
    """
    window, flags = shown.window, shown.flags
    if id_send is not None:
        narrowed = window.narrowed(id_send=int(id_send))
        sends = tables.by_send(narrowed, limit=1)
        campaign = sends["campaign_id"].dropna()
        what = _("send {id_send}").format(id_send=int(id_send))
        if len(campaign):
            what = _("send {id_send} of {campaign}").format(
                id_send=int(id_send), campaign=campaign_label(campaign.iloc[0], sends["campaign_name"].iloc[0]))
        return replace(shown, window=narrowed, facts=tables.overview(narrowed),
                       flags=flags[(flags["id_send"] == int(id_send)).fillna(False)].reset_index(drop=True),
                       focus=what, focus_reason=_("the send asked for"),
                       campaign_id=int(campaign.iloc[0]) if len(campaign) else None)
    if campaign_id is None and window.campaigns is not None and len(window.campaigns) == 1:
        campaign_id = window.campaigns[0]
    if campaign_id is None:
        ranking = tables.by_campaign(window)
        ranking = ranking[ranking["campaign_id"].notna()]
        if ranking.empty:
            nothing = window.narrowed(campaigns=[])
            return replace(shown, window=nothing, facts=tables.overview(nothing), flags=flags.iloc[:0],
                           focus=_("any campaign"), focus_reason=_("no campaign had errors"))
        top = ranking.iloc[0]
        campaign_id = int(top["campaign_id"])
        why = ngettext("the campaign with the most error rows in the window, {errors} of {rows} "
                       "({n} campaign had errors)",
                       "the campaign with the most error rows in the window, {errors} of {rows} "
                       "({n} campaigns had errors)", len(ranking)).format(
            errors=format_number(int(top["errors"])), rows=format_number(shown.facts.get("rows", 0)),
            n=len(ranking))
    else:
        why = _("the campaign asked for")
    campaign_id = int(campaign_id)
    narrowed = window.narrowed(campaigns=[campaign_id])
    named = tables.by_campaign(narrowed)
    names = named["campaign_name"].dropna()
    label = campaign_label(campaign_id, names.iloc[0] if len(names) else None)
    return replace(shown, window=narrowed, facts=tables.overview(narrowed),
                   flags=flags[(flags["campaign_id"] == campaign_id).fillna(False)].reset_index(drop=True),
                   focus=label, focus_reason=why, campaign_id=campaign_id)


def describe_window(since: pd.Timestamp | None, until: pd.Timestamp | None,
                    first: pd.Timestamp | None = None, last: pd.Timestamp | None = None) -> str:
    """A date window as text: ``"2026-11-01 – 2026-11-20 (Europe/Prague)"`` (in Czech
    ``"1. 11. 2026 – 20. 11. 2026 (Europe/Prague)"``).

    Parameters
    ----------
    since, until : pandas.Timestamp or None
        The bounds as :func:`~mailkit_analysis.prague_time.parse_bound` gives them (``until``
        exclusive: a midnight ``until`` reads as the whole day before it).
    first, last : pandas.Timestamp, optional
        The first and last dates of the data, shown for an open bound.
    """
    if since is None and until is None and first is None and last is None:
        return _("all cached dates")
    low = _since_text(since) if since is not None else (format_date(first) if first is not None
                                                          else _("the first cached day"))
    high = _until_text(until) if until is not None else (format_date(last) if last is not None else _("now"))
    return f"{low} – {high} (Europe/Prague)"


def _since_text(stamp: pd.Timestamp) -> str:
    local = to_prague(stamp)
    return format_date(local) if local == local.normalize() else format_datetime(local)


def _until_text(stamp: pd.Timestamp) -> str:
    """``until`` is exclusive: a midnight bound reads as the (whole) day before it."""
    local = to_prague(stamp)
    if local == local.normalize():
        return format_date(local - pd.Timedelta(days=1))
    return format_datetime(local)


# --------------------------------------------------------------------------- showing

def _display(obj, **kw) -> None:
    from IPython.display import display

    display(obj, **kw)


def note(text: str) -> None:
    """Show one sentence (Markdown) in the notebook and the report."""
    from IPython.display import Markdown

    _display(Markdown(text))


def show_window(window: Shown) -> None:
    """Say what the window holds: its dates, rows, requests, sends and campaigns, masking."""
    masking = (_("recipient addresses masked (j***@gmail.com)") if window.masked
               else "**" + _("recipient addresses shown in full: do not share") + "**")
    if window.empty:
        if window.since is None and window.until is None:
            headline = _("No error rows in the cache.")
        else:
            headline = _("No error rows in {window}.").format(window=window.label)
        note(f"**{headline}** " + _("Nothing failed in this window, or the cache holds nothing for it yet "
                                    "(`make run` fills it). Every section below says so too."))
        return
    facts = window.facts
    parts = [
        ngettext("**{n}** error row", "**{n}** error rows", facts["rows"]),
        ngettext("in {n} request", "in {n} requests", facts["requests"]),
        ngettext("{n} send", "{n} sends", facts["sends"]),
        ngettext("{n} campaign", "{n} campaigns", facts["campaigns"]),
        ngettext("{n} problem flagged", "{n} problems flagged", len(window.flags)),
    ]
    counts = [facts["rows"], facts["requests"], facts["sends"], facts["campaigns"], len(window.flags)]
    rows, requests, sends, campaigns, flagged = (p.format(n=format_number(c)) for p, c in zip(parts, counts))
    note(_("**{window}**: {rows} {requests}, {sends} and {campaigns}; {flagged}; {masking}.").format(
        window=window.label, rows=rows, requests=requests, sends=sends, campaigns=campaigns, flagged=flagged,
        masking=masking))


def show_focus(window: Shown) -> None:
    """Say which campaign or send a :func:`focus` window shows, and how to pick another."""
    what = html.escape(window.focus or _("this choice"))
    if window.empty:
        note(_("**Nothing to drill into**: no error rows for {what} in {window}.").format(
            what=what, window=window.label))
        return
    masking = (_("recipient addresses masked") if window.masked
               else "**" + _("recipient addresses shown in full: do not share") + "**")
    n = window.facts["rows"]
    rows = ngettext("{n} error row", "{n} error rows", n).format(n=format_number(n))
    note(_("**{what}**, {reason}: {rows} in {window}; {masking}. For another one, set `campaigns = [ID]` or "
           "`id_send = ID` in the parameters cell (`--campaign ID` for a report).").format(
        what=what, reason=html.escape(window.focus_reason or ""), rows=rows, window=window.label, masking=masking))


def _is_rate(column: str) -> bool:
    return column in ("share", "error_rate") or column.endswith("_share") or column.endswith("_rate")


def _formatter(series: pd.Series, column: str) -> Callable:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return lambda v: _EMPTY if pd.isna(v) else format_datetime(v)
    if _is_rate(column) and pd.api.types.is_numeric_dtype(series.dtype):
        return lambda v: _EMPTY if pd.isna(v) else format_percent(float(v))
    if pd.api.types.is_integer_dtype(series.dtype) and not column.startswith(("id_", "campaign_id", "request_id")) \
            and column not in ("error_code", "last_id_send", "last_request_id"):
        return lambda v: _EMPTY if pd.isna(v) else format_number(int(v))
    if pd.api.types.is_integer_dtype(series.dtype):
        return lambda v: _EMPTY if pd.isna(v) else str(int(v))  # ids: no thousands separator
    if pd.api.types.is_float_dtype(series.dtype) and _whole(series):  # counts with gaps: 109, not 109,00
        return _formatter(series.astype("Int64"), column)
    if pd.api.types.is_float_dtype(series.dtype):
        return lambda v: _EMPTY if pd.isna(v) else format_number(float(v), decimals=2)
    if column in VALUE_CONTEXTS or column in ("campaign", "domain", "campaign_name"):
        # Words programs read ("critical", "recipient data", "other") as the reader says them.
        return lambda v: _EMPTY if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) \
            else value_label(column, v)
    return lambda v: _EMPTY if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else str(v)


def _whole(series: pd.Series) -> bool:
    values = series.dropna()
    return len(values) > 0 and bool((values % 1 == 0).all())  # inf % 1 is NaN: not whole


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object


def _styled(table: pd.DataFrame, originals: list[str], wide: Iterable[str] = ()):
    """A pandas Styler: no index, formatted, escaped, text left and numbers right."""
    formats = {shown: _formatter(table[shown], original) for shown, original in zip(table.columns, originals)}
    styler = table.style.hide(axis="index").format(formats, escape="html")
    text = [c for c in table.columns if _is_text(table[c])]
    numbers = [c for c in table.columns if c not in text]
    styles = [
        {"selector": "", "props": "border-collapse: collapse; margin: 0.2em 0 1.2em 0; font-size: 13px;"},
        {"selector": "th", "props": "text-align: left; padding: 6px 10px; border-bottom: 2px solid #444;"
                                    " background: #f4f4f4; white-space: nowrap;"},
        {"selector": "td", "props": "padding: 5px 10px; border-bottom: 1px solid #ddd; vertical-align: top;"},
    ]
    styler = styler.set_table_styles(styles)
    if text:
        styler = styler.set_properties(subset=text, **{"text-align": "left", "white-space": "normal"})
    if numbers:
        styler = styler.set_properties(subset=numbers, **{"text-align": "right", "white-space": "nowrap",
                                                          "font-variant-numeric": "tabular-nums"})
    wide = [c for c in wide if c in table.columns]
    if wide:
        styler = styler.set_properties(subset=wide, **{"min-width": "18em", "max-width": "42em"})
    return styler


def show_table(
    table: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    max_rows: int | None = 25,
    empty: str | None = None,
    wide: Iterable[str] = (),
    what: str | None = None,
) -> None:
    """Show a DataFrame as a readable HTML table.

    Parameters
    ----------
    table : pandas.DataFrame
        What to show; its index is not shown.
    columns : mapping, optional
        ``{column: heading}``: the columns to show, in order, with their headings.
        Default: every column under its own name.
    max_rows : int or None, default 25
        Show the first rows only, and say how many there are.
    empty : str, optional
        The sentence shown instead of an empty table (default: "Nothing to show for this
        window." in the notebook's language).
    wide : iterable of str
        Headings of long-text columns that get more room (messages, remedies).
    what : str, optional
        What a row is, plural, for the "first N of M" sentence (default: "rows").
    """
    if table is None or table.empty:
        note(sentence_label(empty) if empty else _("Nothing to show for this window."))
        return
    columns = {c: heading_label(t) for c, t in (columns or {c: c for c in table.columns}).items()}
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"show_table: no column(s) {missing}; the table has {list(table.columns)}")
    shown = table[list(columns)]
    # A table asked for with a limit says in attrs["total"] how many rows there are in all.
    total = max(int(table.attrs.get("total", len(shown))), len(shown))
    if max_rows is not None and total > max_rows:
        count = min(max_rows, len(shown))
        note(first_of_line(count, total, what))
        shown = shown.head(max_rows)
    shown = shown.rename(columns=columns)
    _display_html(_styled(shown, list(columns), map(heading_label, wide)).to_html())


def _display_html(markup: str) -> None:
    from IPython.display import HTML

    _display(HTML(markup))


def _severity_style(value) -> str:
    colour = SEVERITY_COLOURS.get(str(value), "#777777")
    return f"background-color: {colour}; color: white; font-weight: 600; text-transform: uppercase;" \
           " font-size: 11px; letter-spacing: 0.03em; text-align: center;"


def show_flags(flags: pd.DataFrame, *, max_rows: int | None = SCREENFUL, empty: str | None = None) -> None:
    """Show the incidents with their remedies, what needs action now first.

    Parameters
    ----------
    flags : pandas.DataFrame
        What :func:`mailkit_analysis.analysis.flags.find_flags` (or a :class:`Window`) holds,
        in its order (ongoing critical first).
    max_rows : int or None, default 15
        Show the first screenful only, and say how many more there are.
    empty : str, optional
        The sentence shown when there is no flag (default: "No problems flagged in this
        window." in the notebook's language).
    """
    if flags is None or flags.empty:
        note(sentence_label(empty) if empty else _("No problems flagged in this window."))
        return
    columns = {"severity": _("Severity"), "status": _("Status"), "message": _("Problem"), "remedy": _("What to do"),
               "sends": _("Sends"), "recipients": _("Recipients"), "last_seen": _("Last seen")}
    shown = flags[[c for c in columns if c in flags.columns]]
    columns = {c: t for c, t in columns.items() if c in shown.columns}
    more = len(shown) - max_rows if max_rows is not None else 0
    if more > 0:
        shown = shown.head(max_rows)
    if "status" in shown:
        shown = shown.assign(status=[_("ongoing") if v == "ongoing" else _("resolved") for v in shown["status"]])
    # The colour follows the value programs read; the text is the reader's word for it.
    colours = [_severity_style(v) for v in shown["severity"]]
    shown = shown.rename(columns=columns)
    styler = _styled(shown, list(columns), wide=(columns["message"], columns["remedy"]))
    styler = styler.apply(lambda column: colours, subset=[columns["severity"]])
    _display_html(styler.to_html())
    if more > 0:
        note(ngettext("… and {n} more incident (see `window.flags`, or `mailkit-analysis flags`).",
                      "… and {n} more incidents (see `window.flags`, or `mailkit-analysis flags`).", more).format(
            n=format_number(more)))


def show_chart(plot: Callable, data, *, empty: str | None = None, alt: str | None = None, **kwargs) -> None:
    """Draw ``plot(data, **kwargs)`` and show it as a PNG, or ``empty`` when there is no data.

    The figure is rendered here and closed, so it shows the same in JupyterLab, with
    papermill, and in the HTML report, and never twice.

    Parameters
    ----------
    plot : callable
        One of :mod:`mailkit_analysis.presentation.plots` (returns an Axes).
    data : pandas.DataFrame
        What to draw.
    empty : str, optional
        The sentence shown instead of a chart of nothing (default: "Nothing to draw: no error
        rows in this window." in the notebook's language).
    alt : str, optional
        Text alternative of the image (default: the chart's title).
    **kwargs
        Passed to ``plot``.
    """
    import matplotlib.pyplot as plt

    if data is None or len(data) == 0:
        note(sentence_label(empty) if empty else _("Nothing to draw: no error rows in this window."))
        return
    ax = plot(data, **kwargs)
    figure = ax.figure
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=CHART_DPI, bbox_inches="tight", facecolor="white")
    finally:
        plt.close(figure)
    png = buffer.getvalue()
    width, height = _png_size(png)
    scale = _SHOWN_DPI / CHART_DPI
    text = alt or ax.get_title() or _("chart")
    _display(
        {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"[chart: {text}]"},
        raw=True,
        metadata={"image/png": {"width": int(width * scale), "height": int(height * scale), "alt": text}},
    )


def _png_size(png: bytes) -> tuple[int, int]:
    # The IHDR chunk follows the 8-byte signature: width and height as big-endian uint32.
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# --------------------------------------------------------------------------- exports

def export_name(stem: str, window: Shown, made: pd.Timestamp | None = None) -> str:
    """A readable export file name: ``addresses-to-fix_2026-11-27T0105`` (+ ``_unmasked``)."""
    made = to_prague(made if made is not None else pd.Timestamp.now(tz=PRAGUE))
    return f"{stem}_{made.strftime('%Y-%m-%dT%H%M')}" + ("" if window.masked else "_unmasked")


def show_export(path: os.PathLike, table: pd.DataFrame, window: Shown, what: str | None = None) -> None:
    """Say where an export went (relative to the data folder, never a machine path) and
    whether its addresses are masked."""
    from pathlib import Path

    if window.masked:
        masking = _("Its addresses are masked (`j***@gmail.com`) because `mask_emails` is True; set "
                    "`mask_emails = False` in the parameters cell for a list you can act on, and keep that "
                    "file to yourself.")
    else:
        masking = "**" + _("Its addresses are in full (`mask_emails` is False): do not share it.") + "**"
    wrote = ngettext("Wrote {n} {what} to `exports/{name}` in the data folder.",
                     "Wrote {n} {what} to `exports/{name}` in the data folder.", len(table)).format(
        n=format_number(len(table)), what=what or _("addresses"), name=html.escape(Path(path).name))
    note(f"{wrote} {masking}")
