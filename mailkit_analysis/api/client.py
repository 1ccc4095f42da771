"""The Mailkit client: one session, two transports, typed answers.

>>> from mailkit_analysis import MailkitClient
>>> with MailkitClient(transport="xmlrpc") as client:          # doctest: +SKIP
...     answer = client.results(request_id=123456)
...     answer.frame.groupby("error_name").size()
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Literal

import pandas as pd
import requests

from ..config import Credentials, load_credentials, load_endpoints
from ..errors import MailkitError, MailkitResponseError, MailkitTransportError
from .results import ResultsAnswer, parse_results_answer
from .session import BODY_ERRORS, RetryPolicy, make_session, post_once
from .wire import (
    decode_json_answer,
    decode_xmlrpc_answer,
    decode_xmlrpc_results,
    encode_json_call,
    encode_xmlrpc_call,
)

__all__ = ["MailkitClient", "Transport", "RESULTS_FUNCTION"]

log = logging.getLogger(__name__)

Transport = Literal["json", "xmlrpc"]
RESULTS_FUNCTION = "mailkit.sendmail_mass.results"
CAMPAIGNS_FUNCTION = "mailkit.campaigns.list"
REPORT_FUNCTION = "mailkit.report.campaign"


def _utcnow() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


class MailkitClient:
    """Calls Mailkit over JSON or XML-RPC through one ``requests.Session``.

    Parameters
    ----------
    credentials : Credentials, optional
        Default: :func:`~mailkit_analysis.config.load_credentials` (arguments, environment,
        ``.env``).
    transport : {"json", "xmlrpc"}
        Wire format.
    url : str, optional
        Endpoint of the chosen transport; default Mailkit's (or ``MAILKIT_JSON_URL`` /
        ``MAILKIT_RPC_URL``).
    policy : RetryPolicy, optional
        Timeouts, retries and backoff.
    session : requests.Session, optional
        Bring your own (it is not closed by :meth:`close`); default one made by
        :func:`~mailkit_analysis.api.session.make_session`.
    clock : callable, optional
        Returns the current UTC time; injectable for tests.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        transport: Transport = "json",
        url: str | None = None,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        pool_size: int = 16,
        clock: Callable[[], pd.Timestamp] | None = None,
    ):
        if transport not in ("json", "xmlrpc"):
            raise ValueError(f"transport must be 'json' or 'xmlrpc', not {transport!r}")
        self.credentials = credentials if credentials is not None else load_credentials()
        self.transport = transport
        endpoints = load_endpoints()
        self.url = url or (endpoints.json_url if transport == "json" else endpoints.rpc_url)
        self.policy = policy or RetryPolicy()
        self._own_session = session is None
        self.session = session or make_session(self.policy, pool_size=pool_size)
        self.clock = clock or _utcnow
        self.calls = 0  # answered calls, for progress and tests

    def __repr__(self) -> str:
        return f"MailkitClient(transport={self.transport!r}, url={self.url!r}, client_id={self.credentials.client_id})"

    def __enter__(self) -> "MailkitClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the session if the client made it."""
        if self._own_session:
            self.session.close()

    # ---------------------------------------------------------------------------------
    def call(self, function: str, json_parameters: dict | None, xmlrpc_params: tuple, **where) -> Any:
        """Call ``function`` and return the decoded answer (typed errors on failure).

        ``json_parameters`` is the JSON ``parameters`` object, ``xmlrpc_params`` the
        positional params after ``client_id, client_md5``. Bodies cut short and malformed
        answers (a proxy's HTML page, broken XML) are retried with backoff; Mailkit's own
        error answers are not.
        """
        return self._call(function, json_parameters, xmlrpc_params, decode_xmlrpc_answer, where)

    def _call(self, function: str, json_parameters: dict | None, xmlrpc_params: tuple, xmlrpc_decode, where: dict) -> Any:
        creds = self.credentials
        if self.transport == "json":
            body = encode_json_call(function, creds, json_parameters)
            content_type, decode = "application/json", decode_json_answer
        else:
            params = (creds.client_id, creds.client_md5.reveal(), *xmlrpc_params)
            body = encode_xmlrpc_call(function, params)
            content_type, decode = "text/xml", xmlrpc_decode
        where = {"url": self.url, **where}
        call_where = {k: v for k, v in where.items() if k != "url"}  # post_once takes the url itself
        attempt = 0
        while True:
            try:
                content = post_once(self.session, self.url, body, content_type, self.policy, **call_where)
                answer = decode(content, **where)
                self.calls += 1
                return answer
            except BODY_ERRORS as exc:
                error: MailkitError = MailkitTransportError(
                    f"Connection failed while reading the answer: {type(exc).__name__}", **where
                )
            except MailkitResponseError as exc:
                error = exc
            attempt += 1
            if attempt > self.policy.retries:
                raise error
            wait = self.policy.backoff(attempt)
            log.debug("%s; retry %d/%d in %.2fs", error.message, attempt, self.policy.retries, wait)
            time.sleep(wait)

    def results(self, request_id: int, id_send: int | None = None) -> ResultsAnswer:
        """Fetch ``mailkit.sendmail_mass.results`` for one request.

        Parameters
        ----------
        request_id : int
            ID returned by ``mailkit.sendmail_mass``.
        id_send : int, optional
            Narrow the answer to one send.

        Returns
        -------
        ResultsAnswer
            Status, typed results frame and the time it was fetched.

        Raises
        ------
        MailkitAuthError, MailkitAPIError, MailkitResponseError, MailkitTransportError
        """
        request_id = _positive_int(request_id, "request_id")
        id_send = None if id_send in (None, 0) else _positive_int(id_send, "id_send")
        # Large XML-RPC answers are decoded column by column (same errors, no dict per row).
        answer = self._call(
            RESULTS_FUNCTION,
            {"ID_send": id_send, "request_id": request_id},
            (id_send or 0, request_id),
            decode_xmlrpc_results,
            {"request_id": request_id},
        )
        return parse_results_answer(
            answer, request_id=request_id, id_send=id_send, fetched_at=self.clock(), url=self.url
        )

    def campaigns(self) -> pd.DataFrame:
        """``mailkit.campaigns.list`` as a frame with ``campaign_id`` and ``campaign_name``."""
        answer = self.call(CAMPAIGNS_FUNCTION, None, ())
        rows = _records(answer, CAMPAIGNS_FUNCTION, url=self.url)
        frame = pd.DataFrame(
            {
                "campaign_id": pd.array([_int_or_na(r.get("ID_MESSAGE")) for r in rows], dtype="Int64"),
                "campaign_name": pd.array([_str_or_na(r.get("NAME")) for r in rows], dtype="string"),
            }
        )
        return frame.dropna(subset=["campaign_id"]).drop_duplicates("campaign_id").reset_index(drop=True)

    def report_campaign(self, campaign_id: int) -> pd.DataFrame:
        """``mailkit.report.campaign``: one row per send with ``id_send``, ``send_count``, ``date``."""
        campaign_id = _positive_int(campaign_id, "campaign_id")
        answer = self.call(REPORT_FUNCTION, {"ID_message": campaign_id}, (campaign_id,))
        rows = _records(answer, REPORT_FUNCTION, url=self.url)
        return pd.DataFrame(
            {
                "campaign_id": pd.array([campaign_id] * len(rows), dtype="Int64"),
                "id_send": pd.array([_int_or_na(r.get("ID_SEND")) for r in rows], dtype="Int64"),
                "send_count": pd.array([_int_or_na(r.get("SEND_COUNT")) for r in rows], dtype="Int64"),
                "subject": pd.array([_str_or_na(r.get("SUBJECT")) for r in rows], dtype="string"),
                "send_date": pd.array([_str_or_na(r.get("DATE")) for r in rows], dtype="string"),
            }
        )


def _positive_int(value, name: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise ValueError(f"{name} must be positive, not {number}")
    return number


def _records(answer: Any, function: str, **where) -> list[dict]:
    """Lists come as an array, or (seen in the wild) as an object keyed by id or under 'data'."""
    if isinstance(answer, dict):
        answer = answer.get("data", list(answer.values()))
    if not isinstance(answer, list) or not all(isinstance(r, dict) for r in answer):
        raise MailkitResponseError(f"{function} did not return a list of records", **where)
    return answer


def _int_or_na(value):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return pd.NA
    return number if number != 0 else pd.NA


def _str_or_na(value):
    return pd.NA if value is None else str(value)
