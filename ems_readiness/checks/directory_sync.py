"""Directory synchronization: state, recency, provisioning errors, UPN suffixes, sync features."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import msg
from ems_readiness.judges.idfix import upn_suffix_problem_text
from ems_readiness.probes.graph import GraphError

from ems_readiness.checks._actions import remove_duplicates, replace_suffix, verify_domain
from ems_readiness.checks._tenant import (
    Unreadable, age_text, error_text, graph_unreadable, label, minutes_since, organization, require, require_list,
    require_time, shown,
)

SYNC_RESPONSIBILITIES = ["enable.directory-sync", "assess.remediation-checklist"]
PROVISIONING_ERROR_FILTER = "onPremisesProvisioningErrors/any(e:e/category eq 'PropertyConflict')"
MAX_OBJECT_FINDINGS = 2000
# documented values (shared/reference/graph.md §1.4)
CONFLICT_CATEGORIES = ("PropertyConflict",)
CONFLICTING_PROPERTIES = ("UserPrincipalName", "ProxyAddress")
EXAMPLES_PER_SUFFIX = 5
MAX_UNREADABLE_USERS = 50


def org_name(org: Any) -> str:
    name = label(org, "displayName", "id")
    return "tenant" if name == "?" else name


def sync_planned(ctx) -> bool:
    return ctx.profile.identity.model in ("synced", "federated")


@check(
    id="DSY-001",
    title="Directory synchronization state matches the identity model",
    area="directory-sync",
    severity="high",
    responsibilities=[*SYNC_RESPONSIBILITIES, "assess.user-provisioning-outline"],
    topic="directory-sync-readiness",
    application=["Organization.Read.All"],
    delegated=["Organization.Read.All"],
    why="""
        The user provisioning method decided in the assess phase (cloud-only, synchronized or
        federated identities) must match what the tenant does: a synced plan needs directory
        synchronization switched on; a cloud-only plan must not have a forgotten sync running.
    """,
    fix="""
        For synced or federated identities, install and configure Microsoft Entra Connect (or Cloud
        Sync) and run a first synchronization. For cloud-only identities, disable directory
        synchronization (Update-MgOrganization -OnPremisesSyncEnabled:$false) once no object is synced.
    """,
)
async def sync_state(ctx) -> None:
    org, evidence = await organization(ctx)
    model = ctx.profile.identity.model
    resource = org_name(org)
    try:
        # null is documented: never synced
        enabled = require(org, "onPremisesSyncEnabled", bool, read="organization", nullable=True)
    except Unreadable as exc:
        ctx.errored(resource, error_text(exc), evidence=[evidence], action=graph_unreadable("organization"))
        return
    observed = msg({True: "dsy.state.on", False: "dsy.state.off", None: "dsy.state.never"}[enabled])
    if sync_planned(ctx):
        expected = msg("dsy.state.expected.synced", model=model)
        if enabled is True:
            ctx.passed(resource, msg("dsy.state.ok.synced"), expected=expected, observed=observed, evidence=[evidence])
        else:
            ctx.failed(resource, msg("dsy.state.not-on", model=model), expected=expected, observed=observed,
                       evidence=[evidence], action=ActionRef(key="sync.set-up", params={}))
    else:
        expected = msg("dsy.state.expected.cloud")
        if enabled is True:
            ctx.failed(resource, msg("dsy.state.on-but-cloud"), expected=expected, observed=observed,
                       evidence=[evidence], action=ActionRef(key="sync.disable", params={}))
        else:
            ctx.passed(resource, msg("dsy.state.ok.cloud"), expected=expected, observed=observed, evidence=[evidence])


@check(
    id="DSY-002",
    title="Last directory synchronization is recent",
    area="directory-sync",
    severity="high",
    responsibilities=SYNC_RESPONSIBILITIES,
    topic="directory-sync-readiness",
    application=["Organization.Read.All"],
    delegated=["Organization.Read.All"],
    why="""
        A sync server that stopped leaves new hires without accounts, leavers still enabled and
        password changes not reaching the cloud. Entra Connect syncs every 30 minutes by default.
    """,
    fix="""
        On the Entra Connect server check the ADSync service and the Synchronization Service Manager
        for failed runs, fix the cause (credentials of the AD DS connector account, network to the
        endpoints in NET-001), then run Start-ADSyncSyncCycle -PolicyType Delta.
    """,
)
async def sync_recency(ctx) -> None:
    if not sync_planned(ctx):
        ctx.skipped("directory synchronization", msg("dsy.recency.cloud-only"))
        return
    org, evidence = await organization(ctx)
    limit = ctx.profile.identity.max_sync_age_minutes
    try:
        report_last_sync(ctx, last_sync(org), limit, evidence)
    except Unreadable as exc:
        ctx.errored("last directory sync", error_text(exc), expected=msg("dsy.recency.expected", limit=limit),
                    evidence=[evidence], action=graph_unreadable("organization"))
    await password_hash_sync_recency(ctx, limit)


def report_last_sync(ctx, last, limit: int, evidence) -> None:
    expected = msg("dsy.recency.expected", limit=limit)
    action = ActionRef(key="sync.restore", params={})
    if last is None:
        ctx.failed("last directory sync", msg("dsy.recency.never"),
                   expected=expected, observed=msg("dsy.recency.never.observed"), evidence=[evidence], action=action)
    elif minutes_since(last) > limit:
        ctx.failed("last directory sync", msg("dsy.recency.stale", age=age_text(last)), expected=expected,
                   observed=msg("dsy.recency.observed", time=last.isoformat(), age=age_text(last)),
                   evidence=[evidence], action=action)
    else:
        ctx.passed("last directory sync", msg("dsy.recency.recent", age=age_text(last)), expected=expected,
                   observed=msg("dsy.recency.observed", time=last.isoformat(), age=age_text(last)), evidence=[evidence])


def last_sync(org: dict[str, Any]):
    """The last sync time; None when Graph says the tenant never synced (null, and sync not on)."""
    last = require_time(org, "onPremisesLastSyncDateTime", read="organization", nullable=True)
    if last is None and require(org, "onPremisesSyncEnabled", bool, read="organization", nullable=True) is True:
        raise Unreadable(msg("dsy.recency.null-although-on"))
    return last


async def password_hash_sync_recency(ctx, limit: int) -> None:
    resource = "last password hash sync"
    try:
        orgs, evidence = await ctx.graph.get(
            "organization_beta", select=["id", "onPremisesLastPasswordSyncDateTime"])
    except GraphError as exc:
        ctx.skipped(resource, msg("dsy.phs.beta-unreadable", error=str(exc)))
        return
    try:
        if not orgs:
            raise Unreadable(msg("dsy.phs.no-object"))
        # beta-only; null is what a tenant without password hash sync reports
        moment = require_time(orgs[0], "onPremisesLastPasswordSyncDateTime", read="organization (beta)", nullable=True)
    except Unreadable as exc:
        ctx.errored(resource, error_text(exc), evidence=[evidence], action=graph_unreadable("organization (beta)"))
        return
    observed = msg("dsy.recency.observed", time=moment.isoformat(), age=age_text(moment)) if moment else None
    if moment is None:
        ctx.skipped(resource, msg("dsy.phs.none"), observed="onPremisesLastPasswordSyncDateTime = null",
                    evidence=[evidence])
    elif minutes_since(moment) > limit:
        ctx.warned(resource, msg("dsy.phs.stale", age=age_text(moment)),
                   expected=msg("dsy.phs.expected", limit=limit), observed=observed, evidence=[evidence],
                   remediation=msg("dsy.phs.fix"), action=ActionRef(key="sync.restart-phs", params={}))
    else:
        ctx.passed(resource, msg("dsy.phs.recent", age=age_text(moment)), observed=observed, evidence=[evidence])


PROVISIONED_KINDS = (
    ("users", "user", ["id", "userPrincipalName", "displayName", "onPremisesProvisioningErrors"], "userPrincipalName"),
    ("groups", "group", ["id", "displayName", "mail", "onPremisesProvisioningErrors"], "displayName"),
    ("contacts", "contact", ["id", "displayName", "mail", "onPremisesProvisioningErrors"], "mail"),
)


def conflict_remediation(prop: str, value: Any) -> Text:
    """Where to look for the other holder of the value, for the property that conflicts."""
    # tenant text inside a command a person may paste: quoted the PowerShell way, no double quotes
    value = str(value or "")[:256].replace('"', "").replace("`", "").replace("$", "").replace("'", "''")
    if prop.lower() == "userprincipalname":
        find = msg("dsy.conflict.find.upn", cloud=f"Get-MgUser -Filter \"userPrincipalName eq '{value}'\"",
                   onprem=f"Get-ADUser -Filter \"UserPrincipalName -eq '{value}'\"")
    elif prop.lower() == "proxyaddress":
        address = value if ":" in value else f"smtp:{value}"
        find = msg("dsy.conflict.find.proxy", cloud=f"Get-MgUser -Filter \"proxyAddresses/any(p:p eq '{address}')\"",
                   onprem=f"Get-ADObject -Filter \"proxyAddresses -eq '{address}'\"")
    else:
        find = msg("dsy.conflict.find.other", property=prop, value=repr(value))
    return msg("dsy.conflict.fix", find=find)


def object_key(kind: str, obj: Any, label_field: str) -> str:
    """Users and contacts by their unique UPN or mail; groups by name and id (names repeat)."""
    if kind == "group" or label(obj, label_field) == "?":
        return f"{label(obj, 'displayName')} [{label(obj, 'id')}]"
    return label(obj, label_field)


def provisioning_conflicts(obj: Any, kind: str, key: str) -> list[tuple[dict[str, Any], str]]:
    """Each recorded conflict with the property that causes it; Unreadable if any is not told."""
    read, of = f"{kind}s[]", f"{kind} {key}"
    conflicts = []
    for error in require_list(obj, "onPremisesProvisioningErrors", dict, read=read, of=of):
        where = f"{read}.onPremisesProvisioningErrors[]"
        require(error, "category", str, read=where, of=of, known=CONFLICT_CATEGORIES)
        conflicts.append((error, require(error, "propertyCausingError", str, read=where, of=of,
                                         known=CONFLICTING_PROPERTIES)))
    return conflicts


@check(
    id="DSY-003",
    title="No synchronized objects with provisioning errors",
    area="directory-sync",
    severity="high",
    responsibilities=SYNC_RESPONSIBILITIES,
    topic="directory-sync-readiness",
    application=["User.Read.All", "GroupMember.Read.All", "OrgContact.Read.All"],
    delegated=["User.Read.All", "GroupMember.Read.All", "OrgContact.Read.All"],
    why="""
        An object whose proxy address or UPN conflicts with another is not provisioned in the cloud:
        the person cannot sign in, enroll a device or receive protected mail. IdFix finds the
        causes on premises; Entra records the conflicts it met.
    """,
    fix="""
        Find the other object holding the value (Get-MgUser -Filter "proxyAddresses/any(p:p eq 'smtp:…')"),
        remove or change the duplicate in on-premises Active Directory (run IdFix for the whole
        directory), and let the next sync cycle clear the error.
    """,
)
async def provisioning_errors(ctx) -> None:
    total = unreadable = 0
    for read, kind, select, label_field in PROVISIONED_KINDS:
        async for obj in ctx.graph.stream(read, select=select, filter=PROVISIONING_ERROR_FILTER):
            key = object_key(kind, obj, label_field)
            try:
                conflicts = provisioning_conflicts(obj, kind, key)
            except Unreadable as exc:
                unreadable += 1
                if total + unreadable <= MAX_OBJECT_FINDINGS:
                    ctx.errored(f"{kind}:{key}", error_text(exc), action=graph_unreadable(read),
                                evidence=[ctx.evidence_for(read, id=obj.get("id") if isinstance(obj, dict) else None)])
                continue
            for error, prop in conflicts:
                total += 1
                if total + unreadable > MAX_OBJECT_FINDINGS:
                    continue
                name = label(obj, label_field, "displayName", "id")
                # (check, resource) identifies a finding across runs: one per object and conflicting property
                ctx.failed(
                    f"{kind}:{key}:{prop}",
                    msg(f"dsy.conflict.{kind}", name=name, property=prop),
                    expected=msg("dsy.conflict.expected", property=prop),
                    observed=msg("dsy.conflict.observed", category=error["category"], property=prop,
                                 value=error.get("value", "?"), since=error.get("occurredDateTime", "?")),
                    remediation=conflict_remediation(prop, error.get("value")),
                    evidence=[ctx.evidence_for(read, id=obj.get("id"), error=error)],
                    action=remove_duplicates(),
                )
    if total + unreadable > MAX_OBJECT_FINDINGS:
        ctx.failed("directory", msg("dsy.conflict.more", n=total + unreadable - MAX_OBJECT_FINDINGS),
                   observed=msg("dsy.conflict.more.observed", total=total, unreadable=unreadable),
                   action=remove_duplicates())
    if total == 0 and unreadable == 0:
        ctx.passed("directory", msg("dsy.conflict.none"),
                   observed="0 objects with onPremisesProvisioningErrors",
                   evidence=[e for e in (ctx.graph.stream_evidence(r) for r, *_ in PROVISIONED_KINDS) if e])


def suffix_of(upn: Any) -> str | None:
    if not isinstance(upn, str) or "@" not in upn:
        return None
    return upn.rsplit("@", 1)[1].lower().rstrip(".") or None


class SuffixTally:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.examples: dict[str, list[str]] = defaultdict(list)

    def drop(self, suffixes) -> None:
        for suffix in suffixes:
            self.counts.pop(suffix, None)
            self.examples.pop(suffix, None)

    def add(self, suffix: str, example: str) -> None:
        self.counts[suffix] += 1
        if len(self.examples[suffix]) < EXAMPLES_PER_SUFFIX:
            self.examples[suffix].append(example)

    def line(self, suffix: str) -> Text:
        return msg("dsy.upn.examples", n=self.counts[suffix], examples=", ".join(self.examples[suffix]))


@check(
    id="DSY-004",
    title="Every user's UPN suffix is a verified, routable domain",
    area="directory-sync",
    severity="medium",
    responsibilities=[*SYNC_RESPONSIBILITIES, "enable.user-provisioning"],
    topic="directory-sync-readiness",
    application=["User.Read.All", "Organization.Read.All"],
    delegated=["User.Read.All", "Organization.Read.All"],
    why="""
        Users sign in, enroll devices and are found by Intune and Rights Management by their UPN.
        A synced user whose on-premises suffix (corp.local) is not a verified domain lands on
        tenant.onmicrosoft.com, and a UPN on an unverified domain cannot be used at all.
    """,
    fix="""
        Add the routable domain as a UPN suffix in Active Directory Domains and Trusts, change the
        users' UPN to it (IdFix lists them), verify the domain in the tenant, and let sync update them.
    """,
)
async def upn_suffixes(ctx) -> None:
    org, org_evidence = await organization(ctx)
    verified, not_told = verified_domain_names(org)
    on_verified, unverified, fallback, on_prem_suffixes = SuffixTally(), SuffixTally(), SuffixTally(), SuffixTally()
    untold = SuffixTally()  # suffixes Graph did not say enough about to judge
    unreadable_users: list[tuple[str, str]] = []  # (resource, what Graph did not say)
    select = ["id", "userPrincipalName", "onPremisesUserPrincipalName", "onPremisesSyncEnabled"]
    async for user in ctx.graph.stream("users", select=select):
        try:
            upn, suffix, on_prem, on_prem_suffix = user_suffixes(user)
            if suffix not in verified:
                (untold if not_told else unverified).add(suffix, upn)
            elif suffix.endswith(".onmicrosoft.com") and is_synced(user):
                fallback.add(on_prem_suffix or suffix, f"{upn} (on-premises {on_prem})")
            else:
                on_verified.add(suffix, upn)
        except Unreadable as exc:
            unreadable_users.append((f"user:{label(user, 'userPrincipalName', 'id')}", error_text(exc)))
            continue
        if on_prem_suffix:
            on_prem_suffixes.add(on_prem_suffix, on_prem)
    evidence = [org_evidence, ctx.graph.stream_evidence("users")]
    verified_list = ", ".join(sorted(verified))
    # the rule ADP-003 judges the forest's suffixes by, with the lab's declared top-level domains
    lab = ctx.profile.routable_tlds()
    not_routable = {suffix: problem for suffix in sorted(on_prem_suffixes.counts)
                    if (problem := upn_suffix_problem_text(suffix, routable=lab))}
    # one finding per suffix: a suffix that cannot become routable is that finding (its fix, a
    # new suffix, comes before verifying or keeping it), whatever the tenant says of it
    for tally in (unverified, untold, on_verified):
        tally.drop(not_routable)
    for suffix in sorted(unverified.counts):
        ctx.failed(f"suffix:{suffix}", msg("dsy.upn.unverified", n=unverified.counts[suffix], suffix=suffix),
                   expected=msg("dsy.upn.unverified.expected", verified=verified_list), observed=unverified.line(suffix),
                   evidence=evidence, action=verify_domain(suffix))
    for suffix in sorted(untold.counts):
        ctx.errored(f"suffix:{suffix}", msg("dsy.upn.untold", suffix=suffix, problem=not_told or ""),
                    observed=untold.line(suffix), evidence=evidence, action=graph_unreadable("organization"))
    for suffix, problem in not_routable.items():
        ctx.failed(f"suffix:{suffix}", msg("dsy.upn.not-routable", n=on_prem_suffixes.counts[suffix], suffix=suffix,
                                           problem=problem),
                   expected=msg("dsy.upn.not-routable.expected"), observed=on_prem_suffixes.line(suffix),
                   evidence=evidence, action=replace_suffix(suffix))
    for suffix in sorted(fallback.counts):
        ctx.warned(f"fallback:{suffix}", msg("dsy.upn.fallback", n=fallback.counts[suffix]),
                   expected=msg("dsy.upn.fallback.expected"), observed=fallback.line(suffix), evidence=evidence,
                   action=replace_suffix(suffix))
    for suffix in sorted(on_verified.counts):
        ctx.passed(f"suffix:{suffix}", msg("dsy.upn.verified", n=on_verified.counts[suffix], suffix=suffix),
                   observed=on_verified.line(suffix), evidence=evidence)
    report_unreadable_users(ctx, unreadable_users, evidence)
    if not (unverified.counts or not_routable or fallback.counts or on_verified.counts or untold.counts
            or unreadable_users):
        ctx.skipped("users", msg("dsy.upn.no-users"), evidence=evidence)


def verified_domain_names(org: dict[str, Any]) -> tuple[set[str], Text | str | None]:
    """The verified domain names Graph told, and why the list may be incomplete (None when complete)."""
    try:
        domains = require_list(org, "verifiedDomains", dict, read="organization")
    except Unreadable as exc:
        return set(), exc.text
    names, not_told = set(), None
    for domain in domains:
        try:
            names.add(require(domain, "name", str, read="organization.verifiedDomains[]").lower().rstrip("."))
        except Unreadable as exc:
            not_told = exc.text
    return names, not_told


def user_suffixes(user: Any) -> tuple[str, str, str | None, str | None]:
    """UPN and its suffix, on-premises UPN (null for cloud users, as documented) and its suffix."""
    of = f"user {label(user, 'id')}"
    upn = require(user, "userPrincipalName", str, read="users[]", of=of)
    suffix = suffix_of(upn)
    if suffix is None:
        raise Unreadable(msg("graph.not-upn", field="users[].userPrincipalName", value=shown(upn), of=of))
    on_prem = require(user, "onPremisesUserPrincipalName", str, read="users[]", of=of, nullable=True)
    on_prem_suffix = suffix_of(on_prem) if on_prem is not None else None
    if on_prem is not None and on_prem_suffix is None:
        raise Unreadable(msg("graph.not-upn", field="users[].onPremisesUserPrincipalName", value=shown(on_prem), of=of))
    return upn, suffix, on_prem, on_prem_suffix


def is_synced(user: dict[str, Any]) -> bool:
    # null is documented: never synced
    return require(user, "onPremisesSyncEnabled", bool, read="users[]", of=f"user {label(user, 'id')}",
                   nullable=True) is True


def report_unreadable_users(ctx, problems: list[tuple[str, Text | str]], evidence) -> None:
    for resource, problem in problems[:MAX_UNREADABLE_USERS]:
        ctx.errored(resource, problem, evidence=evidence, action=graph_unreadable("users"))
    if len(problems) > MAX_UNREADABLE_USERS:
        ctx.errored("users", msg("dsy.upn.more-unreadable", n=len(problems) - MAX_UNREADABLE_USERS),
                    evidence=evidence, action=graph_unreadable("users"))


SYNC_FEATURES = (
    "passwordSyncEnabled", "passwordWritebackEnabled", "deviceWritebackEnabled", "groupWriteBackEnabled",
    "userWritebackEnabled", "softMatchOnUpnEnabled", "blockSoftMatchEnabled",
    "blockCloudObjectTakeoverThroughHardMatchEnabled", "synchronizeUpnForManagedUsersEnabled",
    "directoryExtensionsEnabled",
)


@check(
    id="DSY-005",
    title="On-premises synchronization features against the plan",
    area="directory-sync",
    severity="low",
    responsibilities=SYNC_RESPONSIBILITIES,
    topic="directory-sync-readiness",
    delegated=["OnPremDirectorySynchronization.Read.All"],
    delegated_only=True,
    why="""
        Password hash sync, writeback and soft/hard-match protection decide how sign-in, self-service
        password reset and object takeover behave. The plan in the profile ([identity] features)
        records what was agreed; this check shows what the tenant has.
    """,
    fix="""
        Change the feature in Entra Connect (Optional features page) or with
        Update-MgDirectoryOnPremiseSynchronization so it matches the agreed plan, or update the plan.
    """,
)
async def sync_features(ctx) -> None:
    items, evidence = await ctx.graph.get("on_premises_sync")
    plan = ctx.profile.identity.features
    if not items:
        for name in SYNC_FEATURES:
            if name in plan:
                ctx.errored(f"feature:{name}", msg("dsy.feature.no-object", name=name),
                            expected=str(plan[name]).lower(), observed=msg("dsy.feature.no-object.observed"),
                            evidence=[evidence], action=graph_unreadable("directory/onPremisesSynchronization"))
        return
    try:
        features = require(items[0], "features", dict, read="directory/onPremisesSynchronization[]")
    except Unreadable as exc:
        ctx.errored("features", error_text(exc), evidence=[evidence],
                    action=graph_unreadable("directory/onPremisesSynchronization"))
        return
    for name in SYNC_FEATURES:
        if name not in plan and name not in features:
            continue  # not planned and not reported: nothing to show
        try:
            value = require(features, name, bool, read="directory/onPremisesSynchronization[].features")
        except Unreadable as exc:
            ctx.errored(f"feature:{name}", error_text(exc), expected=str(plan[name]).lower() if name in plan else None,
                        evidence=[evidence], action=graph_unreadable("directory/onPremisesSynchronization"))
            continue
        if name not in plan:
            ctx.passed(f"feature:{name}", msg("dsy.feature.unplanned", name=name, value=str(value).lower()),
                       observed=str(value).lower(), evidence=[evidence])
        elif value is plan[name]:
            ctx.passed(f"feature:{name}", msg("dsy.feature.as-planned", name=name, value=value),
                       expected=str(plan[name]).lower(), observed=str(value).lower(), evidence=[evidence])
        else:
            ctx.failed(f"feature:{name}", msg("dsy.feature.differs", name=name, value=value, plan=plan[name]),
                       expected=str(plan[name]).lower(), observed=str(value).lower(), evidence=[evidence],
                       action=ActionRef(key="sync.set-feature", params={"feature": name, "value": str(plan[name]).lower()}))
