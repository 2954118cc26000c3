"""Running the real runner against the simulated Graph tenant over loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import contextmanager

from ems_readiness.engine.auth import StaticTokenCredential
from ems_readiness.engine.profile import profile_from_dict
import importlib

from ems_readiness.engine.registry import checks_in, validate
from ems_readiness.engine.runner import ScanOptions, scan, select_checks
from ems_readiness.simulate.graph_server import FaultPlan, GraphSimulator
from ems_readiness.simulate.tenant_data import load_scenario_tenant

ALL_APPLICATION = [
    "Organization.Read.All", "Domain.Read.All", "User.Read.All", "GroupMember.Read.All", "OrgContact.Read.All",
    "DeviceManagementServiceConfig.Read.All", "Policy.Read.All",
    "DeviceManagementManagedDevices.Read.All", "DeviceManagementConfiguration.Read.All", "Device.Read.All",
    "AuditLog.Read.All",
]
ALL_DELEGATED = ALL_APPLICATION + ["OnPremDirectorySynchronization.Read.All", "Agreement.Read.All"]


def jwt(payload: dict) -> str:
    def enc(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(payload)}.c2ln"


def app_token(roles=ALL_APPLICATION) -> str:
    return jwt({"tid": "6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11", "roles": list(roles), "appid": "tests"})


def delegated_token(scopes=ALL_DELEGATED) -> str:
    return jwt({"tid": "6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11", "scp": " ".join(scopes)})


@contextmanager
def simulated_tenant(scenario: str = "unready", token: str | None = None, faults: FaultPlan | None = None,
                     tenant=None, now=None, certificate=None):
    tenant = tenant or load_scenario_tenant(scenario, ports={"sts": 443}, now=now)
    sim = GraphSimulator(tenant, token=token, faults=faults, certificate=certificate)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


TENANT_MODULES = ("licensing", "directory_sync", "domains", "intune", "intune_connectors", "licence_assignment",
                  "mfa_readiness", "enrollment", "device_os", "federation")


def tenant_checks():
    found = [c for m in TENANT_MODULES for c in checks_in(importlib.import_module(f"ems_readiness.checks.{m}"))]
    validate(found)
    return found


def tenant_scan(sim, token: str, only=("licensing", "directory-sync", "domains", "intune"), model="federated",
                extra_profile=None, max_retry_wait=60.0):
    raw = {"tenant": {"graph_url": sim.url, "auth": "token", "max_retry_wait_seconds": max_retry_wait,
                      "timeout_seconds": 10},
           # the simulated tenant's domains are .test: routable in this lab only
           "identity": {"model": model, "max_sync_age_minutes": 180, "routable_tlds": ["test"]}}
    for section, values in (extra_profile or {}).items():
        raw.setdefault(section, {}).update(values)
    profile = profile_from_dict(raw)
    checks = select_checks(tenant_checks(), list(only), [])
    options = ScanOptions(network_side=False, mode="demo", credential=StaticTokenCredential(token))
    return asyncio.run(scan(profile, checks, options))


def by_id(results) -> dict:
    return {c.id: c for c in results.checks}
