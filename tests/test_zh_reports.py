"""The zh-CN reports of the demo (unready and ready, the real simulated environment) hold no English
sentence: every Latin-script run of words is a data value from the scan (a host name, a record, a
UPN, a name the tenant gave), a product name or an identifier (a command, an attribute, a status
word of a protocol). Text marked as the other language (the responsibility's English, lang="en")
is a quotation and is left out; so is raw evidence (<pre>)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ems_readiness.engine.model import Results, Text, TextList

# product and protocol names, and words that only appear inside them
ALLOWED_PHRASES = [
    "Basic Mobility and Security", "Azure Rights Management", "Azure Information Protection",
    "Microsoft Entra ID", "Microsoft Entra Connect", "Microsoft Entra", "Microsoft Intune",
    "Microsoft 365", "Exchange Online Protection", "Exchange Online", "Office 365",
    "Entra Connect Sync", "Entra Connect", "Entra ID", "Cloud Sync", "SQL Server Express LocalDB",
    "SQL Server", "Windows Server", "Active Directory", "AD Recycle Bin", "Recycle Bin Feature",
    "Active Directory Domains and Trusts", "Conditional Access", "Company Portal",
    "Intune Company Portal", "Configuration Manager", "Windows Hello for Business",
    "CA/Browser Forum Baseline Requirements", "Browser Forum Baseline Requirements",
    "Intermediate Certification Authorities", "Synchronization Service Manager", "Azure AD Premium",
    "Microsoft Learn", "DigiCert", "Let's Encrypt", "Device Registration Configuration",
    "Apple Push Certificates Portal", "Apple Push Certificates", "Apple Business Manager", "Temporary Access Pass",
    "Google Firebase Cloud Messaging", "Firebase Cloud Messaging", "Android Enterprise", "Google Play",
]
ALLOWED_WORDS = {
    "Intune", "Entra", "Microsoft", "Azure", "Windows", "Exchange", "Outlook", "Teams", "IdFix", "FastTrack",
    "PowerShell", "Autopilot", "CNAME", "NXDOMAIN", "NODATA", "SERVFAIL", "REFUSED", "SPF", "TXT", "MX", "SRV",
    "TLS", "TCP", "UDP", "HTTP", "HTTPS", "DNS", "SCP", "UPN", "SMTP", "LDAP", "SAN", "SHA", "RSA", "EC", "MD",
    "CONNECT", "HEAD", "IN", "EMS", "SKU", "MDM", "MAM", "AD", "RMS", "CA", "CN", "OU", "DC", "GUID",
    "ldifde", "csvde", "NetBIOS", "LocalDB", "Email", "Intune", "OfficeCommunicationsOnline", "open",
    "filtered", "refused", "unreachable", "Enabled", "Suspended", "Success", "Managed", "Federated",
    "true", "false", "null", "or", "and",  # inside values: "null or false", "Managed or Federated"
}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
# a word an identifier is made of is not prose: commands, attributes, keys, hosts, versions
IDENTIFIER = re.compile(r"[\w.@:/\\=<>\[\]{}$*-]*[\d.@:/\\_=<>\[\]{}$*-][\w.@:/\\=<>\[\]{}$*-]*|[a-z]+[A-Z]\w*|[A-Z]{2,}\w*")
SENTENCE_WORDS = 3


class VisibleText(HTMLParser):
    """The page's text, without scripts, styles, raw evidence and passages in another language."""

    SKIPPED = {"script", "style", "pre", "template"}

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"br", "img", "meta", "link", "input", "col", "hr", "wbr"}:
            return
        other = dict(attrs).get("lang") not in (None, self.lang)
        self.stack.append(tag in self.SKIPPED or other or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if self.stack and tag not in {"br", "img", "meta", "link", "input", "col", "hr", "wbr"}:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def html_text(html: str, lang: str) -> str:
    parser = VisibleText(lang)
    parser.feed(html)
    return "\n".join(parser.parts)


def data_values(results: Results) -> set[str]:
    """What the scan observed, as the reports may show it: never translated."""
    values = {results.scan_id, results.tool.version, results.tenant_name or "", results.tenant_id or "",
              results.vantage.host}
    values |= set(results.vantage.resolvers) | set(results.vantage.resolvers.values())

    def walk(text):
        if isinstance(text, str):
            values.add(text)
        elif isinstance(text, TextList):
            for item in text.items:
                walk(item)
        elif isinstance(text, Text):
            for value in text.params.values():
                walk(value)

    for check in results.checks:
        values.add(check.id)
        if check.reason_text:
            walk(check.reason_text)
        for finding in check.findings:
            values.add(finding.resource)
            for text in finding.texts.values():
                walk(text)
            if finding.action:
                values |= set(finding.action.params.values())
    return {v for v in values if v and len(v) > 1}


def english_sentences(text: str, data: set[str]) -> list[str]:
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ¤ ")
    for phrase in sorted(ALLOWED_PHRASES, key=len, reverse=True):
        text = text.replace(phrase, " ¤ ")
    found = []
    # runs of words in one clause: CJK text, digits and punctuation other than spaces end a run
    for clause in re.split(r"[^A-Za-z'’ \t\-]+", text):
        words = [w for w in clause.split() if LATIN_WORD.fullmatch(w)]
        plain = [w for w in words if w not in ALLOWED_WORDS and not IDENTIFIER.fullmatch(w)]
        run = 0
        for word in clause.split():
            prose = LATIN_WORD.fullmatch(word) and word not in ALLOWED_WORDS and not IDENTIFIER.fullmatch(word)
            run = run + 1 if prose else 0
            if run >= SENTENCE_WORDS:
                found.append(" ".join(clause.split()))
                break
        del words, plain
    return found


@pytest.fixture(scope="module", params=["unready", "ready"])
def zh_demo(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"zh-{request.param}")
    command = [sys.executable, "-m", "ems_readiness.cli", "demo", "--scenario", request.param, "--quiet",
               "--out", str(out), "--lang", "zh-CN", "--format", "html,json,md,csv,junit,sarif"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    results = Results.model_validate_json((out / "results.json").read_text(encoding="utf-8"))
    return request.param, out, results


def report_texts(out: Path) -> dict[str, str]:
    texts = {"report.html": html_text((out / "report.html").read_text(encoding="utf-8"), "zh-CN"),
             "summary.md": (out / "summary.md").read_text(encoding="utf-8")}
    rows = list(csv.reader(io.StringIO((out / "findings.csv").read_text(encoding="utf-8-sig"))))
    texts["findings.csv"] = "\n".join("\n".join(row) for row in rows)
    sarif = json.loads((out / "results.sarif").read_text(encoding="utf-8"))
    texts["results.sarif"] = "\n".join(r["message"]["text"] for run in sarif["runs"] for r in run["results"])
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    texts["junit.xml"] = "\n".join(re.findall(r'(?:name|message)="([^"]*)"', junit))
    return texts


def test_the_zh_cn_demo_reports_hold_no_english_sentence(zh_demo):
    scenario, out, results = zh_demo
    data = data_values(results)
    left = {name: english_sentences(text, data) for name, text in report_texts(out).items()}
    left = {name: found for name, found in left.items() if found}
    assert left == {}, f"English sentences in the zh-CN {scenario} demo reports"


def test_the_detector_finds_an_english_sentence_among_chinese():
    data = {"enterpriseenrollment.contoso.test"}
    assert english_sentences("enterpriseenrollment.contoso.test 不存在 (NXDOMAIN)", data) == []
    assert english_sentences("请在 Intune 管理中心运行 Set-ADUser -UserPrincipalName", data) == []
    assert english_sentences("无法检查：the resolver did not answer", data) == ["the resolver did not answer"]
    assert english_sentences("Basic Mobility and Security 不够", data) == []


# --- A check's reason (why it could not assess) in the report's language ---------------------------

MISSING_DOMAIN_READ = "缺少 Graph 应用程序权限 Domain.Read.All（未授予令牌；未调用）"
SKIP_REASONS = {"DNS-001": "本次扫描不包括网络端（--no-network）",
                "ADP-001": "本次扫描不包括本地目录（未配置 [directory] servers 或导出文件）",
                "DSY-005": "Microsoft Graph 仅向委托登录提供此读取（OnPremDirectorySynchronization.Read.All）；"
                           "仅应用登录无法评估此项"}


@pytest.fixture(scope="module")
def zh_reasons(tmp_path_factory):
    """An app-only scan of the simulated tenant with a token lacking Domain.Read.All, without the network
    or a directory: DOM-001/002 `error` for the permission, the others `skip`; reports in zh-CN."""
    import asyncio

    from ems_readiness.engine.auth import StaticTokenCredential
    from ems_readiness.engine.profile import profile_from_dict
    from ems_readiness.engine.registry import load_checks
    from ems_readiness.engine.runner import ScanOptions, scan, select_checks
    from ems_readiness.reports.outputs import write_outputs
    from tests.support.tenant import ALL_APPLICATION, app_token, simulated_tenant

    token = app_token([r for r in ALL_APPLICATION if r != "Domain.Read.All"])
    with simulated_tenant("ready", token=token) as sim:
        profile = profile_from_dict({"tenant": {"graph_url": sim.url, "auth": "token", "timeout_seconds": 10}})
        checks = select_checks(load_checks(False), ["domains", "DSY-005", "DNS-001", "ADP-001"], [])
        options = ScanOptions(network_side=False, mode="demo", credential=StaticTokenCredential(token))
        results = asyncio.run(scan(profile, checks, options))
    out = tmp_path_factory.mktemp("zh-reasons")
    write_outputs(results, out, ["html", "json", "md", "csv", "junit", "sarif"], "zh-CN")
    return out, results


def test_the_reasons_are_kept_as_texts_beside_their_english(zh_reasons):
    _, results = zh_reasons
    checks = {c.id: c for c in results.checks}
    assert {c.id: c.status.value for c in results.checks} == {
        "ADP-001": "skip", "DNS-001": "skip", "DOM-001": "error", "DOM-002": "error", "DSY-005": "skip"}
    assert checks["DOM-001"].reason == ("missing Graph application permission Domain.Read.All "
                                        "(not granted to the token; not called)")
    assert checks["DOM-001"].reason_text.id == "runner.missing-permission.application"
    assert checks["DNS-001"].reason == "the network side is not part of this scan (--no-network)"
    again = Results.model_validate_json(results.model_dump_json(by_alias=True))
    assert again.checks == results.checks


def test_the_zh_cn_reports_give_the_reason_in_chinese(zh_reasons):
    out, results = zh_reasons
    texts = report_texts(out)
    for name in ("report.html", "summary.md", "findings.csv", "results.sarif", "junit.xml"):
        assert MISSING_DOMAIN_READ in texts[name], name
        assert "missing Graph" not in texts[name], name
    for reason in SKIP_REASONS.values():
        assert reason in texts["report.html"] and reason in texts["junit.xml"]
    data = data_values(results)
    left = {name: english_sentences(text, data) for name, text in texts.items()}
    assert {name: found for name, found in left.items() if found} == {}


def test_a_merge_gives_a_site_that_did_not_run_a_check_its_reason_in_every_language(zh_reasons):
    from ems_readiness.engine.merge import WHOLE_CHECK, merge_results, site_findings
    from ems_readiness.reports.check_texts import check_reason, finding_text

    _, results = zh_reasons
    merged = {c.id: c for c in merge_results([("lyon", results)]).checks}
    assert merged["DNS-001"].reason == "no site in this document scanned the network"
    assert check_reason(merged["DNS-001"], "zh-CN") == "本文档中没有任何站点扫描了网络"
    assert check_reason(merged["DOM-001"], "zh-CN") == MISSING_DOMAIN_READ

    scanned = results.model_copy(update={"sites": [results.sites[0].model_copy(update={"network_side": True})]})
    dns = next(c for c in results.checks if c.id == "DNS-001")
    [[finding]] = site_findings(scanned, dns).values()
    assert finding.resource == WHOLE_CHECK and finding.message == dns.reason
    assert finding_text(finding, "message", "zh-CN") == SKIP_REASONS["DNS-001"]


def test_a_reason_without_its_text_keeps_its_english(zh_reasons):
    from ems_readiness.reports.check_texts import check_reason

    _, results = zh_reasons
    check = next(c for c in results.checks if c.id == "DOM-001")
    older = check.model_copy(update={"reason_text": None})  # a results file written before reason_text
    assert check_reason(older, "zh-CN") == check.reason
    unknown = check.model_copy(update={"reason_text": Text(id="runner.from-a-newer-version")})
    assert check_reason(unknown, "zh-CN") == check.reason
