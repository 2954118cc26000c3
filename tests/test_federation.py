"""FED-001 and FED-002 end to end: Entra's federation settings from the simulated tenant (real HTTP,
msgraph-sdk), the federation metadata and MEX documents from a real HTTPS server on loopback
(certificates made by `cryptography`), names resolved by the simulated authoritative DNS server."""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime, timezone

import pytest

from ems_readiness.engine.auth import StaticTokenCredential
from ems_readiness.engine.model import Status
from ems_readiness.engine.profile import profile_from_dict
from ems_readiness.engine.runner import ScanOptions, scan
from ems_readiness.judges.federation import (
    DocumentError, certificate_from_base64, expiry_problem, mex_endpoints, parse_metadata,
)
from ems_readiness.simulate.dns_server import DnsSimulator
from ems_readiness.simulate.federation_host import FederationDocuments, FederationService, signing_certificate
from ems_readiness.simulate.tenant_data import load_scenario_tenant
from ems_readiness.simulate.tls_servers import TlsSimulator, TlsSpec

from .support.tenant import by_id, delegated_token, simulated_tenant

DOMAIN = "fed.contoso.test"
ISSUER = "http://sts.contoso.test/adfs/services/trust"
CASES = ("match", "rollover", "mismatch", "issuer", "404", "stall", "malformed", "no-windows-transport")


@pytest.fixture(scope="module")
def certificates():
    return {"current": signing_certificate("current", 300), "next": signing_certificate("next", 700, 5),
            "expiring": signing_certificate("expiring", 10)}


@pytest.fixture(scope="module")
def federation_host(certificates, tmp_path_factory):
    """One TLS listener standing for a sign-in host per case; DNS answers 127.0.0.1 for each."""
    hosts = {f"sts-{case}.contoso.test": case for case in CASES}
    documents = FederationDocuments(FederationService(ISSUER, certificates["current"], certificates["next"]), hosts)
    # a second service whose only token-signing certificate is about to expire
    old_hosts = {"old-match.contoso.test": "match", "old-issuer.contoso.test": "issuer"}
    old = FederationDocuments(FederationService(ISSUER, certificates["expiring"]), old_hosts)
    zone = tmp_path_factory.mktemp("zones") / "contoso.test.zone"
    zone.write_text("$ORIGIN contoso.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\n"
                    "ns1 IN A 127.0.0.1\n" + "".join(f"{h.split('.')[0]} IN A 127.0.0.1\n" for h in {**hosts, **old_hosts}),
                    encoding="utf-8")
    specs = [TlsSpec("sts", tuple(hosts), "valid"), TlsSpec("old", tuple(old_hosts), "valid")]
    with TlsSimulator(specs, responders={"sts": documents.respond, "old": old.respond}) as tls:
        dns = DnsSimulator([zone]).start()
        try:
            yield tls, dns
        finally:
            dns.stop()


def tenant_with(case: str, port: int, current: str, following: str | None = None, status="success", mex=True,
                prefix="sts"):
    tenant = load_scenario_tenant("ready", ports={"sts": port})
    tenant.federation_configuration = copy.deepcopy(tenant.federation_configuration)
    config = tenant.federation_configuration[DOMAIN][0]
    host = f"https://{prefix}-{case}.contoso.test:{port}"
    config.update(passiveSignInUri=f"{host}/adfs/ls/", signingCertificate=current, nextSigningCertificate=following,
                  metadataExchangeUri=f"{host}/adfs/services/trust/mex" if mex else None,
                  signingCertificateUpdateStatus={"certificateUpdateResult": status, "lastRunDateTime": "2026-12-01T00:00:00Z"})
    return tenant


