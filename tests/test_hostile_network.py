"""The network side against hostile servers, end to end through the CLI: a hostile proxy, TLS
server or DNS resolver (the named modes of `simulate --faults`, simulate/network_faults.py) must
give `error` or `fail` with the reason, within the deadline, with the report written: never a
pass, never a hang, never a traceback.

Each test starts the simulated environment with one fault, writes the profile it serves, and runs
`ems-readiness scan` as a subprocess whose timeout is the hang detector.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ems_readiness.engine.check import Check
from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.profile import Profile, profile_from_dict
from ems_readiness.judges.tls import judge_validity
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.dns import DnsProbe
from ems_readiness.probes.tcp import TcpProbe
from ems_readiness.probes.tls import TlsProbe
from ems_readiness.simulate.dns_server import DNS_FAULTS
from ems_readiness.simulate.environment import SimulatedEnvironment, to_toml
from ems_readiness.simulate.hostile_proxy import PROXY_MODES, HostileProxy
from ems_readiness.simulate.network_faults import HOSTILE_TLS_LISTENER, TLS_FAULTS, split_network_faults
from ems_readiness.simulate.tls_servers import TlsSimulator, TlsSpec

CLI = [sys.executable, "-m", "ems_readiness.cli"]
HANG_DETECTOR_SECONDS = 240  # far beyond any deadline of these scans; only a hang reaches it
RAW_CONTROL = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\x7f"]

# What each proxy mode must give for required endpoints, NET-001 and NET-003 alike.
PROXY_VERDICTS = {
    "block-page": {"fail"},  # the gateway's own 403 page: the proxy denied it
    "auth": {"fail"},  # 407 to everything
    "connect-silence": {"error"},  # 200 to CONNECT, then nothing; a made-up 200 to plain HTTP
    "garbage": {"error"},  # not HTTP: who knows
    "hang": {"fail"},  # the proxy never answers in time (proxy-timeout)
}


def scan(env: SimulatedEnvironment, out: Path, *args: str, edit=None) -> tuple[subprocess.CompletedProcess, dict]:
    """`ems-readiness scan` over the environment's profile; the results it wrote."""
    profile = env.profile_dict()
    if edit:
        edit(profile)
    path = out.parent / f"{out.name}.toml"
    path.write_text(to_toml(profile), encoding="utf-8")
    started = time.monotonic()
    process = subprocess.run(
        [*CLI, "scan", "--profile", str(path), "--out", str(out), "--format", "json,html,md", "--quiet", *args],
        capture_output=True, text=True, timeout=HANG_DETECTOR_SECONDS,
        env={"PATH": "/usr/bin:/bin", "EMS_READINESS_TOKEN": env.token, "HOME": str(out.parent)},
    )
    elapsed = time.monotonic() - started
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    results_file = out / "results.json"
    assert results_file.is_file(), f"no report after {elapsed:.0f} s (exit {process.returncode}): {process.stderr[-2000:]}"
    assert (out / "report.html").is_file() or list(out.glob("*.html")), "the HTML report is missing"
    return process, json.loads(results_file.read_text(encoding="utf-8"))


def findings(results: dict, *check_ids: str) -> list[dict]:
    return [dict(f, check=c["id"]) for c in results["checks"] if c["id"] in check_ids for f in c["findings"]]


def assert_no_raw_control_characters(out: Path) -> None:
    for path in out.iterdir():
        if path.suffix in (".md", ".html"):
            text = path.read_text(encoding="utf-8")
            assert not [c for c in RAW_CONTROL if c in text], f"{path.name} carries raw control characters"


# --- the proxy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", PROXY_MODES)
def test_a_hostile_proxy_never_makes_an_endpoint_reachable(mode, tmp_path):
    with SimulatedEnvironment("ready", faults=f"proxy={mode}") as env:
        process, results = scan(env, tmp_path / "out", "--no-tenant", "--only", "NET-001", "--only", "NET-003")
        asked = list(env.proxy.requests)
    assert process.returncode in (0, 1), process.stderr[-2000:]
    assert asked, "the scan did not go through the hostile proxy"
    observed = findings(results, "NET-001", "NET-003")
    assert observed and not [f for f in observed if f["status"] == "pass"]
    required = [f for f in observed if f["status"] not in ("skip", "warn")]
    assert required and {f["status"] for f in required} == PROXY_VERDICTS[mode], mode


# The simulated catalogue puts every endpoint on a listener's port; plain HTTP (port 80, asked
# with HEAD rather than CONNECT) is driven here through NET-001 with that port declared plain.


