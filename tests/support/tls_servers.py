"""Real TLS servers on 127.0.0.1 for the TLS tests, one per certificate case, and the names for them.

Fixtures (session scope):
- `tls_servers`: a started `TlsSimulator` with one listener per case of `simulate/certs.py`, plus
  `tls12only`, `tls13only`, `legacy` (TLS 1.0 upwards), `oldonly` (TLS 1.0/1.1 only) and `stall`
  (accepts TCP, never answers the ClientHello). Listener NAME answers as `NAME.tls.test`.
- `tls_dns`: a `DnsSimulator` whose zones resolve every `*.tls.test` name and the Microsoft names
  used in the tests to 127.0.0.1, so the probe resolves names the way a scan does.
- `refused_port`: a loopback port nothing listens on.
- `blackhole_port`: a port on which each of BLACKHOLE_ADDRESSES drops SYNs (a connect times out);
  `blackhole.tls.test` resolves to all of them.
- `connect_proxy` / `denying_proxy`: minimal HTTP CONNECT proxies (see `ConnectProxy`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from ems_readiness.simulate.certs import CASES
from ems_readiness.simulate.dns_server import DnsSimulator
from ems_readiness.simulate.tcp_listeners import wait_connected
from ems_readiness.simulate.tls_servers import STALL, TlsSimulator, TlsSpec

TEST_ZONE = "tls.test"
MICROSOFT_TEST_ZONES = ("microsoftonline.com", "manage.microsoft.com", "intel.com")
BLACKHOLE_ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")


def tls_host(name: str) -> str:
    return f"{name}.{TEST_ZONE}"


def listener_specs() -> list[TlsSpec]:
    specs = [TlsSpec(case, [tls_host(case)], case) for case in CASES]
    return specs + [
        TlsSpec("tls12only", [tls_host("tls12only")], "valid", max_version="TLSv1.2"),
        TlsSpec("tls13only", [tls_host("tls13only")], "valid", min_version="TLSv1.3"),
        TlsSpec("legacy", [tls_host("legacy")], "valid", min_version="TLSv1"),
        TlsSpec("oldonly", [tls_host("oldonly")], "valid", min_version="TLSv1", max_version="TLSv1.1"),
        TlsSpec("stall", [tls_host("stall")], STALL),
        # Microsoft endpoints of the TLS-006 tests: genuine (simulated Microsoft root) and intercepted
        TlsSpec("ms-login", ["login.microsoftonline.com"], "microsoft"),
        TlsSpec("ms-intercepted", ["enterpriseenrollment.manage.microsoft.com"], "interception"),
    ]


def write_loopback_zone(directory: Path, origin: str) -> Path:
    path = directory / f"{origin}.zone"
    path.write_text(
        f"$ORIGIN {origin}.\n$TTL 300\n"
        f"@ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300\n"
        f"@ IN NS ns.{origin}.\n"
        "ns IN A 127.0.0.1\n"
        "@ IN A 127.0.0.1\n"
        "* IN A 127.0.0.1\n" + "".join(f"blackhole IN A {address}\n" for address in BLACKHOLE_ADDRESSES),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def tls_servers(tmp_path_factory: pytest.TempPathFactory):
    simulator = TlsSimulator(listener_specs(), directory=tmp_path_factory.mktemp("tls-certs")).start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="session")
def tls_dns(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("tls-zones")
    zones = [write_loopback_zone(directory, origin) for origin in (TEST_ZONE, *MICROSOFT_TEST_ZONES)]
    with DnsSimulator(zones) as server:
        yield server


@pytest.fixture(scope="session")
def refused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def blackhole_port():
    """One port on every BLACKHOLE_ADDRESSES address where a listener's accept queue is full, so
    further SYNs go unanswered (as TcpSimulator's `filtered` mode on 127.0.0.1)."""
    for _ in range(5):  # the port taken on the first address may be in use on another
        sockets: list[socket.socket] = []
        try:
            port = 0
            for address in BLACKHOLE_ADDRESSES:
                server = socket.socket()
                sockets.append(server)
                server.bind((address, port))
                server.listen(0)
                port = server.getsockname()[1]
                fill_accept_queue(address, port, sockets)
        except OSError:
            for sock in sockets:
                sock.close()
            continue
        yield port
        for sock in sockets:
            sock.close()
        return
    raise RuntimeError("no port free on every blackhole address")


def fill_accept_queue(address: str, port: int, clients: list[socket.socket]) -> None:
    """Connect until one SYN goes unanswered; the connected clients join `clients`."""
    for _ in range(8):
        client = socket.socket()
        clients.append(client)
        client.setblocking(False)
        client.connect_ex((address, port))
        if not wait_connected(client, 0.05):
            return
    raise OSError(f"could not fill the accept queue of {address}:{port}")


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 for the TLS tests.

    Every target name is 'resolved' to 127.0.0.1 — the proxy never asks a real resolver — and the
    tunnel goes to 127.0.0.1:<target port>. `deny=True` answers 403 to every CONNECT; `delay`
    seconds pass before any answer. `targets` lists the CONNECT targets seen, so a test can tell
    the probe went through the proxy.
    """

    def __init__(self, deny: bool = False, delay: float = 0.0) -> None:
        self.deny = deny
        self.delay = delay
        self.targets: list[str] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="connect-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://tester:secret@127.0.0.1:{self.port}"

    def start(self) -> "ConnectProxy":
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", 0), self._loop
        ).result(5)
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            self.targets.append(target)
            await asyncio.sleep(self.delay)
            if self.deny:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            port = int(target.rpartition(":")[2])
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, IndexError, ValueError):
            pass
        finally:
            writer.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


@pytest.fixture(scope="session")
def connect_proxy():
    proxy = ConnectProxy().start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def denying_proxy():
    proxy = ConnectProxy(deny=True).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def loopback_tls(tmp_path_factory: pytest.TempPathFactory):
    """TLS servers whose certificates validate for 127.0.0.1 (`ip`) and localhost (`localhost`)
    against `loopback_tls.trust_bundle`: a target that can prove, through a proxy's tunnel, that
    it is the one answering."""
    specs = [TlsSpec("ip", ["127.0.0.1"], "valid"), TlsSpec("localhost", ["localhost"], "valid")]
    simulator = TlsSimulator(specs, directory=tmp_path_factory.mktemp("loopback-tls")).start()
    yield simulator
    simulator.stop()
