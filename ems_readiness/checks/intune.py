"""Intune: terms and conditions, their assignment, Entra terms of use, service readiness."""

from __future__ import annotations

from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import distinct, joined, msg
from ems_readiness.probes.graph import GraphError, GraphNotSupported, GraphPermissionError

from ems_readiness.checks._tenant import (
    Unreadable, error_text, graph_error_action, graph_unreadable, label, organization, require, require_list,
)

TERMS_READ = "deviceManagement/termsAndConditions[]"
TERMS_FIELDS = ["id", "displayName", "title", "bodyText", "acceptanceStatement", "version", "lastModifiedDateTime"]
REQUIRED_TERMS_TEXT = (("title", msg("int.terms.title")), ("bodyText", msg("int.terms.body")),
                       ("acceptanceStatement", msg("int.terms.acceptance")))
CREATE_TERMS = ActionRef(key="intune.create-terms", params={})
ACTIVATE_INTUNE = ActionRef(key="intune.activate", params={})
POLICY_READ = "identity/conditionalAccess/policies[]"
# documented values (shared/reference/graph.md §1.8, §1.9, §1.1)
POLICY_STATES = ("enabled", "disabled", "enabledForReportingButNotEnforced")
SUBSCRIPTION_STATES = ("pending", "active", "warning", "disabled", "deleted", "blocked", "lockedOut")


async def intune_terms(ctx) -> tuple[list[Any], Any]:
    terms, evidence = await ctx.graph.get("terms_and_conditions", select=TERMS_FIELDS)
    return terms, evidence


def terms_name(policy: Any) -> str:
    return label(policy, "displayName", "id")


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
        ctx.failed("terms and conditions", msg("int.terms.none"), expected=msg("int.terms.none.expected"),
                   observed=msg("int.terms.zero"), evidence=[evidence], action=CREATE_TERMS)
        return
    for policy in terms:
        name = terms_name(policy)
        try:
            texts = {key: require(policy, key, str, read=TERMS_READ, of=f"terms '{name}'").strip()
                     for key, _ in REQUIRED_TERMS_TEXT}
        except Unreadable as exc:
            ctx.errored(f"terms:{name}", error_text(exc), expected=msg("int.terms.filled"), evidence=[evidence],
                        action=graph_unreadable(TERMS_READ))
            continue
        empty = joined((what for key, what in REQUIRED_TERMS_TEXT if not texts[key]), "comma")
        version = policy.get("version")
        fields = joined((msg("int.terms.field", what=what,
                             value=repr(texts[key][:60]) if texts[key] else msg("int.terms.empty"))
                         for key, what in REQUIRED_TERMS_TEXT), "comma")
        observed = msg("int.terms.observed", fields=fields,
                       version=msg("int.terms.not-sent") if version is None else version)
        if empty.items:
            ctx.failed(f"terms:{name}", msg("int.terms.empty-fields", name=name, empty=empty),
                       expected=msg("int.terms.filled"), observed=observed, evidence=[evidence],
                       action=ActionRef(key="intune.complete-terms", params={"terms": name}))
        else:
            complete = (msg("int.terms.complete.version", name=name, version=version) if version is not None
                        else msg("int.terms.complete", name=name))
            ctx.passed(f"terms:{name}", complete, observed=observed, evidence=[evidence])


def target_text(assignment: Any, of: str) -> Text | str:
    read = f"{TERMS_READ}.assignments[]"
    target = require(assignment, "target", dict, read=read, of=of)
    kind = require(target, "@odata.type", str, read=f"{read}.target", of=of).rsplit(".", 1)[-1]
    if "groupId" in target:
        return msg("int.assign.group", kind=kind, group=require(target, "groupId", str, read=f"{read}.target", of=of))
    return kind


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
        ctx.failed("terms and conditions", msg("int.assign.no-terms"), expected=msg("int.assign.expected.terms"),
                   observed=msg("int.terms.zero"), evidence=[evidence], action=CREATE_TERMS)
        return
    for policy in terms:
        name = terms_name(policy)
        try:
            terms_id = require(policy, "id", str, read=TERMS_READ, of=f"terms '{name}'")
        except Unreadable as exc:
            ctx.errored(f"terms:{name}", error_text(exc), evidence=[evidence], action=graph_unreadable(TERMS_READ))
            continue
        assignments, assignment_evidence = await ctx.graph.get("terms_assignments", ids={"id": terms_id})
        targets, unreadable = [], []
        for assignment in assignments:
            try:
                targets.append(target_text(assignment, f"terms '{name}'"))
            except Unreadable as exc:
                unreadable.append(exc.text)
        if unreadable and not targets:
            ctx.errored(f"terms:{name}", msg("int.problems", problems=joined(distinct(unreadable))),
                        expected=msg("int.assign.expected"), evidence=[assignment_evidence],
                        action=graph_unreadable(f"{TERMS_READ}.assignments[]"))
        elif targets:
            ctx.passed(f"terms:{name}", msg("int.assign.ok", name=name), observed=msg("int.problems", problems=joined(targets)),
                       evidence=[assignment_evidence])
        else:
            ctx.failed(f"terms:{name}", msg("int.assign.nobody", name=name), expected=msg("int.assign.expected"),
                       observed=msg("int.assign.zero"), evidence=[assignment_evidence],
                       action=ActionRef(key="intune.assign-terms", params={"terms": name}))


