"""The demo from two sites: the head office reads the tenant, the branch office has its own
resolver view and a firewall dropping some endpoints, and the merged report speaks for both. Real
probes against the simulated environment. The branch office scans from a network namespace of its
own with iptables rules (as root) and from a second loopback address: every test of the merged
report runs against both, so the two ways give the same report."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.demo_sites import demo_command, namespaces, require_namespaces


@dataclass(frozen=True)
class Demo:
    out: Path
    isolation: str  # --branch-isolation
    stderr: str


@pytest.fixture(scope="module", params=["namespace", "loopback"])
def run(request, tmp_path_factory) -> Demo:
    if request.param == "namespace":
        require_namespaces()
    out = tmp_path_factory.mktemp(f"sites-demo-{request.param}") / "unready"
    proc = subprocess.run(demo_command(out, request.param, "--format", "html,json,md,csv,junit,sarif"),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr  # the unready scenario fails on purpose
    return Demo(out, request.param, proc.stderr)


@pytest.fixture(scope="module")
def demo(run) -> Path:
    return run.out


def findings(doc: dict, check_id: str) -> list[dict]:
    return next(c for c in doc["checks"] if c["id"] == check_id)["findings"]


def test_each_site_keeps_its_own_results_and_the_merge_names_both(demo):
    hq = json.loads((demo / "sites" / "head-office" / "results.json").read_text(encoding="utf-8"))
    branch = json.loads((demo / "sites" / "branch-office" / "results.json").read_text(encoding="utf-8"))
    merged = json.loads((demo / "results.json").read_text(encoding="utf-8"))
    assert hq["vantage"]["site"] == "head-office" and hq["vantage"]["egress"] == "127.0.0.1"
    assert branch["vantage"]["site"] == "branch-office" and branch["vantage"]["egress"] == "unknown"
    assert branch["vantage"]["resolvers"]["internal"] != hq["vantage"]["resolvers"]["internal"]
    assert merged["mode"] == "merged" and [s["site"] for s in merged["sites"]] == ["branch-office", "head-office"]
    assert merged["tenant_id"] == hq["tenant_id"] and [r["site"] for r in merged["tenant_reads"]] == ["head-office"]


def test_a_finding_is_one_per_check_resource_and_site_so_baselines_compare_it(demo):
    """A re-run is compared finding by finding on (check, resource, site): two findings on one key
    would leave one of them unjudged."""
    for doc in (demo / "results.json", *sorted((demo / "sites").glob("*/results.json"))):
        checks = json.loads(doc.read_text(encoding="utf-8"))["checks"]
        keys = [(c["id"], f["resource"], f["site"]) for c in checks for f in c["findings"]]
        assert sorted(k for k in set(keys) if keys.count(k) > 1) == [], doc


def test_the_branch_firewall_drops_endpoints_the_head_office_reaches(demo):
    merged = json.loads((demo / "results.json").read_text(encoding="utf-8"))
    by_site = {(f["site"], f["resource"].split(":")[0]): f["status"] for f in findings(merged, "NET-001")}
    for host in ("discover.aadrm.com", "enterpriseenrollment-s.manage.microsoft.com"):
        assert by_site[("head-office", host)] == "pass"
        assert by_site[("branch-office", host)] == "fail"


def test_split_horizon_differs_per_site(demo):
    merged = json.loads((demo / "results.json").read_text(encoding="utf-8"))
    disagreeing = {(f["site"], f["resource"]) for f in findings(merged, "DNS-005") if f["status"] == "fail"}
    assert disagreeing == {("head-office", "enterpriseenrollment.contoso.test CNAME"),
                           ("branch-office", "enterpriseregistration.contoso.test CNAME")}
    enrollment = {f["site"]: f["status"] for f in findings(merged, "DNS-001")
                  if f["resource"] == "enterpriseenrollment.contoso.test"}
    assert enrollment == {"head-office": "fail", "branch-office": "pass"}


def test_the_branch_backhaul_shows_in_its_network_quality(demo):
    merged = json.loads((demo / "results.json").read_text(encoding="utf-8"))
    login = {f["site"]: f for f in findings(merged, "NET-004") if f["resource"].startswith("login.microsoftonline.com:")}
    branch = login["branch-office"]
    assert branch["status"] in ("warn", "fail"), branch["observed"]  # 45 ms each way: 90 ms or more a round trip
    assert branch["evidence"] == []  # the merged document does not carry raw evidence: the site's file does
    own = json.loads((demo / "sites" / "branch-office" / "results.json").read_text(encoding="utf-8"))
    [login_there] = [f for f in findings(own, "NET-004") if f["resource"] == branch["resource"]]
    handshakes = [e["data"]["handshake_ms"] for e in login_there["evidence"] if e["probe"] == "tls"]
    assert handshakes and min(handshakes) >= 90
    assert any(f["site"] == "branch-office" and f["resource"].startswith("resolver ") for f in findings(merged, "NET-004"))


def test_the_merged_report_shows_the_site_matrix_and_who_must_act(demo):
    import re

    page = (demo / "report.html").read_text(encoding="utf-8")
    sites = page[page.index('<section id="sites">'):page.index("</section>", page.index('<section id="sites">'))]
    blocked = sites[sites.index('<table class="blocked">'):sites.index("</table>", sites.index('<table class="blocked">'))]
    rows = dict(re.findall(r"<td><code>([^<]+)</code></td><td>([^<]*)</td>", blocked))
    assert rows[next(r for r in rows if r.startswith("discover.aadrm.com:"))] == "branch-office"
    assert 'class="cell s-fail" title="branch-office' in sites and 'class="cell s-pass" title="head-office' in sites
    assert "enterpriseregistration.contoso.test CNAME" in sites and "enterpriseenrollment.contoso.test CNAME" in sites
    # the action plan names the sites whose owner must act
    actions = page[page.index('<section id="actions">'):page.index('<section id="sites">')]
    assert re.search(r'<dd class="sites">[^<]*branch-office', actions)
    summary = (demo / "summary.md").read_text(encoding="utf-8")
    assert "### Sites" in summary and "branch-office" in summary
    header = (demo / "findings.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[header.index("Object") + 1] == "Site"


def test_the_branch_is_started_only_when_asked():
    from ems_readiness.simulate.environment import SimulatedEnvironment

    with SimulatedEnvironment("unready") as env:
        assert env.branch is None
        with pytest.raises(ValueError):
            env.branch_profile()


def branch_scan(demo: Path) -> dict:
    merged = json.loads((demo / "results.json").read_text(encoding="utf-8"))
    return next(s for s in merged["sites"] if s["site"] == "branch-office")


def test_the_demo_says_how_the_branch_was_isolated_and_its_firewall_filtered_the_blocked_endpoints(run):
    settings = branch_scan(run.out)["settings"]
    [line] = [line for line in run.stderr.splitlines() if line.startswith("branch office ")]
    merged = json.loads((run.out / "results.json").read_text(encoding="utf-8"))
    blocked = [f for f in findings(merged, "NET-001") if f["site"] == "branch-office" and f["status"] == "fail"
               and "127.0.0.2" in f["observed"]]
    assert {f["resource"].split(":")[0] for f in blocked} == {"discover.aadrm.com",
                                                              "enterpriseenrollment-s.manage.microsoft.com"}
    assert all(f["observed"].startswith("filtered: no answer from 127.0.0.2") for f in blocked)
    if run.isolation == "loopback":
        assert settings["isolation"] == "loopback 127.0.0.2" and "firewall" not in settings
        assert "on loopback 127.0.0.2 (no network namespace: --branch-isolation loopback)" in line
        return
    assert settings["isolation"].startswith("network namespace emsr-demo-")
    assert f"in {settings['isolation']}" in line
    # the DROP rule on their port caught the SYNs: the firewall filtered them (behind it, a relay
    # to the endpoint would have answered)
    [rule] = settings["firewall"]
    assert {f"DROP tcp to 127.0.0.2:{f['resource'].split(':')[1]}" for f in blocked} == {rule["rule"]}
    assert rule["packets"] >= 2 * len(blocked)
    name = settings["isolation"].removeprefix("network namespace ")
    assert name not in namespaces(require_namespaces())
