"""The outputs of a document that speaks for several sites: JUnit has a suite per site, SARIF
puts the site in the location and the fingerprint (both stay valid against their schemas),
actions.csv and summary.md name the sites that must act, and report.html of many sites shows every
failing finding with its sites in a page that stays small."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import unescape

from lxml import etree

from ems_readiness.engine.model import Status
from ems_readiness.reports import csv_actions, html, junit, markdown, sarif
from ems_readiness.reports.site_matrix import SITES_NAMED, site_list

from .test_merge import merged, scan
from .test_outputs import SCHEMAS, parse_csv, sarif_validator


def two_sites():
    hq = scan("hq", 0, network={"NET-001": {"login:443": Status.PASS, "manage:443": Status.PASS}})
    lyon = scan("lyon", 1, tenant_side=False,
                network={"NET-001": {"login:443": Status.FAIL, "manage:443": Status.PASS}})
    return merged(hq, lyon)


SITES = [f"site-{i:02d}" for i in range(30)]
ENDPOINTS = [f"ep-{i}.test:443" for i in range(40)]


def many_sites():
    """30 sites, 40 endpoints each: every site blocks two of its own, all block "central", all but
    two block "partial"; the first site read the tenant."""
    docs = []
    for i, site in enumerate(SITES):
        blocked = {ENDPOINTS[i % 40], ENDPOINTS[(i * 7 + 3) % 40]}
        network = {e: Status.FAIL if e in blocked else Status.PASS for e in ENDPOINTS}
        network["central.test:443"] = Status.FAIL
        network["partial.test:443"] = Status.PASS if i in (4, 9) else Status.FAIL
        docs.append(scan(site, i, tenant_side=i == 0, tenant_status=Status.FAIL, network={"NET-001": network}))
    return merged(*docs)


def test_junit_has_a_suite_per_site_for_network_areas():
    xml = junit.render(two_sites())
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit.xsd")))
    assert schema.validate(etree.fromstring(xml.encode("utf-8"))), schema.error_log
    suites = {s.get("name"): s for s in ET.fromstring(xml).iter("testsuite")}
    assert {"network @ hq", "network @ lyon", "licensing"} <= set(suites)
    assert suites["network @ lyon"].get("failures") == "1" and suites["network @ hq"].get("failures") == "0"
    assert suites["network @ lyon"].get("hostname") == "host-lyon"
    [case] = suites["network @ lyon"].iter("testcase")
    assert case.get("classname") == "ems-readiness.network.lyon"
    assert "login:443" in case.find("failure").text and "manage:443" not in case.find("failure").get("message")


def test_single_site_junit_keeps_one_suite_per_area():
    suites = [s.get("name") for s in ET.fromstring(junit.render(scan("hq", 0))).iter("testsuite")]
    assert "network" in suites and not any("@" in name for name in suites)


def test_sarif_puts_the_site_in_location_and_fingerprint():
    doc = merged(scan("hq", 0, network={"NET-001": {"login:443": Status.FAIL}}),
                 scan("lyon", 1, tenant_side=False, network={"NET-001": {"login:443": Status.FAIL}}))
    log = json.loads(sarif.render(doc))
    errors = list(sarif_validator().iter_errors(log))
    assert not errors, errors[:3]
    results = [r for r in log["runs"][0]["results"] if r["ruleId"] == "NET-001"]
    assert len(results) == 2
    sites = {r["locations"][0]["logicalLocations"][1]["name"] for r in results}
    assert sites == {"hq", "lyon"}
    assert {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in results} == {"hq/login:443", "lyon/login:443"}
    fingerprints = {r["partialFingerprints"]["emsReadiness/v1"] for r in results}
    assert len(fingerprints) == 2  # one alert per site
    assert all(r["message"]["text"].startswith(f"[{r['properties']['site']}] ") for r in results)
    assert log["runs"][0]["properties"]["sites"] == ["hq", "lyon"]


def test_single_site_sarif_fingerprint_is_unchanged():
    log = json.loads(sarif.render(scan("hq", 0, network={"NET-001": {"login:443": Status.FAIL}})))
    [result] = [r for r in log["runs"][0]["results"] if r["ruleId"] == "NET-001"]
    assert result["partialFingerprints"]["emsReadiness/v1"] == sarif.fingerprint("NET-001", "login:443")
    assert len(result["locations"][0]["logicalLocations"]) == 1


def test_actions_csv_names_the_sites_that_must_act_after_the_owner_role():
    rows = parse_csv(csv_actions.render(two_sites()))
    header = list(rows[0])
    assert header[header.index("Owner role") + 1] == "Sites"
    by_check = {row["Checks"]: row for row in rows}
    assert by_check["NET-001"]["Sites"] == "lyon"  # only lyon fails login:443
    zh = parse_csv(csv_actions.render(two_sites(), "zh-CN"))
    assert list(zh[0])[list(zh[0]).index("负责角色") + 1] == "站点"


def test_actions_csv_sites_are_empty_for_tenant_actions_and_each_endpoint_is_named_once():
    rows = {row["Checks"]: row for row in parse_csv(csv_actions.render(many_sites()))}
    assert rows["LIC-001"]["Sites"] == ""
    assert rows["NET-001"]["Sites"].split(", ") == SITES
    names = rows["NET-001"]["Findings"].splitlines()
    assert names.count("central.test:443") == 1 and len(names) == csv_actions.RESOURCES_LISTED + 1


def top_actions(summary: str) -> dict[str, str]:
    """Each numbered action of summary.md by its title."""
    return {m[1]: m[0] for m in re.findall(r"(^\d+\. \*\*(.+?)\*\*.*?)(?=^\d+\. |^#|\Z)", summary, re.M | re.S)}


def test_summary_top_actions_name_the_sites_only_when_there_are_several():
    actions = top_actions(markdown.render(many_sites()))
    assert f"Sites that must act: all {len(SITES)} sites" in actions["NET-001"]
    assert "Sites that must act" not in actions["LIC-001"]
    single = top_actions(markdown.render(scan("hq", 0, network={"NET-001": {"login:443": Status.FAIL}})))
    assert "Sites that must act" not in single["NET-001"]


# ---- report.html of many sites --------------------------------------------------------------

ROW = re.compile(r'<tbody class="finding" id="([^"]+)" data-status="(\w+)".*?<td class="resource"[^>]*>(.*?)</td>', re.S)


def checklist_rows(page: str, check_id: str) -> list[tuple[str, str, str, str]]:
    """(anchor, status, sites text, resource) of each row the check shows."""
    start = page.index(f'id="{html.check_anchor(check_id)}"')
    section = page[start:page.index("</section>", start)]
    rows = []
    for anchor, status, cell in ROW.findall(section):
        site = re.search(r'<span class="site[^"]*">([^<]*)</span>', cell)
        resource = re.findall(r'<(?:span class="mono"|code class="key")>([^<]*)<', cell)[-1]
        rows.append((anchor, status, unescape(site[1]) if site else "", unescape(resource)))
    return rows


def named_sites(text: str) -> set[str]:
    """The sites a site list in the English report stands for."""
    if re.fullmatch(rf"all {len(SITES)} sites", text):
        return set(SITES)
    all_but = re.fullmatch(rf"\d+ of {len(SITES)} sites: all but (.*)", text)
    if all_but:
        return set(SITES) - set(all_but[1].split(", "))
    return set(text.split(", "))


def test_the_report_of_many_sites_lists_every_failing_finding_once_per_text_with_its_sites():
    doc = many_sites()
    page = html.render(doc, "en")
    failing = {(f.resource, f.site) for f in next(c for c in doc.checks if c.id == "NET-001").findings
               if f.status is Status.FAIL}
    rows = checklist_rows(page, "NET-001")
    fail_rows = [r for r in rows if r[1] == "fail"]
    shown = {(resource, site) for _, _, sites, resource in fail_rows for site in named_sites(sites)}
    assert shown == failing
    assert len(fail_rows) == len({resource for resource, _ in failing})  # a row per text, not per site
    by_resource = {resource: sites for _, _, sites, resource in fail_rows}
    assert by_resource["central.test:443"] == f"all {len(SITES)} sites"
    assert by_resource["partial.test:443"] == f"28 of {len(SITES)} sites: all but site-04, site-09"
    # passing rows are summarised: up to CHECK_FINDINGS_SHOWN, the rest counted with where they are
    passing = [r for r in rows if r[1] == "pass"]
    assert 0 < len(passing) <= html.CHECK_FINDINGS_SHOWN
    assert "the full list is in findings.csv" in page[page.index('<details class="findings-toggle passed"'):]


def test_findings_that_differ_only_in_what_was_measured_share_a_row_that_says_so():
    doc = many_sites()
    for f in next(c for c in doc.checks if c.id == "NET-001").findings:
        if f.resource == "central.test:443":
            f.observed = f"no answer from {f.site} in {len(f.site) + SITES.index(f.site)} ms"
    page = html.render(doc, "en")
    rows = [r for r in checklist_rows(page, "NET-001") if r[3] == "central.test:443"]
    assert len(rows) == 1 and rows[0][2] == f"all {len(SITES)} sites"
    row = page[page.index(f'id="{rows[0][0]}"'):]
    row = row[:row.index("</tbody>")]
    assert f"no answer from {SITES[0]}" in row
    assert f"As observed at {SITES[0]}; {len(SITES) - 1} other site(s) observed something else" in row


def test_every_link_of_the_merged_report_lands_on_the_page_and_actions_name_their_sites():
    page = html.render(many_sites(), "en")
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    assert all(anchor in ids for anchor in re.findall(r'href="#([^"]+)"', page))
    actions = page[page.index('<section id="actions">'):page.index('<section id="sites">')]
    assert re.search(rf'<dd class="sites">all {len(SITES)} sites</dd>', actions)
    assert f'<span class="site site-list">all {len(SITES)} sites</span>' in actions  # central, one line


def test_a_wide_matrix_shows_fewer_rows_and_the_blocked_list_still_names_every_site(monkeypatch):
    monkeypatch.setattr(html, "MATRIX_CELLS_SHOWN", 10 * len(SITES))
    doc = many_sites()
    page = html.render(doc, "en")
    sites = page[page.index('<section id="sites">'):page.index('<section id="checklist">')]
    matrix = sites[sites.index('<table class="matrix">'):sites.index("</table>", sites.index('<table class="matrix">'))]
    assert matrix.count('<tr data-filter') == 10
    assert "more rows: the blocked endpoints above name every site that blocks one" in sites
    blocked = sites[sites.index('<table class="blocked">'):sites.index("</table>", sites.index('<table class="blocked">'))]
    listed = dict(re.findall(r"<td><code>([^<]+)</code></td><td>([^<]*)</td>", blocked))
    net = next(c for c in doc.checks if c.id == "NET-001")
    for resource in {f.resource for f in net.findings if f.status is Status.FAIL}:
        assert named_sites(unescape(listed[resource])) == {f.site for f in net.findings
                                                           if f.resource == resource and f.status is Status.FAIL}
    assert next(iter(listed)) == "central.test:443"  # blocked everywhere first


def test_site_lists_say_all_all_but_or_name_the_sites():
    assert site_list(SITES[:3], SITES).named == SITES[:3]
    assert site_list(SITES, SITES).every
    assert site_list(SITES[2:], SITES).all_but == SITES[:2]
    half = site_list(SITES[::2], SITES)
    assert half.named == SITES[::2] and not half.every and not half.all_but and half.unnamed == 0
    many = [f"s{i}" for i in range(400)]
    assert site_list(many[::2], many).unnamed == 200 - SITES_NAMED


def test_the_header_of_a_merged_report_counts_the_sites_and_names_the_one_that_read_the_tenant():
    doc = two_sites()
    page = html.render(doc, lang="en")
    header = page[page.index("<dt>Scanned from</dt>"):page.index("<dt>Tool</dt>")]
    assert '<a href="#sites">2 sites' in header and 'id="sites"' in page
    assert f'tenant read from <span class="mono">{doc.tenant_reads[-1].site}</span>' in header
    assert "个站点" in html.render(doc, lang="zh-CN")
