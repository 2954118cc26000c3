"""NET-004, network quality: real TLS handshakes to a simulated front door on loopback, made slow
by a relay that adds a set delay (no root), and through a CONNECT proxy that adds its own."""

from __future__ import annotations

import asyncio

import pytest

from ems_readiness.checks.network_quality import network_quality as NET_004
from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.endpoints import Endpoint
from ems_readiness.engine.model import Finding, Status
from ems_readiness.engine.profile import Profile
from ems_readiness.judges.network_quality import (
    judge_front_door, judge_proxy_added, latency_points, per_round_trip, points_label, thresholds,
)
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.dns import DnsProbe
from ems_readiness.probes.tcp import TcpProbe
from ems_readiness.probes.tls import TlsProbe
from ems_readiness.simulate.delay_relay import DelayRelay

from .test_reachability_checks import StandInInventory

FRONT_DOOR = "login.microsoftonline.com"


# ---- the judge: Microsoft's table, as cited in the data file -----------------------------------

@pytest.mark.parametrize("ms, points", [(0, 100), (10, 100), (17.5, 90), (25, 80), (62.5, 70), (100, 60),
                                        (200, 40), (300, 20), (325, 10), (350, 0), (5000, 0)])
def test_points_follow_microsofts_assessment_table(ms, points):
    assert latency_points(ms) == points


def test_verdict_bands_and_labels():
    assert judge_front_door(20, 5).status is Status.PASS
    assert judge_front_door(5, 60).status is Status.WARN  # the handshake round trip is slow: the worse decides
    slow = judge_front_door(250, 10)
    assert slow.status is Status.FAIL and slow.points == 30 and slow.label == "users-might-complain"
    assert points_label(80) == "meets-recommendations" and points_label(60) == "acceptable"
    assert per_round_trip(100, "TLSv1.2") == 50 and per_round_trip(100, "TLSv1.3") == 100
    assert judge_proxy_added(30) is Status.WARN and judge_proxy_added(10) is Status.PASS


def test_data_file_cites_its_sources():
    raw = data_toml("network_quality.toml")
    assert "network assessment" in raw["source"] and "connectivity test" in raw["source"]
    assert thresholds().pass_points == 80 and thresholds().proxy_added_warn_ms == 25


# ---- the check against real handshakes ---------------------------------------------------------

def run_net004(tls_dns, port: int, proxy: str | None = None) -> list[Finding]:
    async def scan() -> list[Finding]:
        evidence = EvidenceLog()
        dns = DnsProbe({"test": tls_dns.address}, evidence, timeout=2.0)
        tcp = TcpProbe(dns, evidence, timeout=5.0, proxy=proxy)
        tls = TlsProbe(dns, evidence, timeout=5.0, proxy=proxy)
        endpoints = [Endpoint(host=FRONT_DOOR, ports=(port,), service="entra", source="test", tls=True)]
        ctx = CheckContext(NET_004, Profile(), Probes(graph=None, dns=dns, tls=tls, tcp=tcp),  # type: ignore[arg-type]
                           StandInInventory(endpoints))
        await NET_004.fn(ctx)
        return ctx.sink.findings

    return asyncio.run(scan())


def door(findings: list[Finding]) -> Finding:
    return next(f for f in findings if f.resource.startswith(FRONT_DOOR))


def test_a_relay_delay_turns_into_a_slower_verdict(tls_servers, tls_dns):
    server = ("127.0.0.1", tls_servers.port("ms-login"))
    figures = {}
    for delay, expected in ((0.04, Status.WARN), (0.15, Status.FAIL)):
        with DelayRelay(server, delay=delay) as relay:
            finding = door(run_net004(tls_dns, relay.port))
        assert finding.status is expected, finding.observed
        data = [e.data for e in finding.evidence if e.probe == "tls"]
        assert len(data) == thresholds().samples
        # every handshake paid the delay both ways at least once: at least 2 x delay
        assert all(d["handshake_ms"] >= 2 * delay * 1000 for d in data)
        figures[delay] = finding
    assert figures[0.15].action is not None and figures[0.15].action.key == "network.front-door-latency"
    assert "best of 3" in figures[0.04].observed and "points" in figures[0.04].observed


def test_a_proxy_that_adds_latency_is_named(tls_servers, tls_dns, connect_proxy):
    from tests.support.tls_servers import ConnectProxy

    slow = ConnectProxy(delay=0.06).start()
    try:
        finding = door(run_net004(tls_dns, tls_servers.port("ms-login"), proxy=slow.url))
    finally:
        slow.stop()
    assert finding.status in (Status.WARN, Status.FAIL), finding.message
    assert "the proxy adds" in finding.message and "more than the 25 ms" in finding.message
    assert finding.action is not None and finding.action.key == "network.proxy-latency"
    assert "secret" not in finding.model_dump_json()  # the proxy's password never shows


def test_a_door_that_does_not_answer_is_error_not_pass(tls_dns, refused_port):
    finding = door(run_net004(tls_dns, refused_port))
    assert finding.status is Status.ERROR and "could not be measured" in finding.message


def test_every_resolver_answer_time_is_reported_as_information(tls_servers, tls_dns):
    findings = run_net004(tls_dns, tls_servers.port("ms-login"))
    resolver = next(f for f in findings if f.resource == "resolver test")
    assert resolver.status is Status.PASS and "information only" in resolver.message and resolver.observed.endswith(" ms")
