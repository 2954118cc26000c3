"""The HTML report: self-contained, escaped, complete, ordered, translated."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta, timezone
from html import unescape
from html.parser import HTMLParser

import pytest

from ems_readiness.engine.catalogues import REMEDIATION_CHECKLIST, RUN_ASSESSMENT_TOOLS, responsibilities
from ems_readiness.engine.model import (
    ChangeSummary,
    CheckResult,
    Evidence,
    Finding,
    GraphPermissions,
    ResponsibilityResult,
    Results,
    RunSummary,
    Status,
    Suppression,
    ToolInfo,
    Totals,
    Vantage,
)
from ems_readiness.reports import html, i18n

SCRIPT_TAG = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'
STARTED = datetime(2025, 3, 24, 9, 30, tzinfo=timezone.utc)


# ---------------------------------------------------------------- a realistic results document

def finding(check_id, resource, status, message, expected=None, observed=None, remediation=None,
            change=None, evidence=(), suppressed=None) -> Finding:
    return Finding(
        check_id=check_id, resource=resource, status=status, message=message, expected=expected,
        observed=observed, remediation=remediation, change=change, evidence=list(evidence), suppressed=suppressed,
    )


def dns_evidence(name, outcome, **data) -> Evidence:
    return Evidence(probe="dns", target=f"{name} CNAME @internal", outcome=outcome, elapsed_ms=4.2, data=data)


def sample_checks(hostile: bool) -> list[CheckResult]:
    user = f"user:{SCRIPT_TAG}@contoso.test" if hostile else "user:adele.vance@contoso.test"
    conflict = f"proxyAddresses {ATTRIBUTE_BREAK}" if hostile else "proxyAddresses smtp:adele@contoso.test"

    def check(id, title, area, severity, resps, topic, status, findings=(), reason=None, application=()):
        return CheckResult(
            id=id, title=title, area=area, severity=severity, responsibilities=resps, topic=topic,
            permissions=GraphPermissions(application=list(application)),
            why=f"""
                {title} is a precondition of the onboarding; the FastTrack engineer
                verifies it before the enable phase starts.
            """,
            fix=f"Correct the configuration behind {id} and re-run the scan with --baseline.",
            status=status, reason=reason, duration_ms=137.4, findings=list(findings),
        )

    rc = REMEDIATION_CHECKLIST
    return [
        check("LIC-001", "EMS service plans present, enabled and with free licences", "licensing", "high",
              ["initiate.onboard-services", "enable.services", rc], "management", "fail", [
                  finding("LIC-001", "Entra ID P1/P2", "pass", "Entra ID P1/P2: 12 licence(s) free",
                          "AAD_PREMIUM provisioned (Success) in an Enabled SKU with free units",
                          "EMSPREMIUM: plan AAD_PREMIUM Success, SKU Enabled, 12 free of 250", change="unchanged"),
                  finding("LIC-001", "Azure Rights Management", "fail", "RMS_S_ENTERPRISE is disabled in EMSPREMIUM",
                          "RMS_S_ENTERPRISE provisioned (Success) in an Enabled SKU with free units",
                          "EMSPREMIUM: plan RMS_S_ENTERPRISE Disabled, SKU Enabled, 12 free of 250",
                          "In the Microsoft 365 admin center open Billing > Licenses > EMSPREMIUM and switch on "
                          "Azure Information Protection Premium P1 for the pilot group.", change="still-failing"),
              ], application=["Organization.Read.All"]),
        check("DSY-002", "Directory synchronization is recent", "directory-sync", "high",
              [rc, "enable.directory-sync"], "directory-sync-readiness", "fail", [
                  finding("DSY-002", "contoso.onmicrosoft.com", "fail", "Last directory sync 3 days ago",
                          "within 180 minutes", "2025-03-21T08:12:00Z (4398 minutes ago)",
                          "On the Entra Connect server check the scheduler with Get-ADSyncScheduler and the "
                          "service 'Microsoft Azure AD Sync'; resolve the export errors in Synchronization Service.",
                          change="regressed"),
              ]),
        check("DSY-003", "No objects with on-premises provisioning errors", "directory-sync", "high",
              [rc, "enable.directory-sync"], "directory-sync-readiness", "fail", [
                  finding("DSY-003", user, "fail",
                          f"Duplicate attribute value: {ATTRIBUTE_BREAK}" if hostile else "Duplicate proxyAddresses value",
                          "no provisioning errors", conflict,
                          "Remove the duplicate value from one of the two on-premises objects, then wait for the next sync.",
                          change="new",
                          evidence=[Evidence(probe="graph", target="/users?$select=onPremisesProvisioningErrors",
                                             outcome="ok", elapsed_ms=211.0,
                                             data={"value": SCRIPT_TAG if hostile else "smtp:adele@contoso.test"})]),
                  finding("DSY-003", "group:Sales EMEA", "fail", "Duplicate mail value",
                          "no provisioning errors", "mail sales@contoso.test also on contact:Sales",
                          "Change the mail attribute of one of the objects.", change="still-failing"),
              ], application=["User.Read.All", "Group.Read.All"]),
        check("DSY-004", "User principal names use verified, routable suffixes", "directory-sync", "medium",
              [rc, "assess.user-provisioning-outline", "enable.user-provisioning"], "directory-sync-readiness",
              "warn", [
                  finding("DSY-004", "corp.local", "warn", "37 synced users have the non-routable suffix corp.local",
                          "UPN suffix is a verified tenant domain", "corp.local (37 users)",
                          "Add contoso.test as an alternative UPN suffix in AD Domains and Trusts and change the "
                          "users' UPNs before the pilot.", change="unchanged"),
              ]),
        check("DOM-001", "Every custom domain is verified", "domains", "high", [rc, "enable.services"],
              "infrastructure", "fail", [
                  finding("DOM-001", "contoso.test", "pass", "Verified", "verified", "verified", change="unchanged"),
                  finding("DOM-001", "fabrikam.test", "fail", "Domain not verified",
                          'TXT @ "MS=ms48151623" (TTL 3600)', "no TXT record MS=ms48151623",
                          'At the DNS host of fabrikam.test publish TXT @ "MS=ms48151623", then select Verify in '
                          "the Microsoft 365 admin center.", change="still-failing"),
              ]),
        check("DOM-002", "Authentication type per domain", "domains", "medium", [rc], "federated-identity", "pass", [
            finding("DOM-002", "fed.contoso.test", "pass", "Federated; sign-in host sts.contoso.test",
                    "managed or federated as planned", "Federated (sts.contoso.test)", change="unchanged"),
        ]),
        check("INT-001", "Intune terms and conditions are complete", "intune", "high",
              ["general.intune-terms-of-use", rc], "management", "error",
              reason=("Graph permission DeviceManagementServiceConfig.Read.All is not granted to the app "
                      + (SCRIPT_TAG if hostile else "(token roles checked before the scan)")),
              application=["DeviceManagementServiceConfig.Read.All"]),
        check("INT-003", "Terms-of-use agreements and their conditional access policies", "intune", "low",
              ["general.intune-terms-of-use"], None, "skip",
              reason="identityGovernance/termsOfUse/agreements can be read only with delegated sign-in"),
        check("DNS-001", "Enrollment CNAME for Intune", "dns", "high",
              [rc, "enable.network", "enable.client-infrastructure"], "network", "fail", [
                  finding("DNS-001", "contoso.test", "fail", "enterpriseenrollment.contoso.test does not exist (NXDOMAIN)",
                          "enterpriseenrollment.contoso.test CNAME enterpriseenrollment-s.manage.microsoft.com",
                          "NXDOMAIN from internal (10.0.0.10)",
                          "Publish CNAME enterpriseenrollment.contoso.test → enterpriseenrollment-s.manage.microsoft.com "
                          "(TTL 3600) in the external and the internal zone.", change="still-failing",
                          evidence=[dns_evidence("enterpriseenrollment.contoso.test", "nxdomain", rcode="NXDOMAIN")]),
                  finding("DNS-001", "fabrikam.test", "pass", "CNAME correct",
                          "CNAME enterpriseenrollment-s.manage.microsoft.com",
                          "CNAME enterpriseenrollment-s.manage.microsoft.com", change="fixed",
                          evidence=[dns_evidence("enterpriseenrollment.fabrikam.test", "ok",
                                                 answer=["enterpriseenrollment-s.manage.microsoft.com."])]),
              ]),
        check("DNS-005", "Names answer the same on every resolver", "dns", "medium", [rc, "enable.network"], "network",
              "warn", [
                  finding("DNS-005", "autodiscover.contoso.test", "warn", "internal and public answers differ",
                          "same answer from internal and public", "internal: 10.0.2.15; public: autodiscover.outlook.com.",
                          "Publish the same CNAME in the internal zone or confirm the split is intended.",
                          change="unchanged"),
                  finding("DNS-005", "mail.contoso.test", "warn", "internal and public answers differ",
                          "same answer", "internal: 10.0.2.20; public: 203.0.113.20", change="unchanged",
                          suppressed=Suppression(reason=("Internal mail flow by design" + (ATTRIBUTE_BREAK if hostile else "")),
                                                 owner="netops@contoso.test", expires="2025-09-30")),
              ]),
        check("TLS-001", "Certificate valid and not expiring soon", "tls", "high",
              ["general.public-ssl-certificates", rc, "enable.security-infrastructure"], "federated-identity", "fail", [
                  finding("TLS-001", "sts.contoso.test:443", "fail", "Certificate expired 12 days ago",
                          "valid now and for at least 30 more days", "notAfter 2025-03-12T00:00:00Z",
                          "Renew the AD FS service-communications certificate, bind it on every AD FS and WAP "
                          "server, and update the relying party trust with Update-MsolFederatedDomain.",
                          change="still-failing",
                          evidence=[Evidence(probe="tls", target="sts.contoso.test:443", outcome="ok", elapsed_ms=35.1,
                                             data={"subject": "CN=sts.contoso.test", "not_after": "2025-03-12T00:00:00Z",
                                                   "chain": ["CN=sts.contoso.test", "CN=Contoso Issuing CA"] * 200})]),
                  finding("TLS-001", "mail.contoso.test:443", "pass", "Valid for 301 more days",
                          "valid now and for at least 30 more days", "notAfter 2026-01-19T00:00:00Z", change="fixed"),
              ]),
        check("TLS-006", "No TLS interception towards Microsoft endpoints", "tls", "high",
              [rc, "enable.security-infrastructure"], "network-security", "fail", [
                  finding("TLS-006", "enterpriseregistration.windows.net:443", "fail",
                          "Chain issued by Contoso Egress Inspection CA",
                          "the service's public chain (DigiCert / Microsoft roots)",
                          "issuer CN=Contoso Egress Inspection CA",
                          "Exempt *.windows.net and *.manage.microsoft.com from TLS inspection on the egress proxy.",
                          change="new"),
              ]),
        check("NET-001", "Microsoft endpoints reachable", "network", "high",
              [rc, "enable.security-infrastructure", "enable.network", "general.network-testing"],
              "network-security", "fail", [
                  finding("NET-001", "login.microsoftonline.com:443", "pass", "Connected in 23 ms", "TCP connect",
                          "connected via proxy.contoso.test:8080", change="unchanged"),
                  finding("NET-001", "manage.microsoft.com:443", "fail", "Connection refused", "TCP connect",
                          "refused (RST) after 2 ms",
                          "Allow outbound TCP 443 to *.manage.microsoft.com on the perimeter firewall.",
                          change="still-failing"),
                  finding("NET-001", "portal.manage.microsoft.com:443", "error", "Name did not resolve (SERVFAIL)",
                          "TCP connect", "SERVFAIL from internal (10.0.0.10)", change="new"),
              ]),
        check("NET-002", "On-premises targets reachable", "network", "high", [rc, "enable.directory-sync"],
              "directory-sync-readiness", "fail", [
                  finding("NET-002", "dc01 10.0.0.10:636", "fail", "Filtered: no answer within 5 s", "TCP connect",
                          "timeout after 5000 ms",
                          "Open TCP 636 (LDAPS) from the Entra Connect server to dc01.", change="still-failing"),
                  finding("NET-002", "dc01 10.0.0.10:389", "pass", "Connected in 1 ms", "TCP connect", "connected",
                          change="unchanged"),
              ]),
    ]


def roll_up(check_statuses: list[str]) -> str:
    for status in ("fail", "error", "warn", "pass", "skip"):
        if status in check_statuses:
            return status
    return "manual"


def sample_responsibilities(checks: list[CheckResult]) -> list[ResponsibilityResult]:
    results = []
    for item in responsibilities().items:
        feeding = [c for c in checks if item.key in c.responsibilities]
        topics: dict[str, list[str]] = {}
        if item.key == REMEDIATION_CHECKLIST:
            for c in feeding:
                topics.setdefault(c.topic, []).append(c.id)
        status = roll_up([c.status for c in feeding])
        if item.key == RUN_ASSESSMENT_TOOLS:
            status = "satisfied"
        results.append(ResponsibilityResult(key=item.key, phase=item.phase, text=dict(item.text), status=status,
                                            checks=[c.id for c in feeding], topics=topics))
    return results


def totals(checks: list[CheckResult]) -> Totals:
    by_check = [c.status.value for c in checks]
    by_finding = [f.status.value for c in checks for f in c.findings if f.suppressed is None]
    statuses = ("pass", "fail", "warn", "error", "skip")
    return Totals(checks={s: by_check.count(s) for s in statuses}, findings={s: by_finding.count(s) for s in statuses})


def sample_results(hostile: bool = False, baseline: bool = True, tenant_name: str | None = None) -> Results:
    checks = sample_checks(hostile)
    changes = [f.change.value for c in checks for f in c.findings if f.change and f.suppressed is None]
    gone = [finding("DNS-004", "fabrikam.test", "fail", "Two SPF records" + (SCRIPT_TAG if hostile else ""),
                    "exactly one v=spf1 record", "2 records")]
    change_summary = ChangeSummary(
        baseline_scan_id="2025-03-17T08-55-contoso",
        baseline_started=STARTED - timedelta(days=7),
        counts={**{c: changes.count(c) for c in ("fixed", "regressed", "new", "still-failing", "unchanged")},
                "gone": len(gone)},
        gone=gone,
    )
    history = [
        RunSummary(scan_id=f"run-{n}", started=STARTED - timedelta(days=7 * (4 - n)), findings={"fail": fails, "pass": 30})
        for n, fails in enumerate((31, 24, 19, 14), start=0)
    ]
    if not baseline:
        for c in checks:
            for f in c.findings:
                f.change = None
    return Results(
        tool=ToolInfo(version="0.1.0"),
        scan_id="2025-03-24T09-30-contoso",
        started=STARTED,
        finished=STARTED + timedelta(minutes=2, seconds=41),
        mode="demo",
        scenario="unready",
        tenant_id="6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11",
        tenant_name=tenant_name or (f"Contoso {ATTRIBUTE_BREAK}" if hostile else "Contoso Ltd"),
        vantage=Vantage(host="ws-fasttrack-01.corp.contoso.test",
                        resolvers={"internal": "10.0.0.10", "public": "1.1.1.1"}, proxy="http://proxy.contoso.test:8080"),
        checks=checks,
        responsibilities=sample_responsibilities(checks),
        totals=totals(checks),
        baseline=change_summary if baseline else None,
        history=history if baseline else [],
        suppressed_count=1,
    )


# ---------------------------------------------------------------- parsing helpers

class Page(HTMLParser):
    """Tags with attributes, visible text (not script/style/pre), aria-labels and script bodies."""

    def __init__(self, document: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._skipping: list[str] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("aria-label"):
            self.text.append(attributes["aria-label"])
        if tag in ("script", "style", "pre"):
            self._skipping.append(tag)
            if tag == "script":
                self.scripts.append("")

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data):
        if self._skipping:
            if self._skipping[-1] == "script":
                self.scripts[-1] += data
            return
        self.text.append(data)

    def find(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in wanted.items())]


@pytest.fixture(scope="module")
def sample() -> Results:
    return sample_results(hostile=True)


@pytest.fixture(scope="module")
def english(sample) -> str:
    return html.render(sample, "en")


@pytest.fixture(scope="module")
def chinese(sample) -> str:
    return html.render(sample, "zh-CN")


# ---------------------------------------------------------------- self-contained and locked down

@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_page_loads_nothing_from_anywhere(sample, lang):
    page = Page(html.render(sample, lang))
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"link", "img", "iframe", "object", "embed", "base", "form", "audio", "video", "source"}
    for tag, attributes in page.tags:
        for name in ("src", "srcset", "data", "poster", "action", "formaction", "xlink:href"):
            value = attributes.get(name)
            assert value is None or value.startswith("data:"), (tag, name, value)
        href = attributes.get("href")
        assert href is None or href.startswith("#"), (tag, href)
    style = "".join(re.findall(r"<style>(.*?)</style>", html.render(sample, lang), re.S))
    assert "@import" not in style and "url(" not in style


def test_csp_allows_exactly_the_inline_script(english):
    page = Page(english)
    [meta] = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    directives = dict(d.strip().split(" ", 1) for d in meta["content"].split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data:"
    assert directives["style-src"] == "'unsafe-inline'"
    [script] = page.scripts
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert directives["script-src"] == f"'sha256-{digest}'"
    assert "unsafe" not in directives["script-src"]
    assert not [a for _, a in page.tags if any(name.startswith("on") for name in a)], "inline event handlers"


def test_hostile_tenant_and_dns_values_are_escaped(english, chinese):
    for document in (english, chinese):
        assert SCRIPT_TAG not in document
        assert ATTRIBUTE_BREAK not in document
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in document
        page = Page(document)
        assert len(page.find("script")) == 1
        assert not page.find("img")
        visible = "".join(page.text)
        assert SCRIPT_TAG in visible and ATTRIBUTE_BREAK in visible  # shown as text, not lost


def test_the_script_is_our_filter_and_contains_no_data(english, sample):
    [script] = Page(english).scripts
    assert "filter-bar" in script
    assert sample.tenant_id not in script


# ---------------------------------------------------------------- the checklist

def responsibility_blocks(page: Page) -> list[dict[str, str | None]]:
    return [a for t, a in page.tags if t == "article" and "resp" in (a.get("class") or "").split()]


def test_every_responsibility_is_on_the_page_with_its_status(english, sample):
    blocks = responsibility_blocks(Page(english))
    assert len(blocks) == len(responsibilities().items) == 37
    shown = {b["id"]: b["data-status"] for b in blocks}
    for result in sample.responsibilities:
        assert shown[html.responsibility_anchor(result.key)] == result.status
    assert {"fail", "warn", "error", "manual", "satisfied"} <= set(shown.values())


def test_assess_and_enable_come_first_general_last(english):
    positions = [english.index(f'id="phase-{phase}"') for phase in html.PHASE_ORDER]
    assert positions == sorted(positions)
    order = [b["id"] for b in responsibility_blocks(Page(english))]
    assert order[0] == html.responsibility_anchor("assess.stakeholders")
    assert order[-1] == html.responsibility_anchor("general.intune-terms-of-use")


def test_remediation_checklist_is_grouped_by_its_six_topics(english):
    start = english.index(f'id="{html.responsibility_anchor(REMEDIATION_CHECKLIST)}"')
    end = english.index("</article>", start)
    block = english[start:end]
    names = [responsibilities().topics[key]["en"] for key in responsibilities().topics]
    positions = [block.index(f"{name}</h4>") for name in names]
    assert positions == sorted(positions) and len(names) == 6


def test_each_check_is_shown_in_full_once_and_linked_elsewhere(english, sample):
    for check in sample.checks:
        anchor = html.check_anchor(check.id)
        assert english.count(f'id="{anchor}"') == 1, check.id
    page = Page(english)
    checklist = Page(english[english.index('<section id="checklist">'):])
    links_to_dns001 = [a for a in checklist.find("a") if a.get("href") == "#" + html.check_anchor("DNS-001")]
    assert len(links_to_dns001) == 2  # enable.network and enable.client-infrastructure


def test_findings_show_expected_observed_and_remediation(english):
    assert "enterpriseenrollment.contoso.test CNAME enterpriseenrollment-s.manage.microsoft.com" in english
    assert "NXDOMAIN from internal (10.0.0.10)" in english
    assert "Publish CNAME enterpriseenrollment.contoso.test" in english


def test_missing_permission_is_named_on_the_errored_check(english):
    start = english.index(f'id="{html.check_anchor("INT-001")}"')
    assert "DeviceManagementServiceConfig.Read.All" in english[start:english.index("</section>", start)]


def test_evidence_is_collapsed_and_bounded(english):
    assert '<details class="raw"><summary>Evidence: 1 observation</summary>' in english
    # each observation also in one line: what was asked and what came back
    assert "dns: enterpriseenrollment.contoso.test CNAME @internal → nxdomain (4 ms)" in english
    assert "truncated" in english
    longest = max(len(unescape(pre)) for pre in re.findall(r"<pre>(.*?)</pre>", english, re.S))
    assert longest < html.EVIDENCE_CHARS + 400


def test_the_action_plan_runs_failures_then_errors_then_warnings_by_severity(english):
    start = english.index('<ol class="actions">')
    plan = english[start:english.index("</ol>", start)]
    rows = re.findall(r'<li class="action st-(\w+)".*?class="sev v-(\w+)"', plan, re.S)
    statuses = [status for status, _ in rows]
    assert statuses == sorted(statuses, key=["fail", "error", "warn"].index) and rows
    for status in set(statuses):
        ranks = [["info", "low", "medium", "high", "critical"].index(sev) for st, sev in rows if st == status]
        assert ranks == sorted(ranks, reverse=True)
    assert "INT-001" in plan  # a check that errored without findings is an action too
    for anchor in re.findall(r'href="#([^"]+)"', plan):
        assert f'id="{anchor}"' in english


def test_suppressed_and_gone_findings_are_listed_apart(english):
    suppressed = english[english.index('id="suppressed"'):]
    assert "netops@contoso.test" in suppressed and "2025-09-30" in suppressed
    gone = english[english.index('id="gone"'):]
    assert "DNS-004" in gone and "Two SPF records" in gone
    checklist = english[english.index('id="checklist"'):english.index('id="suppressed"')]
    assert "mail.contoso.test</td>" not in checklist.split(html.check_anchor("DNS-005"))[1].split("</section>")[0]


# ---------------------------------------------------------------- baseline, trend, filter

def test_change_badges_and_counts_with_a_baseline(english):
    for change in ("fixed", "regressed", "new", "still-failing", "unchanged", "gone"):
        assert f'class="chg c-{change}"' in english, change
    assert "Baseline: scan 2025-03-17T08-55-contoso" in english


def test_trend_line_plots_history_and_this_run(english, sample):
    page = Page(english)
    [polyline] = page.find("polyline")
    assert len(polyline["points"].split()) == len(sample.history) + 1
    assert len(page.find("circle")) == len(sample.history) + 1
    assert "this run" in english


def test_without_a_baseline_there_are_no_change_badges_or_trend():
    document = html.render(sample_results(baseline=False), "en")
    assert 'class="chg' not in document and "<svg" not in document


def test_filter_buttons_for_every_status(english):
    page = Page(english)
    [bar] = page.find("nav", id="filter-bar")
    assert "hidden" in bar  # visible only once the script runs; without JS nothing is filtered
    toggles = [a["data-toggle"] for _, a in page.tags if "data-toggle" in a]
    assert toggles == ["fail", "error", "warn", "pass", "skip", "manual"]
    # what the filter hides is hidden on paper too: a print is what the screen shows
    assert re.search(r"\n\.filtered-out \{ display: none !important; \}", english)
    filtered = {a["data-filter"] for _, a in page.tags if "data-filter" in a}
    assert filtered == set(toggles) | {""}  # "": the rows of the changed lists, which only the change chips filter
    assert page.find("tbody", **{"data-filter": "pass"}) and page.find("article", **{"data-filter": "manual"})


def test_print_styles_hide_the_filter_and_keep_findings_whole(english):
    print_css = english[english.index("@media print"):]
    assert ".filter-bar" in print_css and "display: none" in print_css
    assert "break-inside: avoid" in print_css


# ---------------------------------------------------------------- language

def data_strings(results: Results) -> list[str]:
    found: list[str] = []

    def walk(value):
        if isinstance(value, str):
            found.extend({value, html.one_line(value)})
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(results.model_dump(mode="json"))
    return sorted(set(found), key=len, reverse=True)


def english_fragments() -> set[str]:
    fragments = set()
    english, chinese = i18n.labels("en"), i18n.labels("zh-CN")
    for key, text in english.items():
        if text == chinese[key]:
            continue
        for part in re.split(r"\{\w+\}", text):
            part = part.strip(" .,:;()…")
            if len(re.sub(r"[^A-Za-z]", "", part)) >= 2:
                fragments.add(part)
    return fragments


def test_zh_cn_report_has_no_english_fixed_strings(chinese, sample):
    text = " ".join(Page(chinese).text)
    for value in data_strings(sample):
        text = text.replace(value, " ")
    leaked = sorted(f for f in english_fragments() if re.search(rf"(?<![A-Za-z]){re.escape(f)}(?![A-Za-z])", text))
    assert leaked == []


def test_zh_cn_report_puts_chinese_first(chinese):
    item = responsibilities().get("assess.stakeholders")
    start = chinese.index(f'id="{html.responsibility_anchor(item.key)}"')
    block = chinese[start:chinese.index("</article>", start)]
    assert block.index(item.text["zh-CN"]) < block.index(item.text["en"])
    assert '<html lang="zh-CN">' in chinese
    assert "评估阶段" in chinese and "联合标识" in chinese and "仍未通过" in chinese


def test_chinese_data_renders_as_is():
    document = html.render(sample_results(tenant_name="康托索（中国）有限公司"), "zh-CN")
    assert "康托索（中国）有限公司" in document


def test_unsupported_language_is_refused(sample):
    with pytest.raises(ValueError, match="zh-CN"):
        html.render(sample, "fr")


def test_unknown_key_raises():
    with pytest.raises(KeyError, match="no.such.key"):
        i18n.t("no.such.key", "en")


def test_labels_cover_every_status_severity_change_phase_and_topic():
    for status in html.FILTER_STATUSES + ("satisfied",):
        assert i18n.status_label(status, "zh-CN")
    for severity in ("info", "low", "medium", "high", "critical"):
        assert i18n.severity_label(severity, "zh-CN")
    for change in html.CHANGE_ORDER:
        assert i18n.change_label(change, "zh-CN")
    assert i18n.phase_name("assess", "zh-CN") == "评估阶段"
    assert i18n.topic_name("federated-identity", "zh-CN") == "联合标识"


# ---------------------------------------------------------------- edge cases

def test_a_check_feeding_no_known_responsibility_is_still_shown():
    results = sample_results()
    results.checks.append(CheckResult(
        id="ACME-001", title="Third-party check", area="acme", severity="low", responsibilities=["acme.custom"],
        status="warn", findings=[finding("ACME-001", "thing", "warn", "odd")],
    ))
    document = html.render(results, "en")
    assert f'id="{html.check_anchor("ACME-001")}"' in document
    assert "Checks not mapped to a responsibility" in document


def test_nothing_failing_says_so():
    results = sample_results(baseline=False)
    for check in results.checks:
        check.status = Status.PASS
        check.reason = None
        check.findings = [f for f in check.findings if f.status.value == "pass"]
    assert "Nothing to do: nothing failed, nothing is left unassessed and there are no warnings." in html.render(
        results, "en")


def test_counts_leave_suppressed_findings_out_like_the_checklist():
    results = sample_results()
    results.totals.findings["warn"] = 3  # the engine's totals include the suppressed warning
    page = Page(html.render(results, "en"))
    rows = page.find("tbody", **{"data-filter": "warn"})
    assert len(rows) == 2
    assert re.search(r'data-toggle="warn"[^>]*>.*?<b>2</b>', html.render(results, "en"))
