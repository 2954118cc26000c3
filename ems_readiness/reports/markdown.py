"""`summary.md`: a short Markdown summary for CI job summaries and pull-request comments.

Counts, the failing checks under each responsibility they feed, the changes against the baseline,
what could not be assessed and what is suppressed. Long lists stop at ROW_LIMIT rows: report.html
has everything. Text from the tenant or DNS goes through `md_text()`, which keeps it from turning
into tables, emphasis, links or HTML (GitHub renders HTML tags in Markdown).
"""

from __future__ import annotations

import re
from datetime import timezone

from ems_readiness.engine.model import Change, CheckResult, Finding, Results, Status
from ems_readiness.engine.suppressions import effective_status, is_suppressed
from ems_readiness.engine.terminal import inert_commands

from ems_readiness.reports.actions import build_plan
from ems_readiness.reports.check_texts import check_reason, check_text, finding_text
from ems_readiness.reports.i18n import change_label, check_lang, severity_label, sites_text, status_label, t
from ems_readiness.reports.site_matrix import site_list, site_matrix

ROW_LIMIT = 15
TOP_ACTIONS = 10
COUNT_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP)
CHANGE_ORDER = (Change.REGRESSED, Change.NEW, Change.FIXED, Change.STILL_FAILING, Change.UNCHANGED, Change.GONE)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")


def md_text(value: object) -> str:
    """Untrusted text as one inert line of Markdown, safe in a table cell.

    Control characters and line breaks become spaces (a break would end the table row), HTML
    metacharacters become entities, and the characters that start code, emphasis, links,
    strikethrough or a new cell are backslash-escaped.
    """
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def md_code(value: object) -> str:
    """Untrusted text as a code span: nothing inside is Markdown or HTML, but a backtick would end
    the span and a pipe would end the table cell (GFM splits cells before it parses code)."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`" if text else ""


def render(results: Results, lang: str = "en") -> str:
    check_lang(lang)
    sections = [
        _heading(results, lang),
        _counts(results, lang),
        _sites(results, lang),
        _top_actions(results, lang),
        _failing_checks(results, lang),
        _not_assessed(results, lang),
        _changes(results, lang),
        _suppressed(results, lang),
        _where_the_rest_is(results, lang),
    ]
    # CI logs that print this file must not run a workflow command from it
    return inert_commands("\n\n".join(section for section in sections if section) + "\n")


def _labels(keys: list[str], lang: str) -> list[str]:
    return [t(key, lang) for key in keys]


def _heading(results: Results, lang: str) -> str:
    tenant = results.tenant_name or results.tenant_id or t("md.tenant_unknown", lang)
    started = results.started.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    facts = " · ".join(
        [
            f"{t('meta.scan_id', lang)} {md_code(results.scan_id)}",
            t(f"md.mode.{results.mode}", lang),
            started,
            f"{md_text(results.tool.name)} {md_text(results.tool.version)}",
        ]
    )
    return f"## {t('md.title', lang)}: {md_text(tenant)}\n\n{facts}"


SITE_LINES = 30  # rows of each site list; the rest are counted


def _sites(results: Results, lang: str) -> str:
    """For a document that speaks for several sites: each site's network findings, the required
    endpoints each site blocks, and where each site's resolvers disagree."""
    matrix = site_matrix(results)
    if matrix is None:
        return ""
    lines = [f"### {t('sites.heading', lang)}", "", t("md.sites.columns", lang), "| --- | --- | ---: | ---: | ---: | ---: |"]
    for site in results.sites:
        reads = " + ".join(side for side, read in (("tenant", site.tenant_side), ("network", site.network_side),
                                                    ("directory", site.directory_side)) if read)
        counts = matrix.counts[site.site]
        lines.append(f"| {md_text(site.site)} | {reads} | {counts['fail']} | {counts['error']} | {counts['warn']} | "
                     f"{counts['pass']} |")
    blocked = matrix.blocked_endpoints
    if blocked:
        lines += ["", t("md.sites.blocked", lang), ""]
        lines += [f"- {md_code(row.resource)}: {md_text(sites_text(site_list(row.blocking_sites, matrix.sites), lang))}"
                  for row in blocked[:SITE_LINES]]
        if len(blocked) > SITE_LINES:
            lines.append(f"- {t('md.sites.more', lang, n=len(blocked) - SITE_LINES)}")
    disagreeing = [(site, found) for site, found in matrix.resolver_disagreements.items() if found]
    if disagreeing:
        lines += ["", t("md.sites.resolvers", lang), ""]
        lines += [f"- {md_text(site)}: {', '.join(md_code(f.resource) for f in found[:8])}" for site, found in disagreeing[:SITE_LINES]]
    if results.tenant_disagreements:
        lines += ["", t("md.sites.tenant_disagree", lang), ""]
        lines += [f"- {md_code(d.check_id)} {md_text(d.resource)}: " + md_text("; ".join(f"{k}: {v}" for k, v in d.statuses.items()))
                  for d in results.tenant_disagreements[:SITE_LINES]]
    return "\n".join(lines)


