"""Recipient domains: extract them from broken addresses, spot typos, mask addresses.

Codes 2 and 3 are about bad recipient data, and the domain is where bad data shows first:
``jana@gmial.com``, ``petr@seznam.cy``. This module finds the domain of an address even when
the address itself is malformed, and suggests the provider the sender probably meant.

The suggestion rule (:func:`suggest_domain`), tried in this order on the lower-cased domain:

1. A domain in :data:`COMMON_DOMAINS` or :data:`VALID_DOMAINS` is never corrected.
2. Punctuation slips: ``,`` for ``.``, doubled or trailing dots, stray blanks
   (``seznam,cz``, ``email..cz``, ``gmail.com.``) -> the cleaned domain, if it is known.
3. A missing TLD: a bare name equal to, or within one edit of, a provider's name
   (``gmail``, ``gmial``) -> that provider's domain.
4. A TLD typo on a provider's exact name: the TLD within one edit of the provider's TLD
   (``seznam.cy``, ``gmail.con``, ``seznam.c``), or ``.cz`` and ``.com`` swapped
   (``gmail.cz``) -> the provider's domain.
5. Otherwise the optimal-string-alignment (restricted Damerau-Levenshtein) distance on the
   full domain: at most 2 edits for domains of 9 or more characters, at most 1 for shorter
   ones (``seznan.cz``, ``gmial.com``, ``emial.cz``).

Among candidates at the smallest distance, a unique best one wins; a tie between two
providers (``mail`` is one edit from both ``gmail`` and ``email``) suggests nothing. These
are *likely* corrections for a person to review, not automatic rewrites.

Masking (:func:`mailkit_analysis.masking.mask_email`) builds on :func:`extract_domains`: it
keeps the domain and the first character of the local part.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "COMMON_DOMAINS",
    "VALID_DOMAINS",
    "extract_domain",
    "extract_domains",
    "suggest_domain",
    "suggest_domains",
    "osa_distance",
    "likely_typos",
]

#: Mailbox providers a Czech customer base uses, most common first. They are the targets of
#: suggestions, and the order breaks nothing but ties of equal popularity.
COMMON_DOMAINS: tuple[str, ...] = (
    "seznam.cz", "gmail.com", "email.cz", "centrum.cz", "post.cz", "volny.cz", "atlas.cz",
    "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "gmx.com", "o2active.cz",
    "tiscali.cz", "quick.cz",
)

#: Real domains that sit close to a common one (``centrum.sk`` is two edits from
#: ``centrum.cz``) and must therefore never be "corrected".
VALID_DOMAINS: frozenset[str] = frozenset(
    {
        "centrum.sk", "atlas.sk", "azet.sk", "post.sk", "zoznam.sk", "pobox.sk",
        "gmx.de", "gmx.net", "gmx.at", "email.com", "mail.com", "googlemail.com",
        "outlook.cz", "live.com", "msn.com", "me.com", "mac.com", "aol.com",
        "yahoo.co.uk", "hotmail.co.uk", "protonmail.com", "proton.me", "seznam.com",
    }
)

_KNOWN = frozenset(COMMON_DOMAINS) | VALID_DOMAINS
# Czech senders mix up the national and the global TLD: "gmail.cz", "yahoo.cz".
_SWAPPED_TLDS = {"cz", "com"}
_NAMES = tuple(d.split(".", 1)[0] for d in COMMON_DOMAINS)

# The domain is what follows the last "@" of the first address-like token (so
# "petr@@email.cz" and "jan@novak@seznam.cz" give the provider, never a piece of the local
# part), up to a blank, ";", a quote, a bracket: that handles "jan novak@x.cz",
# "<jan@x.cz>" and "a@x.cz; b@y.cz". Commas do not end it, so that "x@seznam,cz" keeps its
# broken domain for the typo rule to see. Arrow runs the simple single-"@" pattern over
# every row; the slower general one runs in Python on the rare rows with several "@".
_SEP = r"\s;<>\"'()\[\]@"
_DOMAIN_PATTERN = rf"^[^@]*@+(?P<domain>[^{_SEP}]*)"
_MULTI_AT = re.compile(rf"^[^@]*@+(?:[^{_SEP}]*@+)*([^{_SEP}]*)")
_TRAILING_JUNK = ",:"  # left by "a@x.cz, b@y.cz" and "a@x.cz:"
_LEADING_JUNK = " \t\r\n<\"'([;,"


def _to_arrow(values) -> pa.Array:
    """Any sequence of str/None/NA as an arrow string array (missing -> null), without copies
    when the series already holds arrow strings (the results frame does)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype="string")
    arrow = pa.array(series.astype(pd.StringDtype("pyarrow")).array)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    return arrow.cast(pa.large_string())


