"""Simulated TCP ports on 127.0.0.1 for the demo, where no namespace or root is available.

Modes:
  open      a listener that accepts each connection and closes it
  refused   a port number nobody listens on (bound once to pick a free number, then closed):
            the kernel answers a SYN with RST
  filtered  a listener with backlog 0 that never accepts, pre-filled with one connection: the
            accept queue is full, so the kernel drops further SYNs and connects time out
            (test-infrastructure.md §2; loopback only)

The scenario file `network.toml` lists `[[listener]]` specs and on-premises `[[target]]`s whose
ports may be written "{{port:NAME}}" (a listener's port) or as numbers.
"""

from __future__ import annotations

import re
import selectors
import socket
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ems_readiness.simulate.ports import bind_preferred

MODES = ("open", "refused", "filtered")
LOOPBACK = "127.0.0.1"
PORT_TOKEN = re.compile(r"^\{\{port:([A-Za-z0-9_.-]+)\}\}$")


@dataclass(frozen=True)
class ListenerSpec:
    name: str
    mode: str
    port: int = 0  # 0: any free port

    @classmethod
    def of(cls, value: "ListenerSpec | Mapping[str, Any]") -> "ListenerSpec":
        if isinstance(value, ListenerSpec):
            spec = value
        else:
            spec = cls(name=str(value["name"]), mode=str(value.get("mode", "open")), port=int(value.get("port", 0)))
        if spec.mode not in MODES:
            raise ValueError(f"listener {spec.name!r}: mode must be one of {', '.join(MODES)}, got {spec.mode!r}")
        return spec


class TcpSimulator:
    """Starts at construction; `.port(name)` gives each listener's port; `.stop()` closes everything."""

    def __init__(self, specs: Iterable[ListenerSpec | Mapping[str, Any]], address: str = LOOPBACK) -> None:
        self.address = address  # a loopback address (127.0.0.0/8): a second vantage uses 127.0.0.2
        self.specs = [ListenerSpec.of(s) for s in specs]
        names = [s.name for s in self.specs]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"duplicate listener names: {', '.join(sorted(duplicates))}")
        self._ports: dict[str, int] = {}
        self._sockets: list[socket.socket] = []
        self._accepting: list[socket.socket] = []
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stopping = threading.Event()
        try:
            for spec in self.specs:
                self._ports[spec.name] = self._start_listener(spec.mode, spec.port)
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-simulator", daemon=True)
        self._thread.start()

    def port(self, name: str) -> int:
        try:
            return self._ports[name]
        except KeyError:
            raise KeyError(f"no simulated TCP listener named {name!r}") from None

    @property
    def ports(self) -> dict[str, int]:
        return dict(self._ports)

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass
        thread = getattr(self, "_thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        for sock in self._sockets + [self._wake_reader, self._wake_writer]:
            sock.close()
        self._sockets.clear()
        self._selector.close()

    def __enter__(self) -> "TcpSimulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- modes -----------------------------------------------------------------------------------

    def _start_listener(self, mode: str, port: int = 0) -> int:
        if mode == "refused":
            return closed_port(port, self.address)
        server = self._own(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bind_preferred(server, self.address, port)
        port = server.getsockname()[1]
        if mode == "open":
            server.listen(128)
            server.setblocking(False)
            self._accepting.append(server)
        else:
            server.listen(0)
            self._fill_accept_queue(port)
        return port

    def _fill_accept_queue(self, port: int) -> None:
        """Connect until one SYN goes unanswered: from then on the accept queue is full. (A filler
        whose SYN was merely slow gets in later and fills the queue all the same.)"""
        for _ in range(8):
            client = self._own(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            client.setblocking(False)
            client.connect_ex((self.address, port))
            if not wait_connected(client, 0.05):
                return
        raise RuntimeError(f"could not fill the accept queue of {self.address}:{port}")

    def _own(self, sock: socket.socket) -> socket.socket:
        self._sockets.append(sock)
        return sock

    def _accept_loop(self) -> None:
        for server in self._accepting:
            self._selector.register(server, selectors.EVENT_READ)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        while not self._stopping.is_set():
            for key, _ in self._selector.select(timeout=1.0):
                if key.fileobj is self._wake_reader:
                    return
                accept_and_close(key.fileobj)  # type: ignore[arg-type]


def accept_and_close(server: socket.socket) -> None:
    try:
        conn, _ = server.accept()
    except (BlockingIOError, OSError):
        return
    conn.close()


def wait_connected(client: socket.socket, timeout: float) -> bool:
    """Whether a non-blocking connect completes within `timeout`."""
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_WRITE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                return client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    return False


def closed_port(port: int = 0, address: str = LOOPBACK) -> int:
    """A free port number that nothing listens on (`port` if it is free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bind_preferred(sock, address, port)
        return sock.getsockname()[1]


# --- the scenario's network.toml -------------------------------------------------------------


@dataclass(frozen=True)
class NetworkFixture:
    listeners: list[ListenerSpec]
    targets: list[dict[str, Any]]

    def resolved_targets(self, ports: Mapping[str, int]) -> list[dict[str, Any]]:
        """The targets in profile form (`[[network.targets]]`), listener names replaced by ports."""
        return [{**t, "ports": [resolve_port(p, ports) for p in t.get("ports", [])]} for t in self.targets]


def load_network_fixture(path: Path | str) -> NetworkFixture:
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    listeners = [ListenerSpec.of(item) for item in raw.get("listener", [])]
    return NetworkFixture(listeners=listeners, targets=list(raw.get("target", [])))


def resolve_port(value: Any, ports: Mapping[str, int]) -> int:
    """40123, "40123" or "{{port:NAME}}" → a port number."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    match = PORT_TOKEN.match(text)
    if match:
        return ports[match.group(1)]
    return int(text)
