"""The exit code of an assessment (`--fail-on`, `--fail-on-error`); pure logic over the results.

0: nothing at or above `fail_on` failed. 1: something did (or, with `fail_on_error`, a check
could not assess). Exit codes 2 (bad input) and 3 (tenant unreachable) are decided by the CLI
before there are results.

- Severity is the check's: a finding has none of its own.
- A failure is an unsuppressed `fail` finding, or a check in status `fail` that has no `fail`
  finding at all (nothing to suppress). Suppressed findings never count (see `suppressions`).
- `fail_on_error` is independent of `fail_on`: an unsuppressed `error` finding, or a check in
  status `error` with no finding that explains it, gives 1 even with `--fail-on none`.
"""

from __future__ import annotations

from ems_readiness.engine.model import CheckResult, Results, Severity, Status
from ems_readiness.engine.suppressions import is_suppressed

EXIT_OK = 0
EXIT_FINDINGS = 1
FAIL_ON_CHOICES = ("none", "info", "low", "medium", "high", "critical")


def exit_code(results: Results, fail_on: str, fail_on_error: bool) -> int:
    threshold = _threshold(fail_on)
    for check in results.checks:
        if threshold is not None and check.severity.rank >= threshold.rank and _has_active(check, Status.FAIL):
            return EXIT_FINDINGS
        if fail_on_error and _has_active(check, Status.ERROR):
            return EXIT_FINDINGS
    return EXIT_OK


def _threshold(fail_on: str) -> Severity | None:
    if fail_on not in FAIL_ON_CHOICES:
        raise ValueError(f"--fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {fail_on!r}")
    return None if fail_on == "none" else Severity(fail_on)


def _has_active(check: CheckResult, status: Status) -> bool:
    with_status = [f for f in check.findings if f.status is status]
    if with_status:
        return any(not is_suppressed(f) for f in with_status)
    return check.status is status
