"""Keeping the MD5 code out of every output.

``Secret`` wraps the value so that ``repr``, ``str``, f-strings and logging show a mask;
only :meth:`Secret.reveal` gives the value, and only the wire encoders call it.
:func:`redact` scrubs any registered secret from text that did come from outside
(for example a response body quoted in an error), and :class:`RedactingFilter` does the
same for every log record.
"""
from __future__ import annotations

import logging
import threading

__all__ = [
    "Secret",
    "redact",
    "register_secret",
    "RedactingFilter",
    "install_log_redaction",
]

MASK = "***"
_known: set[str] = set()
_lock = threading.Lock()


class Secret:
    """A string that refuses to print itself.

    Parameters
    ----------
    value : str
        The secret text, e.g. the Mailkit MD5 code.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = str(value)
        register_secret(self._value)

    def reveal(self) -> str:
        """Return the secret value; call it only where it goes onto the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        # Pickling would write the value to disk (multiprocessing, caches): refuse.
        raise TypeError("Secret values cannot be pickled")


def register_secret(value: str) -> None:
    """Remember ``value`` so that :func:`redact` removes it wherever it appears."""
    # Very short values would redact ordinary text ("1", "a"); they are not real MD5 codes.
    if value and len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str, *extra: str) -> str:
    """Replace every registered secret (and ``extra`` values) in ``text`` with a mask."""
    with _lock:
        values = sorted(_known | {e for e in extra if e}, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that removes registered secrets from the final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach :class:`RedactingFilter` to every handler of ``logger`` (root by default)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
