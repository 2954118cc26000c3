"""The reports' labels (data/labels.<lang>.toml): every language defines the same keys with the same
parameters, every key the renderers ask for exists, and every key is asked for by some renderer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

import ems_readiness
from ems_readiness.engine.catalogues import LANGS
from ems_readiness.engine.model import Results
from ems_readiness.engine.texts import placeholders
from ems_readiness.reports import i18n

REPORTS = Path(ems_readiness.__file__).parent / "reports"
SOURCES = sorted([*REPORTS.glob("*.py"), *REPORTS.glob("templates/*.j2")])
# t("key", ...), tn("key", n, ...), and the quoted keys of the column lists and header lists
LOOKUP = re.compile(r"""\b(tn?)\(\s*(["'])([a-z][\w.-]*)\2""")
QUOTED_KEY = re.compile(r"""["']([a-z][\w-]*(?:\.[\w-]+)+)["']""")
# families whose key is built from a value (a status, a mode, an area...)
BUILT = ("status.", "severity.", "change.", "area.", "scenario.", "mode.", "md.mode.")


def looked_up() -> set[str]:
    keys: set[str] = set()
    for path in SOURCES:
        for fn, _, key in LOOKUP.findall(path.read_text(encoding="utf-8")):
            keys |= {f"{key}.one", f"{key}.other"} if fn == "tn" else {key}
    return keys - {"mode."}


def quoted() -> set[str]:
    return {key for path in SOURCES for key in QUOTED_KEY.findall(path.read_text(encoding="utf-8"))}


def test_languages_have_the_same_keys_and_parameters():
    english, chinese = i18n.labels("en"), i18n.labels("zh-CN")
    assert sorted(english.keys() - chinese.keys()) == [], "keys without a zh-CN text"
    assert sorted(chinese.keys() - english.keys()) == [], "zh-CN keys without an English text"
    differ = {key: (placeholders(english[key]), placeholders(chinese[key]))
              for key in english if placeholders(english[key]) != placeholders(chinese[key])}
    assert differ == {}


@pytest.mark.parametrize("lang", LANGS)
def test_no_label_is_empty(lang):
    assert [key for key, text in i18n.labels(lang).items() if not text.strip()] == []


def test_every_key_a_renderer_looks_up_exists():
    assert len(looked_up()) > 100
    assert sorted(looked_up() - i18n.labels("en").keys()) == []


def test_every_label_is_used():
    unused = {key for key in i18n.labels("en").keys() - quoted() - looked_up() if not key.startswith(BUILT)}
    assert sorted(unused) == []


def test_every_mode_has_a_label_in_the_report_and_the_summary():
    for mode in get_args(Results.model_fields["mode"].annotation):
        for lang in LANGS:
            assert i18n.t(f"mode.{mode}", lang) and i18n.t(f"md.mode.{mode}", lang)


def test_labels_are_read_once_and_fill_parameters():
    assert i18n.labels("en") is i18n.labels("en")
    assert i18n.t("md.more", "en", n=3) == "… and 3 more in report.html and findings.csv"
    assert i18n.t("md.more", "zh-CN", n=3) == "…… 另有 3 项，见 report.html 和 findings.csv"
    with pytest.raises(ValueError, match="zh-CN"):
        i18n.labels("fr")
    with pytest.raises(i18n.UnknownString):
        i18n.t("no.such.key", "zh-CN")
