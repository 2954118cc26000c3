"""Domains: verification and authentication type (managed or federated)."""

from __future__ import annotations

from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.inventory import is_initial_domain
from ems_readiness.probes.graph import GraphError

from ems_readiness.checks._tenant import Unreadable, label, require

DOMAIN_FIELDS = ["id", "authenticationType", "isVerified", "isDefault", "isInitial", "isRoot", "supportedServices"]
AUTH_TYPES = ("Managed", "Federated")  # documented values (shared/reference/graph.md §1.2)


async def tenant_domain_objects(ctx) -> tuple[list[Any], Any]:
    """Every domain object as Graph sent it (the inventory's list leaves out those without an id)."""
    return await ctx.graph.get("domains", select=DOMAIN_FIELDS)


def in_name_order(domains: list[Any]) -> list[tuple[int, Any]]:
    return sorted(enumerate(domains), key=lambda pair: label(pair[1], "id").lower())


def domain_name(domain: Any, index: int) -> str:
    """The domain's name; Unreadable (with the resource `domains[index]`) when Graph did not send it."""
    return require(domain, "id", str, read="domains[]", of=f"domain #{index + 1}")


def record_line(domain: str, record: Any) -> str | None:
    """The record as a zone-file line, or None when Graph did not describe it fully."""
    read, of = f"domains/{domain}/verificationDnsRecords[]", None
    try:
        ttl = require(record, "ttl", int, read=read, of=of)
        kind = require(record, "recordType", str, read=read, of=of).upper()
        if kind == "TXT":
            return f'{domain}. {ttl} IN TXT "{require(record, "text", str, read=read, of=of)}"'
        if kind == "MX":
            return (f"{domain}. {ttl} IN MX {require(record, 'preference', int, read=read, of=of)}"
                    f" {require(record, 'mailExchange', str, read=read, of=of)}.")
    except Unreadable:
        return None
    return f"{domain}. {ttl} IN {kind} (see Microsoft 365 admin center)"


@check(
    id="DOM-001",
    title="Every custom domain is verified",
    area="domains",
    severity="high",
    owner="dns-admin",  # the verification record is published at the DNS host first
    responsibilities=["enable.directory-sync", "enable.user-provisioning", "assess.remediation-checklist"],
    topic="directory-sync-readiness",
    application=["Domain.Read.All"],
    delegated=["Domain.Read.All"],
    why="""
        Users can only get UPNs, and devices can only enroll with addresses, on verified domains.
        An unverified domain also cannot be federated and its synced users fall back to onmicrosoft.com.
    """,
    fix="""
        Publish the verification record shown (TXT, or MX if TXT is not possible) at the domain's DNS
        host, wait for propagation, then select Verify in the Microsoft 365 admin center (Settings > Domains).
    """,
)
async def domains_verified(ctx) -> None:
    domains, evidence = await tenant_domain_objects(ctx)
    for index, domain in in_name_order(domains):
        try:
            name = domain_name(domain, index)
        except Unreadable as exc:
            ctx.errored(f"domains[{index}]", str(exc), evidence=[evidence])
            continue
        try:
            verified = require(domain, "isVerified", bool, read="domains[]", of=name)
        except Unreadable as exc:
            ctx.errored(name, str(exc), expected="isVerified = true", evidence=[evidence])
            continue
        if verified:
            ctx.passed(name, f"{name} is verified", expected="isVerified = true", observed="isVerified = true",
                       evidence=[evidence])
        else:
            await unverified_domain(ctx, name, evidence)


async def unverified_domain(ctx, name: str, evidence) -> None:
    try:
        records, record_evidence = await ctx.graph.get("domain_verification_records", ids={"id": name})
    except GraphError as exc:
        ctx.failed(name, f"{name} is not verified (its verification record could not be read: {exc})",
                   expected="isVerified = true", observed="isVerified = false", evidence=[evidence])
        return
    lines = [line for line in (record_line(name, r) for r in records) if line]
    txt = [line for line in lines if " TXT " in line]
    expected = (txt or lines or ["the verification record from the admin center"])[0]
    ctx.failed(
        name, f"{name} is not verified: publish the verification record, then verify the domain",
        expected=expected, observed="isVerified = false",
        remediation=f"Publish at the DNS host of {name}: {expected}"
                    + (f" (or instead: {'; '.join(l for l in lines if l != expected)})" if len(lines) > 1 else "")
                    + ", then select Verify in the Microsoft 365 admin center (Settings > Domains).",
        evidence=[evidence, record_evidence],
    )


