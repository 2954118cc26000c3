"""`findings.csv`: every finding, one row each, as the remediation plan a consultant fills in.

UTF-8 with a byte-order mark so Excel opens Chinese text correctly; rows end in CRLF. Write the
returned text with `encoding="utf-8", newline=""` (the BOM is part of the text). Active findings
come first, worst status and most severe check first; suppressed ones last. The plan columns
(owner, due date, notes) are left empty. Headers, status, severity, change and phase are words in
the report language (results.json keeps the values for scripts); the column order is fixed.

Cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR, also their
full-width forms) get a leading apostrophe: tenant and DNS data must not execute in Excel. Other
control characters (an ANSI escape in a DNS answer) are written as \\xNN.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Iterable

from ems_readiness.engine.model import CheckResult, Finding, Results, Status
from ems_readiness.engine.suppressions import is_suppressed

from ems_readiness.engine.catalogues import responsibilities
from ems_readiness.reports.actions import needed_for
from ems_readiness.reports.check_texts import FINDING_FIELDS, check_text, finding_text
from ems_readiness.reports.i18n import change_label, check_lang, phase_name, severity_label, status_label
from ems_readiness.reports.resources import resource_label
from ems_readiness.reports.sarif import check_level_finding

BOM = "\ufeff"
CELL_CHARS = 32_000  # Excel holds 32,767 characters in a cell and splits a longer one across rows
CELL_CUT = " …[truncated; see results.json]"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.SKIP, Status.PASS)

# the remediation plan, filled in by hand (findings.csv and actions.csv end with them)
PLAN_COLUMNS: list[tuple[str, dict[str, str]]] = [
    ("owner", {"en": "Owner", "zh-CN": "负责人"}),
    ("due_date", {"en": "Due date", "zh-CN": "截止日期"}),
    ("notes", {"en": "Notes", "zh-CN": "备注"}),
]

COLUMNS: list[tuple[str, dict[str, str]]] = [
    ("check_id", {"en": "Check", "zh-CN": "检查"}),
    ("title", {"en": "Title", "zh-CN": "标题"}),
    ("area", {"en": "Area", "zh-CN": "领域"}),
    ("severity", {"en": "Severity", "zh-CN": "严重性"}),
    ("responsibilities", {"en": "Responsibilities", "zh-CN": "职责"}),
    ("phase", {"en": "Needed for (FastTrack phase)", "zh-CN": "所需阶段（FastTrack）"}),
    ("topic", {"en": "Checklist topic", "zh-CN": "清单主题"}),
    ("resource", {"en": "Resource", "zh-CN": "资源"}),
    ("resource_name", {"en": "Object", "zh-CN": "对象"}),
    ("site", {"en": "Site", "zh-CN": "站点"}),  # the site whose network shows it (empty: tenant, directory)
    ("status", {"en": "Status", "zh-CN": "状态"}),
    ("change", {"en": "Change since baseline", "zh-CN": "与基线相比"}),
    ("message", {"en": "Finding", "zh-CN": "结果说明"}),
    ("expected", {"en": "Expected", "zh-CN": "预期值"}),
    ("observed", {"en": "Observed", "zh-CN": "观察值"}),
    ("remediation", {"en": "Remediation", "zh-CN": "修正措施"}),
    ("suppressed_reason", {"en": "Suppression reason", "zh-CN": "抑制原因"}),
    ("suppressed_owner", {"en": "Suppression owner", "zh-CN": "抑制负责人"}),
    ("suppressed_expires", {"en": "Suppression expires", "zh-CN": "抑制到期"}),
    *PLAN_COLUMNS,
]
EXPIRED = {"en": "expired", "zh-CN": "已过期"}
# control characters other than tab and line breaks, shown as \xNN rather than passed to Excel
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def csv_cell(value: object) -> str:
    text = "" if value is None else _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    if len(text) > CELL_CHARS:
        text = text[: CELL_CHARS - len(CELL_CUT)] + CELL_CUT
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_document(columns: list[tuple[str, dict[str, str]]], rows: Iterable[dict[str, object]], lang: str) -> str:
    """A CSV text: the headers in `lang`, then each row's cells in column order, made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([headers[lang] for _, headers in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(key)) for key, _ in columns])
    return BOM + buffer.getvalue()


def render(results: Results, lang: str = "en") -> str:
    check_lang(lang)
    return csv_document(COLUMNS, (_row(check, finding, lang) for check, finding in _ordered_findings(results)), lang)


def _ordered_findings(results: Results) -> list[tuple[CheckResult, Finding]]:
    pairs = [
        (check, finding)
        for check in results.checks
        for finding in [*check.findings, check_level_finding(check)]
        if finding is not None
    ]
    # suppressed findings after the active ones; worst status, then most severe check, first
    return sorted(
        pairs,
        key=lambda pair: (is_suppressed(pair[1]), STATUS_ORDER.index(pair[1].status), -pair[0].severity.rank),
    )


def _row(check: CheckResult, finding: Finding, lang: str) -> dict[str, object]:
    suppression = finding.suppressed
    return {
        "check_id": check.id,
        "title": check_text(check.id, "title", check.title, lang),
        "area": check.area,
        "severity": severity_label(check.severity.value, lang),
        "responsibilities": "; ".join(check.responsibilities),
        "phase": _phase(check, lang),
        "topic": check.topic,
        "resource": finding.resource,
        "resource_name": resource_label(finding.resource, lang) if finding.resource else None,
        "site": finding.site,
        "status": status_label(finding.status.value, lang),
        "change": change_label(finding.change.value, lang) if finding.change else None,
        **{field: finding_text(finding, field, lang) for field in FINDING_FIELDS},
        "suppressed_reason": suppression.reason if suppression else None,
        "suppressed_owner": suppression.owner if suppression else None,
        "suppressed_expires": _expiry_text(suppression.expires, suppression.expired, lang) if suppression else None,
    }


def _phase(check: CheckResult, lang: str) -> str:
    key = needed_for(list(check.responsibilities))
    catalogue = responsibilities()
    return phase_name(catalogue.get(key).phase, lang) if key in catalogue.keys() else ""


def _expiry_text(expires: str | None, expired: bool, lang: str) -> str | None:
    if expires and expired:
        return f"{expires} ({EXPIRED[lang]})"
    return expires
