"""A token service over HTTPS on loopback, enough for azure-identity/MSAL client-credential sign-in."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test token service")])
    now = dt.datetime.now(dt.timezone.utc)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "sts.pem", directory / "sts.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TokenService:
    """Issues `access_token` to a client presenting `secret`, or any client assertion (certificate)."""

    def __init__(self, directory: Path, *, client_id: str, secret: str | None, access_token: str) -> None:
        self.cert, self.key = self_signed(directory)
        self.client_id, self.secret, self.access_token = client_id, secret, access_token
        self.requests: list[dict] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                tenant = self.path.strip("/").split("/")[0]
                base = f"https://127.0.0.1:{service.port}/{tenant}"
                self._json(200, {"authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                                 "token_endpoint": f"{base}/oauth2/v2.0/token",
                                 "issuer": f"{base}/v2.0", "tenant_region_scope": "EU"})

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
                service.requests.append({k: v[0] for k, v in form.items()})
                ok = form.get("client_id", [""])[0] == service.client_id and (
                    (service.secret is not None and form.get("client_secret", [""])[0] == service.secret)
                    or ("client_assertion" in form and service.secret is None))
                if not ok:
                    self._json(401, {"error": "invalid_client",
                                     "error_description": "AADSTS7000215: Invalid client secret provided."})
                    return
                self._json(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                 "access_token": service.access_token})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> "TokenService":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def client_certificate_pem(directory: Path) -> Path:
    """A PEM holding a client certificate and its key, as CertificateCredential reads it."""
    cert, key = self_signed(directory / "client") if (directory / "client").mkdir() is None else (None, None)
    path = directory / "client.pem"
    path.write_bytes(key.read_bytes() + cert.read_bytes())
    return path
