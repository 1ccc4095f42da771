"""Per-recipient views of a results frame: who was affected, which addresses to fix.

Reports are shared beyond the people who may see recipients' addresses: these views are
drawn from a frame masked by :func:`mailkit_analysis.masking.mask_frame` (``j***@gmail.com``),
and then count recipients by the masked frame's ``recipient_key``, so they count people, not
masks. :func:`write_csv_export` writes a view where other tools can read it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from ..atomic import SHARED_MODE, write_text_atomic
from ..masking import RECIPIENT_KEY
from .domains import extract_domains, suggest_domains

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


def _address_keys(frame: pd.DataFrame) -> pd.Series:
    """Who a row is about: the address, or in a masked frame its recipient key."""
    email = frame["email"].astype("string").fillna("")
    key = frame[RECIPIENT_KEY].astype("string").fillna("") if RECIPIENT_KEY in frame else email
    return key.where(email.str.strip() != "", NO_ADDRESS)


def _joined_codes(codes: pd.Series) -> str:
    return ", ".join(str(int(c)) for c in sorted(codes.dropna().unique()))


def affected_recipients(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per recipient address with the errors it had.

    Rows without an address (code 3) are gathered in one :data:`NO_ADDRESS` row.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame (mask it first with :func:`mask_frame` for anything shared; the
        recipients behind one mask stay apart).

    Returns
    -------
    pandas.DataFrame
        ``email``, ``error_codes`` (e.g. ``"2, 6"``), ``rows``, ``sends``, ``first_seen``,
        ``last_seen``; most rows first, then most recent.
    """
    columns = {"email": "string", "error_codes": "string", "rows": "int64", "sends": "int64"}
    if frame.empty:
        out = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})
        out["first_seen"] = frame["date"].iloc[:0]
        out["last_seen"] = frame["date"].iloc[:0]
        return out
    keys = _address_keys(frame)
    grouped = frame.groupby(keys.rename("recipient"), sort=False)
    emails = grouped["email"].first().astype("string")
    out = pd.DataFrame(
        {
            "email": emails.where(emails.index != NO_ADDRESS, NO_ADDRESS),
            "error_codes": grouped["error_code"].agg(_joined_codes),
            "rows": grouped.size(),
            "sends": grouped["id_send"].nunique(),
            "first_seen": grouped["date"].min(),
            "last_seen": grouped["date"].max(),
        }
    ).reset_index(drop=True)
    out = out.sort_values(["rows", "last_seen"], ascending=[False, False], kind="stable")
    return out.astype(columns).reset_index(drop=True)


def addresses_to_fix(frame: pd.DataFrame, codes=(2,)) -> pd.DataFrame:
    """The addresses someone should correct at their source, one row per address.

    An address is listed when Mailkit called it invalid (``codes``, default 2) or when its
    domain looks like a typo of a common provider (``gmial.com``), whatever its code.
    Rows without an address (code 3) cannot be corrected here and are left out.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame; pass a masked one (:func:`mask_frame`) unless the list stays with
        people allowed to see the addresses. Masking keeps the domain, so the suggestions
        are the same either way.
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
    email = frame["email"].astype("string")
    has_address = (email.fillna("").str.strip() != "").to_numpy()
    rows = frame[has_address]
    if rows.empty:
        out = pd.DataFrame({c: pd.Series([], dtype="string") for c in FIX_COLUMNS})
        return out.astype({"rows": "int64"})
    domains = extract_domains(rows["email"].astype("string"))
    suggestions = suggest_domains(domains)
    invalid = rows["error_code"].isin(list(codes)).fillna(False).to_numpy()
    keep = invalid | suggestions.notna().to_numpy()
    rows, domains, suggestions = rows[keep], domains[keep], suggestions[keep]
    if rows.empty:
        return addresses_to_fix(frame.iloc[:0], codes)
    ordered = rows.assign(_domain=domains, _suggestion=suggestions, _who=_address_keys(rows))
    ordered = ordered.sort_values("date", kind="stable")
    grouped = ordered.groupby("_who", sort=False)
    out = pd.DataFrame(
        {
            "email": grouped["email"].first().astype("string"),
            "domain": grouped["_domain"].first(),
            "suggested_domain": grouped["_suggestion"].first(),
            "error_codes": grouped["error_code"].agg(_joined_codes),
            "rows": grouped.size().astype("int64"),
            "first_seen": grouped["date"].min(),
            "last_seen": grouped["date"].max(),
            "campaign_ids": grouped["campaign_id"].agg(_joined_codes),
            "last_id_send": grouped["id_send"].last().astype("Int64"),
            "last_request_id": grouped["request_id"].last().astype("Int64"),
        }
    ).reset_index(drop=True)
    out["suggested_email"] = [_with_domain(a, s) for a, s in zip(out["email"], out["suggested_domain"])]
    out["reason"] = [_reason(d, s) for d, s in zip(out["domain"], out["suggested_domain"])]
    out = out.sort_values(["rows", "last_seen"], ascending=[False, False], kind="stable")
    typed = {c: "string" for c in ("email", "reason", "domain", "suggested_domain", "suggested_email",
                                   "error_codes", "campaign_ids")}
    return out[FIX_COLUMNS].astype(typed).reset_index(drop=True)


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
