"""Hostile answers of the simulated Graph server (`simulate --faults MODE`): what a broken or
malicious server, gateway or proxy answers in Graph's place, every request, to test that a scan
still ends, in time, with `error` findings and no secret in what it writes.

    page-loop         every collection page's @odata.nextLink points back at the page itself
    slow-drip         200, chunked, one byte a second, never finishing
    huge-body         200, chunked, a 600 MB JSON body
    bad-gzip          200 with Content-Encoding: gzip and a body that is not gzip
    deep-nesting      200 with JSON nested 100,000 levels deep
    redirect-offhost  302 to the same path on another host (localhost instead of 127.0.0.1)
    redirect-loop     302 to the URL itself
    echo-secrets      400 whose error message echoes the Authorization header, raw and in base64
    odd-shapes        /organization answers {"value": ["x"]}; other collections a list of strings
    odd-types         objects whose id is a number and whose displayName is a list
    status-500-all    500 to everything
    status-429-all    429 with Retry-After to everything
    proxy-407         407 Proxy Authentication Required to everything, as a proxy in the way would
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

HOSTILE_MODES = ("page-loop", "slow-drip", "huge-body", "bad-gzip", "deep-nesting", "redirect-offhost",
                 "redirect-loop", "echo-secrets", "odd-shapes", "odd-types", "status-500-all", "status-429-all",
                 "proxy-407")
HUGE_BODY_BYTES = 600 * 1024 * 1024
NESTING_DEPTH = 100_000
DRIP_SECONDS = 1.0
DRIP_MAX_SECONDS = 3600.0  # the server gives up on its own after an hour
CHUNK = 1024 * 1024


def check_modes(modes: tuple[str, ...]) -> None:
    unknown = [m for m in modes if m not in HOSTILE_MODES]
    if unknown:
        raise ValueError(f"unknown hostile mode {unknown[0]!r}; known modes are {', '.join(HOSTILE_MODES)}")


def send_head(handler: Any, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()


def send_whole(handler: Any, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    send_head(handler, status, {"Content-Type": "application/json", **(headers or {}),
                                "Content-Length": str(len(body))})
    handler.wfile.write(body)


def write_chunk(handler: Any, data: bytes) -> None:
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()


def graph_error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def answer(mode: str, handler: Any, own_url: str, stopping: threading.Event) -> bool:
    """Answer the request in `mode`; False when the mode leaves this request to the normal route
    (page-loop and the odd-* modes change successful bodies instead, see `reshape`)."""
    if mode == "slow-drip":
        send_head(handler, 200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        body = b'{"value":[' + b" " * int(DRIP_MAX_SECONDS)
        for byte in body:  # ends when the client goes away (the write fails) or the server stops
            write_chunk(handler, bytes([byte]))
            if stopping.wait(DRIP_SECONDS):
                break
        handler.close_connection = True
        return True
    if mode == "huge-body":
        send_head(handler, 200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        write_chunk(handler, b'{"value":["')
        sent = 0
        filler = b"x" * CHUNK
        while sent < HUGE_BODY_BYTES and not stopping.is_set():
            write_chunk(handler, filler)
            sent += CHUNK
        write_chunk(handler, b'"]}')
        handler.wfile.write(b"0\r\n\r\n")
        return True
    if mode == "bad-gzip":
        send_whole(handler, 200, b'{"value":[]}', {"Content-Encoding": "gzip"})
        return True
    if mode == "deep-nesting":
        send_whole(handler, 200, b'{"value":' + b"[" * NESTING_DEPTH + b"]" * NESTING_DEPTH + b"}")
        return True
    if mode == "redirect-offhost":
        port = own_url.split("//", 1)[1].split("/", 1)[0].rpartition(":")[2]
        path = own_url.split("//", 1)[1].partition("/")[2]
        send_whole(handler, 302, b"", {"Location": f"http://localhost:{port}/{path}"})
        return True
    if mode == "redirect-loop":
        send_whole(handler, 302, b"", {"Location": own_url})
        return True
    if mode == "echo-secrets":
        authorization = handler.headers.get("Authorization", "")
        echoed = base64.b64encode(authorization.partition(" ")[2].encode()).decode()
        send_whole(handler, 400, graph_error(
            "Request_BadRequest", f"Bad request. You sent Authorization: {authorization} (base64 {echoed})"))
        return True
    if mode == "status-500-all":
        send_whole(handler, 500, graph_error("InternalServerError", "Something went wrong."))
        return True
    if mode == "status-429-all":
        send_whole(handler, 429, graph_error("TooManyRequests", "Too many requests."), {"Retry-After": "0.2"})
        return True
    if mode == "proxy-407":
        send_whole(handler, 407, b"<html><body>Proxy authentication required</body></html>",
                   {"Content-Type": "text/html", "Proxy-Authenticate": 'Basic realm="corporate proxy"'})
        return True
    return False


def reshape(modes: tuple[str, ...], path: str, own_url: str, body: bytes) -> bytes:
    """A successful Graph body as the page-loop and odd-* modes serve it."""
    if not {"page-loop", "odd-shapes", "odd-types"} & set(modes):
        return body
    data = json.loads(body)
    if "page-loop" in modes and isinstance(data.get("value"), list):
        data["@odata.nextLink"] = own_url
    if "odd-shapes" in modes and isinstance(data.get("value"), list):
        data["value"] = ["x"] if path.lower().endswith("/organization") else [str(i) for i in range(len(data["value"]))]
    if "odd-types" in modes:
        for item in data["value"] if isinstance(data.get("value"), list) else [data]:
            if isinstance(item, dict):
                item["id"] = 12345
                item["displayName"] = ["not", "a", "string"]
    return json.dumps(data).encode()
