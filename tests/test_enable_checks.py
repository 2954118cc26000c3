"""The enable-phase tenant checks (INT-005, INT-006, DEV-002, LIC-002, USR-001) and the profile's [plan], against the
simulated tenant over real HTTP through msgraph-sdk: fail, pass, error and skip, and Graph's
403/404/400 answers."""

from __future__ import annotations

import copy

import pytest

from ems_readiness.engine.model import Status
from ems_readiness.engine.profile import ProfileError, profile_from_dict
from ems_readiness.simulate.tenant_data import load_scenario_tenant

from .support.tenant import ALL_DELEGATED, by_id, delegated_token, simulated_tenant, tenant_scan
from .test_strict_inputs import assert_one_line_exit_2, cli, write

ONLY = ("licensing", "intune", "identity", "devices")
PLAN = {"plan": {"pilot_group": "EMS Pilot Users", "byod": True}}


def scan_tenant(tenant=None, scenario="unready", plan=None, token=None, only=ONLY, extra=None):
    token = token or delegated_token()
    with simulated_tenant(scenario, token=token, tenant=tenant) as sim:
        profile = {"plan": {**PLAN["plan"], **(plan or {})}, **(extra or {})}
        return by_id(tenant_scan(sim, token, only=only, extra_profile=profile)), sim.requests


def findings(check) -> dict:
    return {f.resource: f for f in check.findings}


@pytest.fixture(scope="module")
def unready():
    return scan_tenant()[0]


@pytest.fixture(scope="module")
def ready():
    return scan_tenant(scenario="ready")[0]


@pytest.mark.parametrize("check_id", ["INT-005", "INT-006", "DEV-002", "LIC-002", "USR-001"])
def test_unready_fails_and_ready_passes(unready, ready, check_id):
    assert unready[check_id].status is Status.FAIL, unready[check_id].findings
    assert ready[check_id].status is Status.PASS, ready[check_id].findings


def test_push_certificate_names_the_apple_id_to_renew_with(unready, ready):
    apns = findings(unready["INT-005"])["Apple MDM push certificate"]
    assert "expired" in apns.message and "mdm-admin@contoso.test" in apns.remediation
    assert apns.action.key == "intune.renew-apple-push-certificate"
    assert apns.action.params == {"apple_id": "mdm-admin@contoso.test"}
    assert findings(unready["INT-005"])["VPP token Contoso Ltd"].status is Status.FAIL
    assert "notBound" in findings(unready["INT-005"])["Android Enterprise binding"].observed
    assert "renew with mdm-admin@contoso.test" in findings(ready["INT-005"])["Apple MDM push certificate"].message


def test_no_push_certificate_is_a_failure_only_when_apple_devices_are_planned():
    tenant = load_scenario_tenant("ready", ports={"sts": 443})
    tenant.apple_push_certificate = None  # Graph answers 404
    tenant.android_enterprise = None
    planned, requests = scan_tenant(tenant, plan={"platforms": ["ios", "android"]}, only=("intune",))
    assert any(r.status == 404 and r.path.endswith("applePushNotificationCertificate") for r in requests)
    assert findings(planned["INT-005"])["Apple MDM push certificate"].status is Status.FAIL
    assert findings(planned["INT-005"])["Android Enterprise binding"].status is Status.FAIL
    windows_only, _ = scan_tenant(tenant, plan={"platforms": ["windows"]}, only=("intune",))
    assert windows_only["INT-005"].status is Status.SKIP
    assert {f.status for f in windows_only["INT-005"].findings} == {Status.SKIP}
    assert "VPP token Contoso Ltd" not in findings(windows_only["INT-005"])  # VPP matters for Apple only


def test_push_certificate_without_expiry_is_an_error_not_a_verdict():
    tenant = load_scenario_tenant("ready", ports={"sts": 443})
    tenant.apple_push_certificate = {k: v for k, v in tenant.apple_push_certificate.items() if k != "expirationDateTime"}
    checks, _ = scan_tenant(tenant, only=("intune",))
    apns = findings(checks["INT-005"])["Apple MDM push certificate"]
    assert apns.status is Status.ERROR and "expirationDateTime" in apns.message


def test_missing_intune_permission_is_an_error_naming_it():
    token = delegated_token([p for p in ALL_DELEGATED if p != "DeviceManagementManagedDevices.Read.All"])
    checks, _ = scan_tenant(scenario="ready", token=token, only=("intune",))
    assert checks["INT-005"].status is Status.ERROR
    assert "DeviceManagementManagedDevices.Read.All" in checks["INT-005"].reason


def test_licence_errors_are_grouped_per_group_and_error_with_the_fix(unready):
    lic = findings(unready["LIC-002"])
    count = lic["licence-group:All Staff:CountViolation"]
    assert count.status is Status.FAIL and count.observed.startswith("2 user(s)")
    assert "buy more" in count.remediation
    assert count.action.params == {"group": "All Staff", "error": "CountViolation"}
    assert "usage location" in lic["licence-group:All Staff:ProhibitedInUsageLocationViolation"].remediation
    assert "johannal@contoso.test" in lic["usage location"].observed


