"""`merge`: many sites' results as one document (pure logic, then through the CLI).

Properties: merging is associative (a merge merged with another file equals merging all) and
idempotent (a file merged with itself, or a merge merged again, is unchanged).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ems_readiness.engine.merge import WHOLE_CHECK, MergeError, merge_results
from ems_readiness.engine.model import (
    CheckResult, Finding, Results, Severity, Status, ToolInfo, Totals, Vantage, parse_results,
)
from ems_readiness.engine.sites import stamp_site

TENANT = "6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11"
OTHER_TENANT = "0a0a0a0a-5b8e-4c1f-9a7d-2e4b8c0f1a11"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
CHECKS = {"NET-001": ("network", "network"), "DNS-005": ("dns", "network"), "LIC-001": ("licensing", "tenant"),
          "ADP-001": ("directory", "directory")}
STATUSES = [Status.PASS, Status.FAIL, Status.WARN, Status.ERROR, Status.SKIP]


def check(check_id: str, findings: list[Finding], status: Status | None = None, reason: str | None = None) -> CheckResult:
    area, side = CHECKS[check_id]
    from ems_readiness.engine.check import rollup

    return CheckResult(id=check_id, title=check_id, area=area, side=side, severity=Severity.HIGH,
                       responsibilities=["enable.network"], status=status or rollup(f.status for f in findings) or Status.SKIP,
                       reason=reason, findings=findings)


def scan(site: str, minute: int, *, tenant: str | None = TENANT, tenant_side: bool = True, network: dict | None = None,
         tenant_status: Status = Status.PASS, scan_id: str | None = None) -> Results:
    """One site's scan: `network` maps check id -> {resource: status}."""
    network = network if network is not None else {"NET-001": {"login:443": Status.PASS}}
    checks = [check(cid, [Finding(check_id=cid, resource=r, status=s, message=f"{r} {s.value}")
                          for r, s in found.items()]) for cid, found in network.items()]
    if tenant_side:
        checks.append(check("LIC-001", [Finding(check_id="LIC-001", resource="EMS E5", status=tenant_status, message="x")]))
    else:
        checks.append(check("LIC-001", [], Status.SKIP, "the tenant side is not part of this scan (--no-tenant)"))
    results = Results(
        tool=ToolInfo(version="test"), scan_id=scan_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{site}-{minute}")),
        started=T0 + timedelta(minutes=minute), finished=T0 + timedelta(minutes=minute, seconds=30), mode="live",
        tenant_id=tenant if tenant_side else None, vantage=Vantage(site=site, host=f"host-{site}"),
        settings={"tenant": tenant, "tenant_side": tenant_side, "network_side": True},
        checks=sorted(checks, key=lambda c: c.id), responsibilities=[], totals=Totals(checks={}, findings={}))
    return stamp_site(results)


def canonical(results: Results) -> dict:
    data = json.loads(results.dump_json())
    data.pop("tool")
    return data


# ---- properties -----------------------------------------------------------------------------

site_names = st.sampled_from(["hq", "branch-1", "branch-2", "lab", "plant"])
network_results = st.dictionaries(
    st.sampled_from(["NET-001", "DNS-005"]),
    st.dictionaries(st.sampled_from(["login:443", "manage:443", "graph:443", "dc01 10.0.0.1:389"]),
                    st.sampled_from(STATUSES), max_size=3),
    max_size=2)


@st.composite
def site_scans(draw, count: int = 3) -> list[Results]:
    names = draw(st.lists(site_names, min_size=count, max_size=count, unique=True))
    return [scan(name, draw(st.integers(0, 50)), tenant_side=draw(st.booleans()), network=draw(network_results),
                 tenant_status=draw(st.sampled_from([Status.PASS, Status.FAIL])))
            for name in names]


def merged(*docs: Results) -> Results:
    return merge_results([(f"file{i}", d) for i, d in enumerate(docs)])


@given(site_scans())
def test_merge_is_associative(docs):
    a, b, c = docs
    everything = canonical(merged(a, b, c))
    assert canonical(merged(merged(a, b), c)) == everything
    assert canonical(merged(a, merged(b, c))) == everything


@given(site_scans(count=2))
def test_merge_is_idempotent(docs):
    a, b = docs
    once = merged(a, b)
    assert canonical(merged(once)) == canonical(once)
    assert canonical(merged(once, once)) == canonical(once)
    assert canonical(merged(once, a)) == canonical(once)
    assert canonical(merged(a, a)) == canonical(merged(a))


@given(site_scans())
def test_merged_document_survives_its_own_json(docs):
    doc = merged(*docs)
    again = parse_results(doc.dump_json(), "merged.json")
    assert canonical(again) == canonical(doc)


# ---- rules ----------------------------------------------------------------------------------

def test_network_findings_keep_their_site_and_the_rollup_covers_every_site():
    hq = scan("hq", 0, network={"NET-001": {"login:443": Status.PASS}})
    branch = scan("branch", 5, tenant_side=False, network={"NET-001": {"login:443": Status.FAIL}})
    doc = merged(hq, branch)
    net = next(c for c in doc.checks if c.id == "NET-001")
    assert [(f.site, f.status) for f in net.findings] == [("branch", Status.FAIL), ("hq", Status.PASS)]
    assert net.status is Status.FAIL
    assert [s.site for s in doc.sites] == ["branch", "hq"]
    network = next(r for r in doc.responsibilities if r.key == "enable.network")
    assert network.status == "fail"  # the branch's block fails the responsibility of the whole customer


