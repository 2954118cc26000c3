"""On-premises directory preparation: IdFix-grade attribute rules, duplicates, UPN suffixes, the
pre-sync match preview, forest prerequisites, and the client infrastructure registered in AD.

Every check reads the one directory pass in `_directory.assessment(ctx)`. Findings are grouped so
that 5,000 bad objects make a readable report: one finding per rule and attribute with the count
and the first objects; the full list goes to directory-fixes.csv.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any, Iterable

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.check import check

from ems_readiness.checks._directory import DirectoryAssessment, assessment, directory_source, lab_tlds, suffix_problem
from ems_readiness.checks._tenant import organization

DIRECTORY_SYNC = ["enable.directory-sync", "assess.remediation-checklist"]
FIRST_OBJECTS = 5
MAX_OBJECT_FINDINGS = 200
FIXES_FILE = "directory-fixes.csv"
# errors a sync rejects or quarantines; a blank value (IdFix proposes cn) is a warning
WARNING_ERRORS = frozenset({"blank"})
FUNCTIONAL_LEVELS = {0: "Windows 2000", 1: "Windows Server 2003 interim", 2: "Windows Server 2003",
                     3: "Windows Server 2008", 4: "Windows Server 2008 R2", 5: "Windows Server 2012",
                     6: "Windows Server 2012 R2", 7: "Windows Server 2016", 10: "Windows Server 2025"}
MINIMUM_FUNCTIONAL_LEVEL = 2  # Entra Connect: forest and domains at Windows Server 2003 or later
NOT_IN_SCAN = "the on-premises directory is not part of this scan (no [directory] servers or export)"
# built-in Entra role template ids (= role definition ids) → names, for readable takeover findings
ROLE_NAMES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "b0f54661-2d74-4c50-afa3-1ec803f12efe": "Billing Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
}


@lru_cache(maxsize=1)
def sizing() -> dict[str, Any]:
    return data_toml("entra_connect_sizing.toml")


async def directory_or_skip(ctx) -> DirectoryAssessment | None:
    if directory_source(ctx) is None:
        ctx.skipped("directory", f"Not assessed: {NOT_IN_SCAN}")
        return None
    return await assessment(ctx)


def first_objects(issues: Iterable[Any], limit: int = FIRST_OBJECTS) -> str:
    lines = []
    for issue in list(issues)[:limit]:
        line = f"{issue.dn}: {issue.attribute} = {short(issue.value)!r}"
        if issue.update is not None and issue.update != issue.value:
            line += f" → {short(issue.update)!r} ({issue.action})"
        elif issue.action:
            line += f" ({issue.action})"
        if getattr(issue, "other_dn", None):
            line += f"; also held by {issue.other_dn}"
        lines.append(line)
    return "\n".join(lines)


def short(value: Any, limit: int = 120) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def grouped(issues: Iterable[Any]) -> dict[tuple[str, str], list[Any]]:
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for issue in issues:
        groups[(issue.rule, issue.attribute)].append(issue)
    return dict(sorted(groups.items()))


def is_duplicate(issue: Any) -> bool:
    return "duplicate" in issue.error.split(",")


def rule_of(code: str) -> Any:
    from ems_readiness.judges.idfix import RULES

    return RULES.get(code)


def scope_line(a: DirectoryAssessment) -> str:
    kinds = ", ".join(f"{n} {k}s" for k, n in sorted(a.by_kind.items())) or "no objects"
    line = f"{a.seen} objects judged ({kinds}) from {a.description}"
    if a.out_of_scope:
        line += f"; {a.out_of_scope} outside [directory] scope_ous not reported"
    skipped = sum(a.skipped.values())
    if skipped:
        line += f"; {skipped} skipped by IdFix's rules (system and conflict objects)"
    return line


def report_groups(ctx, a: DirectoryAssessment, issues: list[Any], unassessable: set[str]) -> None:
    for (code, attribute), members in grouped(issues).items():
        if attribute.lower() in unassessable:
            continue  # reported as error: the value was not readable from the global catalog
        rule = rule_of(code)
        title = rule.title if rule else code
        source = f" [{rule.source}]" if rule else ""
        errors = {word for issue in members for word in issue.error.split(",")}
        report = ctx.warned if errors <= WARNING_ERRORS else ctx.failed
        fix = rule.fix if rule else ctx.check.fix
        report(f"{code}:{attribute}", f"{len(members)} object(s): {title}{source}",
               expected=f"{attribute} valid for directory synchronization",
               observed=f"{len(members)} object(s); the first:\n{first_objects(members)}",
               remediation=f"{fix} The full list with the proposed values is in {FIXES_FILE}.",
               evidence=a.evidence[:2])


def unassessable_attributes(ctx, a: DirectoryAssessment, codes: Iterable[str]) -> set[str]:
    """Attributes outside the global catalog's partial attribute set: the rules needing them are errors."""
    outside = {name.lower() for name in (a.forest.outside_partial_attribute_set if a.forest else ())}
    if not outside:
        return set()
    reported = set()
    for code in codes:
        rule = rule_of(code)
        if rule and rule.attribute.lower() in outside and rule.attribute.lower() not in reported:
            reported.add(rule.attribute.lower())
            ctx.errored(f"attribute:{rule.attribute}",
                        f"{rule.attribute} is not in the global catalog's partial attribute set: the rules on it"
                        " could not be assessed",
                        expected=f"{rule.attribute} readable", observed="outside the partial attribute set (schema)",
                        remediation="Read a domain controller of each domain (use_gc = false) instead of the global"
                                    " catalog, or export with ldifde on each domain.")
    return reported


