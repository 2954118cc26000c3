"""The action plan: findings grouped by the remediation they call for, one row per action.

Findings that name the same `Finding.action` (key and parameters) are one action, whichever checks
they come from: the CNAME that DNS-001, DNS-003 and DNS-005 all ask for is published once. A finding
without an action falls back to its check and its remediation text (findings of one check with the
same status are one row, a finding whose fix differs from the row's keeping its own). Each row carries what a project
manager plans with: severity, the owner role, the FastTrack phase and responsibility it is needed
for, the full fix, the findings it clears (with human names), and whether any of them regressed or
are new since the baseline. Rows run failures first, then what could not be assessed, then warnings.
The HTML report, summary.md and actions.csv all read this one plan.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ems_readiness.engine.catalogues import (
    REMEDIATION_CHECKLIST,
    RUN_ASSESSMENT_TOOLS,
    owner_roles,
    responsibilities,
)
from ems_readiness.engine.model import Change, CheckResult, Finding, Results, Severity, Status
from ems_readiness.engine.suppressions import is_suppressed

from ems_readiness.reports import i18n
from ems_readiness.reports.check_texts import action_title, check_reason, check_text, finding_text, reason_finding
from ems_readiness.reports.resources import resource_label

ACTION_STATUSES = (Status.FAIL, Status.ERROR, Status.WARN)  # the order rows run in
# the phase an action is needed for: the earliest of its responsibilities in the onboarding's order
PHASE_SEQUENCE = ("initiate", "assess", "remediate", "enable", "general")
# responsibilities every finding feeds: they say nothing about when the fix is needed
GENERIC_RESPONSIBILITIES = (REMEDIATION_CHECKLIST, RUN_ASSESSMENT_TOOLS)


@dataclass
class ActionItem:
    """One finding an action clears."""

    check_id: str
    resource: str  # the key, for machines
    label: str  # the human name
    status: str
    change: str | None
    message: str
    fix: str | None = None  # its own remediation, when it differs from the action's
    expected: str | None = None
    observed: str | None = None
    site: str | None = None  # the site whose network shows it (network findings)


@dataclass
class Action:
    key: str  # the action key, or a fallback key naming the check
    params: dict[str, str]
    anchor: str
    status: str
    severity: str
    title: str
    fix: str
    owner_role: str
    owner: str  # the role's label, or who the profile names for it
    phase: str
    phase_name: str
    responsibility: str
    responsibility_text: str
    checks: list[str]
    items: list[ActionItem] = field(default_factory=list)

    @property
    def cleared(self) -> int:
        return len(self.items)

    @property
    def sites(self) -> list[str]:
        """The sites whose owner must act (network findings), in the order they appear."""
        return list(dict.fromkeys(item.site for item in self.items if item.site))

    @property
    def regressed(self) -> int:
        return sum(1 for item in self.items if item.change == Change.REGRESSED.value)

    @property
    def new(self) -> int:
        return sum(1 for item in self.items if item.change == Change.NEW.value)

    @property
    def changes(self) -> list[str]:
        return sorted({item.change for item in self.items if item.change})

    @property
    def params_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))


def group_key(check: CheckResult, finding: Finding) -> tuple[str, ...]:
    if finding.action is not None:
        return ("action", finding.action.key, *(f"{k}={v}" for k, v in sorted(finding.action.params.items())))
    # without an action: one row per check and status, each finding keeping its own fix where it differs
    return ("check", check.id, finding.status.value)


def needed_for(keys: list[str]) -> str:
    """The responsibility an action is needed for: the earliest in the onboarding's phases."""
    catalogue = responsibilities()
    specific = [k for k in keys if k not in GENERIC_RESPONSIBILITIES] or list(keys)
    known = [k for k in specific if k in catalogue.keys()]
    if not known:
        return specific[0] if specific else REMEDIATION_CHECKLIST

    def rank(key: str) -> int:
        phase = catalogue.get(key).phase
        return PHASE_SEQUENCE.index(phase) if phase in PHASE_SEQUENCE else len(PHASE_SEQUENCE)

    return min(known, key=lambda k: (rank(k), known.index(k)))


def owner_for(check: CheckResult, owners: dict[str, str], lang: str) -> tuple[str, str]:
    """(role key, who): the profile's name for the check or its role, else the role's label."""
    role = owner_roles().role_of(check.area, check.owner)
    who = owners.get(check.id) or owners.get(role) or owner_roles().label(role, lang)
    return role, who


def _slug(parts: tuple[str, ...]) -> str:
    return "action-" + hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:12]


