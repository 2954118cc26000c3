"""The TCP probe against real listeners: loopback, a network namespace with iptables, tinyproxy, knot."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Iterator

import pytest

from ems_readiness.probes.base import EvidenceLog, ProbeError
from ems_readiness.probes.dns import DnsProbe
from ems_readiness.probes import tcp
from ems_readiness.probes.tcp import TcpProbe
from ems_readiness.simulate.tcp_listeners import TcpSimulator


class StaticDns:
    """Stand-in for DnsProbe.addresses(): names → addresses, or a failure status."""

    def __init__(self, evidence: EvidenceLog, names: dict[str, list[str] | str]) -> None:
        self.evidence = evidence
        self.names = names
        self.asked: list[str] = []

    async def addresses(self, host: str) -> SimpleNamespace:
        self.asked.append(host)
        entry = self.names.get(host, "nxdomain")
        if entry == "raise":
            raise ProbeError(f"not a DNS name: {host!r}")
        addresses, status = (entry, "ok") if isinstance(entry, list) else ([], entry)
        evidence = self.evidence.record(
            "dns", f"{host} A+AAAA @stand-in", status, 0.1, resolver="stand-in", address="127.0.0.1:53", addresses=addresses
        )
        return SimpleNamespace(host=host, addresses=addresses, status=status, evidence=evidence)


class NoDns:
    async def addresses(self, host: str):
        raise AssertionError(f"an IP literal must not be looked up: {host}")


def run(coro_factory):
    """asyncio.run over a coroutine factory, so each test gets fresh probes on its own loop."""
    return asyncio.run(coro_factory())


def make_probe(names: dict[str, list[str] | str] | None = None, **kw) -> TcpProbe:
    evidence = EvidenceLog()
    dns = StaticDns(evidence, names) if names is not None else NoDns()
    return TcpProbe(dns, evidence, **kw)


@pytest.fixture(scope="module")
def loopback() -> Iterator[TcpSimulator]:
    specs = [{"name": "open", "mode": "open"}, {"name": "refused", "mode": "refused"}]
    specs += [{"name": f"filtered-{i}", "mode": "filtered"} for i in range(30)]
    with TcpSimulator(specs) as simulator:
        yield simulator


# --- direct connects on loopback ---------------------------------------------------------------


def test_open_refused_and_filtered_are_told_apart(loopback):
    """By what came back, not by how long it took: under CPU load every connect is slower, but a
    RST is still ECONNREFUSED and a silent port still waits its whole bound, twice."""

    async def scan():
        probe = make_probe(timeout=0.5)
        return probe, await asyncio.gather(
            *(probe.connect("127.0.0.1", loopback.port(n)) for n in ("open", "refused", "filtered-0"))
        )

    probe, (opened, refused, filtered) = run(scan)
    assert (opened.status, refused.status, filtered.status) == ("open", "refused", "filtered")
    assert opened.ok and not refused.ok and opened.address == "127.0.0.1"
    assert "refused" in refused.detail and "TCP reset" in refused.detail
    assert refused.evidence.data["attempts"][0]["errno"] == "ECONNREFUSED"
    assert "errno" not in opened.evidence.data["attempts"][0]
    silent = filtered.evidence.data["attempts"][0]
    assert filtered.detail.startswith("no answer from 127.0.0.1 ")
    # the host answered, so the silent port's bound is derived from its round trips: at least the
    # floor, at most the timeout; a second SYN when the bound left room for it
    assert tcp.SILENT_FLOOR <= silent["waited_s"] <= 0.5
    assert silent["syns"] == (2 if silent["waited_s"] < 0.5 else 1)
    assert filtered.elapsed_ms >= silent["syns"] * silent["waited_s"] * 1000 - 5
    outcomes = {e.target: e.outcome for e in probe.evidence.items}
    assert outcomes[f"127.0.0.1:{loopback.port('filtered-0')}"] == "filtered"
    assert filtered.evidence.data["timeout_s"] == 0.5
    assert filtered.evidence.probe == "tcp"


def test_a_host_that_answers_nothing_keeps_the_full_timeout(loopback):
    async def scan():
        return await make_probe(timeout=0.4).connect("127.0.0.1", loopback.port("filtered-1"))

    observation = run(scan)
    assert observation.status == "filtered"
    assert observation.detail == "no answer from 127.0.0.1 within 0.4 s"
    assert observation.elapsed_ms >= 395
    assert observation.evidence.data["attempts"][0]["syns"] == 1


def test_the_silent_bound_follows_the_round_trips_within_the_floor_and_the_timeout():
    trips = tcp.RoundTrips(timeout=2.0)
    assert trips.bound("10.0.0.1") == 2.0  # nothing answered yet
    trips.observe("10.0.0.1", 0.001)
    assert trips.bound("10.0.0.1") == tcp.SILENT_FLOOR  # a LAN round trip: the floor
    assert trips.bound("10.0.0.2") == 2.0  # per address
    for _ in range(20):
        trips.observe("10.0.0.3", 0.150)
    assert 0.150 < trips.bound("10.0.0.3") < 0.3  # SRTT + 4 RTTVAR of a steady 150 ms path
    trips.observe("10.0.0.4", 0.9)
    trips.observe("10.0.0.4", 0.1)
    assert trips.bound("10.0.0.4") == 2.0  # a jittery path: never above the timeout
    assert tcp.RoundTrips(timeout=0.1).bound("x") == 0.1 and tcp.RoundTrips(timeout=0.1).floor == 0.1


def test_names_resolve_through_the_dns_probe(loopback):
    async def scan():
        probe = make_probe({"login.microsoftonline.com": ["127.0.0.1"]}, timeout=0.5)
        return await probe.connect("Login.MicrosoftOnline.com.", loopback.port("open"))

    observation = run(scan)
    assert observation.status == "open" and observation.host == "login.microsoftonline.com"
    assert observation.dns_evidence is not None and observation.dns_evidence.probe == "dns"
    assert [e.probe for e in observation.all_evidence] == ["dns", "tcp"]


@pytest.mark.parametrize(
    "answer, dns_status, words",
    [
        ("nxdomain", "nxdomain", "answered NXDOMAIN"),
        ([], "nodata", "NODATA"),
        ("servfail", "servfail", "answered SERVFAIL"),
        ("timeout", "timeout", "did not answer in time"),
    ],
)
def test_dns_failures_are_reported_with_the_resolver_answer(answer, dns_status, words):
    async def scan():
        return await make_probe({"gone.example.test": answer}).connect("gone.example.test", 443)

    observation = run(scan)
    assert observation.status == "dns-failure"
    assert observation.dns_status == dns_status
    assert words in observation.detail and "stand-in (127.0.0.1:53)" in observation.detail
    assert observation.evidence.outcome == "dns-failure"


def test_a_name_the_dns_probe_rejects_is_a_probe_error():
    async def scan():
        return await make_probe({"bad..name": "raise"}).connect("bad..name", 443)

    observation = run(scan)
    assert observation.status == "error" and "could not be looked up" in observation.detail


def test_an_ip_literal_needs_no_dns(loopback):
    async def scan():
        probe = make_probe(timeout=0.5)
        return await asyncio.gather(probe.connect("127.0.0.1", loopback.port("open")), probe.connect("[::1]", 9))

    v4, v6 = run(scan)
    assert v4.status == "open"
    assert v6.status in ("refused", "unreachable")  # no IPv6 listener; no DNS either way


def test_the_next_address_is_tried_within_the_same_timeout(loopback):
    # 127.0.0.2 has no listener on that port (the simulator binds 127.0.0.1 only): refused, then open
    async def scan():
        probe = make_probe({"two.example.test": ["127.0.0.2", "127.0.0.1"]}, timeout=0.5)
        return await probe.connect("two.example.test", loopback.port("open"))

    observation = run(scan)
    assert observation.status == "open" and observation.address == "127.0.0.1"
    assert [a["status"] for a in observation.evidence.data["attempts"]] == ["refused", "open"]


def test_each_target_is_probed_once_per_scan(loopback):
    async def scan():
        probe = make_probe({"login.microsoftonline.com": ["127.0.0.1"]}, timeout=0.5)
        port = loopback.port("filtered-1")
        first = await asyncio.gather(*(probe.connect("login.microsoftonline.com", port) for _ in range(10)))
        again = await probe.connect("LOGIN.microsoftonline.com", port)
        return probe, first, again

    probe, first, again = run(scan)
    assert all(o is first[0] for o in first) and again is first[0]
    assert len([e for e in probe.evidence.items if e.probe == "tcp"]) == 1
    assert probe.dns.asked == ["login.microsoftonline.com"]


def test_many_filtered_ports_cost_about_one_timeout(loopback):
    ports = [loopback.port(f"filtered-{i}") for i in range(2, 30)]

    async def scan():
        probe = make_probe(timeout=0.5, concurrency=64)
        started = time.perf_counter()
        observations = await asyncio.gather(*(probe.connect("127.0.0.1", p) for p in ports))
        return time.perf_counter() - started, observations

    elapsed, observations = run(scan)
    assert {o.status for o in observations} == {"filtered"}
    assert elapsed < 1.2, f"28 filtered ports took {elapsed:.2f} s with concurrency 64"


def test_concurrency_is_bounded(loopback):
    ports = [loopback.port(f"filtered-{i}") for i in range(2, 6)]

    async def scan():
        probe = make_probe(timeout=0.3, concurrency=2)
        started = time.perf_counter()
        await asyncio.gather(*(probe.connect("127.0.0.1", p) for p in ports))
        return time.perf_counter() - started

    elapsed = run(scan)
    assert 0.58 <= elapsed < 1.0, f"4 filtered ports, 2 at a time, 0.3 s each: {elapsed:.2f} s"


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_every_socket_is_closed(loopback):
    targets = [loopback.port("open"), loopback.port("refused"), *(loopback.port(f"filtered-{i}") for i in range(6, 12))]

    async def scan():
        probe = make_probe(timeout=0.3)
        await asyncio.gather(*(probe.connect("127.0.0.1", p) for p in targets))

    run(scan)  # warm up: the event loop's own descriptors
    before = open_descriptors()
    run(scan)
    assert open_descriptors() == before


def test_the_probe_resolves_through_a_real_dns_server(knot_server):
    """Real DnsProbe against knot: a name in the zone connects, a missing name is NXDOMAIN."""
    with TcpSimulator([{"name": "enrollment", "mode": "open"}]) as simulator:

        async def scan():
            evidence = EvidenceLog()
            probe = TcpProbe(DnsProbe({"test": knot_server.address}, evidence, timeout=2.0), evidence, timeout=1.0)
            port = simulator.port("enrollment")
            return await asyncio.gather(
                probe.connect("enterpriseenrollment-s.manage.microsoft.com", port),
                probe.connect("nothing-here.manage.microsoft.com", port),
            )

        found, missing = run(scan)
    assert found.status == "open" and found.address == "127.0.0.1"
    assert missing.status == "dns-failure" and missing.dns_status == "nxdomain"
    assert "NXDOMAIN" in missing.detail and "test (" in missing.detail


# --- a network namespace with a real firewall --------------------------------------------------


@pytest.mark.realnet
@pytest.mark.parametrize(
    "behaviour, status, errno_name",
    [
        ("open", "open", None),
        ("closed", "refused", "ECONNREFUSED"),
        ("drop", "filtered", None),
        ("reset", "refused", "ECONNREFUSED"),
        ("host-unreachable", "unreachable", "EHOSTUNREACH"),
        ("admin-prohibited", "unreachable", "EHOSTUNREACH"),
    ],
)
def test_firewall_behaviours_in_a_namespace(netns, behaviour, status, errno_name):
    async def scan():
        return await make_probe(timeout=0.5).connect(netns.address, netns.port(behaviour))

    observation = run(scan)
    assert observation.status == status, observation.detail
    attempt = observation.evidence.data["attempts"][0]
    assert attempt.get("errno") == errno_name


@pytest.mark.realnet
def test_a_port_dropped_by_a_firewall_of_an_answering_host_is_told_by_its_round_trips(netns):
    """Behind iptables DROP, among ports that answer: a derived bound (two SYNs), not the 2 s timeout;
    the verdicts are the same as with the full timeout."""

    async def scan():
        probe = make_probe(timeout=2.0)
        return await asyncio.gather(*(probe.connect(netns.address, netns.port(b)) for b in ("open", "closed", "drop")))

    opened, closed, dropped = run(scan)
    assert (opened.status, closed.status, dropped.status) == ("open", "refused", "filtered")
    silent = dropped.evidence.data["attempts"][0]
    assert silent["syns"] == 2 and tcp.SILENT_FLOOR <= silent["waited_s"] < 2.0
    assert "answered connects to " + netns.address in dropped.detail


@pytest.mark.realnet
def test_a_namespace_scan_of_every_behaviour_costs_one_timeout(netns):
    async def scan():
        probe = make_probe(timeout=0.5)
        started = time.perf_counter()
        await asyncio.gather(*(probe.connect(netns.address, p) for p in netns.ports.values()))
        return time.perf_counter() - started

    assert run(scan) < 1.0


# --- through tinyproxy -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_service() -> Iterator[int]:
    """A plain HTTP server on loopback answering HEAD with 204, for the HEAD-through-proxy path."""

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def through(proxy_url: str, host: str, port: int, **kw):
    async def scan():
        probe = make_probe(proxy=proxy_url, **kw)
        return await probe.via_proxy(host, port)

    return run(scan)


@pytest.mark.realnet
def test_connect_through_the_proxy_is_open_only_with_proof_of_origin(filtering_proxy, loopback, loopback_tls):
    trust = loopback_tls.trust_bundle
    observation = through(filtering_proxy.url, "127.0.0.1", loopback_tls.port("ip"), timeout=2.0, trust=trust)
    assert observation.status == "open" and observation.http_status == 200
    assert observation.mode == "proxy" and observation.evidence.probe == "proxy"
    assert observation.evidence.data["method"] == "CONNECT"
    assert observation.evidence.data["proof"] == "tls-verified"
    # tinyproxy's 200 alone, to a listener that accepts and closes: no proof the target answered
    silent = through(filtering_proxy.url, "127.0.0.1", loopback.port("open"), timeout=2.0, trust=trust)
    assert silent.status == "proxy-no-answer" and "the target did not answer" in silent.detail
    # a certificate that does not validate for the name (the trust store lacks its root)
    untrusted = through(filtering_proxy.url, "127.0.0.1", loopback_tls.port("ip"), timeout=2.0)
    assert untrusted.status == "proxy-unverified" and "does not validate for 127.0.0.1" in untrusted.detail


@pytest.mark.realnet
def test_a_host_the_proxy_filters_is_denied(filtering_proxy, loopback):
    observation = through(filtering_proxy.url, "localhost", loopback.port("open"), timeout=2.0)
    assert observation.status == "proxy-denied" and observation.http_status == 403
    assert "Filtered" in observation.detail


@pytest.mark.realnet
def test_a_target_the_proxy_cannot_reach_is_a_proxy_error(filtering_proxy, loopback):
    observation = through(filtering_proxy.url, "127.0.0.1", loopback.port("refused"), timeout=2.0)
    assert observation.status == "proxy-error" and observation.http_status == 500
    assert observation.proxy_error == "upstream-failed"


@pytest.mark.realnet
def test_a_target_dropped_beyond_the_proxy_times_out(filtering_proxy, netns):
    observation = through(filtering_proxy.url, netns.address, netns.port("drop"), timeout=0.8)
    assert observation.status == "proxy-timeout"
    assert observation.elapsed_ms < 1500


@pytest.mark.realnet
def test_proxy_authentication_407_401_and_success(auth_proxy, loopback_tls):
    port, trust = loopback_tls.port("ip"), loopback_tls.trust_bundle
    without = through(auth_proxy.url, "127.0.0.1", port, timeout=2.0)
    wrong = through(auth_proxy.url_with("user", "s3cr3t-wrong"), "127.0.0.1", port, timeout=2.0)
    right = through(auth_proxy.authenticated_url, "127.0.0.1", port, timeout=2.0, trust=trust)
    assert (without.status, without.http_status) == ("proxy-auth-required", 407)
    assert "no credentials were sent" in without.detail
    assert (wrong.status, wrong.http_status) == ("proxy-auth-required", 401)
    assert "credentials were sent and rejected" in wrong.detail
    assert right.status == "open"
    recorded = json.dumps([o.evidence.model_dump() for o in (without, wrong, right)]) + wrong.detail
    assert "s3cr3t-wrong" not in recorded and "user:" not in recorded
    assert wrong.proxy == f"http://127.0.0.1:{auth_proxy.port}"


@pytest.mark.realnet
def test_plain_http_ports_are_asked_with_an_absolute_request(filtering_proxy, http_service):
    allowed = through(filtering_proxy.url, "127.0.0.1", http_service, timeout=2.0, plain_http_ports=frozenset({http_service}))
    denied = through(filtering_proxy.url, "localhost", http_service, timeout=2.0, plain_http_ports=frozenset({http_service}))
    # plain HTTP through a proxy carries no proof of who answered: never `open`
    assert allowed.status == "proxy-unverified" and allowed.http_status == 204
    assert "no proof of who sent it" in allowed.detail
    assert allowed.evidence.data["method"] == "HEAD"
    assert denied.status == "proxy-denied" and denied.http_status == 403


def test_an_unreachable_proxy():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    observation = through(f"http://127.0.0.1:{closed}", "127.0.0.1", 443, timeout=1.0)
    assert observation.status == "proxy-unreachable"
    assert "cannot connect to the proxy" in observation.detail


def test_via_proxy_without_a_proxy_is_a_probe_error():
    async def scan():
        await make_probe().via_proxy("127.0.0.1", 443)

    with pytest.raises(ProbeError):
        run(scan)


def test_direct_and_proxy_observations_are_cached_apart(loopback):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]

    async def scan():
        probe = make_probe(proxy=f"http://127.0.0.1:{closed}", timeout=0.5)
        port = loopback.port("open")
        return await probe.connect("127.0.0.1", port), await probe.via_proxy("127.0.0.1", port)

    direct, proxied = run(scan)
    assert direct.status == "open" and proxied.status == "proxy-unreachable"


# --- the simulator itself --------------------------------------------------------------------------


def test_simulator_rejects_bad_specs():
    with pytest.raises(ValueError, match="mode must be one of"):
        TcpSimulator([{"name": "x", "mode": "half-open"}])
    with pytest.raises(ValueError, match="duplicate listener names: x"):
        TcpSimulator([{"name": "x"}, {"name": "x"}])


def test_simulator_stop_closes_its_ports():
    simulator = TcpSimulator([{"name": "open", "mode": "open"}, {"name": "filtered", "mode": "filtered"}])
    ports = simulator.ports
    simulator.stop()
    simulator.stop()  # idempotent

    async def scan():
        probe = make_probe(timeout=0.5)
        return await asyncio.gather(*(probe.connect("127.0.0.1", p) for p in ports.values()))

    assert {o.status for o in run(scan)} == {"refused"}
    with pytest.raises(KeyError, match="no simulated TCP listener named 'nope'"):
        simulator.port("nope")
