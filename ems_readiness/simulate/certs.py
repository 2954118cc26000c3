"""Certificates for the simulated environment and the tests, made with cryptography at start.

A `CertificateAuthority` (root or intermediate) issues leaves; `CertificateFactory` holds the
hierarchies a simulated environment needs and makes one leaf per case:

| case | what the server presents |
| --- | --- |
| valid | leaf + intermediate of the simulated public CA |
| expired | as valid, leaf not_after 35 days ago |
| expiring | as valid, leaf not_after in 10 days |
| wronghost | as valid, SAN `wrong.fabrikam.test` only |
| incomplete | leaf only (the intermediate is not served) |
| selfsigned | a leaf signed by its own key |
| untrusted | leaf + intermediate + root of a hierarchy nobody trusts |
| rsa1024 | as valid, RSA-1024 leaf key |
| sha1 | as valid, leaf signed with SHA-1 |
| interception | leaf for the host minted by "Contoso Egress Inspection CA" + that CA |
| microsoft | leaf + intermediate of the simulated Microsoft root (emulated Microsoft endpoints) |
| stalecross | as valid, plus an expired cross-certificate of the public root that nothing needs |

EC P-256 keys everywhere except where the key is the point (RSA-1024), so a whole set takes
a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]

CASES = (
    "valid",
    "expired",
    "expiring",
    "wronghost",
    "incomplete",
    "selfsigned",
    "untrusted",
    "rsa1024",
    "sha1",
    "interception",
    "microsoft",
    "stalecross",
    "notyetvalid",
    "nosan",
    "expiredintermediate",
)
# cases whose certificate OpenSSL refuses to load at its default security level
WEAK_CASES = frozenset({"rsa1024", "sha1"})

WRONG_HOST = "wrong.fabrikam.test"
EXPIRED_DAYS_AGO = 35
EXPIRING_IN_DAYS = 10
NOT_YET_VALID_IN_DAYS = 5
CA_AGE_DAYS = 400  # CAs predate every leaf they issue, expired ones included
SIMULATION_ORG = "ems-readiness simulation"
INTERCEPTION_CA_NAME = "Contoso Egress Inspection CA"
STALE_CROSS_EXPIRED_DAYS_AGO = 300


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_bundle(path: Path, certs: Iterable[x509.Certificate]) -> Path:
    path.write_bytes(b"".join(pem(c) for c in certs))
    return path


def subject_alt_names(hostnames: Iterable[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(entries)


@dataclass
class Issued:
    """A leaf, its key, and the certificates a server presents (leaf first)."""

    cert: x509.Certificate
    key: PrivateKey
    served: list[x509.Certificate]

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Writes `<stem>.chain.pem` (every served certificate) and `<stem>.key.pem`."""
        directory.mkdir(parents=True, exist_ok=True)
        chain_path = write_bundle(directory / f"{stem}.chain.pem", self.served)
        key_path = directory / f"{stem}.key.pem"
        key_path.write_bytes(key_pem(self.key))
        key_path.chmod(0o600)
        return chain_path, key_path


