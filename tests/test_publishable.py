"""`publishable` takes a document that is already fit for output as it is (the fast path) and walks
every value only when something must change; both ways must give the same document."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from ems_readiness.engine.model import Evidence, Finding, Results, Status, load_results
from ems_readiness.engine.secrets import SECRETS
from ems_readiness.engine.sites import describe_scan
from ems_readiness.reports.outputs import _cleaned_model, publishable, render_all
from tests.test_outputs import realistic_results

SECRET = "s3cr3t-Value~42"
PLUS_EIGHT = timezone(timedelta(hours=8))


@pytest.fixture
def registered_secret():
    SECRETS.add(SECRET)
    yield SECRET
    SECRETS.clear()


def with_finding(**fields) -> Results:
    doc = realistic_results()
    doc.checks[0].findings.append(Finding(**{"check_id": "DNS-001", "resource": "x.test", "status": Status.FAIL,
                                             "message": "m", **fields}))
    return doc


def test_a_document_fit_for_output_is_taken_as_it_is():
    doc = realistic_results()
    assert publishable(doc) is doc


@pytest.mark.parametrize("make", [
    pytest.param(lambda: with_finding(observed=f"password={SECRET}"), id="registered secret"),
    pytest.param(lambda: with_finding(observed="Authorization: Bearer abcdefghijklmnopqrstuvwxyz"), id="bearer"),
    pytest.param(lambda: with_finding(evidence=[Evidence(probe="tcp", target="t", outcome="ok",
                                                         data={"authorization": "Bearer abcdefghijklmnopqrstuvwxyz"})]),
                 id="bearer in evidence data"),
    pytest.param(lambda: with_finding(resource="bad\ud800surrogate"), id="lone surrogate"),
    pytest.param(lambda: with_finding(evidence=[Evidence(probe="tcp", target="t", outcome="ok",
                                                         elapsed_ms=math.inf)]), id="infinite float"),
    pytest.param(lambda: with_finding(evidence=[Evidence(probe="tcp", target="t", outcome="ok",
                                                         data={"rtt": [1.0, math.nan]})]), id="nan in free-form data"),
    pytest.param(lambda: with_finding(evidence=[Evidence(probe="tcp", target="t", outcome="ok",
                                                         data={"when": datetime(2026, 1, 1, 8)})]), id="naive time"),
    pytest.param(lambda: with_finding(evidence=[Evidence(probe="tcp", target="t", outcome="ok",
                                                         data={"pair": ("a", "b")})]), id="tuple"),
    pytest.param(lambda: realistic_results().model_copy(update={
        "started": datetime(2026, 1, 1, 10, tzinfo=PLUS_EIGHT)}), id="time not in UTC"),
    pytest.param(lambda: realistic_results().model_copy(update={"sites": [describe_scan(realistic_results()).model_copy(
        update={"started": datetime(2026, 1, 1, 10, tzinfo=PLUS_EIGHT)})]}), id="site time not in UTC"),
])
def test_a_document_that_needs_cleaning_is_cleaned_the_long_way(make, registered_secret):
    doc = make()
    clean = publishable(doc)
    assert clean is not doc
    assert clean.dump_json() == _cleaned_model(doc).dump_json()
    text = render_all(doc, ["json", "html"], "en")["results.json"]
    assert SECRET not in text and "abcdefghijklmnopqrstuvwxyz" not in text and "NaN" not in text


def test_a_merged_document_is_written_compact_and_reads_back(tmp_path):
    doc = realistic_results().model_copy(update={"mode": "merged"})
    text = render_all(doc, ["json"], "en")["results.json"]
    assert text.count("\n") == 1
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8")
    assert load_results(path).dump_json() == doc.dump_json()
    assert "\n  " in realistic_results().dump_json()  # one scan's document stays indented


@pytest.mark.parametrize("offset", range(0, 16))
def test_a_credential_across_the_slices_of_a_long_text_is_still_found(monkeypatch, offset):
    from ems_readiness.engine import secrets

    monkeypatch.setattr(secrets, "_CHUNK", 8)
    text = "x" * offset + "AUTHORIZATION: Bearer abcdefghijklmnopqrstuvwxyz é eyJabcdefghij.abcdefghijk.xyz"
    assert secrets.scrub(text) == "x" * offset + "AUTHORIZATION: [redacted] é [redacted]"


@pytest.mark.parametrize("settings", [{}, {"x": {"checks": [], "responsibilities": 1}}, {"findings": [], "id": 1}])
def test_a_merged_document_in_parts_is_the_same_text(settings):
    doc = realistic_results().model_copy(update={"mode": "merged", "settings": settings})
    for check in doc.checks:
        check.findings = check.findings * 3
    parts = doc.dump_json_parts()
    assert "".join(parts) == doc.dump_json()
    assert len(parts) > 1 or settings
