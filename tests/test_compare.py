from datetime import datetime, timezone

from ems_readiness.engine.model import (
    Change, CheckResult, Finding, Results, Severity, Status, ToolInfo, Vantage,
)
from ems_readiness.engine.rollup import responsibility_results, totals
from ems_readiness.reports.compare import annotate, classify, compare


def results(findings, check_status=Status.FAIL, scan_id="s1"):
    check = CheckResult(id="DNS-001", title="t", area="dns", severity=Severity.HIGH,
                        responsibilities=["enable.network"], status=check_status,
                        findings=[Finding(check_id="DNS-001", resource=r, status=s, message=f"{r} {s.value}")
                                  for r, s in findings])
    now = datetime.now(timezone.utc)
    return Results(tool=ToolInfo(version="0"), scan_id=scan_id, started=now, finished=now, mode="demo",
                   vantage=Vantage(host="h"), checks=[check], responsibilities=responsibility_results([check], None),
                   totals=totals([check]))


def test_classification():
    assert classify(Status.FAIL, Status.PASS) is Change.FIXED
    assert classify(Status.WARN, Status.PASS) is Change.FIXED
    assert classify(Status.PASS, Status.FAIL) is Change.REGRESSED
    assert classify(Status.FAIL, Status.FAIL) is Change.STILL_FAILING
    assert classify(None, Status.FAIL) is Change.NEW
    assert classify(Status.PASS, Status.PASS) is Change.UNCHANGED
    assert classify(Status.FAIL, Status.ERROR) is Change.UNCHANGED  # could not see: never claimed fixed
    assert classify(Status.ERROR, Status.FAIL) is Change.NEW  # first seen failing now that it can be assessed
    assert classify(Status.SKIP, Status.WARN) is Change.NEW


def test_findings_compared_by_check_and_resource():
    old = results([("a.test", Status.FAIL), ("b.test", Status.PASS), ("c.test", Status.FAIL), ("gone.test", Status.FAIL)])
    new = results([("a.test", Status.PASS), ("b.test", Status.FAIL), ("c.test", Status.FAIL), ("d.test", Status.FAIL)],
                  scan_id="s2")
    comparison = compare(old, new)
    counts = comparison.counts()
    assert counts["fixed"] == 2  # a.test, and gone.test no longer reported by a check that ran
    assert counts["regressed"] == 1 and counts["still-failing"] == 1 and counts["new"] == 1


def test_absent_finding_of_a_check_that_could_not_run_is_not_fixed():
    old = results([("x.test", Status.FAIL)])
    new = results([], check_status=Status.ERROR, scan_id="s2")
    assert compare(old, new).counts()["gone"] == 1


def test_annotate_marks_findings_and_carries_history():
    old = results([("a.test", Status.FAIL)])
    new = results([("a.test", Status.PASS)], scan_id="s2")
    annotate(new, old)
    assert new.checks[0].findings[0].change is Change.FIXED
    assert new.baseline.counts["fixed"] == 1
    assert [h.scan_id for h in new.history] == ["s1"]
    third = results([("a.test", Status.PASS)], scan_id="s3")
    annotate(third, new)
    assert [h.scan_id for h in third.history] == ["s1", "s2"]
    statuses = {r.key: r.status for r in responsibility_results(new.checks, new.baseline)}
    assert statuses["remediate.perform-remediation"] == "satisfied"
    assert statuses["assess.run-assessment-tools"] == "satisfied"
    assert statuses["general.hardware-network"] == "manual"


def test_a_check_that_saw_only_part_cannot_vouch_for_missing_findings():
    old = results([("group:Sales", Status.FAIL), ("user:a", Status.FAIL)])
    new = results([("user:a", Status.FAIL), ("DNS-001 (not completed)", Status.ERROR)], scan_id="s2")
    counts = compare(old, new).counts()
    assert counts["fixed"] == 0 and counts["gone"] == 1 and counts["still-failing"] == 1


def test_a_check_that_stops_part_way_keeps_what_it_saw_and_says_what_it_did_not():
    import asyncio

    from ems_readiness.engine.check import check
    from ems_readiness.engine.context import CheckContext, Probes
    from ems_readiness.engine.profile import Profile
    from ems_readiness.probes.base import ProbeError
    from ems_readiness.engine.runner import run_check

    @check(id="TST-001", title="t", area="testing", severity="low", responsibilities=["enable.services"],
           why="w", fix="f")
    async def half(ctx):
        ctx.passed("first", "seen")
        raise ProbeError("the second read timed out")

    ctx = CheckContext(half, Profile(), Probes(None, None, None, None), None)
    result = asyncio.run(run_check(half, ctx))
    assert result.status is Status.ERROR
    assert [f.status for f in result.findings] == [Status.PASS, Status.ERROR]
    assert "timed out" in result.findings[1].message
