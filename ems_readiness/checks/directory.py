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
from ems_readiness.engine.model import ActionRef, Text, TextList
from ems_readiness.engine.texts import catalogue, joined, msg
from ems_readiness.judges.idfix import upn_suffix_problem_text

from ems_readiness.checks._actions import remove_duplicates, replace_suffix, verify_domain
from ems_readiness.checks._directory import DirectoryAssessment, assessment, directory_source
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
# how the match preview joined two accounts (judges/match_preview.py `via`), as texts
VIA = {"immutable id": "immutable-id", "UPN": "upn", "primary SMTP": "primary-smtp", "alias": "alias",
       "display name": "display-name"}
KINDS = ("user", "group", "contact", "computer")
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
        ctx.skipped("directory", msg("adp.not-in-scan"))
        return None
    return await assessment(ctx)


def first_objects(issues: Iterable[Any], limit: int = FIRST_OBJECTS) -> TextList:
    lines: list[Text | str] = []
    for issue in list(issues)[:limit]:
        line = f"{issue.dn}: {issue.attribute} = {short(issue.value)!r}"
        if issue.update is not None and issue.update != issue.value:
            line += f" → {short(issue.update)!r} ({issue.action})"
        elif issue.action:
            line += f" ({issue.action})"
        other = getattr(issue, "other_dn", None)
        lines.append(msg("adp.line.also-held", line=line, other=other) if other else line)
    return joined(lines, "newline")


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


def rule_text(code: str, part: str, english: str) -> Text | str:
    """A rule's title or fix as its message (rule.<code>.<part>), else the English it has."""
    id = f"rule.{code}.{part}"
    return msg(id) if id in catalogue("en") else english


def kinds_text(counts: dict[str, int]) -> Text | TextList:
    kinds = [msg(f"adp.kind.{k}", n=n) if k in KINDS else f"{n} {k}s" for k, n in counts.items()]
    return joined(kinds, "comma") if kinds else msg("adp.no-objects")


def scope_line(a: DirectoryAssessment) -> TextList:
    parts: list[Text] = [msg("adp.scope", seen=a.seen, kinds=kinds_text(dict(sorted(a.by_kind.items()))),
                             source=a.description)]
    if a.out_of_scope:
        parts.append(msg("adp.scope.out", n=a.out_of_scope))
    skipped = sum(a.skipped.values())
    if skipped:
        parts.append(msg("adp.scope.skipped", n=skipped))
    return joined(parts, "none")


def report_groups(ctx, a: DirectoryAssessment, issues: list[Any], unassessable: set[str]) -> None:
    for (code, attribute), members in grouped(issues).items():
        if attribute.lower() in unassessable:
            continue  # reported as error: the value was not readable from the global catalog
        rule = rule_of(code)
        title = rule_text(code, "title", rule.title) if rule else code
        source = f" [{rule.source}]" if rule else ""
        errors = {word for issue in members for word in issue.error.split(",")}
        report = ctx.warned if errors <= WARNING_ERRORS else ctx.failed
        fix = rule_text(code, "fix", rule.fix) if rule else ctx.check.fix
        duplicate = any(is_duplicate(issue) for issue in members)
        report(f"{code}:{attribute}", msg("adp.rule", n=len(members), title=title, source=source),
               expected=msg("adp.rule.expected", attribute=attribute),
               observed=msg("adp.rule.observed", n=len(members), first=first_objects(members)),
               remediation=msg("adp.rule.fix", fix=fix, file=FIXES_FILE),
               evidence=a.evidence[:2],
               action=remove_duplicates() if duplicate else CORRECT_VALUES)


# every value rule is fixed the same way: work through directory-fixes.csv
CORRECT_VALUES = ActionRef(key="ad.correct-values", params={})


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
            ctx.errored(f"attribute:{rule.attribute}", msg("adp.gc.outside", attribute=rule.attribute),
                        expected=msg("adp.gc.expected", attribute=rule.attribute), observed=msg("adp.gc.observed"),
                        remediation=msg("adp.gc.fix"),
                        action=ActionRef(key="directory.read-each-domain", params={}))
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
    await rule_findings(ctx, duplicates=False, clean=msg("adp.clean.rules"))


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
    await rule_findings(ctx, duplicates=True, clean=msg("adp.clean.duplicates"))