def test_licence_error_filter_is_sent_without_consistency_level():
    """Graph answers `hasMembersWithLicenseErrors eq true` 400 with ConsistencyLevel: eventual; the
    simulated tenant does too, and the check never sends it so."""
    import httpx

    from ems_readiness.simulate.graph_server import GraphSimulator

    with GraphSimulator(load_scenario_tenant("unready", ports={"sts": 443})) as sim:
        url = f"{sim.url}/v1.0/groups"
        params = {"$filter": "hasMembersWithLicenseErrors eq true", "$select": "id,displayName"}
        headers = {"Authorization": "Bearer opaque"}
        plain = httpx.get(url, params=params, headers=headers)
        eventual = httpx.get(url, params={**params, "$count": "true"}, headers={**headers, "ConsistencyLevel": "eventual"})
    assert plain.status_code == 200 and [g["displayName"] for g in plain.json()["value"]] == ["All Staff"]
    assert "hasMembersWithLicenseErrors" not in plain.json()["value"][0]  # never returned on GET
    assert eventual.status_code == 400 and eventual.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_licence_state_graph_did_not_describe_is_an_error():
    tenant = load_scenario_tenant("unready", ports={"sts": 443})
    users = [copy.deepcopy(u) for u in tenant.users]
    for user in users:
        for state in user["licenseAssignmentStates"]:
            if state["state"] == "Error":
                state["error"] = "SomethingNew"
    tenant.users = users
    checks, _ = scan_tenant(tenant, only=("licensing",))
    group = findings(checks["LIC-002"])["licence-group:All Staff"]
    assert group.status is Status.ERROR and "SomethingNew" in group.message


def test_mfa_registration_of_the_pilot_group(unready, ready):
    usr = findings(unready["USR-001"])
    registration = usr["MFA registration"]
    assert registration.status is Status.FAIL
    assert "adelev@contoso.test" in registration.observed and "pilot group 'EMS Pilot Users'" in registration.observed
    assert usr["security defaults"].status is Status.FAIL
    assert {f.status for f in ready["USR-001"].findings} == {Status.PASS}


def test_mfa_report_without_premium_licence_is_a_skip_with_the_reason():
    tenant = load_scenario_tenant("unready", ports={"sts": 443})
    tenant.user_registration_details = None  # Graph's 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant
    checks, requests = scan_tenant(tenant, only=("identity",))
    registration = findings(checks["USR-001"])["MFA registration"]
    assert registration.status is Status.SKIP and "P1 or P2" in registration.message
    assert any(r.status == 403 for r in requests)


def test_other_403_on_the_mfa_report_is_an_error_naming_the_permission(monkeypatch):
    """An opaque token skips the preflight; Graph's own 403 names the permission."""
    import ems_readiness.engine.tenant_connection as tenant_connection
    from ems_readiness.engine.auth import TokenClaims

    monkeypatch.setattr(tenant_connection, "read_claims", lambda _token: TokenClaims(kind=None))
    token = delegated_token([p for p in ALL_DELEGATED if p != "AuditLog.Read.All"])
    checks, requests = scan_tenant(scenario="ready", token=token, only=("identity",))
    registration = findings(checks["USR-001"])["MFA registration"]
    assert registration.status is Status.ERROR and "AuditLog.Read.All" in registration.message
    assert any(r.status == 403 for r in requests)


def test_unknown_pilot_group_is_an_error():
    checks, _ = scan_tenant(scenario="ready", plan={"pilot_group": "Nobody"}, only=("identity",))
    registration = findings(checks["USR-001"])["MFA registration"]
    assert registration.status is Status.ERROR and "matches 0 groups" in registration.message


def test_plan_is_validated_strictly():
    assert profile_from_dict({}).plan.platforms == ["windows", "ios", "macos", "android"]
    for bad, fragment in (({"platforms": ["ios", "bsd"]}, "plan.platforms"), ({"byod": "yes"}, "plan.byod"),
                          ({"federation": "ping"}, "plan.federation"), ({"platforms": []}, "at least one"),
                          ({"pilot_group": "it's"}, "plan.pilot_group"), ({"pilot": "x"}, "did you mean")):
        with pytest.raises(ProfileError, match=fragment):
            profile_from_dict({"plan": bad})


def test_bad_plan_on_the_command_line_is_one_line_exit_2(tmp_path):
    profile = write(tmp_path / "p.toml", '[plan]\nplatforms = ["windows", "symbian"]\n')
    assert_one_line_exit_2(cli("scan", "--profile", profile, "--out", str(tmp_path / "out")), "plan.platforms")


# --- INT-006 enrollment readiness ----------------------------------------------------------------


