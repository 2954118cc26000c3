"""Intune: terms and conditions, their assignment, Entra terms of use, service readiness."""

from __future__ import annotations

from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.probes.graph import GraphError, GraphNotSupported, GraphPermissionError

from ems_readiness.checks._tenant import organization, text

TERMS_FIELDS = ["id", "displayName", "title", "bodyText", "acceptanceStatement", "version", "lastModifiedDateTime"]
REQUIRED_TERMS_TEXT = (("title", "title"), ("bodyText", "body text"), ("acceptanceStatement", "acceptance statement"))


async def intune_terms(ctx) -> tuple[list[dict[str, Any]], Any]:
    terms, evidence = await ctx.graph.get("terms_and_conditions", select=TERMS_FIELDS)
    return [t for t in terms if isinstance(t, dict)], evidence


@check(
    id="INT-001",
    title="Intune terms and conditions are written and complete",
    area="intune",
    severity="high",
    responsibilities=["general.intune-terms-of-use", "enable.services"],
    application=["DeviceManagementServiceConfig.Read.All"],
    delegated=["DeviceManagementServiceConfig.Read.All"],
    why="""
        Writing the organization's terms of use so the Company Portal can show them is a customer
        responsibility of the onboarding. Users accept them before enrolling; empty text means there
        is nothing to accept.
    """,
    fix="""
        In the Intune admin center (Tenant administration > Terms and conditions) create or edit the
        terms: a title, the full terms text and the acceptance statement users agree to.
    """,
)
async def terms_written(ctx) -> None:
    terms, evidence = await intune_terms(ctx)
    if not terms:
        ctx.failed("terms and conditions", "No Intune terms and conditions exist",
                   expected="at least one terms and conditions policy with title, body and acceptance statement",
                   observed="0 policies", evidence=[evidence])
        return
    for policy in terms:
        name = policy.get("displayName") or policy.get("id")
        empty = [label for key, label in REQUIRED_TERMS_TEXT if not text(policy.get(key))]
        observed = ", ".join(f"{label}: {'empty' if not text(policy.get(key)) else repr(text(policy.get(key))[:60])}"
                             for key, label in REQUIRED_TERMS_TEXT) + f"; version {policy.get('version')}"
        if empty:
            ctx.failed(f"terms:{name}", f"Terms and conditions '{name}' have an empty {', '.join(empty)}",
                       expected="title, body text and acceptance statement all filled in", observed=observed,
                       evidence=[evidence])
        else:
            ctx.passed(f"terms:{name}", f"Terms and conditions '{name}' are complete (version {policy.get('version')})",
                       observed=observed, evidence=[evidence])


def target_text(assignment: dict[str, Any]) -> str:
    target = assignment.get("target") or {}
    kind = str(target.get("@odata.type", "")).rsplit(".", 1)[-1]
    if "groupId" in target:
        return f"{kind} group {target['groupId']}"
    return kind or "unknown target"


@check(
    id="INT-002",
    title="Intune terms and conditions are assigned",
    area="intune",
    severity="medium",
    responsibilities=["general.intune-terms-of-use", "enable.services"],
    application=["DeviceManagementServiceConfig.Read.All"],
    delegated=["DeviceManagementServiceConfig.Read.All"],
    why="Terms that are assigned to no group are never shown: nobody is asked to accept them.",
    fix="""
        In the Intune admin center open the terms and conditions, Assignments, and add the pilot
        group (later all users who enroll).
    """,
)
async def terms_assigned(ctx) -> None:
    terms, evidence = await intune_terms(ctx)
    if not terms:
        ctx.failed("terms and conditions", "No Intune terms and conditions exist to assign",
                   expected="terms assigned to at least one group", observed="0 policies", evidence=[evidence])
        return
    for policy in terms:
        name = policy.get("displayName") or policy.get("id")
        assignments, assignment_evidence = await ctx.graph.get("terms_assignments", ids={"id": policy["id"]})
        targets = [target_text(a) for a in assignments if isinstance(a, dict)]
        if targets:
            ctx.passed(f"terms:{name}", f"Terms and conditions '{name}' are assigned", observed="; ".join(targets),
                       evidence=[assignment_evidence])
        else:
            ctx.failed(f"terms:{name}", f"Terms and conditions '{name}' are assigned to nobody",
                       expected="assigned to at least one group", observed="0 assignments", evidence=[assignment_evidence])


def enforcing_policies(policies: list[dict[str, Any]], agreement_id: str | None = None) -> list[dict[str, Any]]:
    found = []
    for policy in policies:
        terms = ((policy.get("grantControls") or {}).get("termsOfUse")) or []
        if terms and (agreement_id is None or agreement_id in terms):
            found.append(policy)
    return found


