"""Every tenant check against the simulated tenant, over real HTTP through msgraph-sdk."""

import pytest

from ems_readiness.engine.model import Status
from ems_readiness.simulate.graph_server import FaultPlan

from .support.tenant import ALL_APPLICATION, app_token, by_id, delegated_token, simulated_tenant, tenant_scan

TENANT_CHECKS = ["LIC-001", "DSY-001", "DSY-002", "DSY-003", "DSY-004", "DSY-005", "DOM-001", "DOM-002",
                 "INT-001", "INT-002", "INT-003", "INT-004"]


@pytest.fixture(scope="module")
def unready():
    token = delegated_token()
    with simulated_tenant("unready", token=token) as sim:
        yield by_id(tenant_scan(sim, token))


@pytest.fixture(scope="module")
def ready():
    token = delegated_token()
    with simulated_tenant("ready", token=token) as sim:
        yield by_id(tenant_scan(sim, token))


def test_ready_tenant_passes_every_tenant_check(ready):
    assert {i: ready[i].status for i in TENANT_CHECKS} == {i: Status.PASS for i in TENANT_CHECKS}


@pytest.mark.parametrize("check_id", ["LIC-001", "DSY-002", "DSY-003", "DSY-004", "DOM-001", "INT-001", "INT-002",
                                      "INT-004"])
def test_unready_tenant_fails(unready, check_id):
    assert unready[check_id].status is Status.FAIL, unready[check_id].findings


def test_licensing_findings_name_plans_and_free_units(unready):
    findings = {f.resource: f for f in unready["LIC-001"].findings}
    rms = findings["Azure Rights Management (RMS_S_ENTERPRISE)"]
    assert rms.status is Status.FAIL and "Disabled" in rms.observed
    assert any(f.status is Status.WARN and "Suspended" in f.observed for f in findings.values())


def test_provisioning_errors_are_one_finding_per_object(unready):
    failed = [f for f in unready["DSY-003"].findings if f.status is Status.FAIL]
    kinds = {f.resource.split(":", 1)[0] for f in failed}
    assert kinds == {"user", "group", "contact"}
    assert all(f.observed and "=" in f.observed for f in failed)


def test_upn_suffixes_grouped_with_counts(unready):
    findings = {f.resource: f for f in unready["DSY-004"].findings}
    assert findings["suffix:corp.local"].status is Status.FAIL
    assert "user(s)" in findings["suffix:corp.local"].observed
    assert findings["suffix:fabrikam.test"].status is Status.FAIL


def not_routable(check) -> dict:
    return {f.resource: f for f in check.findings if f.texts["message"].id == "dsy.upn.not-routable"}


def test_on_premises_suffixes_not_routable_say_why(unready):
    """The lab's .test is declared routable (tenant_scan): only corp.local fails, naming the reason."""
    local = not_routable(unready["DSY-004"])
    assert list(local) == ["suffix:corp.local"]
    finding = local["suffix:corp.local"]
    assert finding.status is Status.FAIL
    assert finding.message == ("3 synced user(s) have the on-premises UPN suffix corp.local, which is not routable"
                               " (.local is a private, non-routable top-level domain)")
    assert finding.texts["message"].params["problem"].id == "suffix.private"
    assert "diegos@corp.local" in finding.observed


def test_an_undeclared_test_suffix_is_not_routable_in_the_tenant_either():
    token = delegated_token()
    with simulated_tenant("unready", token=token) as sim:
        checks = by_id(tenant_scan(sim, token, only=("DSY-004",), extra_profile={"identity": {"routable_tlds": []}}))
    found = not_routable(checks["DSY-004"])
    assert sorted(found) == ["suffix:contoso.test", "suffix:corp.local", "suffix:fabrikam.test",
                             "suffix:fed.contoso.test"]
    assert all(f.status is Status.FAIL for f in found.values())
    assert found["suffix:contoso.test"].message.endswith("(.test is a private, non-routable top-level domain)")
    assert found["suffix:contoso.test"].texts["message"].params["problem"].params == {"tld": "test"}
    # contoso.test is also verified in the tenant: the suffix is still one finding, the one to act on
    resources = [f.resource for f in checks["DSY-004"].findings]
    assert len(resources) == len(set(resources)), resources


def test_unverified_domain_gets_the_exact_txt_record(unready):
    finding = next(f for f in unready["DOM-001"].findings if f.resource == "fabrikam.test")
    assert 'TXT "MS=ms48151623"' in finding.expected
    assert "MS=ms48151623" in finding.remediation


def test_federated_domain_reports_its_sign_in_host(unready):
    finding = next(f for f in unready["DOM-002"].findings if f.resource == "fed.contoso.test")
    assert "sts.contoso.test" in finding.observed


def test_terms_and_mdm_authority(unready):
    terms = unready["INT-001"].findings[0]
    assert "acceptance statement" in terms.message
    mdm = next(f for f in unready["INT-004"].findings if f.resource == "MDM authority")
    assert mdm.status is Status.FAIL and "unknown" in mdm.observed


