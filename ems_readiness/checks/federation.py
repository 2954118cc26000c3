"""Federated identity: the token-signing trust between Entra and the federation service (AD FS),
and the WS-Trust endpoints hybrid join and older clients need — Entra's federation settings read
through Graph, the federation service's own documents fetched from this vantage point."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import joined, msg
from ems_readiness.judges.federation import (
    METADATA_PATH, RENEW_DAYS, USERNAME_MIXED, WINDOWS_TRANSPORT, DocumentError, certificate_from_base64,
    describe_text, expiry_problem_text, mex_endpoints, parse_metadata, unknown_to_entra,
)

from ems_readiness.checks._tenant import Unreadable, error_text, graph_unreadable, require

READ = "domains/{id}/federationConfiguration[]"
FEDERATION_RESPONSIBILITIES = ["assess.remediation-checklist", "enable.security-infrastructure"]


async def federated_domains(ctx) -> list[str]:
    domains = await ctx.inventory.tenant_domains() or []
    return sorted(d["id"] for d in domains if str(d.get("authenticationType", "")).lower() == "federated")


async def configuration(ctx, domain: str) -> dict[str, Any] | None:
    configs = await ctx.inventory.federation(domain)
    if not configs:
        ctx.errored(domain, msg("fed.no-config", domain=domain), action=graph_unreadable("domains/{id}/federationConfiguration"))
        return None
    return configs[0]


async def fetch(ctx, url: str):
    if ctx.probes.https is None:
        return None, msg("fed.no-network")
    fetched = await ctx.probes.https.get(url)
    if fetched.problem:
        return fetched, msg("fed.unreachable", problem=fetched.problem)
    if fetched.status != 200:
        return fetched, msg("fed.unreachable.http", url=url, status=fetched.status)
    return fetched, None


def origin(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{uri[:200]!r} is not an https URL")
    return f"https://{parts.netloc}"


@check(
    id="FED-001",
    title="Token-signing certificates agree between Entra and the federation service",
    area="federation",
    severity="high",
    responsibilities=FEDERATION_RESPONSIBILITIES,
    topic="federated-identity",
    application=["Domain.Read.All"],
    delegated=["Domain.Read.All"],
    why="""
        Entra accepts a federated user's sign-in only when the token is signed with a certificate
        Entra holds for the domain. When AD FS rolls its token-signing certificate over and Entra
        does not learn the new one (the automatic metadata update failed, or the federation host
        is not reachable from the internet), or Entra's certificate expires, every user of the
        domain is locked out — sign-in, device registration and enrollment alike.
    """,
    fix="""
        On the primary AD FS server compare Get-AdfsCertificate -CertificateType Token-Signing with
        Entra's (Get-MgDomainFederationConfiguration -DomainId <domain>), then update Entra with
        Update-MgDomainFederationConfiguration (signingCertificate and nextSigningCertificate) or
        Microsoft Entra Connect's "Manage federation" task; make sure the federation metadata is
        published and reachable, and that the issuer URI matches AD FS's identifier.
    """,
)
async def token_signing_agreement(ctx) -> None:
    now = datetime.now(timezone.utc)
    for domain in await federated_domains(ctx):
        config = await configuration(ctx, domain)
        if config is not None:
            await judge_domain(ctx, domain, config, now)


async def judge_domain(ctx, domain: str, config: dict[str, Any], now: datetime) -> None:
    of = f"domain {domain}"
    try:
        issuer = require(config, "issuerUri", str, read=READ, of=of)
        passive = require(config, "passiveSignInUri", str, read=READ, of=of)
        current = certificate_from_base64(require(config, "signingCertificate", str, read=READ, of=of),
                                          f"Graph's signingCertificate for {domain}")
        following_text = require(config, "nextSigningCertificate", str, read=READ, of=of, nullable=True)
        following = certificate_from_base64(following_text, f"Graph's nextSigningCertificate for {domain}") \
            if following_text else None
        status = require(config, "signingCertificateUpdateStatus", dict, read=READ, of=of, nullable=True)
        result = require(status, "certificateUpdateResult", str, read=f"{READ}.signingCertificateUpdateStatus",
                         of=of) if status is not None else None
        url = origin(passive) + METADATA_PATH
    except (Unreadable, DocumentError, ValueError) as exc:
        ctx.errored(domain, error_text(exc), action=graph_unreadable("domains/{id}/federationConfiguration"))
        return
    entra = [current] + ([following] if following else [])
    entra_text = msg("text.joined", items=joined(
        msg("fed.named-cert", name=name, cert=describe_text(c))
        for name, c in (("signingCertificate", current), ("nextSigningCertificate", following)) if c))
    fetched, problem = await fetch(ctx, url)
    metadata = None
    if problem is None:
        try:
            metadata = parse_metadata(fetched.body)
        except DocumentError as exc:
            problem = msg("fed.metadata-unreadable", url=url, error=str(exc))
    evidence = [fetched.evidence] if fetched else []
    report_expiry(ctx, domain, current, following, metadata, now, entra_text)
    report_update_status(ctx, domain, result)
    if metadata is None:
        ctx.errored(f"{domain}:metadata", msg("fed.uncompared", problem=problem),
                    observed=entra_text, evidence=evidence,
                    action=ActionRef(key="federation.publish-metadata", params={"domain": domain}))
        return
    published = msg("fed.metadata.lists", certs=joined(describe_text(c) for c in metadata.signing))
    unknown = unknown_to_entra(metadata.signing, entra)
    if unknown:
        ctx.failed(f"{domain}:metadata", msg("fed.unknown-certs", n=len(unknown), domain=domain),
                   expected=msg("fed.unknown-certs.expected", url=url, entra=entra_text),
                   observed=published, evidence=evidence,
                   action=ActionRef(key="federation.update-entra-certificates", params={"domain": domain}))
    else:
        ctx.passed(f"{domain}:metadata", msg("fed.certs-held", domain=domain), expected=entra_text,
                   observed=published, evidence=evidence)
    if metadata.entity_id != issuer:
        ctx.failed(f"{domain}:issuer", msg("fed.issuer.wrong", domain=domain), expected=f"entityID {issuer}",
                   observed=f"entityID {metadata.entity_id}", evidence=evidence,
                   action=ActionRef(key="federation.align-issuer", params={"domain": domain}))
    else:
        ctx.passed(f"{domain}:issuer", msg("fed.issuer.ok", domain=domain),
                   observed=f"entityID {metadata.entity_id}", evidence=evidence)


def report_expiry(ctx, domain: str, current: x509.Certificate, following: x509.Certificate | None,
                  metadata, now: datetime, entra_text: Text) -> None:
    problem = expiry_problem_text(current, following, metadata.signing if metadata else (), now)
    expected = msg("fed.expiry.expected", days=RENEW_DAYS)
    if problem:
        ctx.failed(f"{domain}:expiry", problem, expected=expected, observed=entra_text,
                   action=ActionRef(key="federation.renew-token-signing", params={"domain": domain}))
    elif metadata is None and (current.not_valid_after_utc - now).days <= RENEW_DAYS and following is None:
        ctx.errored(f"{domain}:expiry", msg("fed.expiry.unknown"), observed=entra_text,
                    action=ActionRef(key="federation.publish-metadata", params={"domain": domain}))
    else:
        ctx.passed(f"{domain}:expiry", msg("fed.expiry.ok", domain=domain), expected=expected, observed=entra_text)


def report_update_status(ctx, domain: str, result: str | None) -> None:
    resource = f"{domain}:auto-update"
    if result is None:
        ctx.passed(resource, msg("fed.update.none", domain=domain), observed="signingCertificateUpdateStatus null")
    elif result.lower() == "success":
        ctx.passed(resource, msg("fed.update.ok", domain=domain), observed=f"certificateUpdateResult {result}")
    else:
        ctx.failed(resource, msg("fed.update.failed", domain=domain),
                   expected="certificateUpdateResult success", observed=f"certificateUpdateResult {result}",
                   action=ActionRef(key="federation.update-entra-certificates", params={"domain": domain}))


@check(
    id="FED-002",
    title="The federation service's WS-Trust endpoints for hybrid join and older clients answer",
    area="federation",
    severity="high",
    responsibilities=["assess.remediation-checklist", "enable.client-infrastructure"],
    topic="federated-identity",
    application=["Domain.Read.All"],
    delegated=["Domain.Read.All"],
    why="""
        Windows devices joining Entra ID from a federated domain (hybrid join) get their token from
        AD FS's WS-Trust windowstransport endpoint, found through the metadata exchange (MEX)
        document Entra names; Office clients without modern authentication use usernamemixed. A
        MEX endpoint Entra does not know, or a disabled endpoint, makes hybrid join fail silently.
    """,
    fix="""
        On AD FS enable the endpoints (Enable-AdfsEndpoint -TargetAddressPath
        /adfs/services/trust/2005/windowstransport, and the 13/windowstransport and usernamemixed
        ones), publish them through the Web Application Proxy where devices sign in from outside,
        and set metadataExchangeUri in Entra (Update-MgDomainFederationConfiguration).
    """,
)
async def ws_trust_endpoints(ctx) -> None:
    for domain in await federated_domains(ctx):
        config = await configuration(ctx, domain)
        if config is not None:
            await judge_mex(ctx, domain, config)


def planned_federation(ctx) -> str:
    """[plan] federation when the profile sets it; else AD FS when the identity model is federated."""
    plan = ctx.profile.plan
    if "federation" in plan.model_fields_set:
        return plan.federation
    return "adfs" if ctx.profile.identity.model == "federated" else "none"


async def judge_mex(ctx, domain: str, config: dict[str, Any]) -> None:
    resource = f"{domain}:mex"
    try:
        mex = require(config, "metadataExchangeUri", str, read=READ, of=f"domain {domain}", nullable=True)
        if mex is not None:
            origin(mex)
    except (Unreadable, ValueError) as exc:
        ctx.errored(resource, error_text(exc), action=graph_unreadable("domains/{id}/federationConfiguration"))
        return
    if not mex:
        ctx.failed(resource, msg("fed.mex.none", domain=domain), expected=msg("fed.mex.expected"),
                   observed="metadataExchangeUri null",
                   action=ActionRef(key="federation.set-mex", params={"domain": domain}))
        return
    fetched, problem = await fetch(ctx, mex)
    evidence = [fetched.evidence] if fetched else []
    try:
        if problem:
            raise DocumentError(problem)
        paths = mex_endpoints(fetched.body)
    except DocumentError as exc:
        ctx.errored(resource, msg("fed.mex.unread", domain=domain, error=problem or str(exc)), evidence=evidence,
                    action=ActionRef(key="federation.publish-metadata", params={"domain": domain}))
        return
    observed = msg("fed.mex.observed", mex=mex, paths=", ".join(sorted(paths)))
    service = planned_federation(ctx)
    if service == "other":  # not AD FS: its WS-Trust paths are its own; what MEX lists is shown as it is
        ctx.passed(resource, msg("fed.mex.other", domain=domain), observed=observed, evidence=evidence)
        return
    needed = {"usernamemixed": USERNAME_MIXED}
    if ctx.profile.plan.includes("windows") and service == "adfs":
        needed["windowstransport"] = WINDOWS_TRANSPORT
    names = {"usernamemixed": "usernamemixed", "windowstransport": msg("fed.mex.windowstransport")}
    missing = [names[name] for name, candidates in needed.items() if not any(p in paths for p in candidates)]
    if missing:
        ctx.failed(resource, msg("fed.mex.missing", domain=domain, missing=joined(missing, "comma")),
                   expected=msg("fed.mex.lists", paths=joined((c[0] for c in needed.values()), "and")),
                   observed=observed, evidence=evidence,
                   action=ActionRef(key="federation.enable-ws-trust", params={"domain": domain}))
    else:
        ctx.passed(resource, msg("fed.mex.ok", domain=domain, names=joined((names[n] for n in needed), "comma")),
                   observed=observed, evidence=evidence)