@check(
    id="INT-003",
    title="Entra terms of use and the conditional access policies that enforce them",
    area="intune",
    severity="low",
    responsibilities=["general.intune-terms-of-use", "general.security-policies"],
    application=["Policy.Read.All"],
    delegated=["Agreement.Read.All", "Policy.Read.All"],
    why="""
        Entra terms of use are shown at sign-in only when an enabled conditional access policy
        requires them; an agreement without such a policy is never presented.
    """,
    fix="""
        In Entra ID > Protection > Conditional Access add (or enable) a policy whose grant control
        requires the agreement, scoped to the users who must accept it; test in report-only first.
    """,
)
async def terms_of_use(ctx) -> None:
    policies, policy_evidence = await ctx.graph.get(
        "conditional_access_policies", select=["id", "displayName", "state", "grantControls"])
    policies = [p for p in policies if isinstance(p, dict)]
    try:
        agreements, agreement_evidence = await ctx.graph.get("agreements", select=["id", "displayName"])
    except GraphNotSupported as exc:
        ctx.skipped("terms-of-use agreements", f"Agreements are not readable: {exc}")
        report_policies(ctx, enforcing_policies(policies), policy_evidence)
        return
    if not agreements:
        ctx.warned("terms-of-use agreements", "No Entra terms-of-use agreement exists",
                   expected="an agreement, if the organization presents terms at sign-in", observed="0 agreements",
                   evidence=[agreement_evidence])
    for agreement in agreements:
        name = agreement.get("displayName") or agreement.get("id")
        enforcing = enforcing_policies(policies, agreement.get("id"))
        enabled = [p for p in enforcing if p.get("state") == "enabled"]
        observed = "; ".join(f"{p.get('displayName')} ({p.get('state')})" for p in enforcing) or "no policy requires it"
        if enabled:
            ctx.passed(f"agreement:{name}", f"Agreement '{name}' is enforced by conditional access", observed=observed,
                       evidence=[agreement_evidence, policy_evidence])
        else:
            ctx.warned(f"agreement:{name}", f"Agreement '{name}' is not enforced by an enabled conditional access policy",
                       expected="an enabled policy with grantControls.termsOfUse naming it", observed=observed,
                       evidence=[agreement_evidence, policy_evidence])


def report_policies(ctx, enforcing: list[dict[str, Any]], evidence) -> None:
    for policy in enforcing:
        name = policy.get("displayName") or policy.get("id")
        if policy.get("state") == "enabled":
            ctx.passed(f"policy:{name}", f"Conditional access policy '{name}' requires terms of use",
                       observed=f"state {policy.get('state')}", evidence=[evidence])
        else:
            ctx.warned(f"policy:{name}", f"Conditional access policy '{name}' requires terms of use but is {policy.get('state')}",
                       expected="state enabled", observed=f"state {policy.get('state')}", evidence=[evidence])
    if not enforcing:
        ctx.warned("conditional access", "No conditional access policy requires terms of use",
                   expected="an enabled policy with grantControls.termsOfUse", observed="none", evidence=[evidence])


MDM_AUTHORITY_MEANING = {
    "intune": "Intune",
    "sccm": "Configuration Manager (hybrid MDM, retired)",
    "office365": "Basic Mobility and Security for Office 365",
    "unknown": "not set",
}


@check(
    id="INT-004",
    title="Intune service ready: subscription active and MDM authority set to Intune",
    area="intune",
    severity="high",
    responsibilities=["enable.services", "enable.client-infrastructure", "initiate.onboard-services"],
    application=["DeviceManagementServiceConfig.Read.All", "Organization.Read.All"],
    delegated=["DeviceManagementServiceConfig.Read.All", "Organization.Read.All"],
    why="""
        Devices cannot enroll until the tenant's Intune subscription is active and the MDM authority
        is Intune; the onboarding's enable phase starts from there.
    """,
    fix="""
        Sign in to the Intune admin center once as a Global or Intune administrator: it activates the
        service and sets the MDM authority to Intune. If the authority is Basic Mobility and Security
        or Configuration Manager, change it (Tenant administration > Tenant status) before enrolling.
    """,
)
async def intune_service(ctx) -> None:
    management, evidence = await ctx.graph.get("device_management", select=["id", "subscriptionState", "intuneAccountId"])
    state = management.get("subscriptionState")
    if state is None:
        ctx.errored("Intune subscription", "Graph did not report the Intune subscription state",
                    expected="subscriptionState = active", observed="subscriptionState not in the answer",
                    evidence=[evidence])
    elif state == "active":
        ctx.passed("Intune subscription", "The Intune subscription is active", expected="subscriptionState = active",
                   observed=f"subscriptionState = {state}", evidence=[evidence])
    else:
        ctx.failed("Intune subscription", f"The Intune subscription is {state or 'not reported'}",
                   expected="subscriptionState = active", observed=f"subscriptionState = {state!r}", evidence=[evidence])
    org, _ = await organization(ctx)
    try:
        mdm, mdm_evidence = await ctx.graph.get("mdm_authority", ids={"id": org["id"]},
                                                select=["id", "mobileDeviceManagementAuthority"])
    except (GraphPermissionError, GraphError) as exc:
        ctx.errored("MDM authority", f"The MDM authority could not be read: {exc}")
        return
    if mdm.get("mobileDeviceManagementAuthority") is None:
        ctx.errored("MDM authority", "Graph did not report the MDM authority",
                    expected="mobileDeviceManagementAuthority = intune", observed="not in the answer",
                    evidence=[mdm_evidence])
        return
    authority = str(mdm["mobileDeviceManagementAuthority"])
    meaning = MDM_AUTHORITY_MEANING.get(authority.lower(), f"a value this tool does not know ({authority})")
    if authority.lower() == "intune":
        ctx.passed("MDM authority", "The MDM authority is Intune", expected="mobileDeviceManagementAuthority = intune",
                   observed=f"{authority} ({meaning})", evidence=[mdm_evidence])
    else:
        ctx.failed("MDM authority", f"The MDM authority is {meaning}, not Intune",
                   expected="mobileDeviceManagementAuthority = intune", observed=f"{authority} ({meaning})",
                   evidence=[mdm_evidence])
