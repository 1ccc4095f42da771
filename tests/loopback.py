"""A tiny scripted HTTP server on loopback for the client tests.

The tests talk to a real server over a real socket (never a mock of ``requests``). Each
answer is a :class:`Reply`: status, headers, body bytes, and misbehaviour on demand
(close the connection without answering, send fewer bytes than ``Content-Length``, sleep
before answering or in the middle of the body). The server counts the requests and keeps
what it received, so a test can assert what the client sent and how often it tried.

>>> with LoopbackServer([Reply(body=b'{"status": "OK"}')]) as server:   # doctest: +SKIP
...     requests.post(server.url("/json.fcgi"), data=b"{}")
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

__all__ = [
    "Reply",
    "Received",
    "LoopbackServer",
    "closed_port",
    "TEST_CLIENT_ID",
    "TEST_MD5",
    "FETCHED_AT",
    "assert_no_secret",
    "reference_bytes",
]


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    Attributes
    ----------
    status : int
        HTTP status code.
    body : bytes
        The full body; ``Content-Length`` always announces all of it.
    content_type : str or None
        ``Content-Type`` header (None: no header).
    headers : dict
        Extra headers (e.g. ``{"Retry-After": "1"}``).
    close_early : bool
        Read the request, then close the connection without sending anything.
    send_bytes : int or None
        Send only the first ``send_bytes`` bytes of the body, then close (body cut short).
    delay : float
        Seconds to sleep before the status line (a read timeout when long enough).
    stall : float
        Seconds to sleep after the first ``send_bytes`` bytes (a stall mid-body) before closing.
    """

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict = field(default_factory=dict)
    close_early: bool = False
    send_bytes: int | None = None
    delay: float = 0.0
    stall: float = 0.0


@dataclass(frozen=True)
class Received:
    """What the server saw of one request."""

    method: str
    path: str
    headers: dict
    body: bytes
    at: float  # time.monotonic() when it arrived


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: "_Server"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_POST(self):
        self._serve()

    def do_GET(self):
        self._serve()

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = Received(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
        reply = self.server.owner._record_and_pick(received)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.close_early:
            self.close_connection = True
            self._hard_close()
            return
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(reply.body)))
        cut = reply.send_bytes is not None or reply.stall
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        payload = reply.body if reply.send_bytes is None else reply.body[: reply.send_bytes]
        try:
            self.wfile.write(payload)
            self.wfile.flush()
            if reply.stall:
                time.sleep(reply.stall)
        except OSError:
            pass
        if cut:
            self.close_connection = True
            self._hard_close()

    def _hard_close(self):
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: "LoopbackServer"):
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):  # clients hanging up are expected
        pass


class LoopbackServer:
    """A scripted HTTP server on ``127.0.0.1`` (any free port) served from a thread.

    Parameters
    ----------
    script : iterable of Reply, or callable
        Replies given in order; the last one is repeated once the script runs out.
        A callable gets each :class:`Received` request and returns the Reply for it.
    """

    def __init__(self, script: Iterable[Reply] | Callable[[Received], Reply] = ()):
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self._script: list[Reply] = []
        self._responder: Callable[[Received], Reply] | None = None
        self.set_script(script)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # scripting -----------------------------------------------------------------------
    def set_script(self, script: Iterable[Reply] | Callable[[Received], Reply]) -> None:
        """Replace what the server answers from now on."""
        with self._lock:
            if callable(script):
                self._responder, self._script = script, []
            else:
                self._responder, self._script = None, list(script)

    def _record_and_pick(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
            if self._responder is not None:
                responder = self._responder
            else:
                if not self._script:
                    return Reply(status=500, body=b"no scripted reply", content_type="text/plain")
                return self._script.pop(0) if len(self._script) > 1 else self._script[0]
        return responder(received)

    @property
    def count(self) -> int:
        """Requests received so far."""
        with self._lock:
            return len(self.received)

    @property
    def bodies(self) -> list[bytes]:
        with self._lock:
            return [r.body for r in self.received]

    # life cycle ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    def url(self, path: str = "/json.fcgi") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def json_url(self) -> str:
        return self.url("/json.fcgi")

    @property
    def rpc_url(self) -> str:
        return self.url("/rpc.fcgi")

    def start(self) -> "LoopbackServer":
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- what the suite shares besides the server ------------------------------------------
#: The API ID and MD5 code the tests use. The MD5 is a made-up value that appears nowhere
#: else, so finding any long piece of it in a message or log proves a leak.
TEST_CLIENT_ID = 424242
TEST_MD5 = "5e3c7a91b0d24f68a1c9e07b3d5f2a84"


def secret_pieces(secret: str = TEST_MD5, size: int = 12) -> list[str]:
    """Every ``size``-character piece of ``secret`` (a partial leak is still a leak)."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def assert_no_secret(text: str, secret: str = TEST_MD5) -> None:
    """Fail if ``text`` holds ``secret`` or any 12-character piece of it."""
    leaked = [p for p in secret_pieces(secret) if p in text]
    assert not leaked, f"secret leaked ({leaked[0]!r}) in: {text[:300]!r}"


#: A fixed "now" so that frames built in different tests compare equal.
FETCHED_AT = pd.Timestamp("2024-03-01 12:00:00", tz="UTC")
REFERENCE_DIR = Path(__file__).parent / "fixtures" / "reference"


def reference_bytes(name: str) -> bytes:
    """One of the reference page's example payloads (``response_ok.xml`` ...), byte for byte."""
    return (REFERENCE_DIR / name).read_bytes()
