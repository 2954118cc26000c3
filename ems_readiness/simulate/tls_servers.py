"""TLS listeners on loopback, one per simulated host, presenting a certificate case from `certs.py`.

    simulator = TlsSimulator([TlsSpec("sts", ["sts.contoso.test"], "expired")]).start()
    simulator.port("sts")        # the listener's port on 127.0.0.1
    simulator.trust_bundle       # PEM of the roots a scan of this environment trusts
    simulator.service_roots      # PEM of the simulated Microsoft root (profile tls.service_roots)
    simulator.stop()

The listeners run on one asyncio loop in a background thread, so synchronous code (tests, the
`simulate` command) and a scan's own event loop can both talk to them. Hostile cases: "stall"
accepts the TCP connection and never answers the ClientHello (a handshake timeout); "garbage"
answers the ClientHello with bytes that are not TLS; "unsupported-key" completes the handshake
with a valid chain that carries one more certificate whose key algorithm no library knows.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import tempfile
import threading
import tomllib
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from collections.abc import Callable
from functools import partial
from typing import Any

from cryptography import x509

from ems_readiness.simulate.ports import bind_preferred
from ems_readiness.simulate.certs import CASES, WEAK_CASES, CertificateFactory, pem, write_bundle

STALL = "stall"
GARBAGE = "garbage"
UNSUPPORTED_KEY = "unsupported-key"
HOSTILE_CASES = (STALL, GARBAGE, UNSUPPORTED_KEY)
GARBAGE_REPLY = b"HTTP/1.0 400 not TLS at all\r\n\r\n" + bytes(range(256))
# Self-signed, SM2 key, valid 2026-12-02 to 2126 (made once with `openssl req -x509 -key <SM2 key>`;
# `cryptography` can make no SM2 key, and a made-up key algorithm OpenSSL refuses to serve).
UNSUPPORTED_KEY_CA_PEM = """\
-----BEGIN CERTIFICATE-----
MIIB+DCCAZ2gAwIBAgIUexKjI4A1ZIiHDZl+OhZyE/UI3RswCgYIKoEcz1UBg3Uw
UDErMCkGA1UEAwwiVW5zdXBwb3J0ZWQgS2V5IEFsZ29yaXRobSBDQSAoU00yKTEh
MB8GA1UECgwYZW1zLXJlYWRpbmVzcyBzaW11bGF0aW9uMCAXDTI2MTIwMjA0NTQ1
NloYDzIxMjYxMTA4MDQ1NDU2WjBQMSswKQYDVQQDDCJVbnN1cHBvcnRlZCBLZXkg
QWxnb3JpdGhtIENBIChTTTIpMSEwHwYDVQQKDBhlbXMtcmVhZGluZXNzIHNpbXVs
YXRpb24wWTATBgcqhkjOPQIBBggqgRzPVQGCLQNCAARlXO1O9iKrtHhcU26vvWAe
1VIRLI2cPkwOBG/t3+KzZXaZcjq60Vqz4mOfRC44KNvr1O2Yxj4dH/oNKWPo6iOY
o1MwUTAdBgNVHQ4EFgQU8JsIjTCBSBQe1ErRFepmPNnZoj0wHwYDVR0jBBgwFoAU
8JsIjTCBSBQe1ErRFepmPNnZoj0wDwYDVR0TAQH/BAUwAwEB/zAKBggqgRzPVQGD
dQNJADBGAiEA1PbVwz0eaTgVZksd+vLWQeBV4W+YaFkP3yKEFDUjhVACIQD7YQgY
gVhpkjFRBs5X7a4w+aftYGVSi3yH31+Nrhnbqw==
-----END CERTIFICATE-----
"""
TLS_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
LEGACY_VERSIONS = {"TLSv1", "TLSv1.1"}
QUIET_ERRORS = (ssl.SSLError, ConnectionError, TimeoutError, asyncio.TimeoutError, EOFError)
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


@dataclass(frozen=True)
class TlsSpec:
    """One listener: `name` for port lookups, the host names it stands for, the certificate case."""

    name: str
    hostnames: tuple[str, ...]
    case: str = "valid"
    min_version: str | None = None
    max_version: str | None = None
    port: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hostnames", tuple(self.hostnames))
        if not self.hostnames:
            raise ValueError(f"TLS server {self.name!r}: no hostnames")
        if self.case not in CASES and self.case not in HOSTILE_CASES:
            raise ValueError(
                f"TLS server {self.name!r}: unknown case {self.case!r}; one of {', '.join((*CASES, *HOSTILE_CASES))}"
            )
        for version in (self.min_version, self.max_version):
            if version is not None and version not in TLS_VERSIONS:
                raise ValueError(f"TLS server {self.name!r}: unknown TLS version {version!r}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "TlsSpec":
        unknown = set(raw) - {"name", "hostnames", "case", "min_version", "max_version", "port"}
        if unknown:
            raise ValueError(f"TLS server {raw.get('name')!r}: unknown keys {', '.join(sorted(unknown))}")
        return cls(
            name=raw["name"],
            hostnames=tuple(raw["hostnames"]),
            case=raw.get("case", "valid"),
            min_version=raw.get("min_version"),
            max_version=raw.get("max_version"),
            port=int(raw.get("port", 0)),
        )

    @property
    def legacy(self) -> bool:
        return self.min_version in LEGACY_VERSIONS


def load_specs(path: Path) -> list[TlsSpec]:
    """`[[server]]` tables of a scenario's tls.toml."""
    return specs_from_toml(Path(path).read_text(encoding="utf-8"))


