"""How the values, headings and sentences of a table or chart read in the language of the report.

The frames keep their values as programs read them (``severity`` ``"critical"``, ``category``
``"recipient data"``, ``error_name`` ``"invalid_address"``, the ``"other"`` bucket, ``reason``
``"likely typo: gmial.com → gmail.com"``); these functions give what a reader sees instead, in
the language in force. The notebooks name their column headings and empty-table sentences in
English; :func:`heading_label` and :func:`sentence_label` give them in the language in force when
a table is shown. JSON and CSV exports never go through them.
"""
from __future__ import annotations

import re

from ..codes import lookup
from ..i18n import N_, NC_, gettext, ngettext, pgettext

__all__ = ["VALUE_CONTEXTS", "value_label", "bucket_label", "severity_label", "category_label",
           "error_name_label", "reason_label", "heading_label", "sentence_label", "first_of_line"]

# Every value a reader may meet, marked for the catalogue under its context.
_BUCKETS = (NC_("bucket", "other"), NC_("bucket", "(no campaign)"), NC_("bucket", "(no domain)"))
_SEVERITIES = (NC_("severity", "critical"), NC_("severity", "warning"), NC_("severity", "info"))
_CATEGORIES = (NC_("category", "campaign set-up"), NC_("category", "request set-up"),
               NC_("category", "recipient data"), NC_("category", "recipient status"), NC_("category", "unknown"))
_NAMES = (NC_("error name", "attachment_failed"), NC_("error name", "invalid_address"),
          NC_("error name", "missing_address"), NC_("error name", "invalid_mailinglist"),
          NC_("error name", "invalid_campaign"), NC_("error name", "unsubscribed"),
          NC_("error name", "missing_sender"), NC_("error name", "invalid_template"), NC_("error name", "unknown"))

_REASONS = (NC_("reason", "invalid format"),)
_TYPO = re.compile(r"likely typo: (?P<typed>.+) → (?P<suggested>.+)")

#: The column headings the notebooks give their tables, in English.
_HEADINGS = frozenset((
    NC_("column heading", "Category"), NC_("column heading", "Codes"), NC_("column heading", "Code"),
    NC_("column heading", "Name"), NC_("column heading", "Error rows"), NC_("column heading", "Share"),
    NC_("column heading", "Requests"), NC_("column heading", "Sends"), NC_("column heading", "Campaign"),
    NC_("column heading", "Recipients"), NC_("column heading", "Error rate"),
    NC_("column heading", "First error"), NC_("column heading", "Last error"), NC_("column heading", "Rows"),
    NC_("column heading", "Send"), NC_("column heading", "Request"), NC_("column heading", "Delivered"),
    NC_("column heading", "Failed"), NC_("column heading", "Most common INFO"),
    NC_("column heading", "Recipient"), NC_("column heading", "Domain"), NC_("column heading", "Invalid (2)"),
    NC_("column heading", "Missing (3)"), NC_("column heading", "Unsubscribed (6)"),
    NC_("column heading", "Likely meant"), NC_("column heading", "Typed domain"),
    NC_("column heading", "Example (masked)"), NC_("column heading", "Missing addresses"),
    NC_("column heading", "Unsubscribed"), NC_("column heading", "Share of recipients"),
    NC_("column heading", "Last seen"), NC_("column heading", "Address"), NC_("column heading", "Why"),
    NC_("column heading", "Suggested address"), NC_("column heading", "Campaigns"),
))

#: The sentences the notebooks show instead of an empty table or chart, in English.
_SENTENCES = frozenset((
    N_("No problems flagged, so no timeline."),
    N_("No error rows in this window."),
    N_("No error codes to list."),
    N_("No campaign had errors in this window."),
    N_("No INFO texts in this window."),
    N_("No sends with errors."),
    N_("No INFO texts."),
    N_("No problem flagged for this choice in the window."),
    N_("No affected recipients."),
    N_("No invalid, missing or unsubscribed addresses in this window."),
    N_("No invalid, missing or unsubscribed addresses to list."),
    N_("No domain in this window looks like a typo of a common provider."),
    N_("No missing addresses (code 3) in this window."),
    N_("No unsubscribed recipients (code 6) in this window."),
    N_("No address to fix in this window."),
))


