"""Every judgement about a presented TLS certificate chain, as pure functions over cryptography objects.

The probe captures the chain as the server presented it (leaf first, unverified); the TLS checks
ask these functions what is wrong with it:

- `judge_validity`   — validity window of the validated path (leaf, intermediates, root) against warn_days (TLS-001)
- `judge_name`       — host name against SAN dNSName (one-label wildcard) / iPAddress, CN only without SAN (TLS-002)
- `judge_path`       — complete chain to a trusted root, telling apart self-signed, incomplete,
                       untrusted root and rejected chains; causes other checks own are set apart (TLS-003)
- `judge_strength`   — RSA >= 2048, EC >= 256, no MD5/SHA-1 signatures below the root (TLS-004)
- `judge_interception` — does the chain lead, signature by signature, to a known Microsoft/DigiCert
                       root (or an emulator's service root)? Otherwise name who signed the leaf (TLS-006)

Reading PEM bundles (the trust store, the known-roots catalogue) is the only I/O here.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import ipaddress
import re
import ssl
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from ems_readiness.engine.texts import joined, msg, msg_n

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_SIGNATURE_HASHES = {"md2", "md4", "md5", "sha1"}
MAX_CHAIN_DEPTH = 8
# Beyond a century of warning every certificate is "expiring"; the bound keeps date arithmetic finite.
MAX_WARN_DAYS = 36500
MAX_NAME_TEXT = 300  # a certificate's text fields are the server's text: bounded wherever they are shown
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora
    "/etc/ssl/ca-bundle.pem",  # SUSE
    "/etc/ssl/cert.pem",  # macOS, BSD
)

class UnjudgedCertificate(Exception):
    """A served certificate this judgement cannot assess (an unsupported key, say): the host's
    finding is `error` with this reason, never a pass or a fail."""


# ---------------------------------------------------------------------------------------------
# describing certificates


def clean_text(value: Any, limit: int = MAX_NAME_TEXT) -> str:
    """A server-chosen text field as it may be shown: control characters and lone surrogates
    escaped, the length bounded."""
    text = CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else "\ufffd", str(value))
    return text if len(text) <= limit else text[: limit - 13] + " …[truncated]"


def common_name(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return clean_text(values[0].value) if values else None


def organization(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return clean_text(values[0].value) if values else None


def display_name(name: x509.Name) -> str:
    """'Contoso Egress Inspection CA (Contoso Ltd)' — what a person recognises."""
    cn, org = common_name(name), organization(name)
    if cn and org:
        return f"{cn} ({org})"
    return cn or org or clean_text(name.rfc4514_string()) or "(empty name)"


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex().upper()


def san_names(cert: x509.Certificate) -> list[str] | None:
    """dNSName and iPAddress entries; None when the certificate has no SAN extension."""
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # malformed extension: treat as absent, path validation will say more
        return None
    dns = [str(v) for v in san.get_values_for_type(x509.DNSName)]
    ips = [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    return dns + ips


def key_description(cert: x509.Certificate) -> str:
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:
        return f"unsupported key ({clean_text(exc, 120)})"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name} ({key.curve.key_size}-bit)"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}"
    return type(key).__name__


def signature_name(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    return oid._name if oid._name != "Unknown OID" else oid.dotted_string


def signature_hash_name(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        text = signature_name(cert).lower()
        return next((h for h in WEAK_SIGNATURE_HASHES if h in text), None)
    return algorithm.name if algorithm is not None else None


def describe(cert: x509.Certificate) -> dict[str, Any]:
    """The values evidence carries for one certificate. A field that cannot be read says why
    instead of spoiling the rest: evidence of a hostile chain is still evidence."""
    fields: dict[str, Callable[[], Any]] = {
        "subject": lambda: clean_text(cert.subject.rfc4514_string(), 2000),
        "issuer": lambda: clean_text(cert.issuer.rfc4514_string(), 2000),
        "serial": lambda: format(cert.serial_number, "X"),
        "not_before": lambda: iso(cert.not_valid_before_utc),
        "not_after": lambda: iso(cert.not_valid_after_utc),
        "san": lambda: [clean_text(n) for n in (san_names(cert) or [])[:100]],
        "sha256": lambda: fingerprint(cert),
        "key": lambda: key_description(cert),
        "signature": lambda: signature_name(cert),
    }
    described: dict[str, Any] = {}
    for field_name, read in fields.items():
        try:
            described[field_name] = read()
        except Exception as exc:  # any parse failure of a hostile certificate is recorded, not raised
            described[field_name] = f"unreadable: {type(exc).__name__}: {clean_text(exc, 200)}"
    return described


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def day(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d")


def is_self_issued(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer


def is_self_signed(cert: x509.Certificate) -> bool:
    return is_self_issued(cert) and signed_by(cert, cert)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer`'s key made `cert`'s signature. Unlike verify_directly_issued_by this
    also accepts MD5/SHA-1 signatures, which must be recognised to be reported."""
    try:
        if cert.issuer != issuer.subject:
            return False
        key = issuer.public_key()
        algorithm = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey):
            pss = cert.signature_algorithm_parameters
            pad = pss if isinstance(pss, padding.PSS) else padding.PKCS1v15()
            key.verify(cert.signature, cert.tbs_certificate_bytes, pad, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, algorithm)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def role(index: int, cert: x509.Certificate) -> str:
    if index == 0:
        return "leaf"
    return "root" if is_self_issued(cert) else "intermediate"


