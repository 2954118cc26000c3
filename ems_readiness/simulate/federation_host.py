"""What a simulated federation service (AD FS) publishes on its sign-in hosts: the federation
metadata at /FederationMetadata/2007-06/FederationMetadata.xml and the WS-Trust metadata exchange
(MEX) document at /adfs/services/trust/mex, served over real TLS by `tls_servers.TlsSimulator`.

Each host name is given a case (the Host header picks it):

    match      the metadata lists Entra's token-signing certificate, entityID = Entra's issuerUri
    rollover   it lists Entra's certificate and its successor (AD FS's primary and secondary)
    mismatch   it lists a certificate Entra does not hold (AD FS rolled over, Entra was not told)
    issuer     the right certificate, another entityID
    404        no metadata published (the endpoint is disabled)
    stall      the connection is accepted and never answered
    malformed  the metadata is cut short: not well-formed XML
    no-windows-transport   metadata as `match`, but MEX lists no windowstransport endpoint
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

METADATA_PATH = "/federationmetadata/2007-06/federationmetadata.xml"
MEX_PATH = "/adfs/services/trust/mex"
CASES = ("match", "rollover", "mismatch", "issuer", "404", "stall", "malformed", "no-windows-transport")
STALL = None  # what `respond` returns for a request it never answers


def signing_certificate(name: str, days: int, start_days_ago: int = 300) -> str:
    """A self-signed token-signing certificate (base64 DER, as Graph and metadata carry it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ADFS Signing - {name}")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=start_days_ago))
            .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")


@dataclass
class FederationService:
    """One federation service: its issuer, Entra's certificate and (for rollover) the next one."""

    issuer: str
    current: str                      # base64 DER, as in Entra's signingCertificate
    following: str | None = None      # Entra's nextSigningCertificate / AD FS's secondary
    foreign: str = field(default_factory=lambda: signing_certificate("rolled over", 365, 10))

    def metadata(self, case: str) -> bytes:
        certificates = {"rollover": [self.current, self.following or self.foreign],
                        "mismatch": [self.foreign]}.get(case, [self.current])
        entity = "http://sts.other.test/adfs/services/trust" if case == "issuer" else self.issuer
        keys = "".join(
            f'<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data>'
            f"<X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"
            for cert in certificates)
        document = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EntityDescriptor ID="_sim" entityID="{entity}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">'
            '<RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            ' xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706"'
            ' xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706">'
            f"{keys}</RoleDescriptor>"
            f'<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}</IDPSSODescriptor>'
            "</EntityDescriptor>").encode("utf-8")
        return document[: len(document) // 2] if case == "malformed" else document

    @staticmethod
    def mex(host: str, case: str) -> bytes:
        paths = ["/adfs/services/trust/2005/usernamemixed", "/adfs/services/trust/13/usernamemixed"]
        if case != "no-windows-transport":
            paths += ["/adfs/services/trust/2005/windowstransport", "/adfs/services/trust/13/windowstransport"]
        ports = "".join(
            f'<wsdl:port name="p{i}" binding="tns:b{i}"><soap12:address location="https://{host}{path}"/>'
            f'<wsa10:EndpointReference><wsa10:Address>https://{host}{path}</wsa10:Address></wsa10:EndpointReference>'
            "</wsdl:port>" for i, path in enumerate(paths))
        return ('<?xml version="1.0" encoding="utf-8"?><wsdl:definitions name="SecurityTokenService"'
                ' xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"'
                ' xmlns:wsa10="http://www.w3.org/2005/08/addressing" xmlns:tns="http://tempuri.org/">'
                f'<wsdl:service name="SecurityTokenService">{ports}</wsdl:service></wsdl:definitions>').encode("utf-8")


class FederationDocuments:
    """The responder of a TLS listener standing for federation sign-in hosts."""

    def __init__(self, service: FederationService, cases: dict[str, str]) -> None:
        unknown = set(cases.values()) - set(CASES)
        if unknown:
            raise ValueError(f"unknown federation host cases {sorted(unknown)}; known: {', '.join(CASES)}")
        self.service = service
        self.cases = {host.lower(): case for host, case in cases.items()}

    def respond(self, request: bytes) -> bytes | None:
        """The HTTP response to one request (None: never answer)."""
        line, _, rest = request.partition(b"\r\n")
        parts = line.decode("latin-1").split(" ")
        path = parts[1].split("?", 1)[0].lower() if len(parts) == 3 else ""
        host = ""
        for header in rest.decode("latin-1").split("\r\n"):
            name, _, value = header.partition(":")
            if name.strip().lower() == "host":
                host = value.strip().rsplit(":", 1)[0].lower() if not value.strip().startswith("[") else value.strip()
        case = self.cases.get(host, "404")
        if case == "stall":
            return STALL
        if path == METADATA_PATH and case != "404":
            return response(200, self.service.metadata(case), "application/samlmetadata+xml")
        if path == MEX_PATH and case != "404":
            return response(200, self.service.mex(host, case), "application/soap+xml")
        return response(404, b"<html><body>404 Not Found</body></html>", "text/html")


def response(status: int, body: bytes, content_type: str) -> bytes:
    reason = {200: "OK", 404: "Not Found"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode("ascii") + body


def responders_for(tenant, specs) -> dict[str, Callable[[bytes], bytes | None]]:
    """The demo's federation hosts: the listener standing for each federated domain's sign-in host
    publishes metadata that matches what the tenant holds (case `match`)."""
    from urllib.parse import urlsplit

    found = {}
    for configs in tenant.federation_configuration.values():
        for config in configs:
            host = urlsplit(str(config.get("passiveSignInUri") or "")).hostname
            listener = next((s.name for s in specs if host and host in s.hostnames), None)
            if listener and listener not in found and config.get("signingCertificate"):
                service = FederationService(config.get("issuerUri") or "", config["signingCertificate"],
                                            config.get("nextSigningCertificate"))
                found[listener] = FederationDocuments(service, {host: "match"}).respond
    return found
