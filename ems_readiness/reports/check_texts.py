"""The checks' own texts (title, why, fix, reason) and their findings' sentences in the report language.

English is written in each check module and travels in the results document; the zh-CN
translations of the built-in checks are in `data/check_texts.zh-CN.toml`, and the findings'
sentences (message, expected, observed, remediation) and a check's reason (why it could not
assess) in `data/messages.<lang>.toml` through the `Text` each finding and check keeps. A check
without a translation (a third-party check, or English), or a finding or reason written before
they kept their texts, keeps the English it came with.
"""

from __future__ import annotations

from functools import cache

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.check import bound_text
from ems_readiness.engine.model import ActionRef, CheckResult, Finding, Status
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


def check_reason(check: CheckResult, lang: str) -> str | None:
    """Why the check could not assess, in `lang` (its English `reason` when it has no `reason_text`).

    The one function every renderer uses for a check's reason."""
    text = check.reason_text
    if lang == "en" or check.reason is None or text is None:
        return check.reason
    try:
        return bound_text(render(text, lang), 2000)
    except (UnknownMessage, KeyError, IndexError, ValueError):
        return check.reason  # an id or parameter this version does not know (a newer results file)


def reason_finding(check: CheckResult, status: Status) -> Finding:
    """The check itself as a finding (resource ""): its reason, in every language, else its title."""
    texts = {"message": check.reason_text} if check.reason and check.reason_text else {}
    return Finding(check_id=check.id, resource="", status=status, message=check.reason or check.title, texts=texts)


def localized_finding(finding: Finding, lang: str) -> Finding:
    """A copy of `finding` whose sentences are in `lang` where translated."""
    if lang == "en" or not finding.texts:
        return finding
    return finding.model_copy(update={f: finding_text(finding, f, lang) for f in FINDING_FIELDS})


def localized(check: CheckResult, lang: str, findings: bool = True) -> CheckResult:
    """A copy of `check` whose title, why, fix, reason and findings are in `lang` where translated; without
    `findings`, the findings stay as they are (a renderer that shows few of many localizes those)."""
    if lang == "en":
        return check
    update: dict[str, object] = {f: check_text(check.id, f, getattr(check, f), lang) for f in FIELDS}
    update["reason"] = check_reason(check, lang)
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