def policy_name(policy: Any) -> str:
    return label(policy, "displayName", "id")


def requires_terms(policy: Any, agreement_id: str | None) -> bool:
    """Whether the policy's grant controls name the agreement (any agreement for None)."""
    of = f"policy '{policy_name(policy)}'"
    # null grantControls is documented: a policy with session controls only
    controls = require(policy, "grantControls", dict, read=POLICY_READ, of=of, nullable=True)
    if controls is None:
        return False
    terms = require_list(controls, "termsOfUse", str, read=f"{POLICY_READ}.grantControls", of=of)
    return bool(terms) and (agreement_id is None or agreement_id.lower() in {t.lower() for t in terms})


def policy_state(policy: Any) -> str:
    return require(policy, "state", str, read=POLICY_READ, of=f"policy '{policy_name(policy)}'", known=POLICY_STATES)


def enforcing_policies(policies: list[Any], agreement_id: str | None = None) -> tuple[list[Any], list[Text | str]]:
    """The policies that require the agreement, and what Graph did not say about the others."""
    found, unknown = [], []
    for policy in policies:
        try:
            if requires_terms(policy, agreement_id):
                found.append(policy)
        except Unreadable as exc:
            unknown.append(exc.text)
    return found, unknown


def enabled_among(policies: list[Any]) -> tuple[list[Any], list[Text | str]]:
    enabled, unknown = [], []
    for policy in policies:
        try:
            if policy_state(policy) == "enabled":
                enabled.append(policy)
        except Unreadable as exc:
            unknown.append(exc.text)
    return enabled, unknown


def policy_text(policy: Any) -> Text:
    state = policy.get("state") if isinstance(policy, dict) else None
    return msg("int.policy", name=policy_name(policy), state=msg("int.policy.state-not-sent") if state is None else state)


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
    try:
        agreements, agreement_evidence = await ctx.graph.get("agreements", select=["id", "displayName"])
    except GraphNotSupported as exc:
        ctx.skipped("terms-of-use agreements", msg("int.tou.unreadable", error=str(exc)))
        report_policies(ctx, policies, policy_evidence)
        return
    if not agreements:
        ctx.warned("terms-of-use agreements", msg("int.tou.none"), expected=msg("int.tou.none.expected"),
                   observed=msg("int.tou.zero"), evidence=[agreement_evidence],
                   action=ActionRef(key="entra.create-terms-of-use", params={}))
    for agreement in agreements:
        name = label(agreement, "displayName", "id")
        try:
            agreement_id = require(agreement, "id", str, read="identityGovernance/termsOfUse/agreements[]",
                                   of=f"agreement '{name}'")
        except Unreadable as exc:
            ctx.errored(f"agreement:{name}", error_text(exc), evidence=[agreement_evidence],
                        action=graph_unreadable("identityGovernance/termsOfUse/agreements"))
            continue
        enforcing, unknown = enforcing_policies(policies, agreement_id)
        enabled, unknown_state = enabled_among(enforcing)
        unknown += unknown_state
        observed = (msg("int.problems", problems=joined(policy_text(p) for p in enforcing)) if enforcing
                    else msg("int.tou.no-policy"))
        if enabled:
            ctx.passed(f"agreement:{name}", msg("int.tou.enforced", name=name), observed=observed,
                       evidence=[agreement_evidence, policy_evidence])
        elif unknown:
            ctx.errored(f"agreement:{name}", msg("int.tou.untold", name=name, problems=joined(distinct(unknown))),
                        observed=observed, evidence=[agreement_evidence, policy_evidence],
                        action=graph_unreadable(POLICY_READ))
        else:
            ctx.warned(f"agreement:{name}", msg("int.tou.not-enforced", name=name),
                       expected=msg("int.tou.not-enforced.expected"), observed=observed,
                       evidence=[agreement_evidence, policy_evidence],
                       action=ActionRef(key="entra.enforce-terms-of-use", params={"agreement": name}))


