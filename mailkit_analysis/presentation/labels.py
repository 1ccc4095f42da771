"""How the values of a table or chart read in the language of the report.

The frames keep their values as programs read them (``severity`` ``"critical"``, ``category``
``"recipient data"``, ``error_name`` ``"invalid_address"``, the ``"other"`` bucket); these
functions give what a reader sees instead, in the language in force. JSON and CSV exports
never go through them.
"""
from __future__ import annotations

from ..codes import lookup
from ..i18n import NC_, pgettext

__all__ = ["VALUE_CONTEXTS", "value_label", "bucket_label", "severity_label", "category_label",
           "error_name_label"]

# Every value a reader may meet, marked for the catalogue under its context.
_BUCKETS = (NC_("bucket", "other"), NC_("bucket", "(no campaign)"), NC_("bucket", "(no domain)"))
_SEVERITIES = (NC_("severity", "critical"), NC_("severity", "warning"), NC_("severity", "info"))
_CATEGORIES = (NC_("category", "campaign set-up"), NC_("category", "request set-up"),
               NC_("category", "recipient data"), NC_("category", "recipient status"), NC_("category", "unknown"))
_NAMES = (NC_("error name", "attachment_failed"), NC_("error name", "invalid_address"),
          NC_("error name", "missing_address"), NC_("error name", "invalid_mailinglist"),
          NC_("error name", "invalid_campaign"), NC_("error name", "unsubscribed"),
          NC_("error name", "missing_sender"), NC_("error name", "invalid_template"), NC_("error name", "unknown"))

#: Column name -> catalogue context of its values.
VALUE_CONTEXTS = {"severity": "severity", "category": "category", "error_name": "error name"}


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
    context = VALUE_CONTEXTS.get(column)
    return pgettext(context, str(value)) if context else bucket_label(value)
