"""Federation trust: the token-signing certificates Entra holds against the federation service's
own metadata, and the WS-Trust endpoints its metadata exchange (MEX) document lists.

Pure logic over bytes and Graph's fields. XML is parsed with defusedxml: the documents come from
a server on the customer's network (or whatever answers in its place), and an entity expansion
or external entity must cost the document, not the scan.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from ems_readiness.engine.model import Text
from ems_readiness.engine.texts import msg, render

METADATA_PATH = "/FederationMetadata/2007-06/FederationMetadata.xml"
RENEW_DAYS = 35  # Entra warns 30 days ahead; AD FS auto-rollover starts 20 days ahead by default
SAML_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"
# hybrid join and older clients sign in through these WS-Trust endpoints (AD FS paths)
WINDOWS_TRANSPORT = ("/adfs/services/trust/2005/windowstransport", "/adfs/services/trust/13/windowstransport")
USERNAME_MIXED = ("/adfs/services/trust/2005/usernamemixed", "/adfs/services/trust/13/usernamemixed")
MAX_DOCUMENT = 2 * 1024 * 1024


class DocumentError(ValueError):
    """A metadata or MEX document that cannot be read; the message says why."""


@dataclass(frozen=True)
class Metadata:
    entity_id: str
    signing: tuple[x509.Certificate, ...]  # each distinct token-signing certificate, as listed


def parse_xml(body: bytes, what: str):
    if len(body) > MAX_DOCUMENT:
        raise DocumentError(f"the {what} is larger than {MAX_DOCUMENT // 1024} KB")
    try:
        return ElementTree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise DocumentError(f"the {what} uses a DTD or entity this tool refuses ({type(exc).__name__})") from None
    except ElementTree.ParseError as exc:
        raise DocumentError(f"the {what} is not well-formed XML ({exc})") from None


def parse_metadata(body: bytes) -> Metadata:
    root = parse_xml(body, "federation metadata")
    if root.tag != f"{{{SAML_MD}}}EntityDescriptor":
        raise DocumentError(f"the federation metadata's root element is {root.tag[:80]!r}, not md:EntityDescriptor")
    entity_id = root.get("entityID")
    if not entity_id:
        raise DocumentError("the federation metadata has no entityID")
    found: dict[bytes, x509.Certificate] = {}
    for key in root.iter(f"{{{SAML_MD}}}KeyDescriptor"):
        if key.get("use") not in (None, "signing"):
            continue
        for element in key.iter(f"{{{XMLDSIG}}}X509Certificate"):
            cert = certificate_from_base64(element.text or "", "the federation metadata's X509Certificate")
            found.setdefault(der(cert), cert)
    if not found:
        raise DocumentError("the federation metadata lists no token-signing certificate (KeyDescriptor use=signing)")
    return Metadata(entity_id, tuple(found.values()))


def certificate_from_base64(text: str, what: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split()), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise DocumentError(f"{what} is not a base64 DER certificate ({type(exc).__name__})") from None


def der(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def thumbprint(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA1()).hex().upper()  # AD FS and Entra show SHA-1 thumbprints


def describe(cert: x509.Certificate) -> str:
    return render(describe_text(cert))


def describe_text(cert: x509.Certificate) -> Text:
    return msg("fed.cert", thumbprint=thumbprint(cert), date=cert.not_valid_after_utc.date().isoformat())


def days_left(cert: x509.Certificate, now: datetime) -> int:
    return (cert.not_valid_after_utc - now) // timedelta(days=1)


def expiry_problem(current: x509.Certificate, successor: x509.Certificate | None,
                   published: tuple[x509.Certificate, ...], now: datetime) -> str | None:
    """Why Entra's certificate is about to stop sign-ins: expired, or near expiry with no successor
    in Entra or in the metadata; None when it is not."""
    problem = expiry_problem_text(current, successor, published, now)
    return None if problem is None else render(problem)


def expiry_problem_text(current: x509.Certificate, successor: x509.Certificate | None,
                        published: tuple[x509.Certificate, ...], now: datetime) -> Text | None:
    """`expiry_problem` as a translatable text."""
    left = days_left(current, now)
    if left < 0:
        return msg("fed.expired", cert=describe_text(current), days=-left)
    if left > RENEW_DAYS:
        return None
    later = [c for c in ((successor,) if successor else ()) + published
             if der(c) != der(current) and c.not_valid_after_utc > current.not_valid_after_utc]
    if later:
        return None
    return msg("fed.expiring", cert=describe_text(current), days=left)


def unknown_to_entra(published: tuple[x509.Certificate, ...], entra: list[x509.Certificate]) -> list[x509.Certificate]:
    known = {der(c) for c in entra}
    return [c for c in published if der(c) not in known]


def mex_endpoints(body: bytes) -> set[str]:
    """The endpoint addresses (lower-case paths) a WS-Trust metadata exchange document lists."""
    from urllib.parse import urlsplit

    root = parse_xml(body, "metadata exchange (MEX) document")
    paths = set()
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1]
        value = element.get("location") if name == "address" else element.text if name == "Address" else None
        if value and value.strip().lower().startswith("https://"):
            paths.add(urlsplit(value.strip()).path.lower().rstrip("/"))
    if not paths:
        raise DocumentError("the metadata exchange (MEX) document lists no https endpoint address")
    return paths