def _to_series(arrow: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(arrow, dtype="string"), index=index)


def _extract_arrow(addresses: pa.Array) -> pa.Array:
    """Vectorised domain extraction (RE2 in arrow, so a million rows take well under a second)."""
    lowered = pc.utf8_lower(addresses)
    found = pc.extract_regex(lowered, pattern=_DOMAIN_PATTERN)
    domain = pc.if_else(found.is_valid(), pc.struct_field(found, [0]), pa.scalar(None, pa.large_string()))
    multi = pc.fill_null(pc.greater(pc.count_substring(lowered, "@"), 1), False)
    if pc.any(multi).as_py():
        rows = pc.filter(lowered, multi).to_pylist()
        fixed = [m.group(1) if (m := _MULTI_AT.match(r)) else None for r in rows]
        domain = pc.replace_with_mask(domain, multi, pa.array(fixed, type=pa.large_string()))
    domain = pc.utf8_rtrim(domain, characters=_TRAILING_JUNK)
    return pc.if_else(pc.equal(domain, ""), pa.scalar(None, pa.large_string()), domain)


def extract_domain(address) -> str | None:
    """Return the lower-cased domain of a possibly malformed address.

    Parameters
    ----------
    address : str or None
        What the recipient list held, e.g. ``"petr@@email.cz"`` or ``"martin@gmial"``.

    Returns
    -------
    str or None
        The domain as typed (``"email.cz"``, ``"gmial"``, ``"seznam,cz"``), or ``None`` when
        there is no address or no ``@`` in it.

    Examples
    --------
    >>> extract_domain("Jana.Novakova@Seznam.CZ")
    'seznam.cz'
    >>> extract_domain("x@seznam,cz")
    'seznam,cz'
    >>> extract_domain("") is None
    True
    """
    if address is None or address is pd.NA or (isinstance(address, float) and np.isnan(address)):
        return None
    return _extract_arrow(pa.array([str(address)], type=pa.large_string()))[0].as_py()


def extract_domains(addresses: pd.Series) -> pd.Series:
    """Vectorised :func:`extract_domain`.

    Parameters
    ----------
    addresses : pandas.Series
        Addresses (string dtype or object); missing values allowed.

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index, ``<NA>`` where no domain could be found.
    """
    series = pd.Series(addresses) if not isinstance(addresses, pd.Series) else addresses
    if series.empty:
        return pd.Series([], index=series.index, dtype="string")
    return _to_series(_extract_arrow(_to_arrow(series)), series.index)


