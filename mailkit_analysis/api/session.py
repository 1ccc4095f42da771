"""One ``requests.Session`` with timeouts and retries suited to a read-only API.

urllib3's ``Retry`` handles what happens before a response arrives: connection errors,
429 (honouring ``Retry-After``) and 5xx, with exponential backoff. All Mailkit calls the
toolkit makes are reads, so POST is retried too. A body cut short or a stall mid-body
happens after urllib3 hands the response over; :func:`post_with_retries` retries those.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..errors import MailkitTransportError

__all__ = ["RetryPolicy", "make_session", "post_once", "BODY_ERRORS"]

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
#: Bytes asked of the socket per read of an answer's body. ``Response.content`` reads 10 KiB
#: at a time, and for a large answer (tens of MB) the Python work per read costs more CPU
#: than the copying; reads this size keep the same errors, timeouts and decoding.
BODY_CHUNK = 1 << 20


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up.

    Attributes
    ----------
    retries : int
        Retries per call for connection errors, 429 and 5xx (urllib3), and separately for
        bodies cut short or malformed answers (the client's own loop).
    backoff_factor : float
        Exponential backoff base in seconds (0.5 -> 0.5, 1, 2, 4 ... between tries).
    backoff_max : float
        Cap of a single wait.
    connect_timeout, read_timeout : float
        Seconds to wait for a connection and between bytes of the answer.
    """

    retries: int = 5
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def backoff(self, attempt: int) -> float:
        """Seconds to sleep before retry number ``attempt`` (1-based)."""
        return min(self.backoff_max, self.backoff_factor * (2 ** (attempt - 1)))


def make_session(policy: RetryPolicy | None = None, pool_size: int = 16) -> requests.Session:
    """Return a Session whose adapters retry connection errors, 429 and 5xx.

    Parameters
    ----------
    policy : RetryPolicy, optional
        Retry counts and backoff; defaults are polite to Mailkit.
    pool_size : int
        Connections kept per host (at least the number of fetch workers).
    """
    policy = policy or RetryPolicy()
    retry = Retry(
        total=policy.retries,
        connect=policy.retries,
        read=policy.retries,
        status=policy.retries,
        other=policy.retries,
        allowed_methods=None,  # every method: the API calls we make are read-only
        status_forcelist=RETRY_STATUSES,
        backoff_factor=policy.backoff_factor,
        backoff_max=policy.backoff_max,
        respect_retry_after_header=True,
        raise_on_status=False,  # we turn the last bad status into a typed error ourselves
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "mailkit-analysis"
    return session


#: Failures while reading the body, after urllib3 gave the response to requests.
BODY_ERRORS = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)


def post_once(
    session: requests.Session,
    url: str,
    body: bytes,
    content_type: str,
    policy: RetryPolicy,
    **where,
) -> bytes:
    """POST ``body`` and return the answer's bytes (urllib3 retries included).

    Raises
    ------
    MailkitTransportError
        The endpoint could not be reached, or answered 4xx/5xx after the retries.
    requests.RequestException
        One of :data:`BODY_ERRORS` while reading the body (the caller may retry).
    """
    started = time.monotonic()
    try:
        # stream=True separates "no answer" (urllib3 already retried) from "answer cut short"
        response = session.post(
            url, data=body, headers={"Content-Type": content_type}, timeout=policy.timeout, stream=True
        )
    except requests.exceptions.RetryError as exc:
        raise MailkitTransportError(f"Gave up after {policy.retries} retries: {_reason(exc)}", url=url, **where) from None
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema) as exc:
        raise MailkitTransportError(f"Invalid endpoint URL: {exc}", url=url, **where) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise MailkitTransportError(
            f"Could not reach the endpoint after {policy.retries} retries: {_reason(exc)}", url=url, **where
        ) from None
    try:
        # What Response.content does, in larger reads; BODY_ERRORS propagate: the caller decides to retry.
        content = b"".join(response.iter_content(BODY_CHUNK))
    finally:
        response.close()
    log.debug("POST %s -> HTTP %s, %d bytes in %.3fs", url, response.status_code, len(content), time.monotonic() - started)
    if response.status_code >= 400:
        raise MailkitTransportError(
            f"HTTP {response.status_code} {response.reason or ''}".strip()
            + (f" after {policy.retries} retries" if response.status_code in RETRY_STATUSES else ""),
            url=url,
            **where,
        )
    return content


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests/urllib3 error, without the noise."""
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", None) or inner
    return str(reason)[:200]
