"""A minimal LDAPS server on 127.0.0.1 that misbehaves the ways Samba will not: it accepts any simple
bind and answers every search with one chosen result (a size limit, a refused paging control, a
referral, or success without the paged results control). BER by hand: just the messages used."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ems_readiness.simulate.certs import CertificateAuthority, write_bundle

BIND_REQUEST, BIND_RESPONSE, UNBIND, SEARCH_REQUEST, SEARCH_DONE = 0x60, 0x61, 0x42, 0x63, 0x65


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _read_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_message(conn: socket.socket) -> tuple[int, int]:
    """(message id, protocol op tag) of the next LDAPMessage."""
    header = _read_exact(conn, 2)
    length = header[1]
    if length & 0x80:
        length = int.from_bytes(_read_exact(conn, length & 0x7F), "big")
    body = _read_exact(conn, length)
    id_length = body[1]
    message_id = int.from_bytes(body[2:2 + id_length], "big")
    return message_id, body[2 + id_length]


def result(message_id: int, op: int, code: int, message: str = "", referral: str | None = None) -> bytes:
    content = _tlv(0x0A, bytes([code])) + _tlv(0x04, b"") + _tlv(0x04, message.encode())
    if referral:
        content += _tlv(0xA3, _tlv(0x04, referral.encode()))
    return _tlv(0x30, _tlv(0x02, message_id.to_bytes(1 if message_id < 128 else 2, "big")) + _tlv(op, content))


@dataclass
class FaultyLdapServer:
    """`search_result` (code, message[, referral]) answers every search; binds always succeed."""

    workdir: Path
    search_result: tuple = (0, "")
    host: str = "127.0.0.1"
    port: int = 0
    ca_file: Path | None = None
    _listener: socket.socket | None = field(default=None, init=False, repr=False)

    def start(self) -> "FaultyLdapServer":
        now = dt.datetime.now(dt.timezone.utc)
        ca = CertificateAuthority.root("Faulty LDAP CA", now=now)
        chain, key = ca.issue([self.host], not_before=now - dt.timedelta(days=1),
                              not_after=now + dt.timedelta(days=1)).write(self.workdir, "ldap")
        self.ca_file = write_bundle(self.workdir / "ca.pem", [ca.cert])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key)
        self._listener = socket.create_server((self.host, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, args=(context,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _serve(self, context: ssl.SSLContext) -> None:
        assert self._listener is not None
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(context, raw), daemon=True).start()

    def _session(self, context: ssl.SSLContext, raw: socket.socket) -> None:
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                while True:
                    message_id, op = read_message(conn)
                    if op == BIND_REQUEST:
                        conn.sendall(result(message_id, BIND_RESPONSE, 0))
                    elif op == SEARCH_REQUEST:
                        conn.sendall(result(message_id, SEARCH_DONE, *self.search_result))
                    elif op == UNBIND:
                        return
        except (OSError, ConnectionError, ssl.SSLError, IndexError):
            return
