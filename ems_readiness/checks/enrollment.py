"""Enrollment readiness: can the planned devices join, register and enroll?"""

from __future__ import annotations

from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef
from ems_readiness.engine.texts import joined, msg
from ems_readiness.probes.graph import GraphNotSupported

from ems_readiness.checks._tenant import Unreadable, error_text, graph_unreadable, label, require

RESTRICTIONS_READ = "deviceManagement/deviceEnrollmentConfigurations[]"
REGISTRATION_READ = "policies/deviceRegistrationPolicy"
MDM_READ = "policies/mobileDeviceManagementPolicies[]"
PLATFORM_RESTRICTIONS = "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration"
ENROLLMENT_LIMIT = "#microsoft.graph.deviceEnrollmentLimitConfiguration"
RESTRICTION_OF = {"windows": "windowsRestriction", "ios": "iosRestriction", "macos": "macOSRestriction",
                  "android": "androidRestriction"}
INTUNE_MDM_APP = "0000000a-0000-0000-c000-000000000000"  # Microsoft Intune's MDM application id
# documented values: deviceRegistrationPolicy azureADJoin.appliesTo ("0" none, "1" all, "2" selected),
# mobilityManagementPolicy appliesTo
JOIN_SCOPES = {"0": "no users", "1": "all users", "2": "selected users and groups"}
JOIN_SCOPE_TEXTS = {"0": "enroll.join.none", "1": "enroll.join.all", "2": "enroll.join.selected"}
MDM_SCOPES = ("none", "all", "selected", "unknownFutureValue")
MIN_DEVICE_QUOTA = 5  # Entra's default is 50; fewer blocks users with a phone, a tablet and two PCs


@check(
    id="INT-006",
    title="Devices of the planned platforms can join, register and enroll",
    area="intune",
    severity="high",
    responsibilities=["enable.client-infrastructure", "enable.services"],
    application=["DeviceManagementServiceConfig.Read.All"],
    delegated=["DeviceManagementServiceConfig.Read.All", "Policy.Read.All"],
    why="""
        Enrollment fails on the pilot's first day when a planned platform is blocked in Intune's
        enrollment restrictions, personal devices are blocked although the plan lets users bring
        their own, users may not join devices to Entra ID or have used up their device quota, or
        Windows automatic enrollment (the MDM user scope) is off.
    """,
    fix="""
        In the Intune admin center, Devices > Enrollment > Device platform restriction: allow each
        planned platform (and personally owned devices when BYOD is planned) in the policy that
        applies to the pilot users. In the Entra admin center, Devices > Device settings: let the
        pilot users join devices and set a device quota of at least 5 (default 50). In Entra ID >
        Mobility (MDM and MAM) > Microsoft Intune set the MDM user scope to All or to the pilot group.
    """,
)
async def enrollment_readiness(ctx) -> None:
    await report_restrictions(ctx)
    await report_registration_policy(ctx)
    await report_mdm_scope(ctx)


async def report_restrictions(ctx) -> None:
    plan = ctx.profile.plan
    configurations, evidence = await ctx.graph.get("enrollment_configurations")
    restrictions = [c for c in configurations if isinstance(c, dict) and c.get("@odata.type") == PLATFORM_RESTRICTIONS]
    if not restrictions:
        ctx.errored("enrollment restrictions", msg("enroll.no-restriction"), evidence=[evidence],
                    action=graph_unreadable(RESTRICTIONS_READ))
        return
    for config in sorted(restrictions, key=lambda c: c.get("priority") if isinstance(c.get("priority"), int) else 0):
        name = label(config, "displayName", "id")
        for platform in plan.platforms:
            resource = f"restriction:{name}:{platform}"
            of = f"restriction '{name}'"
            try:
                rule = require(config, RESTRICTION_OF[platform], dict, read=RESTRICTIONS_READ, of=of)
                where = f"{RESTRICTIONS_READ}.{RESTRICTION_OF[platform]}"
                blocked = require(rule, "platformBlocked", bool, read=where, of=of)
                personal_blocked = require(rule, "personalDeviceEnrollmentBlocked", bool, read=where, of=of)
                minimum = require(rule, "osMinimumVersion", str, read=where, of=of, nullable=True)
            except Unreadable as exc:
                ctx.errored(resource, error_text(exc), evidence=[evidence], action=graph_unreadable(RESTRICTIONS_READ))
                continue
            observed = msg("enroll.restriction.observed", blocked=str(blocked).lower(),
                           personal=str(personal_blocked).lower(), minimum=minimum or msg("enroll.none"))
            expected = msg("enroll.restriction.expected.byod" if plan.byod else "enroll.restriction.expected")
            action = ActionRef(key="intune.allow-enrollment", params={"restriction": name, "platform": platform})
            if blocked:
                ctx.failed(resource, msg("enroll.blocked", name=name, platform=platform),
                           expected=expected, observed=observed, evidence=[evidence], action=action)
            elif plan.byod and personal_blocked:
                ctx.failed(resource, msg("enroll.byod-blocked", name=name, platform=platform),
                           expected=expected, observed=observed, evidence=[evidence], action=action)
            else:
                ctx.passed(resource, msg("enroll.allowed", name=name, platform=platform), expected=expected,
                           observed=observed, evidence=[evidence])
    for limit in (c for c in configurations if isinstance(c, dict) and c.get("@odata.type") == ENROLLMENT_LIMIT):
        report_limit(ctx, limit, evidence)