def rule_codes(duplicates: bool) -> list[str]:
    from ems_readiness.judges.idfix import RULES

    return [code for code, rule in RULES.items() if ("DUPLICATE" in code.upper()) == duplicates]


@check(
    id="ADP-001",
    title="On-premises attribute values are valid for sync (IdFix rules)",
    area="directory",
    severity="high",
    responsibilities=DIRECTORY_SYNC,
    topic="directory-sync-readiness",
    side="directory",
    why="""
        Entra Connect refuses or rewrites objects whose userPrincipalName, mail, mailNickname,
        proxyAddresses, sAMAccountName, targetAddress or displayName break Microsoft's rules
        (characters, format, length, top-level domain): the user gets no cloud account or an
        unusable sign-in name, and cannot enroll devices or open protected mail.
    """,
    fix="""
        Correct the values in Active Directory before the first sync: work through
        directory-fixes.csv (IdFix's columns: DN, attribute, error, value, update, action), applying
        the proposed update where one is given, for example with Set-ADUser -UserPrincipalName.
        Scan again to confirm.
    """,
)
async def attribute_rules(ctx) -> None:
    await rule_findings(ctx, duplicates=False, clean="No attribute value breaks the IdFix or Microsoft rules")


@check(
    id="ADP-002",
    title="No duplicate UPN, mail or proxy address on premises",
    area="directory",
    severity="high",
    responsibilities=DIRECTORY_SYNC,
    topic="directory-sync-readiness",
    side="directory",
    why="""
        Entra ID requires userPrincipalName and every SMTP proxy address to be unique across users,
        groups and contacts. The later of two objects holding the same value is quarantined by
        duplicate attribute resiliency: it syncs without the value, or not at all. IdFix compares
        within one attribute only; Entra also compares one object's UPN or mail with another's
        smtp: proxy address.
    """,
    fix="""
        For each duplicate decide which object keeps the value and change or remove it on the other
        (directory-fixes.csv lists both holders), for example with Set-ADUser -Remove
        @{proxyAddresses='smtp:…'}. Scan again to confirm.
    """,
)
async def duplicates(ctx) -> None:
    await rule_findings(ctx, duplicates=True, clean="No value is held by two objects, within or across attributes")


