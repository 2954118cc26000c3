"""NET-005 (Apple and Google push and store endpoints for the planned platforms) and the catalogue's
Apple/Google entries: probed over real TCP on loopback, judged for interception as third parties."""

from __future__ import annotations

import pytest

from ems_readiness.engine.endpoints import load_catalog
from ems_readiness.engine.model import Status
from ems_readiness.judges import tls as judge
from ems_readiness.simulate.certs import CertificateFactory

from .test_cli import run


def platform_endpoints():
    return [e for e in load_catalog() if e.service in ("apple", "android")]


def test_catalogue_lists_apns_and_fcm_ports_with_their_source_and_date():
    endpoints = platform_endpoints()
    ports = {(e.service, p) for e in endpoints for p in e.ports}
    assert ("apple", 5223) in ports and {("android", p) for p in (5228, 5229, 5230)} <= ports
    for endpoint in endpoints:
        assert "read 2026-12-02" in endpoint.source and endpoint.source.split(",")[0], endpoint.host


def test_apple_and_google_hosts_are_never_judged_as_microsofts():
    """Their chains lead to Apple's and Google's public CAs: judged against a public bundle, never
    required to lead to a Microsoft root (which would call every genuine chain an interception)."""
    factory = CertificateFactory()
    known = judge.builtin_known_roots()
    public = judge.TrustStore((factory.public_root.cert,), "public bundle")
    for endpoint in platform_endpoints():
        assert not known.operates(endpoint.host), endpoint.host
    third_party = known.for_third_party(public)
    genuine = factory.leaf("valid", ["5-courier.push.apple.com"]).served
    assert judge.judge_interception(genuine, "5-courier.push.apple.com", third_party,
                                    judge.TrustStore((), "empty")).state == "clean"
    inspected = judge.judge_interception(factory.leaf("interception", ["mtalk.google.com"]).served, "mtalk.google.com",
                                         third_party, judge.TrustStore((factory.interception_ca.cert,), "system"))
    assert inspected.intercepted


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    import json

    root = tmp_path_factory.mktemp("platform-demos")
    results = {}
    for scenario in ("unready", "ready"):
        out = root / scenario
        proc = run("demo", "--scenario", scenario, "--out", str(out), "--format", "json", "--only", "network")
        assert proc.returncode in (0, 1), proc.stderr
        results[scenario] = {c["id"]: c for c in json.loads((out / "results.json").read_text())["checks"]}
    return results


def test_blocked_push_ports_fail_and_open_ones_pass(demos):
    unready = {f["resource"].split(":")[0]: f for f in demos["unready"]["NET-005"]["findings"]}
    # filtered, not refused: a refused port is one nobody listens on, which another scan on this machine may take
    assert unready["5-courier.push.apple.com"]["status"] == "fail" and "filtered" in unready["5-courier.push.apple.com"]["message"]
    assert unready["mtalk.google.com"]["status"] == "fail" and "filtered" in unready["mtalk.google.com"]["message"]
    assert demos["ready"]["NET-005"]["status"] == "pass"


def test_platforms_outside_the_plan_are_not_probed(tmp_path):
    import json

    from ems_readiness.simulate.environment import SimulatedEnvironment

    with SimulatedEnvironment("ready") as env:
        raw = env.profile_dict()
        raw["plan"] = {"platforms": ["windows"]}
        from ems_readiness.engine.profile import profile_from_dict
        from ems_readiness.engine.registry import load_checks
        from ems_readiness.engine.runner import ScanOptions, scan
        import asyncio

        profile = profile_from_dict(raw, base_dir=env.directory)
        checks = [c for c in load_checks(include_entry_points=False) if c.id == "NET-005"]
        results = asyncio.run(scan(profile, checks, ScanOptions(tenant_side=False, credential=env.credential())))
    [net5] = results.checks
    assert net5.status is Status.SKIP and "no iOS, macOS or Android" in net5.findings[0].message
