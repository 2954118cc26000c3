"""MFA readiness: can the (pilot) users do MFA before conditional access requires it?"""

from __future__ import annotations

import uuid
from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef
from ems_readiness.probes.graph import GraphPermissionError, GraphPremiumRequired

from ems_readiness.checks._tenant import Unreadable, label, require, require_list
from ems_readiness.checks.intune import POLICY_READ, POLICY_STATES, policy_name

NOT_CAPABLE_FILTER = "isMfaCapable eq false"
REGISTRATION_READ = "reports/authenticationMethods/userRegistrationDetails[]"
EXAMPLES = 5
USER_TYPES = ("member", "guest")


def mfa_policies(policies: list[Any]) -> tuple[list[str], list[str], list[str]]:
    """Names of the enabled and the report-only policies whose grant requires MFA, and what Graph did not say."""
    enforced, planned, unknown = [], [], []
    for policy in policies:
        of = f"policy '{policy_name(policy)}'"
        try:
            controls = require(policy, "grantControls", dict, read=POLICY_READ, of=of, nullable=True)
            if controls is None:
                continue
            built_in = require_list(controls, "builtInControls", str, read=f"{POLICY_READ}.grantControls", of=of)
            if "mfa" not in {c.lower() for c in built_in}:
                continue
            state = require(policy, "state", str, read=POLICY_READ, of=of, known=POLICY_STATES)
        except Unreadable as exc:
            unknown.append(str(exc))
            continue
        if state == "enabled":
            enforced.append(policy_name(policy))
        elif state == "enabledForReportingButNotEnforced":
            planned.append(policy_name(policy))
    return enforced, planned, unknown


async def pilot_members(ctx) -> tuple[set[str] | None, str]:
    """The pilot group's user ids (transitively), or None for every member user; and how it was scoped."""
    wanted = ctx.profile.plan.pilot_group
    if not wanted:
        return None, "member users of the tenant"
    try:
        group_id = str(uuid.UUID(wanted))
    except ValueError:
        matches = [g async for g in ctx.graph.stream("groups", select=["id", "displayName"],
                                                      filter=f"displayName eq '{wanted}'")]
        if len(matches) != 1:
            raise Unreadable(f"the plan's pilot group '{wanted}' matches {len(matches)} groups in the tenant"
                             " (give its object id in [plan] pilot_group)")
        group_id = require(matches[0], "id", str, read="groups[]", of=f"group '{wanted}'")
    members = set()
    async for member in ctx.graph.stream("group_members", ids={"id": group_id}, select=["id"]):
        kind = str(member.get("@odata.type", "")).lower() if isinstance(member, dict) else ""
        if kind.endswith(".user"):
            members.add(require(member, "id", str, read="groups/{id}/transitiveMembers[]").lower())
    return members, f"members of the pilot group '{wanted}'"


@check(
    id="USR-001",
    title="Users can do MFA before conditional access requires it",
    area="identity",
    severity="high",
    responsibilities=["enable.user-provisioning", "general.security-policies", "enable.security-infrastructure"],
    application=["AuditLog.Read.All", "Policy.Read.All", "GroupMember.Read.All"],
    delegated=["AuditLog.Read.All", "Policy.Read.All", "GroupMember.Read.All"],
    why="""
        Conditional access that requires MFA blocks every user who has not registered a method: on the
        day the policy is switched on, pilot users who are not MFA-capable cannot sign in, enroll a
        device or open protected mail. Security defaults still on beside conditional access mean the
        agreed policies cannot be turned on at all.
    """,
    fix="""
        Have the users register (https://aka.ms/mfasetup), or run a registration campaign (Entra admin
        center > Protection > Authentication methods > Registration campaign) and issue Temporary
        Access Passes to those who cannot; turn security defaults off (Entra ID > Overview >
        Properties > Manage security defaults) when conditional access replaces them.
    """,
)
async def mfa_readiness(ctx) -> None:
    policies, policy_evidence = await ctx.graph.get(
        "conditional_access_policies", select=["id", "displayName", "state", "grantControls"])
    enforced, planned, unknown = mfa_policies(policies)
    defaults_on = await report_security_defaults(ctx, policies, policy_evidence)
    required = bool(enforced or planned or defaults_on)
    requirement = ("; ".join([*(f"'{n}' (enabled)" for n in enforced), *(f"'{n}' (report-only)" for n in planned)])
                   or ("security defaults" if defaults_on else "no policy requires MFA"))
    await report_registration(ctx, required, requirement, unknown)