def run(federation_host, tenant, plan=None, timeout=1.5, trust=None):
    tls, dns = federation_host
    token = delegated_token()
    with simulated_tenant(tenant=tenant, token=token) as sim:
        profile = profile_from_dict({
            "tenant": {"graph_url": sim.url, "auth": "token", "timeout_seconds": 10},
            "dns": {"resolvers": {"internal": dns.address}, "timeout_seconds": 2.0},
            "tls": {"trust": str(trust or tls.trust_bundle)},
            "network": {"timeout_seconds": timeout},
            "identity": {"model": "federated"},
            "plan": plan or {},
        })
        from ems_readiness.engine.registry import load_checks

        checks = [c for c in load_checks(include_entry_points=False) if c.id in ("FED-001", "FED-002")]
        options = ScanOptions(network_side=True, mode="demo", credential=StaticTokenCredential(token))
        return by_id(asyncio.run(scan(profile, checks, options)))


def findings(result) -> dict:
    return {f.resource: f for f in result.findings}


def test_matching_metadata_passes(federation_host, certificates):
    port = federation_host[0].port("sts")
    checks = run(federation_host, tenant_with("match", port, certificates["current"]))
    assert checks["FED-001"].status is Status.PASS, checks["FED-001"].findings
    assert checks["FED-002"].status is Status.PASS, checks["FED-002"].findings
    assert "windowstransport" in findings(checks["FED-002"])[f"{DOMAIN}:mex"].observed


def test_rollover_with_both_certificates_in_entra_passes(federation_host, certificates):
    port = federation_host[0].port("sts")
    checks = run(federation_host, tenant_with("rollover", port, certificates["current"], certificates["next"]))
    assert checks["FED-001"].status is Status.PASS, checks["FED-001"].findings


def test_rollover_entra_did_not_learn_fails(federation_host, certificates):
    port = federation_host[0].port("sts")
    checks = run(federation_host, tenant_with("rollover", port, certificates["current"]))
    metadata = findings(checks["FED-001"])[f"{DOMAIN}:metadata"]
    assert metadata.status is Status.FAIL and "1 certificate(s) Entra does not hold" in metadata.message


def test_signing_certificate_entra_does_not_hold_fails(federation_host, certificates):
    port = federation_host[0].port("sts")
    checks = run(federation_host, tenant_with("mismatch", port, certificates["current"], status="Failed"))
    found = findings(checks["FED-001"])
    assert found[f"{DOMAIN}:metadata"].status is Status.FAIL
    assert found[f"{DOMAIN}:auto-update"].status is Status.FAIL and "Failed" in found[f"{DOMAIN}:auto-update"].observed
    assert found[f"{DOMAIN}:metadata"].action.params == {"domain": DOMAIN}


def test_expiring_certificate_without_successor_fails(federation_host, certificates):
    port = federation_host[0].port("old")
    tenant = tenant_with("issuer", port, certificates["expiring"], prefix="old")
    checks = run(federation_host, tenant)
    found = findings(checks["FED-001"])
    assert found[f"{DOMAIN}:expiry"].status is Status.FAIL and "no successor" in found[f"{DOMAIN}:expiry"].message
    assert found[f"{DOMAIN}:issuer"].status is Status.FAIL
    assert "sts.other.test" in found[f"{DOMAIN}:issuer"].observed


def test_expiring_certificate_known_to_entra_only_is_not_a_failure_of_the_metadata(federation_host, certificates):
    port = federation_host[0].port("old")
    checks = run(federation_host, tenant_with("match", port, certificates["expiring"], prefix="old"))
    found = findings(checks["FED-001"])
    assert found[f"{DOMAIN}:metadata"].status is Status.PASS and found[f"{DOMAIN}:expiry"].status is Status.FAIL


def test_expiring_certificate_with_a_published_successor_passes(federation_host, certificates):
    port = federation_host[0].port("sts")
    checks = run(federation_host, tenant_with("rollover", port, certificates["expiring"], certificates["next"]))
    assert findings(checks["FED-001"])[f"{DOMAIN}:expiry"].status is Status.PASS