def _first_of(count: int, what: str) -> str | None:
    """"The first {shown} of {total} <what>:" for the things the notebooks count, or None.

    One text per thing: after "of {total}" Czech needs the genitive plural (z 33 kampaní), and the
    form of "first" follows the count shown (První 3, Prvních 15).
    """
    if what == "rows":
        return ngettext("The first {shown} of {total} rows:", "The first {shown} of {total} rows:", count)
    if what == "campaigns":
        return ngettext("The first {shown} of {total} campaigns:", "The first {shown} of {total} campaigns:",
                        count)
    if what == "sends":
        return ngettext("The first {shown} of {total} sends:", "The first {shown} of {total} sends:", count)
    if what == "recipients":
        return ngettext("The first {shown} of {total} recipients:", "The first {shown} of {total} recipients:",
                        count)
    if what == "domains":
        return ngettext("The first {shown} of {total} domains:", "The first {shown} of {total} domains:", count)
    if what == "addresses":
        return ngettext("The first {shown} of {total} addresses:", "The first {shown} of {total} addresses:",
                        count)
    return None


#: Column name -> catalogue context of its values.
VALUE_CONTEXTS = {"severity": "severity", "category": "category", "error_name": "error name",
                  "reason": "reason"}


def bucket_label(value) -> str:
    """``"other"``, ``"(no campaign)"``, ``"(no domain)"`` translated; any other value as it is."""
    text = str(value)
    return pgettext("bucket", text) if text in _BUCKETS else text


def severity_label(severity) -> str:
    """``"critical"`` -> ``"kritický"`` (Czech)."""
    return pgettext("severity", str(severity))


def category_label(category) -> str:
    """``"recipient data"`` -> ``"data příjemců"`` (Czech)."""
    return pgettext("category", str(category))


def error_name_label(code) -> str:
    """The short name of ``code`` for a reader: ``"invalid_address"`` in English (the name the
    frames hold), ``"neplatná adresa"`` in Czech."""
    return pgettext("error name", lookup(code).name)


def value_label(column: str, value) -> str:
    """A value of ``column`` as a reader sees it (unchanged for columns without a vocabulary)."""
    if column == "reason":
        return reason_label(value)
    context = VALUE_CONTEXTS.get(column)
    return pgettext(context, str(value)) if context else bucket_label(value)


def reason_label(reason) -> str:
    """Why an address needs fixing (:func:`~mailkit_analysis.analysis.recipients.addresses_to_fix`)
    for a reader: ``"likely typo: gmial.com → gmail.com"`` -> ``"pravděpodobný překlep: gmial.com →
    gmail.com"``, ``"invalid format"`` -> ``"neplatný formát"`` (Czech)."""
    text = str(reason)
    typo = _TYPO.fullmatch(text)
    if typo:
        return pgettext("reason", "likely typo: {typed} → {suggested}").format(**typo.groupdict())
    return pgettext("reason", text) if text in _REASONS else text


def heading_label(heading) -> str:
    """A notebook's English column heading in the language in force (others as they are)."""
    text = str(heading)
    return pgettext("column heading", text) if text in _HEADINGS else text


def sentence_label(sentence) -> str:
    """A notebook's English sentence for an empty table or chart in the language in force
    (others as they are)."""
    return gettext(sentence) if sentence in _SENTENCES else sentence


def first_of_line(shown: int, total: int, what: str | None = None) -> str:
    """``"The first 15 of 33 campaigns:"`` in the language in force (Czech ``"Prvních 15 z 33
    kampaní:"``); ``what`` is the English plural of what a row is (default ``"rows"``)."""
    from ..i18n import format_number

    what = what or "rows"
    text = _first_of(shown, what)
    if text is None:  # a thing of a caller's own, in its own words
        text = ngettext("The first {shown} of {total} {what}:", "The first {shown} of {total} {what}:", shown)
    return text.format(shown=format_number(shown), total=format_number(total), what=what)
