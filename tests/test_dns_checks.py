"""DNS-001..005 against real DNS servers (knot on 127.0.0.1): pass, fail and error paths."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from .support.findings import by_resource

from ems_readiness.engine.check import Check
from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.model import Finding, Status
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.dns import DnsProbe
from ems_readiness.engine.profile import Profile
from ems_readiness.engine.registry import checks_in, validate
from ems_readiness.checks import dns_records
from ems_readiness.judges.spf import parse_spf
from ems_readiness.checks.dns_records import (
    enrollment_cname,
    registration_cname,
    resolver_agreement,
    service_records,
    spf_record,
)
from tests.support.knot import ZONES_DIR, KnotServer
from tests.support.require import require_tool


@dataclass
class TlsTarget:
    host: str
    port: int


@dataclass
class StandInInventory:
    """What the checks ask of the scan inventory (engine/inventory.py), with fixed answers."""

    domain_names: list[str]
    records: dict[str, list[dict[str, Any]]] | None = None
    hosts: list[Any] = field(default_factory=list)

    async def domains(self) -> list[str]:
        return self.domain_names

    async def service_records(self, domain: str) -> list[dict[str, Any]] | None:
        return None if self.records is None else self.records.get(domain, [])

    async def tls_hosts(self) -> list[Any]:
        return self.hosts


def run(
    check: Check,
    resolvers: dict[str, str],
    inventory: StandInInventory,
    timeout: float = 2.0,
) -> list[Finding]:
    async def scan() -> list[Finding]:
        dns_probe = DnsProbe(resolvers, EvidenceLog(), timeout=timeout)
        probes = Probes(graph=None, dns=dns_probe, tls=None, tcp=None)
        ctx = CheckContext(check, Profile(), probes, inventory)
        await check.fn(ctx)
        return ctx.sink.findings

    return asyncio.run(scan())



def statuses(findings: list[Finding]) -> dict[str, Status]:
    return {f.resource: f.status for f in by_resource(findings).values()}


def test_check_metadata_is_valid():
    checks = checks_in(dns_records)
    validate(checks)
    assert [c.id for c in sorted(checks, key=lambda c: c.id)] == ["DNS-001", "DNS-002", "DNS-003", "DNS-004", "DNS-005"]
    assert service_records.permissions.application == ["Domain.Read.All"]
    assert all(not c.permissions.application for c in checks if c.id != "DNS-003")


# --- DNS-001 / DNS-002 -------------------------------------------------------------------------


def test_enrollment_cname_pass_fail_and_error(knot_server):
    inventory = StandInInventory(
        ["contoso.test", "fed.contoso.test", "fabrikam.test", "northwind.test", "broken.test", "contoso.onmicrosoft.com"]
    )
    findings = by_resource(run(enrollment_cname, {"knot": knot_server.address}, inventory))
    assert {r: f.status for r, f in findings.items()} == {
        "enterpriseenrollment.contoso.test": Status.PASS,
        "enterpriseenrollment.fed.contoso.test": Status.PASS,  # the older accepted target
        "enterpriseenrollment.fabrikam.test": Status.FAIL,
        "enterpriseenrollment.northwind.test": Status.FAIL,
        "enterpriseenrollment.broken.test": Status.ERROR,
    }
    missing = findings["enterpriseenrollment.fabrikam.test"]
    assert missing.expected == (
        "enterpriseenrollment.fabrikam.test. 3600 IN CNAME enterpriseenrollment-s.manage.microsoft.com."
    )
    assert "NXDOMAIN" in missing.observed
    assert missing.remediation == (
        "In the DNS zone of fabrikam.test, publish: "
        "enterpriseenrollment.fabrikam.test. 3600 IN CNAME enterpriseenrollment-s.manage.microsoft.com."
    )
    assert missing.evidence and missing.evidence[0].outcome == "nxdomain"
    assert "not a CNAME" in findings["enterpriseenrollment.northwind.test"].message
    failure = findings["enterpriseenrollment.broken.test"]
    assert f"knot ({knot_server.address})" in failure.message and "SERVFAIL" in failure.message


def test_registration_cname_pass_through_alias_and_wrong_target(knot_server):
    inventory = StandInInventory(["contoso.test", "northwind.test", "fabrikam.test"])
    findings = by_resource(run(registration_cname, {"knot": knot_server.address}, inventory))
    assert findings["enterpriseregistration.contoso.test"].status is Status.PASS
    assert findings["enterpriseregistration.northwind.test"].status is Status.PASS
    wrong = findings["enterpriseregistration.fabrikam.test"]
    assert wrong.status is Status.FAIL
    assert "points to adfs.fabrikam.test" in wrong.message
    assert wrong.observed == "enterpriseregistration.fabrikam.test -> adfs.fabrikam.test"
    assert wrong.expected == "enterpriseregistration.fabrikam.test. 3600 IN CNAME enterpriseregistration.windows.net."


def test_enrollment_cname_fixed_at_run_time(knot_server):
    inventory = StandInInventory(["fabrikam.test"])
    resource = "enterpriseenrollment.fabrikam.test"
    before = run(enrollment_cname, {"knot": knot_server.address}, inventory)
    knot_server.set_record("fabrikam.test", "enterpriseenrollment", 3600, "CNAME", "wrong.example.")
    try:
        wrong = run(enrollment_cname, {"knot": knot_server.address}, inventory)
        knot_server.unset_record("fabrikam.test", "enterpriseenrollment")
        knot_server.set_record(
            "fabrikam.test", "enterpriseenrollment", 3600, "CNAME", "enterpriseenrollment-s.manage.microsoft.com."
        )
        fixed = run(enrollment_cname, {"knot": knot_server.address}, inventory)
    finally:
        knot_server.unset_record("fabrikam.test", "enterpriseenrollment")
    assert statuses(before) == {resource: Status.FAIL}
    assert statuses(wrong) == {resource: Status.FAIL}
    assert "points to wrong.example" in wrong[0].message
    assert statuses(fixed) == {resource: Status.PASS}


def test_cname_check_errors_on_timeout(silent_resolver):
    findings = run(enrollment_cname, {"dead": silent_resolver.address}, StandInInventory(["contoso.test"]), timeout=0.3)
    assert statuses(findings) == {"enterpriseenrollment.contoso.test": Status.ERROR}
    assert "dead" in findings[0].message and "timeout" in findings[0].evidence[0].outcome


def test_no_domains_is_skip(knot_server):
    findings = run(enrollment_cname, {"knot": knot_server.address}, StandInInventory(["contoso.onmicrosoft.com"]))
    assert statuses(findings) == {"domains": Status.SKIP}


# A zone of its own for the MX-preference and SPF-counting cases, beside a copy of outlook.com.
CASES_ZONE = """\
$ORIGIN cases.test.
$TTL 300
@            IN SOA ns1.cases.test. hostmaster.cases.test. 1 3600 600 86400 300
@            IN NS  ns1.cases.test.
ns1          IN A   127.0.0.1
; DNS-003: Microsoft's mail host with another preference than Graph lists (0)
mxonly       IN MX  10 mxonly-cases-test.mail.protection.outlook.com.
mxbackup     IN MX  0 mail.mxbackup.cases.test.
mxbackup     IN MX  10 mxbackup-cases-test.mail.protection.outlook.com.
; DNS-004: over the limit before Microsoft's include is reached (4 + 4 + 4, then l3 and EOP unread)
late         IN MX  0 late-cases-test.mail.protection.outlook.com.
late         IN TXT "v=spf1 include:l1.cases.test include:l2.cases.test include:l3.cases.test include:spf.protection.outlook.com -all"
l1           IN TXT "v=spf1 a mx a:x.cases.test mx:x.cases.test -all"
l2           IN TXT "v=spf1 a mx a:y.cases.test mx:y.cases.test -all"
l3           IN TXT "v=spf1 include:spf.protection.outlook.com -all"
; DNS-004: 10 lookups (one void: exists finds nothing), and a redirect= that 'all' makes inert
redirect     IN MX  0 redirect-cases-test.mail.protection.outlook.com.
redirect     IN A   127.0.0.1
redirect     IN TXT "v=spf1 include:spf.protection.outlook.com a mx a:a.cases.test mx:a.cases.test a:b.cases.test mx:b.cases.test a:c.cases.test mx:c.cases.test exists:d.cases.test redirect=l1.cases.test -all"
""" + "".join(f"{name:<12} IN A   127.0.0.1\n{name:<12} IN MX  0 {name}.cases.test.\n" for name in ("l1", "l2", "x", "y", "a", "b", "c"))


@pytest.fixture(scope="module")
def cases_knot(tmp_path_factory):
    knotd = require_tool("knotd", "knot")
    knotc = require_tool("knotc", "knot")
    workdir = tmp_path_factory.mktemp("knot-cases")
    zone = workdir / "cases.test.zone"
    zone.write_text(CASES_ZONE)
    server = KnotServer(
        workdir=workdir / "run", zone_files=[zone, ZONES_DIR / "outlook.com.zone"], knotd=knotd, knotc=knotc
    ).start()
    yield server
    server.stop()


# --- DNS-003 -----------------------------------------------------------------------------------


def graph_records(domain: str, mail_host: str, optional_srv: bool = False) -> list[dict[str, Any]]:
    """serviceConfigurationRecords as Graph returns them (JSON)."""
    return [
        {"recordType": "Mx", "label": domain, "mailExchange": mail_host, "preference": 0,
         "isOptional": False, "supportedService": "Email", "ttl": 3600},
        {"recordType": "Txt", "label": domain, "text": "v=spf1 include:spf.protection.outlook.com -all",
         "isOptional": False, "supportedService": "Email", "ttl": 3600},
        {"recordType": "CName", "label": f"autodiscover.{domain}", "canonicalName": "autodiscover.outlook.com",
         "isOptional": False, "supportedService": "Email", "ttl": 3600},
        {"recordType": "CName", "label": f"enterpriseenrollment.{domain}",
         "canonicalName": "enterpriseenrollment-s.manage.microsoft.com",
         "isOptional": False, "supportedService": "Intune", "ttl": 3600},
        {"recordType": "Srv", "label": domain, "service": "_sip", "protocol": "_tls", "nameTarget": "sipdir.online.lync.com",
         "port": 443, "priority": 100, "weight": 1, "isOptional": optional_srv,
         "supportedService": "OfficeCommunicationsOnline", "ttl": 3600},
        {"recordType": "Unavailable", "label": domain, "isOptional": True, "ttl": 3600},
    ]


def test_service_records_all_published(knot_server):
    inventory = StandInInventory(
        ["contoso.test"], records={"contoso.test": graph_records("contoso.test", "contoso-test.mail.protection.outlook.com")}
    )
    findings = run(service_records, {"knot": knot_server.address}, inventory)
    assert statuses(findings) == {
        "contoso.test MX": Status.PASS,
        "contoso.test TXT": Status.PASS,
        "autodiscover.contoso.test CNAME": Status.PASS,
        "enterpriseenrollment.contoso.test CNAME": Status.PASS,
        "_sip._tls.contoso.test SRV": Status.PASS,
    }


def test_service_records_wrong_missing_and_optional(knot_server):
    records = graph_records("fabrikam.test", "fabrikam-test.mail.protection.outlook.com", optional_srv=True)
    findings = by_resource(
        run(service_records, {"knot": knot_server.address}, StandInInventory(["fabrikam.test"], records={"fabrikam.test": records}))
    )
    assert {r: f.status for r, f in findings.items()} == {
        "fabrikam.test MX": Status.FAIL,  # published, another host
        "fabrikam.test TXT": Status.PASS,  # one of its (two) SPF records is Microsoft's
        "autodiscover.fabrikam.test CNAME": Status.FAIL,  # another target
        "enterpriseenrollment.fabrikam.test CNAME": Status.FAIL,  # required, missing
        "_sip._tls.fabrikam.test SRV": Status.WARN,  # optional, missing
    }
    mx = findings["fabrikam.test MX"]
    assert mx.expected == "fabrikam.test. 3600 IN MX 0 fabrikam-test.mail.protection.outlook.com."
    assert mx.observed == "10 mail.fabrikam.test."
    assert "required" in mx.message
    srv = findings["_sip._tls.fabrikam.test SRV"]
    assert srv.expected == "_sip._tls.fabrikam.test. 3600 IN SRV 100 1 443 sipdir.online.lync.com."
    assert "optional" in srv.message and "NXDOMAIN" in srv.observed


def test_service_records_mx_matches_on_the_mail_host(cases_knot):
    def graph_mx(domain: str) -> list[dict[str, Any]]:
        host = domain.replace(".", "-") + ".mail.protection.outlook.com"
        return [{"recordType": "Mx", "label": domain, "mailExchange": host, "preference": 0, "isOptional": False,
                 "supportedService": "Email", "ttl": 3600}]

    domains = ["mxonly.cases.test", "mxbackup.cases.test"]
    inventory = StandInInventory(domains, records={d: graph_mx(d) for d in domains})
    findings = by_resource(run(service_records, {"knot": cases_knot.address}, inventory))
    mx_only = findings["mxonly.cases.test MX"]
    assert mx_only.status is Status.PASS
    assert mx_only.message == (
        "mxonly.cases.test sends its mail for Email to mxonly-cases-test.mail.protection.outlook.com, the MX with "
        "the lowest preference. Note: mxonly-cases-test.mail.protection.outlook.com has preference 10, where "
        "Microsoft 365 lists 0."
    )
    backup = findings["mxbackup.cases.test MX"]
    assert backup.status is Status.WARN
    assert "mail goes first to mail.mxbackup.cases.test (lower preference)" in backup.message
    assert "has preference 10, where Microsoft 365 lists 0" in backup.message
    assert "give mxbackup-cases-test.mail.protection.outlook.com the lowest preference" in backup.remediation


def test_service_records_merged_spf_accepted(knot_server):
    spf = {"recordType": "Txt", "label": "toomany.spf.test", "text": "v=spf1 include:spf.protection.outlook.com -all",
           "isOptional": False, "supportedService": "Email"}
    inventory = StandInInventory(["toomany.spf.test"], records={"toomany.spf.test": [spf]})
    assert statuses(run(service_records, {"knot": knot_server.address}, inventory)) == {"toomany.spf.test TXT": Status.PASS}


def test_service_records_errors_skips_and_bad_graph_data(knot_server):
    broken = [{"recordType": "Mx", "label": "broken.test", "mailExchange": "x.mail.protection.outlook.com", "preference": 0,
               "isOptional": False}]
    unreadable = [{"recordType": "Srv", "label": "contoso.test", "service": "_sip", "protocol": "_tls"}]
    inventory = StandInInventory(
        ["broken.test", "contoso.test", "northwind.test"],
        records={"broken.test": broken, "contoso.test": unreadable, "northwind.test": []},
    )
    findings = by_resource(run(service_records, {"knot": knot_server.address}, inventory))
    assert {r: f.status for r, f in findings.items()} == {
        "broken.test MX": Status.ERROR,
        "contoso.test": Status.ERROR,
        "northwind.test": Status.SKIP,
    }
    assert "SERVFAIL" in findings["broken.test MX"].message
    assert "cannot read" in findings["contoso.test"].message


def test_service_records_without_tenant_side_is_skip(knot_server):
    findings = run(service_records, {"knot": knot_server.address}, StandInInventory(["contoso.test"], records=None))
    assert statuses(findings) == {"contoso.test": Status.SKIP}
    assert "serviceConfigurationRecords" in findings[0].message


# --- DNS-004 -----------------------------------------------------------------------------------


def test_spf_pass_fail_skip_and_error(knot_server):
    domains = [f"{case}.spf.test" for case in ("ok", "nested", "toomany", "syntax", "noinclude", "nospf", "nomail",
                                               "brokeninclude", "deadinclude", "voids", "passall")]
    findings = by_resource(run(spf_record, {"knot": knot_server.address}, StandInInventory([*domains, "fabrikam.test", "broken.test"])))
    eop = "include:spf.protection.outlook.com"
    assert {r: f.status for r, f in findings.items()} == {
        "ok.spf.test": Status.PASS,
        f"ok.spf.test {eop}": Status.PASS,
        "nested.spf.test": Status.PASS,
        f"nested.spf.test {eop}": Status.PASS,
        "toomany.spf.test": Status.FAIL,
        "syntax.spf.test": Status.FAIL,
        "noinclude.spf.test": Status.PASS,  # a valid record ...
        f"noinclude.spf.test {eop}": Status.FAIL,  # ... without Microsoft's include: a finding of its own
        "nospf.spf.test": Status.FAIL,
        "nomail.spf.test": Status.SKIP,
        "brokeninclude.spf.test": Status.ERROR,
        "deadinclude.spf.test": Status.FAIL,
        "voids.spf.test": Status.FAIL,
        "passall.spf.test": Status.PASS,
        "passall.spf.test +all": Status.WARN,
        f"passall.spf.test {eop}": Status.PASS,
        "fabrikam.test": Status.FAIL,
        "broken.test": Status.ERROR,
    }
    assert "(1 DNS lookup counted)" in findings["ok.spf.test"].observed
    assert "(2 DNS lookups counted)" in findings["nested.spf.test"].observed
    toomany = findings["toomany.spf.test"]
    assert ("in l2.spf.test: 'exists:%{i}.x.spf.test': it makes 11 DNS-querying terms counted through includes "
            "and redirects, more than the limit of 10 (RFC 7208 §4.6.4)") in toomany.message
    syntax = findings["syntax.spf.test"].message
    assert "'ip4:300.1.1.1'" in syntax and "'foo:bar'" in syntax and "'~al'" in syntax
    assert "(RFC 7208 §5.6)" in syntax and "unknown mechanism 'foo'" in syntax
    assert "does not include spf.protection.outlook.com" in findings[f"noinclude.spf.test {eop}"].message
    assert findings["nospf.spf.test"].observed == "no SPF record"
    assert "www.broken.test" in findings["brokeninclude.spf.test"].message
    assert "SERVFAIL" in findings["brokeninclude.spf.test"].message
    assert "'include:nothing.spf.test': nothing.spf.test has no SPF record (RFC 7208 §5.2)" in findings["deadinclude.spf.test"].message
    assert ("'mx:gone3.spf.test': gone3.spf.test MX found nothing (NXDOMAIN): 3 void lookups, more than the limit of 2"
            in findings["voids.spf.test"].message)
    passall = findings["passall.spf.test +all"]
    assert "lets every sender pass ('+all')" in passall.message and "-all" in passall.remediation
    two = findings["fabrikam.test"]
    assert "2 SPF records" in two.message
    assert two.observed == '"v=spf1 include:spf.protection.outlook.com -all"; "v=spf1 mx -all"'
    # evidence covers the domain's own answers and every include followed
    assert {e.target.split(" @")[0] for e in toomany.evidence} >= {
        "toomany.spf.test TXT", "toomany.spf.test MX", "l1.spf.test TXT", "spf.protection.outlook.com TXT"}


@pytest.mark.parametrize(
    "text, problems",
    [
        ("v=spf1 include:spf.protection.outlook.com -all", 0),
        ("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24 a:mail.example.com//64 ?all", 0),
        ("V=SPF1 +MX -ALL", 0),
        ("v=spf1 exists:%{i}._spf.example.com include:_spf.%{d2} -all", 0),
        ("v=spf1 redirect=_spf.example.com", 0),
        ("v=spf1 foo=bar -all", 0),  # unknown modifiers are allowed
        ("v=spf1 ip4:10.0.0.0/33 -all", 1),
        ("v=spf1 ip6:::1/129 -all", 1),
        ("v=spf1 include -all", 1),
        ("v=spf1 include:nodot -all", 1),
        ("v=spf1 all:example.com", 1),
        ("v=spf1 redirect=a.example.com redirect=b.example.com", 1),
        ("v=spf1 +all", 0),  # valid: a policy concern, reported apart
        ("v=spf1 ip4:192.0.2.5\n include:x.example.com ~all", 1),  # a term may not end in a newline
        ("v=spf1 ip4:1.2.3.4/032", 1),  # no leading zeros in a prefix length
        ("v=spf1 -all foo=%abc", 1),  # an unknown modifier's value is still a macro-string
        ("v=spf1 exp=%{r}.example.com", 1),  # c, r, t only in explanation text
        ("v=spf1 a:foo:bar/baz.example.com -all", 0),  # ':' and '/' are literals of a domain-spec
        ("v=spf1 a:foo.example.com/24//64 -all", 0),
        ("v=spf1 a/24/64 -all", 1),
        ("v=spf1 exists:%{z}.example.com -all", 1),
        ("v=spf1 mx:example.com/40 -all", 1),
    ],
)
def test_spf_syntax(text, problems):
    assert len(parse_spf(text).problems) == problems, parse_spf(text).problems


def test_spf_redirect_ignored_beside_all():
    record = parse_spf("v=spf1 include:a.example.com redirect=b.example.com -all")
    assert [target for _, target in record.followed()] == ["a.example.com"]
    assert record.lookups == 1
    assert parse_spf("v=spf1 include:a.example.com redirect=b.example.com").lookups == 2
    assert parse_spf("v=spf1 include=a.example.com mx -all").lookups == 1  # an unknown modifier looks nothing up


def test_spf_counting_follows_rfc_7208(cases_knot):
    inventory = StandInInventory(["redirect.cases.test", "late.cases.test"])
    findings = by_resource(run(spf_record, {"knot": cases_knot.address}, inventory))
    redirect = findings["redirect.cases.test"]
    assert redirect.status is Status.PASS  # the redirect= beside -all is not evaluated, so not counted
    assert "(10 DNS lookups counted)" in redirect.observed
    late = findings["late.cases.test"]
    assert late.status is Status.FAIL
    assert "'include:l3.cases.test': it makes 11 DNS-querying terms" in late.message
    assert "late.cases.test include:spf.protection.outlook.com" not in findings  # its include of EOP was never read


# --- DNS-005 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def internal_knot(tmp_path_factory):
    """A second knot holding an internal view of contoso.test: no enrollment CNAME, another SPF, another sts."""
    knotd = require_tool("knotd", "knot")
    knotc = require_tool("knotc", "knot")
    workdir = tmp_path_factory.mktemp("knot-internal")
    internal = workdir / "contoso.test.zone"
    text = (ZONES_DIR / "contoso.test.zone").read_text()
    text = text.replace("enterpriseenrollment    IN CNAME", "; removed:").replace("127.0.0.20", "127.0.0.120")
    text = text.replace('"v=spf1 include:spf.protection.outlook.com -all"', '"v=spf1 mx -all"')
    internal.write_text(text)
    server = KnotServer(workdir=workdir / "run", zone_files=[internal], knotd=knotd, knotc=knotc).start()
    yield server
    server.stop()


def test_agreement_needs_two_resolvers(knot_server):
    findings = run(resolver_agreement, {"knot": knot_server.address}, StandInInventory(["contoso.test"]))
    assert statuses(findings) == {"resolvers": Status.SKIP}


def test_agreement_same_answers(knot_server):
    # IP literals have nothing to compare
    inventory = StandInInventory(
        ["contoso.test"], hosts=["sts.contoso.test:443", "127.0.0.5", "[::1]:443", TlsTarget("www.contoso.test", 8443)]
    )
    findings = run(resolver_agreement, {"a": knot_server.address, "b": knot_server.address}, inventory)
    assert statuses(findings) == {
        "www.contoso.test A": Status.PASS,
        "enterpriseenrollment.contoso.test CNAME": Status.PASS,
        "enterpriseregistration.contoso.test CNAME": Status.PASS,
        "contoso.test MX": Status.PASS,
        "contoso.test TXT": Status.PASS,
        "sts.contoso.test A": Status.PASS,
    }


def test_agreement_split_horizon_differences(knot_server, internal_knot):
    inventory = StandInInventory(["contoso.test"], hosts=["sts.contoso.test", "mail.contoso.test:443"])
    resolvers = {"public": knot_server.address, "internal": internal_knot.address}
    findings = by_resource(run(resolver_agreement, resolvers, inventory))
    assert {r: f.status for r, f in findings.items()} == {
        "enterpriseenrollment.contoso.test CNAME": Status.FAIL,
        "enterpriseregistration.contoso.test CNAME": Status.PASS,
        "contoso.test MX": Status.PASS,
        "contoso.test TXT": Status.WARN,
        "sts.contoso.test A": Status.WARN,
        "mail.contoso.test A": Status.PASS,
    }
    enrollment = findings["enterpriseenrollment.contoso.test CNAME"]
    assert enrollment.observed == (
        "public: enterpriseenrollment-s.manage.microsoft.com.; "
        "internal: NXDOMAIN (no such name enterpriseenrollment.contoso.test)"
    )
    assert len(enrollment.evidence) == 2
    assert findings["sts.contoso.test A"].observed == "public: 127.0.0.20; internal: 127.0.0.120"


def test_agreement_error_when_a_resolver_cannot_answer(knot_server, silent_resolver):
    resolvers = {"public": knot_server.address, "internal": silent_resolver.address}
    findings = run(resolver_agreement, resolvers, StandInInventory(["contoso.test"]), timeout=0.3)
    assert set(statuses(findings).values()) == {Status.ERROR}
    assert all("internal" in f.message for f in findings)
