"""The checks' own texts (title, why, fix) in the report language.

English is written in each check module and travels in the results document; the zh-CN
translations of the built-in checks are in `data/check_texts.zh-CN.toml`. A check without a
translation (a third-party check, or English) keeps the English it came with.
"""

from __future__ import annotations

from functools import cache

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.model import CheckResult

FIELDS = ("title", "why", "fix")


@cache
def _zh_cn() -> dict[str, dict[str, str]]:
    return data_toml("check_texts.zh-CN.toml")


def check_text(check_id: str, field: str, english: str, lang: str) -> str:
    """The check's `field` in `lang` when translated, else `english`."""
    if lang == "zh-CN" and english:
        return _zh_cn().get(check_id, {}).get(field) or english
    return english


def localized(check: CheckResult, lang: str) -> CheckResult:
    """A copy of `check` whose title, why and fix are in `lang` where translated."""
    if lang == "en":
        return check
    return check.model_copy(update={f: check_text(check.id, f, getattr(check, f), lang) for f in FIELDS})