async def report_security_defaults(ctx, policies: list[Any], policy_evidence) -> bool | None:
    resource = "security defaults"
    try:
        policy, evidence = await ctx.graph.get("security_defaults", select=["id", "isEnabled"])
        enabled = require(policy, "isEnabled", bool, read="policies/identitySecurityDefaultsEnforcementPolicy")
    except (GraphPermissionError, Unreadable) as exc:
        ctx.errored(resource, str(exc))
        return None
    if not enabled:
        ctx.passed(resource, "Security defaults are off: conditional access decides who must do MFA",
                   observed="isEnabled false", evidence=[evidence])
    elif policies:
        names = ", ".join(policy_name(p) for p in policies[:EXAMPLES])
        ctx.failed(resource, f"Security defaults are on beside {len(policies)} conditional access policies, which"
                   " cannot be enabled while they are on", expected="security defaults off once conditional access"
                   " takes over", observed=f"isEnabled true; policies: {names}", evidence=[evidence, policy_evidence],
                   action=ActionRef(key="identity.disable-security-defaults"))
    else:
        ctx.warned(resource, "Security defaults are on: the onboarding's conditional access policies cannot be"
                   " enabled until they are turned off", observed="isEnabled true; 0 conditional access policies",
                   evidence=[evidence], action=ActionRef(key="identity.disable-security-defaults"))
    return enabled


async def report_registration(ctx, required: bool, requirement: str, unknown: list[str]) -> None:
    resource = "MFA registration"
    expected = "every user in scope MFA-capable (isMfaCapable true)"
    try:
        scope, scope_text = await pilot_members(ctx)
        count, examples, admins = 0, [], 0
        async for detail in ctx.graph.stream("user_registration_details", filter=NOT_CAPABLE_FILTER,
                                             select=["id", "userPrincipalName", "userType", "isAdmin", "isMfaCapable"]):
            who = label(detail, "userPrincipalName", "id")
            of = f"user {who}"
            if require(detail, "isMfaCapable", bool, read=REGISTRATION_READ, of=of):
                continue  # the filter is Graph's; the verdict is ours
            user_id = require(detail, "id", str, read=REGISTRATION_READ, of=of).lower()
            if scope is None:
                if require(detail, "userType", str, read=REGISTRATION_READ, of=of, known=USER_TYPES) != "member":
                    continue
            elif user_id not in scope:
                continue
            count += 1
            admins += detail.get("isAdmin") is True
            if len(examples) < EXAMPLES:
                examples.append(who)
    except GraphPremiumRequired as exc:
        ctx.skipped(resource, f"Registration details are a Microsoft Entra ID P1/P2 report: {exc}")
        return
    except (GraphPermissionError, Unreadable) as exc:
        ctx.errored(resource, str(exc), expected=expected)
        return
    evidence = [ctx.graph.stream_evidence("user_registration_details", filter=NOT_CAPABLE_FILTER)]
    pilot = ctx.profile.plan.pilot_group
    action = ActionRef(key="identity.register-mfa", params={"group": pilot}) if pilot else \
        ActionRef(key="identity.register-mfa-all")
    observed = (f"{count} of the {scope_text} not MFA-capable" + (f" ({admins} administrators)" if admins else "")
                + (f", e.g. {', '.join(examples)}" if examples else "") + f"; MFA required by: {requirement}")
    if count == 0:
        ctx.passed(resource, f"Every one of the {scope_text} can do MFA", expected=expected, observed=observed,
                   evidence=evidence)
    elif unknown and not required:
        ctx.errored(resource, f"{count} user(s) cannot do MFA, and whether MFA is required is not known: "
                    + "; ".join(dict.fromkeys(unknown)), observed=observed, evidence=evidence)
    elif required:
        ctx.failed(resource, f"{count} of the {scope_text} cannot do MFA, which {requirement} requires: they will be"
                   " blocked at sign-in", expected=expected, observed=observed, evidence=evidence,
                   action=action)
    else:
        ctx.warned(resource, f"{count} of the {scope_text} cannot do MFA (nothing requires it yet)", expected=expected,
                   observed=observed, evidence=evidence, action=action)
