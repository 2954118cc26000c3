"""Licence assignment: group-based licensing errors and licensed users without a usage location.

Streamed: only the groups Graph flags (`hasMembersWithLicenseErrors eq true`, a default query —
Graph answers it 400 with `ConsistencyLevel: eventual`), each one's members with errors, and the
users with a licence and no usage location (an advanced query). A tenant of any size costs a few
requests, never a walk over every user.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import distinct, joined, msg

from ems_readiness.checks._tenant import Unreadable, error_text, graph_unreadable, label, require, require_list
from ems_readiness.checks.licensing import SKU_FIELDS, capabilities, plans_in, sku_name

LICENCE_ERROR_FILTER = "hasMembersWithLicenseErrors eq true"
NO_USAGE_LOCATION_FILTER = "usageLocation eq null and assignedLicenses/$count ne 0"
STATES_READ = "groups/{id}/membersWithLicenseErrors[].licenseAssignmentStates[]"
# documented values (Graph: licenseAssignmentState)
ASSIGNMENT_STATES = ("Active", "ActiveWithError", "Disabled", "Error")
EXAMPLES = 5
MAX_GROUPS = 200
# what each error means and how it is fixed (Entra: "Identify and resolve license assignment problems")
ERROR_FIXES = {
    "CountViolation": "Not enough licences: buy more of the SKU or remove users who no longer need it, then"
                      " reprocess the group (Entra admin center > Groups > the group > Licenses > Reprocess).",
    "MutuallyExclusiveViolation": "The user holds a licence that cannot coexist with this one: remove the"
                                  " conflicting licence (often a direct assignment), then reprocess.",
    "DependencyViolation": "A service plan this one depends on is disabled or missing: enable it in the same"
                           " or another licence, then reprocess.",
    "ProhibitedInUsageLocationViolation": "The service is not offered in the user's usage location: set the"
                                          " right usageLocation on the user (Update-MgUser -UsageLocation), then"
                                          " reprocess.",
    "UniquenessViolation": "A proxy address of the user conflicts with another object: remove the duplicate"
                           " address, then reprocess.",
}
KNOWN_ERRORS = (*ERROR_FIXES, "Other", "None")


class ErrorTally:
    """Members with one error in one group: the count and the first few."""

    def __init__(self) -> None:
        self.count = 0
        self.examples: list[str] = []
        self.skus: set[str] = set()

    def add(self, user: str, sku: str) -> None:
        self.count += 1
        self.skus.add(sku)
        if len(self.examples) < EXAMPLES:
            self.examples.append(user)

    def text(self) -> Text:
        return msg("lic2.tally", n=self.count, examples=", ".join(self.examples), skus=", ".join(sorted(self.skus)))


def failed_states(user: Any, group_id: str, who: str) -> list[tuple[str, str]]:
    """(skuId, error) of each assignment from this group that is in error; Unreadable if Graph did not say."""
    found = []
    for state in require_list(user, "licenseAssignmentStates", dict, read="membersWithLicenseErrors[]", of=who):
        if str(state.get("assignedByGroup") or "").lower() != group_id.lower():
            continue  # a direct assignment or another group's: that group reports it
        status = require(state, "state", str, read=STATES_READ, of=who, known=ASSIGNMENT_STATES)
        if status not in ("Error", "ActiveWithError"):
            continue
        error = require(state, "error", str, read=STATES_READ, of=who, known=KNOWN_ERRORS)
        found.append((require(state, "skuId", str, read=STATES_READ, of=who), error))
    return found


async def sku_names(ctx) -> tuple[dict[str, str], set[str]]:
    """skuId → part number, and the skuIds that carry an EMS plan (licensing's catalogue)."""
    skus, _ = await ctx.graph.get("subscribed_skus", select=SKU_FIELDS)
    names, ems = {}, set()
    for sku in skus:
        sku_id = str(sku.get("skuId", "")).lower() if isinstance(sku, dict) else ""
        names[sku_id] = sku_name(sku)
        try:
            if any(plans_in(sku, c["plans"]) for c in capabilities()):
                ems.add(sku_id)
        except Unreadable:
            ems.add(sku_id)  # cannot tell: treat it as EMS so its errors are not played down
    return names, ems


@check(
    id="LIC-002",
    title="No licence assignment errors; licensed users have a usage location",
    area="licensing",
    severity="high",
    responsibilities=["enable.user-provisioning", "enable.services", "assess.remediation-checklist"],
    topic="management",
    application=["GroupMember.Read.All", "User.Read.All", "Organization.Read.All"],
    delegated=["GroupMember.Read.All", "User.Read.All", "Organization.Read.All"],
    why="""
        Group-based licensing is how pilot and production users get Entra ID P1/P2, Intune and Rights
        Management. When an assignment fails (no free licences, conflicting or missing plans, a usage
        location where the service is not offered) the user silently has no Intune licence and cannot
        enroll a device. A licence also cannot be assigned to a user without a usage location.
    """,
    fix="""
        In the Entra admin center open Groups > the group > Licenses, fix the cause each error names
        (free licences for CountViolation, the conflicting licence for MutuallyExclusiveViolation, the
        missing plan for DependencyViolation, the user's usage location for
        ProhibitedInUsageLocationViolation) and select Reprocess. Set usageLocation on every licensed
        user (Update-MgUser -UserId <id> -UsageLocation <country>).
    """,
)
async def licence_assignment_errors(ctx) -> None:
    names, ems = await sku_names(ctx)
    groups_evidence_filter = LICENCE_ERROR_FILTER
    problems = 0
    groups = 0
    async for group in ctx.graph.stream("groups", select=["id", "displayName"], filter=LICENCE_ERROR_FILTER):
        groups += 1
        if groups > MAX_GROUPS:
            continue
        problems += await report_group(ctx, group, names, ems)
    evidence = ctx.graph.stream_evidence("groups", filter=groups_evidence_filter)
    if groups > MAX_GROUPS:
        problems += 1
        ctx.failed("groups", msg("lic2.more-groups", n=groups - MAX_GROUPS),
                   observed=msg("lic2.more-groups.observed", n=groups), evidence=[evidence],
                   action=ActionRef(key="licensing.fix-group-assignment", params={"group": "more", "error": "more"}))
    problems += await report_missing_usage_location(ctx)
    if not problems:
        ctx.passed("licence assignment", msg("lic2.clean"), observed=msg("lic2.clean.observed"),
                   evidence=[evidence, ctx.graph.stream_evidence("users", filter=NO_USAGE_LOCATION_FILTER)])


async def report_group(ctx, group: Any, names: dict[str, str], ems: set[str]) -> int:
    """One finding per error kind in the group; the number of findings."""
    name = label(group, "displayName", "id")
    try:
        group_id = require(group, "id", str, read="groups[]", of=f"group {name}")
    except Unreadable as exc:
        ctx.errored(f"licence-group:{name}", error_text(exc), action=graph_unreadable("groups"))
        return 1
    tallies: dict[tuple[str, bool], ErrorTally] = defaultdict(ErrorTally)
    unreadable: list[Text | str] = []
    async for user in ctx.graph.stream("group_licence_errors", ids={"id": group_id},
                                       select=["id", "userPrincipalName", "licenseAssignmentStates"]):
        who = label(user, "userPrincipalName", "id")
        try:
            for sku_id, error in failed_states(user, group_id, f"user {who}"):
                tallies[(error, sku_id.lower() in ems)].add(who, names.get(sku_id.lower(), sku_id))
        except Unreadable as exc:
            unreadable.append(error_text(exc))
    evidence = ctx.graph.stream_evidence("group_licence_errors", ids={"id": group_id})
    for (error, is_ems), tally in sorted(tallies.items()):
        resource = f"licence-group:{name}:{error}"
        message = msg("lic2.group" if is_ems else "lic2.group.not-ems", name=name, n=tally.count, error=error)
        remediation = msg(f"lic2.fix.{error}") if error in ERROR_FIXES else msg("lic2.fix.other")
        report = ctx.failed if is_ems else ctx.warned
        report(resource, message, expected=msg("lic2.expected"),
               observed=tally.text(), remediation=remediation, evidence=[evidence],
               action=ActionRef(key="licensing.fix-group-assignment", params={"group": name, "error": error}))
    if unreadable:
        ctx.errored(f"licence-group:{name}", msg("text.joined", items=joined(distinct(unreadable))),
                    evidence=[evidence], action=graph_unreadable("groups/{id}/membersWithLicenseErrors"))
    if not tallies and not unreadable:
        # flagged but no member in error now: the flag lags the reprocessing
        ctx.warned(f"licence-group:{name}", msg("lic2.flag-lags", name=name), observed=msg("lic2.flag-lags.observed"),
                   evidence=[evidence],
                   action=ActionRef(key="licensing.fix-group-assignment", params={"group": name, "error": "reprocess"}))
    return len(tallies) + bool(unreadable) + (not tallies and not unreadable)


async def report_missing_usage_location(ctx) -> int:
    count, examples = 0, []
    async for user in ctx.graph.stream("users", select=["id", "userPrincipalName"], filter=NO_USAGE_LOCATION_FILTER,
                                       advanced=True):
        count += 1
        if len(examples) < EXAMPLES:
            examples.append(label(user, "userPrincipalName", "id"))
    if not count:
        return 0
    ctx.failed("usage location", msg("lic2.no-location", n=count), expected=msg("lic2.no-location.expected"),
               observed=msg("lic2.examples", n=count, examples=", ".join(examples)),
               remediation=msg("lic2.no-location.fix"),
               evidence=[ctx.graph.stream_evidence("users", filter=NO_USAGE_LOCATION_FILTER)],
               action=ActionRef(key="licensing.set-usage-location"))
    return 1
