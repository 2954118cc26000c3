"""Licensing: the EMS service plans the onboarding needs, enabled and with free units."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import distinct, joined, msg

from ems_readiness.checks._tenant import Unreadable, error_text, graph_unreadable, label, require, require_list

READ = "subscribedSkus[]"
# one action for every capability short of licences: the pilot users need them, whichever is short
PROVIDE_LICENCES = ActionRef(key="licence.provide", params={})
# documented values (shared/reference/graph.md §1.5; servicePlanInfo.provisioningStatus)
CAPABILITY_STATUSES = ("Enabled", "Warning", "Suspended", "Deleted", "LockedOut")
PROVISIONING_STATUSES = ("Success", "Disabled", "Error", "PendingInput", "PendingActivation", "PendingProvisioning")
CAPACITY_STATUSES = {"Enabled"}
SKU_FIELDS = ["id", "skuId", "skuPartNumber", "capabilityStatus", "consumedUnits", "prepaidUnits", "servicePlans"]


@lru_cache(maxsize=1)
def capabilities() -> list[dict[str, Any]]:
    return data_toml("ems_service_plans.toml")["capability"]


def sku_name(sku: Any) -> str:
    return label(sku, "skuPartNumber", "skuId", "id")


def of_sku(sku: Any) -> str:
    return f"SKU {sku_name(sku)}"


def free_units(sku: dict[str, Any]) -> int:
    prepaid = require(sku, "prepaidUnits", dict, read=READ, of=of_sku(sku))
    enabled = require(prepaid, "enabled", int, read=f"{READ}.prepaidUnits", of=of_sku(sku))
    consumed = require(sku, "consumedUnits", int, read=READ, of=of_sku(sku))
    return enabled - consumed


def plan_is(plan: Any, wanted: list[dict[str, str]], of: str) -> bool:
    """Matched by servicePlanId (the same in every SKU), servicePlanName as fallback."""
    read = f"{READ}.servicePlans[]"
    try:
        plan_id = require(plan, "servicePlanId", str, read=read, of=of)
    except Unreadable as missing_id:
        plan_id, why = None, missing_id
    try:
        name = require(plan, "servicePlanName", str, read=read, of=of)
    except Unreadable:
        name = None
    if plan_id is not None and plan_id.lower() in {p["id"].lower() for p in wanted}:
        return True
    if name is not None and name.upper() in {p["name"].upper() for p in wanted}:
        return True
    if plan_id is None and name is None:
        raise why
    return False


def plans_in(sku: Any, wanted: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The SKU's plans among `wanted`; Unreadable when the SKU's plans cannot be told."""
    plans = require_list(sku, "servicePlans", dict, read=READ, of=of_sku(sku))
    return [plan for plan in plans if plan_is(plan, wanted, of_sku(sku))]


def is_usable(sku: dict[str, Any], plan: dict[str, Any]) -> bool:
    """Enabled SKU and plan provisioned; a known negative on either side settles it."""
    answers = []
    for read_it in (
        lambda: require(sku, "capabilityStatus", str, read=READ, of=of_sku(sku), known=CAPABILITY_STATUSES) in CAPACITY_STATUSES,
        lambda: require(plan, "provisioningStatus", str, read=f"{READ}.servicePlans[]", of=of_sku(sku),
                        known=PROVISIONING_STATUSES) == "Success",
    ):
        try:
            answers.append(read_it())
        except Unreadable as exc:
            answers.append(exc)
    if False in answers:
        return False
    for answer in answers:
        if isinstance(answer, Unreadable):
            raise answer
    return True


def sent(obj: Any, field: str) -> Text | str:
    value = obj.get(field) if isinstance(obj, dict) else None
    return msg("lic.not-sent") if value is None else str(value)


