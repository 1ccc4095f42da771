"""The catalogue of ``ERROR_CODE`` values that ``mailkit.sendmail_mass.results`` reports.

One entry per documented code, with Mailkit's Czech original, an English text, the kind of
problem it is, how bad it is and what to do about it. Codes Mailkit adds later are kept by
every stage and shown as :data:`UNKNOWN`, never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

from .i18n import N_, gettext, pgettext

__all__ = [
    "ErrorCode",
    "CATALOGUE",
    "UNKNOWN",
    "CATEGORIES",
    "SETUP_CODES",
    "lookup",
    "error_name",
    "code_label",
]

CAMPAIGN_SETUP = "campaign set-up"
REQUEST_SETUP = "request set-up"
RECIPIENT_DATA = "recipient data"
RECIPIENT_STATUS = "recipient status"
UNKNOWN_CATEGORY = "unknown"
CATEGORIES = (CAMPAIGN_SETUP, REQUEST_SETUP, RECIPIENT_DATA, RECIPIENT_STATUS, UNKNOWN_CATEGORY)


@dataclass(frozen=True)
class ErrorCode:
    """One Mailkit error code.

    Attributes
    ----------
    code : int
        The ``ERROR_CODE`` value.
    name : str
        Short stable identifier used in frames and charts (``error_name`` column).
    czech : str
        Mailkit's own description, verbatim from the API page.
    english : str
        The same in English (the catalogue's source text; :meth:`description` translates it).
    category : str
        campaign set-up, request set-up, recipient data or recipient status.
    severity : str
        critical (a whole send failed), warning (data quality) or info (expected churn).
    remedy : str
        What to do about it, in English (:meth:`remedy_text` translates it).
    """

    code: int
    name: str
    czech: str
    english: str
    category: str
    severity: str
    remedy: str

    @property
    def label(self) -> str:
        """Human label used in tables and charts, e.g. ``"2 invalid_address"`` (in the language
        in force: ``"2 neplatná adresa"`` in Czech)."""
        return f"{self.code} {pgettext('error name', self.name)}"

    def description(self, lang: str | None = None) -> str:
        """What the code means, in ``lang`` (default: the language in force)."""
        return gettext(self.english, lang)

    def remedy_text(self, lang: str | None = None) -> str:
        """What to do about it, in ``lang`` (default: the language in force)."""
        return gettext(self.remedy, lang)


CATALOGUE: dict[int, ErrorCode] = {
    e.code: e
    for e in (
        ErrorCode(
            1, "attachment_failed",
            "nebylo možné připojit přílohu (příloha nenalezena / nejedná se o transakční kampaň)",
            N_("the attachment could not be attached (attachment not found / not a transactional campaign)"),
            CAMPAIGN_SETUP, "critical",
            N_("Check that the attachment URL answers with the file (INFO 'url return null' means it "
            "returned nothing) and that the campaign is a transactional one, then resend."),
        ),
        ErrorCode(
            2, "invalid_address",
            "e-mailová adresa příjemce měla nevalidní formát",
            N_("the recipient's e-mail address had an invalid format"),
            RECIPIENT_DATA, "warning",
            N_("Fix the addresses at their source (sign-up form validation, CRM import); "
            "correct obvious domain typos such as gmial.com or seznam.cy."),
        ),
        ErrorCode(
            3, "missing_address",
            "e-mailová adresa příjemce chyběla",
            N_("the recipient's e-mail address was missing"),
            RECIPIENT_DATA, "warning",
            N_("Make the sending code skip or complete recipients without an address before calling sendmail_mass."),
        ),
        ErrorCode(
            4, "invalid_mailinglist",
            "bylo zadáno neplatné mailinglist_id",
            N_("an invalid mailinglist_id was given"),
            REQUEST_SETUP, "critical",
            N_("Use an existing mailing list ID in the sendmail_mass call (Mailkit: Contacts / Mailing lists)."),
        ),
        ErrorCode(
            5, "invalid_campaign",
            "bylo zadáno neplatné id_message (campaign_id)",
            N_("an invalid id_message (campaign_id) was given"),
            REQUEST_SETUP, "critical",
            N_("Use the ID of an existing transactional campaign as id_message (mailkit.campaigns.list lists them)."),
        ),
        ErrorCode(
            6, "unsubscribed",
            "e-malová adresa příjemce byla odhlášena",
            N_("the recipient's e-mail address was unsubscribed"),
            RECIPIENT_STATUS, "info",
            N_("Expected churn: stop addressing unsubscribed recipients, or check the list's consent if the share grows."),
        ),
        ErrorCode(
            7, "missing_sender",
            "kampaň neměla nastavenou odesílací adresu",
            N_("the campaign had no sender address set"),
            CAMPAIGN_SETUP, "critical",
            N_("Set a verified sender address on the campaign in Mailkit, then resend."),
        ),
        ErrorCode(
            8, "invalid_template",
            "neplatný soubor šablony",
            N_("invalid template file"),
            CAMPAIGN_SETUP, "critical",
            N_("Fix the campaign's template (it does not render) and send a test before resending."),
        ),
    )
}

#: Stand-in for codes the catalogue does not know (kept, never dropped).
UNKNOWN = ErrorCode(
    0, "unknown", "", N_("a code not in the catalogue"), UNKNOWN_CATEGORY, "warning",
    N_("Mailkit returned a code this toolkit does not know yet: read the INFO text and Mailkit's API page."),
)

#: Codes where one mistake fails every recipient of a send.
SETUP_CODES = frozenset(c for c, e in CATALOGUE.items() if e.category in (CAMPAIGN_SETUP, REQUEST_SETUP))


def lookup(code) -> ErrorCode:
    """Return the catalogue entry for ``code`` or :data:`UNKNOWN`."""
    try:
        return CATALOGUE.get(int(code), UNKNOWN)
    except (TypeError, ValueError):
        return UNKNOWN


def error_name(code) -> str:
    """Return the ``error_name`` for ``code`` ("unknown" for codes not in the catalogue)."""
    return lookup(code).name


def code_label(code) -> str:
    """Return a human label such as ``"6 unsubscribed"`` or ``"9 unknown"`` (in the language
    in force: ``"6 odhlášení"`` in Czech)."""
    try:
        number = int(code)
    except (TypeError, ValueError):
        return f"? {pgettext('error name', 'unknown')}"
    return f"{number} {pgettext('error name', lookup(number).name)}"
