"""The HTML report: one self-contained page that is the remediation checklist for the assess meeting.

`render()` turns a `Results` document into a view (phases → responsibilities → checks → findings,
the next steps, the trend) and renders it with Jinja2. Every value from the tenant or DNS goes
through autoescaping; the page loads nothing (CSP `default-src 'none'`), and its one inline script,
the status filter, is allowed by its sha256 hash rather than by 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache, partial
from importlib import resources

from jinja2 import Environment, FunctionLoader, StrictUndefined

from ems_readiness.engine.catalogues import LANGS, responsibilities
from ems_readiness.engine.model import Change, CheckResult, Finding, Results, ResponsibilityResult, Severity
from ems_readiness.engine.suppressions import is_suppressed

from ems_readiness.reports import i18n
from ems_readiness.reports.anchors import check_anchor, finding_anchor, responsibility_anchor, slug  # noqa: F401
from ems_readiness.reports.actions import Action, build_plan
from ems_readiness.reports.check_texts import localized, localized_finding
from ems_readiness.reports.resources import resource_label

PHASE_ORDER = ("assess", "enable", "remediate", "initiate", "general")
STATUS_ORDER = ("fail", "error", "warn", "skip", "pass")  # findings within a check, worst first
FILTER_STATUSES = ("fail", "error", "warn", "pass", "skip", "manual")
COUNT_STATUSES = ("fail", "error", "warn", "pass", "skip")
RESPONSIBILITY_STATUSES = ("fail", "error", "warn", "pass", "satisfied", "skip", "manual")
CHANGE_ORDER = ("regressed", "new", "still-failing", "fixed", "unchanged", "gone")
ACTION_ITEMS_SHOWN = 8  # findings listed under an action; the rest are counted (all are in findings.csv)
# the report's sections in page order, each a template section_<name>.html.j2
SECTIONS = ["actions", "changes", "checklist", "suppressed"]
EVIDENCE_CHARS = 6000
EVIDENCE_LINES = 4  # observations summarised under a finding; the rest are in the JSON
EVIDENCE_LINE_CHARS = 240
CHECK_FINDINGS_SHOWN = 25  # findings of one status group shown per check; the rest are counted (findings.csv)
TREND_RUNS = 12


# ---------------------------------------------------------------- view

@dataclass
class FindingView:
    finding: Finding
    anchor: str
    evidence_json: str
    evidence_overflow: int
    evidence_lines: list[str]

    @property
    def status(self) -> str:
        return self.finding.status.value

    @property
    def change(self) -> str | None:
        return self.finding.change.value if self.finding.change else None


@dataclass
class CheckView:
    check: CheckResult
    anchor: str
    findings: list[FindingView]
    suppressed: int
    home: str = ""  # key of the responsibility the check is rendered in full under

    @property
    def status(self) -> str:
        return self.check.status.value

    @property
    def open_findings(self) -> list[FindingView]:
        """What needs attention (fail, error, warn, skip), shown; passing findings are collapsed."""
        return [f for f in self.findings if f.status != "pass"]

    @property
    def passed_findings(self) -> list[FindingView]:
        return [f for f in self.findings if f.status == "pass"]


@dataclass
class CheckPlacement:
    """A check under one responsibility: in full the first time it appears on the page, else a link."""

    view: CheckView
    full: bool


@dataclass
class TopicGroup:
    key: str
    name: str
    placements: list[CheckPlacement]
    status: str


@dataclass
class ResponsibilityView:
    result: ResponsibilityResult
    anchor: str
    text: str
    other_text: str
    other_lang: str
    placements: list[CheckPlacement]
    topics: list[TopicGroup]

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def filter(self) -> str:
        return "pass" if self.status == "satisfied" else self.status


@dataclass
class PhaseView:
    key: str
    name: str
    items: list[ResponsibilityView]


@dataclass
class ChangedRow:
    """A finding in the "Since the baseline" lists: fixed, or gone (see reports/compare.py)."""

    finding: Finding  # as it is now, or as it was in the baseline when absent now
    label: str
    before: str | None
    now: str | None  # None: not reported in this run
    anchor: str | None  # where it is on this page, if it is


def changed_rows(results: Results, lang: str) -> tuple[list[ChangedRow], list[ChangedRow]]:
    """(fixed, gone), from the comparison recorded in results.json: the same counts as the chips."""
    if results.baseline is None:
        return [], []
    fixed = [ChangedRow(localized_finding(f, lang), resource_label(f.resource, lang), None, f.status.value,
                        finding_anchor(f))
             for f in results.findings() if f.change is Change.FIXED]
    gone = []
    for f in results.baseline.gone:
        row = ChangedRow(localized_finding(f, lang), resource_label(f.resource, lang), f.status.value, None, None)
        (fixed if f.change is Change.FIXED else gone).append(row)
    return fixed, gone


@dataclass
class TrendPoint:
    x: float
    y: float
    count: int
    label: str
    current: bool


@dataclass
class Trend:
    width: int
    height: int
    points: list[TrendPoint]
    baseline_y: float

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class ReportView:
    phases: list[PhaseView]
    unplaced: list[CheckView]
    actions: list[Action]
    check_anchors: dict[str, str]
    suppressed: list[tuple[Finding, str]]  # finding, anchor of its check
    fixed: list[ChangedRow]  # fixed since the baseline: passing now, or no longer reported
    gone: list[ChangedRow]
    duration: str
    check_counts: dict[str, int]
    finding_counts: dict[str, int]
    responsibility_counts: dict[str, int]
    filter_counts: dict[str, int]
    change_counts: dict[str, int]
    trend: Trend | None


# ---------------------------------------------------------------- anchors and small helpers

def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def worst_status(statuses: list[str]) -> str:
    precedence = ("fail", "error", "warn", "pass", "skip")
    present = [s for s in precedence if s in statuses]
    return present[0] if present else "manual"


def human_duration(seconds: float, lang: str) -> str:
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return i18n.t("duration.hours", lang, h=hours, m=minutes)
    if minutes:
        return i18n.t("duration.minutes", lang, m=minutes, s=secs)
    return i18n.t("duration.seconds", lang, s=secs)


def utc_text(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def evidence_lines(finding: Finding) -> list[str]:
    """Each observation in one line: what was asked and what came back (the JSON stays behind a toggle)."""
    lines = []
    for e in finding.evidence[:EVIDENCE_LINES]:
        took = f" ({e.elapsed_ms:.0f} ms)" if e.elapsed_ms is not None else ""
        lines.append(one_line(f"{e.probe}: {e.target} → {e.outcome}{took}")[:EVIDENCE_LINE_CHARS])
    return lines


def evidence_text(finding: Finding) -> tuple[str, int]:
    if not finding.evidence:
        return "", 0
    dumped = json.dumps([e.model_dump(mode="json") for e in finding.evidence], indent=2, ensure_ascii=False)
    if len(dumped) <= EVIDENCE_CHARS:
        return dumped, 0
    return dumped[:EVIDENCE_CHARS], len(dumped) - EVIDENCE_CHARS


# ---------------------------------------------------------------- building the view

def build_check_view(check: CheckResult) -> CheckView:
    order = {status: rank for rank, status in enumerate(STATUS_ORDER)}
    visible = [f for f in check.findings if not is_suppressed(f)]
    visible.sort(key=lambda f: order[f.status.value])
    findings = [FindingView(f, finding_anchor(f), *evidence_text(f), evidence_lines(f)) for f in visible]
    return CheckView(check, check_anchor(check.id), findings, suppressed=len(check.findings) - len(visible))


def ordered_responsibilities(results: Results) -> list[ResponsibilityResult]:
    catalogue_order = {item.key: rank for rank, item in enumerate(responsibilities().items)}
    phase_rank = {phase: rank for rank, phase in enumerate(PHASE_ORDER)}
    return sorted(
        results.responsibilities,
        key=lambda r: (phase_rank.get(r.phase, len(PHASE_ORDER)), catalogue_order.get(r.key, len(catalogue_order))),
    )


class _Placer:
    """Places each check in full at its first appearance in page order, and as a link after that."""

    def __init__(self, checks: dict[str, CheckView]):
        self.checks = checks

    def place(self, check_ids: list[str], responsibility_key: str) -> list[CheckPlacement]:
        placements = []
        for check_id in check_ids:
            view = self.checks.get(check_id)
            if view is None:
                continue
            full = not view.home
            if full:
                view.home = responsibility_key
            placements.append(CheckPlacement(view, full))
        return placements


def topic_groups(result: ResponsibilityResult, placer: _Placer, lang: str) -> list[TopicGroup]:
    if not result.topics:
        return []
    keys = list(responsibilities().topics) + [k for k in result.topics if k not in responsibilities().topics]
    groups = []
    for key in keys:
        placements = placer.place(result.topics.get(key, []), result.key)
        status = worst_status([p.view.status for p in placements]) if placements else "manual"
        groups.append(TopicGroup(key, i18n.topic_name(key, lang), placements, status))
    return groups


def responsibility_view(result: ResponsibilityResult, placer: _Placer, lang: str) -> ResponsibilityView:
    other_lang = next(other for other in LANGS if other != lang)
    topics = topic_groups(result, placer, lang)
    in_topics = {check_id for ids in result.topics.values() for check_id in ids}
    placements = placer.place([c for c in result.checks if c not in in_topics], result.key)
    return ResponsibilityView(
        result=result,
        anchor=responsibility_anchor(result.key),
        text=result.text.get(lang) or result.text.get("en", ""),
        other_text=result.text.get(other_lang, ""),
        other_lang=other_lang,
        placements=placements,
        topics=topics,
    )


def phase_views(results: Results, placer: _Placer, lang: str) -> list[PhaseView]:
    phases: dict[str, PhaseView] = {}
    for result in ordered_responsibilities(results):
        phase = phases.setdefault(result.phase, PhaseView(result.phase, i18n.phase_name(result.phase, lang), []))
        phase.items.append(responsibility_view(result, placer, lang))
    return list(phases.values())


def trend(results: Results, lang: str) -> Trend | None:
    if results.baseline is None and not results.history:
        return None
    runs = [(run.started, run.findings.get("fail", 0), False) for run in results.history]
    runs.append((results.started, results.totals.findings.get("fail", 0), True))
    runs = runs[-TREND_RUNS:]
    width, height, left, right, top, bottom = 360, 96, 16, 16, 20, 22
    peak = max(count for _, count, _ in runs) or 1
    step = (width - left - right) / max(1, len(runs) - 1)
    points = []
    for index, (started, count, current) in enumerate(runs):
        x = left + step * index if len(runs) > 1 else width / 2
        y = top + (height - top - bottom) * (1 - count / peak)
        label = i18n.t("trend.this_run", lang) if current else started.strftime("%m-%d")
        points.append(TrendPoint(x, y, count, label, current))
    return Trend(width, height, points, baseline_y=height - bottom)


def count_by(values: list[str], statuses: tuple[str, ...]) -> dict[str, int]:
    return {status: values.count(status) for status in statuses}


def build_view(results: Results, lang: str) -> ReportView:
    checks = [build_check_view(localized(c, lang)) for c in results.checks]
    by_id = {view.check.id: view for view in checks}
    placer = _Placer(by_id)
    phases = phase_views(results, placer, lang)
    all_findings = list(results.findings())
    responsibility_counts = count_by([r.status for r in results.responsibilities], RESPONSIBILITY_STATUSES)
    # Counted from the checklist's rows rather than results.totals, which includes suppressed findings.
    fixed, gone = changed_rows(results, lang)
    finding_counts = count_by([f.status for view in checks for f in view.findings], COUNT_STATUSES)
    return ReportView(
        phases=phases,
        unplaced=[view for view in checks if not view.home],
        actions=build_plan(results, lang),
        check_anchors={view.check.id: view.anchor for view in checks},
        suppressed=[(localized_finding(f, lang), check_anchor(f.check_id)) for f in all_findings if f.suppressed is not None],
        fixed=fixed,
        gone=gone,
        duration=human_duration((results.finished - results.started).total_seconds(), lang),
        check_counts={s: results.totals.checks.get(s, 0) for s in COUNT_STATUSES},
        finding_counts=finding_counts,
        responsibility_counts=responsibility_counts,
        filter_counts={**finding_counts, "manual": responsibility_counts["manual"]},
        change_counts=(
            {c: results.baseline.counts.get(c, 0) for c in CHANGE_ORDER} if results.baseline else {}
        ),
        trend=trend(results, lang),
    )


# ---------------------------------------------------------------- rendering

def _load_template(name: str) -> tuple[str, str, None]:
    path = resources.files("ems_readiness.reports").joinpath("templates", name)
    return path.read_text(encoding="utf-8"), f"ems_readiness/reports/templates/{name}", None


@cache  # one environment keeps the compiled templates: rendering is then a fraction of the cost
def environment() -> Environment:
    return Environment(
        loader=FunctionLoader(_load_template),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def content_security_policy(script: str) -> str:
    return (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src '{script_hash(script)}'; img-src data:; base-uri 'none'; form-action 'none'"
    )


def render(results: Results, lang: str = "en") -> str:
    """The report for `results` in `lang` (en or zh-CN) as one self-contained HTML document."""
    i18n.check_lang(lang)
    env = environment()
    # The page includes the same template, so the hash covers exactly the bytes the browser sees.
    script = env.get_template("filter.js").render()
    if "</script" in script.lower():
        raise ValueError("the filter script must not contain '</script'")
    return env.get_template("report.html.j2").render(
        results=results,
        view=build_view(results, lang),
        lang=lang,
        csp=content_security_policy(script),
        sections=SECTIONS,
        items_shown=ACTION_ITEMS_SHOWN,
        findings_shown=CHECK_FINDINGS_SHOWN,
        filter_statuses=FILTER_STATUSES,
        count_statuses=COUNT_STATUSES,
        responsibility_statuses=RESPONSIBILITY_STATUSES,
        started=utc_text(results.started),
        utc_text=utc_text,
        one_line=one_line,
        t=partial(i18n.t, lang=lang),
        tn=partial(i18n.tn, lang=lang),
        status_label=partial(i18n.status_label, lang=lang),
        severity_label=partial(i18n.severity_label, lang=lang),
        change_label=partial(i18n.change_label, lang=lang),
        area_label=partial(i18n.area_label, lang=lang),
        scenario_label=partial(i18n.scenario_label, lang=lang),
        responsibility_text=partial(i18n.responsibility_text, lang=lang),
        resource_label=partial(resource_label, lang=lang),
    )
