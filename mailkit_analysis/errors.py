"""Typed errors raised by the toolkit.

Every failure the toolkit can explain is a subclass of :class:`MailkitError`, so a caller
(a notebook, the command line, a cron job) can catch one type and still tell the causes
apart. Messages say what went wrong, where, and what to do; they never carry the MD5 code.
"""
from __future__ import annotations

__all__ = [
    "MailkitError",
    "MailkitAuthError",
    "MailkitAPIError",
    "MailkitResponseError",
    "MailkitTransportError",
    "ConfigError",
    "WindowError",
]

CREDENTIALS_HINT = (
    "Find the API ID and MD5 code in your Mailkit account under Profile / Integration, "
    "and make sure the IP address this machine calls from is allowed there."
)


class MailkitError(Exception):
    """Root of every error the toolkit raises on purpose.

    Parameters
    ----------
    message : str
        Human readable explanation (already free of secrets).
    request_id : int, optional
        The ``sendmail_mass`` request the call was about, when there was one.
    url : str, optional
        The endpoint that was called.
    """

    def __init__(self, message: str, *, request_id: int | None = None, url: str | None = None):
        self.message = message
        self.request_id = request_id
        self.url = url
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.request_id is not None:
            where.append(f"request_id={self.request_id}")
        if self.url:
            where.append(self.url)
        return f"{self.message} [{', '.join(where)}]" if where else self.message


class ConfigError(MailkitError):
    """The toolkit is missing configuration it needs (credentials, endpoints, paths)."""


class WindowError(MailkitError, ValueError):
    """A date window that cannot be asked for: a bound that is not a date, or ``since``
    not before ``until`` (which would only ever give an empty answer)."""


class MailkitAuthError(MailkitError):
    """Mailkit refused the credentials (``Unauthorized``) or the caller's IP (``Disallowed IP``).

    The message always says where the API ID and MD5 live and that the IP must be allowed.
    """

    def __init__(self, api_text: str, **where):
        self.api_text = api_text
        super().__init__(f"Mailkit refused the call: {api_text}. {CREDENTIALS_HINT}", **where)


class MailkitAPIError(MailkitError):
    """Mailkit answered the call with an error text of its own (not an auth problem)."""

    def __init__(self, api_text: str, **where):
        self.api_text = api_text
        super().__init__(f"Mailkit answered with an error: {api_text}", **where)


class MailkitResponseError(MailkitError):
    """The answer could not be understood: not JSON/XML, truncated, HTML, or the wrong shape.

    Attributes
    ----------
    excerpt : str
        The first characters of the body, with secrets redacted, to show what came back.
    """

    def __init__(self, message: str, *, excerpt: str = "", **where):
        self.excerpt = excerpt
        text = f"{message}; body starts: {excerpt!r}" if excerpt else message
        super().__init__(text, **where)


class MailkitTransportError(MailkitError):
    """The endpoint could not be reached or kept failing after every retry was spent."""