async def rule_findings(ctx, *, duplicates: bool, clean: str) -> None:
    """ADP-001 (value rules) and ADP-002 (duplicates): one finding per rule and attribute."""
    a = await directory_or_skip(ctx)
    if a is None:
        return
    a.require_objects()
    if a.scope_filter_unapplied and not duplicates:  # said once, by ADP-001
        ctx.warned("scope_filter", "[directory] scope_filter was not applied by the directory source, so objects"
                   " Entra Connect would not sync may be reported", observed=f"scope_filter = {a.scope_filter_unapplied}",
                   remediation="Have the export made with the filter (ldifde -r \"(&(|(objectCategory=Person)"
                               "(objectCategory=Group))<your filter>)\"), or use scope_ous.")
    unassessable = unassessable_attributes(ctx, a, rule_codes(duplicates=duplicates))
    issues = [i for i in a.issues if is_duplicate(i) == duplicates]
    report_groups(ctx, a, issues, unassessable)
    if not issues:
        ctx.passed("directory", clean, observed=scope_line(a), evidence=a.evidence[:2])


async def verified_domains(ctx) -> tuple[set[str] | None, Any]:
    if ctx.probes.graph is None:
        return None, None
    org, evidence = await organization(ctx)
    return {str(d.get("name", "")).lower() for d in org.get("verifiedDomains") or [] if isinstance(d, dict)}, evidence


@check(
    id="ADP-003",
    title="On-premises UPN suffixes are routable and verified in the tenant",
    area="directory",
    severity="high",
    responsibilities=[*DIRECTORY_SYNC, "enable.user-provisioning"],
    topic="directory-sync-readiness",
    application=["Organization.Read.All"],
    delegated=["Organization.Read.All"],
    side="directory",
    why="""
        A user synced with a UPN on a non-routable suffix (corp.local) or on a domain not verified in
        the tenant lands on tenant.onmicrosoft.com: sign-in, device enrollment and Intune and Rights
        Management policies then use a name the user does not know.
    """,
    fix="""
        Add the routable domain as a UPN suffix (Active Directory Domains and Trusts, or
        Set-ADForest -UPNSuffixes @{Add='contoso.com'}), verify it in the tenant, and change the
        users' UPN to it (Set-ADUser -UserPrincipalName) before the first sync.
    """,
)
async def upn_suffixes(ctx) -> None:
    a = await directory_or_skip(ctx)
    if a is None:
        return
    a.require_objects()
    policy = ctx.profile.directory.upn_suffix_policy
    verified, org_evidence = await verified_domains(ctx)
    evidence = [*a.evidence[:2], org_evidence]
    if policy == "verified" and verified is None:
        ctx.skipped("tenant verification", "UPN suffixes not compared with the tenant's verified domains: the tenant"
                    " side is not part of this scan")
    for suffix, users in sorted(a.upn_suffixes.items()):
        problem = suffix_problem(suffix, lab_tlds(ctx.profile))
        where = f"{users} user(s) have a UPN on {suffix}"
        if problem:
            ctx.failed(f"suffix:{suffix}", f"{where}, which is not routable ({problem})",
                       expected="a routable UPN suffix", observed=where, evidence=evidence)
        elif policy == "verified" and verified is not None and suffix not in verified:
            ctx.failed(f"suffix:{suffix}", f"{where}, which is not a verified domain of the tenant",
                       expected=f"a verified domain: {', '.join(sorted(verified))}", observed=where, evidence=evidence)
        else:
            note = " and verified in the tenant" if verified is not None and suffix in verified else ""
            ctx.passed(f"suffix:{suffix}", f"{where}: routable{note}", observed=where, evidence=evidence)
    forest_suffixes(ctx, a, policy, verified, evidence)
    if not a.upn_suffixes:
        ctx.skipped("users", f"No user with a UPN to examine ({scope_line(a)})", evidence=evidence)


def forest_suffixes(ctx, a: DirectoryAssessment, policy: str, verified: set[str] | None, evidence: list) -> None:
    """Suffixes the forest offers (uPNSuffixes) that no user carries yet: a trap for the next admin."""
    if a.forest is None:
        ctx.errored("forest uPNSuffixes", f"The forest's UPN suffixes could not be read: {a.forest_error}")
        return
    for suffix in sorted({s.lower() for s in a.forest.upn_suffixes} - set(a.upn_suffixes)):
        problem = suffix_problem(suffix, lab_tlds(ctx.profile))
        if problem:
            ctx.warned(f"forest-suffix:{suffix}", f"The forest offers the UPN suffix {suffix}, which is not routable"
                       f" ({problem})", observed="in uPNSuffixes, no user on it yet", evidence=evidence)
        elif policy == "verified" and verified is not None and suffix not in verified:
            ctx.warned(f"forest-suffix:{suffix}", f"The forest offers the UPN suffix {suffix}, which is not a"
                       " verified domain of the tenant", observed="in uPNSuffixes, no user on it yet",
                       evidence=evidence)


