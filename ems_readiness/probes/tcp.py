"""The TCP probe: can this machine open a connection to host:port, directly or through the proxy?

Direct connects tell apart what the network did with the SYN:
  open         the handshake completed
  refused      a RST came back (nothing listening, or a firewall REJECT with tcp-reset/port-unreachable)
  filtered     nothing came back within the timeout (a firewall DROP)
  unreachable  an ICMP host/network unreachable or admin-prohibited came back, or no route
  dns-failure  the configured resolver gave no address for the name
  error        the probe itself failed (no socket, bad name)
Through an explicit proxy (HTTP CONNECT; plain `HEAD http://host/` for port 80, as clients send
plain HTTP): proxy-auth-required (407/401), proxy-denied (403, or a gateway's own block page),
proxy-error (any other refusal, including 5xx when the proxy cannot reach the target),
proxy-unreachable (no connection to the proxy), proxy-timeout (no answer in time), and:
  open              only with proof that the target answered: after CONNECT, a TLS handshake with
                    the target name whose certificate chain validates for that name against the
                    scan's trust store (`trust`). A proxy's 200 alone is no proof: some answer
                    CONNECT before, or without, reaching the target.
  proxy-no-answer   the proxy accepted CONNECT, but no TLS handshake with the target completed
                    in time (silence, or the tunnel closed)
  proxy-unverified  something answered, but nothing proves it was the target: a plain-HTTP answer
                    through a proxy (any proxy can answer for any host; plain HTTP carries no
                    proof of origin), or a TLS answer whose certificate does not validate for the name
Checks make the last two `error`: who answered cannot be told.

Each (host, port, mode) is probed once per scan; a semaphore bounds concurrent connects, so a
scan of many filtered ports costs about one timeout rather than the sum.

Silent ports of a host that answers are told apart at nmap's pace (`RoundTrips`): every connect
that gets an answer (SYN-ACK or RST) is a round-trip sample for its address, smoothed as TCP does
(RFC 6298: SRTT + 4 RTTVAR). A connect to that address with no answer within that bound — never
less than SILENT_FLOOR, never more than the configured timeout — is tried once more with a new
SYN (a lost packet is not a firewall) and is filtered if that one is not answered either. An
address that has answered nothing keeps the full timeout: a slow host is not a silent one.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ems_readiness.engine.model import Evidence, Text
from ems_readiness.engine.texts import msg, render
from ems_readiness.probes.base import EvidenceLog, ProbeError, SingleFlightCache, Stopwatch
from ems_readiness.probes.dns import is_ip_literal, normalize_host
from ems_readiness.probes.proxy import (
    ProxyError,
    authority,
    connect_tunnel,
    head_via_proxy,
    parse_proxy_url,
    printable,
    redact_proxy_url,
)

DIRECT = "direct"
PROXY = "proxy"
# Through a proxy, clients send plain HTTP as an absolute-form request, not CONNECT (which
# proxies commonly allow only to 443), so these ports are asked that way.
PLAIN_HTTP_PORTS = frozenset({80})

UNREACHABLE_ERRNOS = {
    errno.EHOSTUNREACH: msg("tcp.unreachable.host"),
    errno.ENETUNREACH: msg("tcp.unreachable.network"),
    # a firewall on this machine (OUTPUT chain) rejecting the connection
    errno.EPERM: msg("tcp.unreachable.firewall", errno="EPERM"),
    errno.EACCES: msg("tcp.unreachable.firewall", errno="EACCES"),
}

CLOSE_TIMEOUT = 1.0
# The shortest wait for a silent port of an answering host: Linux's own minimum retransmission
# timeout (TCP_RTO_MIN, 200 ms). The kernel never gives up on a segment sooner, however short the
# round trip, so a SYN-ACK later than this is one the host's own stack would already retransmit for.
SILENT_FLOOR = 0.2
RTO_K = 4  # RFC 6298: RTO = SRTT + K * RTTVAR
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
    method: str | None = None  # through a proxy: "CONNECT" or "HEAD"
    dns_status: str | None = None
    dns_evidence: Evidence | None = None
    detail_text: Text | str = ""  # `detail` as a translatable text

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
    detail: Text | str
    elapsed_ms: float
    errno_name: str | None = None
    syns: int = 1  # connects tried (a silent port of an answering host gets a second one)
    waited_s: float | None = None  # filtered: how long each SYN was given

    def as_data(self) -> dict[str, Any]:
        data = {"address": self.address, "status": self.status, "elapsed_ms": round(self.elapsed_ms, 1)}
        if self.errno_name:
            data["errno"] = self.errno_name
        if self.status == "filtered" and self.waited_s is not None:
            data.update(syns=self.syns, waited_s=round(self.waited_s, 3))
        return data


@dataclass
class _Resolution:
    addresses: list[str] = field(default_factory=list)
    failure: str | None = None  # dns status when no address
    detail: Text | str = ""
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
        trust: str | Path | None = None,
    ) -> None:
        self.dns = dns
        self.evidence = evidence
        self.timeout = timeout
        self.proxy = proxy or None
        self.plain_http_ports = plain_http_ports
        # the CA bundle a target's certificate must validate against to prove it answered ("system": the OS's)
        self.trust = trust
        self._origin_context: ssl.SSLContext | None = None
        self._semaphore = asyncio.Semaphore(concurrency)
        self._cache = SingleFlightCache()
        self.round_trips = RoundTrips(timeout)

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
            detail=render(chosen.detail),
        )
        return TcpObservation(
            host, port, DIRECT, chosen.status, render(chosen.detail), evidence, self.timeout,
            address=chosen.address, elapsed_ms=watch.ms, dns_evidence=resolution.evidence, detail_text=chosen.detail,
        )

    async def _resolve(self, host: str) -> _Resolution:
        if is_ip_literal(host):
            return _Resolution(addresses=[host])
        try:
            answer = await self.dns.addresses(host)
        except ProbeError as exc:
            return _Resolution(failure="error", detail=msg("tcp.lookup-failed", error=str(exc)))
        status = str(answer.status)
        if status == "ok" and answer.addresses:
            return _Resolution(addresses=list(answer.addresses), evidence=answer.evidence)
        failure = "nodata" if status == "ok" else status
        return _Resolution(failure=failure, detail=dns_failure_detail(answer, failure), evidence=answer.evidence)

    def _observe_unresolved(self, host: str, port: int, resolution: _Resolution) -> TcpObservation:
        status = "error" if resolution.evidence is None else "dns-failure"
        evidence = self.evidence.record(
            "tcp", authority(host, port), status, None, dns_status=resolution.failure, detail=render(resolution.detail)
        )
        return TcpObservation(
            host, port, DIRECT, status, render(resolution.detail), evidence, self.timeout,
            dns_status=resolution.failure, dns_evidence=resolution.evidence, detail_text=resolution.detail,
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
            attempt = await attempt_connect(address, port, remaining, self.round_trips)
            attempts.append(attempt)
            if attempt.status == "open":
                break
        return attempts

    # --- through the proxy ---------------------------------------------------------------------

    async def _via_proxy(self, host: str, port: int) -> TcpObservation:
        async with self._semaphore:
            watch = Stopwatch()
            try:
                outcome = await self._ask_proxy(host, port)
            except Exception as exc:  # a hostile proxy costs this target its answer, never the check
                outcome = ProxyOutcome("error", msg("tcp.probe-failed", error=f"{type(exc).__name__}: {printable(str(exc), 300)}"),
                                       None, None, "CONNECT")
        evidence = self.evidence.record(
            "proxy",
            authority(host, port),
            outcome.status,
            watch.ms,
            proxy=self.proxy_display,
            method=outcome.method,
            http_status=outcome.http_status,
            error=outcome.kind,
            timeout_s=self.timeout,
            detail=render(outcome.detail),
            **outcome.facts,
        )
        return TcpObservation(
            host, port, PROXY, outcome.status, render(outcome.detail), evidence, self.timeout,
            elapsed_ms=watch.ms, http_status=outcome.http_status, proxy_error=outcome.kind, proxy=self.proxy_display,
            method=outcome.method, detail_text=outcome.detail,
        )

    async def _ask_proxy(self, host: str, port: int) -> "ProxyOutcome":
        """What one request through the proxy showed, and whether the target provably answered."""
        assert self.proxy is not None
        method = "HEAD" if port in self.plain_http_ports else "CONNECT"
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            if method == "HEAD":
                code, reason, headers = await head_via_proxy(self.proxy, host, port, self.timeout)
                return self._unproven_plain_http(host, port, code, reason, headers)
            reader, writer = await connect_tunnel(self.proxy, host, port, self.timeout)
        except ProxyError as exc:
            return ProxyOutcome(PROXY_STATUS_BY_KIND[exc.kind], exc.message, exc.http_status, exc.kind, method)
        return await self._prove_origin(reader, writer, host, port, deadline)

    def _unproven_plain_http(self, host: str, port: int, code: int, reason: str, headers: dict[str, str]) -> "ProxyOutcome":
        server = printable(headers.get("server", ""), 80)
        answer = f"{code} {reason}".strip() + (f" (Server: {server})" if server else "")
        detail = msg("proxy.plain-http", proxy=self.proxy_display, answer=answer, url=f"http://{authority(host, port)}/")
        return ProxyOutcome("proxy-unverified", detail, code, None, "HEAD", {"server": server or None})

    async def _prove_origin(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int, deadline: float
    ) -> "ProxyOutcome":
        """The tunnel is open; a TLS handshake with `host` whose certificate validates for it proves
        the target (or a proxy trusted to speak for it) answered."""
        tunnel = msg("proxy.tunnel", proxy=self.proxy_display, target=authority(host, port))
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            context = self._trusted_context()
            if remaining <= 0:
                raise TimeoutError
            await asyncio.wait_for(
                writer.start_tls(context, server_hostname=host, ssl_handshake_timeout=remaining), remaining
            )
        except ssl.SSLCertVerificationError as exc:
            writer.transport.abort()
            reason = printable(exc.verify_message or str(exc), 300)
            return ProxyOutcome("proxy-unverified", msg("proxy.cert-not-valid", tunnel=tunnel, host=host, reason=reason),
                                200, None, "CONNECT", {"proof": "certificate-not-valid"})
        except ssl.SSLError as exc:
            writer.transport.abort()
            reason = printable(getattr(exc, "reason", None) or str(exc), 200)
            return ProxyOutcome("proxy-unverified", msg("proxy.no-tls", tunnel=tunnel, host=host, reason=reason),
                                200, None, "CONNECT", {"proof": "no-tls"})
        except (TimeoutError, asyncio.TimeoutError, ConnectionAbortedError):  # the last: asyncio's handshake timeout
            writer.transport.abort()
            return ProxyOutcome("proxy-no-answer", msg("proxy.no-answer", tunnel=tunnel, host=host,
                                                       seconds=f"{self.timeout:g}"),
                                200, None, "CONNECT", {"proof": "none"})
        except (ConnectionError, EOFError, OSError) as exc:
            writer.transport.abort()
            why = getattr(exc, "strerror", None) or type(exc).__name__
            return ProxyOutcome("proxy-no-answer", msg("proxy.closed", tunnel=tunnel, host=host, why=why),
                                200, None, "CONNECT", {"proof": "none"})
        except ValueError as exc:  # no usable trust store
            writer.transport.abort()
            return ProxyOutcome("error", msg("proxy.unverifiable", tunnel=tunnel, error=str(exc)), 200, None, "CONNECT")
        peer = describe_peer(writer.get_extra_info("peercert"))
        await close_writer(writer)
        return ProxyOutcome("open", msg("proxy.open", tunnel=tunnel, host=host, peer=peer),
                            200, None, "CONNECT", {"proof": "tls-verified"})

    def _trusted_context(self) -> ssl.SSLContext:
        if self._origin_context is None:
            try:
                if self.trust in (None, "system"):
                    self._origin_context = ssl.create_default_context()
                else:
                    self._origin_context = ssl.create_default_context(cafile=str(self.trust))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"the trust store {self.trust} cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
        return self._origin_context


@dataclass(frozen=True)
class ProxyOutcome:
    """What one request through the proxy showed; `facts` go into the evidence."""

    status: str
    detail: Text | str
    http_status: int | None
    kind: str | None  # the ProxyError kind, when the proxy refused or failed
    method: str
    facts: dict[str, Any] = field(default_factory=dict)


def describe_peer(certificate: dict[str, Any] | None) -> Text | str:
    """' (subject CN login.microsoftonline.com, issued by DigiCert …)' from `getpeercert()`."""
    if not certificate:
        return ""

    def field(name: str) -> str | None:
        for rdn in certificate.get(name, ()):
            for key, value in rdn:
                if key == "commonName":
                    return printable(str(value), 120)
        return None

    subject, issuer = field("subject"), field("issuer")
    if subject and issuer:
        return msg("proxy.peer.both", subject=subject, issuer=issuer)
    if subject:
        return msg("proxy.peer.subject", subject=subject)
    if issuer:
        return msg("proxy.peer.issuer", issuer=issuer)
    return ""


class RoundTrips:
    """Round-trip estimates per address, from the connects it answered; how long a connect to it
    waits before its port counts as silent."""

    def __init__(self, timeout: float, floor: float = SILENT_FLOOR) -> None:
        self.timeout = timeout
        self.floor = min(floor, timeout)
        self._estimates: dict[str, tuple[float, float, int]] = {}  # address: (srtt, rttvar, samples)
        self._changed: dict[str, asyncio.Future] = {}

    def observe(self, address: str, seconds: float) -> None:
        """One answered connect (SYN-ACK or RST) that took `seconds` (RFC 6298 §2)."""
        if address in self._estimates:
            srtt, rttvar, samples = self._estimates[address]
            rttvar = 0.75 * rttvar + 0.25 * abs(srtt - seconds)
            srtt = 0.875 * srtt + 0.125 * seconds
            self._estimates[address] = (srtt, rttvar, samples + 1)
        else:
            self._estimates[address] = (seconds, seconds / 2, 1)
        waiter = self._changed.pop(address, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def bound(self, address: str) -> float:
        """How long a connect to `address` waits: the full timeout until the address has answered."""
        if address not in self._estimates:
            return self.timeout
        srtt, rttvar, _ = self._estimates[address]
        return min(self.timeout, max(self.floor, srtt + RTO_K * rttvar))

    def basis(self, address: str) -> Text:
        """Why the bound is what it is (the address has answered), for the detail and the evidence."""
        srtt, rttvar, samples = self._estimates[address]
        return msg("tcp.rtt.basis", n=samples, address=address, srtt=f"{srtt * 1000:.1f}",
                   rttvar=f"{rttvar * 1000:.1f}", floor=f"{self.floor:g}", timeout=f"{self.timeout:g}")

    def changed(self, address: str) -> asyncio.Future:
        """A future done when the next sample for `address` arrives (the bound may have shrunk)."""
        waiter = self._changed.get(address)
        if waiter is None or waiter.done():
            waiter = asyncio.get_running_loop().create_future()
            self._changed[address] = waiter
        return waiter


async def attempt_connect(address: str, port: int, timeout: float, round_trips: RoundTrips | None = None) -> Attempt:
    """One connect within `timeout`; with `round_trips`, a port silent past the address's derived
    bound gets one more SYN and is filtered if that is not answered within the bound either."""
    round_trips = round_trips or RoundTrips(timeout)
    watch = Stopwatch()
    deadline = asyncio.get_running_loop().time() + timeout
    for tries in (1, 2):
        attempt = await _one_connect(address, port, deadline, round_trips)
        if attempt.status != "silent":
            return replace(attempt, elapsed_ms=watch.ms)
        bound = attempt.elapsed_ms / 1000
        full = bound >= min(timeout, round_trips.timeout) - 0.001
        if full or asyncio.get_running_loop().time() + bound > deadline:
            break  # waited the full timeout, or no time left for another SYN
    detail = msg("tcp.filtered", address=address, seconds=f"{timeout:.1f}") if full else msg(
        "tcp.filtered.derived", address=address, syns=tries, ms=f"{bound * 1000:.0f}", basis=round_trips.basis(address))
    return Attempt(address, "filtered", detail, watch.ms, syns=tries, waited_s=bound)


async def _one_connect(address: str, port: int, deadline: float, round_trips: RoundTrips) -> Attempt:
    """A fresh socket and SYN. Status "silent" (elapsed_ms: the bound waited) when no answer came
    within the address's bound, which is re-read whenever another connect to it answers."""
    loop = asyncio.get_running_loop()
    watch = Stopwatch()
    started = loop.time()
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    except OSError as exc:
        return Attempt(address, "error", msg("tcp.no-socket", error=exc.strerror or exc), watch.ms, errno_name(exc))
    connecting = None
    try:
        sock.setblocking(False)
        connecting = asyncio.ensure_future(loop.sock_connect(sock, (address, port)))
        while not connecting.done():
            bound = round_trips.bound(address)
            remaining = min(started + bound, deadline) - loop.time()
            if remaining <= 0:
                return Attempt(address, "silent", "", min(bound, deadline - started) * 1000)
            await asyncio.wait({connecting, round_trips.changed(address)}, timeout=remaining,
                               return_when=asyncio.FIRST_COMPLETED)
        connecting.result()
    except ConnectionRefusedError:
        round_trips.observe(address, loop.time() - started)
        return Attempt(address, "refused", msg("tcp.refused", address=address), watch.ms, "ECONNREFUSED")
    except OSError as exc:
        return classify_os_error(address, exc, watch.ms)
    finally:
        if connecting is not None and not connecting.done():
            connecting.cancel()
        sock.close()
    round_trips.observe(address, loop.time() - started)
    return Attempt(address, "open", msg("tcp.open", address=address, ms=f"{watch.ms:.0f}"), watch.ms)


