"""The findings' sentences as message ids: every id the code uses has a text in every language, with
the same parameters; renderers give a finding's sentences in the report language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ems_readiness
from ems_readiness.engine.catalogues import LANGS, data_toml
from ems_readiness.engine.model import ActionRef, Finding, Status
from ems_readiness.engine.texts import catalogue, joined, msg, msg_n, placeholders, render
from ems_readiness.reports.check_texts import action_title, finding_text, localized_finding

PACKAGE = Path(ems_readiness.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
MSG_CALL = re.compile(r"""\bmsg(_n)?\(\s*["']([^"'{}]+)["']""")
ACTION_KEY = re.compile(r"""ActionRef\(\s*key=["']([^"']+)["']""")


def used_ids() -> set[str]:
    ids: set[str] = set()
    for path in SOURCES:
        for plural, id in MSG_CALL.findall(path.read_text(encoding="utf-8")):
            ids |= {f"{id}.one", f"{id}.other"} if plural else {id}
    return ids


def test_code_uses_message_ids():
    assert len(used_ids()) > 50


@pytest.mark.parametrize("lang", LANGS)
def test_every_used_id_has_a_text(lang):
    missing = sorted(used_ids() - catalogue(lang).keys())
    assert not missing, f"messages.{lang}.toml lacks {missing}"


def test_languages_have_the_same_ids_and_parameters():
    english, chinese = catalogue("en"), catalogue("zh-CN")
    assert sorted(english.keys() - chinese.keys()) == [], "ids without a zh-CN text"
    assert sorted(chinese.keys() - english.keys()) == [], "zh-CN ids without an English text"
    differ = {id: (placeholders(english[id]), placeholders(chinese[id]))
              for id in english if placeholders(english[id]) != placeholders(chinese[id])}
    assert differ == {}


def test_chinese_texts_use_one_register():
    informal = {id: text for id, text in catalogue("zh-CN").items() if "你" in text}
    assert informal == {}, "use 您, not 你"


def test_every_action_key_has_titles_with_the_same_parameters():
    actions = data_toml("actions.toml")
    used = {key for path in SOURCES for key in ACTION_KEY.findall(path.read_text(encoding="utf-8"))}
    assert used, "no action keys found in the code"
    assert sorted(used - actions.keys()) == []
    for key, titles in actions.items():
        assert set(titles) == set(LANGS), key
        assert placeholders(titles["en"]) == placeholders(titles["zh-CN"]), key


def test_action_title_fills_parameters_in_each_language():
    action = ActionRef(key="dns.publish-cname", params={"name": "enterpriseenrollment.contoso.com",
                                                        "target": "enterpriseenrollment-s.manage.microsoft.com",
                                                        "zone": "contoso.com"})
    assert action_title(action, "en") == ("Publish the CNAME enterpriseenrollment.contoso.com → "
                                          "enterpriseenrollment-s.manage.microsoft.com in the DNS zone of contoso.com")
    assert action_title(action, "zh-CN").startswith("在 contoso.com 的 DNS 区域中发布 CNAME 记录")
    assert action_title(ActionRef(key="x.unknown", params={"a": "1"}), "en") == "x.unknown (a=1)"


def test_nested_texts_and_lists_render_in_each_language():
    text = msg("dns.cname.unanswered", owner="enterpriseenrollment.contoso.com",
               failure=msg("dns.resolver-failure", resolver="public (127.0.0.1:53)",
                           what=msg("dns.detail.timeout", seconds="2"),
                           name="enterpriseenrollment.contoso.com", rdtype="CNAME"))
    assert render(text) == ("Could not check enterpriseenrollment.contoso.com: resolver public (127.0.0.1:53) "
                            "did not answer within 2 s for enterpriseenrollment.contoso.com CNAME.")
    assert "未在 2 秒内应答" in render(text, "zh-CN")
    assert render(joined(["a.test", "b.test"], "comma")) == "a.test, b.test"
    assert render(joined(["a.test", "b.test"], "comma"), "zh-CN") == "a.test、b.test"
    assert msg_n("x", 1).id == "x.one" and msg_n("x", 2).id == "x.other"


def finding(**kw) -> Finding:
    return Finding(check_id="DNS-001", resource="r", status=Status.FAIL, message="English", **kw)


def test_finding_text_renders_the_kept_text_in_the_report_language():
    text = msg("dns.cname.leads-to", owner="a.test", target="b.test")
    f = finding(texts={"message": text})
    assert finding_text(f, "message", "en") == "English"  # the English field is what English shows
    assert finding_text(f, "message", "zh-CN") == "a.test 指向 b.test。"
    assert localized_finding(f, "zh-CN").message == "a.test 指向 b.test。"


def test_a_finding_without_texts_or_with_an_unknown_id_keeps_its_english():
    assert finding_text(finding(), "message", "zh-CN") == "English"
    unknown = finding(texts={"message": msg("no.such.id")})
    assert finding_text(unknown, "message", "zh-CN") == "English"


def test_the_default_remediation_is_the_checks_translated_fix():
    f = finding(remediation="the English fix", texts={"remediation": msg("check.fix", check="DNS-001")})
    assert finding_text(f, "remediation", "zh-CN") == data_toml("check_texts.zh-CN.toml")["DNS-001"]["fix"]


def test_texts_survive_the_results_document():
    f = finding(texts={"message": msg("dns.agree.unanswered", failures=joined([msg("dns.chain.no-answer"), "x"]))})
    again = Finding.model_validate_json(f.model_dump_json())
    assert again == f
    assert Finding.model_validate({"check_id": "A", "resource": "r", "status": "pass", "message": "m"}).texts == {}


def test_catalogued_english_is_the_catalogues_own():
    """Texts that live in another catalogue too (IdFix rules, endpoint notes, licence fixes) are the
    same English there and in messages.en.toml, so the English reports do not change."""
    import tomllib

    from ems_readiness.judges.idfix import RULES

    english = catalogue("en")
    for code, rule in RULES.items():
        assert english[f"rule.{code}.title"] == rule.title and english[f"rule.{code}.fix"] == rule.fix, code
    endpoints = tomllib.loads((PACKAGE / "data" / "endpoints.toml").read_text(encoding="utf-8"))
    notes = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                notes.add(value.strip()) if key == "notes" and isinstance(value, str) else walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(endpoints)
    noted = {text for id, text in english.items() if id.startswith("endpoint.note.")}
    assert notes - {""} <= noted, sorted(notes - noted)
    for capability in data_toml("ems_service_plans.toml")["capability"]:
        assert f"lic.fix.{capability['key']}" in english
