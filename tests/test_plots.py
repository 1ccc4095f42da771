"""Charts render a million rows and 300 campaigns, and draw what they should."""
from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"  # before pyplot: no display in CI

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from frames import big_frame, big_sends, incident_builder  # noqa: E402
from mailkit_analysis.analysis.flags import find_flags  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

from mailkit_analysis.analysis import summaries as A  # noqa: E402
from mailkit_analysis.presentation import plots as P  # noqa: E402
from mailkit_analysis.codes import code_label  # noqa: E402
from mailkit_analysis.presentation.palette import (
    CODE_COLOURS,
    TYPO_COLOUR,
    UNKNOWN_COLOUR,
    UNKNOWN_HATCH,
    code_colour,
    code_hatch,
)

CODES = [1, 2, 3, 4, 5, 6, 7, 8, 9]


@pytest.fixture(scope="module")
def big():
    frame = big_frame()
    assert len(frame) == 1_000_000 and frame["campaign_id"].nunique() == 300
    return frame


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("plots must never call plt.show()")

    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


def _save(ax, tmp_path, name: str):
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path, dpi=60)
    assert path.stat().st_size > 5_000
    return path


def _bars(ax) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _legend_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _colour_of(ax, label: str):
    container = next(c for c in _bars(ax) if c.get_label() == label)
    return container.patches[0].get_facecolor()


def test_palette_is_fixed_and_distinct():
    assert set(CODE_COLOURS) == set(range(1, 9))
    assert len(set(CODE_COLOURS.values())) == 8 and UNKNOWN_COLOUR not in CODE_COLOURS.values()
    assert code_colour(9) == code_colour(42) == UNKNOWN_COLOUR and code_hatch(9) == UNKNOWN_HATCH
    assert code_hatch(2) is None and code_colour(2) == CODE_COLOURS[2]


def test_codes_over_time_million_rows(big, tmp_path):
    ax = P.plot_codes_over_time(big)
    _save(ax, tmp_path, "over_time")
    bars = _bars(ax)
    assert [b.get_label() for b in bars] == [code_label(c) for c in CODES]
    assert _legend_labels(ax) == [code_label(c) for c in CODES]
    periods = len(A.counts_over_time(big))
    assert periods == 91
    assert sum(len(b.patches) for b in bars) <= periods * len(CODES)
    # Every row is in exactly one bar: the heights add up to the frame.
    assert sum(p.get_height() for b in bars for p in b.patches) == pytest.approx(len(big))
    for bar, code in zip(bars, CODES):
        assert bar.patches[0].get_facecolor() == to_rgba(code_colour(code))
    unknown = bars[CODES.index(9)].patches[0]
    assert unknown.get_hatch() == UNKNOWN_HATCH


def test_codes_over_time_hourly_turns_to_areas(big, tmp_path):
    ax = P.plot_codes_over_time(big, freq="h", codes=[2, 6])
    _save(ax, tmp_path, "hourly")
    areas = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(areas) == 2 and not _bars(ax)
    assert _legend_labels(ax) == [code_label(2), code_label(6)]
    assert tuple(areas[0].get_facecolor()[0]) == to_rgba(code_colour(2))


def test_campaign_heatmap_folds_300_campaigns(big, tmp_path):
    ax = P.plot_campaign_heatmap(big, top_n=20)
    _save(ax, tmp_path, "heatmap")
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert len(rows) == 21 and rows[-1] == "other"
    columns = ax.get_xticklabels()
    assert [t.get_text() for t in columns] == [code_label(c) for c in CODES]
    assert [to_rgba(t.get_color()) for t in columns] == [to_rgba(code_colour(c)) for c in CODES]
    image = ax.get_images()[0]
    assert image.get_array().shape == (21, 9)
    assert image.get_array().filled(0).sum() == len(big)  # "other" keeps the rest
    assert len(ax.texts) > 0  # 189 cells: small enough to annotate


