"""Fault injection for the simulator: what can go wrong, and when it does.

:class:`FaultConfig` is the plain, immutable description (all faults off by
default). :class:`FaultInjector` makes the decisions for one running server.

A decision depends only on the config's seed, the call's key
``(function, request_id)`` and how many times that key has been asked before,
hashed together. Threads interleaving differently therefore cannot change which
attempt of which call fails, which keeps reliability tests reproducible. A cap
per key (``max_faults_per_key``) makes faults transient: a client that retries
eventually gets through, unless the id is listed as permanently failing.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field

#: Fault kinds drawn by rate, in the order their rates are stacked.
RATE_KINDS: tuple[str, ...] = (
    "error", "rate_limit", "reset", "truncate", "html", "invalid_xml", "stall",
)
#: Statuses an ``error`` fault picks from, as a load balancer in trouble does.
ERROR_STATUSES: tuple[int, ...] = (500, 502, 503)


@dataclass(frozen=True)
class FaultConfig:
    """What the simulator does wrong, and how often. Everything is off by default.

    Parameters
    ----------
    latency_ms : float, default 0
        Sleep this long before answering every request.
    error_rate : float, default 0
        Share of calls answered HTTP 500, 502 or 503.
    rate_limit_rate : float, default 0
        Share of calls answered HTTP 429 with a ``Retry-After`` header.
    retry_after_s : int, default 1
        Value of that ``Retry-After`` header, in seconds.
    reset_rate : float, default 0
        Share of calls whose connection is closed abruptly without an answer.
    truncate_rate : float, default 0
        Share of calls answered with the full ``Content-Length`` but only half
        the body, after which the connection is closed.
    html_rate : float, default 0
        Share of calls answered HTTP 200 with an HTML error page (a proxy's).
    invalid_xml_rate : float, default 0
        Share of XML-RPC calls answered HTTP 200 with broken XML (JSON calls
        that draw this fault are answered normally).
    stall_rate : float, default 0
        Share of calls that get the headers and part of the body, then nothing
        for ``stall_s`` seconds, then a closed connection.
    stall_s : float, default 5
        Length of a stall.
    seed : int, default 0
        Seed of the decisions.
    max_faults_per_key : int or None, default 2
        At most this many faults per ``(function, request_id)``; ``None``
        means unlimited.
    permanent_fail_ids : frozenset of int, default empty
        Request ids that are always answered HTTP 503, whatever the cap.

    Notes
    -----
    The rates are stacked, so their sum must not exceed 1.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after_s: int = 1
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    html_rate: float = 0.0
    invalid_xml_rate: float = 0.0
    stall_rate: float = 0.0
    stall_s: float = 5.0
    seed: int = 0
    max_faults_per_key: int | None = 2
    permanent_fail_ids: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        rates = self.rates()
        for kind, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{kind}_rate must be between 0 and 1, got {rate}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
        if self.latency_ms < 0 or self.stall_s < 0 or self.retry_after_s < 0:
            raise ValueError("latency_ms, stall_s and retry_after_s must not be negative")
        if self.max_faults_per_key is not None and self.max_faults_per_key < 0:
            raise ValueError("max_faults_per_key must be None or >= 0")
        # Accept any iterable of ids (a list in a notebook), keep a frozenset.
        object.__setattr__(self, "permanent_fail_ids", frozenset(int(i) for i in self.permanent_fail_ids))

    def rates(self) -> dict[str, float]:
        """Return the rate of each kind drawn by rate, in stacking order."""
        return {kind: float(getattr(self, f"{kind}_rate")) for kind in RATE_KINDS}


@dataclass(frozen=True)
class Fault:
    """One decided fault.

    Attributes
    ----------
    kind : str
        ``"permanent"`` or one of :data:`RATE_KINDS`.
    status : int or None
        HTTP status for ``permanent``, ``error`` and ``rate_limit``.
    """

    kind: str
    status: int | None = None


def _uniform(*parts: object) -> float:
    """Map the parts to a reproducible number in [0, 1)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


class FaultInjector:
    """Thread-safe fault decisions of one running simulator.

    Parameters
    ----------
    config : FaultConfig
        What to inject.
    """

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._attempts: Counter = Counter()
        self._faults: Counter = Counter()
        self._injected: Counter = Counter()

    def decide(self, function: str | None, request_id: int | None, transport: str) -> Fault | None:
        """Decide whether this call fails, and how.

        Parameters
        ----------
        function : str or None
            The Mailkit function called (``None`` if the body was unreadable).
        request_id : int or None
            The call's ``request_id``, if it has one.
        transport : str
            ``"json"`` or ``"xmlrpc"``; broken XML is only served to XML-RPC.

        Returns
        -------
        Fault or None
            The fault to inject, or ``None`` to answer normally.
        """
        cfg = self.config
        key = (function, request_id)
        with self._lock:
            if request_id is not None and request_id in cfg.permanent_fail_ids:
                self._injected["permanent"] += 1
                return Fault("permanent", 503)
            attempt = self._attempts[key]
            self._attempts[key] += 1
            if cfg.max_faults_per_key is not None and self._faults[key] >= cfg.max_faults_per_key:
                return None
            draw = _uniform(cfg.seed, function, request_id, attempt, "kind")
            kind = None
            edge = 0.0
            for name, rate in cfg.rates().items():
                edge += rate
                if draw < edge:
                    kind = name
                    break
            if kind is None or (kind == "invalid_xml" and transport != "xmlrpc"):
                return None
            self._faults[key] += 1
            self._injected[kind] += 1
        if kind == "error":
            pick = _uniform(cfg.seed, function, request_id, attempt, "status")
            return Fault(kind, ERROR_STATUSES[int(pick * len(ERROR_STATUSES))])
        if kind == "rate_limit":
            return Fault(kind, 429)
        return Fault(kind)

    @property
    def injected(self) -> dict[str, int]:
        """Return how many faults of each kind were injected so far."""
        with self._lock:
            return dict(self._injected)
