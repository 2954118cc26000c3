"""Binding the simulated listeners to their preferred (stable) ports without racing other processes."""

from __future__ import annotations

import socket


def bind_preferred(sock: socket.socket, host: str, port: int) -> None:
    """Bind to `port`; when another process took it since it was chosen, to any free port.

    The stable ports only keep findings keyed by host:port aligned across demo runs; a demo that
    fails because a parallel process won the port would be worse than a changed port number.
    """
    try:
        sock.bind((host, port))
    except OSError:
        if port == 0:
            raise
        sock.bind((host, 0))
