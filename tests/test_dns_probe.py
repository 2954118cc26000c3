"""The DNS probe against a real authoritative server (knot on 127.0.0.1), and the simulated DNS server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from ems_readiness.probes.base import EvidenceLog, ProbeError
from ems_readiness.probes.dns import DnsProbe, DnsStatus, MxValue, SrvValue
from ems_readiness.simulate.dns_server import DnsSimulator
from tests.support.knot import KnotServer
from tests.support.require import require_tool

SCENARIOS = Path(__file__).resolve().parent.parent / "ems_readiness" / "fixtures" / "scenarios"


def probe(address: str, timeout: float = 2.0, **more_resolvers: str) -> DnsProbe:
    return DnsProbe({"test": address, **more_resolvers}, EvidenceLog(), timeout=timeout)


def ask(address: str, name: str, rdtype: str, timeout: float = 2.0):
    async def run():
        return await probe(address, timeout).query(name, rdtype)

    return asyncio.run(run())


# --- record types ------------------------------------------------------------------------------


def test_a_and_aaaa(knot_server):
    a = ask(knot_server.address, "www.contoso.test", "A")
    aaaa = ask(knot_server.address, "WWW.Contoso.Test.", "AAAA")
    assert (a.status, a.records, a.values) == (DnsStatus.OK, ["127.0.0.11"], ["127.0.0.11"])
    assert (aaaa.status, aaaa.name, aaaa.records) == (DnsStatus.OK, "www.contoso.test", ["::1"])


def test_cname_queried_directly(knot_server):
    answer = ask(knot_server.address, "enterpriseenrollment.contoso.test", "CNAME")
    assert answer.status is DnsStatus.OK
    assert answer.records == ["enterpriseenrollment-s.manage.microsoft.com."]
    assert answer.values == ["enterpriseenrollment-s.manage.microsoft.com"]


def test_a_through_an_in_zone_cname(knot_server):
    answer = ask(knot_server.address, "alias2.contoso.test", "A")
    assert answer.values == ["127.0.0.11"]
    assert answer.canonical_name == "www.contoso.test"


def test_mx(knot_server):
    answer = ask(knot_server.address, "contoso.test", "MX")
    assert answer.records == ["0 contoso-test.mail.protection.outlook.com."]
    assert answer.values == [MxValue(0, "contoso-test.mail.protection.outlook.com")]


def test_txt_records_and_joined_strings(knot_server):
    apex = ask(knot_server.address, "contoso.test", "TXT")
    assert sorted(apex.values) == ["MS=ms12345678", "v=spf1 include:spf.protection.outlook.com -all"]
    split = ask(knot_server.address, "split.contoso.test", "TXT")
    assert split.values == ["first part second part"]


def test_srv(knot_server):
    answer = ask(knot_server.address, "_sip._tls.contoso.test", "SRV")
    assert answer.records == ["100 1 443 sipdir.online.lync.com."]
    assert answer.values == [SrvValue(100, 1, 443, "sipdir.online.lync.com")]


# --- outcomes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, rdtype, status, rcode",
    [
        ("nope.contoso.test", "A", DnsStatus.NXDOMAIN, "NXDOMAIN"),
        ("www.contoso.test", "MX", DnsStatus.NODATA, "NOERROR"),
        ("_tls.contoso.test", "SRV", DnsStatus.NODATA, "NOERROR"),  # empty non-terminal
        ("other.example", "A", DnsStatus.REFUSED, "REFUSED"),
        ("www.broken.test", "A", DnsStatus.SERVFAIL, "SERVFAIL"),
    ],
)
def test_outcomes(knot_server, name, rdtype, status, rcode):
    answer = ask(knot_server.address, name, rdtype)
    assert answer.status is status
    assert answer.records == []
    assert answer.evidence.outcome == status.value
    assert answer.evidence.data["rcode"] == rcode
    assert answer.status.missing == (status in (DnsStatus.NXDOMAIN, DnsStatus.NODATA))
    assert answer.status.unanswered == (status in (DnsStatus.REFUSED, DnsStatus.SERVFAIL))


def test_silent_resolver_times_out(silent_resolver):
    answer = ask(silent_resolver.address, "www.contoso.test", "A", timeout=0.3)
    assert answer.status is DnsStatus.TIMEOUT
    assert answer.status.unanswered
    assert 250 <= answer.elapsed_ms < 2000
    assert answer.evidence.data["rcode"] is None


def test_evidence_names_resolver_question_and_answers(knot_server):
    answer = ask(knot_server.address, "contoso.test", "MX")
    evidence = answer.evidence
    assert evidence.probe == "dns"
    assert evidence.target == "contoso.test MX @test"
    assert evidence.data["resolver"] == "test"
    assert evidence.data["address"] == knot_server.address
    assert (evidence.data["name"], evidence.data["type"]) == ("contoso.test", "MX")
    assert evidence.data["answers"] == ["0 contoso-test.mail.protection.outlook.com."]
    assert evidence.elapsed_ms is not None


def test_unknown_resolver_is_a_probe_error(knot_server):
    async def run():
        await probe(knot_server.address).query("contoso.test", "A", resolver="nope")

    with pytest.raises(ProbeError, match="unknown resolver 'nope'"):
        asyncio.run(run())


# --- one query per question ----------------------------------------------------------------------


def test_each_question_reaches_the_server_once(knot_server):
    async def run():
        dns_probe = probe(knot_server.address)
        questions = [("www.contoso.test", "A"), ("contoso.test", "MX"), ("nope.contoso.test", "TXT")]
        before = knot_server.query_count()
        # 20 concurrent askers per question, spelled differently, plus a second round afterwards
        await asyncio.gather(*(dns_probe.query(n.upper() if i % 2 else n, t) for n, t in questions for i in range(20)))
        await asyncio.gather(*(dns_probe.query(n + ".", t) for n, t in questions))
        return knot_server.query_count() - before, dns_probe

    sent, dns_probe = asyncio.run(run())
    assert sent == 3


def test_each_resolver_is_asked_separately(knot_server):
    async def run():
        dns_probe = probe(knot_server.address, second=knot_server.address)
        before = knot_server.query_count()
        first = await dns_probe.query("www.contoso.test", "A")
        second = await dns_probe.query("www.contoso.test", "A", resolver="second")
        return knot_server.query_count() - before, first, second, dns_probe

    sent, first, second, dns_probe = asyncio.run(run())
    assert dns_probe.resolver_names == ["test", "second"]
    assert sent == 2
    assert (first.resolver, second.resolver) == ("test", "second")


def test_runtime_change_seen_by_a_new_scan_not_by_the_same_one(knot_server):
    async def scan(dns_probe):
        return await dns_probe.query("runtime.contoso.test", "TXT")

    async def run():
        dns_probe = probe(knot_server.address)
        before = await scan(dns_probe)
        knot_server.set_record("contoso.test", "runtime", 300, "TXT", '"added"')
        try:
            same_scan = await scan(dns_probe)
            new_scan = await scan(probe(knot_server.address))
        finally:
            knot_server.unset_record("contoso.test", "runtime")
        return before, same_scan, new_scan

    before, same_scan, new_scan = asyncio.run(run())
    assert before.status is DnsStatus.NXDOMAIN
    assert same_scan is before
    assert new_scan.values == ["added"]


# --- CNAME chains ------------------------------------------------------------------------------


def chain(address: str, name: str):
    async def run():
        return await probe(address).cname_chain(name)

    return asyncio.run(run())


def test_chain_to_a_name_without_cname(knot_server):
    result = chain(knot_server.address, "enterpriseenrollment.contoso.test")
    assert result.status is DnsStatus.OK
    assert result.targets == ["enterpriseenrollment-s.manage.microsoft.com"]
    assert result.ended_by == "end"
    assert len(result.evidence) == 2


def test_chain_of_several_hops(knot_server):
    result = chain(knot_server.address, "alias2.contoso.test")
    assert result.targets == ["alias.contoso.test", "www.contoso.test"]
    assert result.target == "www.contoso.test"
    assert result.describe() == "alias2.contoso.test -> alias.contoso.test -> www.contoso.test"


def test_chain_leaving_the_servers_zones_is_not_an_error(knot_server):
    result = chain(knot_server.address, "outside.contoso.test")
    assert result.status is DnsStatus.OK
    assert result.ended_by == "out-of-zone"
    assert result.target == "somewhere.example"


def test_chain_loop_stops(knot_server):
    result = chain(knot_server.address, "loop1.contoso.test")
    assert result.ended_by == "loop"
    assert result.targets == ["loop2.contoso.test", "loop1.contoso.test"]


@pytest.mark.parametrize(
    "name, status",
    [
        ("nope.contoso.test", DnsStatus.NXDOMAIN),
        ("www.contoso.test", DnsStatus.NODATA),
        ("www.broken.test", DnsStatus.SERVFAIL),
        ("www.other.example", DnsStatus.REFUSED),
    ],
)
def test_chain_of_a_name_that_is_no_cname(knot_server, name, status):
    result = chain(knot_server.address, name)
    assert result.status is status
    assert result.hops == []
    assert result.target is None


# --- addresses ---------------------------------------------------------------------------------


def addresses(address: str, host: str, timeout: float = 2.0):
    async def run():
        return await probe(address, timeout).addresses(host)

    return asyncio.run(run())


def test_addresses_a_and_aaaa(knot_server):
    result = addresses(knot_server.address, "www.contoso.test")
    assert (result.status, result.addresses) == (DnsStatus.OK, ["127.0.0.11", "::1"])
    assert result.evidence.data["addresses"] == ["127.0.0.11", "::1"]


def test_addresses_aaaa_only_and_through_cname(knot_server):
    assert addresses(knot_server.address, "v6only.contoso.test").addresses == ["::1"]
    assert addresses(knot_server.address, "alias.contoso.test").addresses == ["127.0.0.11", "::1"]


@pytest.mark.parametrize(
    "host, status",
    [
        ("nope.contoso.test", DnsStatus.NXDOMAIN),
        ("_sip._tls.contoso.test", DnsStatus.NODATA),
        ("www.broken.test", DnsStatus.SERVFAIL),
    ],
)
def test_addresses_not_found(knot_server, host, status):
    result = addresses(knot_server.address, host)
    assert (result.status, result.addresses) == (status, [])


def test_address_literal_needs_no_query(silent_resolver):
    for literal, expected in (("127.0.0.5", "127.0.0.5"), ("[::1]", "::1")):
        result = addresses(silent_resolver.address, literal, timeout=0.2)
        assert (result.status, result.addresses) == (DnsStatus.OK, [expected])


def test_addresses_timeout(silent_resolver):
    result = addresses(silent_resolver.address, "www.contoso.test", timeout=0.3)
    assert result.status is DnsStatus.TIMEOUT


# --- the simulated DNS server ------------------------------------------------------------------


def raw_query(simulator: DnsSimulator, name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.asyncquery.tcp if tcp else dns.asyncquery.udp
    return asyncio.run(send(query, simulator.host, port=simulator.port, timeout=2))


@pytest.fixture(scope="module")
def unready_dns():
    with DnsSimulator(sorted((SCENARIOS / "unready" / "zones").glob("*.zone")), servfail_names=["fail.contoso.test"]) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def ready_dns():
    with DnsSimulator(sorted((SCENARIOS / "ready" / "zones").glob("*.zone"))) as simulator:
        yield simulator


def test_simulator_flags_and_rcodes(unready_dns):
    data = raw_query(unready_dns, "contoso.test", "MX")
    assert data.rcode() == dns.rcode.NOERROR and data.flags & dns.flags.AA and data.answer
    nxdomain = raw_query(unready_dns, "enterpriseenrollment.contoso.test", "CNAME")
    assert nxdomain.rcode() == dns.rcode.NXDOMAIN and nxdomain.flags & dns.flags.AA
    assert nxdomain.authority[0].rdtype == dns.rdatatype.SOA
    nodata = raw_query(unready_dns, "sts.contoso.test", "MX", tcp=True)
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and nodata.flags & dns.flags.AA
    refused = raw_query(unready_dns, "www.example.org", "A")
    assert refused.rcode() == dns.rcode.REFUSED and not refused.flags & dns.flags.AA
    servfail = raw_query(unready_dns, "fail.contoso.test", "A", tcp=True)
    assert servfail.rcode() == dns.rcode.SERVFAIL


def test_simulator_answers_the_unready_scenario(unready_dns):
    async def run():
        dns_probe = probe(unready_dns.address)
        return await asyncio.gather(
            dns_probe.cname_chain("enterpriseenrollment.contoso.test"),
            dns_probe.cname_chain("enterpriseregistration.contoso.test"),
            dns_probe.query("fabrikam.test", "TXT"),
            dns_probe.query("contoso.test", "MX"),
            dns_probe.addresses("login.microsoftonline.com"),
            dns_probe.addresses("sts.contoso.test"),
        )

    enrollment, registration, fabrikam_txt, mx, login, sts = asyncio.run(run())
    assert enrollment.status is DnsStatus.NXDOMAIN
    assert registration.targets == ["adfs.contoso.test"]
    assert len([v for v in fabrikam_txt.values if v.startswith("v=spf1")]) == 2
    assert mx.values == [MxValue(10, "mail.contoso.test")]
    assert login.addresses == sts.addresses == ["127.0.0.1"]


def test_simulator_answers_the_ready_scenario(ready_dns):
    async def run():
        dns_probe = probe(ready_dns.address)
        return await asyncio.gather(
            dns_probe.cname_chain("enterpriseenrollment.contoso.test"),
            dns_probe.cname_chain("enterpriseregistration.fed.contoso.test"),
            dns_probe.query("contoso.test", "MX"),
            dns_probe.query("_sip._tls.contoso.test", "SRV"),
            dns_probe.query("autodiscover.contoso.test", "A"),
            dns_probe.query("contoso-test.mail.protection.outlook.com", "A"),
            dns_probe.query("spf.protection.outlook.com", "TXT"),
        )

    enrollment, registration, mx, srv, autodiscover, mail_host, spf = asyncio.run(run())
    assert enrollment.targets == ["enterpriseenrollment-s.manage.microsoft.com"]
    assert registration.targets == ["enterpriseregistration.windows.net"]
    assert mx.values == [MxValue(0, "contoso-test.mail.protection.outlook.com")]
    assert srv.values == [SrvValue(100, 1, 443, "sipdir.online.lync.com")]
    # a CNAME into another zone the simulator serves is followed, as a resolver would
    assert (autodiscover.canonical_name, autodiscover.values) == ("autodiscover.outlook.com", ["127.0.0.1"])
    assert mail_host.values == ["127.0.0.1"]
    assert spf.values[0].startswith("v=spf1")


def test_simulator_truncates_over_udp_and_answers_whole_over_tcp(tmp_path):
    zone = tmp_path / "big.test.zone"
    txt = "\n".join(f'@ IN TXT "{"x" * 200} {i}"' for i in range(10))
    zone.write_text(
        "$ORIGIN big.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n"
        + txt + "\n"
    )
    with DnsSimulator([zone]) as simulator:
        query = dns.message.make_query("big.test", "TXT", use_edns=False)
        udp = asyncio.run(dns.asyncquery.udp(query, simulator.host, port=simulator.port, timeout=2))
        assert udp.flags & dns.flags.TC
        answer = ask(simulator.address, "big.test", "TXT")  # dnspython retries over TCP
        assert len(answer.values) == 10


@pytest.fixture(scope="module")
def unready_knot(tmp_path_factory):
    knotd = require_tool("knotd", "knot")
    knotc = require_tool("knotc", "knot")
    zones = sorted((SCENARIOS / "unready" / "zones").glob("*.zone"))
    server = KnotServer(tmp_path_factory.mktemp("knot-unready"), zones, knotd=knotd, knotc=knotc).start()
    yield server
    server.stop()


SCENARIO_QUESTIONS = [
    ("contoso.test", "MX"),
    ("contoso.test", "TXT"),
    ("fabrikam.test", "TXT"),
    ("enterpriseenrollment.contoso.test", "CNAME"),
    ("enterpriseregistration.contoso.test", "CNAME"),
    ("enterpriseenrollment.fed.contoso.test", "CNAME"),
    ("fed.contoso.test", "A"),  # empty non-terminal
    ("_sip._tls.contoso.test", "SRV"),
    ("sts.contoso.test", "A"),
    ("sts.contoso.test", "AAAA"),
    ("login.microsoftonline.com", "A"),  # wildcard
    ("a.b.c.manage.microsoft.com", "A"),  # wildcard, several labels
    ("x.mail.protection.outlook.com", "A"),  # wildcard below an empty non-terminal
    ("x.protection.outlook.com", "A"),  # no wildcard there: NXDOMAIN
    ("spf.protection.outlook.com", "TXT"),
    ("spf.protection.outlook.com", "A"),
    ("www.example.org", "A"),
]


def test_simulator_answers_like_knot(unready_dns, unready_knot):
    """Differential test: the pure-Python server and knot give the same answers over the same zones."""

    async def run():
        dns_probe = probe(unready_dns.address, knot=unready_knot.address)
        return await asyncio.gather(
            *(
                asyncio.gather(dns_probe.query(name, rdtype), dns_probe.query(name, rdtype, resolver="knot"))
                for name, rdtype in SCENARIO_QUESTIONS
            )
        )

    for (name, rdtype), (simulated, real) in zip(SCENARIO_QUESTIONS, asyncio.run(run())):
        assert (simulated.status, simulated.records) == (real.status, real.records), f"{name} {rdtype}"


def test_a_name_dnspython_cannot_encode_is_an_error_answer(knot_server):
    answer = ask(knot_server.address, "x" * 64 + ".contoso.test", "a")
    assert answer.status is DnsStatus.ERROR
    assert answer.rdtype == "A"
    assert "LabelTooLong" in answer.detail
