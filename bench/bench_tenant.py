"""Tenant-side scan of the large generated tenant (100,000 users, 5,000 groups, 1 % provisioning
errors; with the enable-phase collections: 100,000 MFA registrations of which 2.5 % not capable,
50,000 devices, 0.2 % of users in a group licence error, 0.05 % licensed without usage location). Run by hand: `.venv/bin/python bench/bench_tenant.py [--users N] [--chaos 0.3]`.

The simulated Graph tenant runs in its own process, so the figures are the agent's own: wall
time, Graph requests against the minimal number for the same reads, peak RSS, CPU share. With
--chaos, a second run against a tenant answering that share of requests 429/503 must give the
same findings as the clean run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import resource
import subprocess
import sys
import time

from ems_readiness.engine.auth import StaticTokenCredential
from ems_readiness.engine.profile import profile_from_dict
from ems_readiness.engine.registry import load_checks
from ems_readiness.engine.runner import ScanOptions, scan, select_checks
from ems_readiness.simulate.environment import simulated_token
from ems_readiness.simulate.tenant_data import generate_large_tenant

PAGE = 999
SINGLE_READS = ("organization", "organization_beta", "mdm_authority", "subscribed_skus", "domains",
                "on_premises_sync", "device_management", "terms_and_conditions", "conditional_access_policies",
                "agreements",
                # the enable-phase reads: push certificate, VPP tokens, Android binding, security defaults
                "apple_push_certificate", "vpp_tokens", "android_enterprise", "security_defaults",
                # INT-006: enrollment restrictions, device registration policy, Windows MDM user scope
                "enrollment_configurations", "device_registration_policy", "mdm_policies")
AREAS = ["licensing", "directory-sync", "domains", "intune", "identity", "devices", "federation"]


def minimal_requests(users: int, groups: int, seed: int) -> int:
    """What a perfect client needs for the tenant checks' reads: each entity once, each collection
    in pages of 999 (an empty collection still costs one request)."""
    tenant = generate_large_tenant(seed=seed, users=users, groups=groups)

    def pages(count: int) -> int:
        return max(1, math.ceil(count / PAGE))

    def with_errors(objects) -> int:
        return sum(1 for o in objects if o.get("onPremisesProvisioningErrors"))

    federated = [d for d in tenant.domains if str(d.get("authenticationType")).lower() == "federated"]
    unverified = [d for d in tenant.domains if d.get("isVerified") is False]
    licence_groups = tenant.licence_errors_by_group()
    not_mfa_capable = [d for d in tenant.user_registration_details or [] if d.get("isMfaCapable") is False]
    no_usage_location = [u for u in tenant.users if u.get("usageLocation") is None and u.get("assignedLicenses")]
    return (len(SINGLE_READS) + len(federated) + len(unverified) + len(tenant.terms_and_conditions)
            + pages(len(tenant.users))
            + pages(with_errors(tenant.users)) + pages(with_errors(tenant.groups)) + pages(with_errors(tenant.contacts))
            # LIC-002: the flagged groups, each one's members in error, licensed users without usage location
            + pages(len(licence_groups)) + sum(pages(len(m)) for m in licence_groups.values())
            + pages(len(no_usage_location))
            # USR-001: the users who cannot do MFA; DEV-002: every device
            + pages(len(not_mfa_capable)) + pages(len(tenant.devices)))


def start_server(token: str, users: int, groups: int, seed: int, faults: str | None) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "ems_readiness.simulate.graph_server", "--scenario", "large", "--token", token,
            "--users", str(users), "--groups", str(groups), "--seed", str(seed)]
    if faults:
        args += ["--faults", faults]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    return server, url


def run_scan(url: str, token: str):
    profile = profile_from_dict({"tenant": {"graph_url": url, "auth": "token", "max_retry_wait_seconds": 600},
                                 "identity": {"model": "synced"}})
    checks = select_checks(load_checks(), AREAS, [])
    options = ScanOptions(network_side=False, credential=StaticTokenCredential(token))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = asyncio.run(scan(profile, checks, options))
    return results, time.perf_counter() - wall0, time.process_time() - cpu0


ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")


def findings_of(results) -> set:
    """Findings without the times the two simulated tenants stamp relative to their own start."""
    return {(f.check_id, f.resource, f.status.value, ISO_TIME.sub("<time>", f.observed or ""))
            for f in results.findings() if f.check_id != "DSY-002"}  # ages move with the clock


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chaos", type=float, default=0.3, help="share of requests answered 429/503 (0: skip)")
    args = parser.parse_args()
    token = simulated_token()

    server, url = start_server(token, args.users, args.groups, args.seed, None)
    try:
        results, wall, cpu = run_scan(url, token)
    finally:
        server.terminate()
        server.wait()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    minimal = minimal_requests(args.users, args.groups, args.seed)
    requests = results.stats["graph_requests"]
    print(f"tenant: {args.users:,} users, {args.groups:,} groups (seed {args.seed})")
    print(f"clean scan: wall {wall:.2f} s, agent CPU {cpu:.2f} s ({100 * cpu / wall:.0f} % of wall)")
    print(f"Graph requests: {requests} (retries {results.stats['graph_retries']}), minimal {minimal}:"
          f" {requests / minimal:.3f} x minimal (goal <= 1.1)")
    print(f"peak RSS of the agent process: {rss_mb:.0f} MB (goal <= 300)")
    print(f"findings: {sum(1 for _ in results.findings())}; checks: "
          + ", ".join(f"{c.id} {c.status.value}" for c in results.checks))

    if args.chaos > 0:
        faults = f"rate={args.chaos},kinds=429+503,retry_after=0.05,seed=11,max_consecutive=2"
        server, url = start_server(token, args.users, args.groups, args.seed, faults)
        try:
            noisy, noisy_wall, _ = run_scan(url, token)
        finally:
            server.terminate()
            server.wait()
        same = findings_of(noisy) == findings_of(results)
        print(f"chaos scan ({faults}): wall {noisy_wall:.2f} s, requests {noisy.stats['graph_requests']}"
              f" (retries {noisy.stats['graph_retries']}); findings identical to the clean run: {same}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
