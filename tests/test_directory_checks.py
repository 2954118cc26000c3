"""The directory checks (ADP-001…005, DEV-001, RMS-001) over real export files read by the real
ExportDirectorySource, joined with the simulated Graph tenant over loopback HTTP; the grouping of
thousands of bad objects; [directory] scope_ous; what cannot be assessed is `error`; the
directory-fixes.csv companion; the demo end to end."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

import ems_readiness.checks.directory as directory_checks
from ems_readiness.checks._directory import in_scope, normalize_dn
from ems_readiness.engine.auth import StaticTokenCredential
from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.model import DirectoryFix, Status
from ems_readiness.engine.profile import profile_from_dict
from ems_readiness.engine.registry import checks_in
from ems_readiness.engine.runner import run_check
from ems_readiness.engine.tenant_connection import connect_tenant
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.directory_export import ExportDirectorySource
from ems_readiness.probes.forest_file import ForestFileError, load_forest_file
from ems_readiness.reports import directory_fixes
from ems_readiness.simulate.environment import DIRECTORY_SCOPES, scenario_dir

from .support.findings import by_resource
from .support.tenant import ALL_APPLICATION, app_token, simulated_tenant

CHECKS = {c.id: c for c in checks_in(directory_checks)}
CLI = [sys.executable, "-m", "ems_readiness.cli"]


def demo_profile(scenario: str, **directory) -> dict:
    source = scenario_dir(scenario)
    settings = {"export": str(source / "directory.ldf"), "forest_file": str(source / "forest.json"),
                "scope_ous": DIRECTORY_SCOPES[scenario], **directory}
    return {"identity": {"routable_tlds": ["test"]}, "directory": {k: v for k, v in settings.items() if v is not None}}


def run_directory_checks(raw_profile: dict, source=None, graph_url: str | None = None, token: str | None = None):
    """Every directory check over one source (one assessment shared, as in a scan); results by id."""
    profile = profile_from_dict(raw_profile)

    async def main():
        graph = None
        if graph_url:
            tenant_profile = profile_from_dict({**raw_profile, "tenant": {"graph_url": graph_url, "auth": "token"}})
            connection = await connect_tenant(tenant_profile, EvidenceLog(), StaticTokenCredential(token))
            assert connection.unread is None, connection.unread
            graph = connection.graph
        directory = source or ExportDirectorySource(str(profile.path(profile.directory.export)),
                                                    scope_filter=profile.directory.scope_filter)
        probes = Probes(graph=graph, dns=None, tls=None, tcp=None, directory=directory)
        try:
            results = await asyncio.gather(*(run_check(c, CheckContext(c, profile, probes, None))
                                             for c in CHECKS.values()))
        finally:
            if graph is not None:
                await graph.aclose()
        return {r.id: r for r in results}

    return asyncio.run(main())


@pytest.fixture(scope="module")
def unready():
    return run_directory_checks(demo_profile("unready"))


def test_attribute_rules_are_grouped_per_rule_and_attribute(unready):
    adp1 = unready["ADP-001"]
    assert adp1.status is Status.FAIL
    found = by_resource(adp1.findings)
    assert {"ER-UPN-SUFFIX:userPrincipalName", "IDF-MAILNICKNAME-CHARACTER:mailNickname",
            "IDF-PROXY-SMTP-CHARACTER:proxyAddresses", "IDF-DISPLAYNAME-BLANK:displayName"} <= set(found)
    suffix = found["ER-UPN-SUFFIX:userPrincipalName"]
    assert suffix.message.startswith("3 object(s)") and "diegos@corp.local" in suffix.observed
    assert "directory-fixes.csv" in suffix.remediation
    blank = found["IDF-DISPLAYNAME-BLANK:displayName"]
    assert blank.status is Status.WARN and "'Patti Fernandez'" in blank.observed  # IdFix proposes cn
    # the object outside [directory] scope_ous (svc backup@corp.local, a bad UPN) is not reported
    assert "svc" not in json.dumps([f.model_dump() for f in adp1.findings])


def test_duplicates_within_and_across_attributes(unready):
    found = by_resource(unready["ADP-002"].findings)
    across = found["ER-SMTP-DUPLICATE:mail"]  # the group's mail is a user's smtp: proxy address
    assert "CN=Sales" in across.observed and "CN=Nestor Wilke" in across.observed
    within = found["IDF-PROXY-DUPLICATE:proxyAddresses"]
    assert "adele.vance@contoso.test" in within.observed


def test_upn_suffixes_without_the_tenant(unready):
    found = by_resource(unready["ADP-003"].findings)
    assert found["suffix:corp.local"].status is Status.FAIL
    assert found["suffix:contoso.test"].status is Status.PASS  # .test is routable only by routable_tlds
    assert found["forest-suffix:corp.lan"].status is Status.WARN
    assert found["tenant verification"].status is Status.SKIP


def test_match_preview_needs_the_tenant(unready):
    adp4 = unready["ADP-004"]
    assert adp4.status is Status.SKIP and "tenant side is not part of this scan" in adp4.findings[0].message


def test_forest_prerequisites_and_client_infrastructure(unready):
    found = by_resource(unready["ADP-005"].findings)
    assert found["recycle-bin"].status is Status.WARN
    assert found["forest:corp.local"].status is Status.PASS and found["writable-dc"].status is Status.PASS
    assert found["object count"].message.startswith("16 objects")  # 14 users, a group, a contact in scope
    assert found["group sizes"].status is Status.PASS
    assert unready["DEV-001"].findings[0].status is Status.WARN  # no hybrid-join SCP
    assert unready["RMS-001"].findings[0].status is Status.WARN


def test_joined_with_the_tenant_the_preview_finds_the_admin_takeover():
    token = app_token([*ALL_APPLICATION, "RoleManagement.Read.Directory"])
    with simulated_tenant("unready", token=token) as sim:
        results = run_directory_checks(demo_profile("unready"), graph_url=sim.url, token=token)
    found = by_resource(results["ADP-004"].findings)
    takeover = found["admin-takeover:meganb@contoso.test"]
    assert takeover.status is Status.FAIL and "Global Administrator" in takeover.message
    assert "cloud-only" in takeover.remediation
    conflict = found["conflict:johannal@contoso.test"]  # re-created in AD: another objectGUID
    assert conflict.status is Status.FAIL
    assert found["already-synced"].message.startswith("11 ")
    assert found["new"].message.startswith("1 ") and "Henrietta" in found["new"].observed
    suffixes = by_resource(results["ADP-003"].findings)
    assert "not a verified domain" in suffixes["suffix:fabrikam.test"].message


def test_ready_directory_passes_with_the_tenant():
    token = app_token([*ALL_APPLICATION, "RoleManagement.Read.Directory"])
    with simulated_tenant("ready", token=token) as sim:
        results = run_directory_checks(demo_profile("ready"), graph_url=sim.url, token=token)
    assert {r.id: r.status for r in results.values()} == {i: Status.PASS for i in CHECKS}
    assert "names this tenant" in results["DEV-001"].findings[0].message


def test_a_token_without_the_role_read_makes_the_preview_an_error():
    token = app_token(ALL_APPLICATION)
    with simulated_tenant("unready", token=token) as sim:
        results = run_directory_checks(demo_profile("unready"), graph_url=sim.url, token=token)
    assert results["ADP-004"].status is Status.ERROR
    assert "RoleManagement.Read.Directory" in results["ADP-004"].reason


# ---- thousands of bad objects stay readable -----------------------------------------------------

def ldif_users(path: Path, count: int, upn: str, ou: str = "OU=Staff,DC=corp,DC=example") -> Path:
    lines = []
    for i in range(count):
        lines += [f"dn: CN=User {i},{ou}", "changetype: add", "objectClass: user", f"cn: User {i}",
                  f"displayName: User {i}", f"sAMAccountName: user{i}", f"userPrincipalName: {upn.format(i=i)}",
                  f"objectGUID:: {__import__('base64').b64encode(uuid.uuid4().bytes_le).decode()}", ""]
    path.write_text("\r\n".join(lines), encoding="utf-8")
    return path


def test_five_thousand_bad_objects_make_one_finding_per_rule(tmp_path):
    export = ldif_users(tmp_path / "big.ldf", 5000, "user {i}@corp.local")
    results = run_directory_checks({"directory": {"export": str(export)}})
    findings = results["ADP-001"].findings
    assert len(findings) < 10
    character = by_resource(findings)["IDF-UPN-CHARACTER:userPrincipalName"]
    assert character.message.startswith("5000 object(s)")
    assert character.observed.count("\n") == directory_checks.FIRST_OBJECTS  # a count line, then the first five
    assert "CN=User 0,OU=Staff" in character.observed and "CN=User 5," not in character.observed


def test_scope_ous_leave_objects_out_and_count_them(tmp_path):
    export = tmp_path / "two.ldf"
    text = ldif_users(tmp_path / "a.ldf", 3, "bad {i}@corp.example", ou="OU=Staff,DC=corp,DC=example").read_text()
    text += "\r\n" + ldif_users(tmp_path / "b.ldf", 2, "bad {i}@corp.example", ou="OU=Lab,DC=corp,DC=example").read_text()
    export.write_text(text, encoding="utf-8")
    scoped = run_directory_checks({"directory": {"export": str(export), "scope_ous": ["ou=staff, dc=corp,dc=EXAMPLE"]}})
    finding = by_resource(scoped["ADP-001"].findings)["IDF-UPN-CHARACTER:userPrincipalName"]
    assert finding.message.startswith("3 object(s)") and "OU=Lab" not in finding.observed
    assert "2 outside [directory] scope_ous" in by_resource(scoped["ADP-005"].findings)["object count"].observed


@pytest.mark.parametrize("dn, scopes, inside", [
    ("CN=A,OU=Staff,DC=corp,DC=local", ["ou=staff,dc=corp,dc=local"], True),
    ("CN=A,OU=Staff , DC=corp,DC=local", ["OU=Staff,DC=corp,DC=local"], True),
    ("CN=A,OU=Staff,DC=corp,DC=local", ["OU=Staff,DC=corp,DC=local", "OU=X,DC=corp,DC=local"], True),
    ("OU=Staff,DC=corp,DC=local", ["OU=Staff,DC=corp,DC=local"], True),
    ("CN=A,OU=NotStaff,DC=corp,DC=local", ["OU=Staff,DC=corp,DC=local"], False),
    ("CN=Smith\\, OU=Staff,OU=Lab,DC=corp,DC=local", ["OU=Staff,OU=Lab,DC=corp,DC=local"], False),
    ("CN=Smith\\,John,OU=Staff,DC=corp,DC=local", ["OU=Staff,DC=corp,DC=local"], True),
])
def test_scope_matching(dn, scopes, inside):
    assert in_scope(dn, [normalize_dn(s) for s in scopes]) is inside


# ---- what cannot be assessed is an error -----------------------------------------------------------

def test_an_export_without_forest_description_makes_the_forest_checks_errors(tmp_path):
    export = ldif_users(tmp_path / "ok.ldf", 2, "user{i}@contoso.com")
    results = run_directory_checks({"directory": {"export": str(export)}})
    for check_id in ("DEV-001", "RMS-001"):
        assert results[check_id].status is Status.ERROR
        assert "an export holds no forest configuration" in results[check_id].reason
    forest = by_resource(results["ADP-005"].findings)["forest"]
    assert forest.status is Status.ERROR and "forest_file" in forest.message
    assert results["ADP-001"].status is Status.PASS  # the objects were still judged


def test_a_broken_export_makes_the_object_checks_errors(tmp_path):
    export = ldif_users(tmp_path / "broken.ldf", 3, "user{i}@contoso.com")
    export.write_text(export.read_text() + "\r\ndn: CN=Broken,DC=corp,DC=example\r\nnot an attribute line\r\n")
    results = run_directory_checks({"directory": {"export": str(export)}})
    for check_id in ("ADP-001", "ADP-002", "ADP-003"):
        assert results[check_id].status is Status.ERROR, check_id
        assert "broken.ldf" in results[check_id].reason


class GlobalCatalogExport(ExportDirectorySource):
    """An export read as if from a global catalog whose partial attribute set lacks proxyAddresses."""

    def __init__(self, path: str, forest) -> None:
        super().__init__(path)
        self._forest = forest

    async def forest(self):
        return self._forest


def test_attributes_outside_the_partial_attribute_set_are_errors():
    profile = demo_profile("unready", forest_file=None)
    forest = replace(load_forest_file(scenario_dir("unready") / "forest.json"),
                     outside_partial_attribute_set=frozenset({"proxyAddresses"}))
    source = GlobalCatalogExport(profile["directory"]["export"], forest)
    results = run_directory_checks(profile, source=source)
    found = by_resource(results["ADP-001"].findings)
    assert found["attribute:proxyAddresses"].status is Status.ERROR
    assert not any(r.startswith("IDF-PROXY") for r in found)  # not judged from what a GC may not have sent
    assert by_resource(results["ADP-002"].findings)["attribute:proxyAddresses"].status is Status.ERROR


def test_without_a_directory_the_checks_skip():
    async def main():
        profile = profile_from_dict({})
        probes = Probes(graph=None, dns=None, tls=None, tcp=None, directory=None)
        return [await run_check(c, CheckContext(c, profile, probes, None)) for c in CHECKS.values()]

    assert {r.status for r in asyncio.run(main())} == {Status.SKIP}


# ---- the forest description and directory-fixes.csv ---------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("not json", "not JSON"),
    ("[]", "expected a JSON object"),
    ('{"root_domain": "corp.local"}', "'domains' must be a non-empty list"),
    ('{"root_domain": "corp.local", "domains": [{"dn": "DC=corp"}]}', "domains[0]: 'dns_name'"),
    ('{"root_domain": "x", "domains": [{"dn": "a", "dns_name": "b"}], "recycle_bin_enabled": "yes"}',
     "'recycle_bin_enabled' must be true, false or null"),
])
def test_bad_forest_descriptions_name_the_file(tmp_path, text, fragment):
    path = tmp_path / "forest.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ForestFileError) as error:
        load_forest_file(path)
    assert str(error.value).startswith(str(path)) and fragment in str(error.value)


def test_forest_description_from_powershell(tmp_path):
    path = tmp_path / "forest.json"  # ConvertTo-Json writes a one-item list as a string; Out-File adds a BOM
    path.write_text('\ufeff{"root_domain": "corp.example", "domains": [{"dn": "DC=corp,DC=example",'
                    ' "dns_name": "corp.example", "netbios_name": "CORP"}], "hybrid_join_scp": "azureADName:x.com"}',
                    encoding="utf-8")
    forest = load_forest_file(path)
    assert forest.hybrid_join_scp == ("azureADName:x.com",)
    assert forest.recycle_bin_enabled is None and forest.forest_functional_level is None  # unknown, not false


def test_directory_fixes_csv_is_idfix_shaped_and_formula_safe():
    from .test_html_report import sample_results

    results = sample_results()
    results.directory_fixes = [
        DirectoryFix(dn="CN=A,DC=corp,DC=local", attribute="displayName", error="blank", value="=HYPERLINK(1)",
                     update="@A", action="EDIT", rule="IDF-DISPLAYNAME-BLANK"),
        DirectoryFix(dn="CN=B,DC=corp,DC=local", attribute="proxyAddresses", error="duplicate",
                     value="smtp:b@contoso.test", update=None, action="COMPLETE", rule="IDF-PROXY-DUPLICATE"),
    ]
    results.directory_fixes_total = 5
    text = directory_fixes.render(results)
    assert text.startswith("\ufeffDISTINGUISHEDNAME,ATTRIBUTE,ERROR,VALUE,UPDATE,ACTION,RULE\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1] == ["CN=A,DC=corp,DC=local", "displayName", "blank", "'=HYPERLINK(1)", "'@A", "EDIT",
                       "IDF-DISPLAYNAME-BLANK"]
    assert rows[2][4] == "" and rows[2][5] == "COMPLETE"
    assert rows[3][0].startswith("… 3 more rows")


# ---- the command line and the demo --------------------------------------------------------------

def run_cli(*args, timeout=180):
    import os

    env = {**os.environ, "CI": "true"}
    env.pop("HTTPS_PROXY", None)
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_a_broken_export_is_exit_2_before_the_scan(tmp_path):
    export = tmp_path / "bad.ldf"
    export.write_text("dn: CN=A,DC=x\r\nno colon here\r\n", encoding="utf-8")
    proc = run_cli("scan", "--no-tenant", "--directory-export", str(export), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("ems-readiness: error: ") and "bad.ldf" in line
    missing = run_cli("scan", "--no-tenant", "--directory-forest", str(tmp_path / "none.json"),
                      "--out", str(tmp_path / "out"))
    assert missing.returncode == 2 and "forest description not found" in missing.stderr


class CountingExport(ExportDirectorySource):
    """Counts how often the checks ask for the objects; `__eq__` without `__hash__` makes it unhashable."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.reads = 0

    def objects(self):
        self.reads += 1
        return super().objects()

    def __eq__(self, other):
        return self is other

    __hash__ = None  # type: ignore[assignment]