def _counts(results: Results, lang: str) -> str:
    check_counts = [sum(1 for c in results.checks if effective_status(c) is status) for status in COUNT_ORDER]
    active = [f for f in results.findings() if not is_suppressed(f)]
    finding_counts = [sum(1 for f in active if f.status is status) for status in COUNT_ORDER]
    suppressed = sum(1 for f in results.findings() if is_suppressed(f))
    header = ["", *(status_label(s.value, lang) for s in COUNT_ORDER)]
    rows = [
        [t("common.checks", lang), *map(str, check_counts)],
        [t("common.findings", lang), *map(str, finding_counts)],
    ]
    table = _table(header, rows, align_right_from=1)
    return table + (f"\n\n{t('md.suppressed', lang, n=suppressed)}" if suppressed else "")


def _top_actions(results: Results, lang: str) -> str:
    plan = build_plan(results, lang)
    all_sites = [s.site for s in results.sites] if len(results.sites) > 1 else None
    heading = f"### {t('md.actions.heading', lang)}"
    if not plan:
        return f"{heading}\n\n{t('md.actions.none', lang)}"
    items = []
    for number, action in enumerate(plan[:TOP_ACTIONS], 1):
        badges = [status_label(action.status, lang), severity_label(action.severity, lang)]
        badges += [change_label(c, lang) for c, n in (("regressed", action.regressed), ("new", action.new)) if n]
        checks = ", ".join(md_code(c) for c in action.checks)
        facts = t("md.actions.facts", lang, owner=md_text(action.owner), phase=md_text(action.phase_name),
                       responsibility=md_code(action.responsibility), n=action.cleared, checks=checks)
        if all_sites and action.sites:
            sites = md_text(sites_text(site_list(action.sites, all_sites), lang))
            facts += f"  \n   {t('md.actions.sites', lang, sites=sites)}"
        items.append(f"{number}. **{md_text(action.title)}** ({' · '.join(badges)})  \n"
                     f"   {facts}  \n   {md_text(action.fix)}")
    more = len(plan) - TOP_ACTIONS
    tail = f"\n\n{t('md.actions.more', lang, n=more)}" if more > 0 else ""
    return f"{heading}\n\n" + "\n".join(items) + tail


def _failing_checks(results: Results, lang: str) -> str:
    """Each failing check once, with the responsibilities it feeds."""
    failing = [c for c in results.checks if effective_status(c) is Status.FAIL]
    heading = f"### {t('md.failing.heading', lang)}"
    if not failing:
        return f"{heading}\n\n{t('md.failing.none', lang)}"
    failing.sort(key=lambda c: (-c.severity.rank, c.id))
    rows = [
        [
            md_code(c.id),
            severity_label(c.severity.value, lang),
            md_text(check_text(c.id, "title", c.title, lang)),
            str(_active_failures(c)),
            ", ".join(md_code(key) for key in c.responsibilities),
        ]
        for c in failing
    ]
    header = _labels(["common.check", "check.severity", "common.title", "md.column.failed", "summary.responsibilities"],
                     lang)
    return f"{heading}\n\n{_table(header, rows)}"


