"""Reading results files: the fast path (pydantic-core's parser, equal sentences shared) reads what
the careful path reads, and refuses what it refuses with the careful path's one line."""

from __future__ import annotations

import json

import pytest

from ems_readiness.engine.merge import merge_results
from ems_readiness.engine.model import Results, ResultsFileError, Text, load_results
from tests.test_merge import scan
from tests.test_outputs import realistic_results


def careful(path) -> Results:
    return Results.model_validate(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("lean", [False, True])
@pytest.mark.parametrize("make", [realistic_results, lambda: merge_results([("a", scan("hq", 0)),
                                                                             ("b", scan("branch", 1, tenant_side=False))])])
def test_the_fast_path_reads_what_the_careful_path_reads(tmp_path, make, lean):
    doc = make()
    path = tmp_path / "results.json"
    path.write_text(doc.dump_json(), encoding="utf-8")
    loaded = load_results(path, lean=lean)
    if not lean:
        assert loaded.dump_json() == careful(path).dump_json() == doc.dump_json()
    assert [f.message for f in loaded.findings()] == [f.message for f in doc.findings()]


def test_equal_sentences_of_a_merged_document_are_one_object(tmp_path):
    doc = merge_results([("a", scan("hq", 0)), ("b", scan("branch", 1, tenant_side=False))])
    for finding in doc.findings():
        finding.texts = {"expected": Text(id="net.expected.direct"),
                         "message": Text(id="net.reachable", params={"label": finding.resource})}
    path = tmp_path / "merged.json"
    path.write_text(doc.dump_json(), encoding="utf-8")
    loaded = load_results(path)
    by_text: dict[str, list] = {}
    for finding in loaded.findings():
        for text in finding.texts.values():
            by_text.setdefault(text.model_dump_json(), []).append(text)
    repeated = [texts for texts in by_text.values() if len(texts) > 1]
    assert repeated and all(all(t is texts[0] for t in texts) for texts in repeated)


@pytest.mark.parametrize("change, says", [
    (lambda t: t.replace('"duration_ms": 0.0', '"duration_ms": 1e999', 1), "not a finite number"),
    (lambda t: t.replace('"schema": "ems-readiness/results/v2",', "", 1), "not an ems-readiness results file"),
    (lambda t: t.replace('"mode": "live"', '"mode": 7', 1), "invalid results file at 'mode'"),
])
def test_a_bad_whole_document_gets_the_careful_paths_line(tmp_path, change, says):
    text = scan("hq", 0).dump_json()
    path = tmp_path / "bad.json"
    path.write_text(change(text), encoding="utf-8")
    assert path.read_text(encoding="utf-8") != text
    with pytest.raises(ResultsFileError, match=says):
        load_results(path)


def nested(levels: int, leaf: dict, wrap) -> dict:
    for _ in range(levels):
        leaf = wrap(leaf)
    return leaf


@pytest.mark.parametrize("where", ["sentence", "evidence"])
def test_a_whole_document_nested_deeper_than_the_careful_path_allows_is_refused_alike(tmp_path, where):
    doc = json.loads(scan("hq", 0).dump_json())
    finding = next(f for c in doc["checks"] for f in c["findings"])
    if where == "sentence":  # a message whose parameter is a message, 40 times: 80 levels in the JSON
        finding["texts"] = {"message": nested(40, {"id": "x", "params": {}}, lambda t: {"id": "x", "params": {"p": t}})}
    else:
        finding["evidence"] = [{"probe": "tcp", "target": "t", "outcome": "ok",
                                "data": nested(60, {"a": 1}, lambda d: {"d": d})}]
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ResultsFileError, match="nested deeper than 64 levels"):
        load_results(path)
