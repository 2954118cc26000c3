"""The action plan: findings grouped by the remediation they call for (reports/actions.py)."""

from __future__ import annotations

from datetime import datetime, timezone

from ems_readiness.engine.model import (
    ActionRef, Change, CheckResult, Finding, Results, Status, Suppression, ToolInfo, Totals, Vantage,
)
from ems_readiness.reports.actions import build_plan, needed_for
from ems_readiness.reports.resources import resource_label

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
CNAME = ActionRef(key="dns.publish-cname", params={"name": "enterpriseenrollment.contoso.test",
                                                    "target": "enterpriseenrollment-s.manage.microsoft.com"})


def check(id, area, severity, status, findings, responsibilities=("assess.remediation-checklist", "enable.network"),
          owner=None, fix="Fix it."):
    return CheckResult(id=id, title=f"{id} title", area=area, severity=severity, responsibilities=list(responsibilities),
                       topic="network", owner=owner, fix=fix, status=status, findings=findings)


def finding(check_id, resource, status, action=None, change=None, remediation=None, suppressed=None):
    return Finding(check_id=check_id, resource=resource, status=status, message=f"{resource} is wrong",
                   remediation=remediation, action=action, change=change, suppressed=suppressed)


def results(checks, owners=None) -> Results:
    return Results(tool=ToolInfo(version="0"), scan_id="s", started=NOW, finished=NOW, mode="demo",
                   vantage=Vantage(host="h"), settings={"owners": owners or {}}, checks=checks, responsibilities=[],
                   totals=Totals(checks={}, findings={}))


def test_findings_that_share_an_action_are_one_row_across_checks():
    plan = build_plan(results([
        check("DNS-001", "dns", "high", Status.FAIL, [finding("DNS-001", "enterpriseenrollment.contoso.test",
                                                              Status.FAIL, CNAME, Change.REGRESSED, "Publish it.")]),
        check("DNS-003", "dns", "medium", Status.FAIL, [finding("DNS-003", "enterpriseenrollment.contoso.test CNAME",
                                                                Status.FAIL, CNAME, Change.NEW, "At your host, publish it.")]),
        check("DNS-005", "dns", "medium", Status.FAIL, [finding("DNS-005", "enterpriseenrollment.contoso.test CNAME",
                                                                Status.FAIL, CNAME, Change.STILL_FAILING)]),
    ]), "en")
    [row] = plan
    assert row.key == "dns.publish-cname" and row.checks == ["DNS-001", "DNS-003", "DNS-005"]
    assert row.cleared == 3 and row.severity == "high" and (row.regressed, row.new) == (1, 1)
    assert row.fix == "Publish it."  # the most severe check's fix leads
    assert [item.fix for item in row.items] == [None, "At your host, publish it.", None]
    assert row.owner == "DNS administrator" and row.owner_role == "dns-admin"
    assert (row.phase, row.responsibility) == ("enable", "enable.network")


def test_failures_come_first_then_what_could_not_be_assessed_then_warnings():
    plan = build_plan(results([
        check("RMS-001", "directory", "low", Status.WARN, [finding("RMS-001", "AD RMS SCP", Status.WARN)]),
        check("INT-001", "intune", "high", Status.ERROR, []),
        check("TLS-001", "tls", "high", Status.WARN, [finding("TLS-001", "sts:443", Status.WARN)]),
        check("DNS-004", "dns", "medium", Status.FAIL, [finding("DNS-004", "fabrikam.test", Status.FAIL)]),
    ]), "en")
    assert [(a.status, a.checks[0]) for a in plan] == [
        ("fail", "DNS-004"), ("error", "INT-001"), ("warn", "TLS-001"), ("warn", "RMS-001")]


def test_without_an_action_a_checks_findings_of_one_status_are_one_row():
    findings = [finding("DSY-003", f"user:u{i}@contoso.test:ProxyAddress", Status.FAIL, remediation=f"Fix u{i}.")
                for i in range(5)]
    findings.append(finding("DSY-003", "user:x@contoso.test:ProxyAddress", Status.WARN))
    findings.append(finding("DSY-003", "user:ok@contoso.test:ProxyAddress", Status.PASS))
    findings.append(finding("DSY-003", "user:s@contoso.test:ProxyAddress", Status.FAIL,
                            suppressed=Suppression(reason="accepted")))
    fail, warn = build_plan(results([check("DSY-003", "directory-sync", "high", Status.FAIL, findings)]), "en")
    assert fail.cleared == 5 and warn.cleared == 1
    # a fix per object: the row gives the check's fix, each object keeps its own
    assert fail.fix == "Fix it." and [item.fix for item in fail.items] == [f"Fix u{i}." for i in range(5)]
    assert fail.items[0].label == "User u0@contoso.test: ProxyAddress conflict"
    assert fail.items[0].resource == "user:u0@contoso.test:ProxyAddress"  # the key stays for machines


def test_the_owner_comes_from_the_check_then_its_area_and_the_profile_names_who():
    checks = [
        check("TLS-006", "tls", "high", Status.FAIL, [finding("TLS-006", "a:443", Status.FAIL)], owner="network"),
        check("TLS-001", "tls", "high", Status.FAIL, [finding("TLS-001", "b:443", Status.FAIL)]),
        check("ADP-001", "directory", "high", Status.FAIL, [finding("ADP-001", "x", Status.FAIL)]),
        check("ACME-001", "acme", "low", Status.FAIL, [finding("ACME-001", "y", Status.FAIL)]),
    ]
    owners = {a.checks[0]: a.owner for a in build_plan(results(checks), "en")}
    assert owners == {"TLS-006": "Network and firewall team", "TLS-001": "Certificate (PKI) owner",
                      "ADP-001": "AD administrator", "ACME-001": "Entra ID / Intune administrator"}
    named = build_plan(results(checks, owners={"pki": "Wang Fang (PKI)", "ADP-001": "Li Wei"}), "zh-CN")
    owners = {a.checks[0]: a.owner for a in named}
    assert owners["TLS-001"] == "Wang Fang (PKI)" and owners["ADP-001"] == "Li Wei"
    assert owners["TLS-006"] == "网络和防火墙团队"


def test_an_action_is_needed_for_its_earliest_specific_responsibility():
    assert needed_for(["assess.remediation-checklist", "enable.network", "initiate.onboard-services"]) == \
        "initiate.onboard-services"
    assert needed_for(["general.public-ssl-certificates", "assess.remediation-checklist"]) == \
        "general.public-ssl-certificates"
    assert needed_for(["assess.remediation-checklist"]) == "assess.remediation-checklist"


def test_resources_get_human_names_and_unknown_forms_stay_as_they_are():
    assert resource_label("suffix:corp.local", "en") == "Users with the UPN suffix corp.local"
    assert resource_label("suffix:corp.local", "zh-CN") == "UPN 后缀为 corp.local 的用户"
    assert resource_label("group:All Staff [7b7fa55f-9323-5528-87c8-b5b75ca43104]:ProxyAddress", "en") == \
        "Group All Staff: ProxyAddress conflict"
    assert resource_label("contoso.test MX", "en") == "MX record at contoso.test"
    assert resource_label("sts.contoso.test:443", "en") == "sts.contoso.test:443"
    assert resource_label("<script>", "en") == "<script>"
