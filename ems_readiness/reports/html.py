"""The HTML report: one self-contained page that is the remediation checklist for the assess meeting.

`render()` turns a `Results` document into a view (phases → responsibilities → checks → findings,
the next steps, the trend) and renders it with Jinja2. Only what the page shows is built: a check
lists up to CHECK_FINDINGS_SHOWN rows of each kind and counts the rest (findings.csv has every one).
A document that speaks for several sites shows one row for the findings that read the same at
several sites (reports/finding_rows.py), and every row that does not pass up to
MERGED_OPEN_ROWS_SHOWN: what must be fixed stays on the page, passing rows are summarised.

Every value from the tenant or DNS goes through autoescaping; the page loads nothing (CSP
`default-src 'none'`), and its one inline script, the status filter, is allowed by its sha256 hash
rather than by 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache, partial
from importlib import resources

from jinja2 import Environment, FunctionLoader, StrictUndefined

from ems_readiness.engine.catalogues import LANGS, responsibilities
from ems_readiness.engine.model import Change, CheckResult, Finding, Results, ResponsibilityResult, Status
from ems_readiness.engine.suppressions import is_suppressed

from ems_readiness.reports import i18n
from ems_readiness.reports.anchors import check_anchor, finding_anchor, responsibility_anchor, slug  # noqa: F401
from ems_readiness.reports.actions import Action, ActionItem, build_plan
from ems_readiness.reports.check_texts import localized, localized_finding
from ems_readiness.reports.finding_rows import SharedRow, finding_rows, shared_rows
from ems_readiness.reports.resources import resource_label
from ems_readiness.reports.site_matrix import Row, SiteList, site_list, site_matrix

PHASE_ORDER = ("assess", "enable", "remediate", "initiate", "general")
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
CHECK_FINDINGS_SHOWN = 25  # rows of a check's open findings, and of its passing ones; the rest are counted (findings.csv)
MERGED_OPEN_ROWS_SHOWN = 500  # with several sites: a check's rows that do not pass, before the rest are counted
TREND_RUNS = 12
MATRIX_ROWS_SHOWN = 200  # rows of one site matrix table; the rest are counted (findings.csv has every one)
MATRIX_CELLS_SHOWN = 10_000  # cells of one matrix table: with many sites, fewer rows (the browser lays out each)
MATRIX_MIN_ROWS = 10
BLOCKED_ROWS_SHOWN = 1000  # the blocked endpoints, each with the sites blocking it
CELL_MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "error": "?", "skip": "–", "none": "·"}


# ---------------------------------------------------------------- view

@dataclass
class FindingView:
    """A row of the checklist: a finding, or the findings that read the same at several sites."""

    finding: Finding  # in the report's language
    anchor: str
    evidence_json: str
    evidence_overflow: int
    evidence_lines: list[str]
    sites: SiteList | None = None  # where it was seen, in a document that speaks for several sites
    observed_elsewhere: int = 0  # of those sites, how many observed something else than the first

    @property
    def status(self) -> str:
        return self.finding.status.value

    @property
    def change(self) -> str | None:
        return self.finding.change.value if self.finding.change else None


@dataclass
class CheckView:
    check: CheckResult  # its texts in the report's language; its findings are the rows below
    anchor: str
    open_findings: list[FindingView]  # rows that need attention (fail, error, warn, skip), shown
    passed_findings: list[FindingView]  # passing rows, shown collapsed
    counts: dict[str, int]  # findings by status, suppressed ones aside
    open_more: int  # findings in the open rows not shown
    passed_more: int
    suppressed: int
    row_anchors: dict[tuple[str, str, str | None], str] = field(default_factory=dict)  # finding -> its row
    home: str = ""  # key of the responsibility the check is rendered in full under

    @property
    def status(self) -> str:
        return self.check.status.value

    @property
    def finding_count(self) -> int:
        return sum(self.counts.values())

    @property
    def passed_count(self) -> int:
        return self.counts.get("pass", 0)


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


def changed_rows(results: Results, lang: str, row_anchors: dict[tuple[str, str, str | None], str]
                 ) -> tuple[list[ChangedRow], list[ChangedRow]]:
    """(fixed, gone), from the comparison recorded in results.json: the same counts as the chips."""
    if results.baseline is None:
        return [], []
    fixed = [ChangedRow(localized_finding(f, lang), resource_label(f.resource, lang), None, f.status.value,
                        row_anchors.get((f.check_id, f.resource, f.site)))
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
class ActionItemView:
    item: ActionItem  # the first of those that read alike
    sites: SiteList | None  # where they were seen, in a document that speaks for several sites


@dataclass
class ActionItems:
    shown: list[ActionItemView]  # up to ACTION_ITEMS_SHOWN
    more: int  # findings the action clears that are not listed (findings.csv has every one)


def same_item(item: ActionItem) -> tuple:
    return (item.check_id, item.resource, item.status, item.change, item.message, item.expected, item.fix)


def action_items(action: Action, sites: list[str] | None) -> ActionItems:
    """The findings an action lists; with several sites, those that read alike are one line naming the sites."""
    rows = shared_rows(action.items, same_item if sites is not None else None)
    shown = [ActionItemView(row.lead, site_list(row.sites, sites) if sites is not None and row.sites else None)
             for row in rows[:ACTION_ITEMS_SHOWN]]
    return ActionItems(shown, sum(len(row.members) for row in rows[ACTION_ITEMS_SHOWN:]))


@dataclass
class ReportView:
    phases: list[PhaseView]
    unplaced: list[CheckView]
    actions: list[Action]
    action_items: dict[str, ActionItems]  # by the action's anchor
    check_anchors: dict[str, str]
    row_anchors: dict[tuple[str, str, str | None], str]  # (check, resource, site) -> its row on the page
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

    def item_anchor(self, item: ActionItem) -> str:
        """Where an action's finding is on the page: its row, else its check (rows beyond those shown)."""
        return self.row_anchors.get((item.check_id, item.resource, item.site)) or check_anchor(item.check_id)


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

