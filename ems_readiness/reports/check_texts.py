"""The checks' own texts (title, why, fix) and their findings' sentences in the report language.

English is written in each check module and travels in the results document; the zh-CN
translations of the built-in checks are in `data/check_texts.zh-CN.toml`, and the findings'
sentences (message, expected, observed, remediation) in `data/messages.<lang>.toml` through the
`Text` each finding keeps. A check without a translation (a third-party check, or English), or a
finding written before findings kept their texts, keeps the English it came with.
"""

from __future__ import annotations

from functools import cache

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.check import bound_text
from ems_readiness.engine.model import ActionRef, CheckResult, Finding
from ems_readiness.engine.texts import CHECK_FIX, UnknownMessage, render

FIELDS = ("title", "why", "fix")
FINDING_FIELDS = ("message", "expected", "observed", "remediation")


@cache
def _zh_cn() -> dict[str, dict[str, str]]:
    return data_toml("check_texts.zh-CN.toml")


def check_text(check_id: str, field: str, english: str, lang: str) -> str:
    """The check's `field` in `lang` when translated, else `english`."""
    if lang == "zh-CN" and english:
        return _zh_cn().get(check_id, {}).get(field) or english
    return english


def finding_text(finding: Finding, field: str, lang: str) -> str | None:
    """The finding's `field` (message, expected, observed, remediation) in `lang`.

    The one function every renderer uses for a finding's sentences."""
    english = getattr(finding, field)
    text = finding.texts.get(field)
    if lang == "en" or english is None or text is None:
        return english
    if text.id == CHECK_FIX:
        return check_text(finding.check_id, "fix", english, lang)
    try:
        return bound_text(render(text, lang), 2000)
    except (UnknownMessage, KeyError, IndexError, ValueError):
        return english  # an id or parameter this version does not know (a newer results file)


def localized_finding(finding: Finding, lang: str) -> Finding:
    """A copy of `finding` whose sentences are in `lang` where translated."""
    if lang == "en" or not finding.texts:
        return finding
    return finding.model_copy(update={f: finding_text(finding, f, lang) for f in FINDING_FIELDS})


def localized(check: CheckResult, lang: str, findings: bool = True) -> CheckResult:
    """A copy of `check` whose title, why, fix and findings are in `lang` where translated; without
    `findings`, the findings stay as they are (a renderer that shows few of many localizes those)."""
    if lang == "en":
        return check
    update: dict[str, object] = {f: check_text(check.id, f, getattr(check, f), lang) for f in FIELDS}
    if findings:
        update["findings"] = [localized_finding(f, lang) for f in check.findings]
    return check.model_copy(update=update)


@cache
def _actions() -> dict[str, dict[str, str]]:
    return data_toml("actions.toml")


def action_title(action: ActionRef, lang: str) -> str:
    """The action's human title in `lang` (`data/actions.toml`), its parameters filled in;
    an unknown key shows as the key and its parameters."""
    entry = _actions().get(action.key, {})
    template = entry.get(lang) or entry.get("en")
    if template:
        try:
            return bound_text(template.format_map(action.params), 2000)
        except (KeyError, IndexError, ValueError):
            pass
    params = ", ".join(f"{k}={v}" for k, v in action.params.items())
    return f"{action.key} ({params})" if params else action.key
