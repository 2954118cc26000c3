"""`actions.csv`: the action plan, one row per action, for the customer to plan the remediation in.

Written beside findings.csv, in the same form (UTF-8 with a byte-order mark, CRLF, formula-safe
cells). The owner role is filled in, and for network findings the sites whose owner must act; the
owner (unless the profile's [owners] names one), the due date and the notes are left for the
customer. The findings an action clears are listed by name (each once) up to RESOURCES_LISTED;
findings.csv has every one.
"""

from __future__ import annotations

from ems_readiness.engine.catalogues import owner_roles
from ems_readiness.engine.model import Results

from ems_readiness.reports.actions import Action, build_plan
from ems_readiness.reports.csv_findings import PLAN_COLUMNS, csv_document
from ems_readiness.reports.i18n import change_label, check_lang, severity_label, status_label, t

FILE_NAME = "actions.csv"
RESOURCES_LISTED = 20

COLUMNS: list[tuple[str, str]] = [
    ("number", "csv.number"),
    ("status", "finding.status"),
    ("severity", "check.severity"),
    ("change", "summary.changes"),
    ("title", "csv.action"),
    ("fix", "csv.fix"),
    ("owner_role", "csv.owner_role"),
    ("sites", "sites.heading"),  # whose network shows its findings (empty: tenant, directory)
    ("phase", "csv.phase"),
    ("responsibility", "csv.responsibility"),
    ("checks", "common.checks"),
    ("cleared", "csv.cleared"),
    ("resources", "common.findings"),
    ("key", "csv.key"),
    *PLAN_COLUMNS,
]


def render(results: Results, lang: str = "en") -> str:
    check_lang(lang)
    return csv_document(COLUMNS, (_row(number, action, lang) for number, action in
                                  enumerate(build_plan(results, lang), 1)), lang)


def _row(number: int, action: Action, lang: str) -> dict[str, object]:
    # each name once: the same endpoint blocked at many sites is one name here (the Sites column says where)
    distinct = list(dict.fromkeys(item.label or item.check_id for item in action.items))
    names = distinct[:RESOURCES_LISTED]
    if len(distinct) > RESOURCES_LISTED:
        names.append(t("csv.more", lang, n=len(distinct) - RESOURCES_LISTED))
    changes = [f"{change_label(c, lang)} {n}" for c, n in (("regressed", action.regressed), ("new", action.new)) if n]
    named = action.owner if action.owner != owner_roles().label(action.owner_role, lang) else None
    return {
        "number": number,
        "status": status_label(action.status, lang),
        "severity": severity_label(action.severity, lang),
        "change": ", ".join(changes),
        "title": action.title,
        "fix": "\n".join([action.fix, *(f"- {item.label or item.check_id}: {item.fix}" for item in action.items
                                         if item.fix)]),
        "owner_role": owner_roles().label(action.owner_role, lang),
        "sites": ", ".join(action.sites),
        "phase": action.phase_name,
        "responsibility": f"{action.responsibility}: {action.responsibility_text}".rstrip(": "),
        "checks": ", ".join(action.checks),
        "cleared": action.cleared,
        "resources": "\n".join(names),
        "key": f"{action.key} ({action.params_text})" if action.params_text else action.key,
        "owner": named,
    }
