"""The simulated Graph tenant, exercised over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ems_readiness.simulate.graph_server import FaultPlan, GraphSimulator
from ems_readiness.simulate.tenant_data import (
    generate_large_tenant,
    load_scenario_tenant,
    load_tenant,
    render_template,
    scenario_tenant_path,
)

TENANT_ID = "6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11"
PORTS = {"sts": 43001}
FIXED_NOW = datetime(2026, 11, 25, 13, 0, 0, tzinfo=UTC)
PROVISIONING_ERRORS = "onPremisesProvisioningErrors/any(o:o/category eq 'PropertyConflict')"
ENDSWITH_LOCAL = "endswith(userPrincipalName,'.local')"
EVENTUAL = {"ConsistencyLevel": "eventual"}


def make_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def unready() -> Iterator[GraphSimulator]:
    with GraphSimulator(load_scenario_tenant("unready", ports=PORTS)) as sim:
        yield sim


@pytest.fixture
def ready() -> Iterator[GraphSimulator]:
    with GraphSimulator(load_scenario_tenant("ready", ports=PORTS)) as sim:
        yield sim


def client(sim: GraphSimulator, token: str = "opaque-test-token") -> httpx.Client:
    return httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def get_all_pages(
    http: httpx.Client, url: str, params: dict[str, str], headers: dict[str, str] | None = None,
) -> list[dict]:
    items: list[dict] = []
    page = http.get(url, params=params, headers=headers).raise_for_status().json()
    items += page["value"]
    while "@odata.nextLink" in page:
        page = http.get(page["@odata.nextLink"], headers=headers).raise_for_status().json()
        assert page["value"], "no page is empty while a nextLink remains"
        items += page["value"]
    return items


# ------------------------------------------------------------------------------------------------
# Tenant data


def test_templating_fills_ports_and_times() -> None:
    tenant = load_tenant(scenario_tenant_path("unready"), ports=PORTS, now=FIXED_NOW)
    federation = tenant.federation_configuration["fed.contoso.test"][0]
    assert federation["passiveSignInUri"] == "https://sts.contoso.test:43001/adfs/ls/"
    assert tenant.organization["onPremisesLastSyncDateTime"] == "2026-11-22T13:00:00Z"
    assert tenant.organization_beta_properties["onPremisesLastPasswordSyncDateTime"] == "2026-11-22T13:00:00Z"

    rendered = render_template(
        {"a": "@now", "b": ["@now-20m", "@now+400d", "@now-3h"], "c": "ops@nowhere.test", "d": 5,
         "e": "x:{{port:sts}}/y"}, ports=PORTS, now=FIXED_NOW)
    assert rendered == {"a": "2026-11-25T13:00:00Z",
                        "b": ["2026-11-25T12:40:00Z", "2027-12-30T13:00:00Z", "2026-11-25T10:00:00Z"],
                        "c": "ops@nowhere.test", "d": 5, "e": "x:43001/y"}
    assert render_template("{{port:sts}}", ports=None) == "443"


def test_templating_rejects_unknown_ports_and_tokens() -> None:
    with pytest.raises(ValueError, match="no port named 'sts'"):
        load_tenant(scenario_tenant_path("ready"), ports={"mail": 1})
    with pytest.raises(ValueError, match="unknown template token"):
        render_template("{{secret:x}}")


def test_unready_and_ready_fixtures_hold_the_designed_problems() -> None:
    unready = load_scenario_tenant("unready", ports=PORTS)
    ems = next(sku for sku in unready.subscribed_skus if sku["skuPartNumber"] == "EMS")
    plans = {plan["servicePlanName"]: plan["provisioningStatus"] for plan in ems["servicePlans"]}
    assert plans["RMS_S_ENTERPRISE"] == "Disabled" and plans["INTUNE_A"] == "Success"
    assert ems["prepaidUnits"]["enabled"] == ems["consumedUnits"] == 50
    statuses = {sku["skuPartNumber"]: sku["capabilityStatus"] for sku in unready.subscribed_skus}
    assert statuses["AAD_PREMIUM_P2"] == "Suspended"
    assert sum(bool(user["onPremisesProvisioningErrors"]) for user in unready.users) == 3
    assert sum(bool(g["onPremisesProvisioningErrors"]) for g in unready.groups) == 1
    assert sum(bool(c["onPremisesProvisioningErrors"]) for c in unready.contacts) == 1
    assert sum(str(u["onPremisesUserPrincipalName"]).endswith("@corp.local") for u in unready.users) == 3
    assert not next(d for d in unready.domains if d["id"] == "fabrikam.test")["isVerified"]
    assert unready.terms_and_conditions[0]["acceptanceStatement"] == ""

    ready = load_scenario_tenant("ready", ports=PORTS)
    verified = {d["id"] for d in ready.domains if d["isVerified"]}
    assert all(u["userPrincipalName"].split("@")[1] in verified for u in ready.users)
    assert not any(u["onPremisesProvisioningErrors"] for u in [*ready.users, *ready.groups, *ready.contacts])
    assert all(sku["capabilityStatus"] == "Enabled" for sku in ready.subscribed_skus)
    assignment = ready.terms_and_conditions_assignments[ready.terms_and_conditions[0]["id"].lower()][0]
    assert assignment["target"]["groupId"] in {g["id"] for g in ready.groups}
    enforcing = [policy for policy in ready.conditional_access_policies
                 if policy["state"] == "enabled" and policy["grantControls"]["termsOfUse"]]
    assert enforcing[0]["grantControls"]["termsOfUse"] == [ready.agreements[0]["id"]]


def test_large_tenant_is_generated_quickly_and_deterministically() -> None:
    started = time.perf_counter()
    tenant = generate_large_tenant(seed=7, users=100_000, groups=5_000, error_rate=0.01)
    assert time.perf_counter() - started < 3
    assert (len(tenant.users), len(tenant.groups)) == (100_000, 5_000)
    again = generate_large_tenant(seed=7, users=100_000, groups=5_000, error_rate=0.01)
    assert tenant.users[54_321] == again.users[54_321]

    sample = [tenant.users[i] for i in range(0, 100_000, 10)]
    suffixes = {user["userPrincipalName"].split("@")[1] for user in sample}
    assert suffixes >= {"contoso.test", "fabrikam.test", "contoso.onmicrosoft.com"}
    assert any(str(user["onPremisesUserPrincipalName"]).endswith("@corp.local") for user in sample)
    with_errors = sum(bool(user["onPremisesProvisioningErrors"]) for user in tenant.users)
    assert with_errors == 1_000
    assert all(user["onPremisesSyncEnabled"] for user in tenant.users[14:] if user["onPremisesProvisioningErrors"])


# ------------------------------------------------------------------------------------------------
# Query options


def test_paging_through_next_links_returns_every_user_exactly_once() -> None:
    tenant = generate_large_tenant(seed=3, users=2_500, groups=10, error_rate=0.01)
    with GraphSimulator(tenant) as sim, client(sim) as http:
        first = http.get("/v1.0/users", params={"$select": "id", "$top": "999"}).json()
        assert "$select=id" in first["@odata.nextLink"] and "$top=999" in first["@odata.nextLink"]
        ids = [user["id"] for user in get_all_pages(http, "/v1.0/users", {"$select": "id", "$top": "999"})]
        assert len(ids) == len(set(ids)) == 2_500
        assert [entry.status for entry in sim.requests] == [200] * 4

        default_pages = get_all_pages(http, "/v1.0/users", {"$select": "id"})
        assert len(default_pages) == 2_500
        conflicted = get_all_pages(http, "/v1.0/users", {"$filter": PROVISIONING_ERRORS, "$select": "id", "$top": "7"})
        assert len(conflicted) == len({u["id"] for u in conflicted}) == 25


def test_top_must_be_between_1_and_999(unready: GraphSimulator) -> None:
    with client(unready) as http:
        response = http.get("/v1.0/users", params={"$top": "1000"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_BadRequest"


def test_select_projects_and_provisioning_errors_only_when_selected(unready: GraphSimulator) -> None:
    with client(unready) as http:
        selected = http.get("/v1.0/users", params={"$select": "id,userPrincipalName"}).json()["value"]
        default = http.get("/v1.0/users").json()["value"]
        with_errors = http.get("/v1.0/users", params={"$select": "id,onPremisesProvisioningErrors"}).json()["value"]
        organization = http.get(f"/v1.0/organization/{TENANT_ID}",
                                params={"$select": "mobileDeviceManagementAuthority"}).json()
        records = http.get("/v1.0/domains/contoso.test/serviceConfigurationRecords",
                           params={"$select": "label,canonicalName"}).json()["value"]
    assert all(set(user) == {"id", "userPrincipalName"} for user in selected)
    assert all("onPremisesProvisioningErrors" not in user for user in default)
    assert "onPremisesSyncEnabled" in default[0]
    assert all("onPremisesProvisioningErrors" in user for user in with_errors)
    assert {k for k in organization if not k.startswith("@")} == {"mobileDeviceManagementAuthority"}
    assert organization["mobileDeviceManagementAuthority"] == "unknown"
    assert all(set(record) == {"@odata.type", "label", "canonicalName"} for record in records)


def test_endswith_needs_count_and_consistency_level(unready: GraphSimulator) -> None:
    with client(unready) as http:
        without_both = http.get("/v1.0/users", params={"$filter": ENDSWITH_LOCAL})
        without_header = http.get("/v1.0/users", params={"$filter": ENDSWITH_LOCAL, "$count": "true"})
        without_count = http.get("/v1.0/users", params={"$filter": ENDSWITH_LOCAL}, headers=EVENTUAL)
        for failed in (without_both, without_header, without_count):
            assert failed.status_code == 400
            assert failed.json()["error"]["code"] == "Request_UnsupportedQuery"
            assert "endsWith" in failed.json()["error"]["message"]

        params = {"$filter": "endswith(userPrincipalName,'.test')", "$count": "true", "$top": "5",
                  "$select": "userPrincipalName"}
        first = http.get("/v1.0/users", params=params, headers=EVENTUAL).json()
        second = http.get(first["@odata.nextLink"], headers=EVENTUAL).json()
        # ConsistencyLevel is not carried by the nextLink; a client that drops it fails like on Graph.
        dropped = http.get(first["@odata.nextLink"])
        on_premises = http.get("/v1.0/users",
                               params={"$filter": "onPremisesSyncEnabled eq true", "$select": "id"}).json()
    assert first["@odata.count"] == 10 and len(first["value"]) == 5
    assert "@odata.count" not in second and len(second["value"]) == 5
    assert all(u["userPrincipalName"].endswith(".test") for u in first["value"] + second["value"])
    assert dropped.status_code == 400
    assert len(on_premises["value"]) == 12


def test_count_without_consistency_level_is_ignored(unready: GraphSimulator) -> None:
    with client(unready) as http:
        page = http.get("/v1.0/users", params={"$count": "true"}).json()
    assert "@odata.count" not in page


def test_provisioning_error_filter_on_users_groups_and_contacts(unready: GraphSimulator) -> None:
    with client(unready) as http:
        def filtered(collection: str, expression: str) -> list[dict]:
            response = http.get(f"/v1.0/{collection}", params={
                "$filter": expression, "$select": "id,displayName,onPremisesProvisioningErrors"})
            return response.raise_for_status().json()["value"]

        users = filtered("users", PROVISIONING_ERRORS)
        assert len(users) == 3 and all(u["onPremisesProvisioningErrors"] for u in users)
        assert len(filtered("users", "onPremisesProvisioningErrors/any(e:e/category eq 'PropertyConflict')")) == 3
        by_property = "onPremisesProvisioningErrors/any(x:x/propertyCausingError eq 'ProxyAddress')"
        assert len(filtered("users", by_property)) == 2
        assert [g["displayName"] for g in filtered("groups", PROVISIONING_ERRORS)] == ["All Staff"]
        assert [c["displayName"] for c in filtered("contacts", PROVISIONING_ERRORS)] == ["Fabrikam Partner Desk"]

        unsupported = http.get("/v1.0/users", params={"$filter": "onPremisesProvisioningErrors/any()"})
    assert unsupported.status_code == 400
    assert unsupported.json()["error"]["code"] == "Request_UnsupportedQuery"


# ------------------------------------------------------------------------------------------------
# Paths, auth and permissions


def test_doubled_slash_beta_fields_and_unknown_paths(unready: GraphSimulator) -> None:
    with client(unready) as http:
        organization = http.get("/v1.0//organization").json()["value"][0]
        beta = http.get("/beta/organization").json()["value"][0]
        missing = http.get("/v1.0/nothingHere")
        missing_user = http.get("/v1.0/users/nobody@contoso.test")
        by_upn = http.get("/v1.0/users/adelev@contoso.test").json()
        sync = http.get("/v1.0/directory/onPremisesSynchronization").json()["value"][0]
        assignments = http.get(
            f"/v1.0/deviceManagement/termsAndConditions/{unready.tenant.terms_and_conditions[0]['id']}/assignments").json()
    assert organization["id"] == TENANT_ID and "onPremisesLastPasswordSyncDateTime" not in organization
    assert "onPremisesLastPasswordSyncDateTime" in beta
    for response in (missing, missing_user):
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "Request_ResourceNotFound"
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert by_upn["displayName"] == "Adele Vance"
    assert sync["features"]["blockSoftMatchEnabled"] is False
    assert assignments["value"] == []


def test_missing_or_wrong_bearer_is_401(unready: GraphSimulator) -> None:
    locked = GraphSimulator(unready.tenant, token="expected-bearer")
    with locked, httpx.Client(base_url=locked.url) as http:
        missing = http.get("/v1.0/organization")
        wrong = http.get("/v1.0/organization", headers={"Authorization": "Bearer something-else"})
        right = http.get("/v1.0/organization", headers={"Authorization": "Bearer expected-bearer"})
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert right.status_code == 200


def test_jwt_permissions_are_enforced(unready: GraphSimulator) -> None:
    app_org_reader = make_jwt({"roles": ["Organization.Read.All"]})
    app_everything = make_jwt({"roles": ["Directory.Read.All", "OnPremDirectorySynchronization.Read.All",
                                         "Agreement.Read.All", "Policy.Read.All"]})
    delegated = make_jwt({"scp": "OnPremDirectorySynchronization.Read.All Agreement.Read.All User.Read.All"})

    def status(token: str, path: str) -> int:
        with client(unready, token) as http:
            response = http.get(path)
        if response.status_code == 403:
            assert response.json()["error"] == {**response.json()["error"], "code": "Authorization_RequestDenied",
                                                "message": "Insufficient privileges to complete the operation."}
        return response.status_code

    assert status(app_org_reader, "/v1.0/organization") == 200
    assert status(app_org_reader, "/v1.0/subscribedSkus") == 200
    assert status(app_org_reader, "/v1.0/users") == 403
    assert status(app_org_reader, "/v1.0/deviceManagement") == 403
    assert status(app_everything, "/v1.0/users") == 200
    assert status(app_everything, "/v1.0/directory/onPremisesSynchronization") == 403
    assert status(app_everything, "/v1.0/identityGovernance/termsOfUse/agreements") == 403
    assert status(delegated, "/v1.0/directory/onPremisesSynchronization") == 200
    assert status(delegated, "/v1.0/identityGovernance/termsOfUse/agreements") == 200
    assert status(delegated, "/v1.0/domains") == 403


# ------------------------------------------------------------------------------------------------
# Faults


def test_fault_plan_429_with_fractional_retry_after_and_max_consecutive(unready: GraphSimulator) -> None:
    plan = FaultPlan(rate=1.0, kinds=("429",), retry_after="0.2", seed=1, max_consecutive=2)
    with GraphSimulator(unready.tenant, faults=plan) as sim, client(sim) as http:
        attempts = []
        started = time.perf_counter()
        for _ in range(5):
            response = http.get("/v1.0/organization")
            attempts.append(response.status_code)
            if response.status_code != 429:
                break
            assert response.headers["Retry-After"] == "0.2"
            assert response.json()["error"]["code"] == "TooManyRequests"
            time.sleep(float(response.headers["Retry-After"]))
        assert attempts == [429, 429, 200]
        assert time.perf_counter() - started >= 0.4
        assert [(e.status, e.fault) for e in sim.requests] == [(429, "429"), (429, "429"), (200, None)]


def test_fault_plan_never_exceeds_max_consecutive_for_a_url(unready: GraphSimulator) -> None:
    plan = FaultPlan(rate=0.6, kinds=("429", "503", "504"), retry_after="0", seed=5, max_consecutive=2)
    with GraphSimulator(unready.tenant, faults=plan) as sim, client(sim) as http:
        for _ in range(60):
            http.get("/v1.0/subscribedSkus")
        statuses = [entry.status for entry in sim.requests]
        faults = {entry.fault for entry in sim.requests}
    assert faults >= {"429", "503", "504", None}
    in_a_row = 0
    for status in statuses:
        in_a_row = in_a_row + 1 if status != 200 else 0
        assert in_a_row <= 2


def test_fault_plan_malformed_and_slow(unready: GraphSimulator) -> None:
    plan = FaultPlan(rate=1.0, kinds=(), malformed=True, max_consecutive=1, slow_seconds=0.1)
    with GraphSimulator(unready.tenant, faults=plan) as sim, client(sim) as http:
        broken = http.get("/v1.0/organization")
        fine = http.get("/v1.0/organization")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    assert fine.json()["value"][0]["id"] == TENANT_ID
    assert [e.fault for e in sim.requests] == ["malformed", None]
    assert all(e.elapsed_ms >= 100 for e in sim.requests)


def test_fault_plan_parse() -> None:
    plan = FaultPlan.parse("rate=0.3,kinds=429+503,retry_after=0.2,seed=1")
    assert plan == FaultPlan(rate=0.3, kinds=("429", "503"), retry_after="0.2", seed=1)
    assert FaultPlan.parse("rate=1,kinds=504,slow=0.5,malformed=true,max_consecutive=3") == FaultPlan(
        rate=1.0, kinds=("504",), slow_seconds=0.5, malformed=True, max_consecutive=3)
    assert FaultPlan.parse("") == FaultPlan()
    assert FaultPlan.parse("page-loop,mode=slow-drip+bad-gzip") == FaultPlan(
        hostile=("page-loop", "slow-drip", "bad-gzip"))
    for bad, message in [("rate=2", "between 0 and 1"), ("kinds=418", "unknown fault kinds"),
                         ("speed=3", "unknown fault option 'speed'"), ("rate", "neither KEY=VALUE nor a hostile mode"),
                         ("page-lop", "neither KEY=VALUE nor a hostile mode .page-loop"),
                         ("mode=page-lop", "unknown hostile mode 'page-lop'"),
                         ("rate=abc", "rate='abc'"), ("retry_after=soon", "retry_after"),
                         ("malformed=maybe", "true or false")]:
        with pytest.raises(ValueError, match=message):
            FaultPlan.parse(bad)


# ------------------------------------------------------------------------------------------------
# msgraph-sdk and the command line


class StaticTokenCredential:
    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken
        return AccessToken("static-test-token", int(time.time()) + 3600)


def test_msgraph_sdk_reads_organization_and_skus(unready: GraphSimulator) -> None:
    from msgraph import GraphServiceClient
    from msgraph.generated.models.domain_dns_cname_record import DomainDnsCnameRecord

    async def read() -> tuple[Any, Any, Any]:
        graph = GraphServiceClient(credentials=StaticTokenCredential(), scopes=["https://graph.microsoft.com/.default"])
        graph.request_adapter.base_url = unready.url + "/v1.0"
        organizations = await graph.organization.get()
        skus = await graph.subscribed_skus.get()
        records = await graph.domains.by_domain_id("contoso.test").service_configuration_records.get()
        return organizations, skus, records

    organizations, skus, records = asyncio.run(read())
    organization = organizations.value[0]
    assert organization.id == TENANT_ID and organization.on_premises_sync_enabled is True
    assert organization.mobile_device_management_authority.value == "unknown"
    assert {sku.sku_part_number for sku in skus.value} == {"EMS", "AAD_PREMIUM_P2"}
    cnames = {r.label: r.canonical_name for r in records.value if isinstance(r, DomainDnsCnameRecord)}
    assert cnames["enterpriseenrollment.contoso.test"] == "enterpriseenrollment-s.manage.microsoft.com"
    assert {entry.path for entry in unready.requests} == {
        "/v1.0/organization", "/v1.0/subscribedSkus", "/v1.0/domains/contoso.test/serviceConfigurationRecords"}


def test_command_line_serves_a_scenario_until_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ems_readiness.simulate.graph_server", "--scenario", "ready", "--port", "sts=43001"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(f"{url}/v1.0/domains/fed.contoso.test/federationConfiguration",
                             headers={"Authorization": "Bearer t"})
        assert response.json()["value"][0]["passiveSignInUri"] == "https://sts.contoso.test:43001/adfs/ls/"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