@dataclass
class CertificateAuthority:
    cert: x509.Certificate
    key: PrivateKey
    parent: "CertificateAuthority | None" = None

    @classmethod
    def root(cls, common_name: str, organization: str = SIMULATION_ORG, *, now: dt.datetime) -> "CertificateAuthority":
        key = ec_key()
        subject = name(common_name, organization)
        builder = (
            _base_builder(
                subject, subject, key.public_key(), now - dt.timedelta(days=CA_AGE_DAYS), now + dt.timedelta(days=3650)
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
        )
        return cls(builder.sign(key, hashes.SHA256()), key)

    def intermediate(
        self, common_name: str, organization: str | None = None, *, now: dt.datetime,
        not_after: dt.datetime | None = None,
    ) -> "CertificateAuthority":
        key = ec_key()
        subject = name(common_name, organization or self.organization)
        builder = (
            self._issued_builder(
                subject, key.public_key(), now - dt.timedelta(days=CA_AGE_DAYS), not_after or now + dt.timedelta(days=1825)
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
        )
        return CertificateAuthority(builder.sign(self.key, hashes.SHA256()), key, parent=self)

    def issue(
        self,
        hostnames: list[str],
        *,
        not_before: dt.datetime,
        not_after: dt.datetime,
        key: PrivateKey | None = None,
        include_chain: bool = True,
        include_root: bool = False,
        san: bool = True,
    ) -> Issued:
        key = key or ec_key()
        builder = self._issued_builder(name(hostnames[0]), key.public_key(), not_before, not_after)
        builder = _leaf_extensions(builder, hostnames, key, san=san)
        cert = builder.sign(self.key, hashes.SHA256())
        served = [cert]
        if include_chain:
            served += self.path(include_root=include_root)
        return Issued(cert, key, served)

    def path(self, *, include_root: bool = False) -> list[x509.Certificate]:
        """This CA and its parents, nearest first; the root only when asked."""
        out: list[x509.Certificate] = []
        ca: CertificateAuthority | None = self
        while ca is not None:
            if ca.parent is not None or include_root:
                out.append(ca.cert)
            ca = ca.parent
        return out

    @property
    def organization(self) -> str | None:
        values = self.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(values[0].value) if values else None

    def _issued_builder(
        self, subject: x509.Name, public_key, not_before: dt.datetime, not_after: dt.datetime
    ) -> x509.CertificateBuilder:
        return _base_builder(subject, self.cert.subject, public_key, not_before, not_after).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
        )


def cross_certificate(
    ca: CertificateAuthority, by: CertificateAuthority, *, not_before: dt.datetime, not_after: dt.datetime
) -> x509.Certificate:
    """`ca`'s name and key, certified by `by`: the cross-certificate a root gets from an older one."""
    builder = (
        by._issued_builder(ca.cert.subject, ca.key.public_key(), not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
    )
    return builder.sign(by.key, hashes.SHA256())


def self_signed_leaf(hostnames: list[str], *, now: dt.datetime) -> Issued:
    key = ec_key()
    subject = name(hostnames[0])
    builder = _base_builder(
        subject, subject, key.public_key(), now - dt.timedelta(days=1), now + dt.timedelta(days=365)
    )
    cert = _leaf_extensions(builder, hostnames, key).sign(key, hashes.SHA256())
    return Issued(cert, key, [cert])


# AlgorithmIdentifier DER: ecdsa-with-SHA1 (1.2.840.10045.4.1), sha1WithRSAEncryption (1.2.840.113549.1.1.5)
ECDSA_SHA1 = bytes.fromhex("300906072a8648ce3d0401")
RSA_SHA1 = bytes.fromhex("300d06092a864886f70d0101050500")


def resign_with_sha1(cert: x509.Certificate, issuer_key: PrivateKey) -> x509.Certificate:
    """The same certificate signed with SHA-1. cryptography refuses to build SHA-1 signed
    certificates, so the to-be-signed part is re-encoded with the SHA-1 algorithm and signed raw."""
    tbs_fields = _der_children(cert.tbs_certificate_bytes)
    algorithm_index = 2 if tbs_fields[0][0] == 0xA0 else 1  # after [0] version (optional) and serial
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        algorithm = RSA_SHA1
        sign = lambda data: issuer_key.sign(data, padding.PKCS1v15(), hashes.SHA1())  # noqa: E731
    else:
        algorithm = ECDSA_SHA1
        sign = lambda data: issuer_key.sign(data, ec.ECDSA(hashes.SHA1()))  # noqa: E731
    tbs_fields[algorithm_index] = algorithm
    tbs = _der(0x30, b"".join(tbs_fields))
    signature = _der(0x03, b"\x00" + sign(tbs))
    return x509.load_der_x509_certificate(_der(0x30, tbs + algorithm + signature))


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_children(sequence: bytes) -> list[bytes]:
    """The encoded elements inside one DER SEQUENCE."""
    content = sequence[_der_header_length(sequence, 0) :]
    children, offset = [], 0
    while offset < len(content):
        header = _der_header_length(content, offset)
        end = offset + header + _der_content_length(content, offset)
        children.append(content[offset:end])
        offset = end
    return children


def _der_header_length(data: bytes, offset: int) -> int:
    first = data[offset + 1]
    return 2 if first < 0x80 else 2 + (first & 0x7F)


def _der_content_length(data: bytes, offset: int) -> int:
    first = data[offset + 1]
    if first < 0x80:
        return first
    count = first & 0x7F
    return int.from_bytes(data[offset + 2 : offset + 2 + count], "big")


def _base_builder(
    subject: x509.Name, issuer: x509.Name, public_key, not_before: dt.datetime, not_after: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_extensions(
    builder: x509.CertificateBuilder, hostnames: list[str], key: PrivateKey, san: bool = True
) -> x509.CertificateBuilder:
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=is_rsa,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    return builder.add_extension(subject_alt_names(hostnames), critical=False) if san else builder


@dataclass
class CertificateFactory:
    """The hierarchies of a simulated environment, and one leaf per case on demand."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def __post_init__(self) -> None:
        now = self.now
        self.public_root = CertificateAuthority.root("Simulated Public Root CA", now=now)
        self.public_issuer = self.public_root.intermediate("Simulated Public Issuing CA 1", now=now)
        # the same root's previous issuing CA, expired: a server still sending it breaks its chain
        self.expired_issuer = self.public_root.intermediate(
            "Simulated Public Issuing CA 0", now=now, not_after=now - dt.timedelta(days=EXPIRED_DAYS_AGO)
        )
        self.untrusted_root = CertificateAuthority.root("Untrusted Root CA", "Unknown Issuer Ltd", now=now)
        self.untrusted_issuer = self.untrusted_root.intermediate("Untrusted Issuing CA", now=now)
        self.microsoft_root = CertificateAuthority.root("Simulated Microsoft TLS Root", now=now)
        self.microsoft_issuer = self.microsoft_root.intermediate("Simulated Microsoft Azure TLS Issuing CA 01", now=now)
        self.interception_ca = CertificateAuthority.root(INTERCEPTION_CA_NAME, "Contoso Ltd", now=now)
        retired_root = CertificateAuthority.root("Retired Public Root CA", now=now - dt.timedelta(days=3000))
        self.stale_cross = cross_certificate(
            self.public_root,
            retired_root,
            not_before=now - dt.timedelta(days=2000),
            not_after=now - dt.timedelta(days=STALE_CROSS_EXPIRED_DAYS_AGO),
        )

    def trusted_roots(self) -> list[x509.Certificate]:
        """What a scan of the simulated environment trusts. The inspection CA is among them, as it
        is on managed machines where group policy installs it; interception is still detected."""
        return [self.public_root.cert, self.microsoft_root.cert, self.interception_ca.cert]

    def service_roots(self) -> list[x509.Certificate]:
        return [self.microsoft_root.cert]

    def leaf(self, case: str, hostnames: list[str]) -> Issued:
        if case not in CASES:
            raise ValueError(f"unknown certificate case {case!r}; one of {', '.join(CASES)}")
        now = self.now
        window = {"not_before": now - dt.timedelta(days=1), "not_after": now + dt.timedelta(days=200)}
        if case == "valid":
            return self.public_issuer.issue(hostnames, **window)
        if case == "expired":
            return self.public_issuer.issue(
                hostnames,
                not_before=now - dt.timedelta(days=EXPIRED_DAYS_AGO + 90),
                not_after=now - dt.timedelta(days=EXPIRED_DAYS_AGO),
            )
        if case == "expiring":
            return self.public_issuer.issue(
                hostnames, not_before=now - dt.timedelta(days=80), not_after=now + dt.timedelta(days=EXPIRING_IN_DAYS)
            )
        if case == "wronghost":
            return self.public_issuer.issue([WRONG_HOST], **window)
        if case == "incomplete":
            return self.public_issuer.issue(hostnames, include_chain=False, **window)
        if case == "selfsigned":
            return self_signed_leaf(hostnames, now=now)
        if case == "untrusted":
            return self.untrusted_issuer.issue(hostnames, include_root=True, **window)
        if case == "rsa1024":
            return self.public_issuer.issue(hostnames, key=rsa_key(1024), **window)
        if case == "sha1":
            issued = self.public_issuer.issue(hostnames, **window)
            issued.cert = resign_with_sha1(issued.cert, self.public_issuer.key)
            issued.served[0] = issued.cert
            return issued
        if case == "stalecross":
            issued = self.public_issuer.issue(hostnames, **window)
            issued.served.append(self.stale_cross)
            return issued
        if case == "notyetvalid":
            return self.public_issuer.issue(
                hostnames, not_before=now + dt.timedelta(days=NOT_YET_VALID_IN_DAYS), not_after=now + dt.timedelta(days=200)
            )
        if case == "nosan":
            return self.public_issuer.issue(hostnames, san=False, **window)
        if case == "expiredintermediate":
            return self.expired_issuer.issue(hostnames, **window)
        if case == "interception":
            return self.interception_ca.issue(hostnames, include_root=True, **window)
        return self.microsoft_issuer.issue(hostnames, **window)
