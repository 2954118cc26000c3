"""Suppression files: strict parsing with one-line errors; matching, expiry and warnings."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from ems_readiness.engine.model import CheckResult, Finding, Results, Severity, Status, ToolInfo, Totals, Vantage
from ems_readiness.engine.suppressions import (
    SuppressionError,
    SuppressionRule,
    apply_suppressions,
    effective_status,
    is_suppressed,
    load_suppressions,
)

TODAY = date(2026, 6, 1)

VALID = """
[[suppress]]
check = "DNS-004"
resource = "fabrikam.test"
reason = "SPF merge planned with the mail migration"
owner = "mail-team@contoso.com"
expires = 2027-01-31

[[suppress]]
check = "DSY-003"
resource = "*@CORP.contoso.test"
reason = "objects being deleted"
expires = "2026-12-31"

[[suppress]]
check = "TLS-005"
reason = "legacy endpoint, whole check accepted"
"""


def write(tmp_path, text: str):
    path = tmp_path / "suppress.toml"
    path.write_text(text, encoding="utf-8")
    return path


def rule(check="DNS-004", resource="*", reason="accepted", owner=None, expires=None) -> SuppressionRule:
    return SuppressionRule(check=check, resource=resource, reason=reason, owner=owner, expires=expires, source="test")


def results_with(*checks: CheckResult) -> Results:
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    return Results(tool=ToolInfo(version="0"), scan_id="s", started=now, finished=now, mode="live",
                   vantage=Vantage(host="h"), checks=list(checks), responsibilities=[],
                   totals=Totals(checks={}, findings={}))


def check(id: str, status: Status, *findings: tuple[str, Status]) -> CheckResult:
    return CheckResult(id=id, title=id, area="dns", severity=Severity.MEDIUM, responsibilities=[], status=status,
                       findings=[Finding(check_id=id, resource=r, status=s, message=f"{r} {s.value}")
                                 for r, s in findings])


# ---------------------------------------------------------------- loading

def test_load_valid_file(tmp_path):
    rules = load_suppressions(write(tmp_path, VALID))
    assert [r.check for r in rules] == ["DNS-004", "DSY-003", "TLS-005"]
    assert rules[0].owner == "mail-team@contoso.com" and rules[0].expires == date(2027, 1, 31)
    assert rules[1].expires == date(2026, 12, 31) and rules[1].owner is None
    assert rules[2].resource == "*" and rules[2].expires is None


def test_empty_file_has_no_rules(tmp_path):
    assert load_suppressions(write(tmp_path, "# nothing accepted yet\n")) == []


@pytest.mark.parametrize("text, expected", [
    ('[[suppress]]\ncheck = "DNS-004"\nreason = "r"\nreasn = "typo"\n', "entry 1: unknown key 'reasn'"),
    ('[[suppress]]\ncheck = "DNS-004"\n', "entry 1: 'reason' is required"),
    ('[[suppress]]\ncheck = "DNS-004"\nreason = "   "\n', "entry 1: 'reason' is required"),
    ('[[suppress]]\nreason = "r"\n', "entry 1: 'check' is required"),
    ('[[suppress]]\ncheck = "A"\nreason = "r"\n[[suppress]]\ncheck = 4\nreason = "r"\n', "entry 2: 'check' must be a string, not int"),
    ('[[suppress]]\ncheck = "A"\nreason = "r"\nowner = ["x"]\n', "entry 1: 'owner' must be a string, not list"),
    ('[[suppress]]\ncheck = "A"\nreason = "r"\nexpires = "31/01/2027"\n', "entry 1: 'expires' must be a date like 2027-01-31"),
    ('[[suppress]]\ncheck = "A"\nreason = "r"\nexpires = 2027-01-31T10:00:00\n', "entry 1: 'expires' must be a date"),
    ('[[suppress]]\ncheck = "A"\nreason = "r"\nexpires = 20270131\n', "entry 1: 'expires' must be a date"),
    ('suppress = "DNS-004"\n', "'suppress' must be an array of tables"),
    ('[suppressions]\ncheck = "A"\n', "unknown top-level key 'suppressions'"),
    ('[[suppress]\ncheck = "A"\n', "not valid TOML"),
])
def test_invalid_file_is_one_line_naming_file_and_entry(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(SuppressionError) as raised:
        load_suppressions(path)
    message = str(raised.value)
    assert expected in message
    assert message.startswith(str(path)) and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(SuppressionError, match=r"missing\.toml: suppression file not found"):
        load_suppressions(tmp_path / "missing.toml")


def test_not_utf8(tmp_path):
    path = tmp_path / "suppress.toml"
    path.write_bytes(b'reason = "\xff"\n')
    with pytest.raises(SuppressionError, match="not UTF-8"):
        load_suppressions(path)


# ---------------------------------------------------------------- applying

def test_matching_non_pass_findings_are_suppressed():
    results = results_with(
        check("DNS-004", Status.FAIL, ("fabrikam.test", Status.FAIL), ("contoso.test", Status.FAIL)),
        check("DSY-003", Status.ERROR, ("a@corp.contoso.test", Status.ERROR), ("b@corp.contoso.test", Status.PASS)),
    )
    rules = [rule("DNS-004", "FABRIKAM.test", owner="mail"), rule("DSY-003", "*@corp.contoso.test")]
    assert apply_suppressions(results, rules, TODAY) == []
    dns, dsy = results.checks
    assert is_suppressed(dns.findings[0]) and dns.findings[0].suppressed.owner == "mail"
    assert not is_suppressed(dns.findings[1])
    assert is_suppressed(dsy.findings[0]) and dsy.findings[1].suppressed is None  # pass is never suppressed
    assert results.suppressed_count == 2


def test_pattern_and_check_must_both_match():
    results = results_with(check("DNS-004", Status.WARN, ("mail.fabrikam.test", Status.WARN)))
    warnings = apply_suppressions(results, [rule("DNS-004", "fabrikam.test"), rule("DNS-001", "*")], TODAY)
    assert results.suppressed_count == 0
    assert warnings == [
        "suppression test (DNS-004 fabrikam.test) matched no finding",
        "suppression test (DNS-001 *) matched no finding",
    ]


def test_expired_rule_does_not_suppress_and_warns():
    results = results_with(check("DNS-004", Status.FAIL, ("fabrikam.test", Status.FAIL)))
    expired = rule(resource="fabrikam.test", owner="mail", expires=date(2026, 5, 31))
    warnings = apply_suppressions(results, [expired], TODAY)
    finding = results.checks[0].findings[0]
    assert not is_suppressed(finding)
    assert finding.suppressed.expired and finding.suppressed.expires == "2026-05-31"
    assert results.suppressed_count == 0
    assert warnings == [
        "suppression test (DNS-004 fabrikam.test) expired on 2026-05-31 (owner mail); 1 finding(s) count again"
    ]


def test_rule_holds_through_its_expiry_day():
    results = results_with(check("DNS-004", Status.FAIL, ("fabrikam.test", Status.FAIL)))
    assert apply_suppressions(results, [rule(expires=TODAY)], TODAY) == []
    assert results.suppressed_count == 1


def test_live_rule_wins_over_expired_one():
    results = results_with(check("DNS-004", Status.FAIL, ("fabrikam.test", Status.FAIL)))
    rules = [rule(reason="old", expires=date(2020, 1, 1)), rule(reason="renewed", expires=date(2030, 1, 1))]
    warnings = apply_suppressions(results, rules, TODAY)
    finding = results.checks[0].findings[0]
    assert is_suppressed(finding) and finding.suppressed.reason == "renewed"
    assert len(warnings) == 1 and "expired on 2020-01-01" in warnings[0]


# ---------------------------------------------------------------- effective status

def test_effective_status_sets_suppressed_findings_aside():
    results = results_with(
        check("A", Status.FAIL, ("x", Status.FAIL), ("y", Status.WARN)),
        check("B", Status.FAIL, ("x", Status.FAIL)),
        check("C", Status.FAIL, ("x", Status.FAIL), ("y", Status.FAIL)),
        check("D", Status.ERROR),
    )
    apply_suppressions(results, [rule("A", "x"), rule("B", "x"), rule("C", "x")], TODAY)
    a, b, c, d = results.checks
    assert effective_status(a) is Status.WARN
    assert effective_status(b) is Status.PASS  # everything accepted
    assert effective_status(c) is Status.FAIL
    assert effective_status(d) is Status.ERROR  # nothing suppressed: the runner's status stands
