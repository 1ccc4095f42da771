"""Recipient address masking: the one place where an address is hidden.

Reports, exports, error messages and logs are seen by people who may not see recipients'
addresses, so every address shown anywhere goes through this module, with one rule
(:func:`mask_email`): keep the first character of the local part and the domain, replace
the rest with ``***`` (``jana.novakova@gmail.com`` -> ``j***@gmail.com``). A malformed address
is masked the same way, and one without a findable domain becomes ``j***``: the local part
never leaks.

* :func:`mask_email` / :func:`mask_emails`: one address / a column of addresses;
* :func:`mask_addresses` / :func:`mask_text`: every address-like word (:data:`ADDRESS_IN_TEXT`)
  inside one free text (an error message, a quoted body) / a column of texts;
* :func:`mask_frame`: a results frame, with a ``recipient_key`` column added.

Masked addresses collide (every ``jana.*@gmail.com`` becomes ``j***@gmail.com``), so
:func:`mask_frame` adds :data:`RECIPIENT_KEY`: a keyed hash of the raw address whose key is
drawn at random once per process and never stored, so per-recipient views count people, not
masks, and nobody can look a key up.

Secrets (the MD5 code) are a different matter, kept out by :mod:`mailkit_analysis.redaction`.
"""
from __future__ import annotations

import functools
import hashlib
import re
import secrets

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ADDRESS_IN_TEXT",
    "RECIPIENT_KEY",
    "mask_email",
    "mask_emails",
    "mask_addresses",
    "mask_text",
    "mask_frame",
]

#: An address-like word inside free text, malformed ones included (``petr@@email.cz``, and
#: ``jan@novak@seznam.cz`` as one word, so no piece of its local part survives): a run without
#: blanks, quotes or brackets around one or more "@". Loose on purpose: masking a non-address
#: costs nothing, missing one leaks it.
_WORD = r"[^\s@<>\"'(),;:\[\]]"
ADDRESS_IN_TEXT = re.compile(rf"{_WORD}+@+{_WORD}*(?:@+{_WORD}*)*")

#: Column of a masked frame that tells recipients apart (see the module docstring).
RECIPIENT_KEY = "recipient_key"
# Drawn once per process and never written anywhere: keys cannot be recomputed from a guess.
_KEY = secrets.token_bytes(32)


def mask_email(address) -> str | None:
    """Mask an address for reports: ``"jana.novakova@gmail.com"`` -> ``"j***@gmail.com"``.

    The first character of the local part is kept, the rest is replaced by ``***``; the
    domain (as :func:`~mailkit_analysis.analysis.domains.extract_domain` finds it) is kept. A malformed address is masked the
    same way, and one without a findable domain becomes ``"j***"``: the local part never
    leaks. ``None``, ``<NA>`` and ``""`` are returned unchanged.

    Parameters
    ----------
    address : str or None
        The address.

    Returns
    -------
    str or None
        The masked address.

    Examples
    --------
    >>> mask_email("jana.novakova@gmail.com"), mask_email("petr@@email.cz"), mask_email("x@")
    ('j***@gmail.com', 'p***@email.cz', 'x***')
    """
    if address is None or address is pd.NA or address == "":
        return address
    return mask_emails(pd.Series([address], dtype="string")).iloc[0]


def mask_emails(addresses: pd.Series) -> pd.Series:
    """Vectorised :func:`mask_email`.

    Parameters
    ----------
    addresses : pandas.Series
        Addresses; missing and empty values stay as they are.

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index.
    """
    series = pd.Series(addresses, dtype="string") if not isinstance(addresses, pd.Series) else addresses
    series = series.astype("string")
    if series.empty:
        return series.copy()
    # The domain of a broken address is found as the typo rules find it (analysis.domains);
    # imported here, so that a fetch, which masks only the text of an error, stays clear of
    # the analysis package.
    from .analysis.domains import _LEADING_JUNK, _extract_arrow, _to_arrow, _to_series

    arrow = _to_arrow(series)
    domain = _extract_arrow(arrow)
    first = pc.utf8_slice_codeunits(pc.utf8_ltrim(arrow, characters=_LEADING_JUNK), 0, 1)
    first = pc.replace_substring(first, "@", "")  # "@x.cz": no local part to hint at
    text = functools.partial(pa.scalar, type=pa.large_string())
    masked = pc.binary_join_element_wise(first, text("***"), text(""))
    with_domain = pc.binary_join_element_wise(masked, text("@"), domain, text(""))
    masked = pc.if_else(domain.is_valid(), with_domain, masked)
    masked = pc.if_else(pc.equal(arrow, ""), arrow, masked)
    return _to_series(masked, series.index)


def mask_addresses(text: str) -> str:
    """Mask every address-like word in one text (``"bounced: jana@x.cz"`` -> ``"bounced: j***@x.cz"``).

    For texts that quote what came from outside (error messages, body excerpts, Mailkit's
    ``INFO``): they can reach stderr, logs, reports and the cache's request state, where no
    recipient address belongs. Each word is masked by :func:`mask_email`.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    if "@" not in text:
        return text
    return ADDRESS_IN_TEXT.sub(lambda m: mask_email(m.group(0)), text)


def mask_text(texts: pd.Series) -> pd.Series:
    """Mask every address-like word inside free texts (``"bounced: jana@x.cz"`` ->
    ``"bounced: j***@x.cz"``), once per distinct text.

    Parameters
    ----------
    texts : pandas.Series
        Free texts; missing values stay missing.

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index.
    """
    texts = pd.Series(texts).astype("string")
    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    cleaned = [mask_addresses(str(u)) for u in uniques]
    values = np.array(list(cleaned) + [pd.NA], dtype=object)
    return pd.Series(values[codes], index=texts.index, dtype="string")


def _pseudonyms(addresses: pd.Series) -> pd.Series:
    """A keyed hash per distinct address (12 hex digits), ``<NA>`` for no address."""
    codes, uniques = pd.factorize(addresses.astype("string"), use_na_sentinel=True)
    keys = [hashlib.blake2b(str(u).encode("utf-8"), key=_KEY, digest_size=6).hexdigest() if str(u) else pd.NA
            for u in uniques]
    values = np.array(keys + [pd.NA], dtype=object)
    return pd.Series(values[codes], index=addresses.index, dtype="string")


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a results frame with every recipient address masked.

    ``email`` becomes ``j***@gmail.com`` (empty addresses stay empty); address-like words
    in ``info`` and ``campaign_name`` are masked the same way. Counts, codes, dates and ids
    are unchanged, so every table and chart drawn from the copy has the same numbers. A
    ``recipient_key`` column tells the recipients behind one mask apart (see the module
    docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame.

    Returns
    -------
    pandas.DataFrame
        The masked copy.
    """
    out = frame.copy()
    if "email" in out:
        out[RECIPIENT_KEY] = _pseudonyms(out["email"])
        out["email"] = mask_emails(out["email"].astype("string"))
    for column in ("info", "campaign_name"):
        if column in out:
            out[column] = mask_text(out[column])
    return out
