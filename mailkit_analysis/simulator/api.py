"""Mailkit's API semantics, independent of the wire format.

Both transports (:mod:`.json_api` and :mod:`.xmlrpc_api`) turn a request body
into a :class:`Call` with Mailkit's parameter names, hand it to
:class:`MailkitApi`, and render whatever comes back in their own format. The
rules (credentials, "0 or empty means absent", which errors Mailkit reports
as API errors) therefore live here once.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

from .account import PRAGUE, STATUS_ERROR, STATUS_OK, STATUS_UNKNOWN_REQUEST, SimulatedAccount

RESULTS = "mailkit.sendmail_mass.results"
CAMPAIGNS_LIST = "mailkit.campaigns.list"
REPORT_CAMPAIGN = "mailkit.report.campaign"
REPORT = "mailkit.report"
REPORT_MESSAGE = "mailkit.report.message"
#: Functions the simulator implements.
FUNCTIONS = frozenset({RESULTS, CAMPAIGNS_LIST, REPORT_CAMPAIGN, REPORT, REPORT_MESSAGE})
#: Functions whose JSON answers carry their numbers as strings (as documented).
STRING_NUMBERS = frozenset({REPORT_CAMPAIGN, REPORT, REPORT_MESSAGE})


class ApiError(Exception):
    """An error Mailkit reports inside a normal answer (``Unauthorized``, ...).

    The single argument is the exact text Mailkit sends.
    """

    @property
    def text(self) -> str:
        """The error text, as sent on the wire."""
        return str(self.args[0])


class UnknownFunction(Exception):
    """The call names a function the API does not have."""


@dataclass
class Call:
    """One API call, as read from a request body.

    Attributes
    ----------
    function : str or None
        The function called; ``None`` if the body named none.
    client_id, client_md5 : object
        Credentials exactly as sent (types vary by transport).
    params : dict
        Parameters under Mailkit's names (``request_id``, ``ID_send``, ``ID_message``).
    malformed : bool
        The body could not be read at all.
    """

    function: str | None = None
    client_id: object = None
    client_md5: object = None
    params: dict = field(default_factory=dict)
    malformed: bool = False

    def request_id(self) -> int | None:
        """Return the call's ``request_id`` as an int, if it carries a usable one."""
        try:
            return optional_int(self.params.get("request_id"), "request_id")
        except ApiError:
            return None

    def __repr__(self) -> str:
        # Never show the md5: a repr ends up in tracebacks and logs.
        return f"Call(function={self.function!r}, client_id={self.client_id!r}, params={self.params!r})"