def test_enrollment_blocks_follow_the_plan(unready):
    int6 = findings(unready["INT-006"])
    assert int6["restriction:All users and all devices:android"].status is Status.FAIL
    assert "BYOD" in int6["restriction:All users and all devices:ios"].message
    assert int6["Entra join"].status is Status.FAIL and int6["device quota"].status is Status.FAIL
    assert int6["Windows MDM user scope"].status is Status.FAIL
    corporate_only, _ = scan_tenant(plan={"byod": False, "platforms": ["windows", "ios"]}, only=("intune",))
    restrictions = {r: f for r, f in findings(corporate_only["INT-006"]).items() if r.startswith("restriction:")}
    assert {r.rsplit(":", 1)[1] for r in restrictions} == {"windows", "ios"}  # android is not planned
    assert {f.status for f in restrictions.values()} == {Status.PASS}


def test_delegated_only_reads_are_skipped_under_app_only_saying_so():
    from .support.tenant import app_token

    token = app_token()
    checks, requests = scan_tenant(scenario="ready", token=token, only=("intune",))
    int6 = findings(checks["INT-006"])
    assert int6["Windows MDM user scope"].status is Status.SKIP and "app-only" in int6["Windows MDM user scope"].message
    assert int6["device registration policy"].status is Status.SKIP
    assert int6["restriction:All users and all devices:windows"].status is Status.PASS
    assert not any("mobileDeviceManagementPolicies" in r.path for r in requests)


def test_restriction_graph_did_not_describe_is_an_error():
    tenant = load_scenario_tenant("ready", ports={"sts": 443})
    tenant.enrollment_configurations = copy.deepcopy(tenant.enrollment_configurations)
    del tenant.enrollment_configurations[0]["iosRestriction"]["platformBlocked"]
    checks, _ = scan_tenant(tenant, only=("intune",))
    ios = findings(checks["INT-006"])["restriction:All users and all devices:ios"]
    assert ios.status is Status.ERROR and "platformBlocked" in ios.message


# --- DEV-002 device operating systems ------------------------------------------------------------


def test_devices_below_the_minimum_are_counted_with_examples(unready):
    dev = findings(unready["DEV-002"])
    assert "Megan's iPhone (iOS 15.7.9)" in dev["entra:ios"].observed
    assert "DESKTOP-7Q2M1" in dev["entra:windows"].observed
    assert "OLD-KIOSK" not in dev["entra:windows"].observed  # not signed in for 400 days: not active
    assert dev["entra:android"].action.params == {"platform": "android"}


def test_device_version_graph_did_not_send_is_an_error_not_a_verdict():
    tenant = load_scenario_tenant("ready", ports={"sts": 443})
    tenant.devices = copy.deepcopy(tenant.devices)
    tenant.devices[0]["operatingSystemVersion"] = "unknown"
    del tenant.devices[2]["operatingSystemVersion"]
    checks, _ = scan_tenant(tenant, only=("devices",))
    dev = checks["DEV-002"]
    errors = [f for f in dev.findings if f.status is Status.ERROR and f.resource == "entra:devices"]
    assert len(errors) == 2 and any("not a version number" in f.message for f in errors)
    # no platform passes while a device Graph did not describe may be below its minimum
    assert {f.status for f in dev.findings if f.resource.startswith("entra:") and f.resource != "entra:devices"} \
        == {Status.ERROR}
    assert any("null for devices[].operatingSystemVersion" in f.message for f in errors)  # selected, not there


def test_active_directory_computers_are_judged_when_the_directory_side_runs(tmp_path):
    from datetime import datetime, timedelta, timezone

    def filetime(days_ago: int) -> int:
        moment = datetime.now(timezone.utc) - timedelta(days=days_ago)
        return int((moment - datetime(1601, 1, 1, tzinfo=timezone.utc)).total_seconds() * 10_000_000)

    def computer(name: str, system: str, version: str, days_ago: int) -> str:
        return (f"dn: CN={name},OU=Computers,DC=corp,DC=contoso,DC=test\nchangetype: add\nobjectClass: top\n"
                f"objectClass: computer\ncn: {name}\nsAMAccountName: {name}$\nuserAccountControl: 4096\n"
                f"operatingSystem: {system}\noperatingSystemVersion: {version}\n"
                f"lastLogonTimestamp: {filetime(days_ago)}\n\n")

    export = tmp_path / "export.ldf"
    export.write_text(computer("PC-OLD", "Windows 10 Enterprise", "10.0 (14393)", 3)
                      + computer("PC-NEW", "Windows 11 Enterprise", "10.0 (26100)", 1)
                      + computer("PC-GONE", "Windows 10 Pro", "10.0 (10240)", 300)
                      + computer("SRV-01", "Windows Server 2016 Standard", "10.0 (14393)", 1), encoding="utf-8")
    checks, _ = scan_tenant(scenario="ready", only=("devices",),
                            extra={"directory": {"export": str(export)}})
    ad = findings(checks["DEV-002"])["ad:windows"]
    assert ad.status is Status.FAIL
    assert ad.observed.startswith("2 active windows device(s) in Active Directory computers")
    assert "PC-OLD" in ad.observed and "PC-GONE" not in ad.observed and "SRV-01" not in ad.observed
