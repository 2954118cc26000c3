"""`results.sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One rule per check (title, why, how to fix), one result per finding that is a problem or could not
be assessed. Decisions, each forced by how code scanning reads SARIF:

- Levels. fail → the check's severity: critical/high "error", medium/low "warning", info "note";
  warn → "warning"; error (could not assess) → "note", so a missing permission is visible without
  ranking as a defect. Rules also carry `security-severity` (with the "security" tag that code
  scanning requires before it reads it) so alerts sort as Critical/High/Medium/Low.
- Pass and skip findings are left out: code scanning ignores `kind` and would raise an alert for
  every result, including `kind: "pass"` or `"notApplicable"` ones.
- Location. A finding is about a tenant object, a DNS name or a host:port, not a line of code, so
  its real location is `logicalLocations` (name = the resource, kind "resource"). Code scanning
  rejects a result without `physicalLocation.artifactLocation.uri`, so each result also points at
  "results.json", the file beside this one that holds the finding's evidence. It is not in the
  repository, so the alert shows no code snippet, which is right for these findings.
- Fingerprints. `partialFingerprints["emsReadiness/v1"]` = sha256(check id + "\\n" + resource): the
  pair that identifies a finding across runs, so an alert stays one alert from night to night and
  closes when the finding is fixed. Every result points at the same file with no line, so code
  scanning's own line-hash fingerprint could not tell findings apart. In a document that speaks
  for several sites (a merge), a network finding's site is part of its location (a second logical
  location of kind "namespace", and `fullyQualifiedName` "site/resource") and of the fingerprint
  (check id + "\n" + resource + "\n" + site): one alert per site that has the problem.
- Suppressed findings stay in the log with `suppressions: [{kind: "external", ...}]`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from typing import Any

from ems_readiness.engine.catalogues import responsibilities
from ems_readiness.engine.model import CheckResult, Finding, Results, Severity, Status
from ems_readiness.engine.sites import multi_site
from ems_readiness.engine.suppressions import is_suppressed

from ems_readiness.reports.check_texts import localized, localized_finding, reason_finding
from ems_readiness.reports.i18n import check_lang, t

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "emsReadiness/v1"
RESULTS_URI = "results.json"
FALLBACK_INFORMATION_URI = "https://pypi.org/project/ems-readiness/"

LEVEL_BY_SEVERITY = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "warning",
    Severity.INFO: "note",
}
# code scanning: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
REPORTED_STATUSES = (Status.FAIL, Status.WARN, Status.ERROR)


def fingerprint(check_id: str, resource: str, site: str | None = None) -> str:
    key = f"{check_id}\n{resource}" + (f"\n{site}" if site else "")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def render(results: Results, lang: str = "en") -> str:
    check_lang(lang)
    rules = _rule_checks(results)
    rule_index = {check.id: index for index, check in enumerate(rules)}
    per_site = multi_site(results)
    sarif_results = [
        _result(check, localized_finding(finding, lang), rule_index[check.id], per_site)
        for check in results.checks
        for finding in reported_findings(check)
    ]
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": _driver(results, lang)},
                "invocations": [_invocation(results)],
                "results": sarif_results,
                "properties": _run_properties(results),
            }
        ],
    }
    return json.dumps(log, ensure_ascii=False, indent=2) + "\n"


def reported_findings(check: CheckResult) -> list[Finding]:
    """The check's fail, warn and error findings, plus its check-level finding if it needs one."""
    findings = [f for f in check.findings if f.status in REPORTED_STATUSES]
    check_level = check_level_finding(check)
    return findings + [check_level] if check_level else findings


def check_level_finding(check: CheckResult) -> Finding | None:
    """A finding about the check itself (resource ""), when its fail/warn/error status has no finding
    to show it, e.g. a check that raised and was made `error` with only a reason."""
    if check.status not in REPORTED_STATUSES or any(f.status is check.status for f in check.findings):
        return None
    return reason_finding(check, check.status)


def _driver(results: Results, lang: str) -> dict[str, Any]:
    return {
        "name": results.tool.name,
        "version": results.tool.version,
        "semanticVersion": results.tool.version,
        "informationUri": information_uri(),
        "rules": [_rule(localized(check, lang), lang) for check in _rule_checks(results)],
    }


def _rule_checks(results: Results) -> list[CheckResult]:
    """One check per id (SARIF rules are unique): the first, where a document repeats an id."""
    first: dict[str, CheckResult] = {}
    for check in results.checks:
        first.setdefault(check.id, check)
    return list(first.values())


