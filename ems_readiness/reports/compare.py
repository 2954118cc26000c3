"""Run-over-run comparison, keyed by (check id, resource, site): what was fixed, what regressed.

The one definition of a change, used by results.json (`Finding.change`, `baseline.counts`,
`baseline.gone`), the report's chips and lists, summary.md and `ems-readiness diff`:

- **regressed**: passed in the baseline, fails or warns now;
- **new**: fails or warns now and was not in the baseline (or was not assessed there);
- **still failing**: failed or warned in both runs;
- **fixed**: failed or warned in the baseline and passes now, or is no longer reported by a
  check that assessed everything it looks at this time;
- **gone**: in the baseline, absent now, and no complete check vouches that it was fixed (the
  resource was removed, or its check did not run or could not assess it);
- **unchanged**: everything else (passed in both, or not assessed now).

A network finding carries its site, so a merged document compares with an earlier merge site by
site; tenant and directory findings have no site."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ems_readiness.engine.gc_pause import paused_cycle_collection
from ems_readiness.engine.model import Change, ChangeSummary, Finding, Results, RunSummary, Status
from ems_readiness.engine.sites import side_of

BAD = {Status.FAIL, Status.WARN}
ASSESSED = {Status.PASS, Status.FAIL, Status.WARN}


@dataclass
class Entry:
    change: Change
    check_id: str
    resource: str
    old: Status | None
    new: Status | None
    message: str
    site: str | None = None
    severity: str | None = None  # the check's

    @property
    def key(self) -> tuple[str, str, str | None]:
        return self.check_id, self.resource, self.site

    def as_dict(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "severity": self.severity, "resource": self.resource, "site": self.site,
                "old": self.old.value if self.old else None, "new": self.new.value if self.new else None,
                "message": self.message}


@dataclass
class Comparison:
    entries: list[Entry] = field(default_factory=list)

    def by_change(self, change: Change) -> list[Entry]:
        return [e for e in self.entries if e.change is change]

    def counts(self) -> dict[str, int]:
        return {c.value: len(self.by_change(c)) for c in Change}

    def as_dict(self) -> dict[str, Any]:
        return {c.value: [e.as_dict() for e in self.by_change(c)] for c in Change}


def classify(old: Status | None, new: Status) -> Change:
    if old is None or (old not in ASSESSED and new in BAD):
        return Change.NEW if new in BAD else Change.UNCHANGED
    if old in BAD and new is Status.PASS:
        return Change.FIXED
    if old is Status.PASS and new in BAD:
        return Change.REGRESSED
    if old in BAD and new in BAD:
        return Change.STILL_FAILING
    return Change.UNCHANGED


def finding_key(finding: Finding) -> tuple[str, str, str | None]:
    return finding.check_id, finding.resource, finding.site


def assessed_checks(results: Results) -> set[tuple[str, str | None]]:
    """(check id, site) pairs that saw everything they look at: only those can vouch that a
    missing finding was fixed. Network checks are judged per site; the others once (site None)."""
    out: set[tuple[str, str | None]] = set()
    for check in results.checks:
        if side_of(check) != "network":
            if check.status in ASSESSED and not any(f.status is Status.ERROR for f in check.findings):
                out.add((check.id, None))
            continue
        by_site: dict[str | None, set[Status]] = {}
        for finding in check.findings:
            by_site.setdefault(finding.site, set()).add(finding.status)
        for site, statuses in by_site.items():
            if statuses & ASSESSED and Status.ERROR not in statuses:
                out.add((check.id, site))
    return out


@paused_cycle_collection()
def compare(baseline: Results, current: Results) -> Comparison:
    severity = {c.id: c.severity.value for c in baseline.checks}
    severity.update({c.id: c.severity.value for c in current.checks})
    old = {finding_key(f): f for f in baseline.findings()}
    seen: set[tuple[str, str, str | None]] = set()
    result = Comparison()
    for finding in current.findings():
        key = finding_key(finding)
        seen.add(key)
        before = old.get(key)
        change = classify(before.status if before else None, finding.status)
        result.entries.append(Entry(change, key[0], key[1], before.status if before else None, finding.status,
                                    finding.message, key[2], severity.get(key[0])))
    assessed_now = assessed_checks(current)
    for key, finding in old.items():
        if key in seen:
            continue
        if finding.status in BAD and (key[0], key[2]) in assessed_now:
            change = Change.FIXED  # the check ran and no longer reports the problem
            message = f"no longer reported: {finding.message}"
        else:
            change = Change.GONE
            message = f"not observed in this run: {finding.message}"
        result.entries.append(Entry(change, key[0], key[1], finding.status, None, message, key[2],
                                    severity.get(key[0])))
    return result


@paused_cycle_collection()
def annotate(current: Results, baseline: Results) -> Comparison:
    """Mark every finding of `current` with its change and record the summary and trend."""
    comparison = compare(baseline, current)
    changes = {e.key: e.change for e in comparison.entries if e.new is not None}
    for finding in current.findings():
        finding.change = changes.get(finding_key(finding))
    gone = []
    old_findings = {finding_key(f): f for f in baseline.findings()}
    for entry in comparison.entries:
        if entry.new is None:
            old = old_findings[entry.key]
            gone.append(old.model_copy(update={"change": entry.change, "suppressed": None}))
    current.baseline = ChangeSummary(
        baseline_scan_id=baseline.scan_id, baseline_started=baseline.started, counts=comparison.counts(), gone=gone)
    current.history = [*baseline.history, run_summary(baseline)][-50:]
    return comparison


def run_summary(results: Results) -> RunSummary:
    return RunSummary(scan_id=results.scan_id, started=results.started, findings=dict(results.totals.findings))


LISTED = (Change.REGRESSED, Change.NEW, Change.STILL_FAILING, Change.FIXED, Change.GONE)
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def listed(comparison: Comparison, change: Change) -> list[Entry]:
    """The entries of one change, most severe first."""
    return sorted(comparison.by_change(change),
                  key=lambda e: (SEVERITY_RANK.get(e.severity or "", 5), e.check_id, e.resource, e.site or ""))


def worsened(comparison: Comparison) -> bool:
    """Anything regressed or new: `diff` exits 1."""
    return bool(comparison.by_change(Change.REGRESSED) or comparison.by_change(Change.NEW))


def render_text(comparison: Comparison) -> str:
    lines = []
    for change in LISTED:
        entries = listed(comparison, change)
        lines.append(f"{change.value}: {len(entries)}")
        for e in entries:
            where = f" @ {e.site}" if e.site else ""
            lines.append(f"  {e.check_id:8} {(e.severity or '-'):8} {e.resource}{where}"
                         f"  ({e.old.value if e.old else '-'} -> {e.new.value if e.new else '-'})")
    lines.append(f"unchanged: {len(comparison.by_change(Change.UNCHANGED))}")
    return "\n".join(lines)


def render_markdown(comparison: Comparison) -> str:
    from ems_readiness.reports.markdown import md_text as cell

    lines = ["| change | check | severity | resource | site | before | now |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for change in LISTED:
        for e in listed(comparison, change):
            lines.append(f"| {change.value} | {e.check_id} | {e.severity or '-'} | {cell(e.resource)} | {cell(e.site or '')} | "
                         f"{e.old.value if e.old else '-'} | {e.new.value if e.new else '-'} |")
    counts = ", ".join(f"{k}: {v}" for k, v in comparison.counts().items())
    return f"**Changes against the baseline** — {counts}\n\n" + "\n".join(lines) + "\n"
