"""`junit.xml`: one test case per check, for the test tabs of CI systems (Ant JUnit schema).

    <testsuites>
      <testsuite name="dns" package="ems-readiness.dns" id="0" ...>   one per area
        <properties>…scan facts…</properties>
        <testcase classname="ems-readiness.dns" name="DNS-001 Enrollment CNAME" time="0.012">
          <failure message="…" type="high">the check's findings, one block each</failure>
        </testcase>
        <system-out>warnings and suppressed findings of the area</system-out>
        <system-err/>
      </testsuite>
    </testsuites>

A check's outcome is its status with suppressed findings set aside (`effective_status`): fail →
<failure>, error → <error>, skip → <skipped>, pass and warn → a passing test case. The schema
allows no output inside a test case, so warnings and suppressed findings go to the suite's
<system-out>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timezone

from ems_readiness.engine.model import CheckResult, Finding, Results, Status
from ems_readiness.engine.suppressions import effective_status, is_suppressed

from ems_readiness.reports.check_texts import localized
from ems_readiness.reports.i18n import check_lang

CLASSNAME_PREFIX = "ems-readiness"
MESSAGE_CHARS = 300
CHECK_LEVEL = "(whole check)"  # shown for a finding about the check itself, with no resource

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """Untrusted text made safe for XML 1.0: illegal characters shown as \\xNN instead of dropped."""
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def render(results: Results, lang: str = "en") -> str:
    check_lang(lang)
    root = ET.Element("testsuites")
    by_area: dict[str, list[CheckResult]] = {}
    for check in results.checks:  # test names and messages in the report language
        by_area.setdefault(check.area, []).append(localized(check, lang))
    for index, (area, checks) in enumerate(by_area.items()):
        root.append(_testsuite(results, index, area, checks))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testsuite(results: Results, index: int, area: str, checks: list[CheckResult]) -> ET.Element:
    outcomes = [effective_status(check) for check in checks]
    suite = ET.Element(
        "testsuite",
        {
            "name": xml_text(area).strip() or "checks",
            "package": f"{CLASSNAME_PREFIX}.{xml_text(area)}",
            "id": str(index),
            # the schema's timestamp has no time zone: it is UTC
            "timestamp": results.started.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds"),
            "hostname": xml_text(results.vantage.host).strip() or "localhost",
            "tests": str(len(checks)),
            "failures": str(outcomes.count(Status.FAIL)),
            "errors": str(outcomes.count(Status.ERROR)),
            "skipped": str(outcomes.count(Status.SKIP)),
            "time": _seconds(sum(check.duration_ms for check in checks)),
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in _scan_properties(results):
        ET.SubElement(properties, "property", {"name": name, "value": xml_text(value)})
    for check, outcome in zip(checks, outcomes):
        suite.append(_testcase(check, outcome))
    ET.SubElement(suite, "system-out").text = _suite_output(checks)
    ET.SubElement(suite, "system-err").text = ""
    return suite


def _scan_properties(results: Results) -> list[tuple[str, str]]:
    pairs = [
        ("tool", f"{results.tool.name} {results.tool.version}"),
        ("scan_id", results.scan_id),
        ("mode", results.mode),
        ("tenant_id", results.tenant_id),
        ("tenant_name", results.tenant_name),
    ]
    return [(name, value) for name, value in pairs if value]


def _testcase(check: CheckResult, outcome: Status) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": f"{CLASSNAME_PREFIX}.{xml_text(check.area)}",
            "name": xml_text(f"{check.id} {check.title}"),
            "time": _seconds(check.duration_ms),
        },
    )
    if outcome is Status.FAIL:
        failing = [f for f in check.findings if f.status is Status.FAIL and not is_suppressed(f)]
        element = ET.SubElement(case, "failure", {"message": _summary(check, failing), "type": check.severity.value})
        element.text = _findings_text(check)
    elif outcome is Status.ERROR:
        errored = [f for f in check.findings if f.status is Status.ERROR and not is_suppressed(f)]
        element = ET.SubElement(case, "error", {"message": _summary(check, errored), "type": "not-assessed"})
        element.text = _findings_text(check)
    elif outcome is Status.SKIP:
        reason = check.reason or next((f.message for f in check.findings if f.status is Status.SKIP), "")
        ET.SubElement(case, "skipped", {"message": _shorten(xml_text(reason))})
    return case


def _summary(check: CheckResult, findings: list[Finding]) -> str:
    if not findings:
        return _shorten(xml_text(check.reason or check.status.value))
    first = findings[0]
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return _shorten(xml_text(f"{first.resource}: {first.message}")) + more


def _findings_text(check: CheckResult) -> str:
    lines: list[str] = []
    if check.reason:
        lines.append(f"reason: {check.reason}")
    for finding in check.findings:
        if finding.status is not Status.PASS and not is_suppressed(finding):
            lines.extend(_finding_lines(finding, check.fix))
    if check.fix:
        lines.append(f"how to fix: {check.fix}")
    return xml_text("\n".join(lines))


def _finding_lines(finding: Finding, check_fix: str) -> list[str]:
    lines = [f"[{finding.status.value}] {finding.resource or CHECK_LEVEL}: {finding.message}"]
    # a finding's remediation defaults to the check's fix, which closes the text once
    remediation = finding.remediation if finding.remediation != check_fix else None
    for label, value in (("expected", finding.expected), ("observed", finding.observed), ("remediation", remediation)):
        if value:
            lines.append(f"    {label}: {value}")
    if finding.suppressed is not None and finding.suppressed.expired:
        lines.append(f"    suppression expired {finding.suppressed.expires}: {finding.suppressed.reason}")
    return lines


def _suite_output(checks: list[CheckResult]) -> str:
    lines: list[str] = []
    for check in checks:
        for finding in check.findings:
            if is_suppressed(finding):
                lines.append(f"{check.id} {_suppressed_line(finding)}")
            elif finding.status is Status.WARN:
                lines.append(f"{check.id} [warn] {finding.resource}: {finding.message}")
    return xml_text("\n".join(lines))


def _suppressed_line(finding: Finding) -> str:
    suppression = finding.suppressed
    assert suppression is not None
    owner = f", owner {suppression.owner}" if suppression.owner else ""
    until = f", until {suppression.expires}" if suppression.expires else ""
    return (
        f"[{finding.status.value}, suppressed{owner}{until}] "
        f"{finding.resource}: {finding.message} -- {suppression.reason}"
    )


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _seconds(milliseconds: float) -> str:
    return f"{max(milliseconds, 0.0) / 1000:.3f}"
