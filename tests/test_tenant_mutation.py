"""Absent and unknown are not negative, for every field every tenant check reads.

For both fixture tenants, each field a check's Graph reads return is removed, set to null, given a
value of the wrong JSON type and (for documented enums) a value nobody documented; the checks that
read it run against the real simulated Graph through msgraph-sdk. Every finding must keep its
verdict or become `error`: never a new pass or fail, never a pass turned fail or a fail turned pass.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict

import pytest

from ems_readiness.engine.model import CheckResult, Status
from ems_readiness.engine.profile import profile_from_dict

from .support.tenant import delegated_token, simulated_tenant, tenant_checks
from .support.tenant_mutations import (
    CheckHarness, Variant, apply, batches, field_paths, source_data, variants_of,
)

# Fields whose null Graph documents with a meaning (shared/reference/graph.md): a real answer, so
# null (and a removed $select-ed field, which Graph and the simulator send as null) may change a verdict.
DOCUMENTED_NULL = {
    ("organization", "onPremisesSyncEnabled"),                     # never synced
    ("users", "onPremisesSyncEnabled"),                            # never synced
    ("users", "onPremisesUserPrincipalName"),                      # cloud-only user
    ("conditional_access_policies", "grantControls"),              # session controls only
    ("organization_beta_properties", "onPremisesLastPasswordSyncDateTime"),  # no password hash sync
    ("devices", "operatingSystem"),                                # the device never reported it
    ("devices", "approximateLastSignInDateTime"),                  # never signed in
    ("enrollment_configurations", "osMinimumVersion"),             # no minimum set
    ("federation_configuration", "metadataExchangeUri"),           # no MEX endpoint set
    ("federation_configuration", "nextSigningCertificate"),        # no successor yet
    ("federation_configuration", "signingCertificateUpdateStatus"),  # no automatic update has run
}
# Fields that name what a finding is about: changing them may rename findings, so for them the
# verdicts are compared as counts (no more passes, no more fails) instead of resource by resource.
LABELS = {"id", "displayName", "userPrincipalName", "mail", "skuPartNumber", "skuId", "organizationName"}
# Documented enumerations (shared/reference/graph.md): these get a value nobody documented. Any
# other text set to some value is just different data, which may rightly change a verdict.
ENUMS = {
    "capabilityStatus", "provisioningStatus", "appliesTo", "authenticationType", "subscriptionState",
    "mobileDeviceManagementAuthority", "state", "category", "propertyCausingError", "recordType", "type",
    "supportedService", "preferredAuthenticationProtocol", "promptLoginBehavior", "federatedIdpMfaBehavior",
    "synchronizationPreventionType", "operator", "@odata.type", "bindStatus", "userType",
}
CRASH = re.compile(r"^(KeyError|TypeError|AttributeError|IndexError|ValueError|UnboundLocalError|RuntimeError)\b")
MIN_VARIANTS = 400  # a floor, so the field discovery cannot silently shrink to nothing


def profile(sim):
    return profile_from_dict({
        "tenant": {"graph_url": sim.url, "auth": "token", "max_retry_wait_seconds": 0, "timeout_seconds": 10},
        "identity": {"model": "federated", "max_sync_age_minutes": 180, "routable_tlds": ["test"],
                     "features": {"passwordSyncEnabled": True, "passwordWritebackEnabled": True}},
    })


def wanted(variant: Variant) -> bool:
    if variant.kind == "unknown" and variant.field not in ENUMS:
        return False
    if variant.kind in ("removed", "null") and (variant.source[0], variant.field) in DOCUMENTED_NULL:
        return False
    return True


def same_on_the_wire(variant: Variant, every_read_selects: bool) -> bool:
    """Graph (and the simulator) sends a $select-ed property it has no value for as null: for such a
    field removing it and setting it to null are the same answer, so only null is run."""
    top_level = len([step for step in variant.path if isinstance(step, str)]) == 1
    return variant.kind == "removed" and every_read_selects and top_level


def violations(variant: Variant, baseline: CheckResult, mutated: CheckResult) -> list[str]:
    found = []
    if mutated.reason and CRASH.match(mutated.reason):
        found.append(f"{variant}: {mutated.id} crashed: {mutated.reason}")
    if variant.field in LABELS:
        before = Counter(f.status for f in baseline.findings)
        after = Counter(f.status for f in mutated.findings)
        for status in (Status.PASS, Status.FAIL):
            if after[status] > before[status]:
                found.append(f"{variant}: {mutated.id} has {after[status]} {status.value} (baseline {before[status]})")
        return found
    before_by_resource = defaultdict(set)
    for finding in baseline.findings:
        before_by_resource[finding.resource].add(finding.status)
    for finding in mutated.findings:
        if finding.status is Status.ERROR:
            continue
        before = before_by_resource.get(finding.resource)
        if before is None and finding.status in (Status.PASS, Status.FAIL):
            found.append(f"{variant}: {mutated.id} new {finding.status.value} {finding.resource!r}: {finding.message}")
        elif before is not None and finding.status not in before:
            found.append(f"{variant}: {mutated.id} {finding.resource!r} {sorted(s.value for s in before)}"
                         f" -> {finding.status.value}: {finding.message}")
    return found


async def mutate_everything(sim, token):
    harness = CheckHarness(sim, token, profile(sim))
    checks = {c.id: c for c in tenant_checks()}
    try:
        baseline = await harness.run(list(checks.values()))
        reads = {check_id: await harness.reads_of(check) for check_id, check in checks.items()}
        original = sim.tenant
        pending = []
        for source in {source for by_source in reads.values() for source in by_source}:
            data = source_data(original, source)
            every_read_selects = all(r.select is not None for by_source in reads.values() for r in by_source.get(source, ()))
            for path in field_paths(data):
                readers = frozenset(check_id for check_id, by_source in reads.items()
                                    if any(r.returns(data, path) for r in by_source.get(source, ())))
                if readers:
                    pending += [(v, readers) for v in variants_of(source, data, path)
                                if wanted(v) and not same_on_the_wire(v, every_read_selects)]
        found: list[str] = []
        for batch in batches(pending):
            sim.tenant = apply(original, [variant for variant, _ in batch])
            results = await harness.run([checks[i] for _, ids in batch for i in sorted(ids)])
            for variant, ids in batch:
                for check_id in ids:
                    found += violations(variant, baseline[check_id], results[check_id])
        sim.tenant = original
        return baseline, reads, pending, found, harness.runs
    finally:
        await harness.aclose()


@pytest.mark.parametrize("scenario", ["unready", "ready"])
def test_no_mutated_field_gives_a_new_pass_or_fail(scenario, record_property):
    token = delegated_token()
    with simulated_tenant(scenario, token=token) as sim:
        baseline, reads, pending, found, runs = asyncio.run(mutate_everything(sim, token))
    record_property("mutations", len(pending))
    print(f"{scenario}: {len(pending)} mutations of {len({(v.source, v.path) for v, _ in pending})} fields"
          f" in {runs} check runs")
    assert not found, "\n".join(found[:60]) + (f"\n… {len(found)} in all" if len(found) > 60 else "")
    assert len(pending) >= MIN_VARIANTS
    assert set().union(*(ids for _, ids in pending)) == set(baseline), "every tenant check's reads are mutated"
    assert not any(v.kind == "unknown" and v.field not in ENUMS for v, _ in pending)