@check(
    id="ADP-004",
    title="Pre-sync match preview: no admin takeover, conflict or duplicate",
    area="directory",
    severity="high",
    responsibilities=[*DIRECTORY_SYNC, "enable.user-provisioning"],
    topic="directory-sync-readiness",
    application=["User.Read.All", "RoleManagement.Read.Directory"],
    delegated=["User.Read.All", "RoleManagement.Read.Directory"],
    side="directory",
    why="""
        The first sync joins each on-premises user to a cloud user with the same immutable id (hard
        match) or the same primary SMTP address or UPN (soft match). A match onto an
        administrator is blocked by Entra, a cloud user already anchored elsewhere makes a
        conflict, and a person who already has a cloud-only account under another name gets a
        second account. Each is cheap to fix before the sync and costly after.
    """,
    fix="""
        Admin takeover: keep administrators cloud-only (change the on-premises user's UPN and primary
        SMTP address, or leave it out of the sync scope), or remove the role before the first sync
        and assign it again after the match. Conflict: find which immutable id is right
        (Get-MgUser -UserId … -Property onPremisesImmutableId) and clear or correct it. Duplicate:
        align the on-premises UPN or primary SMTP address with the cloud account so it soft-matches.
    """,
)
async def match_preview(ctx) -> None:
    from ems_readiness.judges.match_preview import CLOUD_USER_FIELDS, cloud_user, preview

    a = await directory_or_skip(ctx)
    if a is None:
        return
    if ctx.probes.graph is None:
        ctx.skipped("match preview", "Not assessed: the preview joins the directory with the tenant's users, and the"
                    " tenant side is not part of this scan")
        return
    a.require_objects()
    roles = await role_holders(ctx)
    cloud = [u for u in [cloud_user(obj, roles) async for obj in ctx.graph.stream("users", select=CLOUD_USER_FIELDS)]
             if u is not None]
    evidence = [*a.evidence[:2], ctx.graph.stream_evidence("users"), ctx.graph.stream_evidence("role_assignments")]
    outcomes = preview(a.users, cloud)
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
    for kind, status, text in (("admin-takeover", ctx.failed, "would soft-match {cloud}, who holds {roles}: Entra"
                                " blocks a soft match onto an administrator, so the sync fails for this user"),
                               ("conflict", ctx.failed, "has the same {via} as {cloud}, which is already anchored to"
                                " another immutable id: it will be quarantined as a duplicate"),
                               ("hard", ctx.warned, "would hard-match and take over the cloud-managed {cloud}"
                                " (its onPremisesImmutableId is this user's anchor)")):
        for outcome in by_kind.get(kind, [])[:MAX_OBJECT_FINDINGS]:
            c = outcome.cloud
            status(f"{kind}:{c.upn or c.id}", f"On-premises {outcome.on_prem.dn} " + text.format(
                       cloud=c.upn or c.id, roles=", ".join(c.roles), via=outcome.via),
                   expected="a clean match or a new account",
                   observed=f"{outcome.on_prem.upn} ({outcome.via}) → cloud {c.upn} [{c.id}]"
                            f"{', roles ' + ', '.join(c.roles) if c.roles else ''}"
                            f"{', immutable id ' + c.immutable_id if c.immutable_id else ''}"
                            f"{anchor_text(outcome.on_prem)}",
                   evidence=evidence)
        if len(by_kind.get(kind, [])) > MAX_OBJECT_FINDINGS:
            status(f"{kind}:more", f"{len(by_kind[kind]) - MAX_OBJECT_FINDINGS} more not listed one by one")
    duplicates_found = by_kind.get("duplicate", [])
    if duplicates_found:
        ctx.warned("duplicate", f"{len(duplicates_found)} on-premises user(s) would get a second cloud account beside"
                   " a cloud-only account of the same person", observed=outcome_lines(duplicates_found),
                   evidence=evidence)
    for kind, message in (("soft", "will soft-match their cloud account"),
                          ("already-synced", "are already joined to their cloud account"),
                          ("new", "will be created as new cloud accounts")):
        found = by_kind.get(kind, [])
        if found:
            ctx.passed(kind, f"{len(found)} on-premises user(s) {message}", observed=outcome_lines(found),
                       evidence=evidence)
    if not outcomes:
        ctx.skipped("users", f"No on-premises user to match ({scope_line(a)})")


