"""The Mailkit client: one session, two transports, typed answers.

>>> from mailkit_analysis import MailkitClient
>>> with MailkitClient(transport="xmlrpc") as client:          # doctest: +SKIP
...     answer = client.results(request_id=123456)
...     answer.frame.groupby("error_name").size()
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any, Callable, Literal

import pandas as pd
import requests

from ..config import Credentials, load_credentials, load_endpoints
from ..errors import MailkitError, MailkitResponseError, MailkitTransportError
from .reports import (
    CAMPAIGNS_LIST,
    REPORT,
    REPORT_CAMPAIGN,
    REPORT_MESSAGE,
    campaigns_frame,
    report_frame,
    sends_frame,
)
from .results import ResultsAnswer, parse_results_answer
from .session import BODY_ERRORS, RetryPolicy, make_session, post_once
from .wire import (
    decode_json_answer,
    decode_json_results,
    decode_xmlrpc_answer,
    decode_xmlrpc_results,
    encode_json_call,
    encode_xmlrpc_call,
)

__all__ = ["MailkitClient", "Transport", "RESULTS_FUNCTION"]

log = logging.getLogger(__name__)

Transport = Literal["json", "xmlrpc"]
RESULTS_FUNCTION = "mailkit.sendmail_mass.results"


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

    def _list_call(self, function: str, json_parameters: dict | None, xmlrpc_params: tuple) -> Any:
        """Like :meth:`call` for the list functions, where an empty body means "no records"
        (``None``), as clients of the real service read it."""
        return self._call(function, json_parameters, xmlrpc_params, decode_xmlrpc_answer, {}, blank=None)

    def _call(self, function: str, json_parameters: dict | None, xmlrpc_params: tuple, xmlrpc_decode, where: dict,
              json_decode=decode_json_answer, **blank) -> Any:
        creds = self.credentials
        if self.transport == "json":
            body = encode_json_call(function, creds, json_parameters)
            content_type, decode = "application/json", json_decode
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
                if blank and not content.strip():
                    self.calls += 1
                    return blank["blank"]
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
        # Large answers are decoded column by column (same errors, no dict per row).
        answer = self._call(
            RESULTS_FUNCTION,
            {"ID_send": id_send, "request_id": request_id},
            (id_send or 0, request_id),
            decode_xmlrpc_results,
            {"request_id": request_id},
            json_decode=decode_json_results,
        )
        return parse_results_answer(
            answer, request_id=request_id, id_send=id_send, fetched_at=self.clock(), url=self.url
        )

    def campaigns(self) -> pd.DataFrame:
        """``mailkit.campaigns.list``: every campaign of the account (no paging).

        Returns
        -------
        DataFrame
            ``campaign_id`` (``ID_MESSAGE``) and ``campaign_name`` (``NAME``).
        """
        answer = self._list_call(CAMPAIGNS_LIST, None, ())
        return campaigns_frame(answer, url=self.url)

    def report_campaign(self, campaign_id: int, range_from: dt.date | str, range_to: dt.date | str) -> pd.DataFrame:
        """``mailkit.report.campaign``: the sends of one campaign made between two days.

        The range is always sent: the period Mailkit reports without one is not documented.

        Parameters
        ----------
        campaign_id : int
            ``ID_message``.
        range_from, range_to : date or "YYYY-MM-DD"
            First and last day (inclusive, as Mailkit reads them).

        Returns
        -------
        DataFrame
            :data:`~mailkit_analysis.api.reports.SEND_COLUMNS`, one row per send.
        """
        campaign_id = _positive_int(campaign_id, "campaign_id")
        first, last = _day(range_from, "range_from"), _day(range_to, "range_to")
        if first > last:
            raise ValueError(f"range_from {first} is after range_to {last}")
        params = {"ID_message": campaign_id, "range_from": first, "range_to": last}
        answer = self._list_call(REPORT_CAMPAIGN, params, (campaign_id, first, last))
        return sends_frame(answer, REPORT_CAMPAIGN, campaign_id=campaign_id, url=self.url)

    def report_message(self, id_send: int) -> pd.DataFrame:
        """``mailkit.report.message``: one send's size, delivered and failed counts.

        Returns
        -------
        DataFrame
            :data:`~mailkit_analysis.api.reports.SEND_COLUMNS`, one row (none when Mailkit
            answers nothing); ``campaign_id`` is empty (the answer does not say it).
        """
        id_send = _positive_int(id_send, "id_send")
        answer = self._list_call(REPORT_MESSAGE, {"ID_send": id_send}, (id_send,))
        return sends_frame(answer, REPORT_MESSAGE, id_send=id_send, url=self.url)

    def report(self, range_from: dt.date | str, range_to: dt.date | str) -> pd.DataFrame:
        """``mailkit.report``: the campaigns active between two days, with their totals.

        Returns
        -------
        DataFrame
            ``campaign_id``, ``campaign_name``, ``send_count``, ``delivered_count``.
        """
        first, last = _day(range_from, "range_from"), _day(range_to, "range_to")
        if first > last:
            raise ValueError(f"range_from {first} is after range_to {last}")
        answer = self._list_call(REPORT, {"range_from": first, "range_to": last}, (first, last))
        return report_frame(answer, url=self.url)


def _day(value, name: str) -> str:
    """A day as Mailkit's ``YYYY-MM-DD``."""
    try:
        return pd.Timestamp(value).date().isoformat()
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date (YYYY-MM-DD), not {value!r}") from None


def _positive_int(value, name: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise ValueError(f"{name} must be positive, not {number}")
    return number