def optional_int(value: object, name: str) -> int | None:
    """Read an optional numeric parameter the way Mailkit does.

    Parameters
    ----------
    value : object
        The value sent: int, numeric string, ``0``, ``""`` or ``None``.
    name : str
        Parameter name, for the error text.

    Returns
    -------
    int or None
        ``None`` when absent (``None``, ``0``, ``""``, ``"0"``).

    Raises
    ------
    ApiError
        ``"Invalid <name>"`` for anything that is not a non-negative integer.
    """
    if value is None:
        return None
    if isinstance(value, bool):  # a bool is an int to Python, not to Mailkit
        raise ApiError(f"Invalid {name}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and (value.strip() == "" or value.strip().isdigit()):
        number = int(value.strip() or 0)
    else:
        raise ApiError(f"Invalid {name}")
    if number < 0:
        raise ApiError(f"Invalid {name}")
    return number or None


def optional_day(value: object, name: str) -> date | None:
    """Read an optional ``YYYY-MM-DD`` parameter; ``None`` / ``""`` mean not given.

    Raises
    ------
    ApiError
        ``"Invalid <name>"`` for anything else.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if len(text) != 10:  # date.fromisoformat would also take "20261101"
        raise ApiError(f"Invalid {name}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(f"Invalid {name}") from None


class MailkitApi:
    """Execute calls against one simulated account.

    Parameters
    ----------
    account : SimulatedAccount
        The data behind the API.
    client_id : int
        The accepted API ID.
    client_md5 : str
        The accepted MD5 code.
    clock : callable
        Returns the current aware UTC datetime; decides what is processed.
    denied : frozenset of str
        Functions this account is not allowed to call.
    default_range_days : int, optional
        What ``mailkit.report.campaign`` and ``mailkit.report`` report when the call gives no
        range (Mailkit does not document it): None reports everything; a number reports only
        the sends of that many last days, so that a client relying on the default is caught.
    """

    def __init__(self, account: SimulatedAccount, client_id: int, client_md5: str,
                 clock: Callable[[], datetime], denied: frozenset[str] = frozenset(),
                 default_range_days: int | None = None) -> None:
        if default_range_days is not None and default_range_days < 1:
            raise ValueError("default_range_days must be at least 1")
        self.account = account
        self.default_range_days = default_range_days
        self._denied = denied
        self._client_id = str(client_id)
        self._client_md5 = str(client_md5)
        self._clock = clock

    def _authorised(self, call: Call) -> bool:
        if call.client_id is None or call.client_md5 is None:
            return False
        same_id = str(call.client_id).strip() == self._client_id
        # Constant-time comparison: the md5 is the account's password.
        same_md5 = hmac.compare_digest(str(call.client_md5).encode(), self._client_md5.encode())
        return same_id and same_md5

    def execute(self, call: Call) -> object:
        """Run a call and return its result in plain Python values.

        Parameters
        ----------
        call : Call
            The call to run.

        Returns
        -------
        object
            ``{"status": "OK"}``, ``{"status": "ERROR", "results": [...]}``,
            or a list of dicts for the campaign functions.

        Raises
        ------
        UnknownFunction
            The function does not exist.
        ApiError
            Mailkit would answer with an error text.
        """
        if call.function not in FUNCTIONS:
            raise UnknownFunction(call.function)
        if not self._authorised(call):
            raise ApiError("Unauthorized")
        if call.function in self._denied:
            raise ApiError(f"Access denied to function {call.function}")
        if call.function == RESULTS:
            return self._results(call.params)
        if call.function == CAMPAIGNS_LIST:
            return self._campaigns(call.params)
        if call.function == REPORT_MESSAGE:
            return self._report_message(call.params)
        if call.function == REPORT:
            return self.account.report(*self._range(call.params), now=self._clock())
        return self._report(call.params)

    def _range(self, params: dict) -> tuple[date | None, date | None]:
        """The call's range; without one, the undocumented default this simulator plays."""
        first = optional_day(params.get("range_from"), "range_from")
        last = optional_day(params.get("range_to"), "range_to")
        if first is not None and last is not None and first > last:
            raise ApiError("Invalid range")
        if first is None and last is None and self.default_range_days is not None:
            today = self._clock().astimezone(PRAGUE).date()
            first = today - timedelta(days=self.default_range_days - 1)
        return first, last

    def _results(self, params: dict) -> dict:
        request_id = optional_int(params.get("request_id"), "request_id")
        if request_id is None:
            raise ApiError("Missing request_id")
        id_send = optional_int(params.get("ID_send"), "ID_send")
        status, rows = self.account.results_for(request_id, id_send=id_send, now=self._clock())
        if status == STATUS_UNKNOWN_REQUEST:
            raise ApiError("Invalid request_id")
        if status == STATUS_OK:
            return {"status": STATUS_OK}
        return {"status": STATUS_ERROR, "results": rows}

    def _campaigns(self, params: dict) -> list[dict]:
        campaigns = self.account.campaigns()
        wanted = optional_int(params.get("ID_message"), "ID_message")
        if wanted is None:
            return campaigns
        return [c for c in campaigns if c["ID_MESSAGE"] == wanted]

    def _report(self, params: dict) -> list[dict]:
        id_message = optional_int(params.get("ID_message"), "ID_message")
        if id_message is None:
            raise ApiError("Missing ID_message")
        first, last = self._range(params)
        try:
            return self.account.report_campaign(id_message, now=self._clock(), range_from=first, range_to=last)
        except KeyError:
            raise ApiError("Invalid ID_message") from None

    def _report_message(self, params: dict) -> dict:
        id_send = optional_int(params.get("ID_send"), "ID_send")
        if id_send is None:
            raise ApiError("Missing ID_send")
        try:
            return self.account.report_message(id_send, now=self._clock())
        except KeyError:
            raise ApiError("Invalid ID_send") from None