def build_check_view(check: CheckResult, lang: str, sites: list[str] | None = None) -> CheckView:
    """The check as the checklist shows it. `sites`: the document's sites when it speaks for several,
    whose findings then share rows across sites and whose open rows are all shown (up to a bound)."""
    visible = [f for f in check.findings if not is_suppressed(f)]
    rows = finding_rows(visible, across_sites=sites is not None)
    passed = [r for r in rows if r.lead.status is Status.PASS]
    open_rows = rows[:len(rows) - len(passed)]  # passing rows sort last
    open_shown = MERGED_OPEN_ROWS_SHOWN if sites is not None else CHECK_FINDINGS_SHOWN
    row_anchors: dict[tuple[str, str, str | None], str] = {}

    def shown(rows: list[SharedRow[Finding]], limit: int) -> tuple[list[FindingView], int]:
        views = []
        for row in rows[:limit]:
            view = finding_view(row, lang, sites)
            views.append(view)
            for f in row.members:
                row_anchors[(f.check_id, f.resource, f.site)] = view.anchor
        return views, sum(len(row.members) for row in rows[limit:])

    open_views, open_more = shown(open_rows, open_shown)
    passed_views, passed_more = shown(passed, CHECK_FINDINGS_SHOWN)
    return CheckView(localized(check, lang, findings=False), check_anchor(check.id), open_views, passed_views,
                     counts={s.value: n for s, n in Counter(f.status for f in visible).items()}, open_more=open_more,
                     passed_more=passed_more, suppressed=len(check.findings) - len(visible), row_anchors=row_anchors)