def test_the_directory_is_read_once_per_scan_whatever_the_source(tmp_path):
    export = ldif_users(tmp_path / "once.ldf", 20, "user {i}@corp.local")
    source = CountingExport(str(export))
    results = run_directory_checks({"directory": {"export": str(export)}}, source=source)
    assert source.reads == 1
    assert results["ADP-001"].status is Status.FAIL and results["ADP-003"].status is Status.FAIL


def test_the_scope_filter_is_applied_or_its_absence_said(tmp_path):
    export = ldif_users(tmp_path / "f.ldf", 3, "user {i}@contoso.com")
    raw = {"directory": {"export": str(export), "scope_filter": "(sAMAccountName=user1)"}}
    filtered = run_directory_checks(raw)
    finding = by_resource(filtered["ADP-001"].findings)["IDF-UPN-CHARACTER:userPrincipalName"]
    assert finding.message.startswith("1 object(s)") and "scope_filter" not in by_resource(filtered["ADP-001"].findings)
    unfiltered = run_directory_checks(raw, source=ExportDirectorySource(str(export)))
    warning = by_resource(unfiltered["ADP-001"].findings)["scope_filter"]
    assert warning.status is Status.WARN and "(sAMAccountName=user1)" in warning.observed


def test_the_fixes_file_is_written_only_when_the_directory_was_assessed(tmp_path):
    from ems_readiness.reports.outputs import write_outputs

    from .test_html_report import sample_results

    results = sample_results()
    assert not any(p.name == "directory-fixes.csv" for p in write_outputs(results, tmp_path / "a", ["json"], "en"))
    results.directory_fixes, results.directory_fixes_total = [], 0  # assessed, nothing to fix: a header only
    written = write_outputs(results, tmp_path / "b", ["json"], "en")
    assert (tmp_path / "b" / "directory-fixes.csv") in written
    assert (tmp_path / "b" / "directory-fixes.csv").read_text(encoding="utf-8-sig").count("\n") == 1


def test_the_demo_shows_the_directory_findings_and_writes_the_fixes(tmp_path):
    proc = run_cli("demo", "--out", str(tmp_path), "--format", "json,csv", "--quiet")
    assert proc.returncode == 1, proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    checks = {c["id"]: c for c in results["checks"]}
    assert checks["ADP-001"]["status"] == "fail" and checks["ADP-004"]["status"] == "fail"
    assert any(f["resource"] == "admin-takeover:meganb@contoso.test" for f in checks["ADP-004"]["findings"])
    rows = list(csv.reader(io.StringIO((tmp_path / "directory-fixes.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0][:6] == ["DISTINGUISHEDNAME", "ATTRIBUTE", "ERROR", "VALUE", "UPDATE", "ACTION"]
    assert len(rows) - 1 == results["directory_fixes_total"] > 5
    assert any(r[1] == "mailNickname" and r[3] == ".lynner" and r[4] == "lynner" for r in rows)
    assert "ADP-004" in proc.stderr  # listed among the failing checks