def labelled(index: int, cert: x509.Certificate) -> str:
    return f"{role(index, cert)} '{display_name(cert.subject)}'"


def labelled_text(index: int, cert: x509.Certificate) -> Any:
    """`labelled` as a translatable text (the reports in other languages)."""
    return msg(f"tlsj.cert.{role(index, cert)}", name=display_name(cert.subject))


def text_of(verdict: Any, name: str) -> Any:
    """A judgement's `name` (expected, observed, reason) as a translatable text where the judge made
    one, else its English."""
    return verdict.texts.get(name) or getattr(verdict, name)


# ---------------------------------------------------------------------------------------------
# trust stores


@dataclass(frozen=True, eq=False)
class TrustStore:
    """Certificates a scan trusts as anchors, indexed by subject."""

    certs: tuple[x509.Certificate, ...]
    source: str

    @cached_property
    def by_subject(self) -> dict[x509.Name, list[x509.Certificate]]:
        index: dict[x509.Name, list[x509.Certificate]] = {}
        for cert in self.certs:
            index.setdefault(cert.subject, []).append(cert)
        return index

    @cached_property
    def verifier_store(self) -> Store | None:
        return Store(list(self.certs)) if self.certs else None

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        return [c for c in self.by_subject.get(cert.issuer, []) if signed_by(cert, c)]

    def named(self, name: x509.Name) -> list[x509.Certificate]:
        return self.by_subject.get(name, [])

    def __add__(self, other: "TrustStore") -> "TrustStore":
        return TrustStore(self.certs + other.certs, f"{self.source} + {other.source}")


def parse_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle that parses; one bad entry does not spoil the bundle."""
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", data, re.S)
    certs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # old roots with negative serials warn in cryptography
        for block in blocks:
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return certs


def system_bundle_path() -> Path | None:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *SYSTEM_BUNDLES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def load_trust_store(trust: str | Path) -> TrustStore:
    """'system' → the system CA bundle, or where there is no bundle file (Windows) the CAs of
    Python's default SSL context; otherwise a PEM file."""
    if str(trust) == "system":
        path = system_bundle_path()
        if path is not None:
            return TrustStore(_load_bundle(str(path), path.stat().st_mtime), f"system ({path})")
        certs = default_context_certs()
        return TrustStore(certs, "system (Python's default SSL context)" if certs else "system (no CA bundle found)")
    path = Path(trust)
    return TrustStore(_load_bundle(str(path), path.stat().st_mtime), str(path))


def default_context_certs() -> tuple[x509.Certificate, ...]:
    """The CA certificates `ssl.create_default_context()` loaded (on Windows: the system store)."""
    certs = []
    for der in ssl.create_default_context().get_ca_certs(binary_form=True):
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return tuple(certs)


@lru_cache(maxsize=1)
def public_ca_store() -> TrustStore:
    """A bundled public CA list (Mozilla's, through certifi) rather than the OS store, where
    corporate inspection roots get installed; the system bundle when certifi is not installed."""
    try:
        import certifi
    except ImportError:
        return load_trust_store("system")
    store = load_trust_store(certifi.where())
    return TrustStore(store.certs, f"certifi {getattr(certifi, '__version__', '')}".strip())


@lru_cache(maxsize=16)
def _load_bundle(path: str, mtime: float) -> tuple[x509.Certificate, ...]:
    return tuple(parse_pem_certificates(Path(path).read_bytes()))


# ---------------------------------------------------------------------------------------------
# TLS-001 validity


@dataclass(frozen=True)
class ValidityJudgement:
    state: str  # valid | expiring | expired | not-yet-valid
    subject: str  # which certificate decided it, e.g. "leaf 'sts.contoso.test'"
    not_before: dt.datetime
    not_after: dt.datetime
    days: int  # days left (valid/expiring), days since expiry, days until start
    expected: str
    observed: str
    index: int = 0  # where the deciding certificate is on the path: 0 the leaf, then its issuers
    texts: dict[str, Any] = field(default_factory=dict, compare=False)  # expected/observed as texts

    @property
    def ok(self) -> bool:
        return self.state == "valid"

    @property
    def on_leaf(self) -> bool:
        return self.index == 0


