"""NET-001..003 against real listeners: loopback, a namespace with iptables, tinyproxy."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest

from .support.findings import by_resource

from ems_readiness.engine.check import Check
from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.endpoints import Endpoint, load_catalog, parse_catalog
from ems_readiness.engine.model import Finding, Status
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.tcp import TcpProbe
from ems_readiness.probes.tls import TlsProbe
from ems_readiness.engine.profile import Profile, Target
from ems_readiness.checks.reachability import (
    auth_advice,
    microsoft_endpoints_reachable as NET_001,
    on_premises_targets_reachable as NET_002,
    proxy_allows_required_endpoints as NET_003,
)
from ems_readiness.checks.tls_certificates import no_interception as TLS_006
from ems_readiness.simulate.tcp_listeners import TcpSimulator, load_network_fixture
from tests.test_tcp_probe import StaticDns

SCENARIOS = Path(__file__).resolve().parent.parent / "ems_readiness" / "fixtures" / "scenarios"


class StandInInventory:
    """What the checks ask of engine/inventory.py: the selected endpoints and the profile's targets."""

    def __init__(self, endpoints: list[Endpoint] = (), targets: list[Target] = ()) -> None:
        self._endpoints = list(endpoints)
        self._targets = list(targets)

    def endpoints(self) -> list[Endpoint]:
        return self._endpoints

    def targets(self) -> list[Target]:
        return self._targets

    async def tls_endpoints(self) -> list[Endpoint]:
        return [e for e in self._endpoints if e.tls]


def endpoint(host: str, port: int, service: str = "entra", required: bool = True, **kw: Any) -> Endpoint:
    return Endpoint(host=host, ports=(port,), service=service, source="test catalogue", required=required, **kw)


def run_check(
    check: Check,
    endpoints: list[Endpoint] = (),
    targets: list[Target] = (),
    names: dict[str, Any] | None = None,
    proxy: str | None = None,
    timeout: float = 0.5,
    trust: Any = None,
) -> list[Finding]:
    async def scan() -> list[Finding]:
        evidence = EvidenceLog()
        dns = StaticDns(evidence, names or {})
        tcp = TcpProbe(dns, evidence, timeout=timeout, proxy=proxy, trust=trust)
        tls = TlsProbe(dns, evidence, timeout=timeout)  # type: ignore[arg-type]
        ctx = CheckContext(check, Profile(), Probes(graph=None, dns=dns, tls=tls, tcp=tcp), StandInInventory(endpoints, targets))  # type: ignore[arg-type]
        await check.fn(ctx)
        return ctx.sink.findings

    return asyncio.run(scan())



