"""Human names for finding resources (`data/resource_labels.toml`); the key itself stays for machines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from ems_readiness.engine.catalogues import data_toml


@dataclass(frozen=True)
class LabelRule:
    pattern: re.Pattern[str]
    texts: dict[str, str]


@cache
def _rules() -> tuple[LabelRule, ...]:
    return tuple(
        LabelRule(re.compile(item["pattern"]), {"en": item["en"], "zh-CN": item["zh-CN"]})
        for item in data_toml("resource_labels.toml")["label"]
    )


@lru_cache(maxsize=8192)
def resource_label(resource: str, lang: str) -> str:
    """The resource's human name in `lang`, or the resource itself when no rule knows its form."""
    for rule in _rules():
        match = rule.pattern.fullmatch(resource)
        if match:
            return rule.texts[lang].format(**match.groupdict(default=""))
    return resource
