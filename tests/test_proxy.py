"""HTTP CONNECT through a real proxy (tinyproxy), and through fake proxies that misbehave."""

from __future__ import annotations

import asyncio
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.tcp import TcpProbe
from ems_readiness.engine.profile import Profile, ProfileError, environment_defaults
from ems_readiness.probes.proxy import (
    ProxyError,
    connect_tunnel,
    parse_proxy_url,
    redact_proxy_url,
    request_via_proxy,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeProxy:
    """A loopback listener that answers every connection with `reply` (None: never answers)."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.recv(4096)
            if self.reply is None:
                self.held.append(conn)
                continue
            conn.sendall(self.reply)
            conn.close()

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def fake_proxy() -> Iterator[type[FakeProxy]]:
    started: list[FakeProxy] = []

    def start(reply: bytes | None) -> FakeProxy:
        proxy = FakeProxy(reply)
        started.append(proxy)
        return proxy

    yield start  # type: ignore[misc]
    for proxy in started:
        proxy.close()


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(1024)
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def http_service() -> Iterator:
    """start(status, *headers) → the port of a loopback HTTP service answering every HEAD so."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, *headers: tuple[str, str]) -> int:
        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def head_via(proxy_url: str, host: str, port: int, timeout: float = 2.0) -> tuple[int, str] | ProxyError:
    """What `request_via_proxy` returns, or the ProxyError it raises."""
    try:
        return asyncio.run(request_via_proxy(proxy_url, host, port, timeout))
    except ProxyError as error:
        return error


def tunnel_error(proxy_url: str, host: str, port: int, timeout: float = 2.0) -> ProxyError:
    async def attempt():
        reader, writer = await connect_tunnel(proxy_url, host, port, timeout)
        writer.close()

    with pytest.raises(ProxyError) as caught:
        asyncio.run(attempt())
    return caught.value


# --- tinyproxy ---------------------------------------------------------------------------------


@pytest.mark.realnet
def test_the_tunnel_carries_bytes_both_ways(filtering_proxy, echo_port):
    async def talk():
        reader, writer = await connect_tunnel(filtering_proxy.url, "127.0.0.1", echo_port, 2.0)
        writer.write(b"ping through the tunnel")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(100), 2.0)
        writer.close()
        await writer.wait_closed()
        return data

    assert asyncio.run(talk()) == b"ping through the tunnel"


@pytest.mark.realnet
def test_filtered_host_is_denied_with_403(filtering_proxy, echo_port):
    error = tunnel_error(filtering_proxy.url, "localhost", echo_port)
    assert (error.kind, error.http_status) == ("denied", 403)
    assert f"127.0.0.1:{filtering_proxy.port}" in error.message and "localhost" in error.message


@pytest.mark.realnet
def test_refused_target_is_an_upstream_failure(filtering_proxy):
    error = tunnel_error(filtering_proxy.url, "127.0.0.1", closed_port())
    assert (error.kind, error.http_status) == ("upstream-failed", 500)


@pytest.mark.realnet
def test_authentication_required_then_rejected_then_accepted(auth_proxy, echo_port):
    missing = tunnel_error(auth_proxy.url, "127.0.0.1", echo_port)
    wrong = tunnel_error(auth_proxy.url_with("user", "n0t-the-password"), "127.0.0.1", echo_port)
    assert (missing.kind, missing.http_status) == ("auth-required", 407)
    assert (wrong.kind, wrong.http_status) == ("auth-required", 401)
    assert "n0t-the-password" not in wrong.message and "user" not in wrong.message

    async def accepted():
        _, writer = await connect_tunnel(auth_proxy.authenticated_url, "127.0.0.1", echo_port, 2.0)
        writer.close()
        return True

    assert asyncio.run(accepted())


@pytest.mark.realnet
def test_credentials_with_reserved_characters_are_decoded(auth_proxy, echo_port):
    # "pass" percent-encoded as p%61ss must reach the proxy as "pass"
    async def accepted():
        _, writer = await connect_tunnel(f"http://us%65r:p%61ss@127.0.0.1:{auth_proxy.port}", "127.0.0.1", echo_port, 2.0)
        writer.close()
        return True

    assert asyncio.run(accepted())


