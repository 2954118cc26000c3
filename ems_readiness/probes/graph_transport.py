"""The HTTP client under the Graph probe: one proxy, the profile's CA bundle, bounded bodies.

Every response body passes through `BoundedStream`: it is decoded here (gzip or deflate, with
the decoded size bounded too, so a compression bomb stops at the cap), and reading stops with
`ResponseRejected` as soon as it passes `max_bytes`. The httpx client never sees a
Content-Encoding, so it never decodes a body on its own.
"""

from __future__ import annotations

import ssl
import zlib
from typing import AsyncIterator

import httpx

from ems_readiness.probes.proxy import ProxyAddress

MAX_BODY_BYTES = 64 * 1024 * 1024
ACCEPT_ENCODING = "gzip, deflate"


class ResponseRejected(Exception):
    """An answer the probe will not read (too large, a broken or unknown encoding); not retried."""


class Redirected(ResponseRejected):
    """A 3xx answer: the probe decides whether to follow it (same origin only), never the client."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(f"redirected ({status})")
        self.status = status
        self.location = location


def proxy_url(proxy: ProxyAddress, *, with_credentials: bool) -> str:
    """The proxy as a URL whose credentials are percent-encoded, so every client reads the same
    host, port, user and password that `parse_proxy_url` read."""
    from urllib.parse import quote

    host = f"[{proxy.host}]" if ":" in proxy.host else proxy.host
    userinfo = ""
    if with_credentials and proxy.username is not None:
        userinfo = quote(proxy.username, safe="")
        if proxy.password is not None:
            userinfo += ":" + quote(proxy.password, safe="")
        userinfo += "@"
    return f"http://{userinfo}{host}:{proxy.port}"


def httpx_proxy(proxy: ProxyAddress | None) -> httpx.Proxy | None:
    if proxy is None:
        return None
    auth = (proxy.username, proxy.password or "") if proxy.username is not None else None
    return httpx.Proxy(proxy_url(proxy, with_credentials=False), auth=auth)


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The system's trust store, or only the profile's bundle (Graph behind TLS inspection),
    the same trust sign-in uses."""
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return ssl.create_default_context()


def http_client(*, timeout: float, proxy: ProxyAddress | None, ca_bundle: str | None,
                max_bytes: int = MAX_BODY_BYTES) -> httpx.AsyncClient:
    inner = httpx.AsyncHTTPTransport(verify=tls_context(ca_bundle), proxy=httpx_proxy(proxy))
    return httpx.AsyncClient(
        transport=BoundedTransport(inner, max_bytes),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"Accept-Encoding": ACCEPT_ENCODING},
        follow_redirects=False,
        trust_env=False,  # the proxy is the profile's (HTTPS_PROXY already folded in), nothing else
    )


class BoundedTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, max_bytes: int) -> None:
        self._inner = inner
        self.max_bytes = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.is_redirect or 300 <= response.status_code < 400:
            await response.aclose()
            location = response.headers.get("location", "")
            raise Redirected(response.status_code, str(request.url.join(location)) if location else "")
        try:
            decoder = body_decoder(response.headers.get("content-encoding", ""))
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise ResponseRejected(f"the answer announces {int(declared):,} bytes, more than the"
                                       f" {self.max_bytes:,}-byte limit; not read")
        except ResponseRejected:
            await response.aclose()
            raise
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        stream = BoundedStream(response.stream, decoder, self.max_bytes)  # type: ignore[arg-type]
        return httpx.Response(response.status_code, headers=headers, stream=stream,
                              extensions=response.extensions, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Decoder:
    def __init__(self, name: str, wbits: int) -> None:
        self.name = name
        self._z = zlib.decompressobj(wbits)

    def decode(self, data: bytes, limit: int) -> bytes:
        """At most limit + 1 decoded bytes: one past the cap is enough to know it is too large."""
        try:
            return self._z.decompress(data, limit + 1)
        except zlib.error:
            raise ResponseRejected(f"the answer claims Content-Encoding {self.name} but is not") from None

    def finish(self) -> None:
        if not self._z.eof:
            raise ResponseRejected(f"the answer's {self.name} body is cut short")


def body_decoder(content_encoding: str) -> Decoder | None:
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip"):
        return Decoder("gzip", 16 + zlib.MAX_WBITS)
    if len(codings) == 1 and codings[0] == "deflate":
        return Decoder("deflate", zlib.MAX_WBITS)
    shown = content_encoding[:40].encode("ascii", "replace").decode()
    raise ResponseRejected(f"the answer uses Content-Encoding {shown!r}, which was not asked for; not read")


class BoundedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, decoder: Decoder | None, max_bytes: int) -> None:
        self._inner = inner
        self._decoder = decoder
        self._max = max_bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            if self._decoder is not None:
                chunk = self._decoder.decode(chunk, self._max - seen)
            seen += len(chunk)
            if seen > self._max:
                raise ResponseRejected(f"the answer is larger than the {self._max:,}-byte limit; reading stopped")
            yield chunk
        if self._decoder is not None:
            self._decoder.finish()

    async def aclose(self) -> None:
        await self._inner.aclose()
