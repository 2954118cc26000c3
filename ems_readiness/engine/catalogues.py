"""Package data catalogues: responsibilities, and the files the probes read."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

LANGS = ("en", "zh-CN")


def data_text(name: str) -> str:
    return resources.files("ems_readiness").joinpath("data", name).read_text(encoding="utf-8")


def data_toml(name: str) -> dict[str, Any]:
    return tomllib.loads(data_text(name))


@dataclass(frozen=True)
class Responsibility:
    key: str
    phase: str
    text: dict[str, str]


@dataclass(frozen=True)
class ResponsibilityCatalogue:
    source: str
    items: tuple[Responsibility, ...]
    phases: dict[str, dict[str, str]]
    topics: dict[str, dict[str, str]]

    def keys(self) -> set[str]:
        return {item.key for item in self.items}

    def get(self, key: str) -> Responsibility:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)


@lru_cache(maxsize=1)
def responsibilities() -> ResponsibilityCatalogue:
    raw = data_toml("responsibilities.toml")
    items = tuple(
        Responsibility(key=i["key"], phase=i["phase"], text={lang: i[lang] for lang in LANGS})
        for i in raw["item"]
    )
    return ResponsibilityCatalogue(source=raw["source"], items=items, phases=raw["phases"], topics=raw["topics"])


REMEDIATION_CHECKLIST = "assess.remediation-checklist"
RUN_ASSESSMENT_TOOLS = "assess.run-assessment-tools"
PERFORM_REMEDIATION = "remediate.perform-remediation"


@dataclass(frozen=True)
class OwnerCatalogue:
    """The owner roles of remediation (data/owners.toml): role key -> label per language, and the
    role of each area for checks that name none."""

    roles: dict[str, dict[str, str]]
    areas: dict[str, str]
    default: str

    def role_of(self, area: str, declared: str | None = None) -> str:
        return declared or self.areas.get(area, self.default)

    def label(self, role: str, lang: str) -> str:
        names = self.roles.get(role)
        return names.get(lang) or names["en"] if names else role


@lru_cache(maxsize=1)
def owner_roles() -> OwnerCatalogue:
    raw = data_toml("owners.toml")
    return OwnerCatalogue(roles=raw["roles"], areas=raw["areas"], default=raw["default"])
