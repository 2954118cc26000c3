"""The outputs of a document that speaks for several sites: JUnit has a suite per site, SARIF
puts the site in the location and the fingerprint. Both stay valid against their schemas."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from lxml import etree

from ems_readiness.engine.model import Status
from ems_readiness.reports import junit, sarif

from .test_merge import merged, scan
from .test_outputs import SCHEMAS, sarif_validator


def two_sites():
    hq = scan("hq", 0, network={"NET-001": {"login:443": Status.PASS, "manage:443": Status.PASS}})
    lyon = scan("lyon", 1, tenant_side=False,
                network={"NET-001": {"login:443": Status.FAIL, "manage:443": Status.PASS}})
    return merged(hq, lyon)


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