def test_tenant_side_comes_from_the_scan_that_read_it():
    hq = scan("hq", 0, tenant_status=Status.FAIL)
    branch = scan("branch", 30, tenant_side=False)  # later, but it did not read the tenant
    doc = merged(branch, hq)
    lic = next(c for c in doc.checks if c.id == "LIC-001")
    assert lic.status is Status.FAIL and lic.findings[0].site is None
    assert doc.tenant_id == TENANT and doc.vantage.site == "hq"
    assert not doc.tenant_disagreements


def test_disagreeing_tenant_reads_are_reported_not_picked_silently():
    hq = scan("hq", 0, tenant_status=Status.FAIL)
    lab = scan("lab", 10, tenant_status=Status.PASS)
    doc = merged(hq, lab)
    assert len(doc.tenant_reads) == 2
    [disagreement] = doc.tenant_disagreements
    assert disagreement.check_id == "LIC-001" and disagreement.statuses == {"hq": "fail", "lab": "pass"}
    lic = next(c for c in doc.checks if c.id == "LIC-001")
    assert lic.status is Status.PASS  # the latest read stands, and the disagreement says so


def test_a_check_that_could_not_run_at_a_site_is_kept_as_a_finding():
    hq = scan("hq", 0)
    branch = scan("branch", 1, tenant_side=False, network={})
    branch.checks.append(check("NET-001", [], Status.ERROR, "the resolver did not answer"))
    doc = merged(hq, branch)
    net = next(c for c in doc.checks if c.id == "NET-001")
    lost = next(f for f in net.findings if f.site == "branch")
    assert lost.resource == WHOLE_CHECK and lost.status is Status.ERROR and "resolver" in lost.message


def test_different_tenants_are_refused():
    with pytest.raises(MergeError, match="different tenants"):
        merged(scan("hq", 0), scan("branch", 1, tenant=OTHER_TENANT, tenant_side=False))


def test_a_tenant_named_by_domain_joins_through_the_scan_that_read_it():
    hq = scan("hq", 0)
    hq.sites[0].settings["tenant"] = "contoso.onmicrosoft.com"
    branch = scan("branch", 1, tenant="contoso.onmicrosoft.com", tenant_side=False)
    assert merged(hq, branch).tenant_id == TENANT


def test_one_site_in_two_scans_is_refused():
    with pytest.raises(MergeError, match="site 'hq' is in two different scans"):
        merged(scan("hq", 0), scan("hq", 9))


def test_v1_documents_are_read_and_merge(tmp_path):
    v1 = json.loads(scan("old", 0).dump_json())
    v1["schema"] = "ems-readiness/results/v1"
    for key in ("sites", "tenant_reads", "tenant_disagreements"):
        v1.pop(key)
    v1["vantage"].pop("site")
    v1["vantage"].pop("egress")
    for c in v1["checks"]:
        c.pop("side")
        for f in c["findings"]:
            f.pop("site")
    doc = parse_results(json.dumps(v1), "v1.json")
    assert doc.vantage.site == "host-old" and doc.sites[0].site == "host-old"
    net = next(c for c in doc.checks if c.id == "NET-001")
    assert net.findings[0].site == "host-old"
    both = merged(doc, scan("branch", 3, tenant_side=False))
    assert {s.site for s in both.sites} == {"host-old", "branch"}


# ---- through the command line ---------------------------------------------------------------

def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ems_readiness.cli", *args], capture_output=True, text=True, timeout=120)


def test_merge_command_writes_the_merged_document_and_refuses_other_tenants(tmp_path):
    files = []
    for doc in (scan("hq", 0), scan("branch", 1, tenant_side=False, network={"NET-001": {"login:443": Status.FAIL}})):
        path = tmp_path / f"{doc.vantage.site}.json"
        path.write_text(doc.dump_json(), encoding="utf-8")
        files.append(str(path))
    proc = run("merge", *files, "--out", str(tmp_path / "out"), "--format", "md,csv")
    assert proc.returncode == 1, proc.stderr  # the branch fails a high-severity finding
    doc = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "ems-readiness/results/v2" and doc["mode"] == "merged"
    assert [s["site"] for s in doc["sites"]] == ["branch", "hq"]
    again = run("merge", str(tmp_path / "out" / "results.json"), files[0], "--out", str(tmp_path / "again"))
    assert again.returncode == 1, again.stderr

    other = tmp_path / "other.json"
    other.write_text(scan("plant", 2, tenant=OTHER_TENANT).dump_json(), encoding="utf-8")
    proc = run("merge", *files, str(other), "--out", str(tmp_path / "bad"))
    assert proc.returncode == 2 and "different tenants" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_diff_of_merged_documents_is_per_site(tmp_path):
    before = merged(scan("hq", 0), scan("branch", 1, tenant_side=False, network={"NET-001": {"login:443": Status.FAIL}}))
    after = merged(scan("hq", 60), scan("branch", 61, tenant_side=False, network={"NET-001": {"login:443": Status.PASS}}))
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(before.dump_json(), encoding="utf-8")
    new.write_text(after.dump_json(), encoding="utf-8")
    proc = run("diff", str(old), str(new), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    changes = json.loads(proc.stdout)
    assert [(e["check_id"], e["site"]) for e in changes["fixed"]] == [("NET-001", "branch")]
    assert all(e["site"] != "hq" for e in changes["fixed"] + changes["regressed"])