@pytest.mark.realnet
def test_plain_http_request_through_the_proxy(filtering_proxy):
    # nothing listens: tinyproxy answers 500 Unable to connect, the same as for CONNECT
    async def ask():
        return await request_via_proxy(filtering_proxy.url, "127.0.0.1", closed_port(), 2.0)

    with pytest.raises(ProxyError) as caught:
        asyncio.run(ask())
    assert (caught.value.kind, caught.value.http_status) == ("upstream-failed", 500)


@pytest.mark.realnet
@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_the_service_s_own_refusal_through_tinyproxy_means_the_path_is_open(filtering_proxy, http_service, status):
    # tinyproxy relays it with "Via: 1.1 <host> (tinyproxy/1.11.1)": Via marks relayed answers too
    port = http_service(status, ("WWW-Authenticate", 'Basic realm="service"'))
    answer = head_via(filtering_proxy.url, "127.0.0.1", port)
    assert not isinstance(answer, ProxyError), answer.message
    assert answer[0] == status


@pytest.mark.realnet
def test_tinyproxy_s_own_answers_to_plain_http_are_the_proxy_s(filtering_proxy, auth_proxy, http_service):
    port = http_service(200)
    filtered = head_via(filtering_proxy.url, "localhost", port)
    missing = head_via(auth_proxy.url, "127.0.0.1", port)
    wrong = head_via(auth_proxy.url_with("user", "n0t-the-password"), "127.0.0.1", port)  # 401, WWW-Authenticate
    assert [(e.kind, e.http_status) for e in (filtered, missing, wrong)] == [
        ("denied", 403), ("auth-required", 407), ("auth-required", 401)
    ]
    assert head_via(auth_proxy.authenticated_url, "127.0.0.1", port) == (200, "OK")