def judge_validity(
    chain: list[x509.Certificate], now: dt.datetime, warn_days: int, store: TrustStore | None = None
) -> ValidityJudgement:
    """The certificates a client validates: the path walked from the leaf, as TLS-003 walks it,
    and the trust-store root it reaches. A served certificate off that path (a stale
    cross-certificate) is only mentioned when it has expired."""
    warn_days = min(max(warn_days, 0), MAX_WARN_DAYS)
    walk = walk_chain(chain, store or TrustStore((), "none"))
    candidates = list(enumerate(walk.path)) + ([(len(walk.path), walk.anchor)] if walk.anchor is not None else [])
    expected = f"valid until after {day(now + dt.timedelta(days=warn_days))} (warn_days {warn_days})"
    expected_text = msg("tlsj.validity.expected", date=day(now + dt.timedelta(days=warn_days)), warn_days=warn_days)
    on_path = [c for _, c in candidates]
    stale = [
        f"{labelled(i, c)} expired {day(c.not_valid_after_utc)}"
        for i, c in enumerate(chain)
        if c not in on_path and c.not_valid_after_utc < now
    ]
    note = f"; served but not on the validated path, so not judged: {', '.join(stale)}" if stale else ""
    note_text = msg("tlsj.validity.stale", items=", ".join(stale)) if stale else ""

    def verdict(state: str, index: int, cert: x509.Certificate, days: int, text: str) -> ValidityJudgement:
        who = labelled(index, cert)
        observed = (text if index == 0 else f"{who}: {text}") + note
        said = validity_text(state, cert, days)
        said = said if index == 0 else msg("tlsj.who", who=labelled_text(index, cert), text=said)
        texts = {"expected": expected_text, "observed": msg("tlsj.observed.note", text=said, note=note_text)}
        return ValidityJudgement(
            state, who, cert.not_valid_before_utc, cert.not_valid_after_utc, days, expected, observed, index, texts
        )

    for index, cert in candidates:
        if cert.not_valid_after_utc < now:
            ago = (now - cert.not_valid_after_utc).days
            return verdict(
                "expired", index, cert, ago, f"expired {day(cert.not_valid_after_utc)} ({plural(ago, 'day')} ago)"
            )
    for index, cert in candidates:
        if cert.not_valid_before_utc > now:
            until = (cert.not_valid_before_utc - now).days
            return verdict(
                "not-yet-valid",
                index,
                cert,
                until,
                f"not valid before {day(cert.not_valid_before_utc)} (in {plural(until, 'day')})",
            )
    index, cert = min(candidates, key=lambda pair: pair[1].not_valid_after_utc)
    left = (cert.not_valid_after_utc - now).days
    if left < warn_days:
        return verdict(
            "expiring", index, cert, left, f"expires {day(cert.not_valid_after_utc)} ({plural(left, 'day')} left)"
        )
    return verdict(
        "valid", index, cert, left, f"valid until {day(cert.not_valid_after_utc)} ({plural(left, 'day')} left)"
    )


def validity_text(state: str, cert: x509.Certificate, days: int) -> Any:
    date = day(cert.not_valid_before_utc if state == "not-yet-valid" else cert.not_valid_after_utc)
    counted = {"expired": "tlsj.days.ago", "not-yet-valid": "tlsj.days.in"}.get(state, "tlsj.days.left")
    return msg(f"tlsj.validity.{state}", date=date, days=msg_n(counted, days))


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# ---------------------------------------------------------------------------------------------
# TLS-002 name


@dataclass(frozen=True)
class NameJudgement:
    matches: bool
    via: str | None  # "san" | "subject-cn" | None
    names: list[str]  # the names the certificate carries
    expected: str
    observed: str
    has_san: bool = True
    texts: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def cause(self) -> str:
        """match | no-san (current clients ignore the subject CN) | mismatch"""
        if not self.has_san:
            return "no-san"
        return "match" if self.matches else "mismatch"


