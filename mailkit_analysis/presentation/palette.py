"""One colour per error code, the same in every chart.

Codes 1-8 have fixed colours: set-up failures (1, 4, 5, 7, 8) in warm, saturated hues that
read as alarming, recipient data (2, 3) in orange and olive, expected churn (6) in a calm
blue. Codes the catalogue does not know share one grey and a hatch, so a new code stands out
as "not understood" rather than borrowing a meaning.
"""
from __future__ import annotations

__all__ = [
    "CODE_COLOURS",
    "UNKNOWN_COLOUR",
    "UNKNOWN_HATCH",
    "SEVERITY_COLOURS",
    "SEVERITY_MARKERS",
    "TYPO_COLOUR",
    "code_colour",
    "code_hatch",
    "code_colours",
]

#: Fixed colour of each catalogue code (matplotlib's tab10 hues, picked per meaning).
CODE_COLOURS: dict[int, str] = {
    1: "#d62728",  # attachment failed: red
    2: "#ff7f0e",  # invalid address: orange
    3: "#bcbd22",  # missing address: olive
    4: "#8c564b",  # invalid mailing list: brown
    5: "#9467bd",  # invalid campaign: purple
    6: "#1f77b4",  # unsubscribed: blue
    7: "#e377c2",  # missing sender: pink
    8: "#17becf",  # invalid template: cyan
}
#: Colour and hatch of every code the catalogue does not know.
UNKNOWN_COLOUR = "#7f7f7f"
UNKNOWN_HATCH = "//"
#: Highlight for domains that look like typos.
TYPO_COLOUR = "#d62728"
#: Marker colour and shape per flag severity.
SEVERITY_COLOURS: dict[str, str] = {"critical": "#b2182b", "warning": "#ef8a62", "info": "#67a9cf"}
SEVERITY_MARKERS: dict[str, str] = {"critical": "X", "warning": "^", "info": "o"}


def code_colour(code) -> str:
    """Return the colour of ``code`` (a hex string); unknown codes get :data:`UNKNOWN_COLOUR`."""
    try:
        return CODE_COLOURS.get(int(code), UNKNOWN_COLOUR)
    except (TypeError, ValueError):
        return UNKNOWN_COLOUR


def code_hatch(code) -> str | None:
    """Return the hatch of ``code``: ``None`` for catalogue codes, :data:`UNKNOWN_HATCH` else."""
    try:
        return None if int(code) in CODE_COLOURS else UNKNOWN_HATCH
    except (TypeError, ValueError):
        return UNKNOWN_HATCH


def code_colours(codes) -> list[str]:
    """Return :func:`code_colour` of each code, in order."""
    return [code_colour(c) for c in codes]