@check(
    id="DOM-002",
    title="Authentication type of each domain and its federation sign-in host",
    area="domains",
    severity="medium",
    responsibilities=["assess.remediation-checklist", "assess.user-provisioning-outline", "enable.user-provisioning"],
    topic="federated-identity",
    application=["Domain.Read.All"],
    delegated=["Domain.Read.All"],
    why="""
        Federated domains send every sign-in (and every device registration) to the customer's
        federation service: its host must be reachable and present a valid public certificate. The
        identity model agreed in the assess phase says which domains should be federated.
    """,
    fix="""
        Align each domain with the identity model: convert to managed (Update-MgDomain -AuthenticationType
        Managed after enabling password hash sync or PTA) or configure federation (New-MgDomainFederationConfiguration).
        Make sure every federated domain has its sign-in URI set.
    """,
)
async def domain_authentication(ctx) -> None:
    domains, evidence = await tenant_domain_objects(ctx)
    federated_plan = ctx.profile.identity.model == "federated"
    hosts = await ctx.inventory.federation_hosts_by_domain()
    any_federated = False
    untold = []  # domains Graph did not say enough about: one of them may be the federated one
    for index, domain in in_name_order(domains):
        try:
            name = domain_name(domain, index)
        except Unreadable as exc:
            ctx.errored(f"domains[{index}]", str(exc), evidence=[evidence])
            untold.append(f"domains[{index}]")
            continue
        if is_initial_domain(name):
            continue
        try:
            auth = require(domain, "authenticationType", str, read="domains[]", of=name, known=AUTH_TYPES)
        except Unreadable as exc:
            ctx.errored(name, str(exc), expected="Managed or Federated", evidence=[evidence])
            untold.append(name)
            continue
        if auth == "Managed":
            ctx.passed(name, f"{name} is managed (cloud authentication)", observed="authenticationType = Managed",
                       evidence=[evidence])
        else:
            any_federated = True
            await federated_domain(ctx, name, hosts.get(name, []), evidence, federated_plan)
    if federated_plan and not any_federated and untold:
        ctx.errored("federation", "Cannot tell whether any custom domain is federated: Graph did not say how "
                    f"{', '.join(untold)} authenticate", expected="at least one federated domain", evidence=[evidence])
    elif federated_plan and not any_federated:
        ctx.failed("federation", "The identity model is federated but no custom domain is federated",
                   expected="at least one federated domain", observed="all custom domains managed", evidence=[evidence])


async def federated_domain(ctx, name: str, hosts, evidence, federated_plan: bool) -> None:
    try:
        config, config_evidence = await ctx.graph.get("domain_federation", ids={"id": name})
    except GraphError as exc:
        ctx.errored(name, f"{name} is federated but its federation configuration could not be read: {exc}",
                    evidence=[evidence])
        return
    where = ", ".join(f"{h.host}:{h.port}" for h in hosts)
    observed = "authenticationType = Federated" + (f", sign-in host {where}" if hosts else "")
    untold = []
    for entry in config:
        try:
            require(entry, "passiveSignInUri", str, read=f"domains/{name}/federationConfiguration[]")
        except Unreadable as exc:
            untold.append(str(exc))
    if untold:
        ctx.errored(name, f"{name} is federated but Graph did not say where it signs in: {'; '.join(untold)}",
                    expected="passiveSignInUri https://…", observed=observed, evidence=[evidence, config_evidence])
    elif not hosts:
        ctx.failed(name, f"{name} is federated but has no https sign-in URI", expected="passiveSignInUri https://…",
                   observed=observed, evidence=[evidence, config_evidence])
    elif federated_plan:
        ctx.passed(name, f"{name} is federated; its sign-in host {where} is examined by the TLS checks",
                   observed=observed, evidence=[evidence, config_evidence])
    else:
        ctx.warned(name, f"{name} is federated although the identity model is {ctx.profile.identity.model}",
                   expected="authenticationType = Managed", observed=observed, evidence=[evidence, config_evidence])