def judge_name(leaf: x509.Certificate, host: str) -> NameJudgement:
    host = host.lower().rstrip(".")
    ip = parse_ip(host)
    expected = f"a SAN {'iPAddress' if ip else 'dNSName'} covering {host}"
    expected_text = msg("tlsj.name.expected", kind="iPAddress" if ip else "dNSName", host=host)
    sans = san_names(leaf)
    if sans is not None:
        matched = any(name_covers(name, host, ip) for name in sans)
        shown = ", ".join(clean_text(n) for n in sans[:50]) + (f" and {len(sans) - 50} more" if len(sans) > 50 else "")
        texts = {"expected": expected_text, "observed": msg("tlsj.name.san", names=shown) if shown
                 else msg("tlsj.name.san.empty")}
        return NameJudgement(matched, "san" if matched else None, sans, expected, f"SAN: {shown or '(empty)'}",
                             texts=texts)
    cn = common_name(leaf.subject)
    matched = cn is not None and ip is None and name_covers(cn, host, None)
    observed = f"no SAN extension; subject CN: {cn or '(none)'}"
    texts = {"expected": expected_text, "observed": msg("tlsj.name.no-san", cn=cn) if cn
             else msg("tlsj.name.no-san.no-cn")}
    return NameJudgement(matched, "subject-cn" if matched else None, [cn] if cn else [], expected, observed, False,
                         texts)


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def name_covers(pattern: str, host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    """RFC 6125 as browsers apply it: exact name, or '*' as the whole left-most label standing
    for exactly one label. IP addresses match only IP entries."""
    pattern_ip = parse_ip(pattern)
    if ip is not None or pattern_ip is not None:
        return ip is not None and ip == pattern_ip
    pattern = pattern.lower().rstrip(".")
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    suffix = pattern[2:]
    label, _, rest = host.partition(".")
    return bool(label) and rest == suffix and suffix.count(".") >= 1


# ---------------------------------------------------------------------------------------------
# chains: walking issuer links signature by signature


@dataclass
class ChainWalk:
    """The path from the leaf upwards: served certificates, then a store anchor if one signs the top."""

    path: list[x509.Certificate]
    anchor: x509.Certificate | None = None  # from the trust store
    self_signed_top: bool = False  # the walk ended at a served self-signed certificate not in the store
    known: x509.Certificate | None = None  # the first certificate on the path the caller recognised

    @property
    def top(self) -> x509.Certificate:
        return self.path[-1]


def walk_chain(
    chain: list[x509.Certificate], store: TrustStore, recognise: Callable[[x509.Certificate], bool] | None = None
) -> ChainWalk:
    """Follow issuers from the leaf: first a store anchor that signed the current certificate,
    else a served certificate that did. `recognise(cert) -> bool` stops the walk early."""
    current = chain[0]
    walk = ChainWalk([current])
    pool = list(chain[1:])
    for _ in range(MAX_CHAIN_DEPTH):
        if recognise is not None and recognise(current):
            walk.known = current
            return walk
        anchors = store.issuers_of(current)
        if anchors:
            walk.anchor = anchors[0]
            if recognise is not None and recognise(walk.anchor):
                walk.known = walk.anchor
            return walk
        if is_self_signed(current):
            walk.self_signed_top = True
            return walk
        issuer = next((c for c in pool if signed_by(current, c)), None)
        if issuer is None:
            return walk
        pool.remove(issuer)
        walk.path.append(issuer)
        current = issuer
    return walk


# ---------------------------------------------------------------------------------------------
# TLS-003 path validation


@dataclass(frozen=True)
class PathJudgement:
    state: str  # trusted | self-signed | incomplete | untrusted-root | rejected | no-trust-store
    reason: str
    anchor: str | None  # display name of the trusted root reached
    path: list[str]  # display names from the leaf upwards, as walked
    expected: str
    observed: str
    # what path validation would also refuse, judged by the check that owns the cause:
    # ("TLS-001", "leaf 'x' expired 2026-01-01"), ("TLS-002", ...), ("TLS-004", ...)
    deferred: tuple[tuple[str, str], ...] = ()
    texts: dict[str, Any] = field(default_factory=dict, compare=False)  # expected/observed/reason as texts

    @property
    def ok(self) -> bool:
        return self.state == "trusted"


def judge_path(chain: list[x509.Certificate], host: str, store: TrustStore, now: dt.datetime) -> PathJudgement:
    """Whether the served chain is complete and leads to a trusted root. The causes other checks own
    are set apart in `deferred`, not judged here: a certificate out of its validity period (TLS-001),
    a leaf without subjectAltName (TLS-002), a weak signature (TLS-004). Path validation then runs
    at a moment every certificate is valid, and not at all when the verifier would refuse the chain
    for a deferred cause alone (no SAN to verify against, a weak key or SHA-1 signature)."""
    expected = f"the served chain leads to a root in the trust store ({store.source}) and validates"
    leaf = chain[0]

    def verdict(state: str, reason: str, walk: ChainWalk | None = None, deferred=(), reason_text=None) -> PathJudgement:
        path = [display_name(c.subject) for c in (walk.path if walk else [leaf])]
        anchor = display_name(walk.anchor.subject) if walk and walk.anchor is not None else None
        shown = " → ".join(path + ([f"{anchor} (trust store)"] if anchor else []))
        observed = f"{reason}; chain as served and walked: {shown}"
        said = reason_text or reason
        chain_text = msg("tlsj.path.anchored", path=" → ".join(path), anchor=anchor) if anchor else " → ".join(path)
        texts = {"expected": msg("tlsj.path.expected", source=store.source), "reason": said,
                 "observed": msg("tlsj.path.observed", reason=said, chain=chain_text)}
        return PathJudgement(state, reason, anchor, path, expected, observed, tuple(deferred), texts)

    if is_self_signed(leaf):
        return verdict("self-signed", f"the leaf '{display_name(leaf.subject)}' is self-signed",
                       reason_text=msg("tlsj.path.self-signed", name=display_name(leaf.subject)))
    if store.verifier_store is None:
        return verdict("no-trust-store", f"the trust store is empty ({store.source})",
                       reason_text=msg("tlsj.path.no-store", source=store.source))
    walk = walk_chain(chain, store)
    if walk.anchor is None:
        state, reason = _unanchored(walk, len(chain))
        return verdict(state, reason, walk, reason_text=_unanchored_text(walk, len(chain)))
    deferred: list[tuple[str, str]] = []
    when: dt.datetime | None = now
    problem = _path_time_problem(walk, now)
    if problem:
        deferred.append(("TLS-001", problem))
        when = _valid_moment(walk)
    if san_names(leaf) is None:
        deferred.append(("TLS-002", f"the leaf '{display_name(leaf.subject)}' has no subjectAltName"))
        when = None
    weak = [reason for reason in (_weak_key_reason(chain), _weak_signature_reason(chain)) if reason]
    if weak:
        deferred += [("TLS-004", reason) for reason in weak]
        when = None  # the verifier refuses weak keys and signatures before anything else
    rejection = _verify(chain, host, store, when) if when is not None else None
    if rejection:
        return verdict("rejected", f"path validation rejects the chain: {rejection}", walk, deferred,
                       reason_text=msg("tlsj.path.rejected", rejection=rejection))
    return verdict("trusted", f"complete chain to trusted root '{display_name(walk.anchor.subject)}'", walk, deferred,
                   reason_text=msg("tlsj.path.trusted", name=display_name(walk.anchor.subject)))


def _unanchored_text(walk: ChainWalk, served: int) -> Any:
    """`_unanchored`'s reason as a translatable text."""
    top = walk.top
    if walk.self_signed_top:
        return msg("tlsj.path.root-untrusted", name=display_name(top.subject))
    missing = display_name(top.issuer)
    if len(walk.path) > 1 and is_self_issued(top):
        return msg("tlsj.path.root-key-unknown", name=display_name(top.subject))
    if len(walk.path) == 1:
        if served == 1:
            return msg("tlsj.path.incomplete.leaf-only", issuer=missing)
        return msg("tlsj.path.incomplete.others", n=served - 1, issuer=missing)
    return msg("tlsj.path.incomplete.intermediate", name=display_name(top.subject), issuer=missing)


def _unanchored(walk: ChainWalk, served: int) -> tuple[str, str]:
    top = walk.top
    if walk.self_signed_top:
        return (
            "untrusted-root",
            f"the chain ends at root '{display_name(top.subject)}', which is not in the trust store",
        )
    missing = display_name(top.issuer)
    if len(walk.path) > 1 and is_self_issued(top):
        key = "neither served nor in the trust store"
        return "untrusted-root", f"the chain ends at root '{display_name(top.subject)}', whose signing key is {key}"
    if len(walk.path) == 1:
        # Public CAs never sign leaves from a root, so a leaf whose issuer is unknown lacks an intermediate.
        sent = (
            "only the leaf was served"
            if served == 1
            else f"none of the {served - 1} other served certificates issued the leaf"
        )
        return (
            "incomplete",
            f"chain incomplete: {sent}; its issuer '{missing}' is neither served nor in the trust store",
        )
    ends = f"the served chain ends at intermediate '{display_name(top.subject)}'"
    return "incomplete", f"chain incomplete: {ends}, whose issuer '{missing}' is neither served nor in the trust store"


def _path_time_problem(walk: ChainWalk, now: dt.datetime) -> str | None:
    certs = list(enumerate(walk.path)) + ([(len(walk.path), walk.anchor)] if walk.anchor is not None else [])
    for index, cert in certs:
        who = labelled(index, cert) if index < len(walk.path) else f"root '{display_name(cert.subject)}'"
        if cert.not_valid_after_utc < now:
            return f"{who} expired {day(cert.not_valid_after_utc)}"
        if cert.not_valid_before_utc > now:
            return f"{who} is not valid before {day(cert.not_valid_before_utc)}"
    return None


def _valid_moment(walk: ChainWalk) -> dt.datetime | None:
    """A moment when every certificate on the path is valid, or None when there is none."""
    certs = walk.path + ([walk.anchor] if walk.anchor is not None else [])
    start = max(c.not_valid_before_utc for c in certs)
    if start >= min(c.not_valid_after_utc for c in certs):
        return None
    return start + dt.timedelta(seconds=1)


def _verify(chain: list[x509.Certificate], host: str, store: TrustStore, when: dt.datetime) -> str | None:
    """The verifier's reason to reject the chain, or None. The host name is TLS-002's question,
    so a name the leaf does carry is used when the host is not among them."""
    subject = _verification_subject(chain[0], host)
    if subject is None:
        return "the leaf carries no subjectAltName"
    verifier = (
        PolicyBuilder()
        .store(store.verifier_store)
        .time(when)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .build_server_verifier(subject)
    )
    try:
        verifier.verify(chain[0], chain[1:])
    except VerificationError as error:
        return _weak_signature_reason(chain) or _clean_reason(str(error))
    return None


def _verification_subject(leaf: x509.Certificate, host: str) -> x509.DNSName | x509.IPAddress | None:
    names = san_names(leaf) or []
    matched = next((n for n in names if name_covers(n, host.lower().rstrip("."), parse_ip(host))), None)
    chosen = host if matched else (names[0] if names else None)
    if chosen is None:
        return None
    if chosen.startswith("*."):
        chosen = "x" + chosen[1:]
    ip = parse_ip(chosen)
    return x509.IPAddress(ip) if ip else x509.DNSName(chosen)


def _weak_key_reason(chain: list[x509.Certificate]) -> str | None:
    for index, cert in enumerate(chain):
        try:
            problem = weak_key(cert)
        except (UnsupportedAlgorithm, ValueError):
            continue  # TLS-004 says it cannot read the key
        if problem:
            return f"{labelled(index, cert)} has a weak key ({problem})"
    return None


def _weak_signature_reason(chain: list[x509.Certificate]) -> str | None:
    for index, cert in enumerate(chain):
        if not is_self_issued(cert) and signature_hash_name(cert) in WEAK_SIGNATURE_HASHES:
            return f"{labelled(index, cert)} is signed with {signature_name(cert)}, which validators refuse"
    return None


def _clean_reason(message: str) -> str:
    message = message.removeprefix("validation failed: ")
    message = re.sub(r"\s*\(encountered processing <Certificate\(.*$", "", message)
    return message.removeprefix("candidates exhausted: ")


# ---------------------------------------------------------------------------------------------
# TLS-004 key and signature strength


@dataclass(frozen=True)
class StrengthJudgement:
    problems: list[str]
    summary: list[str]  # one line per served certificate: role, key, signature
    expected: str = f"RSA ≥ {MIN_RSA_BITS} or EC ≥ {MIN_EC_BITS}-bit keys; no MD5/SHA-1 signatures below the root"
    weak_keys: tuple[tuple[int, str], ...] = ()  # (position in the chain, problem), 0 the leaf
    weak_signatures: tuple[tuple[int, str], ...] = ()
    summary_texts: tuple[Any, ...] = field(default=(), compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def texts(self) -> dict[str, Any]:
        texts: dict[str, Any] = {"expected": msg("tlsj.strength.expected", rsa=MIN_RSA_BITS, ec=MIN_EC_BITS)}
        if not self.problems and self.summary_texts:
            texts["observed"] = msg("text.joined", items=joined(self.summary_texts))
        return texts

    @property
    def observed(self) -> str:
        return "; ".join(self.problems or self.summary)


def judge_strength(chain: list[x509.Certificate]) -> StrengthJudgement:
    problems, summary, keys, signatures, summary_texts = [], [], [], [], []
    for index, cert in enumerate(chain):
        who = labelled(index, cert)
        summary.append(f"{who}: {key_description(cert)}, {signature_name(cert)}")
        summary_texts.append(msg("tlsj.strength.summary", who=labelled_text(index, cert), key=key_description(cert),
                                 signature=signature_name(cert)))
        try:
            key_problem = weak_key(cert)
        except (UnsupportedAlgorithm, ValueError) as exc:
            raise UnjudgedCertificate(f"{who}: its key cannot be read ({clean_text(exc, 200)})") from None
        if key_problem:
            problems.append(f"{who}: {key_problem}")
            keys.append((index, problems[-1]))
        if not is_self_issued(cert) and signature_hash_name(cert) in WEAK_SIGNATURE_HASHES:
            problems.append(f"{who}: signed with {signature_name(cert)}")
            signatures.append((index, problems[-1]))
    return StrengthJudgement(problems, summary, weak_keys=tuple(keys), weak_signatures=tuple(signatures),
                             summary_texts=tuple(summary_texts))


def weak_key(cert: x509.Certificate) -> str | None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return f"RSA {key.key_size}-bit key"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < MIN_EC_BITS:
        return f"EC {key.curve.name} ({key.curve.key_size}-bit) key"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}-bit key (not accepted by current clients)"
    return None


# ---------------------------------------------------------------------------------------------
# TLS-006 interception


@dataclass(frozen=True)
class KnownRoot:
    subject: str
    sha256: str | None
    sha1: str | None


@dataclass(frozen=True)
class KnownRoots:
    """The anchors a service's genuine chains lead to: roots by fingerprint, certificates held
    (an emulator's service roots, a public CA bundle), and the issuing-CA names and organisations
    used when no root is at hand to confirm a chain."""

    roots: tuple[KnownRoot, ...] = ()
    issuer_patterns: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    service_domains: tuple[str, ...] = ()
    anchor_certs: tuple[x509.Certificate, ...] = ()
    label: str = "a Microsoft or DigiCert root"
    label_text: Any = field(default_factory=lambda: msg("tlsj.known.label"), compare=False)

    def with_service_roots(self, certs: Iterable[x509.Certificate]) -> "KnownRoots":
        return replace(self, anchor_certs=self.anchor_certs + tuple(certs))

    def for_third_party(self, public: TrustStore) -> "KnownRoots":
        """For endpoints Microsoft lists but does not operate (TPM vendors' servers): any root of a
        public CA bundle, plus the service roots, and no name heuristics."""
        return KnownRoots(
            anchor_certs=self.anchor_certs + public.certs, label=f"a root of the public CA bundle ({public.source})",
            label_text=msg("tlsj.known.public", source=public.source)
        )

    def operates(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.service_domains)

    @cached_property
    def _fingerprints(self) -> frozenset[str]:
        held = {fingerprint(anchor) for anchor in self.anchor_certs}
        listed = {value for r in self.roots for value in (r.sha256, r.sha1) if value}
        return frozenset(held | listed)

    def recognises(self, cert: x509.Certificate) -> bool:
        return (
            fingerprint(cert) in self._fingerprints
            or cert.fingerprint(hashes.SHA1()).hex().upper() in self._fingerprints
        )

    @cached_property
    def _root_names(self) -> frozenset[tuple[str | None, str | None]]:
        names = (x509.Name.from_rfc4514_string(r.subject) for r in self.roots)
        return frozenset((common_name(n), organization(n)) for n in names)

    def names_root(self, name: x509.Name) -> bool:
        """Whether `name` is a listed root's name (CN and O; other attributes may differ)."""
        return (common_name(name), organization(name)) in self._root_names

    def looks_like_service_name(self, name: x509.Name) -> bool:
        """Names only — used when no certificate is at hand to check a fingerprint."""
        cn = common_name(name) or ""
        if any(fnmatch.fnmatchcase(cn, pattern) for pattern in self.issuer_patterns):
            return True
        if organization(name) in self.organizations:
            return True
        return any(name.rfc4514_string() == r.subject for r in self.roots)

    @property
    def judges_names(self) -> bool:
        return bool(self.issuer_patterns or self.organizations)


@dataclass(frozen=True)
class InterceptionJudgement:
    state: str  # clean | intercepted | unconfirmed
    leaf_issuer: str
    anchor: str | None
    reason: str
    expected: str
    observed: str
    texts: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def intercepted(self) -> bool:
        return self.state == "intercepted"


def judge_interception(
    chain: list[x509.Certificate], host: str, known: KnownRoots, store: TrustStore
) -> InterceptionJudgement:
    """The trust store and the served certificates only help build the path; what counts is whether
    a known anchor — by fingerprint — signed its way down to the leaf. A corporate inspection root
    installed in the trust store is still an interception."""
    leaf = chain[0]
    leaf_issuer = display_name(leaf.issuer)
    expected = f"a chain for {host} issued under {known.label}"
    label = known.label_text
    walk = walk_chain(chain, store + TrustStore(known.anchor_certs, "known anchors"), recognise=known.recognises)

    def verdict(state: str, reason: str, anchor: str | None = None, reason_text=None) -> InterceptionJudgement:
        path = [display_name(c.subject) for c in walk.path]
        if walk.anchor is not None:
            path.append(f"{display_name(walk.anchor.subject)} (trust store)")
        walked = " → ".join(display_name(c.subject) for c in walk.path)
        chain_text = msg("tlsj.path.anchored", path=walked, anchor=display_name(walk.anchor.subject)) \
            if walk.anchor is not None else walked
        said = reason_text or reason
        texts = {"expected": msg("tlsj.intercept.expected", host=host, label=label), "reason": said,
                 "observed": msg("tlsj.intercept.observed", reason=said, chain=chain_text)}
        return InterceptionJudgement(
            state, leaf_issuer, anchor, reason, expected, f"{reason}; chain: {' → '.join(path)}", texts
        )

    if walk.known is not None:
        anchor = display_name(walk.known.subject)
        return verdict("clean", f"issued under '{anchor}'", anchor, msg("tlsj.intercept.clean", anchor=anchor))
    if is_self_signed(leaf):
        return verdict("intercepted", f"the leaf is self-signed ('{leaf_issuer}')", leaf_issuer,
                       msg("tlsj.intercept.self-signed", issuer=leaf_issuer))
    if walk.self_signed_top and _service_names_only(walk, known):
        return verdict(
            "unconfirmed",
            f"the chain ends at the served root '{display_name(walk.top.subject)}', which bears the name of a "
            f"known root but not its fingerprint and is not in the trust store, so it cannot be confirmed to lead "
            f"to {known.label}",
            reason_text=msg("tlsj.intercept.name-only", root=display_name(walk.top.subject), label=label),
        )
    if walk.anchor is not None or walk.self_signed_top:
        root = display_name((walk.anchor or walk.top).subject)
        via = "" if root == leaf_issuer else f", which chains to '{root}'"
        said = msg("tlsj.intercept.issued-by", issuer=leaf_issuer, label=label) if root == leaf_issuer else \
            msg("tlsj.intercept.issued-by.via", issuer=leaf_issuer, root=root, label=label)
        return verdict("intercepted", f"leaf issued by '{leaf_issuer}'{via}, not {known.label}", root, said)
    if _name_without_signature(walk.top, store):
        forged = display_name(walk.top.issuer)
        return verdict(
            "intercepted",
            f"'{display_name(walk.top.subject)}' names '{forged}' as issuer, "
            f"but the trusted '{forged}' did not sign it",
            reason_text=msg("tlsj.intercept.forged", name=display_name(walk.top.subject), forged=forged),
        )
    missing = display_name(walk.top.issuer)
    names = [c.subject for c in walk.path[1:]] + [walk.top.issuer, leaf.issuer]
    if known.judges_names and not all(known.looks_like_service_name(n) for n in names):
        return verdict("intercepted", f"leaf issued by '{leaf_issuer}', not a Microsoft or DigiCert issuing CA",
                       reason_text=msg("tlsj.intercept.not-service-ca", issuer=leaf_issuer))
    return verdict(
        "unconfirmed",
        f"the chain stops at '{missing}', which is neither served nor available here, so it cannot be confirmed "
        f"to lead to {known.label}",
        reason_text=msg("tlsj.intercept.stops", missing=missing, label=label),
    )


def _service_names_only(walk: ChainWalk, known: KnownRoots) -> bool:
    """Every issuer on the path bears a Microsoft/DigiCert name, and the top a listed root's name."""
    issuers = [walk.path[0].issuer] + [c.subject for c in walk.path[1:]]
    return (
        known.judges_names
        and known.names_root(walk.top.subject)
        and all(known.looks_like_service_name(name) for name in issuers)
    )


def _name_without_signature(top: x509.Certificate, store: TrustStore) -> bool:
    """A certificate whose issuer name is in the store, yet that certificate did not sign it: a forged name."""
    return bool(store.named(top.issuer)) and not store.issuers_of(top)


def load_known_roots(data: dict[str, Any]) -> KnownRoots:
    """From the parsed `data/microsoft_roots.toml`."""
    return KnownRoots(
        roots=tuple(KnownRoot(r["subject"], _hex(r.get("sha256")), _hex(r.get("sha1"))) for r in data.get("root", [])),
        issuer_patterns=tuple(i["pattern"] for i in data.get("issuer", [])),
        organizations=tuple(data.get("organizations", {}).get("names", [])),
        service_domains=tuple(d.lower() for d in data.get("service_domains", {}).get("names", [])),
    )


def _hex(value: str | None) -> str | None:
    return value.replace(":", "").upper() if value else None


@lru_cache(maxsize=1)
def builtin_known_roots() -> KnownRoots:
    from ems_readiness.engine.catalogues import data_toml

    return load_known_roots(data_toml("microsoft_roots.toml"))
