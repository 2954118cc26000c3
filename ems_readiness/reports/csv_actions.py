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
from ems_readiness.reports.i18n import change_label, check_lang, severity_label, status_label

FILE_NAME = "actions.csv"
RESOURCES_LISTED = 20

COLUMNS: list[tuple[str, dict[str, str]]] = [
    ("number", {"en": "No.", "zh-CN": "序号"}),
    ("status", {"en": "Status", "zh-CN": "状态"}),
    ("severity", {"en": "Severity", "zh-CN": "严重性"}),
    ("change", {"en": "Since the baseline", "zh-CN": "与基线相比"}),
    ("title", {"en": "Action", "zh-CN": "操作"}),
    ("fix", {"en": "What to do", "zh-CN": "具体操作"}),
    ("owner_role", {"en": "Owner role", "zh-CN": "负责角色"}),
    ("sites", {"en": "Sites", "zh-CN": "站点"}),  # whose network shows its findings (empty: tenant, directory)
    ("phase", {"en": "Needed for (FastTrack phase)", "zh-CN": "所需阶段（FastTrack）"}),
    ("responsibility", {"en": "Responsibility", "zh-CN": "职责"}),
    ("checks", {"en": "Checks", "zh-CN": "检查"}),
    ("cleared", {"en": "Findings cleared", "zh-CN": "可解决的结果数"}),
    ("resources", {"en": "Findings", "zh-CN": "结果"}),
    ("key", {"en": "Action key", "zh-CN": "操作键"}),
    *PLAN_COLUMNS,
]
MORE = {"en": "… and {n} more (findings.csv)", "zh-CN": "…… 另有 {n} 项（见 findings.csv）"}


def render(results: Results, lang: str = "en") -> str:
    check_lang(lang)
    return csv_document(COLUMNS, (_row(number, action, lang) for number, action in
                                  enumerate(build_plan(results, lang), 1)), lang)


def _row(number: int, action: Action, lang: str) -> dict[str, object]:
    # each name once: the same endpoint blocked at many sites is one name here (the Sites column says where)
    distinct = list(dict.fromkeys(item.label or item.check_id for item in action.items))
    names = distinct[:RESOURCES_LISTED]
    if len(distinct) > RESOURCES_LISTED:
        names.append(MORE[lang].format(n=len(distinct) - RESOURCES_LISTED))
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
