"""Run-over-run comparison, keyed by (check id, resource): what was fixed, what regressed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ems_readiness.engine.model import Change, ChangeSummary, Results, RunSummary, Status

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

    def as_dict(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "resource": self.resource,
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


def compare(baseline: Results, current: Results) -> Comparison:
    old = {(f.check_id, f.resource): f for f in baseline.findings()}
    seen: set[tuple[str, str]] = set()
    result = Comparison()
    for finding in current.findings():
        key = (finding.check_id, finding.resource)
        seen.add(key)
        before = old.get(key)
        change = classify(before.status if before else None, finding.status)
        result.entries.append(Entry(change, *key, before.status if before else None, finding.status, finding.message))
    # only a check that saw everything it looks at can vouch that a missing finding was fixed
    assessed_now = {c.id for c in current.checks
                    if c.status in ASSESSED and not any(f.status is Status.ERROR for f in c.findings)}
    for key, finding in old.items():
        if key in seen:
            continue
        if finding.status in BAD and finding.check_id in assessed_now:
            change = Change.FIXED  # the check ran and no longer reports the problem
            message = f"no longer reported: {finding.message}"
        else:
            change = Change.GONE
            message = f"not observed in this run: {finding.message}"
        result.entries.append(Entry(change, *key, finding.status, None, message))
    return result


def annotate(current: Results, baseline: Results) -> Comparison:
    """Mark every finding of `current` with its change and record the summary and trend."""
    comparison = compare(baseline, current)
    changes = {(e.check_id, e.resource): e.change for e in comparison.entries if e.new is not None}
    for finding in current.findings():
        finding.change = changes.get((finding.check_id, finding.resource))
    gone = []
    for entry in comparison.entries:
        if entry.new is None:
            old = next(f for f in baseline.findings() if (f.check_id, f.resource) == (entry.check_id, entry.resource))
            gone.append(old.model_copy(update={"change": entry.change, "suppressed": None}))
    current.baseline = ChangeSummary(
        baseline_scan_id=baseline.scan_id, baseline_started=baseline.started, counts=comparison.counts(), gone=gone)
    current.history = [*baseline.history, run_summary(baseline)][-50:]
    return comparison


def run_summary(results: Results) -> RunSummary:
    return RunSummary(scan_id=results.scan_id, started=results.started, findings=dict(results.totals.findings))


def render_text(comparison: Comparison) -> str:
    lines = []
    for change in (Change.FIXED, Change.REGRESSED, Change.NEW, Change.STILL_FAILING, Change.GONE):
        entries = comparison.by_change(change)
        lines.append(f"{change.value}: {len(entries)}")
        for e in entries:
            lines.append(f"  {e.check_id:8} {e.resource}  ({e.old.value if e.old else '-'} -> {e.new.value if e.new else '-'})")
    lines.append(f"unchanged: {len(comparison.by_change(Change.UNCHANGED))}")
    return "\n".join(lines)


def render_markdown(comparison: Comparison) -> str:
    from ems_readiness.reports.markdown import md_text as cell

    lines = ["| change | check | resource | before | now |", "| --- | --- | --- | --- | --- |"]
    for change in (Change.FIXED, Change.REGRESSED, Change.NEW, Change.STILL_FAILING, Change.GONE):
        for e in comparison.by_change(change):
            lines.append(f"| {change.value} | {e.check_id} | {cell(e.resource)} | {e.old.value if e.old else '-'} | {e.new.value if e.new else '-'} |")
    counts = ", ".join(f"{k}: {v}" for k, v in comparison.counts().items())
    return f"**Changes against the baseline** — {counts}\n\n" + "\n".join(lines) + "\n"
