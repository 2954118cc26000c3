"""From check results to the responsibility checklist and the totals."""

from __future__ import annotations

from collections import Counter

from ems_readiness.engine.catalogues import PERFORM_REMEDIATION, REMEDIATION_CHECKLIST, RUN_ASSESSMENT_TOOLS, responsibilities
from ems_readiness.engine.check import rollup
from ems_readiness.engine.model import Change, CheckResult, ChangeSummary, ResponsibilityResult, Status, Totals


def responsibility_results(checks: list[CheckResult], baseline: ChangeSummary | None) -> list[ResponsibilityResult]:
    catalogue = responsibilities()
    out = []
    for item in catalogue.items:
        feeding = [c for c in checks if item.key in c.responsibilities]
        topics: dict[str, list[str]] = {}
        if item.key == REMEDIATION_CHECKLIST:
            for topic in catalogue.topics:
                topics[topic] = [c.id for c in feeding if c.topic == topic]
        status = rollup(Status(c.status) for c in feeding)
        value = status.value if status else "manual"
        if item.key == RUN_ASSESSMENT_TOOLS:
            value = "satisfied"
        elif item.key == PERFORM_REMEDIATION:
            value = remediation_status(baseline)
        out.append(ResponsibilityResult(
            key=item.key, phase=item.phase, text=item.text, status=value,  # type: ignore[arg-type]
            checks=[c.id for c in feeding], topics=topics,
        ))
    return out


def remediation_status(baseline: ChangeSummary | None) -> str:
    """Satisfied by a re-run that shows the checklist's findings fixed; manual without a baseline."""
    if baseline is None:
        return "manual"
    counts = baseline.counts
    if counts.get(Change.REGRESSED.value, 0) or counts.get(Change.STILL_FAILING.value, 0):
        return "fail"
    if counts.get(Change.FIXED.value, 0):
        return "satisfied"
    return "manual"


def totals(checks: list[CheckResult]) -> Totals:
    check_counts = Counter(c.status.value for c in checks)
    finding_counts = Counter(f.status.value for c in checks for f in c.findings)
    statuses = [s.value for s in Status]
    return Totals(
        checks={s: check_counts.get(s, 0) for s in statuses},
        findings={s: finding_counts.get(s, 0) for s in statuses},
    )