def test_app_only_skips_delegated_only_reads():
    token = app_token()
    with simulated_tenant("ready", token=token) as sim:
        checks = by_id(tenant_scan(sim, token))
        assert checks["DSY-005"].status is Status.SKIP
        assert "delegated" in checks["DSY-005"].reason
        agreements = next(f for f in checks["INT-003"].findings if f.resource == "terms-of-use agreements")
        assert agreements.status is Status.SKIP
        assert not any("onPremisesSynchronization" in r.path for r in sim.requests)


def test_missing_permission_is_an_error_naming_it_without_calling_graph():
    token = app_token([r for r in ALL_APPLICATION if r != "Domain.Read.All"])
    with simulated_tenant("ready", token=token) as sim:
        checks = by_id(tenant_scan(sim, token, only=("domains",)))
        for check_id in ("DOM-001", "DOM-002"):
            assert checks[check_id].status is Status.ERROR
            assert "Domain.Read.All" in checks[check_id].reason
        assert not any("/domains" in r.path for r in sim.requests)


def test_graph_403_is_an_error_naming_the_permission():
    """An opaque token skips the preflight; Graph's own 403 still names the permission."""
    from ems_readiness.engine.auth import TokenClaims

    token = app_token([r for r in ALL_APPLICATION if r != "DeviceManagementServiceConfig.Read.All"])
    with simulated_tenant("ready", token=token) as sim:
        import ems_readiness.engine.tenant_connection as tenant_connection

        original = tenant_connection.read_claims
        tenant_connection.read_claims = lambda _token: TokenClaims(kind=None)
        try:
            checks = by_id(tenant_scan(sim, token, only=("intune",)))
        finally:
            tenant_connection.read_claims = original
        assert checks["INT-001"].status is Status.ERROR
        assert "DeviceManagementServiceConfig.Read.All" in checks["INT-001"].reason
        assert any(r.status == 403 for r in sim.requests)


def test_wrong_bearer_leaves_the_tenant_unread():
    with simulated_tenant("ready", token=delegated_token()) as sim:
        results = tenant_scan(sim, delegated_token() + "x")
    assert "401" in results.tenant_unread
    assert all(c.status is Status.ERROR and "401" in c.reason for c in results.checks)


def test_unreachable_graph_ends_the_scan():
    with simulated_tenant("ready") as sim:
        url = sim.url
    class Gone:
        pass
    gone = Gone()
    gone.url = url
    results = tenant_scan(gone, delegated_token())
    assert "could not be reached" in results.tenant_unread
    assert all(c.status is Status.ERROR for c in results.checks)


def test_throttled_run_gives_the_same_results_as_a_clean_run():
    from datetime import datetime, timezone

    token = delegated_token()
    now = datetime.now(timezone.utc)

    def outcome(results):
        return {(f.check_id, f.resource, f.status, f.observed) for c in results.checks for f in c.findings
                if f.check_id not in ("DSY-002",)}  # relative ages move with the clock

    with simulated_tenant("unready", token=token, now=now) as sim:
        clean = outcome(tenant_scan(sim, token))
    chaos = FaultPlan(rate=0.3, kinds=("429", "503"), retry_after="0.05", seed=3, max_consecutive=2)
    with simulated_tenant("unready", token=token, faults=chaos, now=now) as sim:
        noisy = outcome(tenant_scan(sim, token))
        faulted = [r for r in sim.requests if r.fault]
    assert faulted, "the fault plan injected nothing"
    assert noisy == clean


def test_persistent_throttling_is_an_error_not_a_verdict():
    token = delegated_token()
    always = FaultPlan(rate=1.0, kinds=("429",), retry_after="0.2", seed=1, max_consecutive=1000)
    with simulated_tenant("ready", token=token, faults=always) as sim:
        results = tenant_scan(sim, token, only=("licensing", "domains"), max_retry_wait=0.5)
    checks = by_id(results)
    assert "throttled" in results.tenant_unread  # no read succeeded: the tenant was not read (exit 3)
    for check_id in ("LIC-001", "DOM-001", "DOM-002"):
        assert checks[check_id].status is Status.ERROR
        assert "throttled" in checks[check_id].reason
        assert all(f.status is Status.ERROR for f in checks[check_id].findings)


@pytest.mark.parametrize("check_id", TENANT_CHECKS)
def test_every_tenant_check_errors_naming_a_permission_the_token_lacks(check_id):
    from .support.tenant import ALL_DELEGATED, tenant_checks

    check = next(c for c in tenant_checks() if c.id == check_id)
    missing = check.permissions.delegated[0]
    token = delegated_token([p for p in ALL_DELEGATED if p != missing])
    with simulated_tenant("ready", token=token) as sim:
        result = by_id(tenant_scan(sim, token, only=(check_id,)))[check_id]
    assert result.status is Status.ERROR
    assert missing in result.reason
    assert not result.findings


def test_cloud_only_plan_with_sync_on_fails_and_recency_is_skipped(ready):
    token = delegated_token()
    with simulated_tenant("ready", token=token) as sim:
        checks = by_id(tenant_scan(sim, token, only=("DSY-001", "DSY-002", "DOM-002"), model="cloud-only"))
    assert checks["DSY-001"].status is Status.FAIL
    assert "cloud-only" in checks["DSY-001"].findings[0].message
    assert checks["DSY-002"].status is Status.SKIP
    assert checks["DOM-002"].status is Status.WARN  # a federated domain under a cloud-only plan


