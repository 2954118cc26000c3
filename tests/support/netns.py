"""A network namespace with a real firewall, so the TCP probe meets what a network does.

`emsr-test-<pid>` gets a veth pair to the host (10.200.X.1 host side, 10.200.X.2 inside, /30,
X random and unused), a Python listener inside on every port below, and iptables rules inside
the namespace only (the host's tables are never touched):

  open               listener, no rule                          → connect succeeds
  closed             no listener                                → kernel RST: ECONNREFUSED
  drop               -j DROP                                    → timeout (filtered)
  reset              -j REJECT --reject-with tcp-reset          → ECONNREFUSED
  host-unreachable   -j REJECT --reject-with icmp-host-unreachable → EHOSTUNREACH
  admin-prohibited   -j REJECT --reject-with icmp-admin-prohibited → EHOSTUNREACH

A port labelled BEHAVIOUR#N behaves as BEHAVIOUR (many ports of one kind, for benchmarks).

Deleting the namespace at teardown removes the veth pair and its route as well.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Iterator

import pytest

from ems_readiness.simulate.namespace import remove_stale_namespaces

from .require import require_root, require_tool

PORTS = {"open": 8080, "closed": 8081, "drop": 8082, "reset": 8083, "host-unreachable": 8084, "admin-prohibited": 8085}
RULES = {
    "drop": ["-j", "DROP"],
    "reset": ["-j", "REJECT", "--reject-with", "tcp-reset"],
    "host-unreachable": ["-j", "REJECT", "--reject-with", "icmp-host-unreachable"],
    "admin-prohibited": ["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"],
}
NAME_PREFIX = "emsr-test-"

LISTENER = r"""
import selectors, socket, sys, threading
address, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
selector = selectors.DefaultSelector()
for port in ports:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(1024)
    server.setblocking(False)
    selector.register(server, selectors.EVENT_READ)
threading.Thread(target=lambda: (sys.stdin.read(), selector.close()), daemon=True).start()
print("ready", flush=True)
while True:
    try:
        events = selector.select(timeout=0.5)
    except (OSError, ValueError, KeyError):
        break
    for key, _ in events:
        try:
            conn, _ = key.fileobj.accept()
            conn.close()
        except OSError:
            pass
"""


@dataclass(frozen=True)
class Namespace:
    name: str
    address: str  # inside the namespace; the probe's target
    host_address: str
    ports: dict[str, int]

    def port(self, behaviour: str) -> int:
        return self.ports[behaviour]


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def output(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def unused_subnet(ip: str) -> int:
    in_use = output(ip, "-4", "-o", "addr", "show") + output(ip, "-4", "route", "show")
    for _ in range(50):
        x = random.randint(1, 254)
        if f"10.200.{x}." not in in_use:
            return x
    raise RuntimeError("no unused 10.200.X.0/30 subnet found")


def start_listener(ip: str, name: str, address: str, ports: list[int]) -> subprocess.Popen:
    process = subprocess.Popen(
        [ip, "netns", "exec", name, sys.executable, "-c", LISTENER, address, *map(str, ports)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise RuntimeError(f"namespace listener did not start: {process.stderr.read() if process.stderr else ''}")
    return process


def stop_listener(process: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        assert process.stdin is not None
        process.stdin.close()
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_reachable(address: str, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{address}:{port} in the test namespace is not reachable from the host")


def behaviour_of(label: str) -> str:
    """'drop#7' -> 'drop': several ports may share a behaviour (a benchmark's 50 dropped ports)."""
    return label.partition("#")[0]


@contextlib.contextmanager
def network_namespace(ports: dict[str, int] | None = None, tag: str = "") -> Iterator[Namespace]:
    """Set up the namespace (needs root, ip, iptables); removed on exit. A `tag` tells apart
    several namespaces of one test process (a letter: interface names are limited to 15 bytes)."""
    ports = dict(ports or PORTS)
    ip = require_tool("ip", "iproute2")
    iptables = require_tool("iptables", "iptables")
    remove_stale_namespaces(ip, NAME_PREFIX)
    pid = os.getpid()
    name, host_if, ns_if = f"{NAME_PREFIX}{pid}{'-' + tag if tag else ''}", f"emsrh{tag}{pid}", f"emsrn{tag}{pid}"
    x = unused_subnet(ip)
    host_address, address = f"10.200.{x}.1", f"10.200.{x}.2"
    run(ip, "netns", "add", name)
    listener = None
    try:
        run(ip, "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", name)
        run(ip, "addr", "add", f"{host_address}/30", "dev", host_if)
        run(ip, "link", "set", host_if, "up")
        run(ip, "-n", name, "addr", "add", f"{address}/30", "dev", ns_if)
        run(ip, "-n", name, "link", "set", ns_if, "up")
        run(ip, "-n", name, "link", "set", "lo", "up")
        for label, port in ports.items():
            rule = RULES.get(behaviour_of(label))
            if rule:
                run(ip, "netns", "exec", name, iptables, "-A", "INPUT", "-p", "tcp", "--dport", str(port), *rule)
        listening = [port for label, port in ports.items() if behaviour_of(label) != "closed"]
        listener = start_listener(ip, name, address, listening)
        wait_reachable(address, ports["open"])
        yield Namespace(name=name, address=address, host_address=host_address, ports=ports)
    finally:
        if listener is not None:
            stop_listener(listener)
        subprocess.run([ip, "netns", "del", name], capture_output=True)


@pytest.fixture(scope="session")
def netns() -> Iterator[Namespace]:
    require_root()
    with network_namespace() as namespace:
        yield namespace