def report_policies(ctx, policies: list[Any], evidence) -> None:
    """Without the agreements (app-only sign-in): every policy that requires terms of use."""
    told = 0  # policies that require terms of use, or that Graph did not say enough about
    for policy in policies:
        name = policy_name(policy)
        try:
            if not requires_terms(policy, None):
                continue
            told += 1
            state = policy_state(policy)
        except Unreadable as exc:
            told += 1
            ctx.errored(f"policy:{name}", error_text(exc), evidence=[evidence], action=graph_unreadable(POLICY_READ))
            continue
        if state == "enabled":
            ctx.passed(f"policy:{name}", msg("int.ca.requires", name=name), observed=f"state {state}",
                       evidence=[evidence])
        else:
            ctx.warned(f"policy:{name}", msg("int.ca.requires-but", name=name, state=state),
                       expected="state enabled", observed=f"state {state}", evidence=[evidence],
                       action=ActionRef(key="entra.enable-policy", params={"policy": name}))
    if not told:
        ctx.warned("conditional access", msg("int.ca.none"), expected=msg("int.ca.none.expected"),
                   observed=msg("int.ca.none.observed"), evidence=[evidence],
                   action=ActionRef(key="entra.enforce-terms-of-use", params={"agreement": ""}))


MDM_AUTHORITY_MEANING = {
    "intune": msg("int.mdm.intune"),
    "sccm": msg("int.mdm.sccm"),
    "office365": msg("int.mdm.office365"),
    "unknown": msg("int.mdm.unknown"),
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
    report_subscription(ctx, management, evidence)
    await report_mdm_authority(ctx)


def report_subscription(ctx, management: Any, evidence) -> None:
    try:
        state = require(management, "subscriptionState", str, read="deviceManagement", known=SUBSCRIPTION_STATES)
    except Unreadable as exc:
        ctx.errored("Intune subscription", error_text(exc), expected="subscriptionState = active", evidence=[evidence],
                    action=graph_unreadable("deviceManagement"))
        return
    if state == "active":
        ctx.passed("Intune subscription", msg("int.subscription.active"), expected="subscriptionState = active",
                   observed=f"subscriptionState = {state}", evidence=[evidence])
    else:
        ctx.failed("Intune subscription", msg("int.subscription.state", state=state),
                   expected="subscriptionState = active", observed=f"subscriptionState = {state!r}", evidence=[evidence],
                   action=ACTIVATE_INTUNE)


async def report_mdm_authority(ctx) -> None:
    try:
        org, _ = await organization(ctx)
        org_id = require(org, "id", str, read="organization")
        mdm, mdm_evidence = await ctx.graph.get("mdm_authority", ids={"id": org_id},
                                                select=["id", "mobileDeviceManagementAuthority"])
    except (GraphPermissionError, GraphError, Unreadable) as exc:
        ctx.errored("MDM authority", msg("int.mdm.unreadable", error=error_text(exc)),
                    action=graph_error_action(exc, "organization/{id}") if isinstance(exc, GraphError)
                    else graph_unreadable("organization"))
        return
    try:
        authority = require(mdm, "mobileDeviceManagementAuthority", str, read="organization/{id}",
                            known=MDM_AUTHORITY_MEANING)
    except Unreadable as exc:
        ctx.errored("MDM authority", error_text(exc), expected="mobileDeviceManagementAuthority = intune",
                    evidence=[mdm_evidence], action=graph_unreadable("organization/{id}"))
        return
    meaning = MDM_AUTHORITY_MEANING[authority]
    observed = msg("int.mdm.observed", authority=authority, meaning=meaning)
    if authority == "intune":
        ctx.passed("MDM authority", msg("int.mdm.is-intune"), expected="mobileDeviceManagementAuthority = intune",
                   observed=observed, evidence=[mdm_evidence])
    else:
        ctx.failed("MDM authority", msg("int.mdm.not-intune", meaning=meaning),
                   expected="mobileDeviceManagementAuthority = intune", observed=observed,
                   evidence=[mdm_evidence], action=ACTIVATE_INTUNE)
