"""The re-run view: one definition of fixed / regressed / new / still failing / gone (reports/compare.py)
and every output agreeing with it, on the demo pair (unready, then ready) and a regression pair
(ready, then unready)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from tests.support.browser import evaluate
from tests.test_cli import run

CHANGES = ("regressed", "new", "still-failing", "fixed", "unchanged", "gone")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rerun")
    unready, ready = root / "unready", root / "ready"
    assert run("demo", "--out", str(unready), "--format", "json").returncode == 1
    assert run("demo", "--scenario", "ready", "--out", str(ready), "--format", "json").returncode == 0
    out = {}
    for name, (old, new) in {"fixing": (unready, ready), "regressing": (ready, unready)}.items():
        folder = root / name
        proc = run("report", str(new / "results.json"), "--baseline", str(old / "results.json"), "--out", str(folder),
                   "--format", "html,json,md,csv", "--fail-on", "none")
        assert proc.returncode == 0, proc.stderr
        out[name] = (old / "results.json", new / "results.json", folder)
    return out


class Rows(HTMLParser):
    """data-change-toggle chips, rows of the fixed/gone lists, findings marked with a change."""

    def __init__(self, text: str):
        super().__init__()
        self.chips: dict[str, int] = {}
        self.listed: dict[str, int] = {}
        self.marked: dict[str, int] = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-change-toggle" in a:
            self.chips[a["data-change-toggle"]] = int(a["data-count"])
        elif tag == "tr" and "data-change" in a:
            self.listed[a["data-change"]] = self.listed.get(a["data-change"], 0) + 1
        elif tag == "tbody" and "data-change" in a:
            self.marked[a["data-change"]] = self.marked.get(a["data-change"], 0) + 1


def summary_counts(markdown: str) -> dict[str, int]:
    lines = markdown[markdown.index("### Since the baseline"):].splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Regressed"))
    labels = [c.strip() for c in lines[header].strip("|").split("|")]
    values = [int(c) for c in lines[header + 2].strip("|").split("|")]
    words = {"Regressed": "regressed", "New": "new", "Still failing": "still-failing", "Fixed": "fixed",
             "Unchanged": "unchanged", "Gone": "gone"}
    return {words[label]: value for label, value in zip(labels, values)}


@pytest.mark.parametrize("name", ["fixing", "regressing"])
def test_results_chips_lists_summary_and_diff_agree(pairs, name):
    old, new, folder = pairs[name]
    results = json.loads((folder / "results.json").read_text())
    counts = {c: results["baseline"]["counts"][c] for c in CHANGES}
    diff = run("diff", str(old), str(new), "--format", "json")
    assert {c: len(entries) for c, entries in json.loads(diff.stdout).items()} == counts
    assert summary_counts((folder / "summary.md").read_text()) == counts
    page = Rows((folder / "report.html").read_text())
    assert page.chips == counts
    assert page.listed.get("fixed", 0) == counts["fixed"] and page.listed.get("gone", 0) == counts["gone"]
    for change in ("regressed", "new", "still-failing"):
        assert page.marked.get(change, 0) == counts[change]
    marked = [f["change"] for c in results["checks"] for f in c["findings"]]
    gone = [f["change"] for f in results["baseline"]["gone"]]
    for change in CHANGES:
        assert marked.count(change) + gone.count(change) == counts[change]
    # (NET-004 times real round trips: on a loaded machine the ready demo may warn, so no count is pinned at 0)
    if name == "fixing":
        assert counts["fixed"] > 20
    else:
        assert counts["regressed"] > 10


def test_diff_exits_1_when_anything_regressed_or_is_new_and_shows_severity(pairs):
    old, new, _ = pairs["regressing"]
    proc = run("diff", str(old), str(new))
    assert proc.returncode == 1
    assert re.search(r"^  DNS-001\s+high\s+enterpriseenrollment\.contoso\.test", proc.stdout, re.M)
    assert proc.stdout.index("regressed:") < proc.stdout.index("fixed:")
    assert run("diff", str(new), str(new)).returncode == 0  # nothing regressed or new
    assert run("diff", str(new), str(new), "--format", "md").returncode == 0


CLICK_FIXED = """
  document.querySelector('button[data-change-toggle="fixed"]').click();
  function shown(selector) {
    return Array.prototype.filter.call(document.querySelectorAll(selector),
      function (el) { return el.offsetParent !== null; }).length;
  }
  var result = {fixed_rows: shown('tr[data-change="fixed"]'), other_rows: shown('tr[data-change="gone"]'),
                fixed_findings: shown('tbody.finding[data-change="fixed"]'),
                other_findings: shown('tbody.finding:not([data-change="fixed"])'),
                actions: shown('li.action')};
  document.querySelector('button[data-change-toggle="fixed"]').click();
  result.all_again = shown('tbody.finding') > result.fixed_findings;
  return result;
"""


def test_a_change_chip_filters_the_page(pairs, tmp_path):
    _, _, folder = pairs["fixing"]
    counts = json.loads((folder / "results.json").read_text())["baseline"]["counts"]
    seen = evaluate(folder / "report.html", CLICK_FIXED, tmp_path)
    assert seen["fixed_rows"] == counts["fixed"] and seen["other_rows"] == 0
    assert seen["fixed_findings"] > 0 and seen["other_findings"] == 0 and seen["actions"] == 0
    assert seen["all_again"]
