"""The simulator's HTTP server: Mailkit's two endpoints on loopback, with faults.

``POST /json.fcgi`` and ``POST /rpc.fcgi`` are answered from a
:class:`~.account.SimulatedAccount` through :mod:`.json_api` and
:mod:`.xmlrpc_api`; :mod:`.faults` decides when to misbehave instead. The
server speaks HTTP/1.1 with keep-alive so that a ``requests.Session`` reuses
its connections as it would against the real API.

Nothing is logged: request lines contain no secrets, but bodies do (the md5),
and a quiet server keeps test and notebook output readable.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections import Counter, deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable
from urllib.parse import urlsplit

from . import json_api, xmlrpc_api
from .account import SimulatedAccount
from .api import RESULTS, MailkitApi
from .defaults import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5
from .faults import Fault, FaultConfig, FaultInjector

log = logging.getLogger(__name__)

UTC = timezone.utc

_TRANSPORTS = {
    "/json.fcgi": ("json", json_api),
    "/rpc.fcgi": ("xmlrpc", xmlrpc_api),
}

_HTML_ERROR_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<h1>502 Bad Gateway</h1>\r\n<p>The upstream server did not answer in time.</p>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
).encode()

# Well-formed prologue, then a mismatched end tag: what a crashed backend emits.
_BROKEN_XML = (
    '<?xml version="1.0" encoding="utf-8"?>\n<methodResponse>\n<params>\n<param>\n'
    "<value><struct>\n<member><name>status</name><value><string>OK</string></value>\n"
    "</struct></value>\n</param>\n"
).encode()

_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _real_clock() -> datetime:
    return datetime.now(UTC)


def _status_page(status: int) -> bytes:
    reason = _REASONS.get(status, "Error")
    return f"<html><body><h1>{status} {reason}</h1></body></html>\n".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MailkitSimulator/1.0"
    # Idle keep-alive connections end after this long instead of holding a thread.
    timeout = 30
    # Without it, Nagle's algorithm meets the client's delayed ACK and every
    # answer on a kept-alive connection waits ~40 ms.
    disable_nagle_algorithm = True

    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Log nothing: see the module docstring."""

    # ---------------------------------------------------------------- helpers

    def _send(self, status: int, body: bytes, content_type: str,
              headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if not self.close_connection:
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        self.wfile.write(body)

    def _send_partial(self, body: bytes, content_type: str, stall_s: float = 0.0) -> None:
        """Promise the whole body, deliver half, optionally stall, then hang up."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        if stall_s:
            self.server.stopping.wait(stall_s)
        self._hang_up(abrupt=False)

    def _hang_up(self, abrupt: bool) -> None:
        """Close the connection now; ``abrupt`` sends a TCP reset instead of a FIN."""
        self.close_connection = True
        try:
            if abrupt:
                # Linger 0 makes close() reset the connection, like a crashed proxy.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        # The socket really closes only once the buffered reader lets go of it.
        self.connection.close()
        self.rfile.close()

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    # ---------------------------------------------------------------- methods

    def _delay(self) -> None:
        latency = self.server.simulator._injector.config.latency_ms
        if latency:
            self.server.stopping.wait(latency / 1000.0)

    def _not_allowed(self) -> None:
        self.server.simulator._count_request(None)
        self._delay()
        self._send(405, b"Method Not Allowed\n", "text/plain; charset=utf-8", (("Allow", "POST"),))

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        sim = self.server.simulator
        body = self._read_body()
        route = _TRANSPORTS.get(urlsplit(self.path).path)
        if route is None:
            sim._count_request(None)
            self._delay()
            self._send(404, b"Not Found\n", "text/plain; charset=utf-8")
            return
        transport_name, transport = route
        call = transport.parse_call(body)
        sim._count_request(call.function, call.params)
        injector = sim._injector  # one configuration per request, even if replaced meanwhile
        fault = injector.decide(call.function, call.request_id(), transport_name)
        config = injector.config
        if config.latency_ms:
            self.server.stopping.wait(config.latency_ms / 1000.0)
        if fault is not None and self._inject_before_answer(fault, config):
            return
        try:
            answer = transport.render_answer(sim._api, call)
        except Exception:  # a simulator bug must not look like a network fault
            log.debug("simulator failed to answer %r", call, exc_info=True)
            self._send(500, b"simulator error\n", "text/plain; charset=utf-8")
            return
        if fault is not None and fault.kind == "truncate":
            self._send_partial(answer, transport.CONTENT_TYPE)
        elif fault is not None and fault.kind == "stall":
            self._send_partial(answer, transport.CONTENT_TYPE, stall_s=config.stall_s)
        else:
            self._send(200, answer, transport.CONTENT_TYPE)

    def _inject_before_answer(self, fault: Fault, config: FaultConfig) -> bool:
        """Inject a fault that needs no real answer; return whether one was sent."""
        if fault.kind in ("permanent", "error"):
            self._send(fault.status or 503, _status_page(fault.status or 503), "text/html")
        elif fault.kind == "rate_limit":
            self._send(429, b"Too Many Requests\n", "text/plain; charset=utf-8",
                       (("Retry-After", str(config.retry_after_s)),))
        elif fault.kind == "reset":
            self._hang_up(abrupt=True)
        elif fault.kind == "html":
            self._send(200, _HTML_ERROR_PAGE, "text/html")
        elif fault.kind == "invalid_xml":
            self._send(200, _BROKEN_XML, xmlrpc_api.CONTENT_TYPE)
        else:
            return False
        return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: "MailkitSimulator") -> None:
        self.simulator = simulator
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):  # noqa: D102
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # noqa: D102
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):  # noqa: D102
        # Clients hanging up mid-answer is routine here (faults, timeouts).
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_open_connections(self) -> None:
        """End kept-alive connections so no handler outlives the server."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class MailkitSimulator:
    """A local Mailkit API (JSON and XML-RPC) over real HTTP, deterministic from a seed.

    Parameters
    ----------
    account : SimulatedAccount, optional
        The data to serve. Default: ``SimulatedAccount(seed=seed)`` anchored
        at ``clock()`` truncated to the minute.
    seed : int, default 0
        Seed of the default account.
    host : str, default "127.0.0.1"
        Address to listen on.
    port : int, default 0
        Port to listen on; 0 picks a free one (see :attr:`port`).
    client_id : int, default DEFAULT_CLIENT_ID
        The API ID the simulator accepts.
    client_md5 : str, default DEFAULT_CLIENT_MD5
        The MD5 code the simulator accepts. Never logged or echoed.
    faults : FaultConfig, optional
        What to do wrong; default: nothing.
    clock : callable, optional
        Returns the current aware UTC datetime; decides which rows are
        processed already. Default: the real clock.
    denied_functions : iterable of str, optional
        Functions this account may not call, answered with an API error text as for an
        account without that right (to test that enrichment is best effort).
    default_range_days : int, optional
        The restrictive mode: ``mailkit.report.campaign`` and ``mailkit.report`` called
        without a range report only the sends of this many last days (Mailkit does not
        document its default). None (default): everything.

    Examples
    --------
    >>> import requests
    >>> with MailkitSimulator(seed=1) as sim:
    ...     rid = sim.account.demo_request_ids()[0]
    ...     answer = requests.post(sim.json_url, json={
    ...         "function": "mailkit.sendmail_mass.results", "id": DEFAULT_CLIENT_ID,
    ...         "md5": DEFAULT_CLIENT_MD5, "parameters": {"request_id": rid}}).json()
    >>> answer["status"] in ("OK", "ERROR")
    True
    """

    def __init__(
        self,
        account: SimulatedAccount | None = None,
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: int = DEFAULT_CLIENT_ID,
        client_md5: str = DEFAULT_CLIENT_MD5,
        faults: FaultConfig | None = None,
        clock: Callable[[], datetime] | None = None,
        denied_functions: Iterable[str] = (),
        default_range_days: int | None = None,
    ) -> None:
        self._clock = clock or _real_clock
        if account is None:
            anchor = self._clock().astimezone(UTC).replace(second=0, microsecond=0)
            account = SimulatedAccount(seed=seed, anchor=anchor)
        self.account = account
        self.client_id = client_id
        self._api = MailkitApi(account, client_id, client_md5, self._clock, denied=frozenset(denied_functions),
                               default_range_days=default_range_days)
        self._injector = FaultInjector(faults or FaultConfig())
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self._count_lock = threading.Lock()
        self._request_count = 0
        self._by_function: Counter = Counter()
        self._report_calls: deque = deque(maxlen=100_000)

    def __repr__(self) -> str:
        where = self.json_url if self._server else "not started"
        return f"MailkitSimulator({where}, client_id={self.client_id})"

    # -------------------------------------------------------------- lifecycle

    def _bind(self) -> _Server:
        if self._server is None:
            self._server = _Server(self._address, self)
        return self._server

    def start(self) -> "MailkitSimulator":
        """Start serving in a daemon thread; return ``self``. Idempotent."""
        if self._thread is None and not self._serving:
            server = self._bind()
            self._serving = True  # before the thread runs, so stop() always shuts it down
            self._thread = threading.Thread(
                target=self._serve, args=(server,),
                name=f"mailkit-simulator-{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def _serve(self, server: _Server) -> None:
        try:
            server.serve_forever(poll_interval=0.1)
        finally:
            self._serving = False

    def serve_forever(self) -> None:
        """Block until :meth:`stop` (from another thread) or ``KeyboardInterrupt``.

        Serves in the calling thread; if :meth:`start` was called first (to
        learn the port before blocking), waits for the background thread.
        """
        thread = self._thread
        if thread is not None:
            # Short joins keep the main thread responsive to Ctrl-C.
            while thread.is_alive():
                thread.join(0.2)
            return
        server = self._bind()
        self._serving = True
        try:
            self._serve(server)
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving, end open connections and free the port. Idempotent."""
        server = self._server
        if server is None:
            return
        server.stopping.set()  # wakes stalled and delayed answers
        if self._serving:
            server.shutdown()  # returns once the serving loop has exited
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stopping.set()
            server.close_open_connections()
            server.server_close()

    def __enter__(self) -> "MailkitSimulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        """The port listened on (known once started)."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running simulator."""
        host = self._server.server_address[0] if self._server else self._address[0]
        return f"http://{host}:{self.port}"

    @property
    def json_url(self) -> str:
        """URL of the JSON endpoint, ``.../json.fcgi``."""
        return f"{self.base_url}/json.fcgi"

    @property
    def rpc_url(self) -> str:
        """URL of the XML-RPC endpoint, ``.../rpc.fcgi``."""
        return f"{self.base_url}/rpc.fcgi"

    # --------------------------------------------------------------- counters

    def _count_request(self, function: str | None, params: dict | None = None) -> None:
        with self._count_lock:
            self._request_count += 1
            if function is not None:
                self._by_function[function] += 1
                if function != RESULTS:  # the reporting calls only: results calls are many
                    self._report_calls.append((function, dict(params or {})))

    @property
    def request_count(self) -> int:
        """HTTP requests received since start or :meth:`reset_count`, all paths."""
        with self._count_lock:
            return self._request_count

    @property
    def counts_by_function(self) -> dict[str, int]:
        """Requests per Mailkit function named in their body."""
        with self._count_lock:
            return dict(self._by_function)

    @property
    def report_calls(self) -> list[tuple[str, dict]]:
        """The calls of functions other than ``sendmail_mass.results`` since start or
        :meth:`reset_count`, as ``(function, parameters)`` (never the credentials), oldest first."""
        with self._count_lock:
            return list(self._report_calls)

    def reset_count(self) -> None:
        """Zero :attr:`request_count` and :attr:`counts_by_function`, forget :attr:`report_calls`."""
        with self._count_lock:
            self._request_count = 0
            self._by_function.clear()
            self._report_calls.clear()

    # ----------------------------------------------------------------- faults

    @property
    def faults(self) -> FaultConfig:
        """The fault configuration in force; assign a new one to change it live."""
        return self._injector.config

    @faults.setter
    def faults(self, config: FaultConfig | None) -> None:
        self._injector = FaultInjector(config or FaultConfig())

    @property
    def faults_injected(self) -> dict[str, int]:
        """Faults injected under the current configuration, by kind."""
        return self._injector.injected
