"""DNS-004 against pyspf's RFC 7208 conformance suite (tests/data/spf/rfc7208-tests.yml).

Each scenario's zone data is served by knot on 127.0.0.1 (tests/support/spf_suite.py says how the
suite's conventions become zone files) and DNS-004 runs through the real DNS probe on the domain
each case checks. DNS-004 judges a domain's record, not one connection, so a case is compared by
what its expected result says about the record and the DNS:

    permerror                      -> DNS-004 fails the domain (an RFC permanent error)
    temperror                      -> DNS-004 is error (the DNS did not answer)
    none                           -> no SPF record: skip (no Exchange Online mail to protect)
    pass, fail, softfail, neutral  -> the record is valid: DNS-004 passes the domain

Policy concerns (a record that passes every sender) are findings of their own on another resource,
so 'all -all' (pass) is still a valid record here. Every case is compared except OUT_OF_SCOPE.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ems_readiness.checks.dns_records import spf_record
from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.model import Finding, Status
from ems_readiness.engine.profile import Profile
from ems_readiness.engine.texts import CHECK_FIX, render
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.dns import DnsProbe
from tests.support.knot import KnotServer
from tests.support.require import require_tool
from tests.support.spf_suite import Scenario, SuiteCase, load_suite, write_zones

SCENARIOS = load_suite()
STATUS_FOR_RESULT = {
    "permerror": Status.FAIL,
    "temperror": Status.ERROR,
    "none": Status.SKIP,
    "pass": Status.PASS,
    "fail": Status.PASS,
    "softfail": Status.PASS,
    "neutral": Status.PASS,
}

# Cases whose expected result is decided by something other than the record and the DNS.
OUT_OF_SCOPE = {
    # §4.3 initial processing of the identity: DNS-004 is given the tenant's verified domains,
    # which are domain names, never an address literal, a single label or a malformed name.
    "toolonglabel": "the identity has a 64-octet label: not a domain DNS-004 is given",
    "emptylabel": "the identity 'A...example.com' has empty labels: not a domain DNS-004 is given",
    "helo-not-fqdn": "the identity is the single-label HELO 'A2345678', not a domain",
    "helo-domain-literal": "the identity is the address literal '[1.2.3.5]', not a domain",
    "domain-literal": "the identity is the address literal 'foo@[1.2.3.5]', not a domain",
    # decided by the connecting IP: it matches a mechanism before the evaluation reaches the term
    # that breaks the record, which every other sender reaches (DNS-004 judges those senders).
    "include-at-limit": "1.2.3.4 matches ip4:1.2.3.4 before 'mx', the 11th DNS-querying term; any "
                        "other sender reaches it and gets permerror",
}


def expected_statuses(case: SuiteCase) -> set[Status]:
    return {STATUS_FOR_RESULT[result] for result in case.expected}


class Domains:
    """The scan inventory of one scenario: the domains its cases check."""

    def __init__(self, domains: list[str]) -> None:
        self.names = domains

    async def domains(self) -> list[str]:
        return self.names


def run_dns_004(address: str, domains: list[str]) -> dict[str, Finding]:
    async def scan() -> list[Finding]:
        probe = DnsProbe({"knot": address}, EvidenceLog(), timeout=2.0)
        ctx = CheckContext(spf_record, Profile(), Probes(graph=None, dns=probe, tls=None, tcp=None), Domains(domains))
        await spf_record.fn(ctx)
        return ctx.sink.findings

    return {finding.resource: finding for finding in asyncio.run(scan())}


@pytest.fixture(scope="module")
def knot_tools():
    return require_tool("knotd", "knot"), require_tool("knotc", "knot")


def in_scope(scenario: Scenario) -> list[SuiteCase]:
    return [case for case in scenario.cases if case.name not in OUT_OF_SCOPE]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.description for s in SCENARIOS])
def test_dns_004_agrees_with_the_rfc_7208_suite(scenario: Scenario, knot_tools, tmp_path: Path):
    knotd, knotc = knot_tools
    zones, broken = write_zones(scenario, tmp_path / "zones")
    server = KnotServer(tmp_path / "knot", zones, knotd=knotd, knotc=knotc, broken_zones=tuple(broken)).start()
    try:
        cases = in_scope(scenario)
        findings = run_dns_004(server.address, sorted({case.domain.lower() for case in cases}))
    finally:
        server.stop()
    disagreements = []
    for case in cases:
        finding = findings[case.domain.lower()]
        if finding.status not in expected_statuses(case):
            disagreements.append(f"{case.name} ({case.domain}, RFC 7208 {case.spec}): suite says "
                                 f"{'/'.join(sorted(case.expected))}, DNS-004 {finding.status.value}: {finding.message}")
    assert not disagreements, "\n".join(disagreements)
    for finding in findings.values():  # every sentence DNS-004 wrote has its Chinese text
        for text in finding.texts.values():
            assert text.id == CHECK_FIX or render(text, "zh-CN")


def test_the_suite_is_whole_and_out_of_scope_cases_exist():
    cases = [case for scenario in SCENARIOS for case in scenario.cases]
    names = {case.name for case in cases}
    assert len(cases) == len(names) == 203  # release 2014.04 with the 2019.08 additions, as pyspf ships it
    assert set(OUT_OF_SCOPE) <= names
    in_scope_cases = [case for case in cases if case.name not in OUT_OF_SCOPE]
    assert len(in_scope_cases) == 203 - len(OUT_OF_SCOPE)
    assert all(case.domain for case in in_scope_cases)


def test_permanent_errors_name_the_term_and_the_section(knot_tools, tmp_path: Path):
    """A failing verdict quotes the offending term and the RFC 7208 section that forbids it."""
    scenario = next(s for s in SCENARIOS if s.description == "Processing limits")
    knotd, knotc = knot_tools
    zones, broken = write_zones(scenario, tmp_path / "zones")
    server = KnotServer(tmp_path / "knot", zones, knotd=knotd, knotc=knotc, broken_zones=tuple(broken)).start()
    try:
        findings = run_dns_004(server.address, ["e1.example.com", "e2.example.com", "e4.example.com",
                                                "e9.example.com", "e11.example.com"])
    finally:
        server.stop()
    assert "'redirect=e1.example.com': a loop (e1.example.com -> e1.example.com)" in findings["e1.example.com"].message
    assert "a loop (e2.example.com -> e3.example.com -> e2.example.com)" in findings["e2.example.com"].message
    assert "has 11 MX records" in findings["e4.example.com"].message
    assert "'a': it makes 11 DNS-querying terms counted through includes and redirects" in findings["e9.example.com"].message
    assert "'a:err2.example.com': err2.example.com A found nothing (NXDOMAIN): 3 void lookups, more than the limit of 2" in findings["e11.example.com"].message
    for finding in findings.values():
        assert "(RFC 7208 §4.6.4)" in finding.message