async def rule_findings(ctx, *, duplicates: bool, clean: Text) -> None:
    """ADP-001 (value rules) and ADP-002 (duplicates): one finding per rule and attribute."""
    a = await directory_or_skip(ctx)
    if a is None:
        return
    a.require_objects()
    if a.scope_filter_unapplied and not duplicates:  # said once, by ADP-001
        ctx.warned("scope_filter", msg("adp.scope-filter"), observed=f"scope_filter = {a.scope_filter_unapplied}",
                   remediation=msg("adp.scope-filter.fix"),
                   action=ActionRef(key="directory.apply-scope-filter", params={}))
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
        ctx.skipped("tenant verification", msg("adp.suffix.no-tenant"))
    for suffix, users in sorted(a.upn_suffixes.items()):
        problem = upn_suffix_problem_text(suffix, routable=ctx.profile.routable_tlds())
        where = msg("adp.suffix.where", n=users, suffix=suffix)
        if problem:
            ctx.failed(f"suffix:{suffix}", msg("adp.suffix.not-routable", n=users, suffix=suffix, problem=problem),
                       expected=msg("adp.suffix.routable"), observed=where, evidence=evidence,
                       action=replace_suffix(suffix))
        elif policy == "verified" and verified is not None and suffix not in verified:
            ctx.failed(f"suffix:{suffix}", msg("adp.suffix.unverified", n=users, suffix=suffix),
                       expected=msg("adp.suffix.verified-list", domains=", ".join(sorted(verified))), observed=where,
                       evidence=evidence, action=verify_domain(suffix))
        else:
            verified_too = verified is not None and suffix in verified
            ctx.passed(f"suffix:{suffix}", msg("adp.suffix.ok.verified" if verified_too else "adp.suffix.ok",
                                               n=users, suffix=suffix), observed=where, evidence=evidence)
    forest_suffixes(ctx, a, policy, verified, evidence)
    if not a.upn_suffixes:
        ctx.skipped("users", msg("adp.suffix.no-users", scope=scope_line(a)), evidence=evidence)


def forest_suffixes(ctx, a: DirectoryAssessment, policy: str, verified: set[str] | None, evidence: list) -> None:
    """Suffixes the forest offers (uPNSuffixes) that no user carries yet: a trap for the next admin."""
    if a.forest is None:
        ctx.errored("forest uPNSuffixes", msg("adp.forest-suffix.unread", error=a.forest_error or ""),
                    action=ActionRef(key="directory.read-forest", params={}))
        return
    for suffix in sorted({s.lower() for s in a.forest.upn_suffixes} - set(a.upn_suffixes)):
        problem = upn_suffix_problem_text(suffix, routable=ctx.profile.routable_tlds())
        review = ActionRef(key="ad.review-upn-suffix", params={"suffix": suffix})
        if problem:
            ctx.warned(f"forest-suffix:{suffix}", msg("adp.forest-suffix.not-routable", suffix=suffix, problem=problem),
                       observed=msg("adp.forest-suffix.observed"), evidence=evidence, action=review)
        elif policy == "verified" and verified is not None and suffix not in verified:
            ctx.warned(f"forest-suffix:{suffix}", msg("adp.forest-suffix.unverified", suffix=suffix),
                       observed=msg("adp.forest-suffix.observed"), evidence=evidence, action=review)


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
        ctx.skipped("match preview", msg("adp.match.no-tenant"))
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
    for kind, status, action_key in (("admin-takeover", ctx.failed, "sync.protect-admin"),
                                     ("conflict", ctx.failed, "sync.correct-immutable-id"),
                                     ("hard", ctx.warned, "sync.review-hard-match")):
        for outcome in by_kind.get(kind, [])[:MAX_OBJECT_FINDINGS]:
            c = outcome.cloud
            status(f"{kind}:{c.upn or c.id}",
                   msg(f"adp.match.{kind}", dn=outcome.on_prem.dn, cloud=c.upn or c.id, roles=", ".join(c.roles),
                       via=via_text(outcome.via)),
                   expected=msg("adp.match.expected"),
                   observed=msg("adp.match.observed", upn=outcome.on_prem.upn, via=via_text(outcome.via),
                                cloud=c.upn, id=c.id,
                                roles=msg("adp.match.roles", roles=", ".join(c.roles)) if c.roles else "",
                                immutable=msg("adp.match.immutable", id=c.immutable_id) if c.immutable_id else "",
                                anchor=anchor_text(outcome.on_prem)),
                   evidence=evidence,
                   action=ActionRef(key=action_key, params={"account": c.upn or c.id}))
        if len(by_kind.get(kind, [])) > MAX_OBJECT_FINDINGS:
            status(f"{kind}:more", msg("adp.match.more", n=len(by_kind[kind]) - MAX_OBJECT_FINDINGS),
                   action=ActionRef(key=action_key, params={"account": "more"}))
    duplicates_found = by_kind.get("duplicate", [])
    if duplicates_found:
        ctx.warned("duplicate", msg("adp.match.duplicate", n=len(duplicates_found)),
                   observed=outcome_lines(duplicates_found), evidence=evidence,
                   action=ActionRef(key="sync.align-duplicate-accounts", params={}))
    for kind in ("soft", "already-synced", "new"):
        found = by_kind.get(kind, [])
        if found:
            ctx.passed(kind, msg(f"adp.match.{kind}", n=len(found)), observed=outcome_lines(found),
                       evidence=evidence)
    if not outcomes:
        ctx.skipped("users", msg("adp.match.no-users", scope=scope_line(a)))