def test_sync_features_against_the_plan():
    token = delegated_token()
    with simulated_tenant("unready", token=token) as sim:
        checks = by_id(tenant_scan(sim, token, only=("DSY-005",),
                                   extra_profile={"identity": {"features": {"blockSoftMatchEnabled": True,
                                                                            "passwordSyncEnabled": True}}}))
    findings = {f.resource: f for f in checks["DSY-005"].findings}
    assert checks["DSY-005"].status is Status.FAIL
    assert findings["feature:blockSoftMatchEnabled"].status is Status.FAIL
    assert findings["feature:passwordSyncEnabled"].status is Status.PASS


def test_terms_of_use_not_enforced_is_a_warning(unready):
    assert unready["INT-003"].status is Status.WARN
    warned = [f for f in unready["INT-003"].findings if f.status is Status.WARN]
    assert warned and "not enforced" in warned[0].message


def test_malformed_json_is_retried_then_an_error():
    token = delegated_token()
    broken = FaultPlan(rate=1.0, kinds=(), malformed=True, seed=1, max_consecutive=1000)
    with simulated_tenant("ready", token=token, faults=broken) as sim:
        checks = by_id(tenant_scan(sim, token, only=("licensing",)))
    assert checks["LIC-001"].status is Status.ERROR
    assert "malformed JSON" in checks["LIC-001"].reason


def test_one_sts_farm_serving_two_federated_domains_passes_both():
    """The sign-in host is shared; each federated domain still reports it (inventory per domain)."""
    from ems_readiness.simulate.tenant_data import load_scenario_tenant

    tenant = load_scenario_tenant("ready", ports={"sts": 443})
    fed = next(d for d in tenant.domains if d["id"] == "fed.contoso.test")
    tenant.domains.append({**fed, "id": "fed2.contoso.test"})
    tenant.federation_configuration["fed2.contoso.test"] = tenant.federation_configuration["fed.contoso.test"]
    token = delegated_token()
    with simulated_tenant(token=token, tenant=tenant) as sim:
        checks = by_id(tenant_scan(sim, token, only=("DOM-002",)))
    findings = {f.resource: f for f in checks["DOM-002"].findings}
    assert findings["fed.contoso.test"].status is Status.PASS
    assert findings["fed2.contoso.test"].status is Status.PASS
    assert "sts.contoso.test" in findings["fed2.contoso.test"].observed


def test_a_next_link_to_another_host_is_not_followed_with_the_token():
    from ems_readiness.simulate.tenant_data import load_scenario_tenant

    tenant = load_scenario_tenant("ready", ports={"sts": 443})
    model = tenant.users[0]
    tenant.users = list(tenant.users) + [  # more than one page of 999
        {**model, "id": f"00000000-0000-4000-8000-{n:012d}", "userPrincipalName": f"user{n}@contoso.test"}
        for n in range(1000)]
    token = delegated_token()
    with simulated_tenant(token=token, tenant=tenant) as sim:
        import ems_readiness.simulate.graph_server as server

        original = server.GraphRequest.next_link
        server.GraphRequest.next_link = lambda self, skiptoken: "http://localhost:9/collect?$skiptoken=x"
        try:
            checks = by_id(tenant_scan(sim, token, only=("DSY-004",)))
        finally:
            server.GraphRequest.next_link = original
    result = checks["DSY-004"]
    assert result.status is Status.ERROR and "points away" in result.reason


def test_a_gateway_error_page_is_retried_like_graph_throttling():
    """A 503 with an HTML body (a gateway, not Graph) is retried; persistent, it is an error."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class Gateway(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            body = b"<html><body>Service Unavailable</body></html>"
            self.send_response(503)
            self.send_header("Content-Type", "text/html")
            self.send_header("Retry-After", "0.05")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    class Root:
        url = f"http://127.0.0.1:{server.server_address[1]}"

    try:
        checks = by_id(tenant_scan(Root(), delegated_token(), only=("LIC-001",), max_retry_wait=0.5))
    finally:
        server.shutdown()
    assert checks["LIC-001"].status is Status.ERROR
    assert "503" in checks["LIC-001"].reason or "throttled" in checks["LIC-001"].reason
    assert len(hits) > 2  # retried, not given up at the first answer


def test_conflict_remediation_names_the_property_and_quotes_tenant_text():
    from ems_readiness.checks.directory_sync import conflict_remediation
    from ems_readiness.engine.texts import render

    upn = render(conflict_remediation("UserPrincipalName", "o'brien@contoso.test"))
    assert "userPrincipalName eq 'o''brien@contoso.test'" in upn
    hostile = render(conflict_remediation("ProxyAddress", "smtp:x@y.test'\"; Remove-Item $env:TEMP -Recurse `"))
    assert '";' not in hostile and "$env" not in hostile and "`" not in hostile