def _rule(check: CheckResult, lang: str) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": check.id,
        "shortDescription": {"text": check.title},
        "defaultConfiguration": {"level": LEVEL_BY_SEVERITY[check.severity]},
        # SARIF wants the tags unique
        "properties": {"tags": list(dict.fromkeys(["security", check.area, *check.responsibilities]))},
    }
    if check.why:
        rule["fullDescription"] = {"text": check.why}
    if check.fix:
        rule["help"] = {"text": check.fix, "markdown": _help_markdown(check, lang)}
    if check.severity in SECURITY_SEVERITY:
        rule["properties"]["security-severity"] = SECURITY_SEVERITY[check.severity]
    return rule


def _help_markdown(check: CheckResult, lang: str) -> str:
    parts = []
    if check.why:
        parts.append(f"**{t('check.why', lang)}**\n\n{check.why}")
    parts.append(f"**{t('check.fix', lang)}**\n\n{check.fix}")
    if check.responsibilities:
        items = "\n".join(f"- `{key}` {_responsibility_text(key, lang)}" for key in check.responsibilities)
        parts.append(f"**{t('sarif.responsibilities', lang)}**\n\n{items}")
    return "\n\n".join(parts)


def _responsibility_text(key: str, lang: str) -> str:
    try:
        return responsibilities().get(key).text[lang]
    except KeyError:
        return ""


def _result(check: CheckResult, finding: Finding, rule_index: int, per_site: bool = False) -> dict[str, Any]:
    site = finding.site if per_site else None
    resource = finding.resource or check.id
    logical: list[dict[str, Any]] = [{"name": resource, "kind": "resource"}]
    if site:
        logical = [{"name": resource, "kind": "resource", "fullyQualifiedName": f"{site}/{resource}"},
                   {"name": site, "kind": "namespace"}]
    result: dict[str, Any] = {
        "ruleId": check.id,
        "ruleIndex": rule_index,
        "level": _level(check, finding),
        "message": {"text": (f"[{site}] " if site else "") + _message(finding)},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": RESULTS_URI}},
                "logicalLocations": logical,
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(check.id, finding.resource, site)},
        "properties": _result_properties(check, finding),
    }
    if site:
        result["properties"]["site"] = site
    if is_suppressed(finding):
        suppression = finding.suppressed
        assert suppression is not None
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": suppression.reason,
                "properties": _without_empty({"owner": suppression.owner, "expires": suppression.expires}),
            }
        ]
    return result


def _level(check: CheckResult, finding: Finding) -> str:
    if finding.status is Status.FAIL:
        return LEVEL_BY_SEVERITY[check.severity]
    if finding.status is Status.WARN:
        return "warning"
    return "note"


def _message(finding: Finding) -> str:
    text = f"{finding.resource}: {finding.message}" if finding.resource else finding.message
    values = (("expected", finding.expected), ("observed", finding.observed))
    details = [f"{label}: {value}" for label, value in values if value]
    return "\n".join([text, *details])


def _result_properties(check: CheckResult, finding: Finding) -> dict[str, Any]:
    properties: dict[str, Any] = {"status": finding.status.value, "severity": check.severity.value}
    if finding.change is not None:
        properties["change"] = finding.change.value
    if finding.remediation:
        properties["remediation"] = finding.remediation
    if finding.suppressed is not None and finding.suppressed.expired:
        properties["suppressionExpired"] = finding.suppressed.expires
    return properties


def _invocation(results: Results) -> dict[str, Any]:
    return {"executionSuccessful": True, "startTimeUtc": _utc(results.started), "endTimeUtc": _utc(results.finished)}


def _run_properties(results: Results) -> dict[str, Any]:
    return _without_empty(
        {
            "scanId": results.scan_id,
            "mode": results.mode,
            "tenantId": results.tenant_id,
            "tenantName": results.tenant_name,
            "sites": [site.site for site in results.sites] if multi_site(results) else None,
        }
    )


def _without_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    # isoformat, unlike strftime, writes a year before 1000 with four digits
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


@lru_cache(maxsize=1)
def information_uri() -> str:
    """The project's home page from the installed package metadata ([project.urls])."""
    try:
        meta = metadata.metadata("ems-readiness")
    except metadata.PackageNotFoundError:
        return FALLBACK_INFORMATION_URI
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("homepage", "repository", "source", "documentation") and url.strip():
            return url.strip()
    return meta.get("Home-page") or FALLBACK_INFORMATION_URI