def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, transpositions.

    The restricted Damerau-Levenshtein distance: ``osa_distance("gmial", "gmail") == 1``
    (one transposition), where plain Levenshtein would count 2.

    Parameters
    ----------
    a, b : str
        The strings to compare.

    Returns
    -------
    int
        The number of edits.
    """
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if not la or not lb:
        return la or lb
    before = None
    previous = list(range(lb + 1))
    for i in range(1, la + 1):
        current = [i] + [0] * lb
        ca = a[i - 1]
        for j in range(1, lb + 1):
            cb = b[j - 1]
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        before, previous = previous, current
    return previous[lb]


def _unique_best(scored: list[tuple[int, str]], limit: int) -> str | None:
    """The single closest candidate within ``limit`` edits; ``None`` if absent or tied."""
    close = [(d, c) for d, c in scored if d <= limit]
    if not close:
        return None
    best = min(d for d, _ in close)
    winners = {c for d, c in close if d == best}
    return winners.pop() if len(winners) == 1 else None


@functools.lru_cache(maxsize=65536)
def suggest_domain(domain: str | None) -> str | None:
    """Return the common domain a misspelled one probably meant.

    See the module docstring for the rule, in order: known domains are left alone,
    punctuation slips, a missing TLD, a TLD typo on an exact provider name, then an
    optimal-string-alignment distance of at most 2 (at most 1 below 9 characters).

    Parameters
    ----------
    domain : str or None
        A domain as :func:`extract_domain` returns it.

    Returns
    -------
    str or None
        The likely intended domain, or ``None`` when the domain is known, empty, too far
        from every common one, or equally close to two of them.

    Examples
    --------
    >>> suggest_domain("gmial.com"), suggest_domain("seznam.cy"), suggest_domain("gmial")
    ('gmail.com', 'seznam.cz', 'gmail.com')
    >>> suggest_domain("seznam.cz") is None
    True
    """
    if domain is None or domain is pd.NA:
        return None
    typed = str(domain).strip().lower()
    if not typed or typed in _KNOWN:
        return None
    # Rule 2: punctuation slips.
    cleaned = "".join(typed.split()).replace(",", ".")
    while ".." in cleaned:
        cleaned = cleaned.replace("..", ".")
    cleaned = cleaned.strip(".")
    if not cleaned:
        return None
    if cleaned in _KNOWN:
        return cleaned
    name, dot, tld = cleaned.rpartition(".")
    if not dot:
        # Rule 3: a bare name; short names ("o2") are too ambiguous to guess from.
        if len(cleaned) < 4:
            return None
        scored = [(osa_distance(cleaned, n), d) for n, d in zip(_NAMES, COMMON_DOMAINS)]
        return _unique_best(scored, 1)
    # Rule 4: the provider's exact name with a slip in the TLD.
    for known in COMMON_DOMAINS:
        known_name, _, known_tld = known.rpartition(".")
        swapped = {tld, known_tld} == _SWAPPED_TLDS
        if name == known_name and (swapped or osa_distance(tld, known_tld) <= 1):
            return known
    # Rule 5: anything else close enough on the whole domain.
    limit = 2 if len(cleaned) >= 9 else 1
    scored = [
        (osa_distance(cleaned, known), known)
        for known in COMMON_DOMAINS
        if abs(len(known) - len(cleaned)) <= limit
    ]
    return _unique_best(scored, limit)


def suggest_domains(domains: pd.Series) -> pd.Series:
    """Vectorised :func:`suggest_domain`, computed once per distinct domain.

    Parameters
    ----------
    domains : pandas.Series
        Domains, e.g. from :func:`extract_domains`.

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index, ``<NA>`` where there is no suggestion.
    """
    codes, uniques = pd.factorize(pd.Series(domains, dtype="string"), use_na_sentinel=True)
    suggestions = np.array([suggest_domain(u) for u in uniques] + [None], dtype=object)
    return pd.Series(suggestions[codes], index=domains.index, dtype="string")


def likely_typos(frame: pd.DataFrame, codes=None) -> pd.DataFrame:
    """Domains of the frame's addresses that look like typos of common providers:
    :func:`mailkit_analysis.analysis.tables.likely_typos` over ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame (needs ``email`` and ``error_code``).
    codes : iterable of int, optional
        Only rows with these error codes; default: every row with an address.

    Returns
    -------
    pandas.DataFrame
        Columns ``domain``, ``suggestion``, ``count`` (rows), ``example`` (one masked
        address, the earliest seen); most frequent first.
    """
    from . import tables  # tables builds on this module's domain rule
    from .window import Window

    return tables.likely_typos(Window.from_frame(frame), codes)