def _where_the_rest_is(results: Results, lang: str) -> str:
    return t("md.rest", lang)


def _active_failures(check: CheckResult) -> int:
    return sum(1 for f in check.findings if f.status is Status.FAIL and not is_suppressed(f))


def _not_assessed(results: Results, lang: str) -> str:
    rows = []
    for check in results.checks:
        errored = [f for f in check.findings if f.status is Status.ERROR]
        rows += [[md_code(check.id), md_text(f.resource), md_text(finding_text(f, "message", lang))]
                 for f in errored if not is_suppressed(f)]
        if not errored and check.status is Status.ERROR:
            rows.append([md_code(check.id), "", md_text(check_reason(check, lang) or "")])
    if not rows:
        return ""
    header = _labels(["common.check", "finding.resource", "suppressed.reason"], lang)
    return f"### {t('md.errors.heading', lang)}\n\n{_limited_table(header, rows, lang)}"


def _changes(results: Results, lang: str) -> str:
    baseline = results.baseline
    if baseline is None:
        return ""
    started = baseline.baseline_started.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    intro = t("summary.baseline", lang, scan_id=md_code(baseline.baseline_scan_id), started=started)
    counts = _table(
        [change_label(c.value, lang) for c in CHANGE_ORDER],
        [[str(baseline.counts.get(c.value, 0)) for c in CHANGE_ORDER]],
        align_right_from=0,
    )
    listed = [f for f in results.findings() if _worth_listing(f)]
    listed.sort(key=lambda f: CHANGE_ORDER.index(f.change))  # type: ignore[arg-type]
    parts = [f"### {t('summary.changes', lang)}", intro, counts]
    if listed:
        header = _labels(["md.column.change", "common.check", "finding.resource", "finding.message"], lang)
        rows = [
            [change_label(f.change.value, lang), md_code(f.check_id), md_text(f.resource),
             md_text(finding_text(f, "message", lang))]
            for f in listed
            if f.change is not None
        ]
        parts += [f"**{t('md.changes.listed', lang)}**", _limited_table(header, rows, lang)]
    return "\n\n".join(parts)


def _worth_listing(finding: Finding) -> bool:
    if finding.change in (Change.REGRESSED, Change.FIXED):
        return True
    return finding.change is Change.NEW and finding.status is not Status.PASS


def _suppressed(results: Results, lang: str) -> str:
    rows = []
    for finding in results.findings():
        if is_suppressed(finding):
            suppression = finding.suppressed
            assert suppression is not None
            rows.append(
                [
                    md_code(finding.check_id),
                    md_text(finding.resource),
                    md_text(suppression.reason),
                    md_text(suppression.owner or ""),
                    md_text(suppression.expires or t("suppressed.never", lang)),
                ]
            )
    if not rows:
        return ""
    header = _labels(["common.check", "finding.resource", "suppressed.reason", "common.owner", "suppressed.expires"],
                     lang)
    return f"### {t('suppressed.heading', lang)}\n\n{_limited_table(header, rows, lang)}"


def _limited_table(header: list[str], rows: list[list[str]], lang: str) -> str:
    table = _table(header, rows[:ROW_LIMIT])
    if len(rows) > ROW_LIMIT:
        table += f"\n\n{t('md.more', lang, n=len(rows) - ROW_LIMIT)}"
    return table


def _table(header: list[str], rows: list[list[str]], align_right_from: int | None = None) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell or " " for cell in cells) + " |"

    rule = [
        "---:" if align_right_from is not None and index >= align_right_from else "---"
        for index in range(len(header))
    ]
    return "\n".join([line(header), line(rule), *(line(row) for row in rows)])
