"""The TLS judgements as pure functions over certificates made here (and one real Microsoft chain)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from ems_readiness.judges import tls as judge
from ems_readiness.engine.catalogues import data_toml
from ems_readiness.simulate.certs import (
    STALE_CROSS_EXPIRED_DAYS_AGO,
    CertificateAuthority,
    CertificateFactory,
    Issued,
    name,
    resign_with_sha1,
    rsa_key,
)

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)
HOST = "sts.contoso.test"


@pytest.fixture(scope="module")
def factory() -> CertificateFactory:
    return CertificateFactory(now=NOW)


@pytest.fixture(scope="module")
def store(factory) -> judge.TrustStore:
    return judge.TrustStore(tuple(factory.trusted_roots()), "test bundle")


@pytest.fixture(scope="module")
def known(factory) -> judge.KnownRoots:
    return judge.builtin_known_roots().with_service_roots(factory.service_roots())


def leaf(factory, case: str, host: str = HOST) -> list[x509.Certificate]:
    return factory.leaf(case, [host]).served


def issue(ca: CertificateAuthority, hostnames: list[str], **kw) -> Issued:
    window = {"not_before": NOW - 10 * DAY, "not_after": NOW + 100 * DAY}
    return ca.issue(hostnames, **{**window, **kw})


# -- validity (TLS-001) ---------------------------------------------------------------------------


def test_valid_certificate(factory):
    verdict = judge.judge_validity(leaf(factory, "valid"), NOW, 30)
    assert verdict.state == "valid" and verdict.ok
    assert verdict.expected == "valid until after 2026-12-25 (warn_days 30)"
    assert verdict.observed == "valid until 2027-06-13 (200 days left)"


def test_expired_certificate(factory):
    verdict = judge.judge_validity(leaf(factory, "expired"), NOW, 30)
    assert verdict.state == "expired"
    assert verdict.observed == "expired 2026-10-21 (35 days ago)"
    assert verdict.days == 35


def test_expiring_within_warn_days(factory):
    verdict = judge.judge_validity(leaf(factory, "expiring"), NOW, 30)
    assert verdict.state == "expiring"
    assert verdict.observed == "expires 2026-12-05 (10 days left)"
    assert judge.judge_validity(leaf(factory, "expiring"), NOW, 7).state == "valid"


def test_not_yet_valid(factory):
    chain = issue(factory.public_issuer, [HOST], not_before=NOW + 3 * DAY).served
    verdict = judge.judge_validity(chain, NOW, 30)
    assert verdict.state == "not-yet-valid"
    assert verdict.observed == "not valid before 2026-11-28 (in 3 days)"


def test_an_expired_intermediate_is_named(factory):
    old_ca = factory.public_root.intermediate("Old Issuing CA", now=NOW - 5000 * DAY)
    chain = issue(old_ca, [HOST]).served
    verdict = judge.judge_validity(chain, NOW, 30)
    assert verdict.state == "expired"
    assert verdict.observed.startswith("intermediate 'Old Issuing CA (ems-readiness simulation)': expired ")


def test_an_expired_cross_certificate_off_the_validated_path_is_only_mentioned(factory, store):
    chain = leaf(factory, "stalecross")
    verdict = judge.judge_validity(chain, NOW, 30, store)
    assert verdict.state == "valid"
    expired = (NOW - STALE_CROSS_EXPIRED_DAYS_AGO * DAY).strftime("%Y-%m-%d")
    assert verdict.observed == (
        "valid until 2027-06-13 (200 days left); served but not on the validated path, so not judged: "
        f"intermediate 'Simulated Public Root CA (ems-readiness simulation)' expired {expired}"
    )
    assert judge.judge_path(chain, HOST, store, NOW).state == "trusted"


def test_the_trust_store_root_reached_decides_validity_too():
    old_root = CertificateAuthority.root("Old Root", now=NOW - 4000 * DAY)  # expired 350 days ago
    chain = issue(old_root.intermediate("Issuing CA", now=NOW), [HOST]).served
    verdict = judge.judge_validity(chain, NOW, 30, judge.TrustStore((old_root.cert,), "old"))
    assert verdict.state == "expired"
    assert verdict.observed.startswith("root 'Old Root (ems-readiness simulation)': expired ")


def test_a_served_root_does_not_decide_validity(factory):
    expired_root = CertificateAuthority.root("Expired Root", now=NOW - 4000 * DAY)
    chain = [issue(factory.public_issuer, [HOST]).cert, expired_root.cert]
    assert judge.judge_validity(chain, NOW, 30).state == "valid"


# -- name (TLS-002) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("sts.contoso.test", "sts.contoso.test", True),
        ("STS.Contoso.Test", "sts.contoso.test.", True),
        ("*.contoso.test", "sts.contoso.test", True),
        ("*.contoso.test", "contoso.test", False),
        ("*.contoso.test", "a.sts.contoso.test", False),
        ("*.test", "contoso.test", False),
        ("f*.contoso.test", "fs.contoso.test", False),
        ("wrong.fabrikam.test", "sts.contoso.test", False),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "localhost", False),
        ("localhost", "127.0.0.1", False),
        ("::1", "[::1]", True),
    ],
)
def test_name_covers(pattern, host, matches):
    host = host.lower().rstrip(".").strip("[]")
    assert judge.name_covers(pattern, host, judge.parse_ip(host)) is matches


def test_san_match(factory):
    verdict = judge.judge_name(leaf(factory, "valid")[0], HOST)
    assert verdict.matches and verdict.via == "san"
    assert verdict.expected == "a SAN dNSName covering sts.contoso.test"
    assert verdict.observed == "SAN: sts.contoso.test"


def test_wrong_host(factory):
    verdict = judge.judge_name(leaf(factory, "wronghost")[0], HOST)
    assert not verdict.matches and verdict.via is None
    assert verdict.observed == "SAN: wrong.fabrikam.test"


def test_ip_san(factory):
    cert = issue(factory.public_issuer, ["127.0.0.1"]).cert
    assert judge.judge_name(cert, "127.0.0.1").matches
    assert judge.judge_name(cert, "127.0.0.1").expected == "a SAN iPAddress covering 127.0.0.1"
    assert not judge.judge_name(cert, "127.0.0.2").matches


def test_subject_cn_counts_only_without_san(factory):
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(HOST))
        .issuer_name(factory.public_issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
    )
    cn_only = builder.sign(factory.public_issuer.key, hashes.SHA256())
    verdict = judge.judge_name(cn_only, HOST)
    assert verdict.matches and verdict.via == "subject-cn"
    assert verdict.observed == f"no SAN extension; subject CN: {HOST}"
    with_other_san = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("other.test")]), False)
    assert not judge.judge_name(with_other_san.sign(factory.public_issuer.key, hashes.SHA256()), HOST).matches


# -- path (TLS-003) -------------------------------------------------------------------------------


def test_trusted_chain(factory, store):
    verdict = judge.judge_path(leaf(factory, "valid"), HOST, store, NOW)
    assert verdict.state == "trusted" and verdict.ok
    assert verdict.anchor == "Simulated Public Root CA (ems-readiness simulation)"
    assert verdict.path == [HOST, "Simulated Public Issuing CA 1 (ems-readiness simulation)"]


def test_the_host_name_is_not_path_validation_s_business(factory, store):
    assert judge.judge_path(leaf(factory, "wronghost"), HOST, store, NOW).state == "trusted"


def test_incomplete_chain(factory, store):
    verdict = judge.judge_path(leaf(factory, "incomplete"), HOST, store, NOW)
    assert verdict.state == "incomplete"
    assert "only the leaf was served" in verdict.reason
    assert (
        "'Simulated Public Issuing CA 1 (ems-readiness simulation)' is neither served nor in the trust store"
        in verdict.reason
    )


def test_untrusted_root_served(factory, store):
    verdict = judge.judge_path(leaf(factory, "untrusted"), HOST, store, NOW)
    assert verdict.state == "untrusted-root"
    assert "root 'Untrusted Root CA (Unknown Issuer Ltd)', which is not in the trust store" in verdict.reason


def test_a_served_intermediate_whose_issuer_is_missing_is_incomplete(factory, store):
    chain = leaf(factory, "untrusted")[:2]
    verdict = judge.judge_path(chain, HOST, store, NOW)
    assert verdict.state == "incomplete"
    assert verdict.reason == (
        "chain incomplete: the served chain ends at intermediate 'Untrusted Issuing CA (Unknown Issuer Ltd)', "
        "whose issuer 'Untrusted Root CA (Unknown Issuer Ltd)' is neither served nor in the trust store"
    )


def test_a_self_issued_top_that_is_not_trusted_is_an_untrusted_root(factory, store):
    # the root's key certified under its own name by an older key of that name (key rollover)
    older_key = ec.generate_private_key(ec.SECP256R1())
    root = factory.untrusted_root.cert
    rollover = (
        x509.CertificateBuilder()
        .subject_name(root.subject)
        .issuer_name(root.subject)
        .public_key(root.public_key())
        .serial_number(11)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 100 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(older_key, hashes.SHA256())
    )
    verdict = judge.judge_path(leaf(factory, "untrusted")[:2] + [rollover], HOST, store, NOW)
    assert verdict.state == "untrusted-root"
    assert "root 'Untrusted Root CA (Unknown Issuer Ltd)', whose signing key is neither served" in verdict.reason


def test_self_signed(factory, store):
    verdict = judge.judge_path(leaf(factory, "selfsigned"), HOST, store, NOW)
    assert verdict.state == "self-signed"


def test_an_expired_chain_is_judged_apart_from_its_time(factory, store):
    verdict = judge.judge_path(leaf(factory, "expired"), HOST, store, NOW)
    assert verdict.state == "trusted"  # complete and trusted; the expiry is TLS-001's
    assert verdict.deferred == (("TLS-001", f"leaf '{HOST}' expired 2026-10-21"),)


def test_a_sha1_signed_leaf_is_left_to_the_strength_check(factory, store):
    verdict = judge.judge_path(leaf(factory, "sha1"), HOST, store, NOW)
    assert verdict.state == "trusted"
    assert [owner for owner, _ in verdict.deferred] == ["TLS-004"]
    assert "ecdsa-with-SHA1" in verdict.deferred[0][1]


def test_a_broken_chain_is_still_broken_when_it_has_expired_too(factory, store):
    chain = leaf(factory, "expired")[:1]  # the leaf alone: incomplete, and expired
    assert judge.judge_path(chain, HOST, store, NOW).state == "incomplete"


def test_chain_order_does_not_matter(factory, store):
    issued = factory.leaf("untrusted", [HOST])
    reordered = [issued.served[0], issued.served[2], issued.served[1]]
    own_store = judge.TrustStore((factory.untrusted_root.cert,), "untrusted root trusted")
    assert judge.judge_path(reordered, HOST, own_store, NOW).state == "trusted"


def test_unrelated_extra_certificates_are_ignored(factory, store):
    chain = leaf(factory, "valid") + [factory.untrusted_issuer.cert]
    assert judge.judge_path(chain, HOST, store, NOW).state == "trusted"


def test_empty_trust_store(factory):
    verdict = judge.judge_path(leaf(factory, "valid"), HOST, judge.TrustStore((), "nothing"), NOW)
    assert verdict.state == "no-trust-store"


def test_system_trust_store_loads():
    store = judge.load_trust_store("system")
    if judge.system_bundle_path() is None:
        pytest.skip("no system CA bundle on this machine")
    assert len(store.certs) > 50
    assert store.source.startswith("system (")


def test_without_a_bundle_file_the_system_store_is_python_s_default_context(monkeypatch, factory):
    class DefaultContext:  # on Windows, ssl loads the certificate stores of the system here
        def __init__(self, ders: list[bytes]) -> None:
            self.ders = ders

        def get_ca_certs(self, binary_form: bool = False) -> list[bytes]:
            assert binary_form
            return self.ders

    monkeypatch.setattr(judge, "system_bundle_path", lambda: None)
    der = factory.public_root.cert.public_bytes(Encoding.DER)
    monkeypatch.setattr(judge.ssl, "create_default_context", lambda: DefaultContext([der, b"not DER"]))
    store = judge.load_trust_store("system")
    assert store.certs == (factory.public_root.cert,)
    assert store.source == "system (Python's default SSL context)"
    monkeypatch.setattr(judge.ssl, "create_default_context", lambda: DefaultContext([]))
    assert judge.load_trust_store("system").source == "system (no CA bundle found)"


def test_bad_entries_do_not_spoil_a_bundle(factory):
    from ems_readiness.simulate.certs import pem

    bundle = (
        pem(factory.public_root.cert) + b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    )
    assert judge.parse_pem_certificates(bundle) == [factory.public_root.cert]


# -- strength (TLS-004) ---------------------------------------------------------------------------


def test_strong_chain(factory):
    verdict = judge.judge_strength(leaf(factory, "valid"))
    assert verdict.ok
    assert verdict.observed == (
        f"leaf '{HOST}': EC secp256r1 (256-bit), ecdsa-with-SHA256; "
        "intermediate 'Simulated Public Issuing CA 1 (ems-readiness simulation)': "
        "EC secp256r1 (256-bit), ecdsa-with-SHA256"
    )


def test_rsa_1024(factory):
    verdict = judge.judge_strength(leaf(factory, "rsa1024"))
    assert verdict.problems == [f"leaf '{HOST}': RSA 1024-bit key"]


def test_rsa_2048_is_enough(factory):
    assert judge.judge_strength(issue(factory.public_issuer, [HOST], key=rsa_key(2048)).served).ok


def test_small_curve(factory):
    chain = issue(factory.public_issuer, [HOST], key=ec.generate_private_key(ec.SECP224R1())).served
    assert judge.judge_strength(chain).problems == [f"leaf '{HOST}': EC secp224r1 (224-bit) key"]


def test_sha1_signature(factory):
    assert judge.judge_strength(leaf(factory, "sha1")).problems == [f"leaf '{HOST}': signed with ecdsa-with-SHA1"]


def test_sha1_signature_by_an_rsa_issuer(factory):
    rsa_root_key = rsa_key(2048)
    subject = name("RSA Root")
    rsa_root = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(rsa_root_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(rsa_root_key, hashes.SHA256())
    )
    rsa_ca = CertificateAuthority(rsa_root, rsa_root_key)
    cert = resign_with_sha1(issue(rsa_ca, [HOST]).cert, rsa_root_key)
    assert cert.signature_algorithm_oid._name == "sha1WithRSAEncryption"
    assert judge.signed_by(cert, rsa_root)
    assert judge.judge_strength([cert]).problems == [f"leaf '{HOST}': signed with sha1WithRSAEncryption"]


def test_a_root_s_own_sha1_signature_is_exempt(factory):
    root = CertificateAuthority.root("Old SHA-1 Root", now=NOW)
    old_root = resign_with_sha1(root.cert, root.key)
    chain = [issue(root, [HOST]).cert, old_root]
    assert judge.judge_strength(chain).ok


# -- interception (TLS-006) -----------------------------------------------------------------------

LOGIN = "login.microsoftonline.com"


def test_chain_to_a_declared_service_root_is_clean(factory, store, known):
    verdict = judge.judge_interception(leaf(factory, "microsoft", LOGIN), LOGIN, known, store)
    assert verdict.state == "clean"
    assert verdict.anchor == "Simulated Microsoft TLS Root (ems-readiness simulation)"


def test_inspection_root_in_the_trust_store_is_still_interception(factory, store, known):
    verdict = judge.judge_interception(leaf(factory, "interception", LOGIN), LOGIN, known, store)
    assert verdict.intercepted
    assert verdict.leaf_issuer == "Contoso Egress Inspection CA (Contoso Ltd)"
    assert (
        verdict.reason
        == "leaf issued by 'Contoso Egress Inspection CA (Contoso Ltd)', not a Microsoft or DigiCert root"
    )


def test_inspection_leaf_alone_is_interception(factory, known):
    chain = leaf(factory, "interception", LOGIN)[:1]
    verdict = judge.judge_interception(chain, LOGIN, known, judge.TrustStore((), "empty"))
    assert verdict.intercepted
    assert "Contoso Egress Inspection CA" in verdict.reason


def test_publicly_trusted_but_not_microsoft_is_interception(factory, store, known):
    verdict = judge.judge_interception(leaf(factory, "valid", LOGIN), LOGIN, known, store)
    assert verdict.intercepted
    assert "which chains to 'Simulated Public Root CA (ems-readiness simulation)'" in verdict.reason


def test_self_signed_leaf_is_interception(factory, store, known):
    verdict = judge.judge_interception(leaf(factory, "selfsigned", LOGIN), LOGIN, known, store)
    assert verdict.intercepted and "self-signed" in verdict.reason


def test_a_forged_issuer_name_is_caught():
    _, real_intermediate, real_root = microsoft_chain()
    forger_key = ec.generate_private_key(ec.SECP256R1())
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    # "Microsoft Azure RSA TLS Issuing CA 03", claiming the real DigiCert root as issuer, signed by someone else
    forged = (
        x509.CertificateBuilder()
        .subject_name(real_intermediate.subject)
        .issuer_name(real_root.subject)
        .public_key(intermediate_key.public_key())
        .serial_number(9)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        .sign(forger_key, hashes.SHA256())
    )
    chain = [issue(CertificateAuthority(forged, intermediate_key), ["microsoft.com"]).cert, forged]
    store = judge.TrustStore((real_root,), "DigiCert Global Root G2")
    verdict = judge.judge_interception(chain, "microsoft.com", judge.builtin_known_roots(), store)
    assert verdict.intercepted
    assert "did not sign it" in verdict.reason


def test_microsoft_names_without_a_root_to_confirm_are_unconfirmed():
    leaf_cert, intermediate, _ = microsoft_chain()
    verdict = judge.judge_interception(
        [leaf_cert, intermediate], "microsoft.com", judge.builtin_known_roots(), judge.TrustStore((), "empty")
    )
    assert verdict.state == "unconfirmed"
    assert "DigiCert Global Root G2" in verdict.reason


UPDATE = "sls.update.microsoft.com"


def update_chain(intermediate: str = "Microsoft Update Secure Server CA 2.1", org: str | None = None):
    """The shape of sls.update.microsoft.com's chain, made here: leaf → issuing CA → a served
    self-signed root named 'Microsoft Root Certificate Authority 2011' (not the real one)."""
    root = CertificateAuthority.root("Microsoft Root Certificate Authority 2011", "Microsoft Corporation", now=NOW)
    return issue(root.intermediate(intermediate, org, now=NOW), [UPDATE], include_root=True).served


def test_the_windows_update_root_is_known_by_its_fingerprint():
    root = x509.load_pem_x509_certificate(MICROSOFT_ROOT_CA_2011.encode())
    known = judge.builtin_known_roots()
    assert judge.is_self_signed(root) and known.recognises(root) and known.names_root(root.subject)
    listed = [r for r in data_toml("microsoft_roots.toml")["root"] if r["subject"] == root.subject.rfc4514_string()]
    assert listed and listed[0]["sha256"] == judge.fingerprint(root)


def test_a_served_root_with_a_known_microsoft_name_only_is_unconfirmed():
    verdict = judge.judge_interception(update_chain(), UPDATE, judge.builtin_known_roots(), judge.TrustStore((), "empty"))
    assert verdict.state == "unconfirmed"
    assert verdict.reason == (
        "the chain ends at the served root 'Microsoft Root Certificate Authority 2011 (Microsoft Corporation)', "
        "which bears the name of a known root but not its fingerprint and is not in the trust store, so it "
        "cannot be confirmed to lead to a Microsoft or DigiCert root"
    )


def test_a_foreign_issuer_under_a_microsoft_named_root_is_interception():
    chain = update_chain("Contoso Egress Inspection CA", "Contoso Ltd")
    verdict = judge.judge_interception(chain, UPDATE, judge.builtin_known_roots(), judge.TrustStore((), "empty"))
    assert verdict.intercepted
    assert "leaf issued by 'Contoso Egress Inspection CA (Contoso Ltd)'" in verdict.reason


def test_a_microsoft_organisation_root_with_an_unlisted_name_is_interception():
    root = CertificateAuthority.root("Microsoft Inspection Root", "Microsoft Corporation", now=NOW)
    chain = issue(root.intermediate("Microsoft Update Secure Server CA 2.1", now=NOW), [UPDATE], include_root=True).served
    verdict = judge.judge_interception(chain, UPDATE, judge.builtin_known_roots(), judge.TrustStore((), "empty"))
    assert verdict.intercepted


def test_the_real_microsoft_com_chain_is_clean():
    """microsoft.com as served on 2025-09-18 (x509-limbo `online::microsoft.com`), judged against the
    real DigiCert Global Root G2: the catalogue's fingerprint is that certificate's."""
    leaf_cert, intermediate, root = microsoft_chain()
    verdict = judge.judge_interception(
        [leaf_cert, intermediate], "microsoft.com", judge.builtin_known_roots(), judge.TrustStore((root,), "DigiCert")
    )
    assert verdict.state == "clean"
    assert verdict.anchor == "DigiCert Global Root G2 (DigiCert Inc)"
    assert verdict.leaf_issuer == "Microsoft Azure RSA TLS Issuing CA 03 (Microsoft Corporation)"
    assert (
        judge.judge_path(
            [leaf_cert, intermediate],
            "microsoft.com",
            judge.TrustStore((root,), "DigiCert"),
            dt.datetime(2025, 9, 18, 4, tzinfo=dt.timezone.utc),
        ).state
        == "trusted"
    )
    assert judge.judge_name(leaf_cert, "store.microsoft.com").matches


def test_third_party_hosts_are_judged_against_a_public_bundle(factory, known):
    public = judge.TrustStore((factory.public_root.cert,), "public bundle")
    assert known.operates(LOGIN) and known.operates("enterpriseenrollment.manage.microsoft.com")
    assert not known.operates("ekop.intel.com") and not known.operates("evilmicrosoft.com")
    third_party = known.for_third_party(public)
    chain = leaf(factory, "valid", "ekop.intel.com")
    assert (
        judge.judge_interception(chain, "ekop.intel.com", third_party, judge.TrustStore((), "empty")).state == "clean"
    )
    intercepted = judge.judge_interception(
        leaf(factory, "interception", "ekop.intel.com"),
        "ekop.intel.com",
        third_party,
        judge.TrustStore((factory.interception_ca.cert,), "system"),
    )
    assert intercepted.intercepted
    assert "not a root of the public CA bundle (public bundle)" in intercepted.reason


# -- the known-roots catalogue ----------------------------------------------------------------------


def test_catalogue_entries_are_complete():
    data = data_toml("microsoft_roots.toml")
    for root in data["root"]:
        assert root["subject"] and root["status"] in ("verified", "3p", "recall"), root
        assert root.get("sha256") or root.get("sha1"), root
    for issuer in data["issuer"]:
        assert issuer["pattern"] and issuer["status"] in ("doc", "3p", "recall"), issuer
    assert "microsoftonline.com" in data["service_domains"]["names"]


def test_verified_roots_match_the_certificates_in_the_system_bundle():
    store = judge.load_trust_store("system")
    by_subject = {c.subject.rfc4514_string(): c for c in store.certs}
    verified = [r for r in data_toml("microsoft_roots.toml")["root"] if r["status"] == "verified"]
    found = [r for r in verified if r["subject"] in by_subject]
    if not found:
        pytest.skip("no system CA bundle with these roots on this machine")
    for root in found:
        cert = by_subject[root["subject"]]
        assert judge.fingerprint(cert) == root["sha256"], root["subject"]
        assert cert.fingerprint(hashes.SHA1()).hex().upper() == root["sha1"], root["subject"]


def test_describe_gives_the_evidence_fields(factory):
    described = judge.describe(leaf(factory, "valid")[0])
    assert described["san"] == [HOST]
    assert described["not_after"] == "2027-06-13T12:00:00Z"
    assert described["key"] == "EC secp256r1 (256-bit)"
    assert len(described["sha256"]) == 64


# -- the real chain ---------------------------------------------------------------------------------


def microsoft_chain() -> tuple[x509.Certificate, x509.Certificate, x509.Certificate]:
    certs = x509.load_pem_x509_certificates(
        (MICROSOFT_COM_LEAF + MICROSOFT_AZURE_RSA_TLS_CA_03 + DIGICERT_GLOBAL_ROOT_G2).encode()
    )
    return certs[0], certs[1], certs[2]


# Public certificates from C2SP/x509-limbo `limbo/_assets/online/microsoft.com.limbo.json`
# (commit 6d5d4d0e, validation_time 2025-09-18); the root is byte-identical to Debian's copy.
MICROSOFT_COM_LEAF = """\
-----BEGIN CERTIFICATE-----
MIIYGjCCFgKgAwIBAgITMwLHd4Bv52MfUdJLAQAAAsd3gDANBgkqhkiG9w0BAQwF
ADBdMQswCQYDVQQGEwJVUzEeMBwGA1UEChMVTWljcm9zb2Z0IENvcnBvcmF0aW9u
MS4wLAYDVQQDEyVNaWNyb3NvZnQgQXp1cmUgUlNBIFRMUyBJc3N1aW5nIENBIDAz
MB4XDTI1MDkxODAzNDkzN1oXDTI2MDMxNzAzNDkzN1owZDELMAkGA1UEBhMCVVMx
CzAJBgNVBAgTAldBMRAwDgYDVQQHEwdSZWRtb25kMR4wHAYDVQQKExVNaWNyb3Nv
ZnQgQ29ycG9yYXRpb24xFjAUBgNVBAMTDW1pY3Jvc29mdC5jb20wggEiMA0GCSqG
SIb3DQEBAQUAA4IBDwAwggEKAoIBAQDe0CDIT9sj7DNCHzp5NJLMaqffoa4VfB9D
0Hjc+N4vJ+iEoHP/yE+RE9gUKliXNKLjjt63gSpzjGqe1X2cKWaZKwRFzdkNPhFy
TVesGkFWyWemo8ThDnLq6/dTj8pNNvNBPR92OLLbe9g+4ksoVCDhusxdP+Wxd+CM
ujuCld9hPFcSVaBIWaQ+UfBubXRV97T4fVfZalsJ96/mSVx1KBMPy/WLjMaz51vF
4ds85eh9sreWFT2Y8HnJjx03MBTtq1LT/aS6XAfJpiXZ5WzdBjSR0AKPypHySOC3
7nzJZeWmhwfXmhd7UIazoSsc/A/1UI9+QAZm9W0eve4Aw33NvnElAgMBAAGjghPK
MIITxjCCAX0GCisGAQQB1nkCBAIEggFtBIIBaQFnAHUAlpdkv1VYl633Q4doNwhC
d+nwOtX2pPM2bkakPw/KqcYAAAGZWvpbJgAABAMARjBEAiAvvmLZbQ8me4Frw36z
nAiNzBa9+eW30a9x7jg6ErSoyQIgPPfZwD0vtvpryRmL/v5c9eiwd98t5Obym8t0
ylBZWIUAdgBkEcRspBLsp4kcogIuALyrTygH1B41J6vq/tUDyX3N8AAAAZla+lry
AAAEAwBHMEUCIB9SFAfmRVdnky2Zqeu63ac7zeDYbD6lt6oMHg/2HbjiAiEA62MI
O7naNUNFkv5wMX4D29tm/5kdGSubX0jittAx5K8AdgBWbNWjdr6D3+NCtnXEnCMk
mKdpusOCy6tJo4d9mrMtAQAAAZla+lsOAAAEAwBHMEUCIHEoJzyF/7EqZKVlhIX3
bTUm9lfM8yRIfrGuk73CkShwAiEAg8C6u2hpMGxRUEKHZXcLt6xqfmN2PEOneRYd
XrnEyAcwJwYJKwYBBAGCNxUKBBowGDAKBggrBgEFBQcDAjAKBggrBgEFBQcDATA8
BgkrBgEEAYI3FQcELzAtBiUrBgEEAYI3FQiHvdcbgefrRoKBnS6O0AyH8NodXYKr
5zCH7fEfAgFkAgEtMIG0BggrBgEFBQcBAQSBpzCBpDBzBggrBgEFBQcwAoZnaHR0
cDovL3d3dy5taWNyb3NvZnQuY29tL3BraW9wcy9jZXJ0cy9NaWNyb3NvZnQlMjBB
enVyZSUyMFJTQSUyMFRMUyUyMElzc3VpbmclMjBDQSUyMDAzJTIwLSUyMHhzaWdu
LmNydDAtBggrBgEFBQcwAYYhaHR0cDovL29uZW9jc3AubWljcm9zb2Z0LmNvbS9v
Y3NwMB0GA1UdDgQWBBRshnM8aZoPyoAO9vB6iukNjv/CLDAOBgNVHQ8BAf8EBAMC
BaAwgg/SBgNVHREEgg/JMIIPxYINbWljcm9zb2Z0LmNvbYIPcy5taWNyb3NvZnQu
Y29tghBnYS5taWNyb3NvZnQuY29tghFhZXAubWljcm9zb2Z0LmNvbYIRYWVyLm1p
Y3Jvc29mdC5jb22CEWdydi5taWNyb3NvZnQuY29tghFodXAubWljcm9zb2Z0LmNv
bYIRbWFjLm1pY3Jvc29mdC5jb22CEW1rYi5taWNyb3NvZnQuY29tghFwbWUubWlj
cm9zb2Z0LmNvbYIRcG1pLm1pY3Jvc29mdC5jb22CEXJzcy5taWNyb3NvZnQuY29t
ghFzYXIubWljcm9zb2Z0LmNvbYIRdGNvLm1pY3Jvc29mdC5jb22CEmZ1c2UubWlj
cm9zb2Z0LmNvbYISaWVhay5taWNyb3NvZnQuY29tghJtYWMyLm1pY3Jvc29mdC5j
b22CEm1jc3AubWljcm9zb2Z0LmNvbYISb3Blbi5taWNyb3NvZnQuY29tghJzaG9w
Lm1pY3Jvc29mdC5jb22CEnNwdXIubWljcm9zb2Z0LmNvbYITaXRwcm8ubWljcm9z
b2Z0LmNvbYITbWFuZ28ubWljcm9zb2Z0LmNvbYITbXVzaWMubWljcm9zb2Z0LmNv
bYITcHltZXMubWljcm9zb2Z0LmNvbYITc3RvcmUubWljcm9zb2Z0LmNvbYIUYWV0
aGVyLm1pY3Jvc29mdC5jb22CFGFsZXJ0cy5taWNyb3NvZnQuY29tghRkZXNpZ24u
bWljcm9zb2Z0LmNvbYIUZ2FyYWdlLm1pY3Jvc29mdC5jb22CFGdpZ2phbS5taWNy
b3NvZnQuY29tghRtc2N0ZWMubWljcm9zb2Z0LmNvbYIUb25saW5lLm1pY3Jvc29m
dC5jb22CFHN0cmVhbS5taWNyb3NvZnQuY29tghVhZmZsaW5rLm1pY3Jvc29mdC5j
b22CFWNvbm5lY3QubWljcm9zb2Z0LmNvbYIVZGV2ZWxvcC5taWNyb3NvZnQuY29t
ghVkb21haW5zLm1pY3Jvc29mdC5jb22CFWV4YW1wbGUubWljcm9zb2Z0LmNvbYIV
bWFkZWlyYS5taWNyb3NvZnQuY29tghVtc2RuaXN2Lm1pY3Jvc29mdC5jb22CFW1z
cHJlc3MubWljcm9zb2Z0LmNvbYIVd3d3LmFlcC5taWNyb3NvZnQuY29tghV3d3cu
YWVyLm1pY3Jvc29mdC5jb22CFXd3d2JldGEubWljcm9zb2Z0LmNvbYIWYnVzaW5l
c3MubWljcm9zb2Z0LmNvbYIWZW1wcmVzYXMubWljcm9zb2Z0LmNvbYIWbGVhcm5p
bmcubWljcm9zb2Z0LmNvbYIWbXNkbndpa2kubWljcm9zb2Z0LmNvbYIWb3Blbm5l
c3MubWljcm9zb2Z0LmNvbYIWcGlucG9pbnQubWljcm9zb2Z0LmNvbYIWc25hY2ti
b3gubWljcm9zb2Z0LmNvbYIWc3BvbnNvcnMubWljcm9zb2Z0LmNvbYIWc3RhdGlv
bnEubWljcm9zb2Z0LmNvbYIXYWlzdG9yaWVzLm1pY3Jvc29mdC5jb22CF2NvbW11
bml0eS5taWNyb3NvZnQuY29tghdjcmF3bG1zZG4ubWljcm9zb2Z0LmNvbYIXaW90
c2Nob29sLm1pY3Jvc29mdC5jb22CF21lc3Nlbmdlci5taWNyb3NvZnQuY29tghdt
aW5lY3JhZnQubWljcm9zb2Z0LmNvbYIYYmFja29mZmljZS5taWNyb3NvZnQuY29t
ghhlbnRlcnByaXNlLm1pY3Jvc29mdC5jb22CGGlvdGNlbnRyYWwubWljcm9zb2Z0
LmNvbYIYcGludW5ibG9jay5taWNyb3NvZnQuY29tghhyZXJvdXRlNDQzLm1pY3Jv
c29mdC5jb22CGWNvbW11bml0aWVzLm1pY3Jvc29mdC5jb22CGWV4cGxvcmUtc21i
Lm1pY3Jvc29mdC5jb22CGWV4cHJlc3Npb25zLm1pY3Jvc29mdC5jb22CGW9uZGVy
bmVtZXJzLm1pY3Jvc29mdC5jb22CGXRlY2hhY2FkZW15Lm1pY3Jvc29mdC5jb22C
GXRlcnJhc2VydmVyLm1pY3Jvc29mdC5jb22CGmNvbW11bml0aWVzMi5taWNyb3Nv
ZnQuY29tghpjb25uZWN0ZXZlbnQubWljcm9zb2Z0LmNvbYIaZGF0YXBsYXRmb3Jt
Lm1pY3Jvc29mdC5jb22CGmVudHJlcHJlbmV1ci5taWNyb3NvZnQuY29tghpoeGQu
cmVzZWFyY2gubWljcm9zb2Z0LmNvbYIabXNwYXJ0bmVyaXJhLm1pY3Jvc29mdC5j
b22CGm15ZGF0YWhlYWx0aC5taWNyb3NvZnQuY29tghpvZW1jb21tdW5pdHkubWlj
cm9zb2Z0LmNvbYIacmVhbC1zdG9yaWVzLm1pY3Jvc29mdC5jb22CGnd3dy5mb3Jt
c3Byby5taWNyb3NvZnQuY29tghtmdXR1cmVkZWNvZGVkLm1pY3Jvc29mdC5jb22C
G3VwZ3JhZGVjZW50ZXIubWljcm9zb2Z0LmNvbYIcbGVhcm5hbmFseXRpY3MubWlj
cm9zb2Z0LmNvbYIcb25saW5lbGVhcm5pbmcubWljcm9zb2Z0LmNvbYIdYnVzaW5l
c3NjZW50cmFsLm1pY3Jvc29mdC5jb22CHWNsb3VkLWltbWVyc2lvbi5taWNyb3Nv
ZnQuY29tgh1zdHVkZW50cGFydG5lcnMubWljcm9zb2Z0LmNvbYIeYW5hbHl0aWNz
cGFydG5lci5taWNyb3NvZnQuY29tgh5idXNpbmVzc3BsYXRmb3JtLm1pY3Jvc29m
dC5jb22CHmV4cGxvcmUtc2VjdXJpdHkubWljcm9zb2Z0LmNvbYIea2xlaW51bnRl
cm5laG1lbi5taWNyb3NvZnQuY29tgh5wYXJ0bmVyY29tbXVuaXR5Lm1pY3Jvc29m
dC5jb22CH2V4cGxvcmUtbWFya2V0aW5nLm1pY3Jvc29mdC5jb22CH2lubm92YXRp
b25jb250ZXN0Lm1pY3Jvc29mdC5jb22CH3BhcnRuZXJpbmNlbnRpdmVzLm1pY3Jv
c29mdC5jb22CH3Bob2VuaXhjYXRhbG9ndWF0Lm1pY3Jvc29mdC5jb22CH3N6a29s
eXByenlzemxvc2NpLm1pY3Jvc29mdC5jb22CH3d3dy5wb3dlcmF1dG9tYXRlLm1p
Y3Jvc29mdC5jb22CIHN1Y2Nlc3Npb25wbGFubmluZy5taWNyb3NvZnQuY29tgiJs
dW1pYWNvbnZlcnNhdGlvbnN1ay5taWNyb3NvZnQuY29tgiNzdWNjZXNzaW9ucGxh
bm5pbmd1YXQubWljcm9zb2Z0LmNvbYIkYnVzaW5lc3Ntb2JpbGl0eWNlbnRlci5t
aWNyb3NvZnQuY29tgiVza3lwZWFuZHRlYW1zLmZhc3R0cmFjay5taWNyb3NvZnQu
Y29tgid3d3cubWljcm9zb2Z0ZGxhcGFydG5lcm93Lm1pY3Jvc29mdC5jb22CKGNv
bW1lcmNpYWxhcHBjZXJ0aWZpY2F0aW9uLm1pY3Jvc29mdC5jb22CKXd3dy5za3lw
ZWFuZHRlYW1zLmZhc3R0cmFjay5taWNyb3NvZnQuY29tgiJjZW9jb25uZWN0aW9u
cy5ldmVudC5taWNyb3NvZnQuY29tghhiaXo0YWZyaWthLm1pY3Jvc29mdC5jb22C
FmNhc2hiYWNrLm1pY3Jvc29mdC5jb22CGnd3dy5jYXNoYmFjay5taWNyb3NvZnQu
Y29tghN2aXNpby5taWNyb3NvZnQuY29tghdpbnNpZGVtc3IubWljcm9zb2Z0LmNv
bYIfZGV2ZWxvcGVydmVsb2NpdHlhc3Nlc3NtZW50LmNvbYIjd3d3LmRldmVsb3Bl
cnZlbG9jaXR5YXNzZXNzbWVudC5jb22CCmdlYXJzNS5jb22CDnd3dy5nZWFyczUu
Y29tghR3d3cuZ2VhcnN0YWN0aWNzLmNvbYIQZ2VhcnN0YWN0aWNzLmNvbYIRbTEy
Lm1pY3Jvc29mdC5jb22CDHNlZWluZ2FpLmNvbYIYeW91cmNob2ljZS5taWNyb3Nv
ZnQuY29tghltdnRkLmV2ZW50cy5taWNyb3NvZnQuY29tghVpbWFnaW5lLm1pY3Jv
c29mdC5jb22CEG1pY3Jvc29mdC5jb20uYXWCFHd3dy5taWNyb3NvZnQuY29tLmF1
ghZkeW5hbWljcy5taWNyb3NvZnQuY29tghtwb3dlcnBsYXRmb3JtLm1pY3Jvc29m
dC5jb22CF3Bvd2VyYXBwcy5taWNyb3NvZnQuY29tghtwb3dlcmF1dG9tYXRlLm1p
Y3Jvc29mdC5jb22CIHBvd2VydmlydHVhbGFnZW50cy5taWNyb3NvZnQuY29tghhw
b3dlcnBhZ2VzLm1pY3Jvc29mdC5jb22CH3Rlc3QuaWRlYXMuZmFicmljLm1pY3Jv
c29mdC5jb22CEXNkcy5taWNyb3NvZnQuY29tghVwcGUuc2RzLm1pY3Jvc29mdC5j
b22CG3d3dy5taWNyb3NvZnQzNjVjb3BpbG90LmNvbYIQd3d3LmpjbGFyaXR5LmNv
bYIbdGVjaGlubm92YXRvcnNzcG90bGlnaHQuY29tgh93d3cudGVjaGlubm92YXRv
cnNzcG90bGlnaHQuY29tggpjb3BpbG90LmFpghVnZXRsaWNlbnNpbmdyZWFkeS5j
b22CGXd3dy5nZXRsaWNlbnNpbmdyZWFkeS5jb22CFGpwbi5kZWx2ZS5vZmZpY2Uu
Y29tghRhdXMuZGVsdmUub2ZmaWNlLmNvbYIUaW5kLmRlbHZlLm9mZmljZS5jb22C
FGtvci5kZWx2ZS5vZmZpY2UuY29tghZjb2JyYS5tZS5taWNyb3NvZnQuY29tghd3
d3cuYnVzaW5lc3NjZW50cmFsLmNvbYITYnVzaW5lc3NjZW50cmFsLmNvbYIcbXNh
aWRhdGFzdHVkaW8ub2ZmaWNlcHBlLm5ldIIaaWRlYXMuZmFicmljLm1pY3Jvc29m
dC5jb22CDHd3dy5jcHQubGlua4IIY3B0LmxpbmuCDHlhcnAuZG90Lm5ldIITbWlj
cm9zb2Z0c3RyZWFtLmNvbYIXd3d3Lm1pY3Jvc29mdHN0cmVhbS5jb22CF3dlYi5t
aWNyb3NvZnRzdHJlYW0uY29tghNkaXNjb3Zlci5jb3BpbG90LmFpggtjb3BpbG90
LmNvbYIPd3d3LmNvcGlsb3QuY29tghRkaXNjb3Zlci5jb3BpbG90LmNvbYIbcmVz
ZWFyY2hmb3J1bS5taWNyb3NvZnQuY29tMAwGA1UdEwEB/wQCMAAwagYDVR0fBGMw
YTBfoF2gW4ZZaHR0cDovL3d3dy5taWNyb3NvZnQuY29tL3BraW9wcy9jcmwvTWlj
cm9zb2Z0JTIwQXp1cmUlMjBSU0ElMjBUTFMlMjBJc3N1aW5nJTIwQ0ElMjAwMy5j
cmwwZgYDVR0gBF8wXTBRBgwrBgEEAYI3TIN9AQEwQTA/BggrBgEFBQcCARYzaHR0
cDovL3d3dy5taWNyb3NvZnQuY29tL3BraW9wcy9Eb2NzL1JlcG9zaXRvcnkuaHRt
MAgGBmeBDAECAjAfBgNVHSMEGDAWgBT+CXFAVQUQRNikgXW4nhrpSgaIyDAdBgNV
HSUEFjAUBggrBgEFBQcDAgYIKwYBBQUHAwEwDQYJKoZIhvcNAQEMBQADggIBADxH
aJWX73pz5Q8LI17pOBMgzxqZFJ6gfqQGd/qi0SLPCDqYK4h0ik+xAU5GvQ+/7LJs
MCQ732jafzJWnLUOHdAhLD2ikZNiimtaiAMZDEeISf5zOqeKAPuCIhXKl2mq9KU5
jmP1HO6XUhXMhxXIJmy1Z6E6Nn/KlWKMGBotZXpenAOKqF7ksIJnqQDWLf41nT8i
txjIBOzzg87aJjAMI4DjPxO9GaQoBELkCg3vYzM+oEg9TQfHY3XFsvW77JVk1KzH
1fI90R791exYl1zBGxBGvORdsq3Oskf+cKiup6awFfOvfV+zCEu+0U88Bl8nW3Na
R9AX3JjxrjAxTGH/lsBTCxiTR7v86QY8aahw81nMfXOSlkJNxQsc7T1S1X/6TlGf
SvhV+y3WGsgX5R7J4AX3GRvf7s1XIApLmVFFBpjHNRv9ewYy8BBX2ysnB2EN2259
Iwhtv1zcQdGbr7hd6Gsi3iRiFwUyySLrg2OBli1TkivQMzlma/qDgPlz0n7G3R2z
wd9j9ey73MH0V+Yd8Jq/ujRDIVK39QZVugyOsucZqj6kTFtERJn4+qXigk6ak5jh
5VNoOWJABd2+gzYrD4LC1TpM+x6BPOxhpCfaGRuDn9siiJq9LJ5VtUe9cYDc9RH1
w+DZMimsF7+wkdKll5bRXljaje1CyZDCj0oma4CQ
-----END CERTIFICATE-----
"""

MICROSOFT_AZURE_RSA_TLS_CA_03 = """\
-----BEGIN CERTIFICATE-----
MIIFrDCCBJSgAwIBAgIQBRllJkSaXj0aOHSPXc/rzDANBgkqhkiG9w0BAQwFADBh
MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMRkwFwYDVQQLExB3
d3cuZGlnaWNlcnQuY29tMSAwHgYDVQQDExdEaWdpQ2VydCBHbG9iYWwgUm9vdCBH
MjAeFw0yMzA2MDgwMDAwMDBaFw0yNjA4MjUyMzU5NTlaMF0xCzAJBgNVBAYTAlVT
MR4wHAYDVQQKExVNaWNyb3NvZnQgQ29ycG9yYXRpb24xLjAsBgNVBAMTJU1pY3Jv
c29mdCBBenVyZSBSU0EgVExTIElzc3VpbmcgQ0EgMDMwggIiMA0GCSqGSIb3DQEB
AQUAA4ICDwAwggIKAoICAQCUaitvevlZirydcTjMIt2fr5ei7LvQx7bdIVobgEZ1
Qlqf3BH6etKdmZChydkN0XXAb8Ysew8aCixKtrVeDCe5xRRCnKaFcEvqg2cSfbpX
FevXDvfbTK2ed7YASOJ/pv31stqHd9m0xWZLCmsXZ8x6yIxgEGVHjIAOCyTAgcQy
8ItIjmxn3Vu2FFVBemtP38Nzur/8id85uY7QPspI8Er8qVBBBHp6PhxTIKxAZpZb
XtBf2VxIKbvUGEvCxWCrKNfv+j0oEqDpXOqGFpVBK28Q48u/0F+YBUY8FKP4rfgF
I4lG9mnzMmCL76k+HjyBtU5zikDGqgm4mlPXgSRqEh0CvQS7zyrBRWiJCfK0g67f
69CVGa7fji8pz99J59s8bYW7jgyro93LCGb4N3QfJLurB//ehDp33XdIhizJtopj
UoFUGLnomVnMRTUNtMSAy7J4r1yjJDLufgnrPZ0yjYo6nyMiFswCaMmFfclUKtGz
zbPDpIBuf0hmvJAt0LyWlYUst5geusPxbkM5XOhLn7px+/y+R0wMT3zNZYQxlsLD
bXGYsRdE9jxcIts+IQwWZGnmHhhC1kvKC/nAYcqBZctMQB5q/qsPH652dc73zOx6
Bp2gTZqokGCv5PGxiXcrwouOUIlYgizBDYGBDU02S4BRDM3oW9motVUonBnF8JHV
RwIDAQABo4IBYjCCAV4wEgYDVR0TAQH/BAgwBgEB/wIBADAdBgNVHQ4EFgQU/glx
QFUFEETYpIF1uJ4a6UoGiMgwHwYDVR0jBBgwFoAUTiJUIBiV5uNu5g/6+rkS7QYX
jzkwDgYDVR0PAQH/BAQDAgGGMB0GA1UdJQQWMBQGCCsGAQUFBwMBBggrBgEFBQcD
AjB2BggrBgEFBQcBAQRqMGgwJAYIKwYBBQUHMAGGGGh0dHA6Ly9vY3NwLmRpZ2lj
ZXJ0LmNvbTBABggrBgEFBQcwAoY0aHR0cDovL2NhY2VydHMuZGlnaWNlcnQuY29t
L0RpZ2lDZXJ0R2xvYmFsUm9vdEcyLmNydDBCBgNVHR8EOzA5MDegNaAzhjFodHRw
Oi8vY3JsMy5kaWdpY2VydC5jb20vRGlnaUNlcnRHbG9iYWxSb290RzIuY3JsMB0G
A1UdIAQWMBQwCAYGZ4EMAQIBMAgGBmeBDAECAjANBgkqhkiG9w0BAQwFAAOCAQEA
AQkxu6RRPlD3yrYhxg9jIlVZKjAnC9H+D0SSq4j1I8dNImZ4QjexTEv+224CSvy4
zfp9gmeRfC8rnrr4FN4UFppYIgqR4H7jIUVMG9ECUcQj2Ef11RXqKOg5LK3fkoFz
/Nb9CYvg4Ws9zv8xmE1Mr2N6WDgLuTBIwul2/7oakjj8MA5EeijIjHgB1/0r5mPm
eFYVx8xCuX/j7+q4tH4PiHzzBcfqb3k0iR4DlhiZfDmy4FuNWXGM8ZoMM43EnRN/
meqAcMkABZhY4gqeWZbOgxber297PnGOCcIplOwpPfLu1A1K9frVwDzAG096a8L0
+ItQCmz7TjRH4ptX5Zh9pw==
-----END CERTIFICATE-----
"""

DIGICERT_GLOBAL_ROOT_G2 = """\
-----BEGIN CERTIFICATE-----
MIIDjjCCAnagAwIBAgIQAzrx5qcRqaC7KGSxHQn65TANBgkqhkiG9w0BAQsFADBh
MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMRkwFwYDVQQLExB3
d3cuZGlnaWNlcnQuY29tMSAwHgYDVQQDExdEaWdpQ2VydCBHbG9iYWwgUm9vdCBH
MjAeFw0xMzA4MDExMjAwMDBaFw0zODAxMTUxMjAwMDBaMGExCzAJBgNVBAYTAlVT
MRUwEwYDVQQKEwxEaWdpQ2VydCBJbmMxGTAXBgNVBAsTEHd3dy5kaWdpY2VydC5j
b20xIDAeBgNVBAMTF0RpZ2lDZXJ0IEdsb2JhbCBSb290IEcyMIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuzfNNNx7a8myaJCtSnX/RrohCgiN9RlUyfuI
2/Ou8jqJkTx65qsGGmvPrC3oXgkkRLpimn7Wo6h+4FR1IAWsULecYxpsMNzaHxmx
1x7e/dfgy5SDN67sH0NO3Xss0r0upS/kqbitOtSZpLYl6ZtrAGCSYP9PIUkY92eQ
q2EGnI/yuum06ZIya7XzV+hdG82MHauVBJVJ8zUtluNJbd134/tJS7SsVQepj5Wz
tCO7TG1F8PapspUwtP1MVYwnSlcUfIKdzXOS0xZKBgyMUNGPHgm+F6HmIcr9g+UQ
vIOlCsRnKPZzFBQ9RnbDhxSJITRNrw9FDKZJobq7nMWxM4MphQIDAQABo0IwQDAP
BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBhjAdBgNVHQ4EFgQUTiJUIBiV
5uNu5g/6+rkS7QYXjzkwDQYJKoZIhvcNAQELBQADggEBAGBnKJRvDkhj6zHd6mcY
1Yl9PMWLSn/pvtsrF9+wX3N3KjITOYFnQoQj8kVnNeyIv/iPsGEMNKSuIEyExtv4
NeF22d+mQrvHRAiGfzZ0JFrabA0UWTW98kndth/Jsw1HKj2ZL7tcu7XUIOGZX1NG
Fdtom/DzMNU+MeKNhJ7jitralj41E6Vf8PlwUHBHQRFXGU7Aj64GxJUTFy8bJZ91
8rGOmaFvE7FBcf6IKshPECBV1/MUReXgRPTqh5Uykw7+U0b6LJ3/iyK5S9kJRaTe
pLiaWN0bfVKfjllDiIGknibVb63dDcY3fe0Dkhvld1927jyNxF1WW6LZZm6zNTfl
MrY=
-----END CERTIFICATE-----
"""

# Microsoft Root Certificate Authority 2011 (MicRooCerAut2011_2011_03_22.crt), the root of Windows Update;
# copied from a public repository. Not in Debian's bundle or certifi, so not checked against one here.
MICROSOFT_ROOT_CA_2011 = """\
-----BEGIN CERTIFICATE-----
MIIF7TCCA9WgAwIBAgIQP4vItfyfspZDtWnWbELhRDANBgkqhkiG9w0BAQsFADCB
iDELMAkGA1UEBhMCVVMxEzARBgNVBAgTCldhc2hpbmd0b24xEDAOBgNVBAcTB1Jl
ZG1vbmQxHjAcBgNVBAoTFU1pY3Jvc29mdCBDb3Jwb3JhdGlvbjEyMDAGA1UEAxMp
TWljcm9zb2Z0IFJvb3QgQ2VydGlmaWNhdGUgQXV0aG9yaXR5IDIwMTEwHhcNMTEw
MzIyMjIwNTI4WhcNMzYwMzIyMjIxMzA0WjCBiDELMAkGA1UEBhMCVVMxEzARBgNV
BAgTCldhc2hpbmd0b24xEDAOBgNVBAcTB1JlZG1vbmQxHjAcBgNVBAoTFU1pY3Jv
c29mdCBDb3Jwb3JhdGlvbjEyMDAGA1UEAxMpTWljcm9zb2Z0IFJvb3QgQ2VydGlm
aWNhdGUgQXV0aG9yaXR5IDIwMTEwggIiMA0GCSqGSIb3DQEBAQUAA4ICDwAwggIK
AoICAQCygEGqNThNE3IyaCJNuLLx/9VSvGzH9dJKjDbu0cJcfoyKrq8TKG/Ac+M6
ztAlqFo6be+ouFmrEyNozQwph9FvgFyPRH9dkAFSWKxRxV8qh9zc2AodwQO5e7BW
6KPeZGHCnvjzfLnsDbVU/ky2ZU+I8JxImQxCCwl8MVkXeQZ4KI2JOkwDJb5xalwL
54RgpJki49KvhKSn+9GY7Qyp3pSJ4Q6g3MDOmT3qCFK7VnnkH4S6Hri0xElcTzFL
h93dBWcmmYDgcRGjuKVB4qRTufcyKYMME782XgSzS0NHL2vikR7TmE/dQgfI6B0S
/Jmpaz6SfsjWaTr8ZL22CZ3K/QwLopt3YEsDlKQwaRLWQi3BQUzK3Kr9j1uDRprZ
/LHR47PJf0h6zSTwQY9cdNCssBAgBkm3xy0hyFfj0IbzA2j70M5xwYmZSmQBbP3s
MJHPQTySx+W6hh1hhMdfgzlirrSSL0fzC/hV66AfWdC7dJse0Hbm8ukG1xDo+mTe
acY1logC8Ea4PyeZb8txiSk190gWAjWP1Xl8TQLPX+uKg09FcYj5qQ1OcunCnAfP
SRtOBA5jUYxe2ADBVSy2xuDCZU7JNDn1nLPEfuhhbhNfFcRf2X7tHc7uROzLLoax
7Dj2cO2rXBPB2Q8Nx4CyVe0096yb5MPa50c8prWPMd/FS6/r8QIDAQABo1EwTzAL
BgNVHQ8EBAMCAYYwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUci06AjGQQ7kU
BU7h6qfHMdEjiTQwEAYJKwYBBAGCNxUBBAMCAQAwDQYJKoZIhvcNAQELBQADggIB
AH9yzw+3xRXbm8BJyiZb/p4T5tPw0tuXX/JLP02zrhmu7deXoKzvqTqjwkGw5biR
nhOBJAPmCf0/V0A5ISRW0RAvS0CpNoZLtFNXmvvxfomPEf4YbFGq6O0JlbXlccmh
6Yd1phV/yX43VF50k8XDZ8wNT2uoFwxtCJJ+i92Bqi1wIcM9BhS7vyRep4TXPw8h
Ir1LAAbblxzYXtTFC1yHblCk6MM4pPvLLMWSZpuFXst6bJN8gClYW1e1QGm6CHmm
ZGIVnYeWRbVmIyADixxzoNOieTPgUFmG2y/lAiXqcyqfABTINseSO+lOAOzYVgm5
M0kS0lQLAausR7aRKX1MtHWAUgHoyoL2n8ysnI8X6i8msKtyrAv+nlEex0NVZ09R
s1fWtuzuUrc66U7h14GIvE+OdbtLqPA1qibUZ2dJsnBMO5PcHd94kIZysjik0dyS
TclY6ysSXNQ7roxrsIPlAT/4CTL2kzU0Iq/dNw13CYArzUgA8YyZGUcFAenRv9FO
0OYoQzeZpApKCNmacXPSqs0xE2N2oTdvkjgefRI8ZjLny23h/FKJ3crWZgWalmG+
oijHHKOnNlA8OqTfSm7mhzvO6/DggTedEzxSjr25HTTGHdUKaj2YKXCMiSrRq4IQ
SB/c9O+lxbtVGjhjhE63bK2VVOxlIhBJF7jAHscPrFRH
-----END CERTIFICATE-----
"""