def net001_through(proxy: HostileProxy, plain_port: int) -> dict[str, dict]:
    """NET-001 through `proxy` for one CONNECT (443) and one plain-HTTP endpoint, by port."""
    from tests.test_reachability_checks import NET_001, StandInInventory, StaticDns, endpoint

    async def go() -> list:
        evidence = EvidenceLog()
        dns = StaticDns(evidence, {})
        tcp = TcpProbe(dns, evidence, timeout=1.0, proxy=proxy.url, plain_http_ports=frozenset({plain_port}))
        tls = TlsProbe(dns, evidence, timeout=1.0)  # type: ignore[arg-type]
        endpoints = [endpoint("login.microsoftonline.com", p) for p in (plain_port, 443)]
        ctx = CheckContext(NET_001, Profile(), Probes(graph=None, dns=dns, tls=tls, tcp=tcp), StandInInventory(endpoints))  # type: ignore[arg-type]
        await NET_001.fn(ctx)
        return ctx.sink.findings

    return {f.resource.rpartition(":")[2]: f.model_dump(mode="json") for f in asyncio.run(go())}


def test_the_gateway_s_block_page_on_plain_http_is_the_proxy_denying_it():
    with HostileProxy("block-page") as proxy:
        found = net001_through(proxy, 8080)
        asked = list(proxy.requests)
    assert any(r.startswith("HEAD http://") for r in asked) and any(r.startswith("CONNECT ") for r in asked)
    assert {f["status"] for f in found.values()} == {"fail"}
    assert found["8080"]["observed"].startswith("proxy-denied: ") and "Server: Zscaler/6.2" in found["8080"]["observed"]


def test_connect_200_then_silence_and_a_made_up_plain_http_200_are_errors():
    with HostileProxy("connect-silence") as proxy:
        found = net001_through(proxy, 8080)
    assert found["443"]["status"] == "error" and found["443"]["observed"].startswith("proxy-no-answer: ")
    assert "the target did not answer" in found["443"]["observed"]
    assert found["8080"]["status"] == "error" and "no proof of who sent it" in found["8080"]["observed"]


# --- TLS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(TLS_FAULTS))
def test_a_hostile_tls_server_is_that_host_s_error_and_no_other_s(mode, tmp_path):
    with SimulatedEnvironment("unready", faults=f"tls={mode}") as env:
        hostile = f"127.0.0.1:{env.ports[HOSTILE_TLS_LISTENER]}"
        mail = f"mail.contoso.test:{env.ports['mail']}"
        process, results = scan(env, tmp_path / "out", "--no-tenant", "--only", "tls")
    assert process.returncode in (0, 1), process.stderr[-2000:]
    observed = findings(results, "TLS-001", "TLS-002", "TLS-003", "TLS-004", "TLS-005")
    assert not [f for f in observed if "not completed" in f["resource"]], "a check stopped for every host"
    # the honest host keeps its verdicts: its chain lacks the intermediate
    assert {f["check"]: f["status"] for f in observed if f["resource"] == mail}["TLS-003"] == "fail"
    on_hostile = {f["check"]: f for f in observed if f["resource"] == hostile}
    if mode == "unsupported-key":
        assert on_hostile["TLS-004"]["status"] == "error"
        assert "key cannot be read" in on_hostile["TLS-004"]["message"]
    else:
        assert set(on_hostile) == {"TLS-001", "TLS-002", "TLS-003", "TLS-004", "TLS-005"}
        assert {f["status"] for f in on_hostile.values()} == {"error"}
    assert process.returncode == 1  # the incomplete chain is a high-severity fail: exit 1, not 0


def test_one_unreadable_certificate_does_not_hide_an_expired_one(tmp_path):
    specs = [TlsSpec("odd", ["odd.tls.test"], "unsupported-key"), TlsSpec("old", ["old.tls.test"], "expired")]
    with TlsSimulator(specs, directory=tmp_path / "certs") as servers:
        hosts = [f"127.0.0.1:{servers.port('odd')}", f"127.0.0.1:{servers.port('old')}"]
        profile = profile_from_dict({"tls": {"hosts": hosts, "trust": str(servers.trust_bundle)}}, base_dir=tmp_path)
        from ems_readiness.checks.tls_certificates import certificate_strength, certificate_validity

        validity = run_tls_check(certificate_validity, profile)
        strength = run_tls_check(certificate_strength, profile)
    assert validity[hosts[1]] == "fail" and strength[hosts[0]] == "error"


def run_tls_check(check: Check, profile: Profile) -> dict[str, str]:
    async def go() -> dict[str, str]:
        evidence = EvidenceLog()
        dns = DnsProbe({}, evidence)
        tls = TlsProbe(dns, evidence, timeout=3.0)
        tcp = TcpProbe(dns, evidence)

        class Inventory:
            async def tls_hosts(self):
                from ems_readiness.engine.inventory import TlsTarget, split_host_port

                return [TlsTarget(*split_host_port(h), "profile") for h in profile.tls.hosts]

        ctx = CheckContext(check, profile, Probes(graph=None, dns=dns, tls=tls, tcp=tcp), Inventory())  # type: ignore[arg-type]
        await check.fn(ctx)
        return {f.resource: f.status.value for f in ctx.sink.findings}

    return asyncio.run(go())


