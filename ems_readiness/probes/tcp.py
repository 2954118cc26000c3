"""The TCP probe: can this machine open a connection to host:port, directly or through the proxy?

Direct connects tell apart what the network did with the SYN:
  open         the handshake completed
  refused      a RST came back (nothing listening, or a firewall REJECT with tcp-reset/port-unreachable)
  filtered     nothing came back within the timeout (a firewall DROP)
  unreachable  an ICMP host/network unreachable or admin-prohibited came back, or no route
  dns-failure  the configured resolver gave no address for the name
  error        the probe itself failed (no socket, bad name)
Through an explicit proxy (HTTP CONNECT; plain `HEAD http://host/` for port 80, as clients send
plain HTTP): open, proxy-auth-required (407/401), proxy-denied (403), proxy-error (any other
answer, including 5xx when the proxy cannot reach the target), proxy-unreachable (no connection
to the proxy), proxy-timeout (no answer in time). To `HEAD`, a 401, 403 or 5xx that the service
itself sent through the proxy is open (`proxy.refused_by_proxy` tells whose answer it is).

Each (host, port, mode) is probed once per scan; a semaphore bounds concurrent connects, so a
scan of many filtered ports costs about one timeout rather than the sum.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol

from ems_readiness.engine.model import Evidence
from ems_readiness.probes.base import EvidenceLog, ProbeError, SingleFlightCache, Stopwatch
from ems_readiness.probes.dns import is_ip_literal, normalize_host
from ems_readiness.probes.proxy import ProxyError, authority, connect_tunnel, parse_proxy_url, redact_proxy_url, request_via_proxy

DIRECT = "direct"
PROXY = "proxy"
# Through a proxy, clients send plain HTTP as an absolute-form request, not CONNECT (which
# proxies commonly allow only to 443), so these ports are asked that way.
PLAIN_HTTP_PORTS = frozenset({80})

UNREACHABLE_ERRNOS = {
    errno.EHOSTUNREACH: "host unreachable (ICMP host unreachable or admin-prohibited)",
    errno.ENETUNREACH: "network unreachable (no route)",
    # a firewall on this machine (OUTPUT chain) rejecting the connection
    errno.EPERM: "blocked by a firewall on this machine (EPERM)",
    errno.EACCES: "blocked by a firewall on this machine (EACCES)",
}

PROXY_STATUS_BY_KIND = {
    "auth-required": "proxy-auth-required",
    "denied": "proxy-denied",
    "unreachable": "proxy-unreachable",
    "timeout": "proxy-timeout",
    "bad-response": "proxy-error",
    "upstream-failed": "proxy-error",
}


class AddressLookup(Protocol):
    """What the TCP probe needs from the DNS probe."""

    async def addresses(self, host: str) -> Any: ...


@dataclass(frozen=True)
class TcpObservation:
    host: str
    port: int
    mode: str  # "direct" | "proxy"
    status: str
    detail: str  # what happened, in words, for `observed`
    evidence: Evidence
    timeout: float
    address: str | None = None
    elapsed_ms: float | None = None
    http_status: int | None = None
    proxy_error: str | None = None  # ProxyError kind, through a proxy
    proxy: str | None = None  # the proxy URL without credentials
    dns_status: str | None = None
    dns_evidence: Evidence | None = None

    @property
    def ok(self) -> bool:
        return self.status == "open"

    @property
    def target(self) -> str:
        return authority(self.host, self.port)

    @property
    def all_evidence(self) -> list[Evidence]:
        return [e for e in (self.dns_evidence, self.evidence) if e is not None]


@dataclass(frozen=True)
class Attempt:
    address: str
    status: str
    detail: str
    elapsed_ms: float
    errno_name: str | None = None

    def as_data(self) -> dict[str, Any]:
        data = {"address": self.address, "status": self.status, "elapsed_ms": round(self.elapsed_ms, 1)}
        if self.errno_name:
            data["errno"] = self.errno_name
        return data


@dataclass
class _Resolution:
    addresses: list[str] = field(default_factory=list)
    failure: str | None = None  # dns status when no address
    detail: str = ""
    evidence: Evidence | None = None


class TcpProbe:
    def __init__(
        self,
        dns: AddressLookup,
        evidence: EvidenceLog,
        timeout: float = 5.0,
        concurrency: int = 64,
        proxy: str | None = None,
        plain_http_ports: frozenset[int] = PLAIN_HTTP_PORTS,
    ) -> None:
        self.dns = dns
        self.evidence = evidence
        self.timeout = timeout
        self.proxy = proxy or None
        self.plain_http_ports = plain_http_ports
        self._semaphore = asyncio.Semaphore(concurrency)
        self._cache = SingleFlightCache()

    @property
    def proxy_display(self) -> str | None:
        """The proxy as it may be shown: http://host:port, no credentials."""
        if not self.proxy:
            return None
        try:
            return f"http://{parse_proxy_url(self.proxy).display}"
        except ValueError:
            return redact_proxy_url(self.proxy)

    async def connect(self, host: str, port: int) -> TcpObservation:
        host = normalize_host(host)
        return await self._cache.get((host, port, DIRECT), lambda: self._connect(host, port))

    async def via_proxy(self, host: str, port: int) -> TcpObservation:
        if not self.proxy:
            raise ProbeError("no proxy is configured for this scan")
        host = normalize_host(host)
        return await self._cache.get((host, port, PROXY), lambda: self._via_proxy(host, port))

    # --- direct ------------------------------------------------------------------------------

    async def _connect(self, host: str, port: int) -> TcpObservation:
        resolution = await self._resolve(host)
        if resolution.failure:
            return self._observe_unresolved(host, port, resolution)
        async with self._semaphore:
            watch = Stopwatch()
            attempts = await self._attempt_addresses(resolution.addresses, port)
        chosen = next((a for a in attempts if a.status == "open"), attempts[0])
        evidence = self.evidence.record(
            "tcp",
            authority(host, port),
            chosen.status,
            watch.ms,
            address=chosen.address,
            addresses=resolution.addresses,
            attempts=[a.as_data() for a in attempts],
            timeout_s=self.timeout,
            detail=chosen.detail,
        )
        return TcpObservation(
            host, port, DIRECT, chosen.status, chosen.detail, evidence, self.timeout,
            address=chosen.address, elapsed_ms=watch.ms, dns_evidence=resolution.evidence,
        )

    async def _resolve(self, host: str) -> _Resolution:
        if is_ip_literal(host):
            return _Resolution(addresses=[host])
        try:
            answer = await self.dns.addresses(host)
        except ProbeError as exc:
            return _Resolution(failure="error", detail=f"the name could not be looked up: {exc}")
        status = str(answer.status)
        if status == "ok" and answer.addresses:
            return _Resolution(addresses=list(answer.addresses), evidence=answer.evidence)
        failure = "nodata" if status == "ok" else status
        return _Resolution(failure=failure, detail=dns_failure_detail(answer, failure), evidence=answer.evidence)

    def _observe_unresolved(self, host: str, port: int, resolution: _Resolution) -> TcpObservation:
        status = "error" if resolution.evidence is None else "dns-failure"
        evidence = self.evidence.record(
            "tcp", authority(host, port), status, None, dns_status=resolution.failure, detail=resolution.detail
        )
        return TcpObservation(
            host, port, DIRECT, status, resolution.detail, evidence, self.timeout,
            dns_status=resolution.failure, dns_evidence=resolution.evidence,
        )

    async def _attempt_addresses(self, addresses: list[str], port: int) -> list[Attempt]:
        """Addresses in order (IPv4 first) until one opens, all within one timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        attempts: list[Attempt] = []
        for address in sorted(addresses, key=lambda a: ":" in a):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            attempt = await attempt_connect(address, port, remaining)
            attempts.append(attempt)
            if attempt.status == "open":
                break
        return attempts

    # --- through the proxy ---------------------------------------------------------------------

    async def _via_proxy(self, host: str, port: int) -> TcpObservation:
        async with self._semaphore:
            watch = Stopwatch()
            outcome = await self._ask_proxy(host, port)
        status, detail, http_status, kind, method = outcome
        evidence = self.evidence.record(
            "proxy",
            authority(host, port),
            status,
            watch.ms,
            proxy=self.proxy_display,
            method=method,
            http_status=http_status,
            error=kind,
            timeout_s=self.timeout,
            detail=detail,
        )
        return TcpObservation(
            host, port, PROXY, status, detail, evidence, self.timeout,
            elapsed_ms=watch.ms, http_status=http_status, proxy_error=kind, proxy=self.proxy_display,
        )

    async def _ask_proxy(self, host: str, port: int) -> tuple[str, str, int | None, str | None, str]:
        """(status, detail, http status, ProxyError kind, method) of one request through the proxy."""
        assert self.proxy is not None
        method = "HEAD" if port in self.plain_http_ports else "CONNECT"
        try:
            if method == "HEAD":
                code, reason = await request_via_proxy(self.proxy, host, port, self.timeout)
                return "open", f"the service answered {code} {reason} through the proxy {self.proxy_display}", code, None, method
            _, writer = await connect_tunnel(self.proxy, host, port, self.timeout)
        except ProxyError as exc:
            return PROXY_STATUS_BY_KIND[exc.kind], exc.message, exc.http_status, exc.kind, method
        await close_writer(writer)
        return "open", f"CONNECT through the proxy {self.proxy_display} succeeded", 200, None, method


async def attempt_connect(address: str, port: int, timeout: float) -> Attempt:
    loop = asyncio.get_running_loop()
    watch = Stopwatch()
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    except OSError as exc:
        return Attempt(address, "error", f"no socket: {exc.strerror or exc}", watch.ms, errno_name(exc))
    try:
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, (address, port)), timeout)
    except TimeoutError:
        return Attempt(address, "filtered", f"no answer from {address} within {timeout:.1f} s", watch.ms)
    except ConnectionRefusedError:
        return Attempt(address, "refused", f"{address} refused the connection (TCP reset)", watch.ms, "ECONNREFUSED")
    except OSError as exc:
        return classify_os_error(address, exc, watch.ms)
    finally:
        sock.close()
    return Attempt(address, "open", f"connected to {address} in {watch.ms:.0f} ms", watch.ms)


def classify_os_error(address: str, exc: OSError, elapsed_ms: float) -> Attempt:
    name = errno_name(exc)
    if exc.errno in UNREACHABLE_ERRNOS:
        return Attempt(address, "unreachable", f"{address}: {UNREACHABLE_ERRNOS[exc.errno]}", elapsed_ms, name)
    if exc.errno == errno.ETIMEDOUT:
        return Attempt(address, "filtered", f"no answer from {address} (the system gave up)", elapsed_ms, name)
    return Attempt(address, "error", f"connect to {address} failed: {exc.strerror or exc}", elapsed_ms, name)


def errno_name(exc: OSError) -> str | None:
    return errno.errorcode.get(exc.errno) if exc.errno is not None else None


def dns_failure_detail(answer: Any, status: str) -> str:
    data = getattr(getattr(answer, "evidence", None), "data", None) or {}
    resolver, address = data.get("resolver"), data.get("address")
    who = f"resolver {resolver} ({address})" if resolver and address else f"resolver {resolver or address or ''}".strip()
    texts = {
        "nxdomain": f"{who} answered NXDOMAIN: the name does not exist",
        "nodata": f"{who} answered with no address record (NODATA)",
        "timeout": f"{who} did not answer in time",
    }
    return texts.get(status, f"{who} answered {status.upper()}")


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:  # the far end may already have reset the tunnel
        pass

