"""HTTP proxy CONNECT tunnels (and plain-HTTP requests), the way devices behind an explicit
proxy reach Microsoft.

The proxy resolves the target name, so the target is sent as given. The proxy's own name is
resolved by the system resolver, as the machine finds its proxy. Credentials in the proxy URL
(`http://user:pass@proxy:8080`) are sent as Basic proxy authentication and never appear in a
message, an error or evidence: use `redact_proxy_url` for anything recorded.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_RESPONSE_HEAD = 16 * 1024
DEFAULT_PORTS = {"http": 80}
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")

# tinyproxy answers 500 "Unable to connect" when it cannot reach the target; others use 502/503/504.
UPSTREAM_FAILURE_STATUSES = {500, 502, 503, 504}
# 401: tinyproxy rejects wrong Basic credentials with 401 instead of 407.
AUTH_STATUSES = {401, 407}
# The Server header of tinyproxy's own error pages; an answer it relays keeps the service's.
TINYPROXY_SERVER = "tinyproxy/"
# Server headers of web gateways' own pages (block, warn, sign-in): no Microsoft service sends them.
GATEWAY_SERVERS = (
    TINYPROXY_SERVER, "zscaler", "bluecoat", "proxysg", "squid", "forcepoint", "websense", "mcafee web gateway",
    "skyhigh", "netskope", "fortigate", "fortiguard", "pan-os", "paloalto", "barracuda", "sophos", "iboss",
    "ironport", "cisco umbrella", "opendns", "symantec", "kerio", "untangle", "smoothwall", "contentkeeper",
)
# Header name prefixes only gateways add to their own pages.
GATEWAY_HEADER_PREFIXES = ("proxy-authenticate", "x-squid-error", "x-zscaler", "x-bluecoat", "x-iboss", "x-fortigate",
                           "x-forcepoint", "x-netskope", "x-sophos", "x-proxy-error")


class ProxyError(Exception):
    """The tunnel could not be opened. kind: auth-required | denied | unreachable | timeout |
    bad-response | upstream-failed; http_status when the proxy answered."""

    def __init__(self, kind: str, http_status: int | None, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.http_status = http_status
        self.message = message


@dataclass(frozen=True)
class ProxyAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def display(self) -> str:
        """host:port, without credentials: safe to record."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def authorization(self) -> str | None:
        if self.username is None:
            return None
        token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode("ascii")
        return f"Basic {token}"


def parse_proxy_url(proxy_url: str) -> ProxyAddress:
    """'http://user:pass@proxy:8080', 'proxy:8080' → ProxyAddress; only http:// proxies.

    The credentials end at the last '@', so an unencoded '/', '?', '#' or '@' in the password
    is still the password. No message here ever shows more than `redact_proxy_url` does."""
    scheme, rest = split_scheme(proxy_url)
    scheme = (scheme or "http").lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"proxy scheme {scheme!r} is not supported (use http://host:port)")
    userinfo, at, hostport = rest.rpartition("@")
    hostport = re.split(r"[/?#]", hostport, maxsplit=1)[0]
    try:
        parts = urlsplit(f"http://{hostport}")
        port = parts.port
    except ValueError:
        raise ValueError(f"not a proxy URL: {redact_proxy_url(proxy_url)}") from None
    if not parts.hostname:
        raise ValueError(f"proxy URL has no host: {redact_proxy_url(proxy_url)}")
    username, colon, password = userinfo.partition(":")
    return ProxyAddress(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        username=unquote(username) if at else None,
        password=unquote(password) if colon else None,
    )


def split_scheme(proxy_url: str) -> tuple[str | None, str]:
    """('http', 'user:pass@proxy:8080') from 'http://user:pass@proxy:8080'; (None, text) when
    what precedes the first '://' is no scheme (it may be a password)."""
    text = proxy_url.strip()
    scheme, sep, rest = text.partition("://")
    if sep and SCHEME.fullmatch(scheme):
        return scheme, rest
    return None, text


