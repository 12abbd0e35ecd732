"""The HTTP seam of every connector (integrations/transport.py) against a real HTTP server
on 127.0.0.1 that answers as scripted: retries with backoff, Retry-After, bodies cut short
or not JSON (never half-read), token refresh once, permanent errors, the limiter. Time is
the only thing not real: waits are recorded instead of slept."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.transport import (
    Answer,
    AuthenticationFailed,
    RateLimiter,
    SyncError,
    TokenExpired,
    Transport,
    Vendor,
)


@dataclass
class Scripted:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    cut_short: bool = False  # declare the whole length, send 5 bytes, close


class Server:
    def __init__(self) -> None:
        self.script: list[Scripted] = []
        self.seen: list[tuple[str, str, str]] = []  # method, path, Authorization
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
                step = server.script.pop(0) if server.script else Scripted()
                self.send_response(step.status)
                for name, value in step.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(step.body)))
                self.end_headers()
                self.wfile.write(step.body[:5] if step.cut_short else step.body)
                if step.cut_short:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.httpd.shutdown()


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _transport(server: Server, vendor: Vendor | None = None, **kwargs: object) -> Transport:
    return Transport(server.url, vendor or Vendor(), sleep=Waits(), **kwargs)  # type: ignore[arg-type]


def test_it_retries_a_server_error_with_backoff(server: Server) -> None:
    server.script = [Scripted(503), Scripted(502), Scripted(200, b'{"n": 1}')]
    transport = _transport(server)
    assert transport.call("GET", "/things").data == {"n": 1}
    assert transport.requests_made == 3
    first, second = transport.sleep  # type: ignore[misc]
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0  # 1 s, 2 s with jitter


def test_retry_after_wins(server: Server) -> None:
    server.script = [Scripted(429, b"{}", {"Retry-After": "7"}), Scripted()]
    transport = _transport(server)
    transport.call("GET", "/things")
    assert transport.sleep == [7.0]


def test_a_body_cut_short_is_read_again_never_half(server: Server) -> None:
    whole = json.dumps({"results": list(range(200))}).encode()
    server.script = [Scripted(200, whole, cut_short=True), Scripted(200, whole)]
    transport = _transport(server)
    assert transport.call("GET", "/page").data == {"results": list(range(200))}
    assert transport.requests_made == 2


def test_a_body_that_is_not_json_is_read_again(server: Server) -> None:
    server.script = [Scripted(200, b'{"results": [1, 2'), Scripted(200, b'{"results": [1, 2]}')]
    assert _transport(server).call("GET", "/page").data == {"results": [1, 2]}


def test_it_gives_up_after_six_tries(server: Server) -> None:
    server.script = [Scripted(500)] * 6
    transport = _transport(server)
    with pytest.raises(SyncError, match=r"server error \(HTTP 500\) \(after 6 tries\)"):
        transport.call("GET", "/things")
    assert transport.requests_made == 6
    assert max(transport.sleep) <= 30.0  # type: ignore[type-var]


def test_a_bad_request_fails_at_once_with_the_vendors_words(server: Server) -> None:
    server.script = [Scripted(400, b'{"message": "Property \\"x\\" does not exist"}')]
    transport = _transport(server)
    with pytest.raises(SyncError, match='HTTP 400: Property "x" does not exist'):
        transport.call("POST", "/search", body={"x": 1})
    assert transport.requests_made == 1


def test_a_network_error_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nobody listens there
    transport = Transport(f"http://127.0.0.1:{port}", Vendor(), sleep=Waits())
    with pytest.raises(SyncError, match="network error"):
        transport.call("GET", "/x")
    assert transport.requests_made == 6


class ExpiringVendor(Vendor):
    name = "expiring"

    def classify(self, answer: Answer) -> None:
        if answer.status == 401 and (answer.data or {}).get("category") == "EXPIRED":
            raise TokenExpired()
        super().classify(answer)


def test_an_expired_token_is_refreshed_once(server: Server) -> None:
    asked: list[str | None] = []

    def token(refused: str | None) -> str:
        asked.append(refused)
        return "fresh" if refused else "old"

    server.script = [Scripted(401, b'{"category": "EXPIRED"}'), Scripted(200, b"{}")]
    transport = _transport(server, ExpiringVendor(), token=token)
    transport.call("GET", "/x")
    assert asked == [None, "old"]
    assert [auth for _, _, auth in server.seen] == ["Bearer old", "Bearer fresh"]


def test_a_token_refused_after_its_refresh_fails_the_run(server: Server) -> None:
    server.script = [Scripted(401, b'{"category": "EXPIRED"}')] * 2
    transport = _transport(server, ExpiringVendor(), token=lambda refused: "t")
    with pytest.raises(AuthenticationFailed, match="authentication failed"):
        transport.call("GET", "/x")
    assert transport.requests_made == 2


def test_the_limiter_keeps_a_sliding_window() -> None:
    now = [100.0]
    limiter = RateLimiter(3, 10.0, clock=lambda: now[0])
    assert [limiter.wait_time() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_time() == pytest.approx(10.0)
    now[0] = 105.0
    assert limiter.wait_time() == pytest.approx(5.0)
    now[0] = 110.0
    assert limiter.wait_time() == 0.0  # the first request left the window
