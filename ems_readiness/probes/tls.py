"""TLS handshakes that capture the certificate chain exactly as the server presents it.

The capture handshake verifies nothing (CERT_NONE, security level 0) so that every chain —
expired, self-signed, RSA-1024, SHA-1 — reaches `judges/tls.py` to be judged. SNI is the
host name; the TCP connection goes to the address the scan's resolver gave (`DnsProbe.addresses`),
or through the proxy's CONNECT tunnel, where the proxy resolves the name.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography import x509

from ems_readiness.engine.model import Evidence
from ems_readiness.judges.tls import clean_text, describe
from ems_readiness.probes.base import EvidenceLog, SingleFlightCache, Stopwatch
from ems_readiness.probes.dns import normalize_host
from ems_readiness.probes.proxy import ProxyError, authority, connect_tunnel, redact_proxy_url

if TYPE_CHECKING:
    from ems_readiness.probes.dns import DnsProbe

try:  # DER encoding constant of the private _ssl certificate objects (Python 3.11/3.12)
    from _ssl import ENCODING_DER
except ImportError:  # pragma: no cover - not CPython
    ENCODING_DER = 2

PROTOCOLS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
# OpenSSL reasons meaning the client itself could not offer the version (build or policy)
CLIENT_CANNOT_OFFER = ("NO_PROTOCOLS_AVAILABLE", "NO_SUPPORTED_VERSIONS_ENABLED", "NO_CIPHERS_AVAILABLE")
CLOSE_TIMEOUT = 1.0
MAX_ADDRESSES_TRIED = 4


@dataclass
class TlsObservation:
    host: str
    port: int
    address: str | None
    status: str  # ok | dns-failure | refused | timeout | unreachable | handshake-failed | proxy-<kind> | error
    chain: list[x509.Certificate]
    protocol: str | None
    cipher: str | None
    elapsed_ms: float
    evidence: Evidence
    detail: str | None = None  # why, when status is not ok
    via_proxy: bool = False
    dns_evidence: Evidence | None = None
    # the TCP connection (through a proxy: to the proxy, and its CONNECT tunnel) and the TLS handshake alone
    connect_ms: float | None = None
    handshake_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.chain)

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        """'timeout: TLS handshake with 127.0.0.1:4443 did not complete within 5 s', for messages."""
        if self.ok:
            return f"{self.protocol}, {len(self.chain)} certificate(s) presented"
        return f"{self.status}: {self.detail}" if self.detail else self.status

    @property
    def all_evidence(self) -> list[Evidence]:
        return [e for e in (self.dns_evidence, self.evidence) if e is not None]


class VersionSupport(dict):
    """{"TLSv1": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": None}, plus the evidence."""

    def __init__(self, accepted: dict[str, bool | None], evidence: Evidence) -> None:
        super().__init__(accepted)
        self.evidence = evidence


class _Unreached(Exception):
    """No TLS session: the status word and the reason for the report."""

    def __init__(self, status: str, detail: str, address: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.address = address
        self.dns_evidence: Evidence | None = None


@dataclass(frozen=True)
class _Resolved:
    addresses: list[str]
    evidence: Evidence | None


@dataclass
class _Session:
    """What one connection attempt found: a TLS session, or the reason there was none."""

    address: str | None
    status: str = "ok"
    chain: list[x509.Certificate] = field(default_factory=list)
    protocol: str | None = None
    cipher: str | None = None
    detail: str | None = None
    dns_evidence: Evidence | None = None
    connect_ms: float | None = None
    handshake_ms: float | None = None

    @classmethod
    def failed(cls, failure: _Unreached) -> "_Session":
        return cls(failure.address, failure.status, detail=failure.detail, dns_evidence=failure.dns_evidence)


class TlsProbe:
    def __init__(
        self,
        dns: "DnsProbe",
        evidence: EvidenceLog,
        timeout: float = 5.0,
        concurrency: int = 64,
        proxy: str | None = None,
    ) -> None:
        self.dns = dns
        self.timeout = timeout
        self.proxy = proxy or None
        self._evidence = evidence
        self._semaphore = asyncio.Semaphore(concurrency)
        self._handshakes = SingleFlightCache()
        self._versions = SingleFlightCache()

    # -- public ------------------------------------------------------------------------------

    async def handshake(self, host: str, port: int = 443, *, via_proxy: bool = False) -> TlsObservation:
        host = normalize_host(host)
        return await self._handshakes.get((host, port, via_proxy), lambda: self._observe(host, port, via_proxy))

    async def timed_handshakes(self, host: str, port: int = 443, *, via_proxy: bool = False,
                               samples: int = 3) -> list[TlsObservation]:
        """`samples` handshakes one after another (the cached one first), for latency figures: one
        sample is one draw of the network's jitter. Further samples stop at the first failure."""
        first = await self.handshake(host, port, via_proxy=via_proxy)
        taken = [first]
        while first.ok and len(taken) < samples:
            again = await self._observe(normalize_host(host), port, via_proxy)
            taken.append(again)
            if not again.ok:
                break
        return taken

    async def versions(self, host: str, port: int = 443) -> dict[str, bool | None]:
        """Which protocol versions the server accepts, each tried alone. None: could not be told
        (this machine's OpenSSL would not offer the version, or the server could not be reached)."""
        host = normalize_host(host)
        return await self._versions.get((host, port), lambda: self._probe_versions(host, port))

    # -- capture -----------------------------------------------------------------------------

    async def _observe(self, host: str, port: int, via_proxy: bool) -> TlsObservation:
        watch = Stopwatch()
        try:
            resolved = None if via_proxy else await self._resolve(host)
            async with self._semaphore:
                session = await self._session(host, port, capture_context(), resolved)
        except _Unreached as failure:
            session = _Session.failed(failure)
        except Exception as exc:  # a hostile server's bytes must cost this host its answer, not the scan
            session = _Session(None, "error", detail=f"the probe failed: {type(exc).__name__}: {clean_text(exc, 500)}")
        return self._record(host, port, via_proxy, session, watch)

    async def _resolve(self, host: str) -> _Resolved:
        """The scan resolver's addresses for `host`, asked before a connection slot is taken."""
        answer = await self.dns.addresses(host)
        status = getattr(answer.status, "value", answer.status)
        if status != "ok" or not answer.addresses:
            failure = _Unreached("dns-failure", f"{host} did not resolve ({status})")
            failure.dns_evidence = answer.evidence
            raise failure
        return _Resolved(list(answer.addresses), answer.evidence)

    async def _session(
        self, host: str, port: int, context: ssl.SSLContext, resolved: _Resolved | None
    ) -> _Session:
        """A TCP connection (to the resolved addresses, or None: through the proxy's tunnel) and
        the TLS handshake, all within one timeout."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        dns_evidence = resolved.evidence if resolved else None
        try:
            # the reader stays referenced for the session: the stream protocol holds it only weakly
            connecting = Stopwatch()
            if resolved is None:
                (reader, writer), address = await self._tunnel(host, port, deadline), None
            else:
                reader, writer, address = await self._connect(resolved.addresses, port, deadline)
            connect_ms = connecting.ms
            shaking = Stopwatch()
            try:
                await self._start_tls(writer, context, host, address, port, deadline)
            except _Unreached:
                writer.transport.abort()
                raise
            handshake_ms = shaking.ms
            try:
                session = read_session(writer.get_extra_info("ssl_object"), address, dns_evidence)
                session.connect_ms, session.handshake_ms = round(connect_ms, 1), round(handshake_ms, 1)
                return session
            finally:
                await close(writer)
        except _Unreached as failure:
            failure.dns_evidence = dns_evidence
            raise

    async def _connect(
        self, addresses: list[str], port: int, deadline: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
        """A TCP connection to the first address that accepts, every address within the one
        deadline (as `TcpProbe._attempt_addresses`)."""
        loop = asyncio.get_running_loop()
        last: _Unreached | None = None
        for address in addresses[:MAX_ADDRESSES_TRIED]:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            where = authority(address, port)
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), remaining)
                return reader, writer, address
            except (asyncio.TimeoutError, TimeoutError):
                last = _Unreached("timeout", f"no TCP connection to {where} within {self.timeout:g} s", address)
            except ConnectionRefusedError:
                last = _Unreached("refused", f"{where} refused the connection", address)
            except OSError as exc:
                last = _Unreached("unreachable", f"{where}: {exc.strerror or exc}", address)
        assert last is not None
        raise last

    async def _tunnel(
        self, host: str, port: int, deadline: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A CONNECT tunnel through the proxy; the proxy resolves the name."""
        if not self.proxy:
            raise _Unreached("proxy-unreachable", "no proxy is configured (network.proxy or HTTPS_PROXY)")
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            reader, writer = await asyncio.wait_for(connect_tunnel(self.proxy, host, port, self.timeout), remaining)
        except ProxyError as exc:
            raise _Unreached(f"proxy-{exc.kind}", str(exc)) from None
        except (asyncio.TimeoutError, TimeoutError):
            raise _Unreached(
                "proxy-timeout", f"the tunnel through {redact_proxy_url(self.proxy)} did not open in time"
            ) from None
        return reader, writer

    async def _start_tls(
        self,
        writer: asyncio.StreamWriter,
        context: ssl.SSLContext,
        host: str,
        address: str | None,
        port: int,
        deadline: float,
    ) -> None:
        where = authority(address or host, port)
        timed_out = _Unreached(
            "timeout", f"TLS handshake with {where} did not complete within {self.timeout:g} s", address
        )
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise timed_out
        try:
            await asyncio.wait_for(
                writer.start_tls(context, server_hostname=host, ssl_handshake_timeout=remaining), remaining
            )
        except (asyncio.TimeoutError, TimeoutError, ConnectionAbortedError):  # the last: asyncio's own timeout
            raise timed_out from None
        except ssl.SSLError as exc:
            raise _Unreached(
                "handshake-failed", f"TLS handshake with {where} failed: {ssl_reason(exc)}", address
            ) from None
        except (ConnectionError, EOFError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise _Unreached(
                "handshake-failed", f"TLS handshake with {where} failed: connection closed ({reason})", address
            ) from None

    def _record(self, host: str, port: int, via_proxy: bool, session: _Session, watch: Stopwatch) -> TlsObservation:
        data: dict[str, Any] = {
            "sni": host,
            "address": session.address,
            "via_proxy": via_proxy,
            "protocol": session.protocol,
            "cipher": session.cipher,
            "chain": [describe(c) for c in session.chain],
        }
        if via_proxy and self.proxy:
            data["proxy"] = redact_proxy_url(self.proxy)
        if session.handshake_ms is not None:
            data["connect_ms"], data["handshake_ms"] = session.connect_ms, session.handshake_ms
        if session.detail:
            data["detail"] = session.detail
        evidence = self._evidence.record("tls", authority(host, port), session.status, watch.ms, **data)
        return TlsObservation(
            host=host,
            port=port,
            address=session.address,
            status=session.status,
            chain=session.chain,
            protocol=session.protocol,
            cipher=session.cipher,
            elapsed_ms=round(watch.ms, 1),
            evidence=evidence,
            detail=session.detail,
            via_proxy=via_proxy,
            dns_evidence=session.dns_evidence,
            connect_ms=session.connect_ms,
            handshake_ms=session.handshake_ms,
        )

    # -- protocol versions -------------------------------------------------------------------

    async def _probe_versions(self, host: str, port: int) -> VersionSupport:
        watch = Stopwatch()
        names = list(PROTOCOLS)
        try:
            resolved = await self._resolve(host)
        except _Unreached as failure:
            outcomes = [(None, failure.detail)] * len(names)
        else:
            outcomes = await asyncio.gather(*(self._accepts(host, port, name, resolved) for name in names))
        accepted = {name: value for name, (value, _) in zip(names, outcomes, strict=True)}
        reasons = {name: reason for name, (_, reason) in zip(names, outcomes, strict=True) if reason}
        told = any(value is not None for value in accepted.values())
        evidence = self._evidence.record(
            "tls",
            f"{authority(host, port)} versions",
            "ok" if told else "unknown",
            watch.ms,
            sni=host,
            versions=accepted,
            reasons=reasons,
        )
        return VersionSupport(accepted, evidence)

    async def _accepts(
        self, host: str, port: int, version: str, resolved: _Resolved
    ) -> tuple[bool | None, str | None]:
        try:
            context = version_context(PROTOCOLS[version])
        except (ValueError, ssl.SSLError) as exc:
            return None, f"this machine's OpenSSL cannot offer {version}: {exc}"
        try:
            async with self._semaphore:
                session = await self._session(host, port, context, resolved)
        except _Unreached as failure:
            return version_verdict(failure, version)
        except Exception as exc:  # as in _observe: this version is untold, the others keep their answers
            return None, f"the probe failed: {type(exc).__name__}: {clean_text(exc, 300)}"
        return session.protocol == version, None


# ---------------------------------------------------------------------------------------------
# helpers


def capture_context() -> ssl.SSLContext:
    """Completes a handshake with any server it can, verifying nothing: the chain is judged later."""
    context = client_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


def version_context(version: ssl.TLSVersion) -> ssl.SSLContext:
    context = client_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    return context


def client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Level 0 so weak keys, SHA-1 chains and TLS 1.0/1.1 still complete, to be reported.
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def presented_chain(ssl_object: Any) -> tuple[list[x509.Certificate], list[str]]:
    """The certificates as the server sent them, leaf first, and notes on any that did not parse.
    Public as `get_unverified_chain()` from Python 3.13; on 3.11/3.12 the same method exists
    on the private `_sslobj`."""
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    raw = list(getter() or []) if getter is not None else []
    if not raw:
        leaf = ssl_object.getpeercert(binary_form=True)
        raw = [leaf] if leaf else []
    chain, notes = [], []
    for position, item in enumerate(raw):
        der = item if isinstance(item, (bytes, bytearray)) else item.public_bytes(ENCODING_DER)
        try:
            chain.append(x509.load_der_x509_certificate(bytes(der)))
        except Exception as exc:  # cryptography raises ValueError, and others for odd encodings
            text = clean_text(exc, 300)
            if position == 0:
                raise _Unreached("handshake-failed", f"the server's certificate could not be parsed: {text}") from None
            notes.append(f"certificate {position + 1} of the chain could not be parsed: {text}")
    return chain, notes


def read_session(ssl_object: Any, address: str | None, dns_evidence: Evidence | None) -> _Session:
    chain, notes = presented_chain(ssl_object)
    if not chain:
        raise _Unreached("handshake-failed", "the server presented no certificate", address)
    cipher = ssl_object.cipher()
    return _Session(
        address,
        chain=chain,
        protocol=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        detail="; ".join(notes) or None,
        dns_evidence=dns_evidence,
    )


def ssl_reason(exc: ssl.SSLError) -> str:
    reason = getattr(exc, "reason", None)
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{reason} ({text})" if reason and reason not in text else text


def version_verdict(failure: _Unreached, version: str) -> tuple[bool | None, str | None]:
    """A refused version gives False; no connection at all, or a client that could not offer it, None."""
    if failure.status != "handshake-failed":
        return None, failure.detail
    if any(reason in failure.detail for reason in CLIENT_CANNOT_OFFER):
        return None, f"this machine's OpenSSL would not offer {version}: {failure.detail}"
    return False, failure.detail


async def close(writer: asyncio.StreamWriter) -> None:
    """Close without waiting on a peer that never answers the TLS close_notify."""
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
    except Exception:  # the session's outcome is already known; closing has nothing to add
        pass
