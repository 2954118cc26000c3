"""The scan against a hostile Graph: every hostile mode of the simulated Graph server
(`simulate --faults MODE`), driven end to end through the CLI over real loopback HTTP.

For each: the process ends (the subprocess timeout is only the hang detector), the report is
written, the tenant checks are `error` with the reason, exit 3 says the tenant was not read, and
no secret (the token, raw or base64) is in any output file or stream.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ems_readiness.simulate.graph_server import FaultPlan
from ems_readiness.simulate.hostile_graph import HOSTILE_MODES

from .support.tenant import delegated_token, simulated_tenant

CLI = [sys.executable, "-m", "ems_readiness.cli"]
HANG_DETECTOR_SECONDS = 240
TENANT_CHECKS = ("DOM-001", "DOM-002", "DSY-001", "DSY-002", "DSY-003", "DSY-004", "DSY-005",
                 "INT-001", "INT-002", "INT-003", "INT-004", "LIC-001")
ALL_FORMATS = "html,json,junit,sarif,md,csv"

# what the reason says, per mode
EXPECTED_REASON = {
    "page-loop": "points back at a page already read",
    "slow-drip": "did not complete within 2 s",
    "huge-body": "larger than the 67,108,864-byte limit",
    "bad-gzip": "claims Content-Encoding gzip but is not",
    "deep-nesting": "nested too deeply",
    "redirect-offhost": "to another host, localhost:",
    "redirect-loop": "redirect loop",
    "echo-secrets": "Graph answered 400",
    "odd-shapes": "returned a str where an object belongs",
    "odd-types": "returned an id of type int",
    "status-500-all": "Graph answered 500",
    "status-429-all": "still throttled",
    "proxy-407": "the proxy answered 407",
}


def secret_forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]


def everything_written(out: Path, proc: subprocess.CompletedProcess) -> str:
    texts = [proc.stdout, proc.stderr]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*") if p.is_file()]
    return "\n".join(texts)


def assert_no_secret(secret: str, written: str) -> None:
    for form in secret_forms(secret):
        assert form not in written


def write_profile(path: Path, graph_url: str, **tenant) -> Path:
    values = {"graph_url": graph_url, "auth": "token", "timeout_seconds": 2, "max_retry_wait_seconds": 1, **tenant}
    lines = ["[tenant]", *(f"{k} = {json.dumps(v)}" for k, v in values.items()), "[identity]", 'model = "federated"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def scan(tmp_path: Path, profile: Path, token: str, *extra: str, timeout: float = HANG_DETECTOR_SECONDS):
    env = {**os.environ, "EMS_READINESS_TOKEN": token, "CI": "true"}
    return subprocess.run([*CLI, "scan", "--profile", str(profile), "--out", str(tmp_path / "out"),
                           "--format", ALL_FORMATS, *extra], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)


def test_every_hostile_mode_has_a_test():
    assert set(EXPECTED_REASON) == set(HOSTILE_MODES)


@pytest.mark.parametrize("mode", HOSTILE_MODES)
def test_hostile_graph_mode_ends_in_error_findings_and_exit_3(tmp_path, mode):
    token = delegated_token()
    with simulated_tenant("ready", faults=FaultPlan(hostile=(mode,))) as sim:
        proc = scan(tmp_path, write_profile(tmp_path / "p.toml", sim.url), token, "--no-network")
        requests = sim.requests
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert EXPECTED_REASON[mode] in results["tenant_unread"]
    checks = {c["id"]: c for c in results["checks"]}
    for check_id in TENANT_CHECKS:
        assert checks[check_id]["status"] == "error"
        assert EXPECTED_REASON[mode] in checks[check_id]["reason"]
        assert [f["status"] for f in checks[check_id]["findings"]] == ["error"]
    assert f"error: {results['tenant_unread']}" in proc.stderr
    for name in ("report.html", "results.json", "junit.xml", "results.sarif", "summary.md", "findings.csv"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert_no_secret(token, everything_written(tmp_path / "out", proc))
    assert not [r for r in requests if r.host.startswith("localhost")], "followed a redirect to another host"


def test_huge_body_is_read_only_up_to_the_cap(tmp_path):
    """A 600 MB body: reading stops at the 64 MiB cap, so the process never holds the body."""
    token = delegated_token()
    measure = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]);"
               " print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
               " sys.exit(r.returncode)")
    with simulated_tenant("ready", faults=FaultPlan(hostile=("huge-body",))) as sim:
        profile = write_profile(tmp_path / "p.toml", sim.url)
        env = {**os.environ, "EMS_READINESS_TOKEN": token, "CI": "true"}
        proc = subprocess.run([sys.executable, "-c", measure, *CLI, "scan", "--profile", str(profile), "--no-network",
                               "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True,
                              timeout=HANG_DETECTOR_SECONDS)
    assert proc.returncode == 3, proc.stderr
    peak_kib = int(proc.stderr.rsplit("peak-rss-kib", 1)[1].split()[0])
    print(f"huge-body scan: peak RSS {peak_kib / 1024:.0f} MiB")
    assert peak_kib < 600 * 1024, "the body was held whole (600 MB)"


def test_simulate_faults_end_to_end_and_the_network_side_still_runs(tmp_path):
    """`simulate --faults echo-secrets` in its own process, then a scan with its profile: the
    network side is assessed, the tenant side is error, exit 3, the echoed token is nowhere."""
    profile = tmp_path / "sim.toml"
    env = {**os.environ, "CI": "true"}
    sim = subprocess.Popen([*CLI, "simulate", "--scenario", "ready", "--faults", "echo-secrets",
                            "--write-profile", str(profile)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env)
    try:
        token = ""
        for line in sim.stdout:
            if line.startswith("# export EMS_READINESS_TOKEN="):
                token = line.split("'")[1]
                break
        assert token and profile.exists()
        proc = scan(tmp_path, profile, token)
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    assert proc.returncode == 3, proc.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    statuses = {c["id"]: c["status"] for c in results["checks"]}
    assert all(statuses[c] == "error" for c in TENANT_CHECKS)
    for check_id in ("NET-001", "NET-002", "TLS-001", "TLS-002", "TLS-003", "TLS-005"):
        assert statuses[check_id] == "pass", statuses  # assessed, not skipped
    for check_id in ("DNS-001", "DNS-002", "DNS-003", "DNS-004", "DNS-005"):  # about the tenant's domains: unknown
        assert statuses[check_id] == "error", statuses
    assert "[redacted]" in results["tenant_unread"]
    assert_no_secret(token, everything_written(tmp_path / "out", proc))


def test_unknown_hostile_mode_is_one_line_exit_2(tmp_path):
    proc = subprocess.run([*CLI, "simulate", "--faults", "page-loops"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "page-loop" in proc.stderr


def test_the_whole_tenant_side_ends_at_its_deadline():
    """A read that would take longer than the tenant side has left stops at the deadline."""
    import asyncio

    from ems_readiness.engine.auth import StaticTokenCredential, read_claims
    from ems_readiness.probes.base import EvidenceLog
    from ems_readiness.probes.graph import GraphError, GraphProbe, build_client

    token = delegated_token()

    async def read(url: str) -> str:
        client = build_client(url, StaticTokenCredential(token), "https://graph.microsoft.com/.default", 60.0)
        probe = GraphProbe(url, client, EvidenceLog(), read_claims(token), timeout=60.0, deadline=1.0)
        try:
            await probe.get("organization")
        except GraphError as exc:
            return str(exc)
        finally:
            await probe.aclose()
        return "no error"

    with simulated_tenant("ready", faults=FaultPlan(hostile=("slow-drip",))) as sim:
        started = time.monotonic()
        reason = asyncio.run(asyncio.wait_for(read(sim.url), HANG_DETECTOR_SECONDS))
        print(f"slow-drip with a 1 s tenant deadline ended after {time.monotonic() - started:.1f} s")
    assert "deadline of 1 s has passed" in reason or "did not complete within 1 s" in reason


def test_graph_behind_tls_inspection_uses_the_ca_bundle(tmp_path):
    """[tenant] ca_bundle is Graph's trust too: with it the HTTPS Graph is read; without it, not."""
    from .support.sts import self_signed

    cert, key = self_signed(tmp_path)
    token = delegated_token()
    with simulated_tenant("ready", certificate=(str(cert), str(key))) as sim:
        trusted = scan(tmp_path / "a", write_profile(_dir(tmp_path / "a") / "p.toml", sim.url, ca_bundle=str(cert),
                                                     timeout_seconds=10), token, "--no-network")
        untrusted = scan(tmp_path / "b", write_profile(_dir(tmp_path / "b") / "p.toml", sim.url, timeout_seconds=10),
                         token, "--no-network")
        assert sim.requests
    assert trusted.returncode in (0, 1), trusted.stderr
    assert untrusted.returncode == 3, untrusted.stderr
    assert "could not be reached" in untrusted.stderr, [line for line in untrusted.stderr.splitlines() if "error:" in line]


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_graph_goes_through_the_proxy_parsed_once_even_with_a_slash_in_the_password(tmp_path):
    """The proxy URL `http://tester:pr0xy/Secret-value@127.0.0.1:P` is read by every client as
    parse_proxy_url reads it: Graph traffic reaches that proxy, authenticated, and no other host."""
    from .support.forward_proxy import ForwardProxy

    password = "pr0xy/Secret-value"
    token = delegated_token()
    with ForwardProxy("tester", password) as proxy, simulated_tenant("ready") as sim:
        profile = write_profile(tmp_path / "p.toml", sim.url, timeout_seconds=10)
        with profile.open("a", encoding="utf-8") as f:
            f.write(f'[network]\nproxy = "http://tester:{password}@127.0.0.1:{proxy.port}"\n')
        proc = scan(tmp_path, profile, token, "--no-network")
        served = sim.requests
    assert proc.returncode in (0, 1), proc.stderr
    assert served and proxy.requests, "Graph was not read through the proxy"
    assert all(ok for _, ok in proxy.requests), "the proxy was sent other credentials"
    assert len(served) == len(proxy.requests)
    assert password not in everything_written(tmp_path / "out", proc)
