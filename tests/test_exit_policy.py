"""`--fail-on` / `--fail-on-error`: every branch of the exit policy."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ems_readiness.engine.exit_policy import EXIT_FINDINGS, EXIT_OK, exit_code
from ems_readiness.engine.model import (
    CheckResult, Finding, Results, Severity, Status, Suppression, ToolInfo, Totals, Vantage,
)

ACCEPTED = Suppression(reason="accepted", expires="2099-01-01")
EXPIRED = Suppression(reason="accepted", expires="2020-01-01", expired=True)


def finding(status: Status, suppressed: Suppression | None = None) -> Finding:
    return Finding(check_id="X-001", resource="r", status=status, message="m", suppressed=suppressed)


def results(status: Status, severity: Severity = Severity.HIGH, findings: list[Finding] | None = None) -> Results:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    check = CheckResult(id="X-001", title="t", area="a", severity=severity, responsibilities=[], status=status,
                        findings=findings if findings is not None else [finding(status)])
    return Results(tool=ToolInfo(version="0"), scan_id="s", started=now, finished=now, mode="live",
                   vantage=Vantage(host="h"), checks=[check], responsibilities=[],
                   totals=Totals(checks={}, findings={}))


@pytest.mark.parametrize("fail_on, severity, expected", [
    ("high", Severity.CRITICAL, EXIT_FINDINGS),
    ("high", Severity.HIGH, EXIT_FINDINGS),    # at the threshold
    ("high", Severity.MEDIUM, EXIT_OK),        # below it
    ("low", Severity.LOW, EXIT_FINDINGS),
    ("low", Severity.INFO, EXIT_OK),
    ("critical", Severity.HIGH, EXIT_OK),
    ("none", Severity.CRITICAL, EXIT_OK),      # none never fails
])
def test_failed_finding_against_threshold(fail_on, severity, expected):
    assert exit_code(results(Status.FAIL, severity), fail_on, fail_on_error=False) == expected


def test_passing_and_warning_results_never_fail():
    assert exit_code(results(Status.PASS), "low", fail_on_error=True) == EXIT_OK
    assert exit_code(results(Status.WARN), "low", fail_on_error=True) == EXIT_OK
    assert exit_code(results(Status.SKIP), "low", fail_on_error=True) == EXIT_OK


def test_suppressed_failure_does_not_count():
    assert exit_code(results(Status.FAIL, findings=[finding(Status.FAIL, ACCEPTED)]), "low", False) == EXIT_OK


def test_expired_suppression_counts_again():
    assert exit_code(results(Status.FAIL, findings=[finding(Status.FAIL, EXPIRED)]), "low", False) == EXIT_FINDINGS


def test_one_unsuppressed_failure_among_suppressed_ones_counts():
    findings = [finding(Status.FAIL, ACCEPTED), finding(Status.FAIL)]
    assert exit_code(results(Status.FAIL, findings=findings), "high", False) == EXIT_FINDINGS


def test_check_failed_without_findings_counts():
    assert exit_code(results(Status.FAIL, findings=[]), "high", False) == EXIT_FINDINGS


def test_check_failed_with_only_pass_findings_counts():
    assert exit_code(results(Status.FAIL, findings=[finding(Status.PASS)]), "high", False) == EXIT_FINDINGS


def test_error_alone_does_not_fail_without_fail_on_error():
    assert exit_code(results(Status.ERROR), "low", fail_on_error=False) == EXIT_OK
    assert exit_code(results(Status.ERROR, findings=[]), "low", fail_on_error=False) == EXIT_OK


def test_error_fails_with_fail_on_error():
    assert exit_code(results(Status.ERROR), "high", fail_on_error=True) == EXIT_FINDINGS
    assert exit_code(results(Status.ERROR, findings=[]), "high", fail_on_error=True) == EXIT_FINDINGS  # check-level
    # independent of the severity threshold
    assert exit_code(results(Status.ERROR, Severity.LOW), "none", fail_on_error=True) == EXIT_FINDINGS


def test_error_finding_in_a_failing_check_counts_with_fail_on_error():
    findings = [finding(Status.FAIL, ACCEPTED), finding(Status.ERROR)]
    assert exit_code(results(Status.FAIL, findings=findings), "high", fail_on_error=False) == EXIT_OK
    assert exit_code(results(Status.FAIL, findings=findings), "high", fail_on_error=True) == EXIT_FINDINGS


def test_suppressed_error_does_not_count():
    findings = [finding(Status.ERROR, ACCEPTED)]
    assert exit_code(results(Status.ERROR, findings=findings), "high", fail_on_error=True) == EXIT_OK


def test_no_checks():
    empty = results(Status.PASS)
    empty.checks = []
    assert exit_code(empty, "low", fail_on_error=True) == EXIT_OK


def test_unknown_threshold_is_rejected():
    with pytest.raises(ValueError, match="--fail-on must be one of"):
        exit_code(results(Status.FAIL), "severe", fail_on_error=False)
