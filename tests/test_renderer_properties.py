"""Every renderer, on any document the results model accepts, writes valid output and no secret.

Hypothesis builds results documents whose every string field holds arbitrary text (lone
surrogates, control characters, bidirectional overrides, workflow commands, markup, huge values)
with odd numbers and dates, plants a registered secret in random fields, and writes all six
outputs (and directory-fixes.csv) plus the GitHub step summary through `write_outputs`, as the CLI does. Each output must be
valid for its consumer (JSON parses back into the model, junit.xml validates against the Ant XSD,
SARIF against its 2.1.0 schema, both CSVs parse row by row, the HTML has no script from data) and
must contain no form of the secret.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest

csv.field_size_limit(1 << 24)  # the reader's own default limit is below what the model may hold
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ems_readiness.engine.model import (Change, ChangeSummary, CheckResult, DirectoryFix, Evidence, Finding,
                                        GraphPermissions,
                                        ResponsibilityResult, Results, RunSummary, Severity, Status, Suppression,
                                        ToolInfo, Totals, Vantage)
from ems_readiness.engine.secrets import SECRETS
from ems_readiness.reports import csv_actions, csv_findings, directory_fixes
from ems_readiness.reports.outputs import FORMATS, write_outputs
from tests.test_outputs import SCHEMAS, sarif_validator

SECRET = "hK3#tV9-qL2/wX8+zR5&pN7\"mB4<"
EXAMPLES = 100  # generated documents per test run (each rendered in all formats)
HOSTILE = [
    "\ud800", "\udfff", "a\ud83d", "\x00", "\x1b]0;title\x07", "\x1b[31m", "\x9b", "\r", "\u202e", "\u2066",
    "\u2028", "::error file=a::b", "\n::set-output name=x::y", "##vso[task.setvariable variable=x]y", "##[error]",
    "</script><script>alert(1)</script>", "<!--", "]]>", "&amp;", "=cmd|' /C calc'!A0", "+1", "@x", "-",
    "| pipe | `tick` *em* _u_ [l](http://x)", "{{ 7*7 }}", "\\", "\"", "'", "", " ", "\t", "中文", "\ufeff",
    "\uffff", "\U0010ffff", "\x7f",
]
HUGE = ["x" * 40_000, "界" * 33_000, "\ud800" * 5_000]  # beyond a CSV cell, a JUnit message, any bound
text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=40),  # every code point, surrogates included
    st.sampled_from(HOSTILE + HUGE),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=5), max_size=6).map("".join),
)
# where a registered secret is planted: in its raw form inside any string
maybe_secret = st.one_of(text, text.map(lambda t: f"{t}{SECRET}{t}"), st.just(f"Authorization: Bearer {SECRET}"))
optional = st.none() | maybe_secret
# the model takes aware times in years 2000-9000, at any offset
dates = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(9000, 12, 30),
                     timezones=st.just(timezone.utc) | st.builds(
                         lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-1439, 1439)))
numbers = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**6, 10**6).map(float)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | numbers | maybe_secret,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(maybe_secret, inner, max_size=3),
    max_leaves=8,
)
statuses = st.sampled_from(list(Status))
changes = st.none() | st.sampled_from(list(Change))
responsibility_keys = st.sampled_from(["assess.remediation-checklist", "enable.network", "general.intune-terms-of-use",
                                       "enable.directory-sync"]) | maybe_secret

evidence = st.builds(Evidence, probe=st.sampled_from(["graph", "dns", "tls", "tcp", "proxy"]), target=maybe_secret,
                     outcome=maybe_secret, elapsed_ms=st.none() | numbers,
                     data=st.dictionaries(maybe_secret, json_values, max_size=3))
suppression = st.builds(Suppression, reason=maybe_secret, owner=optional, expires=optional, expired=st.booleans())


@st.composite
def findings(draw, check_id: str) -> Finding:
    return Finding(check_id=draw(st.just(check_id) | maybe_secret), resource=draw(maybe_secret),
                   status=draw(statuses), message=draw(maybe_secret), expected=draw(optional),
                   observed=draw(optional), remediation=draw(optional), evidence=draw(st.lists(evidence, max_size=2)),
                   change=draw(changes), suppressed=draw(st.none() | suppression))


@st.composite
def checks(draw) -> CheckResult:
    check_id = draw(st.sampled_from(["DNS-001", "TLS-001", "LIC-001", "NET-001"]) | maybe_secret)
    return CheckResult(
        id=check_id, title=draw(maybe_secret), area=draw(st.sampled_from(["dns", "tls", "intune"]) | maybe_secret),
        severity=draw(st.sampled_from(list(Severity))), responsibilities=draw(st.lists(responsibility_keys, max_size=3)),
        topic=draw(st.none() | st.just("network") | maybe_secret),
        permissions=GraphPermissions(application=draw(st.lists(maybe_secret, max_size=2)),
                                     delegated=draw(st.lists(maybe_secret, max_size=2))),
        why=draw(maybe_secret), fix=draw(maybe_secret), status=draw(statuses), reason=draw(optional),
        duration_ms=draw(numbers), findings=draw(st.lists(findings(check_id), max_size=4)))


@st.composite
def responsibility_results(draw, check_ids: list[str]) -> ResponsibilityResult:
    return ResponsibilityResult(
        key=draw(responsibility_keys), phase=draw(st.sampled_from(["assess", "enable", "general"]) | maybe_secret),
        text=draw(st.dictionaries(st.sampled_from(["en", "zh-CN"]) | maybe_secret, maybe_secret, max_size=3)),
        status=draw(st.sampled_from(["pass", "fail", "warn", "error", "skip", "manual", "satisfied"])),
        checks=draw(st.lists(st.sampled_from(check_ids) if check_ids else maybe_secret, max_size=3)),
        topics=draw(st.dictionaries(st.just("network") | maybe_secret,
                                    st.lists(st.sampled_from(check_ids) if check_ids else maybe_secret, max_size=2),
                                    max_size=2)))


counts = st.dictionaries(maybe_secret | st.sampled_from([s.value for s in Status]), st.integers(0, 10**9), max_size=4)


@st.composite
def results_documents(draw) -> Results:
    check_results = draw(st.lists(checks(), max_size=5))
    ids = [c.id for c in check_results]
    baseline = draw(st.none() | st.builds(ChangeSummary, baseline_scan_id=maybe_secret, baseline_started=dates,
                                          counts=counts, gone=st.lists(findings("DNS-002"), max_size=2)))
    return Results(
        tool=ToolInfo(name=draw(st.just("ems-readiness") | maybe_secret), version=draw(maybe_secret)),
        scan_id=draw(maybe_secret), started=draw(dates), finished=draw(dates),
        mode=draw(st.sampled_from(["live", "demo", "replay"])), scenario=draw(optional),
        tenant_id=draw(optional), tenant_name=draw(optional),
        vantage=Vantage(host=draw(maybe_secret), resolvers=draw(st.dictionaries(maybe_secret, maybe_secret, max_size=2)),
                        proxy=draw(optional)),
        settings=draw(st.dictionaries(maybe_secret, json_values, max_size=3)),
        checks=check_results,
        responsibilities=draw(st.lists(responsibility_results(ids), max_size=4)),
        totals=Totals(checks=draw(counts), findings=draw(counts)),
        baseline=baseline,
        history=draw(st.lists(st.builds(RunSummary, scan_id=maybe_secret, started=dates, findings=counts), max_size=3)),
        suppressed_count=draw(st.integers(0, 10**6)),
        stats=draw(st.dictionaries(maybe_secret, json_values, max_size=2)),
        observations=draw(st.lists(evidence, max_size=3)),
        directory_fixes=draw(st.none() | st.lists(st.builds(
            DirectoryFix, dn=maybe_secret, attribute=maybe_secret, error=maybe_secret, value=maybe_secret,
            update=optional, action=maybe_secret, rule=maybe_secret), max_size=3)),
        directory_fixes_total=draw(st.none() | st.integers(0, 10**6)),
    )


# ---------------------------------------------------------------- what valid means, per format

JUNIT_SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit.xsd")))
SARIF = sarif_validator()
SCRIPT_TAG = re.compile(r"<\s*/?\s*script", re.IGNORECASE)


def secret_forms() -> list[str]:
    raw = SECRET.encode()
    return [SECRET, quote(SECRET, safe=""), json.dumps(SECRET)[1:-1], json.dumps(SECRET, ensure_ascii=True)[1:-1],
            html.escape(SECRET), html.escape(SECRET, quote=False), base64.b64encode(raw).decode().rstrip("="),
            "hK3#tV9-qL2", "qL2/wX8+zR5", "zR5&pN7", "mB4<", "hK3\\#tV9"]


def assert_valid(outputs: dict[str, bytes], summary: str) -> None:
    texts = {fmt: data.decode("utf-8") for fmt, data in outputs.items()}  # strict: every byte is UTF-8
    Results.model_validate(json.loads(texts["json"]))

    document = etree.fromstring(outputs["junit"])
    assert JUNIT_SCHEMA.validate(document), JUNIT_SCHEMA.error_log

    errors = list(SARIF.iter_errors(json.loads(texts["sarif"])))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:3]]

    page = texts["html"]
    assert len(SCRIPT_TAG.findall(page)) == 2, "only the report's own <script>…</script>"

    for fmt, columns in (("csv", len(csv_findings.COLUMNS)), ("actions", len(csv_actions.COLUMNS)),
                         ("fixes", len(directory_fixes.COLUMNS))):
        if fmt not in texts:
            continue
        assert texts[fmt].startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(texts[fmt][1:], newline="")))
        assert all(len(row) == columns for row in rows)
        assert not any(cell.startswith(csv_findings.FORMULA_STARTS) for row in rows[1:] for cell in row)

    for name, shown in [("md", texts["md"]), ("summary", summary)]:
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", shown), name
        assert not re.search(r"^\s*::", shown, re.MULTILINE) and "##vso[" not in shown, name
        # a code span shows HTML as text; an escaped backtick (md_text's \`) opens no span
        outside_code = re.sub(r"`[^`]*`", "", shown.replace("\\`", ""))
        assert "<script" not in outside_code.lower(), name

    everything = "\n".join([*texts.values(), summary])
    found = [form for form in secret_forms() if form in everything]
    assert not found, found


def render_everything(results: Results, lang: str) -> tuple[dict[str, bytes], str]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        summary = Path(folder) / "step-summary.md"
        previous = os.environ.get("GITHUB_STEP_SUMMARY")
        os.environ["GITHUB_STEP_SUMMARY"] = str(summary)
        try:
            written = write_outputs(results, out, list(FORMATS), lang)
        finally:
            if previous is None:
                del os.environ["GITHUB_STEP_SUMMARY"]
            else:
                os.environ["GITHUB_STEP_SUMMARY"] = previous
        names = [name for name, _ in FORMATS.values()] + [csv_actions.FILE_NAME]
        if results.directory_fixes is not None:
            names.append(directory_fixes.FILE_NAME)
        assert sorted(p.name for p in out.iterdir()) == sorted(names) == sorted(p.name for p in written)
        outputs = {fmt: (out / FORMATS[fmt][0]).read_bytes() for fmt in FORMATS}
        outputs["actions"] = (out / csv_actions.FILE_NAME).read_bytes()
        if results.directory_fixes is not None:
            outputs["fixes"] = (out / directory_fixes.FILE_NAME).read_bytes()
        return outputs, summary.read_text(encoding="utf-8")


@pytest.fixture(scope="module", autouse=True)
def registered_secret():
    SECRETS.add(SECRET)
    yield
    SECRETS.clear()


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(results=results_documents(), lang=st.sampled_from(["en", "zh-CN"]))
def test_every_renderer_writes_valid_output_without_the_secret(results, lang):
    outputs, summary = render_everything(results, lang)
    assert_valid(outputs, summary)