def anchor_text(user: Any) -> str:
    from ems_readiness.judges.match_preview import immutable_id_of

    anchor = immutable_id_of(user.anchor) if user.anchor else None
    return f"; on-premises anchor {anchor} ({user.anchor_source})" if anchor else ""


def outcome_lines(outcomes: list[Any], limit: int = 10) -> str:
    lines = [f"{o.on_prem.dn} ({o.on_prem.upn})" + (f" → {o.cloud.upn} by {o.via}" if o.cloud else "")
             for o in outcomes[:limit]]
    more = f"\n… and {len(outcomes) - limit} more" if len(outcomes) > limit else ""
    return "\n".join(lines) + more


async def role_holders(ctx) -> dict[str, tuple[str, ...]]:
    holders: dict[str, list[str]] = defaultdict(list)
    async for assignment in ctx.graph.stream("role_assignments", select=["id", "principalId", "roleDefinitionId"]):
        role = str(assignment.get("roleDefinitionId") or "")
        name = ROLE_NAMES.get(role.lower(), f"directory role {role}")
        holders[str(assignment.get("principalId"))].append(name)
    return {principal: tuple(sorted(set(names))) for principal, names in holders.items()}


@check(
    id="ADP-005",
    title="Forest meets Entra Connect's prerequisites and sizing",
    area="directory",
    severity="high",
    responsibilities=["enable.directory-sync", "assess.remediation-checklist"],
    topic="infrastructure",
    side="directory",
    why="""
        Entra Connect needs forest and domain functional level Windows Server 2003 or later, a
        writable domain controller, and NetBIOS names without dots; the AD Recycle Bin protects
        synced objects from accidental deletion. Its database and server must be sized for the
        number of objects, and very large groups exceed the sync endpoint's limit.
    """,
    fix="""
        Raise the functional levels (Set-ADForestMode, Set-ADDomainMode), make a writable domain
        controller reachable from the sync server, enable the Recycle Bin (Enable-ADOptionalFeature
        'Recycle Bin Feature'), and size the Entra Connect server and SQL Server for the object count
        shown (beyond 100,000 objects use a full SQL Server instead of LocalDB).
    """,
)
async def forest_prerequisites(ctx) -> None:
    a = await directory_or_skip(ctx)
    if a is None:
        return
    forest_checks(ctx, a)
    if a.objects_error:
        ctx.errored("object count", f"Objects not counted: the directory read did not complete: {a.objects_error}")
    else:
        object_counts(ctx, a)
        group_sizes(ctx, a)


def level_name(level: int) -> str:
    return f"{FUNCTIONAL_LEVELS.get(level, 'level')} ({level})"


def forest_checks(ctx, a: DirectoryAssessment) -> None:
    forest = a.forest
    if forest is None:
        ctx.errored("forest", f"The forest configuration could not be read: {a.forest_error}",
                    evidence=a.evidence[:2])
        return
    expected = f"{level_name(MINIMUM_FUNCTIONAL_LEVEL)} or later"
    levels = [(f"forest:{forest.root_domain}", "forest", forest.forest_functional_level)]
    levels += [(f"domain:{d.dns_name}", f"domain {d.dns_name}", d.functional_level) for d in forest.domains]
    for resource, what, level in levels:
        if level is None:
            ctx.errored(resource, f"The {what} functional level was not read", expected=expected)
        elif level < MINIMUM_FUNCTIONAL_LEVEL:
            ctx.failed(resource, f"The {what} functional level is {level_name(level)}", expected=expected,
                       observed=level_name(level))
        else:
            ctx.passed(resource, f"The {what} functional level is {level_name(level)}", expected=expected,
                       observed=level_name(level))
    for domain in forest.domains:
        if domain.netbios_name and "." in domain.netbios_name:
            ctx.failed(f"netbios:{domain.netbios_name}", f"The NetBIOS name {domain.netbios_name} of {domain.dns_name}"
                       " contains a dot, which Entra Connect does not support", expected="a NetBIOS name without dots",
                       observed=domain.netbios_name)
    fact(ctx, "writable-dc", forest.writable_dc_present, ctx.failed, "A writable domain controller is present",
         "No writable domain controller was found (Entra Connect does not support read-only DCs)")
    fact(ctx, "recycle-bin", forest.recycle_bin_enabled, ctx.warned, "The AD Recycle Bin is enabled",
         "The AD Recycle Bin is not enabled: a deleted synced object cannot be restored with its cloud data")