def redact_proxy_url(proxy_url: str) -> str:
    """The proxy URL without user:password, for reports and evidence: everything between the
    scheme and the last '@' is dropped, whatever characters the password holds."""
    scheme, rest = split_scheme(proxy_url)
    return f"{scheme}://{rest.rpartition('@')[2]}" if scheme else rest.rpartition("@")[2]


def authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect_request(host: str, port: int, credentials: str | None) -> bytes:
    target = authority(host, port)
    return proxy_request(f"CONNECT {target} HTTP/1.1", target, credentials)


def plain_http_request(host: str, port: int, credentials: str | None) -> bytes:
    """What a client sends a proxy for an http:// URL: absolute-form request, no CONNECT."""
    target = authority(host, port)
    return proxy_request(f"HEAD http://{target}/ HTTP/1.1", target, credentials, "Connection: close")


def proxy_request(request_line: str, target: str, credentials: str | None, *extra: str) -> bytes:
    lines = [request_line, f"Host: {target}", "User-Agent: ems-readiness", *extra]
    if credentials:
        lines.append(f"Proxy-Authorization: {credentials}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


async def connect_tunnel(
    proxy_url: str, host: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """An open tunnel to host:port through the proxy (HTTP CONNECT); the caller closes the writer."""
    proxy = proxy_address(proxy_url)
    reader, writer, status, reason, headers = await ask_proxy(
        proxy, connect_request(host, port, proxy.authorization()), f"CONNECT {authority(host, port)}", timeout
    )
    if 200 <= status < 300:
        return reader, writer
    close_quietly(writer)
    raise refusal(status, reason, proxy, f"CONNECT {authority(host, port)}", gateway_mark(headers))


async def request_via_proxy(proxy_url: str, host: str, port: int, timeout: float) -> tuple[int, str]:
    """(status, reason) of `HEAD http://host:port/` through the proxy: see `head_via_proxy`."""
    status, reason, _ = await head_via_proxy(proxy_url, host, port, timeout)
    return status, reason


async def head_via_proxy(proxy_url: str, host: str, port: int, timeout: float) -> tuple[int, str, dict[str, str]]:
    """(status, reason, headers) of `HEAD http://host:port/` sent through the proxy, as a browser
    would for plain HTTP; raises ProxyError when the proxy refuses or fails (`refused_by_proxy`).
    Proxies commonly allow CONNECT only to 443, so port 80 is asked this way. An answer that is
    not a refusal proves nothing about who sent it: plain HTTP carries no proof of origin, and a
    gateway may answer for the service. The caller must not count it as the service answering."""
    proxy = proxy_address(proxy_url)
    what = f"HEAD http://{authority(host, port)}/"
    request = plain_http_request(host, port, proxy.authorization())
    _, writer, status, reason, headers = await ask_proxy(proxy, request, what, timeout)
    close_quietly(writer)
    if refused_by_proxy(status, headers):
        raise refusal(status, reason, proxy, what, gateway_mark(headers))
    return status, reason, headers


def refused_by_proxy(status: int, headers: dict[str, str]) -> bool:
    """Whether the proxy, not the service behind it, gave this answer to a plain-HTTP request:
    407 always; 401, 403 and 5xx only with a mark of the proxy (`gateway_mark`). Via is no such
    mark: proxies add it to the answers they relay (tinyproxy 1.11.1 relays a service's 403 with
    `Via: 1.1 <host> (tinyproxy/1.11.1)`)."""
    if status == 407:
        return True
    if status not in (401, 403) and status < 500:
        return False
    return gateway_mark(headers) is not None


def gateway_mark(headers: dict[str, str]) -> str | None:
    """What shows an answer is a web gateway's own page: `Server: Zscaler/6.2`, a gateway's own
    header (Proxy-Authenticate, X-Squid-Error, X-Zscaler-…), or None."""
    server = headers.get("server", "").lower()
    if any(server.startswith(name) or f" {name}" in f" {server}" for name in GATEWAY_SERVERS):
        return f"Server: {printable(headers['server'], 80)}"
    marked = next((name for name in headers if name.startswith(GATEWAY_HEADER_PREFIXES)), None)
    return f"{printable(marked, 80)} header" if marked else None


def printable(text: str, limit: int) -> str:
    """Header text from a server, safe to show: printable ASCII only, bounded."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def proxy_address(proxy_url: str) -> ProxyAddress:
    try:
        return parse_proxy_url(proxy_url)
    except ValueError as exc:
        raise ProxyError("unreachable", None, str(exc)) from None


async def ask_proxy(
    proxy: ProxyAddress, request: bytes, what: str, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int, str, dict[str, str]]:
    """Send one request to the proxy and read the head of its answer, all within `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    reader, writer = await open_proxy_connection(proxy, timeout)
    remaining = max(deadline - asyncio.get_running_loop().time(), 0.001)
    try:
        status, reason, headers = await asyncio.wait_for(exchange(reader, writer, request, proxy), remaining)
    except TimeoutError:
        close_quietly(writer)
        raise ProxyError("timeout", None, f"the proxy {proxy.display} did not answer {what} within {timeout:g} s") from None
    except BaseException:
        close_quietly(writer)
        raise
    return reader, writer, status, reason, headers


async def open_proxy_connection(proxy: ProxyAddress, timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.wait_for(
            asyncio.open_connection(proxy.host, proxy.port, limit=MAX_RESPONSE_HEAD), timeout
        )
    except TimeoutError:
        raise ProxyError("unreachable", None, f"no TCP connection to the proxy {proxy.display} within {timeout:g} s") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ProxyError("unreachable", None, f"cannot connect to the proxy {proxy.display}: {reason}") from None


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes, proxy: ProxyAddress
) -> tuple[int, str, dict[str, str]]:
    writer.write(request)
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        raise ProxyError("bad-response", None, f"the proxy {proxy.display} closed the connection without answering") from None
    except asyncio.LimitOverrunError:
        raise ProxyError("bad-response", None, f"the proxy {proxy.display} sent an over-long response head") from None
    except OSError as exc:
        raise ProxyError("bad-response", None, f"the connection to the proxy {proxy.display} failed: {exc.strerror or exc}") from None
    return parse_response_head(head, proxy)


def parse_response_head(head: bytes, proxy: ProxyAddress) -> tuple[int, str, dict[str, str]]:
    """Status code, reason and headers (lower-case names) of an HTTP response head."""
    line, *fields = head.decode("latin-1").split("\r\n")
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or len(code) != 3 or not code.isascii() or not code.isdigit():
        raise ProxyError("bad-response", None, f"the proxy {proxy.display} answered something that is not HTTP: {printable(line, 80)!r}")
    headers: dict[str, str] = {}
    for field in fields[:200]:
        name, colon, value = field.partition(":")
        if colon:
            headers[name.strip().lower()[:200]] = value.strip()[:2000]
    return int(code), printable(reason.strip(), 200), headers


def refusal(status: int, reason: str, proxy: ProxyAddress, what: str, mark: str | None = None) -> ProxyError:
    answered = f"the proxy {proxy.display} answered {what} with {status} {reason}".rstrip()
    if mark:
        answered += f" (its own page: {mark})"
    if status in AUTH_STATUSES:
        sent = "credentials were sent and rejected" if proxy.username is not None else "no credentials were sent"
        return ProxyError("auth-required", status, f"{answered}: proxy authentication required ({sent})")
    if status == 403:
        return ProxyError("denied", status, f"{answered}: denied by the proxy's policy")
    if status in UPSTREAM_FAILURE_STATUSES:
        return ProxyError("upstream-failed", status, f"{answered}: the proxy could not reach the service")
    return ProxyError("bad-response", status, answered)


def close_quietly(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
    except Exception:  # closing a broken transport has nothing left to report
        pass