def finding_view(row: SharedRow[Finding], lang: str, sites: list[str] | None) -> FindingView:
    finding = localized_finding(row.lead, lang)
    where = site_list(row.sites, sites) if sites is not None and row.sites else None
    return FindingView(finding, finding_anchor(row.lead), *evidence_text(finding), evidence_lines(finding), where,
                       observed_elsewhere=row.differing(lambda f: f.observed))


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
    sites = [s.site for s in results.sites] if len(results.sites) > 1 else None
    checks = [build_check_view(c, lang, sites) for c in results.checks]
    by_id = {view.check.id: view for view in checks}
    placer = _Placer(by_id)
    phases = phase_views(results, placer, lang)
    row_anchors = {key: anchor for view in checks for key, anchor in view.row_anchors.items()}
    responsibility_counts = count_by([r.status for r in results.responsibilities], RESPONSIBILITY_STATUSES)
    fixed, gone = changed_rows(results, lang, row_anchors)
    # Counted from the checklist's findings rather than results.totals, which includes suppressed findings.
    finding_counts = {s: sum(view.counts.get(s, 0) for view in checks) for s in COUNT_STATUSES}
    plan = build_plan(results, lang)
    return ReportView(
        phases=phases,
        unplaced=[view for view in checks if not view.home],
        actions=plan,
        action_items={action.anchor: action_items(action, sites) for action in plan},
        check_anchors={view.check.id: view.anchor for view in checks},
        row_anchors=row_anchors,
        suppressed=[(localized_finding(f, lang), check_anchor(f.check_id)) for f in results.findings()
                    if f.suppressed is not None],
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


@dataclass
class MatrixRow:
    row: Row
    worst: str
    open_sites: int  # sites where it does not pass
    cells: list[tuple[str, str]]  # (site, status or "none": not observed there), in the document's order


@dataclass
class MatrixTable:
    rows: list[MatrixRow]  # those that do not pass at some site: first those that differ, at the most sites
    more: int  # such rows not shown: the blocked endpoints and findings.csv have them
    passing: int  # rows that pass at every site, counted


def matrix_table(rows: list[Row], sites: list[str]) -> MatrixTable:
    """A matrix table within MATRIX_CELLS_SHOWN cells: with many sites, fewer rows."""
    candidates = []
    for row in rows:
        statuses = Counter(f.status for f in row.cells.values())
        open_sites = sum(statuses.values()) - statuses[Status.PASS]
        if open_sites:
            candidates.append((row, statuses, open_sites))
    # rows that differ between sites first: the matrix shows which; one that fails everywhere says it in one line
    candidates.sort(key=lambda c: (not c[0].differs, -c[2]))
    limit = min(MATRIX_ROWS_SHOWN, max(MATRIX_MIN_ROWS, MATRIX_CELLS_SHOWN // max(1, len(sites))))
    shown = []
    for row, statuses, open_sites in candidates[:limit]:
        cells = [(site, f.status.value if (f := row.cells.get(site)) is not None else "none") for site in sites]
        shown.append(MatrixRow(row, worst_status([s.value for s in statuses]), open_sites, cells))
    return MatrixTable(shown, max(0, len(candidates) - limit), len(rows) - len(candidates))


def site_context(results: Results, lang: str) -> dict:
    matrix = site_matrix(results)
    if matrix is None:
        return {"matrix": None, "multi_site": False}
    sites = matrix.sites
    return {"matrix": matrix, "multi_site": True, "endpoint_table": matrix_table(matrix.endpoints, sites),
            "target_table": matrix_table(matrix.targets, sites), "quality_table": matrix_table(matrix.quality, sites),
            "blocked_shown": BLOCKED_ROWS_SHOWN, "cell_marks": CELL_MARKS,
            "site_list": partial(site_list, all_sites=matrix.sites),
            "cell_titles": {**{s: i18n.status_label(s, lang) for s in COUNT_STATUSES},
                            "none": i18n.t("sites.not_scanned", lang)}}


def render(results: Results, lang: str = "en") -> str:
    """The report for `results` in `lang` (en or zh-CN) as one self-contained HTML document."""
    i18n.check_lang(lang)
    env = environment()
    # The page includes the same template, so the hash covers exactly the bytes the browser sees.
    script = env.get_template("filter.js").render()
    if "</script" in script.lower():
        raise ValueError("the filter script must not contain '</script'")
    sites = site_context(results, lang)
    return env.get_template("report.html.j2").render(
        results=results,
        view=build_view(results, lang),
        lang=lang,
        csp=content_security_policy(script),
        sections=SECTIONS if not sites["multi_site"] else [SECTIONS[0], "sites", *SECTIONS[1:]],
        **sites,
        slug=slug,
        items_shown=ACTION_ITEMS_SHOWN,
        filter_statuses=FILTER_STATUSES,
        count_statuses=COUNT_STATUSES,
        responsibility_statuses=RESPONSIBILITY_STATUSES,
        started=utc_text(results.started),
        utc_text=utc_text,
        one_line=one_line,
        t=partial(i18n.t, lang=lang),
        tn=partial(i18n.tn, lang=lang),
        status_label=partial(i18n.status_label, lang=lang),
        sites_text=partial(i18n.sites_text, lang=lang),
        severity_label=partial(i18n.severity_label, lang=lang),
        change_label=partial(i18n.change_label, lang=lang),
        area_label=partial(i18n.area_label, lang=lang),
        scenario_label=partial(i18n.scenario_label, lang=lang),
        responsibility_text=partial(i18n.responsibility_text, lang=lang),
        resource_label=partial(resource_label, lang=lang),
    )
