"""Per-recipient views of a results frame: who was affected, which addresses to fix.

Reports are shared beyond the people who may see recipients' addresses: these views are
drawn from a frame masked by :func:`mailkit_analysis.masking.mask_frame` (``j***@gmail.com``),
and then count recipients by the masked frame's ``recipient_key``, so they count people, not
masks. Each is the window's table (:mod:`.tables`) over the frame: one definition.
:func:`write_csv_export` writes a view where other tools can read it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from ..atomic import SHARED_MODE, write_text_atomic

__all__ = [
    "NO_ADDRESS",
    "FIX_COLUMNS",
    "affected_recipients",
    "addresses_to_fix",
    "write_csv_export",
]

#: Label of the rows that carried no address at all (code 3).
NO_ADDRESS = "(no address)"

#: Columns of :func:`addresses_to_fix`, in order.
FIX_COLUMNS = [
    "email", "reason", "domain", "suggested_domain", "suggested_email", "error_codes", "rows",
    "first_seen", "last_seen", "campaign_ids", "last_id_send", "last_request_id",
]

# A plain address whose domain can be swapped for a suggestion.
_SIMPLE_ADDRESS = re.compile(r"^(?P<local>[^@\s;,<>]+)@(?P<domain>[^@\s;,<>]+)$")


def affected_recipients(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per recipient address with the errors it had:
    :func:`.tables.affected_recipients` over ``frame``.

    Rows without an address (code 3) are gathered in one :data:`NO_ADDRESS` row.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame (mask it first with :func:`mask_frame` for anything shared; the
        recipients behind one mask stay apart, by the masked frame's ``recipient_key``).

    Returns
    -------
    pandas.DataFrame
        ``email``, ``error_codes`` (e.g. ``"2, 6"``), ``rows``, ``sends``, ``first_seen``,
        ``last_seen``; most rows first, then most recent.
    """
    from . import tables
    from .window import Window

    return tables.affected_recipients(Window.from_frame(frame))


def addresses_to_fix(frame: pd.DataFrame, codes=(2,)) -> pd.DataFrame:
    """The addresses someone should correct at their source, one row per address:
    :func:`.tables.addresses_to_fix` over ``frame``, its addresses as they are.

    An address is listed when Mailkit called it invalid (``codes``, default 2) or when its
    domain looks like a typo of a common provider (``gmial.com``), whatever its code.
    Rows without an address (code 3) cannot be corrected here and are left out.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame; pass a masked one (:func:`mask_frame`) unless the list stays with
        people allowed to see the addresses. Masking keeps the domain, so the suggestions
        are the same either way, and the recipients behind one mask stay apart.
    codes : iterable of int, default (2,)
        Codes whose addresses are always listed.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`FIX_COLUMNS`: ``email``, ``reason``, ``domain``,
        ``suggested_domain``, ``suggested_email`` (the address with the suggested domain,
        for simple addresses), ``error_codes``, ``rows``, ``first_seen``, ``last_seen``,
        ``campaign_ids``, ``last_id_send``, ``last_request_id``; most rows first.
    """
    from . import tables
    from .window import Window

    return tables.addresses_to_fix(Window.from_frame(frame), codes, mask=False)


def _with_domain(address, suggestion) -> str | None:
    if suggestion is None or suggestion is pd.NA:
        return None
    match = _SIMPLE_ADDRESS.match(str(address).strip())
    return f"{match.group('local')}@{suggestion}" if match else None


def _reason(domain, suggestion) -> str:
    if suggestion is not None and suggestion is not pd.NA:
        return f"likely typo: {domain} \u2192 {suggestion}"
    return "invalid format"


def write_csv_export(table: pd.DataFrame, name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Write ``table`` as ``<data dir>/exports/<name>.csv`` (UTF-8, times in ISO 8601).

    The file is written under a temporary name and moved into place, so a reader never sees
    half a file.

    Parameters
    ----------
    table : pandas.DataFrame
        What to write (no index).
    name : str
        File name without ``.csv``.
    data_dir : path, optional
        Data folder (default: :func:`mailkit_analysis.paths.default_data_dir`).

    Returns
    -------
    Path
        The written file.
    """
    from ..paths import resolve_data_dir

    folder = resolve_data_dir(data_dir) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.csv"
    out = table.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda t: None if pd.isna(t) else t.isoformat())
    # The export is for other tools (and people) to read: shared permissions.
    return write_text_atomic(out.to_csv(index=False), target, mode=SHARED_MODE)
