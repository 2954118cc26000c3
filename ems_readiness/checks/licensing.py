"""Licensing: the EMS service plans the onboarding needs, enabled and with free units."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.check import check

CAPACITY_STATUSES = {"Enabled"}


@lru_cache(maxsize=1)
def capabilities() -> list[dict[str, Any]]:
    return data_toml("ems_service_plans.toml")["capability"]


def free_units(sku: dict[str, Any]) -> int:
    prepaid = sku.get("prepaidUnits") or {}
    enabled = prepaid.get("enabled") if isinstance(prepaid.get("enabled"), int) else 0
    consumed = sku.get("consumedUnits") if isinstance(sku.get("consumedUnits"), int) else 0
    return enabled - consumed


def plans_in(sku: dict[str, Any], wanted: list[dict[str, str]]) -> list[dict[str, Any]]:
    ids = {p["id"].lower() for p in wanted}
    names = {p["name"].upper() for p in wanted}
    return [
        plan for plan in sku.get("servicePlans") or []
        if isinstance(plan, dict)
        and (str(plan.get("servicePlanId", "")).lower() in ids or str(plan.get("servicePlanName", "")).upper() in names)
    ]


def describe(sku: dict[str, Any], plan: dict[str, Any]) -> str:
    return (
        f"{sku.get('skuPartNumber', '?')}: plan {plan.get('servicePlanName', '?')} {plan.get('provisioningStatus', '?')},"
        f" SKU {sku.get('capabilityStatus', '?')}, {free_units(sku)} free of {(sku.get('prepaidUnits') or {}).get('enabled', 0)}"
    )


@check(
    id="LIC-001",
    title="EMS service plans present, enabled and with free licences",
    area="licensing",
    severity="high",
    responsibilities=["initiate.onboard-services", "enable.services", "assess.remediation-checklist"],
    topic="management",
    application=["Organization.Read.All"],
    delegated=["Organization.Read.All"],
    why="""
        FastTrack onboards only the services the tenant is licensed for: Entra ID P1/P2 for conditional
        access and dynamic groups, full Intune (INTUNE_A) for MDM/MAM, Azure Rights Management for
        protection. A suspended or fully consumed subscription cannot license the pilot users.
    """,
    fix="""
        In the Microsoft 365 admin center (Billing > Your products) renew, reactivate or add the SKU
        that carries the plan, and enable the service plan in the SKU's licence options.
    """,
)
async def ems_service_plans(ctx) -> None:
    skus, evidence = await ctx.graph.get("subscribed_skus")
    skus = [s for s in skus if isinstance(s, dict)]
    for capability in capabilities():
        carrying = [(sku, plan) for sku in skus for plan in plans_in(sku, capability["plans"])]
        usable = [
            (sku, plan) for sku, plan in carrying
            if sku.get("capabilityStatus") in CAPACITY_STATUSES and plan.get("provisioningStatus") == "Success"
        ]
        free = sum(max(0, free_units(sku)) for sku, _ in {id(s): (s, p) for s, p in usable}.values())
        observed = "; ".join(describe(sku, plan) for sku, plan in carrying) or "no subscribed SKU carries it"
        expected = f"{' or '.join(p['name'] for p in capability['plans'])} provisioned (Success) in an Enabled SKU with free units"
        resource = capability["title"]
        if usable and free > 0:
            ctx.passed(resource, f"{capability['title']}: {free} licence(s) free", expected=expected,
                       observed=observed, evidence=[evidence])
        elif usable:
            ctx.failed(resource, f"{capability['title']} is licensed but every licence is assigned (0 free)",
                       expected=expected, observed=observed, evidence=[evidence],
                       remediation="Buy more licences or free some: the onboarding's pilot users need unassigned licences.")
        else:
            lesser = [sku.get("skuPartNumber", "?") for sku in skus for _ in plans_in(sku, capability.get("not_enough", []))]
            message = f"{capability['title']} is not available to assign"
            if carrying:
                message += ": the plan is present but disabled or its subscription is not Enabled"
            if lesser:
                message += f" (only Basic Mobility and Security in {', '.join(sorted(set(lesser)))})"
            ctx.failed(resource, message, expected=expected, observed=observed, evidence=[evidence],
                       remediation=capability["fix"])
    for sku in skus:
        status = sku.get("capabilityStatus")
        carries_ems = any(plans_in(sku, c["plans"]) for c in capabilities())
        if carries_ems and status not in CAPACITY_STATUSES:
            ctx.warned(
                f"SKU {sku.get('skuPartNumber', sku.get('skuId', '?'))}",
                f"Subscription {sku.get('skuPartNumber', '?')} carries EMS plans but is {status}: its licences are not capacity",
                expected="capabilityStatus Enabled", observed=f"capabilityStatus {status}", evidence=[evidence],
                remediation="Renew or reactivate the subscription before the onboarding, or plan without it.",
            )
