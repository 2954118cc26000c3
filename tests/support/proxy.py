"""Real HTTP proxies for the tests: Debian's tinyproxy on 127.0.0.1 free ports.

Behaviour of tinyproxy 1.11.1, checked by hand and relied on by the tests:
  * CONNECT to an allowed, listening target: `HTTP/1.0 200 Connection established`
  * target host not matched by the Filter file with `FilterDefaultDeny Yes`: `403 Filtered`
    (decided on the host name as written in CONNECT, before any DNS lookup)
  * CONNECT to a port not listed by a `ConnectPort` line: `403 Access violation`
  * target refuses or is unreachable: `500 Unable to connect` (not 502); a target that drops
    SYNs keeps tinyproxy waiting ~30 s before that 500, so a probe times out first
  * `BasicAuth` without credentials: `407 Proxy Authentication Required`;
    with wrong credentials: `401 Unauthorized` (not 407)
  * run as root without `User`, it warns and keeps running as root; `-d` stays in the foreground
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from .require import require_tool

PROXY_USER = "user"
PROXY_PASSWORD = "pass"
# Hosts the filtering proxy lets through: loopback and the test namespaces' addresses.
ALLOWED_HOST_PATTERNS = [r"^127\.0\.0\.1$", r"^10\.200\.[0-9]+\.[0-9]+$"]


@dataclass(frozen=True)
class RunningProxy:
    port: int
    log: Path
    credentials: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    @property
    def authenticated_url(self) -> str:
        assert self.credentials is not None
        return self.url_with(*self.credentials)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def write_config(directory: Path, name: str, port: int, extra: list[str]) -> Path:
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Timeout 30",
        "MaxClients 200",
        "LogLevel Info",
        "Allow 127.0.0.1",
        f'PidFile "{directory / (name + ".pid")}"',
        *extra,
    ]
    path = directory / f"{name}.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_tinyproxy(directory: Path, name: str, extra: list[str]) -> tuple[subprocess.Popen, int, Path]:
    binary = require_tool("tinyproxy", "tinyproxy")
    for _ in range(5):  # a free port can be taken between picking and binding it
        port = free_port()
        config = write_config(directory, name, port, extra)
        log = directory / f"{name}.log"
        with log.open("w") as log_file:
            process = subprocess.Popen([binary, "-d", "-c", str(config)], stdout=log_file, stderr=subprocess.STDOUT)
        if wait_listening(port, process):
            return process, port, log
        stop(process)
    raise RuntimeError(f"tinyproxy did not start; see {log}: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tinyproxy(directory: Path, name: str, extra: list[str], credentials: tuple[str, str] | None = None) -> Iterator[RunningProxy]:
    directory.mkdir(parents=True, exist_ok=True)
    process, port, log = start_tinyproxy(directory, name, extra)
    try:
        yield RunningProxy(port=port, log=log, credentials=credentials)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def filtering_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """Lets through only 127.0.0.1 and 10.200.x.y; any other host name gets 403 Filtered."""
    directory = tmp_path_factory.mktemp("tinyproxy-filter")
    filter_file = directory / "filter"
    filter_file.write_text("\n".join(ALLOWED_HOST_PATTERNS) + "\n")
    extra = [f'Filter "{filter_file}"', "FilterType ere", "FilterDefaultDeny Yes"]
    yield from tinyproxy(directory, "filter", extra)


@pytest.fixture(scope="session")
def auth_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """Requires Basic proxy authentication user/pass (407 without, 401 with wrong credentials)."""
    directory = tmp_path_factory.mktemp("tinyproxy-auth")
    extra = [f"BasicAuth {PROXY_USER} {PROXY_PASSWORD}"]
    yield from tinyproxy(directory, "auth", extra, credentials=(PROXY_USER, PROXY_PASSWORD))