def via_text(via: str) -> Text | str:
    return msg(f"adp.via.{VIA[via]}") if via in VIA else via


def anchor_text(user: Any) -> Text | str:
    from ems_readiness.judges.match_preview import immutable_id_of

    anchor = immutable_id_of(user.anchor) if user.anchor else None
    return msg("adp.match.anchor", anchor=anchor, source=user.anchor_source) if anchor else ""


def outcome_lines(outcomes: list[Any], limit: int = 10) -> Text:
    lines = [msg("adp.match.line.to", dn=o.on_prem.dn, upn=o.on_prem.upn, cloud=o.cloud.upn, via=via_text(o.via))
             if o.cloud else f"{o.on_prem.dn} ({o.on_prem.upn})" for o in outcomes[:limit]]
    more: Text | str = msg("adp.match.lines.more", n=len(outcomes) - limit) if len(outcomes) > limit else ""
    return msg("adp.match.lines", lines=joined(lines, "newline"), more=more)


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
        ctx.errored("object count", msg("adp.count.incomplete", error=a.objects_error),
                    action=ActionRef(key="directory.read-complete", params={}))
    else:
        object_counts(ctx, a)
        group_sizes(ctx, a)


def level_name(level: int) -> str:
    return f"{FUNCTIONAL_LEVELS.get(level, 'level')} ({level})"


def forest_checks(ctx, a: DirectoryAssessment) -> None:
    forest = a.forest
    if forest is None:
        ctx.errored("forest", msg("adp.forest.unread", error=a.forest_error or ""), evidence=a.evidence[:2],
                    action=ActionRef(key="directory.read-forest", params={}))
        return
    expected = msg("adp.level.expected", level=level_name(MINIMUM_FUNCTIONAL_LEVEL))
    levels: list[tuple[str, Text, int | None]] = [
        (f"forest:{forest.root_domain}", msg("adp.level.forest"), forest.forest_functional_level)]
    levels += [(f"domain:{d.dns_name}", msg("adp.level.domain", domain=d.dns_name), d.functional_level)
               for d in forest.domains]
    raise_level = ActionRef(key="ad.raise-functional-level", params={})
    for resource, what, level in levels:
        if level is None:
            ctx.errored(resource, msg("adp.level.unread", what=what), expected=expected,
                        action=ActionRef(key="directory.read-forest", params={}))
        elif level < MINIMUM_FUNCTIONAL_LEVEL:
            ctx.failed(resource, msg("adp.level.is", what=what, level=level_name(level)), expected=expected,
                       observed=level_name(level), action=raise_level)
        else:
            ctx.passed(resource, msg("adp.level.is", what=what, level=level_name(level)), expected=expected,
                       observed=level_name(level))
    for domain in forest.domains:
        if domain.netbios_name and "." in domain.netbios_name:
            ctx.failed(f"netbios:{domain.netbios_name}",
                       msg("adp.netbios", name=domain.netbios_name, domain=domain.dns_name),
                       expected=msg("adp.netbios.expected"), observed=domain.netbios_name,
                       action=ActionRef(key="ad.netbios-name", params={"name": domain.netbios_name}))
    fact(ctx, "writable-dc", forest.writable_dc_present, ctx.failed, "adp.writable-dc")
    fact(ctx, "recycle-bin", forest.recycle_bin_enabled, ctx.warned, "adp.recycle-bin")


def fact(ctx, resource: str, value: bool | None, report, id: str) -> None:
    """A yes/no fact of the forest: messages <id>.yes, <id>.no and <id>.unread."""
    if value is None:
        ctx.errored(resource, msg(f"{id}.unread"), action=ActionRef(key="directory.read-forest", params={}))
    elif value:
        ctx.passed(resource, msg(f"{id}.yes"))
    else:
        report(resource, msg(f"{id}.no"), action=ActionRef(key=f"ad.{resource}", params={}))