def classify_os_error(address: str, exc: OSError, elapsed_ms: float) -> Attempt:
    name = errno_name(exc)
    if exc.errno in UNREACHABLE_ERRNOS:
        return Attempt(address, "unreachable", msg("tcp.unreachable", address=address,
                                                   why=UNREACHABLE_ERRNOS[exc.errno]), elapsed_ms, name)
    if exc.errno == errno.ETIMEDOUT:
        return Attempt(address, "filtered", msg("tcp.gave-up", address=address), elapsed_ms, name)
    return Attempt(address, "error", msg("tcp.connect-failed", address=address, error=exc.strerror or exc),
                   elapsed_ms, name)


def errno_name(exc: OSError) -> str | None:
    return errno.errorcode.get(exc.errno) if exc.errno is not None else None


def dns_failure_detail(answer: Any, status: str) -> Text:
    data = getattr(getattr(answer, "evidence", None), "data", None) or {}
    resolver, address = data.get("resolver"), data.get("address")
    who = f"{resolver} ({address})" if resolver and address else f"{resolver or address or ''}"
    if status in ("nxdomain", "nodata", "timeout"):
        return msg(f"tcp.dns.{status}", resolver=who)
    return msg("tcp.dns.other", resolver=who, status=status.upper())


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close without waiting on a peer that never answers (a TLS close_notify, say)."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
    except (OSError, TimeoutError, asyncio.TimeoutError, ssl.SSLError):  # the far end may have reset or gone quiet
        writer.transport.abort()

