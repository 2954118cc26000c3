"""Domains: verification and authentication type (managed or federated)."""

from __future__ import annotations

from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.inventory import is_initial_domain
from ems_readiness.engine.model import ActionRef
from ems_readiness.engine.texts import joined, msg
from ems_readiness.probes.graph import GraphError

from ems_readiness.checks._actions import verify_domain
from ems_readiness.checks._tenant import (
    Unreadable, error_text, graph_error_action, graph_unreadable, label, require,
)

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
    return f"{domain}. {ttl} IN {kind} (see Microsoft 365 admin center)"  # a zone line: stays as it is


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
            ctx.errored(f"domains[{index}]", error_text(exc), evidence=[evidence], action=graph_unreadable("domains"))
            continue
        try:
            verified = require(domain, "isVerified", bool, read="domains[]", of=name)
        except Unreadable as exc:
            ctx.errored(name, error_text(exc), expected="isVerified = true", evidence=[evidence],
                        action=graph_unreadable("domains"))
            continue
        if verified:
            ctx.passed(name, msg("dom.verified", name=name), expected="isVerified = true", observed="isVerified = true",
                       evidence=[evidence])
        else:
            await unverified_domain(ctx, name, evidence)


async def unverified_domain(ctx, name: str, evidence) -> None:
    try:
        records, record_evidence = await ctx.graph.get("domain_verification_records", ids={"id": name})
    except GraphError as exc:
        ctx.failed(name, msg("dom.unverified.unreadable", name=name, error=str(exc)),
                   expected="isVerified = true", observed="isVerified = false", evidence=[evidence],
                   action=verify_domain(name))
        return
    lines = [line for line in (record_line(name, r) for r in records) if line]
    txt = [line for line in lines if " TXT " in line]
    expected = (txt or lines or [msg("dom.unverified.record")])[0]
    others = "; ".join(line for line in lines if line != expected)
    ctx.failed(
        name, msg("dom.unverified", name=name),
        expected=expected, observed="isVerified = false",
        remediation=msg("dom.unverified.fix.or" if len(lines) > 1 else "dom.unverified.fix", name=name,
                        record=expected, **({"others": others} if len(lines) > 1 else {})),
        evidence=[evidence, record_evidence],
        action=verify_domain(name),
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
            ctx.errored(f"domains[{index}]", error_text(exc), evidence=[evidence], action=graph_unreadable("domains"))
            untold.append(f"domains[{index}]")
            continue
        if is_initial_domain(name):
            continue
        try:
            auth = require(domain, "authenticationType", str, read="domains[]", of=name, known=AUTH_TYPES)
        except Unreadable as exc:
            ctx.errored(name, error_text(exc), expected=msg("dom.auth.expected"), evidence=[evidence],
                        action=graph_unreadable("domains"))
            untold.append(name)
            continue
        if auth == "Managed":
            ctx.passed(name, msg("dom.auth.managed", name=name), observed="authenticationType = Managed",
                       evidence=[evidence])
        else:
            any_federated = True
            await federated_domain(ctx, name, hosts.get(name, []), evidence, federated_plan)
    if federated_plan and not any_federated and untold:
        ctx.errored("federation", msg("dom.fed.untold", domains=", ".join(untold)),
                    expected=msg("dom.fed.expected"), evidence=[evidence], action=graph_unreadable("domains"))
    elif federated_plan and not any_federated:
        ctx.failed("federation", msg("dom.fed.none"), expected=msg("dom.fed.expected"),
                   observed=msg("dom.fed.all-managed"), evidence=[evidence],
                   action=ActionRef(key="domain.align-authentication", params={"model": "federated"}))


async def federated_domain(ctx, name: str, hosts, evidence, federated_plan: bool) -> None:
    try:
        config, config_evidence = await ctx.graph.get("domain_federation", ids={"id": name})
    except GraphError as exc:
        ctx.errored(name, msg("dom.fed.config-unreadable", name=name, error=str(exc)), evidence=[evidence],
                    action=graph_error_action(exc, "domains/{id}/federationConfiguration"))
        return
    where = ", ".join(f"{h.host}:{h.port}" for h in hosts)
    observed = msg("dom.fed.observed.host", where=where) if hosts else "authenticationType = Federated"
    untold = []
    for entry in config:
        try:
            require(entry, "passiveSignInUri", str, read=f"domains/{name}/federationConfiguration[]")
        except Unreadable as exc:
            untold.append(exc.text)
    if untold:
        ctx.errored(name, msg("dom.fed.no-sign-in-told", name=name, problems=joined(untold)),
                    expected="passiveSignInUri https://…", observed=observed, evidence=[evidence, config_evidence],
                    action=graph_unreadable("domains/{id}/federationConfiguration"))
    elif not hosts:
        ctx.failed(name, msg("dom.fed.no-uri", name=name), expected="passiveSignInUri https://…",
                   observed=observed, evidence=[evidence, config_evidence],
                   action=ActionRef(key="domain.set-sign-in-uri", params={"domain": name}))
    elif federated_plan:
        ctx.passed(name, msg("dom.fed.ok", name=name, where=where), observed=observed,
                   evidence=[evidence, config_evidence])
    else:
        ctx.warned(name, msg("dom.fed.unplanned", name=name, model=ctx.profile.identity.model),
                   expected="authenticationType = Managed", observed=observed, evidence=[evidence, config_evidence],
                   action=ActionRef(key="domain.align-authentication", params={"model": ctx.profile.identity.model}))