def describe(sku: dict[str, Any], plan: dict[str, Any]) -> Text:
    try:
        units: Text = msg("lic.units", free=free_units(sku), total=sku["prepaidUnits"]["enabled"])
    except Unreadable:
        units = msg("lic.units.not-sent")
    return msg("lic.describe", sku=sku_name(sku), plan=label(plan, "servicePlanName", "servicePlanId"),
               provisioning=sent(plan, "provisioningStatus"), capability=sent(sku, "capabilityStatus"), units=units)


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
    skus, evidence = await ctx.graph.get("subscribed_skus", select=SKU_FIELDS)
    for capability in capabilities():
        assess_capability(ctx, capability, skus, evidence)
    for sku in skus:
        assess_sku(ctx, sku, evidence)


def assess_capability(ctx, capability: dict[str, Any], skus: list[Any], evidence) -> None:
    carrying: list[tuple[dict[str, Any], dict[str, Any]]] = []
    usable: dict[int, dict[str, Any]] = {}
    unknown: list[Text | str] = []  # what Graph did not say that could change the verdict
    for sku in skus:
        try:
            plans = plans_in(sku, capability["plans"])
        except Unreadable as exc:
            unknown.append(exc.text)
            continue
        for plan in plans:
            carrying.append((sku, plan))
            try:
                if is_usable(sku, plan):
                    usable[id(sku)] = sku
            except Unreadable as exc:
                unknown.append(exc.text)
    free = 0
    for sku in usable.values():
        try:
            free += max(0, free_units(sku))
        except Unreadable as exc:
            unknown.append(exc.text)
    observed = (msg("lic.observed", skus=joined(describe(sku, plan) for sku, plan in carrying)) if carrying
                else msg("lic.no-sku"))
    expected = msg("lic.expected", plans=" or ".join(p["name"] for p in capability["plans"]))
    title = resource = capability["title"]
    if free > 0:
        ctx.passed(resource, msg("lic.free", title=title, free=free), expected=expected,
                   observed=observed, evidence=[evidence])
    elif unknown:
        ctx.errored(resource, msg("lic.untold", title=title, problems=joined(distinct(unknown))),
                    expected=expected, observed=observed, evidence=[evidence], action=graph_unreadable("subscribedSkus"))
    elif usable:
        ctx.failed(resource, msg("lic.all-assigned", title=title), expected=expected, observed=observed,
                   evidence=[evidence], remediation=msg("lic.all-assigned.fix"),
                   action=PROVIDE_LICENCES)
    else:
        lesser = ", ".join(lesser_skus(skus, capability.get("not_enough", [])))
        variant = "lic.unavailable" + (".disabled" if carrying else "") + (".lesser" if lesser else "")
        ctx.failed(resource, msg(variant, title=title, **({"lesser": lesser} if lesser else {})), expected=expected,
                   observed=observed, evidence=[evidence], remediation=msg(f"lic.fix.{capability['key']}"),
                   action=PROVIDE_LICENCES)


def lesser_skus(skus: list[Any], plans: list[dict[str, str]]) -> list[str]:
    found = set()
    for sku in skus:
        try:
            if plans_in(sku, plans):
                found.add(sku_name(sku))
        except Unreadable:
            pass  # only named in the message; the verdict already accounts for unreadable SKUs
    return sorted(found)


def assess_sku(ctx, sku: Any, evidence) -> None:
    resource = of_sku(sku)
    try:
        if not any(plans_in(sku, c["plans"]) for c in capabilities()):
            return
        status = require(sku, "capabilityStatus", str, read=READ, of=resource, known=CAPABILITY_STATUSES)
    except Unreadable as exc:
        ctx.errored(resource, error_text(exc), evidence=[evidence], action=graph_unreadable("subscribedSkus"))
        return
    if status not in CAPACITY_STATUSES:
        ctx.warned(
            resource,
            msg("lic.sku.not-enabled", sku=sku_name(sku), status=status),
            expected="capabilityStatus Enabled", observed=f"capabilityStatus {status}", evidence=[evidence],
            remediation=msg("lic.sku.fix"),
            action=ActionRef(key="licence.reactivate", params={"sku": sku_name(sku)}),
        )