def fact(ctx, resource: str, value: bool | None, report, good: str, bad: str) -> None:
    if value is None:
        ctx.errored(resource, f"Not read: {good.lower()}?")
    elif value:
        ctx.passed(resource, good)
    else:
        report(resource, bad)


def object_counts(ctx, a: DirectoryAssessment) -> None:
    limits = sizing()
    counts = {kind: a.by_kind.get(kind, 0) for kind in ("user", "group", "contact")}
    if a.computers is not None:
        counts["computer"] = a.computers
    total = sum(counts.values())
    observed = f"{total} objects in scope ({', '.join(f'{n} {k}s' for k, n in counts.items())})"
    if a.computers is None:
        observed += f"; computers not counted: {a.computers_error}"
    if a.out_of_scope:
        observed += f"; {a.out_of_scope} outside [directory] scope_ous not counted"
    band = next(h for h in limits["hardware"] if "up_to" not in h or total < h["up_to"])
    server = f"Entra Connect server: {band['memory']} memory, {band['disk']} disk"
    if total > limits["localdb_max_objects"]:
        ctx.warned("object count", f"{total} objects exceed what SQL Server Express LocalDB holds"
                   f" (about {limits['localdb_max_objects']}): Entra Connect needs a full SQL Server",
                   expected=f"up to {limits['localdb_max_objects']} objects for LocalDB ({limits['source']})",
                   observed=observed,
                   remediation=f"Install Entra Connect with an existing full SQL Server (custom installation). {server}.")
    else:
        ctx.passed("object count", f"{total} objects: the default LocalDB suffices. {server}", observed=observed,
                   expected=f"sized per {limits['source']}")
    if total > limits["tenant_support_case_above"]:
        ctx.warned("tenant quota", f"{total} objects exceed the tenant's {limits['tenant_support_case_above']}-object"
                   " quota: open a support case to raise it before syncing", observed=observed)
    elif total > limits["tenant_default_quota"]:
        ctx.warned("tenant quota", f"{total} objects exceed the default quota of {limits['tenant_default_quota']}:"
                   f" verify a domain first (quota {limits['tenant_verified_domain_quota']})", observed=observed)


def group_sizes(ctx, a: DirectoryAssessment) -> None:
    limits = sizing()
    if not a.member_counts_read:
        ctx.skipped("group sizes", "Group sizes not assessed: the source sent no member attribute")
        return
    for dn, members in a.large_groups[:MAX_OBJECT_FINDINGS]:
        if members > limits["group_members_v2"]:
            ctx.failed(f"group:{dn}", f"The group has {members} members, over the {limits['group_members_v2']}"
                       " that Entra Connect syncs", observed=f"{members} members")
        elif members > limits["group_members_v1"]:
            ctx.warned(f"group:{dn}", f"The group has {members} members: only Entra Connect 2.0 or later (V2"
                       f" endpoint) syncs groups over {limits['group_members_v1']}", observed=f"{members} members")
    if not a.large_groups:
        ctx.passed("group sizes", f"No group has more than {limits['group_members_v1']} members")