def scenario_specs(scenario: str) -> list[TlsSpec]:
    text = (
        resources.files("ems_readiness")
        .joinpath("fixtures", "scenarios", scenario, "tls.toml")
        .read_text(encoding="utf-8")
    )
    return specs_from_toml(text)


def specs_from_toml(text: str) -> list[TlsSpec]:
    return [TlsSpec.from_dict(entry) for entry in tomllib.loads(text).get("server", [])]


def server_context(spec: TlsSpec, chain_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if spec.case in WEAK_CASES or spec.legacy or spec.case == UNSUPPORTED_KEY:
        # OpenSSL refuses RSA-1024 keys, SHA-1 signatures, TLS 1.0/1.1 and keys it cannot size above security level 0
        context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ssl.TLSVersion.TLSv1/TLSv1_1
        if spec.min_version:
            context.minimum_version = TLS_VERSIONS[spec.min_version]
        if spec.max_version:
            context.maximum_version = TLS_VERSIONS[spec.max_version]
    context.load_cert_chain(chain_path, key_path)
    return context


@dataclass
class TlsSimulator:
    specs: list[TlsSpec]
    directory: Path | None = None
    host: str = "127.0.0.1"
    factory: CertificateFactory = field(default_factory=CertificateFactory)
    # listener name -> the HTTP response to a request's bytes (None: never answer); the others say "ok"
    responders: dict[str, Callable[[bytes], bytes | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [s.name for s in self.specs]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"TLS servers with the same name: {', '.join(sorted(duplicates))}")
        self._ports: dict[str, int] = {}
        self._chains: dict[str, Path] = {}
        self._owns_directory = self.directory is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._held: set[asyncio.StreamWriter] = set()

    # -- public ------------------------------------------------------------------------------

    def start(self) -> "TlsSimulator":
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="ems-tls-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        write_bundle(self.trust_bundle, self.factory.trusted_roots())
        write_bundle(self.service_roots, self.factory.service_roots())
        listeners = [(self._context_for(spec), self._bind(spec), spec.name) for spec in self.specs]
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_quiet_handler)
        started = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(listeners, started, failure), name="tls-simulator", daemon=True
        )
        self._thread.start()
        started.wait()
        if failure:
            self.stop()
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            if self._loop.is_running():
                asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
        self._loop = self._thread = None
        if self._owns_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "TlsSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def port(self, name: str) -> int:
        return self._ports[name]

    def address(self, name: str) -> str:
        return f"{self.host}:{self._ports[name]}"

    @property
    def ports(self) -> dict[str, int]:
        return dict(self._ports)

    def chain_path(self, name: str) -> Path:
        """The PEM the listener presents (leaf first)."""
        return self._chains[name]

    @property
    def trust_bundle(self) -> Path:
        assert self.directory is not None, "start() first"
        return self.directory / "trust-bundle.pem"

    @property
    def service_roots(self) -> Path:
        assert self.directory is not None, "start() first"
        return self.directory / "service-roots.pem"

    # -- internals ---------------------------------------------------------------------------

    def _context_for(self, spec: TlsSpec) -> ssl.SSLContext | str:
        """The server context, or the hostile case's name for listeners that never complete TLS."""
        if spec.case in (STALL, GARBAGE):
            return spec.case
        issued = self.factory.leaf("valid" if spec.case == UNSUPPORTED_KEY else spec.case, list(spec.hostnames))
        assert self.directory is not None
        chain_path, key_path = issued.write(self.directory, spec.name)
        if spec.case == UNSUPPORTED_KEY:
            chain_path.write_bytes(chain_path.read_bytes() + pem(unsupported_key_certificate()))
        self._chains[spec.name] = chain_path
        return server_context(spec, chain_path, key_path)

    def _bind(self, spec: TlsSpec) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            bind_preferred(sock, self.host, spec.port)
        except OSError as exc:
            sock.close()
            raise OSError(f"TLS server {spec.name!r}: cannot listen on {self.host}:{spec.port}: {exc}") from None
        sock.listen(64)
        sock.setblocking(False)
        self._ports[spec.name] = sock.getsockname()[1]
        return sock

    def _run(self, listeners: list, started: threading.Event, failure: list[BaseException]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._open(listeners))
        except BaseException as exc:  # reported to start() in the calling thread
            failure.append(exc)
            started.set()
            return
        started.set()
        self._loop.run_forever()

    async def _open(self, listeners: list) -> None:
        for context, sock, name in listeners:
            if context == STALL:
                server = await asyncio.start_server(self._hold, sock=sock)
            elif context == GARBAGE:
                server = await asyncio.start_server(_garbage_reply, sock=sock)
            else:
                answer = partial(self._answer, self.responders.get(name))
                server = await asyncio.start_server(answer, sock=sock, ssl=context, ssl_handshake_timeout=30)
            self._servers.append(server)

    async def _close(self) -> None:
        for writer in list(self._held):
            writer.close()
        for server in self._servers:
            server.close()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass

    async def _answer(self, responder: Callable[[bytes], bytes | None] | None, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        """After the handshake: answer one HTTP-looking request (the listener's responder's answer,
        or "ok"), then close; a responder's None holds the connection open unanswered."""
        try:
            request = await asyncio.wait_for(reader.read(65536), 5)
            if request:
                response = responder(request) if responder else RESPONSE
                if response is None:
                    await self._hold(reader, writer)
                    return
                writer.write(response)
                await writer.drain()
        except QUIET_ERRORS:
            pass
        finally:
            writer.close()

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Accept and say nothing until the client gives up."""
        self._held.add(writer)
        try:
            while await reader.read(65536):
                pass
        except QUIET_ERRORS:
            pass
        finally:
            self._held.discard(writer)
            writer.close()


async def _garbage_reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        if await asyncio.wait_for(reader.read(65536), 5):
            writer.write(GARBAGE_REPLY)
            await writer.drain()
    except QUIET_ERRORS:
        pass
    finally:
        writer.close()


def unsupported_key_certificate() -> x509.Certificate:
    """A CA certificate with an SM2 key: OpenSSL serves it, `cryptography` cannot load its key
    (UnsupportedAlgorithm), as with any algorithm a library lacks (Ed448 builds, GOST, post-quantum)."""
    return x509.load_pem_x509_certificate(UNSUPPORTED_KEY_CA_PEM.encode("ascii"))


def _quiet_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Failed handshakes are what several cases are for; only other errors are worth a log line."""
    if isinstance(context.get("exception"), QUIET_ERRORS):
        return
    loop.default_exception_handler(context)