def object_counts(ctx, a: DirectoryAssessment) -> None:
    limits = sizing()
    counts = {kind: a.by_kind.get(kind, 0) for kind in ("user", "group", "contact")}
    if a.computers is not None:
        counts["computer"] = a.computers
    total = sum(counts.values())
    parts: list[Text] = [msg("adp.count.observed", total=total, kinds=kinds_text(counts))]
    if a.computers is None:
        parts.append(msg("adp.count.no-computers", error=a.computers_error or ""))
    if a.out_of_scope:
        parts.append(msg("adp.count.out", n=a.out_of_scope))
    observed = msg("text.sentences", sentences=joined(parts, "none"))
    band = next(h for h in limits["hardware"] if "up_to" not in h or total < h["up_to"])
    server = msg("adp.count.server", memory=band["memory"], disk=band["disk"])
    localdb = limits["localdb_max_objects"]
    if total > localdb:
        ctx.warned("object count", msg("adp.count.localdb", total=total, limit=localdb),
                   expected=msg("adp.count.localdb.expected", limit=localdb, source=limits["source"]),
                   observed=observed, remediation=msg("adp.count.localdb.fix", server=server),
                   action=ActionRef(key="sync.full-sql", params={}))
    else:
        ctx.passed("object count", msg("adp.count.ok", total=total, server=server), observed=observed,
                   expected=msg("adp.count.expected", source=limits["source"]))
    if total > limits["tenant_support_case_above"]:
        ctx.warned("tenant quota", msg("adp.quota.support", total=total, quota=limits["tenant_support_case_above"]),
                   observed=observed, action=ActionRef(key="tenant.raise-quota", params={}))
    elif total > limits["tenant_default_quota"]:
        ctx.warned("tenant quota", msg("adp.quota.default", total=total, quota=limits["tenant_default_quota"],
                                       verified=limits["tenant_verified_domain_quota"]),
                   observed=observed, action=ActionRef(key="tenant.raise-quota", params={}))


def group_sizes(ctx, a: DirectoryAssessment) -> None:
    limits = sizing()
    if not a.member_counts_read:
        ctx.skipped("group sizes", msg("adp.groups.no-members"))
        return
    for dn, members in a.large_groups[:MAX_OBJECT_FINDINGS]:
        if members > limits["group_members_v2"]:
            ctx.failed(f"group:{dn}", msg("adp.groups.too-large", n=members, limit=limits["group_members_v2"]),
                       observed=msg("adp.groups.members", n=members),
                       action=ActionRef(key="ad.split-group", params={"group": dn}))
        elif members > limits["group_members_v1"]:
            ctx.warned(f"group:{dn}", msg("adp.groups.v2", n=members, limit=limits["group_members_v1"]),
                       observed=msg("adp.groups.members", n=members),
                       action=ActionRef(key="sync.upgrade-connect", params={}))
    if not a.large_groups:
        ctx.passed("group sizes", msg("adp.groups.ok", limit=limits["group_members_v1"]))


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
            ctx.skipped("hybrid join SCP", msg("dev.scp.cloud-only"))
        else:
            ctx.warned("hybrid join SCP", msg("dev.scp.none"), expected=msg("dev.scp.none.expected"),
                       observed=msg("dev.scp.absent"), action=CONFIGURE_SCP)
        return
    values = {k.split(":", 1)[0].lower(): k.split(":", 1)[1].strip() for k in keywords if ":" in k}
    tenant_id, name = values.get("azureadid"), values.get("azureadname")
    observed = ", ".join(keywords) or msg("dev.scp.no-keywords")
    if not tenant_id or not name:
        ctx.failed("hybrid join SCP", msg("dev.scp.lacks-keyword"),
                   expected="azureADName:<domain>, azureADId:<tenant id>", observed=observed, action=CONFIGURE_SCP)
        return
    if ctx.probes.graph is None:
        ctx.passed("hybrid join SCP", msg("dev.scp.no-tenant", tenant=tenant_id, name=name), observed=observed)
        return
    org, evidence = await organization(ctx)
    verified = {str(d.get("name", "")).lower() for d in org.get("verifiedDomains") or [] if isinstance(d, dict)}
    expected = msg("dev.scp.expected", id=org.get("id"), domains=", ".join(sorted(verified)))
    if tenant_id.lower() != str(org.get("id", "")).lower():
        ctx.failed("hybrid join SCP", msg("dev.scp.other-tenant", tenant=tenant_id),
                   expected=expected, observed=observed, evidence=[evidence], action=CONFIGURE_SCP)
    elif name.lower() not in verified:
        ctx.failed("hybrid join SCP", msg("dev.scp.unverified", name=name),
                   expected=expected, observed=observed, evidence=[evidence], action=CONFIGURE_SCP)
    else:
        ctx.passed("hybrid join SCP", msg("dev.scp.ok", name=name), expected=expected, observed=observed,
                   evidence=[evidence])


CONFIGURE_SCP = ActionRef(key="sync.configure-hybrid-join", params={})


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
        ctx.passed("AD RMS SCP", msg("rms.none"), observed=msg("rms.no-scp"))
    else:
        ctx.warned("AD RMS SCP", msg("rms.registered"),
                   observed=", ".join(forest.rms_scp) or msg("rms.no-binding"),
                   action=ActionRef(key="rms.plan-migration", params={}))