@check(
    id="DEV-001",
    title="Hybrid join service connection point names this tenant",
    area="directory",
    severity="medium",
    responsibilities=["enable.client-infrastructure", "assess.remediation-checklist"],
    topic="infrastructure",
    application=["Organization.Read.All"],
    delegated=["Organization.Read.All"],
    side="directory",
    why="""
        Domain-joined Windows devices find the tenant for Microsoft Entra hybrid join in the
        service connection point (CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration
        Configuration,CN=Services in the configuration partition). Without it devices do not
        hybrid-join, and Conditional Access and Intune co-management cannot rely on them; an SCP
        naming another tenant sends them there.
    """,
    fix="""
        Configure device options in Entra Connect (Configure device options > Configure Hybrid
        Microsoft Entra join), which writes the SCP with keywords azureADName:<verified domain> and
        azureADId:<tenant id>; or correct the keywords of the existing SCP to this tenant.
    """,
)
async def hybrid_join_scp(ctx) -> None:
    a = await directory_or_skip(ctx)
    if a is None:
        return
    forest = a.require_forest()
    keywords = forest.hybrid_join_scp
    if keywords is None:
        if ctx.profile.identity.model == "cloud-only":
            ctx.skipped("hybrid join SCP", "No SCP, and the identity model is cloud-only: hybrid join does not apply")
        else:
            ctx.warned("hybrid join SCP", "No hybrid join service connection point: domain-joined devices will not"
                       " hybrid-join", expected="SCP with azureADName: and azureADId: keywords", observed="absent")
        return
    values = {k.split(":", 1)[0].lower(): k.split(":", 1)[1].strip() for k in keywords if ":" in k}
    tenant_id, name = values.get("azureadid"), values.get("azureadname")
    observed = ", ".join(keywords) or "no keywords"
    if not tenant_id or not name:
        ctx.failed("hybrid join SCP", "The SCP lacks its azureADId: or azureADName: keyword",
                   expected="azureADName:<domain>, azureADId:<tenant id>", observed=observed)
        return
    if ctx.probes.graph is None:
        ctx.passed("hybrid join SCP", f"The SCP names tenant {tenant_id} ({name}); not compared with the tenant:"
                   " the tenant side is not part of this scan", observed=observed)
        return
    org, evidence = await organization(ctx)
    verified = {str(d.get("name", "")).lower() for d in org.get("verifiedDomains") or [] if isinstance(d, dict)}
    expected = f"azureADId:{org.get('id')}, azureADName: one of {', '.join(sorted(verified))}"
    if tenant_id.lower() != str(org.get("id", "")).lower():
        ctx.failed("hybrid join SCP", f"The SCP sends devices to tenant {tenant_id}, not this tenant",
                   expected=expected, observed=observed, evidence=[evidence])
    elif name.lower() not in verified:
        ctx.failed("hybrid join SCP", f"The SCP names {name}, which is not a verified domain of this tenant",
                   expected=expected, observed=observed, evidence=[evidence])
    else:
        ctx.passed("hybrid join SCP", f"The SCP names this tenant ({name})", expected=expected, observed=observed,
                   evidence=[evidence])


@check(
    id="RMS-001",
    title="AD RMS cluster registered in the forest (migration to plan)",
    area="directory",
    severity="low",
    responsibilities=["enable.client-infrastructure", "assess.migration-support-plan"],
    side="directory",
    why="""
        An AD RMS cluster registered in Active Directory (its service connection point) means
        documents and mail are already protected on premises: moving to Azure Rights Management
        needs a planned migration of the keys and the clients, or that content stays unreadable.
    """,
    fix="""
        Plan the migration from AD RMS to Azure Information Protection's Rights Management service
        (export the trusted publishing domain, import it to the tenant, redirect the clients), and
        remove the SCP once the clients use the cloud service.
    """,
)
async def rms_scp(ctx) -> None:
    a = await directory_or_skip(ctx)
    if a is None:
        return
    forest = a.require_forest()
    if forest.rms_scp is None:
        ctx.passed("AD RMS SCP", "No AD RMS cluster is registered in the forest", observed="no SCP")
    else:
        ctx.warned("AD RMS SCP", "An AD RMS cluster is registered: plan its migration to Azure Rights Management",
                   observed=", ".join(forest.rms_scp) or "SCP without serviceBindingInformation")
