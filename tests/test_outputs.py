"""junit.xml, results.sarif, summary.md and findings.csv: valid for their consumers, hostile text inert."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from lxml import etree

from ems_readiness.engine.model import (
    Change,
    ChangeSummary,
    CheckResult,
    Finding,
    Results,
    Severity,
    Status,
    Suppression,
    ToolInfo,
    Vantage,
)
from ems_readiness.engine.rollup import responsibility_results, totals
from ems_readiness.reports import csv_actions, csv_findings, github, junit, markdown, sarif
from ems_readiness.reports.actions import build_plan

SCHEMAS = Path(__file__).parent / "data" / "schemas"

SCRIPT = "<script>alert('x')</script>"
CDATA_END = "]]> & \"quoted\""
CSV_FORMULA = "=cmd|' /C calc'!A0"
CONTROL = "red\x1b[31m\x00bell\x07 | pipe `tick` *bold* [link](http://evil.test)"
CHINESE = "证书已过期，请联系证书颁发机构"


def finding(check_id: str, resource: str, status: Status, message: str, **extra) -> Finding:
    return Finding(check_id=check_id, resource=resource, status=status, message=message, **extra)


def make_check(id: str, area: str, severity: Severity, status: Status, findings: list[Finding], **extra) -> CheckResult:
    return CheckResult(
        id=id,
        title=f"{id} title",
        area=area,
        severity=severity,
        responsibilities=extra.pop("responsibilities", ["assess.remediation-checklist", "enable.network"]),
        topic="network",
        why=f"Why {id} matters.",
        fix=f"How to fix {id}.",
        status=status,
        duration_ms=12.5,
        findings=findings,
        **extra,
    )


def realistic_results() -> Results:
    checks = [
        make_check("DNS-001", "dns", Severity.HIGH, Status.FAIL, [
            finding("DNS-001", "contoso.test", Status.FAIL, f"CNAME missing {SCRIPT}",
                    expected="enterpriseenrollment-s.manage.microsoft.com", observed=CDATA_END, change=Change.NEW),
            finding("DNS-001", "fabrikam.test", Status.PASS, "CNAME present", change=Change.UNCHANGED),
            finding("DNS-001", CSV_FORMULA, Status.FAIL, "hostile resource name", change=Change.STILL_FAILING),
        ]),
        make_check("DNS-004", "dns", Severity.MEDIUM, Status.FAIL, [
            finding("DNS-004", "fabrikam.test", Status.WARN, CONTROL),
            finding("DNS-004", "mail.contoso.test", Status.FAIL, "two SPF records",
                    suppressed=Suppression(reason="SPF merge planned", owner="mail-team", expires="2099-01-31")),
        ]),
        make_check("TLS-001", "tls", Severity.HIGH, Status.FAIL, [
            finding("TLS-001", "sts.contoso.test:443", Status.FAIL, CHINESE, change=Change.REGRESSED),
            finding("TLS-001", "mail.contoso.test:443", Status.PASS, "valid for 200 days", change=Change.FIXED),
        ], responsibilities=["general.public-ssl-certificates"]),
        make_check("LIC-001", "licensing", Severity.HIGH, Status.ERROR, [],
                   reason="permission Organization.Read.All missing", responsibilities=["enable.services"]),
        make_check("INT-003", "intune", Severity.LOW, Status.SKIP, [], reason="delegated-only read under app-only auth",
                   responsibilities=["general.intune-terms-of-use"]),
        make_check("DSY-004", "directory-sync", Severity.MEDIUM, Status.ERROR, [
            finding("DSY-004", "user@contoso.test", Status.ERROR, "Graph timed out"),
            finding("DSY-004", "admin@contoso.test", Status.PASS, "UPN suffix verified"),
        ], responsibilities=["enable.directory-sync"]),
        make_check("NET-001", "network", Severity.HIGH, Status.PASS, [
            finding("NET-001", "login.microsoftonline.com:443", Status.PASS, "reachable"),
        ]),
    ]
    started = datetime(2025, 3, 1, 2, 17, 5, tzinfo=timezone.utc)
    baseline = ChangeSummary(
        baseline_scan_id="scan-previous",
        baseline_started=started - timedelta(days=1),
        counts={"fixed": 1, "regressed": 1, "new": 1, "still-failing": 1, "unchanged": 1, "gone": 1},
        gone=[finding("DNS-002", "old.contoso.test", Status.FAIL, "removed")],
    )
    return Results(
        tool=ToolInfo(version="0.1.0"),
        scan_id="scan-current",
        started=started,
        finished=started + timedelta(seconds=42),
        mode="live",
        tenant_id="6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11",
        tenant_name=f"Contoso {SCRIPT}",
        vantage=Vantage(host="scanner01", resolvers={"public": "1.1.1.1"}),
        checks=checks,
        responsibilities=responsibility_results(checks, baseline),
        totals=totals(checks),
        baseline=baseline,
        suppressed_count=1,
    )


def all_findings(results: Results) -> list[Finding]:
    return list(results.findings())


# ---------------------------------------------------------------- junit.xml

def test_junit_is_valid_against_the_ant_schema():
    xml = junit.render(realistic_results())
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit.xsd")))
    document = etree.fromstring(xml.encode("utf-8"))
    assert schema.validate(document), schema.error_log


def test_junit_one_test_case_per_check_with_outcomes():
    results = realistic_results()
    root = ET.fromstring(junit.render(results))
    cases = {case.get("name").split()[0]: case for case in root.iter("testcase")}
    assert set(cases) == {check.id for check in results.checks}
    assert cases["DNS-001"].get("classname") == "ems-readiness.dns"
    assert cases["DNS-001"].get("name") == "DNS-001 DNS-001 title"
    assert cases["DNS-001"].find("failure").get("type") == "high"
    assert cases["TLS-001"].find("failure") is not None
    assert cases["LIC-001"].find("error").get("message") == "permission Organization.Read.All missing"
    assert cases["DSY-004"].find("error") is not None
    assert cases["INT-003"].find("skipped").get("message") == "delegated-only read under app-only auth"
    # DNS-004's only failure is suppressed: a warning alone passes
    assert list(cases["DNS-004"]) == [] and list(cases["NET-001"]) == []
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert suites["dns"].get("tests") == "2" and suites["dns"].get("failures") == "1"
    assert [suite.get("id") for suite in root.iter("testsuite")] == [str(i) for i in range(len(suites))]


def test_junit_carries_hostile_text_as_text():
    root = ET.fromstring(junit.render(realistic_results()))
    failure = next(case for case in root.iter("testcase") if case.get("name").startswith("DNS-001")).find("failure")
    assert SCRIPT in failure.text and CDATA_END in failure.text and CSV_FORMULA in failure.text
    assert "expected: enterpriseenrollment-s.manage.microsoft.com" in failure.text
    dns_out = next(s for s in root.iter("testsuite") if s.get("name") == "dns").find("system-out").text
    assert "\\x1b" in dns_out and "\\x00" in dns_out and "\x1b" not in dns_out  # illegal in XML 1.0: shown, not dropped
    assert "suppressed, owner mail-team, until 2099-01-31" in dns_out and "SPF merge planned" in dns_out
    tls = next(case for case in root.iter("testcase") if case.get("name").startswith("TLS-001"))
    assert CHINESE in tls.find("failure").text


def test_junit_tolerates_empty_results():
    results = realistic_results()
    results.checks = []
    xml = junit.render(results)
    assert etree.XMLSchema(etree.parse(str(SCHEMAS / "junit.xsd"))).validate(etree.fromstring(xml.encode()))


# ---------------------------------------------------------------- results.sarif

def sarif_validator():
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def test_sarif_is_valid_against_the_2_1_0_schema():
    log = json.loads(sarif.render(realistic_results()))
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_sarif_driver_and_rules():
    results = realistic_results()
    run = json.loads(sarif.render(results))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ems-readiness" and driver["version"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    assert [rule["id"] for rule in driver["rules"]] == [check.id for check in results.checks]
    rule = driver["rules"][0]
    assert rule["shortDescription"]["text"] == "DNS-001 title"
    assert rule["fullDescription"]["text"] == "Why DNS-001 matters."
    assert rule["help"]["text"] == "How to fix DNS-001." and "How to fix DNS-001." in rule["help"]["markdown"]
    assert rule["defaultConfiguration"]["level"] == "error"
    assert {"dns", "assess.remediation-checklist", "enable.network"} <= set(rule["properties"]["tags"])
    assert rule["properties"]["security-severity"] == "8.0"


def test_sarif_results_levels_and_locations():
    run = json.loads(sarif.render(realistic_results()))["runs"][0]
    by_key = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]): r for r in run["results"]}
    assert set(by_key) == {
        ("DNS-001", "contoso.test"), ("DNS-001", CSV_FORMULA), ("DNS-004", "fabrikam.test"),
        ("DNS-004", "mail.contoso.test"), ("TLS-001", "sts.contoso.test:443"),
        ("LIC-001", "LIC-001"), ("DSY-004", "user@contoso.test"),
    }  # no pass, no skip
    assert by_key[("DNS-001", "contoso.test")]["level"] == "error"       # fail, high
    assert by_key[("DNS-004", "mail.contoso.test")]["level"] == "warning"  # fail, medium
    assert by_key[("DNS-004", "fabrikam.test")]["level"] == "warning"     # warn
    assert by_key[("DSY-004", "user@contoso.test")]["level"] == "note"    # error
    assert by_key[("LIC-001", "LIC-001")]["message"]["text"] == "permission Organization.Read.All missing"
    for result in run["results"]:
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "results.json"
        assert location["logicalLocations"][0]["kind"] == "resource"
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    suppressed = by_key[("DNS-004", "mail.contoso.test")]["suppressions"]
    assert suppressed == [{"kind": "external", "status": "accepted", "justification": "SPF merge planned",
                           "properties": {"owner": "mail-team", "expires": "2099-01-31"}}]
    assert "suppressions" not in by_key[("DNS-001", "contoso.test")]
    assert SCRIPT in by_key[("DNS-001", "contoso.test")]["message"]["text"]


def test_sarif_fingerprints_are_stable_and_distinct():
    first = json.loads(sarif.render(realistic_results()))["runs"][0]["results"]
    second = json.loads(sarif.render(realistic_results()))["runs"][0]["results"]
    prints = [r["partialFingerprints"]["emsReadiness/v1"] for r in first]
    assert prints == [r["partialFingerprints"]["emsReadiness/v1"] for r in second]
    assert len(set(prints)) == len(prints)
    assert sarif.fingerprint("DNS-001", "contoso.test") != sarif.fingerprint("DNS-001", "fabrikam.test")
    assert sarif.fingerprint("DNS-001", "a") != sarif.fingerprint("DNS-002", "a")
    assert sarif.fingerprint("DNS-001", "contoso.test") == hashlib.sha256(b"DNS-001\ncontoso.test").hexdigest()


# ---------------------------------------------------------------- findings.csv

def parse_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_csv_one_row_per_finding_with_plan_columns_empty():
    results = realistic_results()
    text = csv_findings.render(results)
    raw = text.encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = parse_csv(text)
    # every finding, plus one check-level row for LIC-001, which errored without findings
    assert len(rows) == len(all_findings(results)) + 1
    assert all(row["Owner"] == "" and row["Due date"] == "" and row["Notes"] == "" for row in rows)
    assert [row["Status"] for row in rows[:3]] == ["Fail", "Fail", "Fail"]  # words, in the report's language
    assert rows[-2]["Status"] == "Pass" and rows[-1]["Suppression reason"] == "SPF merge planned"  # suppressed last
    lic = next(row for row in rows if row["Check"] == "LIC-001")
    assert lic["Status"] == "Error" and lic["Needed for (FastTrack phase)"].endswith(" phase") and lic["Finding"] == "permission Organization.Read.All missing"
    suppressed = next(row for row in rows if row["Resource"] == "mail.contoso.test" and row["Check"] == "DNS-004")
    assert suppressed["Suppression reason"] == "SPF merge planned"


def test_csv_neutralises_formulas_and_keeps_text():
    rows = parse_csv(csv_findings.render(realistic_results()))
    resources = [row["Resource"] for row in rows]
    assert "'" + CSV_FORMULA in resources and CSV_FORMULA not in resources
    assert any(row["Finding"] == CHINESE for row in rows)
    assert any(SCRIPT in row["Finding"] for row in rows)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("＝1", "'＝1"), ("a=1", "a=1"), ("", ""), (None, ""),
    ("a\x1b[31mb\x00", "a\\x1b[31mb\\x00"), ("line\nbreak", "line\nbreak"),
])
def test_csv_cell(value, expected):
    assert csv_findings.csv_cell(value) == expected


def test_csv_headers_follow_the_language():
    rows = parse_csv(csv_findings.render(realistic_results(), lang="zh-CN"))
    assert "负责人" in rows[0] and "截止日期" in rows[0]
    assert {row["状态"] for row in rows} <= {"失败", "错误", "警告", "通过", "跳过"}
    assert {row["严重性"] for row in rows} <= {"信息", "低", "中", "高", "严重"}


def test_actions_csv_has_one_row_per_action_with_the_plan_columns_to_fill():
    results = realistic_results()
    results.settings["owners"] = {"dns-admin": "Li Wei"}
    rows = parse_csv(csv_actions.render(results))
    plan = build_plan(results, "en")
    assert [row["Action"] for row in rows] == [action.title for action in plan] and rows
    assert [row["No."] for row in rows] == [str(n) for n in range(1, len(rows) + 1)]
    for row, action in zip(rows, plan):
        assert row["What to do"].startswith(action.fix) and row["Findings cleared"] == str(action.cleared)
        assert row["Due date"] == "" and row["Notes"] == ""
        assert row["Owner"] == ("Li Wei" if action.owner_role == "dns-admin" else "")
    assert {row["Status"] for row in rows} <= {"Fail", "Error", "Warning"}
    assert "负责角色" in parse_csv(csv_actions.render(results, "zh-CN"))[0]


# ---------------------------------------------------------------- summary.md

def test_markdown_has_counts_failing_checks_and_baseline_changes():
    text = markdown.render(realistic_results())
    # fail, error, warn, pass, skip; DNS-004 is a warning once its failure is suppressed
    assert "| Checks | 2 | 2 | 1 | 1 | 1 |" in text
    assert "| Findings | 3 | 1 | 1 | 4 | 0 |" in text
    # it leads with the top actions, each with its owner and fix
    assert text.index("### Top actions") < text.index("### Failing checks")
    assert "Owner: Certificate (PKI) owner" in text
    # each failing check once, with the responsibilities it feeds
    failing = text[text.index("### Failing checks"):text.index("### Could not assess")]
    assert failing.count("`TLS-001`") == 1 and "`DNS-001`" in failing
    assert "`general.public-ssl-certificates`" in failing
    assert "actions.csv" in text and "findings.csv" in text  # where the rest is
    assert "### Since the baseline" in text and "`scan-previous`" in text
    assert "| Regressed | New | Fixed | Still failing | Unchanged | Gone |" in text
    assert "| 1 | 1 | 1 | 1 | 1 | 1 |" in text
    assert "| Regressed | `TLS-001` | sts.contoso.test:443 |" in text
    assert "| Fixed | `TLS-001` | mail.contoso.test:443 |" in text
    assert "### Could not assess" in text and "permission Organization.Read.All missing" in text
    assert "### Suppressed findings" in text and "SPF merge planned" in text
    assert "1 suppressed" in text


def test_markdown_neutralises_hostile_text():
    text = markdown.render(realistic_results())
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\x1b" not in text and "\x00" not in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")
    assert markdown.md_text("a|b\nc`d*e_[f](g)") == "a\\|b c\\`d\\*e\\_\\[f\\](g)"
    assert markdown.md_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert markdown.md_code("a|b`c\nd_e") == "`a\\|b'c d_e`"
    assert markdown.md_code("") == ""


def test_markdown_in_chinese():
    text = markdown.render(realistic_results(), lang="zh-CN")
    assert "失败的检查" in text and "首要操作" in text and "与基线相比" in text and "已抑制的结果" in text


def test_markdown_without_failures_or_baseline():
    results = realistic_results()
    results.checks = [c for c in results.checks if c.id == "NET-001"]
    results.baseline = None
    text = markdown.render(results)
    assert "No check failed." in text and "Since the baseline" not in text


# ---------------------------------------------------------------- $GITHUB_STEP_SUMMARY

def test_step_summary_appended_when_set(tmp_path, monkeypatch):
    summary = tmp_path / "summary"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert github.append_step_summary("## 摘要\n") is True
    assert summary.read_text(encoding="utf-8") == "earlier step\n## 摘要\n"


def test_step_summary_skipped_when_unset_or_unwritable(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert github.append_step_summary("x") is False
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "summary"))
    assert github.append_step_summary("x") is False


def test_step_summary_bounded(tmp_path, monkeypatch):
    summary = tmp_path / "summary"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert github.append_step_summary("界" * github.STEP_SUMMARY_LIMIT_BYTES)
    assert len(summary.read_bytes()) <= github.STEP_SUMMARY_LIMIT_BYTES
    assert "summary truncated" in summary.read_text(encoding="utf-8")