def report_limit(ctx, limit: dict[str, Any], evidence) -> None:
    name = label(limit, "displayName", "id")
    try:
        devices = require(limit, "limit", int, read=RESTRICTIONS_READ, of=f"limit '{name}'")
    except Unreadable as exc:
        ctx.errored(f"limit:{name}", error_text(exc), evidence=[evidence], action=graph_unreadable(RESTRICTIONS_READ))
        return
    planned = len(ctx.profile.plan.platforms)
    if devices < planned:
        ctx.warned(f"limit:{name}", msg("enroll.limit.low", name=name, devices=devices, planned=planned),
                   observed=f"limit {devices}", expected=msg("enroll.limit.expected", planned=planned),
                   evidence=[evidence], action=ActionRef(key="intune.raise-enrollment-limit", params={"limit": name}))
    else:
        ctx.passed(f"limit:{name}", msg("enroll.limit.ok", name=name, devices=devices), observed=f"limit {devices}",
                   evidence=[evidence])


async def report_registration_policy(ctx) -> None:
    try:
        policy, evidence = await ctx.graph.get("device_registration_policy")
    except GraphNotSupported as exc:
        ctx.skipped("device registration policy", msg("enroll.app-only", error=str(exc)))
        return
    try:
        quota = require(policy, "userDeviceQuota", int, read=REGISTRATION_READ)
        join = require(policy, "azureADJoin", dict, read=REGISTRATION_READ)
        scope = require(join, "appliesTo", str, read=f"{REGISTRATION_READ}.azureADJoin", known=JOIN_SCOPES)
    except Unreadable as exc:
        ctx.errored("device registration policy", error_text(exc), evidence=[evidence],
                    action=graph_unreadable(REGISTRATION_READ))
        return
    who = msg(JOIN_SCOPE_TEXTS[scope])
    observed = msg("enroll.registration.observed", scope=scope, who=who, quota=quota)
    if "windows" in ctx.profile.plan.platforms and scope == "0":
        ctx.failed("Entra join", msg("enroll.join.blocked"), expected=msg("enroll.join.expected"), observed=observed,
                   evidence=[evidence], action=ActionRef(key="entra.allow-device-join"))
    else:
        ctx.passed("Entra join", msg("enroll.join.ok", who=who), observed=observed, evidence=[evidence])
    if quota < MIN_DEVICE_QUOTA:
        ctx.failed("device quota", msg("enroll.quota.low", quota=quota),
                   expected=msg("enroll.quota.expected", minimum=MIN_DEVICE_QUOTA), observed=observed,
                   evidence=[evidence], action=ActionRef(key="entra.raise-device-quota"))
    else:
        ctx.passed("device quota", msg("enroll.quota.ok", quota=quota), observed=observed, evidence=[evidence])


async def report_mdm_scope(ctx) -> None:
    resource = "Windows MDM user scope"
    if "windows" not in ctx.profile.plan.platforms:
        ctx.skipped(resource, msg("enroll.mdm.no-windows"))
        return
    try:
        policies, evidence = await ctx.graph.get("mdm_policies", select=["id", "displayName", "appliesTo"])
    except GraphNotSupported as exc:
        ctx.skipped(resource, msg("enroll.app-only", error=str(exc)))
        return
    intune, untold = [], []
    for policy in policies:
        try:
            if require(policy, "id", str, read=MDM_READ).lower() == INTUNE_MDM_APP:
                intune.append(policy)
        except Unreadable as exc:
            untold.append(exc.text)
    if not intune and untold:
        ctx.errored(resource, msg("enroll.mdm.untold", problems=joined(untold)), evidence=[evidence],
                    action=graph_unreadable(MDM_READ))
        return
    if not intune:
        ctx.failed(resource, msg("enroll.mdm.not-intune"), expected=msg("enroll.mdm.expected"),
                   observed=", ".join(label(p, "displayName", "id") for p in policies) or msg("enroll.mdm.none"),
                   evidence=[evidence], action=ActionRef(key="entra.set-mdm-user-scope"))
        return
    try:
        scope = require(intune[0], "appliesTo", str, read=MDM_READ, of="Microsoft Intune", known=MDM_SCOPES)
    except Unreadable as exc:
        ctx.errored(resource, error_text(exc), evidence=[evidence], action=graph_unreadable(MDM_READ))
        return
    if scope == "none":
        ctx.failed(resource, msg("enroll.mdm.off"), expected=msg("enroll.mdm.scope.expected"),
                   observed=f"appliesTo {scope}", evidence=[evidence], action=ActionRef(key="entra.set-mdm-user-scope"))
    else:
        ctx.passed(resource, msg("enroll.mdm.on", scope=scope), observed=f"appliesTo {scope}", evidence=[evidence])