def test_top_campaigns_by_errors_and_shared_colours(big, tmp_path):
    ax = P.plot_top_campaigns(big, top_n=15)
    _save(ax, tmp_path, "top_errors")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 16 and labels[-1] == "other" and labels[0] == "Kampaň 001 (1)"
    total = sum(p.get_width() for b in _bars(ax) for p in b.patches)
    assert total == pytest.approx(len(big))
    over_time = P.plot_codes_over_time(big)
    for code in (2, 6, 9):
        assert _colour_of(ax, code_label(code)) == _colour_of(over_time, code_label(code))


def test_top_campaigns_rate_needs_denominators(big, tmp_path):
    ax = P.plot_top_campaigns(big, by="error_rate")
    _save(ax, tmp_path, "no_rates")
    assert not _bars(ax)
    assert any("no denominators" in t.get_text() for t in ax.texts)

    ax = P.plot_top_campaigns(big, by="error_rate", sends=big_sends(big), top_n=10)
    _save(ax, tmp_path, "rates")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 11 and labels[-1] == "other"
    widths = np.array([sum(p.get_width() for b in _bars(ax) for p in [b.patches[i]]) for i in range(10)])
    assert np.all(widths <= 1.0) and np.all(widths > 0)
    assert ax.xaxis.get_major_formatter().__class__.__name__ == "PercentTicks"


def test_recipient_domains_highlights_typos(big, tmp_path):
    ax = P.plot_recipient_domains(big, top_n=8)
    _save(ax, tmp_path, "domains")
    ticks = ax.get_yticklabels()
    labels = [t.get_text() for t in ticks]
    assert labels[-1] == "other" and len(labels) == 9
    typo = next(t for t in ticks if t.get_text().startswith("gmial.com"))
    assert "gmail.com" in typo.get_text() and to_rgba(typo.get_color()) == to_rgba(TYPO_COLOUR)
    assert to_rgba(next(t for t in ticks if t.get_text() == "seznam.cz").get_color()) != to_rgba(TYPO_COLOUR)
    assert _legend_labels(ax) == [code_label(c) for c in (2, 3, 6)]
    outlined = [p for p in ax.patches if not p.get_fill()]
    assert len(outlined) == sum("\u2192" in label for label in labels)


def test_flags_timeline(big, tmp_path):
    flags = find_flags(big)
    ax = P.plot_flags_timeline(flags)
    _save(ax, tmp_path, "flags")
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    present = [s for s in ("critical", "warning", "info") if (flags["severity"] == s).any()]
    assert len(markers) == len(present)
    assert _legend_labels(ax) == [f"{s} ({(flags['severity'] == s).sum()})" for s in present]
    assert sum(len(m.get_offsets()) for m in markers) == len(flags)


def test_flags_timeline_small_and_empty(tmp_path):
    builder, _ = incident_builder()
    flags = find_flags(builder.frame())
    ax = P.plot_flags_timeline(flags)
    _save(ax, tmp_path, "flags_small")
    assert len(flags) >= 5 and len(ax.texts) == len(flags)  # each flag labelled with its code
    ax = P.plot_flags_timeline(find_flags(builder.frame().iloc[:0]))
    assert any(t.get_text() == "no flags" for t in ax.texts)


def test_given_axes_are_used_and_aggregates_accepted(tmp_path):
    builder, _ = incident_builder()
    frame = builder.frame()
    fig, axes = plt.subplots(2, 3, figsize=(18, 9))
    drawn = [
        P.plot_codes_over_time(A.counts_over_time(frame, "W"), freq="W", ax=axes[0, 0]),
        P.plot_campaign_heatmap(A.campaign_code_matrix(frame, top_n=3), ax=axes[0, 1]),
        P.plot_top_campaigns(A.by_campaign(frame, sends=builder.sends_frame(),
                                           recipients=builder.recipients_frame()), by="error_rate", ax=axes[0, 2]),
        P.plot_recipient_domains(A.recipient_domains(frame), ax=axes[1, 0]),
        P.plot_flags_timeline(find_flags(frame), ax=axes[1, 1]),
        P.plot_top_campaigns(frame, ax=axes[1, 2]),
    ]
    assert drawn == list(axes.ravel())
    assert len(plt.get_fignums()) == 1
    _save(axes[0, 0], tmp_path, "grid")
    assert len(_bars(axes[0, 0])) == frame["error_code"].nunique()