@pytest.mark.parametrize("case, words", [("404", "HTTP 404"), ("stall", "within"), ("malformed", "not well-formed")])
def test_metadata_that_cannot_be_fetched_or_read_is_an_error_saying_so(federation_host, certificates, case, words):
    port = federation_host[0].port("sts")
    checks = run(federation_host, tenant_with(case, port, certificates["current"]))
    metadata = findings(checks["FED-001"])[f"{DOMAIN}:metadata"]
    assert metadata.status is Status.ERROR and words in metadata.message
    if case != "malformed":
        assert "not reachable from here" in metadata.message
    assert checks["FED-001"].status is Status.ERROR  # nothing failed, something could not be seen


def test_untrusted_federation_host_is_not_reachable_from_here(federation_host, certificates, tmp_path):
    """A certificate the scan does not trust (an interceptor's, or a host's own) is no source of truth."""
    from ems_readiness.simulate.certs import CertificateFactory, write_bundle

    port = federation_host[0].port("sts")
    other = tmp_path / "other.pem"
    write_bundle(other, CertificateFactory().trusted_roots())
    checks = run(federation_host, tenant_with("match", port, certificates["current"]), trust=other)
    metadata = findings(checks["FED-001"])[f"{DOMAIN}:metadata"]
    assert metadata.status is Status.ERROR and "TLS" in metadata.message


def test_mex_without_windows_transport_fails_when_windows_is_planned(federation_host, certificates):
    port = federation_host[0].port("sts")
    tenant = tenant_with("no-windows-transport", port, certificates["current"])
    adfs = run(federation_host, tenant, plan={"federation": "adfs"})
    assert findings(adfs["FED-002"])[f"{DOMAIN}:mex"].status is Status.FAIL
    phones = run(federation_host, tenant, plan={"federation": "adfs", "platforms": ["ios", "android"]})
    assert findings(phones["FED-002"])[f"{DOMAIN}:mex"].status is Status.PASS
    leaving = run(federation_host, tenant, plan={"federation": "none"})  # moving to managed sign-in
    assert findings(leaving["FED-002"])[f"{DOMAIN}:mex"].status is Status.PASS


def test_no_mex_uri_in_entra_fails(federation_host, certificates):
    port = federation_host[0].port("sts")
    checks = run(federation_host, tenant_with("match", port, certificates["current"], mex=False))
    mex = findings(checks["FED-002"])[f"{DOMAIN}:mex"]
    assert mex.status is Status.FAIL and "metadataExchangeUri null" in mex.observed


def test_certificate_graph_did_not_send_is_an_error(federation_host, certificates):
    port = federation_host[0].port("sts")
    tenant = tenant_with("match", port, certificates["current"])
    del tenant.federation_configuration[DOMAIN][0]["signingCertificate"]
    checks = run(federation_host, tenant)
    assert checks["FED-001"].status is Status.ERROR
    assert any("signingCertificate" in f.message for f in checks["FED-001"].findings)


# --- the judge, without the network ----------------------------------------------------------


def test_metadata_parser_refuses_entities_and_reads_distinct_signing_certificates(certificates):
    service = FederationService(ISSUER, certificates["current"], certificates["next"])
    metadata = parse_metadata(service.metadata("rollover"))
    assert metadata.entity_id == ISSUER and len(metadata.signing) == 2  # listed twice per role, counted once
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>'
    with pytest.raises(DocumentError, match="DTD or entity"):
        parse_metadata(bomb)
    with pytest.raises(DocumentError, match="not md:EntityDescriptor"):
        parse_metadata(b"<html/>")
    with pytest.raises(DocumentError, match="no https endpoint"):
        mex_endpoints(b"<definitions/>")


def test_expiry_needs_a_later_successor(certificates):
    now = datetime.now(timezone.utc)
    expiring = certificate_from_base64(certificates["expiring"], "x")
    successor = certificate_from_base64(certificates["next"], "x")
    from ems_readiness.engine.texts import render

    assert "no successor" in render(expiry_problem(expiring, None, (expiring,), now))
    assert expiry_problem(expiring, successor, (), now) is None
    assert expiry_problem(expiring, None, (expiring, successor), now) is None
    assert expiry_problem(successor, None, (), now) is None
