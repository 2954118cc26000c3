"""An explicit HTTP proxy on 127.0.0.1 that misbehaves the way real gateways do, one mode each:

  block-page       every request, CONNECT or plain HTTP, gets the gateway's own block page:
                   403, `Server: Zscaler/6.2`, an HTML body
  auth             407 Proxy Authentication Required to everything, whatever credentials are sent
  connect-silence  CONNECT gets `200 Connection established`, then nothing ever comes through the
                   tunnel (a TLS-inspecting proxy answering before it reaches the target); plain
                   HTTP gets a 200 the proxy made up itself
  garbage          bytes that are not HTTP
  hang             accepts the connection, reads the request, never answers

    with HostileProxy("block-page") as proxy:
        profile["network"]["proxy"] = proxy.url

It never connects anywhere: nothing it answers comes from a target.
"""

from __future__ import annotations

import asyncio
import threading

PROXY_MODES = ("block-page", "auth", "connect-silence", "garbage", "hang")
BLOCK_PAGE_BODY = (
    b"<html><head><title>Website blocked</title></head><body><h1>Website blocked</h1>"
    b"<p>Access to this site is blocked by your organization's Internet access policy.</p></body></html>"
)
GARBAGE = b"\x16\x03\x01\x00\x00\xff\xfe garbage, not HTTP \x00\x01\x02" * 8
HOLD_SECONDS = 600  # far beyond any probe's deadline: the client must give up first


def block_page() -> bytes:
    head = (
        "HTTP/1.1 403 Forbidden\r\nServer: Zscaler/6.2\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(BLOCK_PAGE_BODY)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + BLOCK_PAGE_BODY


REPLIES = {
    "block-page": block_page(),
    "auth": b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"gateway\"\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n",
    "garbage": GARBAGE,
}
MADE_UP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
CONNECT_OK = b"HTTP/1.1 200 Connection established\r\n\r\n"


class HostileProxy:
    def __init__(self, mode: str, host: str = "127.0.0.1", port: int = 0) -> None:
        if mode not in PROXY_MODES:
            raise ValueError(f"unknown proxy mode {mode!r}; known modes are {', '.join(PROXY_MODES)}")
        self.mode = mode
        self.host = host
        self.port = port
        self.requests: list[str] = []  # the request lines seen, so a test can tell the probe came here
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"hostile-proxy-{mode}", daemon=True)
        self._held: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "HostileProxy":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, self.host, self.port), self._loop
        ).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def close() -> None:
            self._server.close()
            for writer in list(self._held):
                writer.transport.abort()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> "HostileProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._held.add(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            self.requests.append(line)
            reply = self._reply(line)
            if reply is not None:
                writer.write(reply)
                await writer.drain()
            if reply is None or reply == CONNECT_OK:
                await asyncio.wait_for(reader.read(), HOLD_SECONDS)  # silence until the client gives up
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
            pass
        finally:
            self._held.discard(writer)
            writer.close()

    def _reply(self, request_line: str) -> bytes | None:
        if self.mode == "hang":
            return None
        if self.mode == "connect-silence":
            return CONNECT_OK if request_line.startswith("CONNECT ") else MADE_UP_OK
        return REPLIES[self.mode]