@pytest.mark.parametrize(
    "reply, outcome",
    [
        (b"HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n\r\n", "denied"),
        (b"HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_CONNECT_FAIL 111\r\n\r\n", "upstream-failed"),
        (b"HTTP/1.1 401 Unauthorized\r\nProxy-Authenticate: Negotiate\r\n\r\n", "auth-required"),
        (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "auth-required"),
        (b"HTTP/1.1 403 Forbidden\r\nVia: 1.1 proxy.corp (squid/6.6)\r\n\r\n", (403, "Forbidden")),
        (b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x\r\n\r\n", (401, "Unauthorized")),
        (b"HTTP/1.1 502 Bad Gateway\r\nServer: cloudflare\r\n\r\n", (502, "Bad Gateway")),
    ],
)
def test_plain_http_answers_are_the_proxy_s_only_with_its_marks(fake_proxy, reply, outcome):
    proxy = fake_proxy(reply)
    answer = head_via(f"http://127.0.0.1:{proxy.port}", "127.0.0.1", 80)
    assert (answer.kind if isinstance(answer, ProxyError) else answer) == outcome


# --- proxies that misbehave ------------------------------------------------------------------


def test_nothing_listening_at_the_proxy_address():
    error = tunnel_error(f"http://127.0.0.1:{closed_port()}", "127.0.0.1", 443)
    assert error.kind == "unreachable" and error.http_status is None
    assert "cannot connect to the proxy" in error.message


def test_a_proxy_that_never_answers_times_out(fake_proxy):
    silent = fake_proxy(None)
    error = tunnel_error(f"http://127.0.0.1:{silent.port}", "127.0.0.1", 443, timeout=0.5)
    assert error.kind == "timeout" and "within 0.5 s" in error.message


def test_an_answer_that_is_not_http(fake_proxy):
    odd = fake_proxy(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    error = tunnel_error(f"http://127.0.0.1:{odd.port}", "127.0.0.1", 443)
    assert error.kind == "bad-response" and "not HTTP" in error.message


def test_a_proxy_that_closes_without_answering(fake_proxy):
    closing = fake_proxy(b"")
    error = tunnel_error(f"http://127.0.0.1:{closing.port}", "127.0.0.1", 443)
    assert error.kind == "bad-response" and "closed the connection" in error.message


@pytest.mark.parametrize(
    "reply, kind",
    [
        (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", "upstream-failed"),
        (b"HTTP/1.1 504 Gateway Timeout\r\n\r\n", "upstream-failed"),
        (b"HTTP/1.1 405 Method Not Allowed\r\n\r\n", "bad-response"),
        (b"HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n\r\n", "denied"),
    ],
)
def test_status_codes_map_to_kinds(fake_proxy, reply, kind):
    proxy = fake_proxy(reply)
    error = tunnel_error(f"http://127.0.0.1:{proxy.port}", "127.0.0.1", 443)
    assert error.kind == kind and error.http_status == int(reply.split()[1])


def test_a_success_status_leaves_the_tunnel_open(fake_proxy):
    proxy = fake_proxy(b"HTTP/1.1 200 Connection established\r\n\r\nearly")

    async def tunnel():
        reader, writer = await connect_tunnel(f"http://127.0.0.1:{proxy.port}", "127.0.0.1", 443, 2.0)
        data = await reader.read()
        writer.close()
        return data

    # bytes after the response head belong to the tunnel, not to the proxy's answer
    assert asyncio.run(tunnel()) == b"early"


# --- proxy URLs ----------------------------------------------------------------------------------


def test_parse_proxy_url_forms():
    plain = parse_proxy_url("proxy.contoso.test:3128")
    assert (plain.host, plain.port, plain.username) == ("proxy.contoso.test", 3128, None)
    with_credentials = parse_proxy_url("http://svc%40contoso:p%3Ass@10.0.0.5:8080/")
    assert (with_credentials.username, with_credentials.password) == ("svc@contoso", "p:ss")
    assert with_credentials.display == "10.0.0.5:8080"
    assert parse_proxy_url("http://proxy.contoso.test").port == 80
    assert parse_proxy_url("http://[::1]:8080").display == "[::1]:8080"


@pytest.mark.parametrize("url", ["https://proxy:443", "socks5://proxy:1080", "http://:8080", "http://proxy:99999"])
def test_unsupported_proxy_urls(url):
    with pytest.raises(ValueError):
        parse_proxy_url(url)


def test_a_bad_proxy_url_is_reported_without_its_credentials():
    error = tunnel_error("socks5://user:hunter2@proxy:1080", "127.0.0.1", 443)
    assert error.kind == "unreachable" and "hunter2" not in error.message


@pytest.mark.parametrize(
    "url, redacted",
    [
        ("http://user:pass@proxy:8080", "http://proxy:8080"),
        ("http://proxy:8080/", "http://proxy:8080/"),
        ("user:p@ss@proxy:3128", "proxy:3128"),
        ("http://alice:S3cr/et@proxy.corp:8080", "http://proxy.corp:8080"),
        ("http://svc:2024/Pa55@proxy:3128", "http://proxy:3128"),
        ("http://u:p#w?x://y@proxy:3128/", "http://proxy:3128/"),
        ("alice:pw://x@proxy:3128", "proxy:3128"),
    ],
)
def test_redact_proxy_url(url, redacted):
    assert redact_proxy_url(url) == redacted


@pytest.mark.parametrize(
    "url, user, password",
    [
        ("http://alice:S3cr/et@proxy.corp:8080", "alice", "S3cr/et"),
        ("http://svc:2024/Pa55@proxy.corp:8080", "svc", "2024/Pa55"),
        ("svc:2024/Pa55@proxy.corp:8080", "svc", "2024/Pa55"),
        ("http://u:p#w?x@proxy.corp:8080/", "u", "p#w?x"),
    ],
)
def test_the_password_runs_to_the_last_at_sign(url, user, password):
    parsed = parse_proxy_url(url)
    assert (parsed.display, parsed.username, parsed.password) == ("proxy.corp:8080", user, password)


@pytest.mark.parametrize("url", ["http://svc:2024/Pa55@proxy:99999", "http://svc:2024/Pa55@", "svc:2024/Pa55@:8080"])
def test_a_bad_proxy_url_is_never_echoed(url):
    with pytest.raises(ValueError) as caught:
        parse_proxy_url(url)
    message = str(caught.value)
    assert "Pa55" not in message and "2024" not in message and "svc" not in message


def test_https_proxy_credentials_stay_out_of_the_exit_2_message_and_the_results(monkeypatch):
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://svc:2024/Pa55@proxy:99999")
    with pytest.raises(ProfileError) as caught:
        environment_defaults(Profile())
    assert "proxy:99999" in str(caught.value)
    assert "Pa55" not in str(caught.value) and "svc" not in str(caught.value) and "2024" not in str(caught.value)

    monkeypatch.setenv("HTTPS_PROXY", "http://svc:2024/Pa55@proxy.corp:3128")
    proxy = environment_defaults(Profile()).network.proxy
    assert TcpProbe(None, EvidenceLog(), proxy=proxy).proxy_display == "http://proxy.corp:3128"  # type: ignore[arg-type]
