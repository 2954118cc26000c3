"""The zh-CN texts of the built-in checks: complete, Chinese, faithful to the technical tokens, shown."""

from __future__ import annotations

import json
import re

import pytest

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.registry import load_checks
from ems_readiness.reports import html, markdown, sarif
from ems_readiness.reports.check_texts import FIELDS, check_text

from .test_html_report import sample_results

ZH = data_toml("check_texts.zh-CN.toml")
BUILTIN = {c.id: c for c in load_checks(include_entry_points=False)}
CJK = re.compile("[\u4e00-\u9fff]")
# `code`, dotted names (manage.microsoft.com, *.azureedge.net, corp.local) and Verb-Noun cmdlets
TOKEN = re.compile(r"`([^`]+)`|((?:\*\.)?(?:[A-Za-z0-9-]{2,}\.)+[A-Za-z]{2,})|\b([A-Z][a-z]+-[A-Z][A-Za-z]+)\b")


def technical_tokens(text: str) -> set[str]:
    return {next(group for group in match.groups() if group) for match in TOKEN.finditer(text)}


def test_the_extractor_finds_hosts_and_cmdlets():
    text = "Run Start-ADSyncSyncCycle, allow *.manage.microsoft.com and `Get-Thing -All`, e.g. not pre-Windows 10."
    assert technical_tokens(text) == {"Start-ADSyncSyncCycle", "*.manage.microsoft.com", "Get-Thing -All"}


def test_every_builtin_check_is_translated_and_nothing_else():
    assert set(ZH) == set(BUILTIN)
    for check_id, texts in ZH.items():
        assert set(texts) == set(FIELDS), check_id


@pytest.mark.parametrize("check_id", sorted(BUILTIN))
def test_translation_is_chinese_and_keeps_the_technical_tokens(check_id):
    english, chinese = BUILTIN[check_id], ZH[check_id]
    for field in FIELDS:
        assert CJK.search(chinese[field]), (check_id, field)
    missing = technical_tokens(english.fix) - technical_tokens(chinese["fix"])
    assert not missing, f"{check_id} fix lacks {missing}"


def test_check_text_falls_back_to_the_english_given():
    assert check_text("DNS-001", "title", "Enrollment CNAME", "zh-CN") == ZH["DNS-001"]["title"]
    assert check_text("DNS-001", "title", "Enrollment CNAME", "en") == "Enrollment CNAME"
    assert check_text("ACME-001", "fix", "Call the vendor.", "zh-CN") == "Call the vendor."
    assert check_text("DNS-001", "why", "", "zh-CN") == ""


def test_reports_in_chinese_show_the_chinese_check_texts():
    results = sample_results()
    lic = next(c for c in results.checks if c.id == "LIC-001")
    page = html.render(results, "zh-CN")
    assert ZH["LIC-001"]["title"] in page and ZH["LIC-001"]["why"] in page
    assert lic.title not in page
    assert lic.title in html.render(results, "en")
    assert ZH["LIC-001"]["title"] in markdown.render(results, "zh-CN")
    rules = json.loads(sarif.render(results, "zh-CN"))["runs"][0]["tool"]["driver"]["rules"]
    rule = next(r for r in rules if r["id"] == "LIC-001")
    assert rule["shortDescription"]["text"] == ZH["LIC-001"]["title"]
    assert rule["fullDescription"]["text"] == ZH["LIC-001"]["why"]
