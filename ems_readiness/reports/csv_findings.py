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
from ems_readiness.reports.i18n import change_label, check_lang, phase_name, severity_label, status_label, t
from ems_readiness.reports.resources import resource_label
from ems_readiness.reports.sarif import check_level_finding

BOM = "\ufeff"
CELL_CHARS = 32_000  # Excel holds 32,767 characters in a cell and splits a longer one across rows
CELL_CUT = " …[truncated; see results.json]"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.SKIP, Status.PASS)

# (row field, header label key); the remediation plan, filled in by hand (findings.csv and actions.csv end with them)
PLAN_COLUMNS: list[tuple[str, str]] = [
    ("owner", "common.owner"),
    ("due_date", "csv.due_date"),
    ("notes", "csv.notes"),
]

COLUMNS: list[tuple[str, str]] = [
    ("check_id", "common.check"),
    ("title", "common.title"),
    ("area", "check.area"),
    ("severity", "check.severity"),
    ("responsibilities", "summary.responsibilities"),
    ("phase", "csv.phase"),
    ("topic", "csv.topic"),
    ("resource", "finding.resource"),
    ("resource_name", "csv.resource_name"),
    ("site", "sites.site"),  # the site whose network shows it (empty: tenant, directory)
    ("status", "finding.status"),
    ("change", "csv.change"),
    ("message", "finding.message"),
    ("expected", "finding.expected"),
    ("observed", "finding.observed"),
    ("remediation", "finding.remediation"),
    ("suppressed_reason", "csv.suppressed_reason"),
    ("suppressed_owner", "csv.suppressed_owner"),
    ("suppressed_expires", "csv.suppressed_expires"),
    *PLAN_COLUMNS,
]
# control characters other than tab and line breaks, shown as \xNN rather than passed to Excel
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def csv_cell(value: object) -> str:
    text = "" if value is None else _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    if len(text) > CELL_CHARS:
        text = text[: CELL_CHARS - len(CELL_CUT)] + CELL_CUT
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_document(columns: list[tuple[str, str]], rows: Iterable[dict[str, object]], lang: str) -> str:
    """A CSV text: the headers (label keys of `columns`) in `lang`, then each row's cells in column order, made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([t(header, lang) for _, header in columns])
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
        return f"{expires} ({t('suppressed.expired', lang)})"
    return expires
