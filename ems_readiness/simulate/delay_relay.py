"""A TCP relay on loopback that adds a set one-way delay to every byte it forwards, both ways.

A network with a long path (a backhaul to a distant egress, a far proxy) delays each packet; the
relay does the same to each chunk of data, in order, without root (no netem, no namespace):

    with DelayRelay(("127.0.0.1", server_port), delay=0.05) as relay:
        ...  # connect to ("127.0.0.1", relay.port): every round trip now costs 100 ms more

The TCP handshake with the relay itself is the kernel's and stays fast (a user-space relay cannot
hold back a SYN-ACK); every exchange of data after it — a TLS handshake, an HTTP request — pays
the delay once each way.
"""

from __future__ import annotations

import asyncio
import threading
import time

from ems_readiness.simulate.ports import bind_preferred


class DelayRelay:
    def __init__(self, upstream: tuple[str, int], delay: float, address: str = "127.0.0.1", port: int = 0) -> None:
        if delay < 0:
            raise ValueError("delay must be >= 0")
        self.upstream = upstream
        self.delay = delay
        self.address = address
        self._wanted_port = port
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="delay-relay", daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def start(self) -> "DelayRelay":
        import socket

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bind_preferred(sock, self.address, self._wanted_port)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, sock=sock), self._loop).result(5)
        self.port = sock.getsockname()[1]
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> "DelayRelay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 5)
        except (OSError, asyncio.TimeoutError):
            writer.close()
            return
        await asyncio.gather(self._carry(reader, up_writer), self._carry(up_reader, writer), return_exceptions=True)

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward each chunk `delay` after it arrived, in order (a queue, so chunks do not bunch)."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if not data:
                    break
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(send())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((time.monotonic() + self.delay, data))
        except OSError:
            pass
        finally:
            queue.put_nowait((time.monotonic() + self.delay, b""))
            try:
                await sender
            except OSError:
                pass
            writer.close()
