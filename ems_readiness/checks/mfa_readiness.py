"""MFA readiness: can the (pilot) users do MFA before conditional access requires it?"""

from __future__ import annotations

import uuid
from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import distinct, joined, msg
from ems_readiness.probes.graph import GraphPermissionError, GraphPremiumRequired

from ems_readiness.checks._tenant import (
    Unreadable, error_text, graph_error_action, graph_unreadable, label, require, require_list,
)
from ems_readiness.checks.intune import POLICY_READ, POLICY_STATES, policy_name

NOT_CAPABLE_FILTER = "isMfaCapable eq false"
REGISTRATION_READ = "reports/authenticationMethods/userRegistrationDetails[]"
EXAMPLES = 5
USER_TYPES = ("member", "guest")


def mfa_policies(policies: list[Any]) -> tuple[list[str], list[str], list[Text | str]]:
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
            unknown.append(exc.text)
            continue
        if state == "enabled":
            enforced.append(policy_name(policy))
        elif state == "enabledForReportingButNotEnforced":
            planned.append(policy_name(policy))
    return enforced, planned, unknown


async def pilot_members(ctx) -> tuple[set[str] | None, Text]:
    """The pilot group's user ids (transitively), or None for every member user; and how it was scoped."""
    wanted = ctx.profile.plan.pilot_group
    if not wanted:
        return None, msg("mfa.scope.tenant")
    try:
        group_id = str(uuid.UUID(wanted))
    except ValueError:
        matches = [g async for g in ctx.graph.stream("groups", select=["id", "displayName"],
                                                      filter=f"displayName eq '{wanted}'")]
        if len(matches) != 1:
            raise Unreadable(msg("mfa.pilot.ambiguous", group=wanted, n=len(matches)))
        group_id = require(matches[0], "id", str, read="groups[]", of=f"group '{wanted}'")
    members = set()
    async for member in ctx.graph.stream("group_members", ids={"id": group_id}, select=["id"]):
        kind = str(member.get("@odata.type", "")).lower() if isinstance(member, dict) else ""
        if kind.endswith(".user"):
            members.add(require(member, "id", str, read="groups/{id}/transitiveMembers[]").lower())
    return members, msg("mfa.scope.pilot", group=wanted)


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
    named = [*(msg("mfa.policy.enabled", name=n) for n in enforced),
             *(msg("mfa.policy.report-only", name=n) for n in planned)]
    requirement: Text = (msg("text.joined", items=joined(named)) if named
                         else msg("mfa.required.defaults" if defaults_on else "mfa.required.none"))
    await report_registration(ctx, required, requirement, unknown)


async def report_security_defaults(ctx, policies: list[Any], policy_evidence) -> bool | None:
    resource = "security defaults"
    try:
        policy, evidence = await ctx.graph.get("security_defaults", select=["id", "isEnabled"])
        enabled = require(policy, "isEnabled", bool, read="policies/identitySecurityDefaultsEnforcementPolicy")
    except (GraphPermissionError, Unreadable) as exc:
        ctx.errored(resource, error_text(exc),
                    action=unassessed(exc, "policies/identitySecurityDefaultsEnforcementPolicy"))
        return None
    if not enabled:
        ctx.passed(resource, msg("mfa.defaults.off"), observed="isEnabled false", evidence=[evidence])
    elif policies:
        names = ", ".join(policy_name(p) for p in policies[:EXAMPLES])
        ctx.failed(resource, msg("mfa.defaults.beside", n=len(policies)), expected=msg("mfa.defaults.expected"),
                   observed=msg("mfa.defaults.observed", names=names), evidence=[evidence, policy_evidence],
                   action=ActionRef(key="identity.disable-security-defaults"))
    else:
        ctx.warned(resource, msg("mfa.defaults.on"), observed=msg("mfa.defaults.observed.none"),
                   evidence=[evidence], action=ActionRef(key="identity.disable-security-defaults"))
    return enabled


def unassessed(exc: BaseException, read: str) -> ActionRef:
    return graph_unreadable(read) if isinstance(exc, Unreadable) else graph_error_action(exc, read)


async def report_registration(ctx, required: bool, requirement: Text, unknown: list[Text | str]) -> None:
    resource = "MFA registration"
    expected = msg("mfa.expected")
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
        ctx.skipped(resource, msg("mfa.premium", error=str(exc)))
        return
    except (GraphPermissionError, Unreadable) as exc:
        ctx.errored(resource, error_text(exc), expected=expected,
                    action=unassessed(exc, "reports/authenticationMethods/userRegistrationDetails"))
        return
    evidence = [ctx.graph.stream_evidence("user_registration_details", filter=NOT_CAPABLE_FILTER)]
    pilot = ctx.profile.plan.pilot_group
    action = ActionRef(key="identity.register-mfa", params={"group": pilot}) if pilot else \
        ActionRef(key="identity.register-mfa-all")
    observed = msg("mfa.observed", n=count, scope=scope_text,
                   admins=msg("mfa.observed.admins", n=admins) if admins else "",
                   examples=msg("mfa.observed.examples", examples=", ".join(examples)) if examples else "",
                   requirement=requirement)
    if count == 0:
        ctx.passed(resource, msg("mfa.all-capable", scope=scope_text), expected=expected, observed=observed,
                   evidence=evidence)
    elif unknown and not required:
        ctx.errored(resource, msg("mfa.untold", n=count, problems=joined(distinct(unknown))), observed=observed,
                    evidence=evidence, action=graph_unreadable(POLICY_READ))
    elif required:
        ctx.failed(resource, msg("mfa.blocked", n=count, scope=scope_text, requirement=requirement),
                   expected=expected, observed=observed, evidence=evidence, action=action)
    else:
        ctx.warned(resource, msg("mfa.not-required", n=count, scope=scope_text), expected=expected,
                   observed=observed, evidence=evidence, action=action)
