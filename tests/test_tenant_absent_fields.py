"""Absent and unknown are not negative: Graph not saying is `error` naming the field, per resource.

The examples of issue 11 end to end (simulated Graph, msgraph-sdk, the real runner), and the
accessor the tenant checks read every judged field through.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import timezone

import pytest

from ems_readiness.checks._tenant import Unreadable, label, require, require_list, require_time
from ems_readiness.checks.dns_records import GraphRecordError, expected_record
from ems_readiness.engine.model import Status
from ems_readiness.simulate.tenant_data import load_scenario_tenant

from .support.tenant import by_id, delegated_token, simulated_tenant, tenant_scan

# --- the accessor --------------------------------------------------------------------------------


def test_absent_null_wrong_type_and_unknown_are_unreadable_naming_field_read_and_object():
    sku = {"skuPartNumber": "EMS", "consumedUnits": None, "capabilityStatus": "Sleeping", "appliesTo": 7}
    with pytest.raises(Unreadable, match=r"^Graph did not send subscribedSkus\[\]\.prepaidUnits for SKU EMS$"):
        require(sku, "prepaidUnits", dict, read="subscribedSkus[]", of="SKU EMS")
    with pytest.raises(Unreadable, match=r"Graph sent null for subscribedSkus\[\]\.consumedUnits"):
        require(sku, "consumedUnits", int, read="subscribedSkus[]")
    with pytest.raises(Unreadable, match=r"appliesTo as a number 7 \(expected text\)"):
        require(sku, "appliesTo", str, read="subscribedSkus[]")
    with pytest.raises(Unreadable, match=r"'Sleeping', a value this tool does not know \(documented: Enabled, Suspended\)"):
        require(sku, "capabilityStatus", str, read="subscribedSkus[]", known=["Enabled", "Suspended"])
    with pytest.raises(Unreadable, match=r"as text, not an object"):
        require("EMS", "prepaidUnits", dict, read="subscribedSkus[]")


def test_documented_null_enum_spelling_and_json_types():
    assert require({"onPremisesSyncEnabled": None}, "onPremisesSyncEnabled", bool, read="organization",
                   nullable=True) is None
    # nullable is about null, never about a field Graph did not send
    with pytest.raises(Unreadable, match="did not send"):
        require({}, "onPremisesSyncEnabled", bool, read="organization", nullable=True)
    assert require({"state": "ENABLED"}, "state", str, read="p", known=["enabled", "disabled"]) == "enabled"
    with pytest.raises(Unreadable, match="true/false"):  # JSON true is not a number
        require({"consumedUnits": True}, "consumedUnits", int, read="subscribedSkus[]")
    with pytest.raises(Unreadable, match=r"termsOfUse\[1\] as a number 1"):
        require_list({"termsOfUse": ["a", 1]}, "termsOfUse", str, read="grantControls")
    assert require_time({"t": "2026-01-02T03:04:05Z"}, "t", read="o").tzinfo == timezone.utc
    with pytest.raises(Unreadable, match="not an ISO-8601 date-time"):
        require_time({"t": "yesterday"}, "t", read="o")
    assert label({"displayName": 7, "id": "x"}, "displayName", "id") == "x"


def test_service_record_fields_graph_did_not_send_are_errors_not_defaults():
    record = {"recordType": "CName", "label": "enterpriseenrollment.contoso.test", "isOptional": True,
              "canonicalName": "enterpriseenrollment-s.manage.microsoft.com", "ttl": 3600}
    assert expected_record(record, "contoso.test").optional is True
    for field, value in (("isOptional", None), ("label", None), ("recordType", "Caa"), ("canonicalName", 7)):
        broken = {**record, field: value} if value is not None else {k: v for k, v in record.items() if k != field}
        with pytest.raises(GraphRecordError, match=field):
            expected_record(broken, "contoso.test")
    assert expected_record({**record, "recordType": "Unavailable"}, "contoso.test") is None


# --- the examples of issue 11, end to end -----------------------------------------------------------


def scan_with(scenario: str, change, only: tuple[str, ...]):
    tenant = load_scenario_tenant(scenario, ports={"sts": 443})
    fields = {f.name: copy.deepcopy(getattr(tenant, f.name)) for f in dataclasses.fields(tenant)}
    change(fields)
    token = delegated_token()
    with simulated_tenant(token=token, tenant=dataclasses.replace(tenant, **fields)) as sim:
        return by_id(tenant_scan(sim, token, only=only))


def findings(result) -> dict:
    return {f.resource: f for f in result.findings}


def sku(fields, part_number):
    return next(s for s in fields["subscribed_skus"] if s["skuPartNumber"] == part_number)


def test_no_prepaid_units_is_an_error_not_every_licence_assigned():
    checks = scan_with("unready", lambda t: sku(t, "EMS").pop("prepaidUnits"), ("LIC-001",))
    intune = findings(checks["LIC-001"])["Microsoft Intune (INTUNE_A)"]
    assert intune.status is Status.ERROR
    # LIC-001 $selects its fields, so Graph (and the simulator) sends the missing one as null
    assert "Graph sent null for subscribedSkus[].prepaidUnits for SKU EMS" in intune.message


@pytest.mark.parametrize("drop", ["capabilityStatus", "servicePlans", "provisioningStatus"])
def test_no_status_or_plans_is_an_error_not_a_fail(drop):
    def change(t):
        ems = sku(t, "EMS")
        if drop == "provisioningStatus":
            for plan in ems["servicePlans"]:
                plan.pop(drop)
        else:
            ems.pop(drop)
    lic = findings(scan_with("ready", change, ("LIC-001",))["LIC-001"])
    intune = lic["Microsoft Intune (INTUNE_A)"]
    assert intune.status is Status.ERROR and drop in intune.message
    # Entra P1/P2 is also carried by the readable AAD_PREMIUM_P2 SKU: that verdict stands
    assert lic["Microsoft Entra ID P1/P2"].status is Status.PASS


def test_one_malformed_sku_does_not_hide_the_others():
    lic = findings(scan_with("ready", lambda t: sku(t, "AAD_PREMIUM_P2").update(servicePlans="AAD_PREMIUM_P2"),
                             ("LIC-001",))["LIC-001"])
    assert {r: f.status for r, f in lic.items()} == {
        "Microsoft Entra ID P1/P2": Status.PASS, "Microsoft Intune (INTUNE_A)": Status.PASS,
        "Azure Rights Management (RMS_S_ENTERPRISE)": Status.PASS, "SKU AAD_PREMIUM_P2": Status.ERROR,
    }
    assert "servicePlans" in lic["SKU AAD_PREMIUM_P2"].message


@pytest.mark.parametrize("field", ["title", "bodyText"])
def test_terms_text_not_sent_is_an_error_not_an_empty_body(field):
    checks = scan_with("ready", lambda t: t["terms_and_conditions"][0].pop(field), ("INT-001",))
    terms = checks["INT-001"].findings
    assert [f.status for f in terms] == [Status.ERROR]
    assert field in terms[0].message and "empty" not in terms[0].message


def test_no_verified_domains_is_an_error_for_the_suffixes_only():
    checks = scan_with("unready", lambda t: t["organization"].pop("verifiedDomains"), ("DSY-004",))
    dsy = checks["DSY-004"].findings
    assert not [f for f in dsy if f.status is Status.PASS]
    unknown = [f for f in dsy if f.status is Status.ERROR]
    assert unknown and all("verifiedDomains" in f.message for f in unknown)
    # corp.local is non-routable whatever the verified domains are: that fail stands
    assert any(f.resource == "suffix:corp.local" and f.status is Status.FAIL for f in dsy)


@pytest.mark.parametrize("where, field", [("device_management", "subscriptionState"),
                                          ("organization", "mobileDeviceManagementAuthority")])
def test_unknown_enum_value_is_an_error_not_a_fail(where, field):
    checks = scan_with("ready", lambda t: t[where].update({field: "somethingNew"}), ("INT-004",))
    errors = [f for f in checks["INT-004"].findings if f.status is Status.ERROR]
    assert len(errors) == 1
    assert field in errors[0].message and "'somethingNew', a value this tool does not know" in errors[0].message
    assert not [f for f in checks["INT-004"].findings if f.status is Status.FAIL]


def test_unknown_authentication_type_is_an_error_and_no_federated_fail():
    def change(t):
        for domain in t["domains"]:
            if domain["id"] == "fed.contoso.test":
                domain["authenticationType"] = "Passwordless"
    checks = scan_with("ready", change, ("DOM-002",))
    dom = findings(checks["DOM-002"])
    assert dom["fed.contoso.test"].status is Status.ERROR
    assert "federation" not in dom or dom["federation"].status is Status.ERROR


def test_sync_flag_of_the_wrong_type_is_an_error_not_sync_off():
    checks = scan_with("ready", lambda t: t["organization"].update(onPremisesSyncEnabled="true"), ("DSY-001",))
    assert [f.status for f in checks["DSY-001"].findings] == [Status.ERROR]
    assert "onPremisesSyncEnabled" in checks["DSY-001"].findings[0].message