def test_a_huge_warn_days_is_clamped_by_the_judge_not_an_overflow(tmp_path):
    from ems_readiness.simulate.certs import CertificateFactory

    chain = CertificateFactory().leaf("expired", ["x.tls.test"]).served
    now = dt.datetime.now(dt.timezone.utc)
    assert judge_validity(chain, now, 99_999_999_999).state == "expired"
    valid = CertificateFactory().leaf("valid", ["x.tls.test"]).served
    assert judge_validity(valid, now, 99_999_999_999).state == "expiring"
    assert judge_validity(valid, now, -5).state == "valid"


def test_a_certificate_s_text_fields_are_escaped_and_bounded():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from ems_readiness.judges.tls import describe, display_name, judge_name

    now = dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    hostile = "evil\x1b]0;owned\x07\x9b31m" + "O" * 20_000
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, hostile, _validate=False)])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(5).not_valid_before(now).not_valid_after(now + dt.timedelta(days=5))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("x.test\x1b[2J")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    shown = [*map(str, describe(cert).values()), display_name(cert.subject), judge_name(cert, "x.test").observed]
    for text in shown:
        assert not [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F], text[:80]
        assert len(text) <= 2000
    assert "\\x1b]0" in display_name(cert.subject)


# --- DNS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", DNS_FAULTS)
def test_a_hostile_resolver_gives_errors_with_the_reason_in_time(mode, tmp_path):
    def add_domains(profile: dict[str, Any]) -> None:
        profile["dns"]["domains"] = ["contoso.test", "fabrikam.test"]
        profile["dns"]["timeout_seconds"] = 1.0

    with SimulatedEnvironment("ready", faults=f"dns={mode}") as env:
        process, results = scan(env, tmp_path / "out", "--no-tenant", "--only", "dns", "--only", "NET-001",
                                edit=add_domains)
    assert process.returncode in (0, 1), process.stderr[-2000:]
    observed = findings(results, "DNS-001", "DNS-002", "DNS-003", "DNS-004", "DNS-005", "NET-001")
    assert observed

    def hostile(evidence: dict) -> bool:  # `huge` lies only in TXT answers and answers the rest honestly
        data = evidence.get("data", {})
        asked_hostile = evidence.get("probe") == "dns" and data.get("resolver") == "internal"
        return asked_hostile and (mode != "huge" or data.get("type") == "TXT")

    judged_on_the_hostile_resolver = [
        f for f in observed if f["status"] in ("pass", "fail", "warn") and any(hostile(e) for e in f["evidence"])
    ]
    assert not judged_on_the_hostile_resolver, judged_on_the_hostile_resolver[:2]
    assert "error" in {f["status"] for f in observed}
    assert_no_raw_control_characters(tmp_path / "out")
    if mode == "huge":
        text = (tmp_path / "out" / "results.json").read_text(encoding="utf-8")
        assert "x" * 5000 not in text  # the 60 KB answer is not carried into the report


# --- the kit itself ----------------------------------------------------------------------------


def test_the_faults_spec_keeps_graph_options_for_the_graph_simulator():
    faults, rest = split_network_faults("rate=0.3,proxy=auth,kinds=429+503,tls=garbage,dns=hang")
    assert (faults.proxy, faults.tls, faults.dns) == ("auth", "garbage", "hang")
    assert rest == "rate=0.3,kinds=429+503"
    with pytest.raises(ValueError, match="known proxy faults are"):
        split_network_faults("proxy=nice")


def test_simulate_accepts_network_faults_and_refuses_unknown_ones(tmp_path):
    bad = subprocess.run([*CLI, "simulate", "--faults", "dns=polite"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "known dns faults" in bad.stderr
    profile = tmp_path / "profile.toml"
    process = subprocess.Popen([*CLI, "simulate", "--faults", "proxy=hang,tls=garbage", "--write-profile", str(profile)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (profile.is_file() and "proxy = " in profile.read_text()) and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.2)
        text = profile.read_text()
        assert 'proxy = "http://127.0.0.1:' in text and '"127.0.0.1:' in text.split("hosts = ", 1)[1]
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_hostile_proxy_answers_as_its_mode_says():
    async def ask(url_port: int, line: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", url_port)
        writer.write(line + b"\r\nHost: x\r\n\r\n")
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(200), 0.5)
        except asyncio.TimeoutError:
            return b"(silence)"
        finally:
            writer.close()

    with HostileProxy("connect-silence") as proxy:
        assert asyncio.run(ask(proxy.port, b"CONNECT a.test:443 HTTP/1.1")).startswith(b"HTTP/1.1 200")
    with HostileProxy("hang") as proxy:
        assert asyncio.run(ask(proxy.port, b"HEAD http://a.test/ HTTP/1.1")) == b"(silence)"
    with pytest.raises(ValueError):
        HostileProxy("friendly")
