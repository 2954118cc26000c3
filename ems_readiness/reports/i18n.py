"""The fixed strings of the reports in every report language.

Every heading, column header and label a report prints that is not data from the scan is in
`data/labels.<lang>.toml` (one key per label, shared by the renderers that show the same one);
responsibility texts, phase names and topic names are in `data/responsibilities.toml`. `t()` raises
on an unknown key or language so a missing translation fails the tests instead of leaking English
into a zh-CN report.
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping

from ems_readiness.engine.catalogues import LANGS, data_toml, responsibilities

if TYPE_CHECKING:
    from ems_readiness.reports.site_matrix import SiteList


class UnknownString(KeyError):
    """A report asked for a fixed string that has no entry (or no entry in that language)."""


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unsupported report language {lang!r}; choose one of {', '.join(LANGS)}")
    return lang


@cache
def labels(lang: str) -> Mapping[str, str]:
    """The labels of `lang` (data/labels.<lang>.toml), read once."""
    return MappingProxyType(data_toml(f"labels.{check_lang(lang)}.toml"))


def t(key: str, lang: str, **values: object) -> str:
    """The fixed string `key` in `lang`, with `{name}` placeholders filled from `values`."""
    try:
        text = labels(lang)[key]
    except KeyError:
        raise UnknownString(f"no report string {key!r} in {lang!r}") from None
    return text.format(**values) if values else text


def tn(key: str, n: int, lang: str) -> str:
    """The singular (`key.one`) or plural (`key.other`) form of a count string, with `{n}` filled."""
    return t(f"{key}.one" if n == 1 else f"{key}.other", lang, n=n)


def status_label(status: str, lang: str) -> str:
    return t(f"status.{status}", lang)


def severity_label(severity: str, lang: str) -> str:
    return t(f"severity.{severity}", lang)


def change_label(change: str, lang: str) -> str:
    return t(f"change.{change}", lang)


def area_label(area: str, lang: str) -> str:
    """A check's area in words; an area of a third-party check without an entry stays as it is."""
    return labels(lang).get(f"area.{area}", area)


def scenario_label(scenario: str, lang: str) -> str:
    return labels(lang).get(f"scenario.{scenario}", scenario)


def responsibility_text(key: str, lang: str) -> str:
    """A responsibility's text in `lang`; an unknown key shows as the key."""
    try:
        return responsibilities().get(key).text[check_lang(lang)]
    except KeyError:
        return key


def phase_name(phase: str, lang: str) -> str:
    names = responsibilities().phases.get(phase)
    return names[check_lang(lang)] if names else phase


def topic_name(topic: str, lang: str) -> str:
    names = responsibilities().topics.get(topic)
    return names[check_lang(lang)] if names else topic


def sites_text(sites: "SiteList", lang: str) -> str:
    """Some of a document's sites in a line: all of them, all but a few, or their names."""
    if sites.every:
        return t("sites.every", lang, n=sites.total)
    if sites.all_but:
        return t("sites.all_but", lang, n=len(sites.sites), total=sites.total, names=", ".join(sites.all_but))
    names = ", ".join(sites.named)
    return f"{names} {t('actions.more', lang, n=sites.unnamed)}" if sites.unnamed else names