def _unassessed_check_finding(check: CheckResult) -> Finding | None:
    """A check that ended in error with no finding saying so is itself one thing to act on."""
    if check.status is Status.ERROR and not any(f.status is Status.ERROR for f in check.findings):
        return reason_finding(check, Status.ERROR)
    return None


def build_plan(results: Results, lang: str) -> list[Action]:
    owners = dict(results.settings.get("owners") or {})
    groups: dict[tuple[str, ...], list[tuple[CheckResult, Finding]]] = {}
    for check in results.checks:
        extra = _unassessed_check_finding(check)
        for finding in [*check.findings, *([extra] if extra else [])]:
            if finding.status not in ACTION_STATUSES or is_suppressed(finding):
                continue
            groups.setdefault(group_key(check, finding), []).append((check, finding))
    plan = [_action(key, members, owners, lang) for key, members in groups.items()]
    status_rank = {s.value: rank for rank, s in enumerate(ACTION_STATUSES)}
    phase_rank = {p: rank for rank, p in enumerate(PHASE_SEQUENCE)}
    plan.sort(key=lambda a: (status_rank[a.status], -Severity(a.severity).rank, -(a.regressed + a.new),
                             phase_rank.get(a.phase, len(PHASE_SEQUENCE)), -a.cleared, a.checks[0], a.title))
    return plan


def _action(key: tuple[str, ...], members: list[tuple[CheckResult, Finding]], owners: dict[str, str],
            lang: str) -> Action:
    status_rank = {s: rank for rank, s in enumerate(ACTION_STATUSES)}
    # the lead: the worst status, then the most severe check, names the row
    members.sort(key=lambda m: (status_rank[m[1].status], -m[0].severity.rank))
    lead_check, lead = members[0]
    member_checks = list({id(c): c for c, _ in members}.values())  # thousands of findings, a few checks
    checks = list(dict.fromkeys(c.id for c in member_checks))
    role, who = owner_for(lead_check, owners, lang)
    resp = needed_for(list(dict.fromkeys(k for c in member_checks for k in c.responsibilities)))
    phase = responsibilities().get(resp).phase if resp in responsibilities().keys() else "general"
    resp_text = responsibilities().get(resp).text.get(lang, "") if resp in responsibilities().keys() else ""
    general = check_text(lead_check.id, "fix", lead_check.fix, lang)
    fixes = {finding_text(f, "remediation", lang) for _, f in members} - {None, ""}
    if lead.status is Status.ERROR:
        fix = finding_text(lead, "remediation", lang) or _not_assessed(lead_check, lead, lang)
    elif len(fixes) > 1 and general and len(checks) == 1:
        # one check, a fix per object (listed under each): the row says what they have in common
        fix = general
    else:
        fix = finding_text(lead, "remediation", lang) or general
    items = [
        ActionItem(
            check_id=c.id, resource=f.resource, label=resource_label(f.resource, lang) if f.resource else "",
            status=f.status.value, change=f.change.value if f.change else None,
            message=finding_text(f, "message", lang) or "",
            expected=finding_text(f, "expected", lang), observed=finding_text(f, "observed", lang),
            site=f.site,
        )
        for c, f in members
    ]
    for item, (_, f) in zip(items, members):
        own = finding_text(f, "remediation", lang)
        item.fix = own if own and own != fix else None
    return Action(
        key=lead.action.key if lead.action else key[0],
        params=dict(lead.action.params) if lead.action else {"check": lead_check.id, "status": lead.status.value},
        anchor=_slug(key),
        status=lead.status.value,
        severity=max((c.severity for c, _ in members), key=lambda s: s.rank).value,
        title=action_title(lead.action, lang) if lead.action else check_text(lead_check.id, "title", lead_check.title, lang),
        fix=fix,
        owner_role=role,
        owner=who,
        phase=phase,
        phase_name=i18n.phase_name(phase, lang),
        responsibility=resp,
        responsibility_text=resp_text,
        checks=checks,
        items=items,
    )


def _not_assessed(check: CheckResult, finding: Finding, lang: str) -> str:
    """What to do about a finding that could not be assessed: make the cause go away and re-run."""
    cause = finding_text(finding, "message", lang) or check_reason(check, lang) or ""
    english = finding.message or check.reason or ""
    permissions = sorted({*check.permissions.application, *check.permissions.delegated})
    if "permission" in english.lower() and permissions:
        return i18n.t("actions.not_assessed_permissions", lang, cause=cause, permissions=", ".join(permissions))
    return i18n.t("actions.not_assessed", lang, cause=cause)
