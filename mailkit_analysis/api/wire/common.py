"""What both codecs share: telling auth errors from other API errors, quoting bodies safely."""
from __future__ import annotations

import re

from ...errors import (
    MailkitAPIError,
    MailkitAuthError,
    MailkitError,
    MailkitResponseError,
)
from ...masking import mask_addresses
from ...redaction import redact

__all__ = ["api_error_for", "body_excerpt", "looks_like_html", "EXCERPT_CHARS"]

EXCERPT_CHARS = 160
_EDGE = 256  # longer than any secret we redact
_AUTH_TEXT = re.compile(r"^\s*(unauthori[sz]ed|disallowed ip\b)", re.IGNORECASE)


def api_error_for(text: str, **where) -> MailkitError:
    """Return the typed error for an error text Mailkit sent (auth or other API error)."""
    text = redact(str(text)).strip() or "(empty error text)"
    if _AUTH_TEXT.match(text):
        return MailkitAuthError(text, **where)
    return MailkitAPIError(text, **where)


def body_excerpt(body: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a response body, whitespace folded, secrets removed, for error messages."""
    window = limit * 8 + 4096  # bodies can be megabytes; only their start is ever shown
    cut = len(body) > window
    if isinstance(body, bytes):
        body = body[:window].decode("utf-8", "replace")
    else:
        body = body[:window]
    if cut:
        # A secret running over the window's edge would survive redaction in part: drop the
        # edge. Redact before cutting to the limit for the same reason.
        body = body[:-_EDGE]
    folded = " ".join(redact(body).split())
    # Result bodies carry recipient addresses; an error message is no place for them.
    return mask_addresses(redact(folded))[:limit]


def looks_like_html(body: bytes) -> bool:
    """True for an HTML page (a proxy's or server's error page served instead of the API)."""
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head[:200]


def malformed(message: str, body: bytes, **where) -> MailkitResponseError:
    """A :class:`MailkitResponseError` that quotes the start of ``body``."""
    if looks_like_html(body):
        message = f"{message} (an HTML page came back instead of an API answer)"
    return MailkitResponseError(message, excerpt=body_excerpt(body), **where)
