"""A small HTTPS GET (a federation metadata or MEX document) the way the scan sees the network:
the name resolved by the profile's resolver (or the proxy, through a CONNECT tunnel), the server's
certificate verified against `tls.trust` for the host name, the whole exchange within one
deadline, the body bounded. Redirects are not followed; the status is reported as it came.

HTTP/1.1 is spoken through h11 (already installed with httpx): a server's bytes are parsed by a
conforming parser, and anything that is not HTTP costs this document, not the scan.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import h11

from ems_readiness.engine.model import Evidence
from ems_readiness.judges.tls import clean_text
from ems_readiness.probes.base import EvidenceLog, Stopwatch
from ems_readiness.probes.proxy import ProxyError, authority, connect_tunnel, redact_proxy_url

if TYPE_CHECKING:
    from pathlib import Path

    from ems_readiness.probes.dns import DnsProbe

MAX_BODY = 2 * 1024 * 1024
READ_SIZE = 65536


class Unreachable(Exception):
    """The document could not be fetched from this vantage point; the message says why."""


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int | None           # None: no HTTP answer at all
    body: bytes
    evidence: Evidence
    problem: str | None = None   # why there is no answer (not reachable from here)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.problem is None


def trust_context(trust: "str | Path") -> ssl.SSLContext:
    if str(trust) == "system":
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=str(trust))


class HttpsFetcher:
    def __init__(self, dns: "DnsProbe", evidence: EvidenceLog, *, timeout: float = 5.0, proxy: str | None = None,
                 trust: "str | Path" = "system") -> None:
        self.dns = dns
        self.timeout = timeout
        self.proxy = proxy or None
        self._evidence = evidence
        self._trust = trust
        self._context: ssl.SSLContext | None = None  # built on first use: loading the trust store costs ~0.1 s

    @property
    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = trust_context(self._trust)
        return self._context

    async def get(self, url: str) -> Fetched:
        watch = Stopwatch()
        status, body, problem = None, b"", None
        try:
            async with asyncio.timeout(self.timeout):
                status, body = await self._exchange(url)
        except (TimeoutError, asyncio.TimeoutError):
            problem = f"no complete answer from {authority_of(url)} within {self.timeout:g} s"
        except Unreachable as exc:
            problem = str(exc)
        except ssl.SSLError as exc:
            problem = f"TLS with {authority_of(url)} failed: {clean_text(exc.reason or exc, 200)}"
        except (h11.RemoteProtocolError, h11.LocalProtocolError) as exc:
            problem = f"{authority_of(url)} answered something that is not HTTP/1.1 ({clean_text(exc, 200)})"
        except (ConnectionError, EOFError, OSError) as exc:
            problem = f"the connection to {authority_of(url)} failed: {clean_text(getattr(exc, 'strerror', None) or exc, 200)}"
        data = {"url": url, "http_status": status, "bytes": len(body)}
        if self.proxy:
            data["proxy"] = redact_proxy_url(self.proxy)
        if problem:
            data["detail"] = problem
        evidence = self._evidence.record("tls", url, "ok" if problem is None else "unreachable", watch.ms, **data)
        return Fetched(url, status, body, evidence, problem)

    async def _exchange(self, url: str) -> tuple[int, bytes]:
        parts = urlsplit(url)
        host, port = (parts.hostname or ""), (parts.port or 443)
        if parts.scheme != "https" or not host:
            raise Unreachable(f"not an https URL: {clean_text(url, 200)}")
        reader, writer = await self._connect(host, port)
        try:
            await writer.start_tls(self.context, server_hostname=host)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            return await http_get(reader, writer, authority(host, port) if port != 443 else host, target)
        finally:
            writer.transport.abort()

    async def _connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.proxy:
            try:
                return await connect_tunnel(self.proxy, host, port, self.timeout)
            except ProxyError as exc:
                raise Unreachable(str(exc)) from None
        answer = await self.dns.addresses(host)
        status = getattr(answer.status, "value", answer.status)
        if status != "ok" or not answer.addresses:
            raise Unreachable(f"{host} did not resolve on the scan's resolver ({status})")
        last: BaseException | None = None
        for address in list(answer.addresses)[:4]:
            try:
                return await asyncio.open_connection(address, port)
            except OSError as exc:
                last = exc
        raise Unreachable(f"no TCP connection to {authority(host, port)}: {clean_text(getattr(last, 'strerror', None) or last, 200)}")


async def http_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, target: str) -> tuple[int, bytes]:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=64 * 1024)
    writer.write(conn.send(h11.Request(method="GET", target=target, headers=[
        ("Host", host), ("User-Agent", "ems-readiness"), ("Accept", "application/xml, text/xml, */*"),
        ("Connection", "close")])) + conn.send(h11.EndOfMessage()))
    await writer.drain()
    status, chunks, size = None, [], 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(READ_SIZE))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > MAX_BODY:
                raise Unreachable(f"{host} sent more than {MAX_BODY // 1024} KB; the document was not read")
            chunks.append(bytes(event.data))
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            break
    if status is None:
        raise Unreachable(f"{host} closed the connection without an HTTP answer")
    return status, b"".join(chunks)


def authority_of(url: str) -> str:
    parts = urlsplit(url)
    try:
        return authority(parts.hostname or "?", parts.port or 443)
    except ValueError:
        return "?"