def require_nothing_listening(port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return
    pytest.skip(f"something listens on 127.0.0.1:{port}")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ports() -> Iterator[TcpSimulator]:
    specs = [{"name": n, "mode": m} for n, m in [("open", "open"), ("open2", "open"), ("refused", "refused"), ("filtered", "filtered"), ("filtered2", "filtered")]]
    with TcpSimulator(specs) as simulator:
        yield simulator


# --- NET-001, direct -----------------------------------------------------------------------------

MS = {
    "login.microsoftonline.com": ["127.0.0.1"],
    "manage.microsoft.com": ["127.0.0.1"],
    "ztd.dds.microsoft.com": ["127.0.0.1"],
    "www.msftconnecttest.com": ["127.0.0.1"],
    "discover.aadrm.com": "servfail",
}


def test_net001_pass_fail_warn_skip_and_error(ports):
    endpoints = [
        endpoint("login.microsoftonline.com", ports.port("open"), covers=("*.microsoftonline.com",)),
        endpoint("manage.microsoft.com", ports.port("filtered"), "intune", covers=("*.manage.microsoft.com",), notes="SSL inspection is not supported for *.manage.microsoft.com."),
        endpoint("ztd.dds.microsoft.com", ports.port("refused"), "autopilot"),
        endpoint("www.msftconnecttest.com", ports.port("filtered2"), "autopilot", required=False),
        endpoint("enrollment.gone.test", 443, "intune"),
        endpoint("discover.aadrm.com", 443, "rms"),
        endpoint("*.dm.microsoft.com", 443, "intune", covers=("*.dm.microsoft.com",), probe=False),
        endpoint("time.windows.com", 123, "autopilot", protocol="udp"),
    ]
    findings = by_resource(run_check(NET_001, endpoints, names=MS))
    login = findings[f"login.microsoftonline.com:{ports.port('open')}"]
    assert login.status is Status.PASS and login.expected == "TCP connect succeeds (open)"
    assert [e.probe for e in login.evidence] == ["dns", "tcp"]

    manage = findings[f"manage.microsoft.com:{ports.port('filtered')}"]
    assert manage.status is Status.FAIL
    assert manage.observed.startswith("filtered: no answer from 127.0.0.1 ")
    assert f"Allow outbound TCP {ports.port('filtered')} to manage.microsoft.com on the firewall" in manage.remediation
    assert "*.manage.microsoft.com" in manage.remediation and "SSL inspection" in manage.remediation
    assert "firewall drops" in manage.remediation

    refused = findings[f"ztd.dds.microsoft.com:{ports.port('refused')}"]
    assert refused.status is Status.FAIL and refused.observed.startswith("refused: ")
    assert "TCP reset" in refused.remediation

    optional = findings[f"www.msftconnecttest.com:{ports.port('filtered2')}"]
    assert optional.status is Status.WARN and "optional" in optional.message

    missing = findings["enrollment.gone.test:443"]
    assert missing.status is Status.FAIL and "answered NXDOMAIN" in missing.observed
    assert missing.observed.startswith("dns-failure: ")

    unanswered = findings["discover.aadrm.com:443"]
    assert unanswered.status is Status.ERROR and "SERVFAIL" in unanswered.message

    wildcard = findings["*.dm.microsoft.com:443"]
    assert wildcard.status is Status.SKIP and "no concrete host" in wildcard.message
    assert "Allow outbound TCP 443 to *.dm.microsoft.com" in wildcard.remediation
    assert findings["time.windows.com:123/udp"].status is Status.SKIP


def test_net001_merges_services_that_share_a_host_and_port(ports):
    port = ports.port("open")
    endpoints = [
        endpoint("login.microsoftonline.com", port, "entra", covers=("*.microsoftonline.com",)),
        endpoint("login.microsoftonline.com", port, "entra-connect", required=False),
    ]
    (finding,) = run_check(NET_001, endpoints, names=MS)
    assert finding.status is Status.PASS and "(entra, entra-connect)" in finding.message


def test_every_network_check_reports_a_resource_once_over_the_builtin_catalogue(denying_proxy):
    """The built-in catalogue lists some endpoints under two services (login.live.com under intune
    and autopilot, login.microsoftonline.com under entra and entra-connect). Its ports are moved to
    loopback ports nothing listens on, so every probe ends at once, on 127.0.0.1."""
    catalogue = load_catalog(None)
    listed = Counter((e.host, p) for e in catalogue for p in e.ports)
    assert any(count > 1 for count in listed.values())
    moved = {port: closed_port() for port in sorted({p for e in catalogue for p in e.ports})}
    assert len(set(moved.values())) == len(moved)
    endpoints = [replace(e, ports=tuple(moved[p] for p in e.ports)) for e in catalogue]
    names = {e.host: ["127.0.0.1"] for e in endpoints if e.probeable}
    dc = [Target(name=n, host="127.0.0.1", ports=[moved[443], moved[443]], purpose="directory-sync") for n in ("dc01", "dc02")]
    for check, proxy in [(NET_001, None), (NET_002, None), (NET_003, denying_proxy.url), (TLS_006, None)]:
        findings = run_check(check, endpoints, dc, names=names, proxy=proxy)
        assert findings, check.id
        repeated = [r for r, n in Counter(f.resource for f in findings).items() if n > 1]
        assert not repeated, f"{check.id} reports {repeated} more than once"


def test_net001_skips_when_no_service_is_selected():
    (finding,) = run_check(NET_001, [])
    assert finding.status is Status.SKIP and finding.resource == "network.services"


@pytest.mark.realnet
def test_net001_tells_unreachable_from_filtered_in_a_namespace(netns):
    endpoints = [
        endpoint("enterpriseregistration.windows.net", netns.port("host-unreachable")),
        endpoint("device.login.microsoftonline.com", netns.port("drop")),
        endpoint("graph.microsoft.com", netns.port("admin-prohibited"), required=False),
    ]
    names = {e.host: [netns.address] for e in endpoints}
    findings = by_resource(run_check(NET_001, endpoints, names=names))
    unreachable = findings[f"enterpriseregistration.windows.net:{netns.port('host-unreachable')}"]
    assert unreachable.status is Status.FAIL and unreachable.observed.startswith("unreachable: ")
    assert "ICMP unreachable" in unreachable.remediation
    dropped = findings[f"device.login.microsoftonline.com:{netns.port('drop')}"]
    assert dropped.status is Status.FAIL and dropped.observed.startswith("filtered: ")
    assert findings[f"graph.microsoft.com:{netns.port('admin-prohibited')}"].status is Status.WARN


# --- NET-001 and NET-003 through tinyproxy -----------------------------------------------------


@pytest.mark.realnet
def test_net001_through_the_proxy(filtering_proxy, ports, loopback_tls):
    endpoints = [
        endpoint("127.0.0.1", loopback_tls.port("ip")),
        endpoint("localhost", ports.port("open2"), covers=("*.localhost",)),
        endpoint("127.0.0.1", ports.port("refused"), "intune"),
        endpoint("127.0.0.1", ports.port("open")),
    ]
    findings = by_resource(run_check(NET_001, endpoints, proxy=filtering_proxy.url, timeout=2.0,
                                     trust=loopback_tls.trust_bundle))
    allowed = findings[f"127.0.0.1:{loopback_tls.port('ip')}"]
    assert allowed.status is Status.PASS and "certificate validates" in allowed.expected
    assert allowed.evidence[0].probe == "proxy"
    # the proxy's 200, then the target closes without a TLS handshake: nothing proves it answered
    silent = findings[f"127.0.0.1:{ports.port('open')}"]
    assert silent.status is Status.ERROR and silent.observed.startswith("proxy-no-answer: ")
    denied = findings[f"localhost:{ports.port('open2')}"]
    assert denied.status is Status.FAIL and denied.observed.startswith("proxy-denied: ")
    assert "the firewall and the proxy allow-list" in denied.remediation and "*.localhost" in denied.remediation
    upstream = findings[f"127.0.0.1:{ports.port('refused')}"]
    assert upstream.status is Status.FAIL and "500" in upstream.observed
    assert "proxy server's own outbound connection" in upstream.remediation


def test_net001_through_a_proxy_that_is_down_is_an_error(ports):
    endpoints = [endpoint("127.0.0.1", ports.port("open")), endpoint("127.0.0.1", ports.port("open2"))]
    findings = run_check(NET_001, endpoints, proxy=f"http://127.0.0.1:{closed_port()}")
    assert {f.status for f in findings} == {Status.ERROR}
    assert all("could not be tested" in f.message for f in findings)


@pytest.mark.realnet
def test_net003_tells_407_from_403(auth_proxy, filtering_proxy, ports, loopback_tls):
    port, trust = loopback_tls.port("ip"), loopback_tls.trust_bundle
    required = [endpoint("127.0.0.1", port), endpoint("localhost", ports.port("open2"))]
    optional = [endpoint("127.0.0.1", ports.port("filtered"), required=False)]

    auth = by_resource(run_check(NET_003, required + optional, proxy=auth_proxy.url, timeout=1.0))
    assert set(auth) == {f"127.0.0.1:{port}", f"localhost:{ports.port('open2')}"}  # required endpoints only
    assert auth[f"127.0.0.1:{port}"].status is Status.FAIL
    assert "authentication required (407)" in auth[f"127.0.0.1:{port}"].message
    assert "exempt the host from proxy authentication" in auth[f"127.0.0.1:{port}"].remediation

    filtered = by_resource(run_check(NET_003, required, proxy=filtering_proxy.url, timeout=1.0, trust=trust))
    assert filtered[f"127.0.0.1:{port}"].status is Status.PASS
    denied = filtered[f"localhost:{ports.port('open2')}"]
    assert denied.status is Status.FAIL and "denied by policy (403)" in denied.message
    assert "allow-list" in denied.remediation

    authenticated = run_check(NET_003, required[:1], proxy=auth_proxy.authenticated_url, timeout=1.0, trust=trust)
    assert [f.status for f in authenticated] == [Status.PASS]


@pytest.mark.realnet
def test_net003_wrong_credentials_never_reach_the_results(auth_proxy, ports):
    proxy = auth_proxy.url_with("svc-proxy", "Zq9-very-secret")
    findings = run_check(NET_003, [endpoint("127.0.0.1", ports.port("open"))], proxy=proxy, timeout=1.0)
    assert findings[0].status is Status.FAIL and "(401)" in findings[0].message
    text = json.dumps([f.model_dump(mode="json") for f in findings])
    assert "Zq9-very-secret" not in text and "svc-proxy" not in text


@pytest.mark.realnet
def test_net003_upstream_failure_and_timeout(filtering_proxy, netns, ports):
    endpoints = [endpoint("127.0.0.1", ports.port("refused")), endpoint(netns.address, netns.port("drop"))]
    findings = by_resource(run_check(NET_003, endpoints, proxy=filtering_proxy.url, timeout=0.8))
    upstream = findings[f"127.0.0.1:{ports.port('refused')}"]
    assert upstream.status is Status.FAIL and "could not reach it (500)" in upstream.message
    timed_out = findings[f"{netns.address}:{netns.port('drop')}"]
    assert timed_out.status is Status.FAIL and "no answer in time" in timed_out.message


def test_net003_reports_an_unreachable_proxy_once(ports):
    proxy_port = closed_port()
    endpoints = [endpoint("127.0.0.1", ports.port("open")), endpoint("127.0.0.1", ports.port("open2"))]
    (finding,) = run_check(NET_003, endpoints, proxy=f"http://user:pw@127.0.0.1:{proxy_port}")
    assert finding.status is Status.FAIL and finding.resource == f"proxy http://127.0.0.1:{proxy_port}"
    assert "network.proxy" in finding.remediation and "pw" not in finding.resource


def test_net003_skips_without_a_proxy():
    (finding,) = run_check(NET_003, [endpoint("127.0.0.1", 443)])
    assert finding.status is Status.SKIP and "no proxy configured" in finding.message


def test_intune_hosts_need_unauthenticated_proxy_access():
    from ems_readiness.engine.texts import render

    assert "Intune requires unauthenticated proxy access to manage.microsoft.com" in render(auth_advice("manage.microsoft.com"))
    assert "Intune requires" in render(auth_advice("intunecdnpeasd.azureedge.net"))
    assert "Intune" not in render(auth_advice("discover.aadrm.com"))


# --- NET-002 ------------------------------------------------------------------------------------


def dc01(host: str, port_list: list[int], purpose: str = "directory-sync") -> Target:
    return Target(name="dc01", host=host, ports=port_list, purpose=purpose)


@pytest.mark.realnet
def test_net002_on_a_namespace_domain_controller(netns):
    target = dc01(netns.address, [netns.port("open"), netns.port("drop"), netns.port("reset"), netns.port("open")])
    findings = by_resource(run_check(NET_002, targets=[target]))
    assert len(findings) == 3  # the repeated port is probed and reported once
    assert findings[f"dc01 {netns.address}:{netns.port('open')}"].status is Status.PASS
    dropped = findings[f"dc01 {netns.address}:{netns.port('drop')}"]
    assert dropped.status is Status.FAIL and dropped.observed.startswith("filtered: ")
    assert "from the Entra Connect server to dc01" in dropped.remediation
    reset = findings[f"dc01 {netns.address}:{netns.port('reset')}"]
    assert reset.status is Status.FAIL and "service listens" in reset.remediation


def test_net002_loopback_and_port_roles(ports):
    require_nothing_listening(3269)
    target = dc01("127.0.0.1", [ports.port("open"), 3269])
    other = Target(name="app01", host="app01.corp.test", ports=[443], purpose="")
    findings = by_resource(run_check(NET_002, targets=[target, other], names={}))
    assert findings[f"dc01 127.0.0.1:{ports.port('open')}"].status is Status.PASS
    gc_ssl = findings["dc01 127.0.0.1:3269"]
    assert gc_ssl.status is Status.WARN and "3269 (global catalog over TLS)" in gc_ssl.message
    unresolved = findings["app01 app01.corp.test:443"]
    assert unresolved.status is Status.FAIL and "register it in the internal DNS" in unresolved.remediation


def test_net002_udp_ports_are_named_in_the_remediation(ports):
    require_nothing_listening(389)
    (finding,) = run_check(NET_002, targets=[dc01("127.0.0.1", [389])])
    assert finding.status is Status.FAIL and "389 (LDAP)" in finding.message
    assert "over UDP as well" in finding.remediation


def test_net002_skips_without_targets():
    (finding,) = run_check(NET_002, targets=[])
    assert finding.status is Status.SKIP and finding.resource == "network.targets"


# --- the demo scenarios' data -------------------------------------------------------------------


def render(text: str, ports: dict[str, int]) -> str:
    return re.sub(r"\{\{port:([A-Za-z0-9_.-]+)\}\}", lambda m: str(ports[m.group(1)]), text)


@pytest.mark.parametrize("scenario, failing", [("unready", {"refused", "filtered"}), ("ready", set())])
def test_demo_scenarios(scenario, failing):
    fixture = load_network_fixture(SCENARIOS / scenario / "network.toml")
    with TcpSimulator(fixture.listeners) as tcp, TcpSimulator([{"name": "tls", "mode": "open"}]) as tls:
        # TLS listeners are another module's; an open TCP port stands in for each here
        ports = {**tcp.ports, **{n: tls.port("tls") for n in ("login", "microsoft")}}
        catalog = parse_catalog(render((SCENARIOS / scenario / "catalog.toml").read_text(), ports), scenario)
        names = {e.host: ["127.0.0.1"] for e in catalog if e.probe}
        endpoints_found = run_check(NET_001, catalog, names=names)
        targets = [Target(**t) for t in fixture.resolved_targets(tcp.ports)]
        targets_found = run_check(NET_002, targets=targets)
    failed = {f.observed.split(":")[0] for f in endpoints_found if f.status is Status.FAIL}
    assert failed == failing
    assert {f.status for f in endpoints_found} - {Status.FAIL} == {Status.PASS, Status.SKIP}
    target_statuses = [f.status for f in targets_found]
    assert target_statuses.count(Status.FAIL) == (1 if scenario == "unready" else 0)
    assert all(t.name == "dc01" and t.purpose == "directory-sync" for t in targets)
