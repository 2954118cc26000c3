"""TLS-001..006 end to end: real TLS servers on 127.0.0.1, a real DNS server, a stand-in inventory."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import pytest

from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.inventory import TlsTarget
from ems_readiness.engine.model import Finding, Status
from ems_readiness.engine.texts import CHECK_FIX, render
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.dns import DnsProbe
from ems_readiness.probes.tls import TlsProbe, VersionSupport
from ems_readiness.engine.profile import profile_from_dict
from ems_readiness.engine.registry import checks_in, validate
from ems_readiness.judges.tls import system_bundle_path
from ems_readiness.checks import tls_certificates as tls
from ems_readiness.simulate.certs import EXPIRED_DAYS_AGO, EXPIRING_IN_DAYS, NOT_YET_VALID_IN_DAYS
from tests.support.tls_servers import tls_host


@dataclass
class StandInInventory:
    hosts: list[TlsTarget] = field(default_factory=list)
    endpoints: list["Endpoint"] = field(default_factory=list)

    async def tls_hosts(self) -> list[TlsTarget]:
        return list(self.hosts)

    async def tls_endpoints(self) -> list["Endpoint"]:
        return list(self.endpoints)


@dataclass(frozen=True)
class Endpoint:
    host: str
    ports: list[int]
    service: str = "entra"
    tls: bool = True


def run(
    check,
    tls_servers,
    tls_dns,
    *,
    hosts=(),
    endpoints=(),
    timeout: float = 3.0,
    proxy: str | None = None,
    service_roots: bool = True,
    wrap=lambda probe: probe,
    **tls_settings,
) -> list[Finding]:
    settings = {"trust": str(tls_servers.trust_bundle), **tls_settings}
    if service_roots:
        settings["service_roots"] = str(tls_servers.service_roots)
    profile = profile_from_dict(
        {"tls": settings, "dns": {"resolvers": {"test": tls_dns.address}}, "network": {"proxy": proxy}}
    )

    async def main() -> list[Finding]:
        evidence = EvidenceLog()
        dns = DnsProbe({"test": tls_dns.address}, evidence, timeout=2.0)
        probe = TlsProbe(dns, evidence, timeout=timeout, proxy=proxy)
        probes = Probes(graph=None, dns=dns, tls=wrap(probe), tcp=None)  # type: ignore[arg-type]
        ctx = CheckContext(check, profile, probes, StandInInventory(list(hosts), list(endpoints)))  # type: ignore[arg-type]
        await check.fn(ctx)
        return ctx.sink.findings

    return asyncio.run(main())


def host(tls_servers, name: str, origin: str = "profile") -> TlsTarget:
    return TlsTarget(tls_host(name), tls_servers.port(name), origin)


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def day(offset_days: int) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=offset_days)).strftime("%Y-%m-%d")


def test_metadata_is_valid():
    checks = checks_in(tls)
    validate(checks)
    assert [c.id for c in checks] == ["TLS-001", "TLS-002", "TLS-003", "TLS-004", "TLS-005", "TLS-006"]
    assert all(c.side == "network" and not c.needs_graph for c in checks)
    assert tls.no_interception.topic == "network-security"
    assert "enable.security-infrastructure" in tls.no_interception.responsibilities
    assert all("general.public-ssl-certificates" in c.responsibilities for c in checks[:5])


# -- common paths ------------------------------------------------------------------------------------

HOST_CHECKS = [
    tls.certificate_validity,
    tls.certificate_name,
    tls.certificate_chain,
    tls.certificate_strength,
    tls.protocol_versions,
]


@pytest.mark.parametrize("check", HOST_CHECKS, ids=lambda c: c.id)
def test_no_hosts_is_a_skip(check, tls_servers, tls_dns):
    finding = only(run(check, tls_servers, tls_dns))
    assert finding.status is Status.SKIP
    assert finding.resource == "tls.hosts"


@pytest.mark.parametrize("check", HOST_CHECKS, ids=lambda c: c.id)
def test_nothing_listening_is_an_error_with_the_reason(check, tls_servers, tls_dns, refused_port):
    target = TlsTarget(tls_host("valid"), refused_port, "profile")
    finding = only(run(check, tls_servers, tls_dns, hosts=[target]))
    assert finding.status is Status.ERROR
    assert finding.resource == f"{tls_host('valid')}:{refused_port}"
    assert "refused the connection" in finding.message
    assert finding.observed == "refused"
    assert finding.evidence and finding.evidence[-1].probe == "tls"


@pytest.mark.parametrize("check", HOST_CHECKS, ids=lambda c: c.id)
def test_a_stalled_handshake_is_an_error(check, tls_servers, tls_dns):
    finding = only(run(check, tls_servers, tls_dns, hosts=[host(tls_servers, "stall")], timeout=0.5))
    assert finding.status is Status.ERROR
    assert finding.observed == "timeout"
    assert "did not complete within 0.5 s" in finding.message


def test_one_finding_per_host_in_inventory_order(tls_servers, tls_dns):
    targets = [host(tls_servers, "valid"), host(tls_servers, "expired"), host(tls_servers, "expiring")]
    findings = run(tls.certificate_validity, tls_servers, tls_dns, hosts=targets)
    assert [f.resource for f in findings] == [f"{t.host}:{t.port}" for t in targets]
    assert [f.status for f in findings] == [Status.PASS, Status.FAIL, Status.WARN]


# -- TLS-001 ----------------------------------------------------------------------------------------


def test_tls001_valid(tls_servers, tls_dns):
    finding = only(run(tls.certificate_validity, tls_servers, tls_dns, hosts=[host(tls_servers, "valid")]))
    assert finding.status is Status.PASS
    assert finding.expected == f"valid until after {day(30)} (warn_days 30)"
    assert finding.observed.startswith("valid until ")
    assert finding.evidence[-1].data["chain"][0]["san"] == [tls_host("valid")]


def test_tls001_expired(tls_servers, tls_dns):
    target = host(tls_servers, "expired", origin="federation:fed.contoso.test")
    finding = only(run(tls.certificate_validity, tls_servers, tls_dns, hosts=[target]))
    assert finding.status is Status.FAIL
    assert finding.observed == f"expired {day(-EXPIRED_DAYS_AGO)} ({EXPIRED_DAYS_AGO} days ago)"
    assert "sign-in host of the federated domain fed.contoso.test" in finding.message
    assert finding.remediation.startswith(f"Renew the certificate of {tls_host('expired')}:")


def test_tls001_an_expired_certificate_the_path_does_not_use_is_no_failure(tls_servers, tls_dns):
    finding = only(run(tls.certificate_validity, tls_servers, tls_dns, hosts=[host(tls_servers, "stalecross")]))
    assert finding.status is Status.PASS
    assert "served but not on the validated path, so not judged: intermediate 'Simulated Public Root CA" in (
        finding.observed
    )


def test_tls001_expiring_is_a_warning(tls_servers, tls_dns):
    finding = only(run(tls.certificate_validity, tls_servers, tls_dns, hosts=[host(tls_servers, "expiring")]))
    assert finding.status is Status.WARN
    assert finding.observed.endswith(f"({EXPIRING_IN_DAYS - 1} days left)") or finding.observed.endswith(
        f"({EXPIRING_IN_DAYS} days left)"
    )


def test_tls001_warn_days_comes_from_the_profile(tls_servers, tls_dns):
    finding = only(
        run(tls.certificate_validity, tls_servers, tls_dns, hosts=[host(tls_servers, "expiring")], warn_days=5)
    )
    assert finding.status is Status.PASS
    assert finding.expected == f"valid until after {day(5)} (warn_days 5)"


# -- TLS-002 ----------------------------------------------------------------------------------------


def test_tls002_match(tls_servers, tls_dns):
    finding = only(run(tls.certificate_name, tls_servers, tls_dns, hosts=[host(tls_servers, "valid")]))
    assert finding.status is Status.PASS
    assert finding.observed == f"SAN: {tls_host('valid')}"


def test_tls002_wrong_host(tls_servers, tls_dns):
    finding = only(run(tls.certificate_name, tls_servers, tls_dns, hosts=[host(tls_servers, "wronghost")]))
    assert finding.status is Status.FAIL
    assert finding.expected == f"a SAN dNSName covering {tls_host('wronghost')}"
    assert finding.observed == "SAN: wrong.fabrikam.test"
    assert "wrong.fabrikam.test" in finding.message


# -- TLS-003 ----------------------------------------------------------------------------------------


def test_tls003_complete_trusted_chain(tls_servers, tls_dns):
    finding = only(run(tls.certificate_chain, tls_servers, tls_dns, hosts=[host(tls_servers, "valid")]))
    assert finding.status is Status.PASS
    assert "Simulated Public Root CA" in finding.message


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("incomplete", "chain incomplete: only the leaf was served"),
        ("untrusted", "root 'Untrusted Root CA (Unknown Issuer Ltd)', which is not in the trust store"),
        ("selfsigned", "is self-signed"),
    ],
)
def test_tls003_broken_chains(case, words, tls_servers, tls_dns):
    finding = only(run(tls.certificate_chain, tls_servers, tls_dns, hosts=[host(tls_servers, case)]))
    assert finding.status is Status.FAIL
    assert words in finding.message
    assert words in finding.observed


@pytest.mark.parametrize(("case", "owner", "words"), [
    ("expired", "TLS-001", "expired"),
    ("sha1", "TLS-004", "ecdsa-with-SHA1"),
    ("nosan", "TLS-002", "has no subjectAltName"),
])
def test_tls003_leaves_the_causes_other_checks_own_to_them(case, owner, words, tls_servers, tls_dns):
    finding = only(run(tls.certificate_chain, tls_servers, tls_dns, hosts=[host(tls_servers, case)]))
    assert finding.status is Status.PASS
    assert "serves a complete chain to the trusted root 'Simulated Public Root CA" in finding.message
    assert f"Path validation also refuses it for causes that other checks report:" in finding.message
    assert words in finding.message and f"({owner})" in finding.message


def test_tls003_remediation_follows_the_cause(tls_servers, tls_dns):
    incomplete = only(run(tls.certificate_chain, tls_servers, tls_dns, hosts=[host(tls_servers, "incomplete")]))
    assert incomplete.remediation.startswith(f"Configure {tls_host('incomplete')}:")
    assert "intermediate" in incomplete.remediation


def test_tls003_with_the_system_trust_store_the_private_issuer_is_missing(tls_servers, tls_dns):
    if system_bundle_path() is None:
        pytest.skip("no system CA bundle on this machine")
    finding = only(run(tls.certificate_chain, tls_servers, tls_dns, hosts=[host(tls_servers, "valid")], trust="system"))
    assert finding.status is Status.FAIL
    assert "chain incomplete" in finding.message and "neither served nor in the trust store" in finding.message
    assert finding.action.key == "tls.serve-intermediates"


# -- TLS-004 ----------------------------------------------------------------------------------------


def test_tls004_strong(tls_servers, tls_dns):
    finding = only(run(tls.certificate_strength, tls_servers, tls_dns, hosts=[host(tls_servers, "valid")]))
    assert finding.status is Status.PASS
    assert "EC secp256r1 (256-bit)" in finding.observed


def test_tls004_rsa1024(tls_servers, tls_dns):
    finding = only(run(tls.certificate_strength, tls_servers, tls_dns, hosts=[host(tls_servers, "rsa1024")]))
    assert finding.status is Status.FAIL
    assert finding.observed == f"leaf '{tls_host('rsa1024')}': RSA 1024-bit key"
    assert finding.expected.startswith("RSA ≥ 2048 or EC ≥ 256-bit keys")


def test_tls004_sha1(tls_servers, tls_dns):
    finding = only(run(tls.certificate_strength, tls_servers, tls_dns, hosts=[host(tls_servers, "sha1")]))
    assert finding.status is Status.FAIL
    assert "signed with ecdsa-with-SHA1" in finding.observed


# -- TLS-005 ----------------------------------------------------------------------------------------


def test_tls005_modern_only(tls_servers, tls_dns):
    finding = only(run(tls.protocol_versions, tls_servers, tls_dns, hosts=[host(tls_servers, "valid")]))
    assert finding.status is Status.PASS
    assert "TLSv1.2: accepted, TLSv1.3: accepted" in finding.observed
    assert finding.evidence[-1].target.endswith("versions")


def test_tls005_tls12_only_passes(tls_servers, tls_dns):
    finding = only(run(tls.protocol_versions, tls_servers, tls_dns, hosts=[host(tls_servers, "tls12only")]))
    assert finding.status is Status.PASS
    assert "TLSv1.3: refused" in finding.observed


def test_tls005_tls13_only_passes(tls_servers, tls_dns):
    finding = only(run(tls.protocol_versions, tls_servers, tls_dns, hosts=[host(tls_servers, "tls13only")]))
    assert finding.status is Status.PASS
    assert finding.observed.endswith("TLSv1.2: refused, TLSv1.3: accepted")


def test_tls005_legacy_versions_are_reported(tls_servers, tls_dns):
    finding = only(run(tls.protocol_versions, tls_servers, tls_dns, hosts=[host(tls_servers, "legacy")]))
    if "not tested" in finding.observed:
        pytest.skip("this machine's OpenSSL does not offer TLS 1.0/1.1")
    assert finding.status is Status.WARN
    assert "still accepts TLSv1 and TLSv1.1" in finding.message


def test_tls005_without_tls12_fails(tls_servers, tls_dns):
    finding = only(run(tls.protocol_versions, tls_servers, tls_dns, hosts=[host(tls_servers, "oldonly")]))
    if finding.status is Status.ERROR:
        pytest.skip("this machine's OpenSSL cannot complete a TLS 1.0/1.1 handshake")
    assert finding.status is Status.FAIL
    assert "neither TLS 1.2 nor TLS 1.3" in finding.message


def test_tls005_legacy_versions_that_could_not_be_tested_are_an_error_not_a_pass():
    class Ctx:
        def __init__(self):
            self.findings = []

        def errored(self, resource, message, **kw):
            self.findings.append(("error", render(message), render(kw["observed"])))

    evidence = EvidenceLog().record(
        "tls", "sts.contoso.test:443 versions", "ok", 1.0, reasons={"TLSv1": "this machine's OpenSSL cannot offer TLSv1"}
    )
    accepted = VersionSupport({"TLSv1": None, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": None}, evidence)
    ctx = Ctx()
    tls.report_versions(ctx, TlsTarget("sts.contoso.test", 443, "profile"), accepted, [evidence])
    assert ctx.findings == [
        (
            "error",
            (
                "sts.contoso.test:443 accepts TLSv1.2, but whether it still accepts TLSv1 could not be tested "
                "(TLSv1: this machine's OpenSSL cannot offer TLSv1)."
            ),
            "TLSv1: not tested, TLSv1.1: refused, TLSv1.2: accepted, TLSv1.3: not tested",
        )
    ]


def test_tls005_examines_the_hosts_at_the_same_time(tls_servers, tls_dns):
    class CountingProbe:
        """The real probe; versions() also counts how many hosts are being examined at once."""

        def __init__(self, probe):
            self.probe, self.active, self.most = probe, 0, 0

        async def handshake(self, *args, **kw):
            return await self.probe.handshake(*args, **kw)

        async def versions(self, host, port):
            self.active += 1
            self.most = max(self.most, self.active)
            try:
                await asyncio.sleep(0.05)
                return await self.probe.versions(host, port)
            finally:
                self.active -= 1

    probes: list[CountingProbe] = []

    def counting(probe):
        probes.append(CountingProbe(probe))
        return probes[-1]

    targets = [host(tls_servers, name) for name in ("valid", "tls12only", "tls13only")]
    findings = run(tls.protocol_versions, tls_servers, tls_dns, hosts=targets, wrap=counting)
    assert [f.status for f in findings] == [Status.PASS] * 3
    assert probes[0].most == 3


def test_tls005_unknown_versions_are_an_error():
    class Ctx:
        def __init__(self):
            self.findings = []

        def errored(self, resource, message, **kw):
            self.findings.append(("error", render(message)))

    ctx = Ctx()
    target = TlsTarget("sts.contoso.test", 443, "profile")
    tls.report_versions(ctx, target, {"TLSv1": None, "TLSv1.1": None, "TLSv1.2": None, "TLSv1.3": False}, [])
    assert ctx.findings == [("error", "Could not tell whether sts.contoso.test:443 accepts TLS 1.2 or 1.3.")]


# -- TLS-006 ----------------------------------------------------------------------------------------


def microsoft(tls_servers, name: str, hostname: str) -> Endpoint:
    return Endpoint(hostname, [80, tls_servers.port(name)])


def test_tls006_genuine_chain(tls_servers, tls_dns):
    endpoint = microsoft(tls_servers, "ms-login", "login.microsoftonline.com")
    finding = only(run(tls.no_interception, tls_servers, tls_dns, endpoints=[endpoint]))
    assert finding.status is Status.PASS
    assert finding.resource == f"login.microsoftonline.com:{tls_servers.port('ms-login')}"
    assert "Simulated Microsoft TLS Root" in finding.message
    assert "not intercepted (direct connection)" in finding.message


def test_tls006_interception_names_the_issuer(tls_servers, tls_dns):
    endpoint = microsoft(tls_servers, "ms-intercepted", "enterpriseenrollment.manage.microsoft.com")
    finding = only(run(tls.no_interception, tls_servers, tls_dns, endpoints=[endpoint]))
    assert finding.status is Status.FAIL
    assert "intercepted" in finding.message
    assert "Contoso Egress Inspection CA (Contoso Ltd)" in finding.message
    assert finding.expected == (
        "a chain for enterpriseenrollment.manage.microsoft.com issued under a Microsoft or DigiCert root"
    )


def test_tls006_without_service_roots_the_simulated_microsoft_root_is_not_microsoft(tls_servers, tls_dns):
    endpoint = microsoft(tls_servers, "ms-login", "login.microsoftonline.com")
    finding = only(run(tls.no_interception, tls_servers, tls_dns, endpoints=[endpoint], service_roots=False))
    assert finding.status is Status.FAIL
    assert "Simulated Microsoft TLS Root" in finding.message


def test_tls006_third_party_endpoint_is_judged_against_a_public_bundle(tls_servers, tls_dns):
    endpoint = Endpoint("ekop.intel.com", [tls_servers.port("valid")], service="autopilot")
    finding = only(run(tls.no_interception, tls_servers, tls_dns, endpoints=[endpoint]))
    assert finding.status is Status.FAIL
    assert "public CA bundle" in finding.message


def test_tls006_unreachable_endpoint_is_an_error(tls_servers, tls_dns, refused_port):
    finding = only(
        run(
            tls.no_interception, tls_servers, tls_dns, endpoints=[Endpoint("login.microsoftonline.com", [refused_port])]
        )
    )
    assert finding.status is Status.ERROR
    assert "Could not check" in finding.message and "refused" in finding.message


def test_tls006_one_finding_per_host_and_port_however_many_services_list_it(tls_servers, tls_dns):
    port = tls_servers.port("ms-login")
    endpoints = [Endpoint("login.microsoftonline.com", [port], service=s) for s in ("entra", "entra-connect")]
    endpoints.append(Endpoint("Login.MicrosoftOnline.com", [80, port], service="intune"))
    finding = only(run(tls.no_interception, tls_servers, tls_dns, endpoints=endpoints))
    assert finding.status is Status.PASS
    assert finding.resource == f"login.microsoftonline.com:{port}"


def test_tls006_no_endpoints_is_a_skip(tls_servers, tls_dns):
    finding = only(run(tls.no_interception, tls_servers, tls_dns))
    assert finding.status is Status.SKIP


def test_tls006_through_the_proxy(tls_servers, tls_dns, connect_proxy):
    port = tls_servers.port("ms-intercepted")
    endpoint = Endpoint("enterpriseenrollment.manage.microsoft.com", [port])
    finding = only(run(tls.no_interception, tls_servers, tls_dns, endpoints=[endpoint], proxy=connect_proxy.url))
    assert finding.status is Status.FAIL
    assert "through the proxy" in finding.message
    assert f"enterpriseenrollment.manage.microsoft.com:{port}" in connect_proxy.targets
    assert finding.evidence[-1].data["via_proxy"] is True


def test_tls006_proxy_denial_is_an_error(tls_servers, tls_dns, denying_proxy):
    endpoint = microsoft(tls_servers, "ms-login", "login.microsoftonline.com")
    finding = only(run(tls.no_interception, tls_servers, tls_dns, endpoints=[endpoint], proxy=denying_proxy.url))
    assert finding.status is Status.ERROR
    assert finding.observed == "proxy-denied"
    assert "secret" not in finding.message


def test_tls_ports_skip_plain_http():
    assert tls.tls_ports([80, 443]) == [443]
    assert tls.tls_ports([80]) == [443]
    assert tls.tls_ports([443, 8443]) == [443, 8443]


# -- every cause: one owning check, its own message, fix and action; the others do not fail ---------

CERTIFICATE_CHECKS = {
    "TLS-001": tls.certificate_validity,
    "TLS-002": tls.certificate_name,
    "TLS-003": tls.certificate_chain,
    "TLS-004": tls.certificate_strength,
}
NEW_CERTIFICATE, INTERMEDIATES = "tls.new-certificate", "tls.serve-intermediates"
CAUSES = [
    # case, owner, status, message words, remediation words, action
    ("notyetvalid", "TLS-001", Status.FAIL, f"is not valid before {day(NOT_YET_VALID_IN_DAYS)}",
     "Keep the previous certificate on", NEW_CERTIFICATE),
    ("expired", "TLS-001", Status.FAIL, f"expired on {day(-EXPIRED_DAYS_AGO)}, {EXPIRED_DAYS_AGO} days ago",
     "Renew the certificate of", NEW_CERTIFICATE),
    ("expiring", "TLS-001", Status.WARN, "(within warn_days 30): renew it now",
     "before", NEW_CERTIFICATE),
    ("nosan", "TLS-002", Status.FAIL, "has no subjectAltName extension (subject CN: nosan.tls.test)",
     "as a subjectAltName dNSName entry", NEW_CERTIFICATE),
    ("wronghost", "TLS-002", Status.FAIL, "does not cover wronghost.tls.test; it is for wrong.fabrikam.test",
     "Issue the certificate with wronghost.tls.test in its subjectAltName", NEW_CERTIFICATE),
    ("untrusted", "TLS-003", Status.FAIL, "does not lead to a trusted root",
     "clients outside your organisation do not trust this root", NEW_CERTIFICATE),
    ("incomplete", "TLS-003", Status.FAIL, "lacks an intermediate certificate: chain incomplete: only the leaf was served",
     "to send the intermediate certificate(s) with the leaf", INTERMEDIATES),
    ("selfsigned", "TLS-003", Status.FAIL, "serves a self-signed certificate",
     "Replace the self-signed certificate of", NEW_CERTIFICATE),
    ("rsa1024", "TLS-004", Status.FAIL, "RSA 1024-bit key, a key below RSA 2048 or EC 256 bits",
     "re-issued for a new RSA 2048-bit (or larger) or ECDSA P-256/P-384 key", NEW_CERTIFICATE),
    ("sha1", "TLS-004", Status.FAIL, "signed with ecdsa-with-SHA1, a signature hash that clients no longer accept",
     "certification authorities sign new certificates with SHA-256", NEW_CERTIFICATE),
    ("expiredintermediate", "TLS-001", Status.FAIL,
     "intermediate 'Simulated Public Issuing CA 0 (ems-readiness simulation)' that expiredintermediate.tls.test",
     "Download the current intermediate certificate", INTERMEDIATES),
]


@pytest.mark.parametrize(("case", "owner", "status", "words", "fix", "action"), CAUSES, ids=[c[0] for c in CAUSES])
def test_every_certificate_cause_has_one_owner_and_its_own_words(case, owner, status, words, fix, action,
                                                                 tls_servers, tls_dns):
    target = host(tls_servers, case)
    findings = {check_id: only(run(check, tls_servers, tls_dns, hosts=[target]))
                for check_id, check in CERTIFICATE_CHECKS.items()}
    owning = findings[owner]
    assert owning.status is status, owning.message
    assert words in owning.message
    assert fix in owning.remediation and owning.remediation != CERTIFICATE_CHECKS[owner].fix
    assert owning.action is not None and owning.action.key == action
    assert owning.action.params == {"host": f"{target.host}:{target.port}"}
    others = {check_id: f.status for check_id, f in findings.items() if check_id != owner}
    assert others == dict.fromkeys(others, Status.PASS), {c: f.message for c, f in findings.items()}
    for text in owning.texts.values():  # and in Chinese
        assert text.id == CHECK_FIX or render(text, "zh-CN")


def test_each_cause_has_a_message_and_a_fix_of_its_own():
    messages = {}
    for case, owner, *_ in CAUSES:
        messages.setdefault(owner, set()).add(case)
    assert set(messages) == set(CERTIFICATE_CHECKS)
    assert len({c[4] for c in CAUSES}) == len(CAUSES)  # no two causes share a remediation
