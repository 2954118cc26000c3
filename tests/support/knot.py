"""A real authoritative DNS server (knot) on 127.0.0.1, and a resolver that never answers.

`knot_server` serves every `tests/data/zones/<zone>.zone` (one zone per file, named after the file;
`root.zone` is the root zone "."); `broken.test` is deliberately invalid, so knot refuses to load it
and answers SERVFAIL for it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode

import pytest

from .require import require_tool

ZONES_DIR = Path(__file__).resolve().parent.parent / "data" / "zones"
READY_TIMEOUT = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP at the moment of asking."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free UDP+TCP port")


KNOT_CONF = """\
server:
    rundir: "{dir}"
    pidfile: "{dir}/knot.pid"
    listen: [ {host}@{port} ]
    udp-workers: {workers}
    tcp-workers: {workers}
    background-workers: 1
control:
    listen: "{dir}/knot.sock"
database:
    storage: "{dir}/db"
mod-stats:
  - id: counters
    request-protocol: on
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "{dir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
    global-module: mod-stats/counters
zone:
{zones}
"""


def zone_name(path: Path) -> str:
    name = path.name.removesuffix(".zone")
    return "." if name == "root" else name


@dataclass
class KnotServer:
    """knotd in the foreground over a directory of zone files; `start()` returns once it answers."""

    workdir: Path
    zone_files: list[Path]
    host: str = "127.0.0.1"
    workers: int = 1
    port: int = 0
    knotd: str = "knotd"
    knotc: str = "knotc"
    broken_zones: tuple[str, ...] = ()  # zones made invalid on purpose: not asked whether knot is up
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def config(self) -> Path:
        return self.workdir / "knot.conf"

    @property
    def zones(self) -> list[str]:
        return [zone_name(path) for path in self.zone_files]

    def start(self) -> "KnotServer":
        zones_dir = self.workdir / "zones"
        zones_dir.mkdir(parents=True, exist_ok=True)
        for path in self.zone_files:
            shutil.copy(path, zones_dir / path.name)
        self.port = self.port or free_port(self.host)
        zone_lines = "\n".join(
            f'  - domain: "{zone_name(path)}"\n    file: "{path.name}"' for path in self.zone_files
        )
        self.config.write_text(
            KNOT_CONF.format(dir=self.workdir, host=self.host, port=self.port, workers=self.workers, zones=zone_lines)
        )
        log = (self.workdir / "knotd.log").open("wb")
        self._process = subprocess.Popen([self.knotd, "-c", str(self.config)], stdout=log, stderr=log)
        self._wait_until_answering()
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def log(self) -> str:
        path = self.workdir / "knotd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def query_count(self) -> int:
        """Queries knot has answered since it started (mod-stats), over UDP and TCP."""
        for line in self._knotc("stats", "mod-stats.server-operation").splitlines():
            if "server-operation[query]" in line:
                return int(line.rsplit("=", 1)[1])
        return 0

    def set_record(self, zone: str, owner: str, ttl: int, rtype: str, rdata: str) -> None:
        """Add a record at run time (knotc zone-begin / zone-set / zone-commit)."""
        self._transaction(zone, ["zone-set", zone, owner, str(ttl), rtype, rdata])

    def unset_record(self, zone: str, owner: str, rtype: str | None = None, rdata: str | None = None) -> None:
        """Remove records at run time: the owner's whole node, one type, or one record."""
        args = ["zone-unset", zone, owner, *([rtype] if rtype else []), *([rdata] if rdata else [])]
        self._transaction(zone, args)

    def _transaction(self, zone: str, change: list[str]) -> None:
        self._knotc("zone-begin", zone)
        try:
            self._knotc(*change)
        except Exception:
            self._knotc("zone-abort", zone)
            raise
        self._knotc("zone-commit", zone)

    def _knotc(self, *args: str) -> str:
        done = subprocess.run(
            [self.knotc, "-c", str(self.config), *args], capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise RuntimeError(f"knotc {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def _wait_until_answering(self) -> None:
        probe_zone = next(zone for zone in self.zones if zone != "broken.test" and zone not in self.broken_zones)
        query = dns.message.make_query(probe_zone.rstrip(".") + ".", "SOA")
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"knotd exited with {self._process.returncode}:\n{self.log()}")
            try:
                response = dns.query.udp(query, self.host, port=self.port, timeout=0.05)
            except (dns.exception.Timeout, OSError):
                continue
            if response.rcode() == dns.rcode.NOERROR:
                return
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"knotd did not answer for {probe_zone} within {READY_TIMEOUT} s:\n{self.log()}")


@pytest.fixture(scope="session")
def knot_server(tmp_path_factory: pytest.TempPathFactory):
    knotd = require_tool("knotd", "knot")
    knotc = require_tool("knotc", "knot")
    server = KnotServer(
        workdir=tmp_path_factory.mktemp("knot"),
        zone_files=sorted(ZONES_DIR.glob("*.zone")),
        knotd=knotd,
        knotc=knotc,
    ).start()
    yield server
    server.stop()


@dataclass
class SilentResolver:
    """Bound UDP and TCP sockets on one port that never answer: every query times out."""

    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@pytest.fixture
def silent_resolver():
    host = "127.0.0.1"
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((host, 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.bind((host, port))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(16)  # the kernel completes handshakes; nobody ever reads
        break
    else:
        raise RuntimeError("no free UDP+TCP port")
    try:
        yield SilentResolver(host, port)
    finally:
        udp.close()
        tcp.close()
