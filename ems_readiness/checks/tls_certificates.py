"""TLS: the public certificates of the customer's own hosts (TLS-001..005) and interception on
the path to Microsoft's endpoints (TLS-006).

The hosts come from the inventory: the profile's `tls.hosts` plus the sign-in hosts of federated
domains. One handshake per host serves TLS-001..004; a host that could not be reached is an
`error` finding with the reason, never a pass or a fail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import contextmanager
from typing import Any, Iterator

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import joined, msg
from ems_readiness.judges.tls import (
    KnownRoots,
    TrustStore,
    UnjudgedCertificate,
    builtin_known_roots,
    clean_text,
    judge_interception,
    judge_name,
    judge_path,
    judge_strength,
    judge_validity,
    load_trust_store,
    public_ca_store,
)

CERTIFICATE_RESPONSIBILITIES = ["general.public-ssl-certificates", "assess.remediation-checklist"]
MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
LEGACY_VERSIONS = ("TLSv1", "TLSv1.1")
PLAIN_HTTP_PORT = 80


# ---------------------------------------------------------------------------------------------
# shared


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def resource(target: Any) -> str:
    return f"{target.host}:{target.port}"


def origin_text(target: Any) -> Text | str:
    origin = getattr(target, "origin", "profile")
    if origin.startswith("federation:"):
        return msg("tls.origin.federation", domain=origin.partition(":")[2])
    return ""


def where_text(target: Any) -> Text:
    """'sts.contoso.com:443 (sign-in host of the federated domain contoso.com)'."""
    return msg("tls.where", resource=resource(target), origin=origin_text(target))


def renew(target: Any) -> ActionRef:
    """TLS-001 (expired or expiring) and TLS-003 (a chain rejected for an expired certificate): one
    certificate to renew on one host, whichever check saw it."""
    return ActionRef(key="tls.renew-certificate", params={"host": resource(target)})


def unexamined(observation: Any) -> ActionRef:
    """Why a host could not be examined, as its action: a resolver that does not answer is shared
    with every other check it stopped."""
    dns = getattr(observation, "dns_evidence", None)
    if dns is not None and dns.outcome != "ok" and dns.data.get("resolver"):
        return ActionRef(key="dns.resolver-unanswered",
                         params={"resolver": f"{dns.data.get('resolver')} ({dns.data.get('address')})"})
    return ActionRef(key="tls.handshake-failed", params={"status": str(getattr(observation, "status", "error"))})


def trust_store(profile: Any) -> TrustStore:
    trust = profile.tls.trust
    return load_trust_store(trust if trust == "system" else profile.path(trust))


def known_roots(profile: Any) -> KnownRoots:
    known = builtin_known_roots()
    if not profile.tls.service_roots:
        return known
    return known.with_service_roots(load_trust_store(profile.path(profile.tls.service_roots)).certs)


async def reached_hosts(ctx: Any) -> list[tuple[Any, Any]]:
    """(target, observation) for every TLS host that completed a handshake; the rest become
    `error` findings, and no hosts at all a `skip`."""
    targets = await ctx.inventory.tls_hosts()
    if not targets:
        ctx.skipped("tls.hosts", msg("tls.no-hosts"))
        return []
    observations = await asyncio.gather(*(ctx.tls.handshake(t.host, t.port) for t in targets), return_exceptions=True)
    reached = []
    for target, observation in zip(targets, observations, strict=True):
        if isinstance(observation, Exception):
            ctx.errored(
                resource(target),
                msg("tls.unexamined", where=where_text(target), reason=reason(observation)),
                expected=msg("tls.handshake.expected"),
                observed="probe-error",
                action=ActionRef(key="tls.handshake-failed", params={"status": "probe-error"}),
            )
        elif observation.ok:
            reached.append((target, observation))
        else:
            ctx.errored(
                resource(target),
                msg("tls.unexamined", where=where_text(target), reason=observation.describe()),
                expected=msg("tls.handshake.expected"),
                observed=observation.status,
                evidence=observation.all_evidence,
                action=unexamined(observation),
            )
    return reached


def reason(exc: BaseException) -> str:
    if isinstance(exc, UnjudgedCertificate):
        return str(exc)
    return f"{type(exc).__name__}: {clean_text(exc, 500)}"


@contextmanager
def judging(ctx: Any, where: str, observation: Any) -> Iterator[None]:
    """One host's judgement: whatever its chain makes a judge raise is that host's `error`,
    and every other host keeps its verdict."""
    try:
        yield
    except Exception as exc:  # a hostile certificate must not take the other hosts' verdicts with it
        ctx.errored(
            where,
            msg("tls.unjudged", where=where, reason=reason(exc)),
            expected=msg("tls.unjudged.expected"),
            observed=observation.describe() if hasattr(observation, "describe") else None,
            evidence=observation.all_evidence,
            action=ActionRef(key="tls.unreadable-chain", params={"host": where}),
        )


# ---------------------------------------------------------------------------------------------
# TLS-001


@check(
    id="TLS-001",
    title="TLS certificate valid and not about to expire",
    area="tls",
    severity="high",
    responsibilities=CERTIFICATE_RESPONSIBILITIES,
    topic="federated-identity",
    why="""
        An expired certificate on the federation sign-in host (AD FS / Web Application Proxy) or another
        public host stops every client that signs in or connects through it; one that expires during
        onboarding does the same mid-project.
    """,
    fix="""
        Renew the certificate with its certification authority before it expires and install the renewed
        certificate, with its intermediate certificates, on every server behind the name (for AD FS: every
        federation server and Web Application Proxy).
    """,
)
async def certificate_validity(ctx: Any) -> None:
    warn_days = ctx.profile.tls.warn_days
    store = trust_store(ctx.profile)
    for target, observation in await reached_hosts(ctx):
        with judging(ctx, resource(target), observation):
            verdict = judge_validity(observation.chain, now(), warn_days, store)
            where = where_text(target)
            report = {"expected": verdict.expected_text, "observed": verdict.observed_text,
                      "evidence": observation.all_evidence}
            if verdict.state == "valid":
                ctx.passed(resource(target), msg("tls.validity.ok", where=where, observed=verdict.observed_text),
                           **report)
            elif verdict.state == "expiring":
                ctx.warned(
                    resource(target),
                    msg("tls.validity.soon", where=where, days=warn_days, observed=verdict.observed_text),
                    action=renew(target),
                    **report,
                )
            else:
                ctx.failed(resource(target), msg("tls.validity.invalid", where=where, observed=verdict.observed_text),
                           action=renew(target), **report)


# ---------------------------------------------------------------------------------------------
# TLS-002


@check(
    id="TLS-002",
    title="TLS certificate matches the host name",
    area="tls",
    severity="high",
    responsibilities=CERTIFICATE_RESPONSIBILITIES,
    topic="federated-identity",
    why="""
        Clients refuse a certificate whose subjectAltName does not cover the name they connect to. For AD FS
        the federation service name must be in the certificate (a wildcard covers one label only).
    """,
    fix="""
        Issue the certificate with the host name in its subjectAltName (dNSName), or a wildcard for its parent
        domain, and bind it to the site that answers for that name (check SNI bindings on shared addresses).
    """,
)
async def certificate_name(ctx: Any) -> None:
    for target, observation in await reached_hosts(ctx):
        with judging(ctx, resource(target), observation):
            verdict = judge_name(observation.leaf, target.host)
            where = where_text(target)
            report = {"expected": verdict.expected_text, "observed": verdict.observed_text,
                      "evidence": observation.all_evidence}
            name_action = ActionRef(key="tls.certificate-name", params={"host": resource(target)})
            if verdict.via == "san":
                ctx.passed(resource(target), msg("tls.name.ok", where=where, host=target.host), **report)
            elif verdict.via == "subject-cn":
                ctx.warned(resource(target), msg("tls.name.cn-only", where=where, host=target.host),
                           action=name_action, **report)
            else:
                names = ", ".join(verdict.names) or msg("tls.name.nothing")
                ctx.failed(resource(target), msg("tls.name.wrong", where=where, host=target.host, names=names),
                           action=name_action, **report)


# ---------------------------------------------------------------------------------------------
# TLS-003

PATH_REMEDIATION = {state: msg(f"tls.path.fix.{state}")
                    for state in ("incomplete", "untrusted-root", "self-signed", "expired")}
PATH_ACTIONS = {"incomplete": "tls.send-intermediates", "untrusted-root": "tls.public-certificate",
                "self-signed": "tls.public-certificate"}


@check(
    id="TLS-003",
    title="Served chain complete and trusted",
    area="tls",
    severity="high",
    responsibilities=CERTIFICATE_RESPONSIBILITIES,
    topic="federated-identity",
    why="""
        Devices, mail clients and Microsoft's services validate the chain the server sends against public
        roots. A missing intermediate, a private or self-signed root breaks sign-in and enrollment for every
        client that cannot repair the chain itself.
    """,
    fix="""
        Use a certificate from a publicly trusted certification authority and configure the server to send
        the leaf followed by its intermediate certificate(s).
    """,
)
async def certificate_chain(ctx: Any) -> None:
    store = trust_store(ctx.profile)
    for target, observation in await reached_hosts(ctx):
        with judging(ctx, resource(target), observation):
            verdict = judge_path(observation.chain, target.host, store, now())
            where = where_text(target)
            report = {"expected": verdict.expected_text, "observed": verdict.observed_text,
                      "evidence": observation.all_evidence}
            if verdict.ok:
                ctx.passed(resource(target), msg("tls.chain.ok", where=where, anchor=verdict.anchor), **report)
            elif verdict.state == "no-trust-store":
                ctx.errored(resource(target), msg("tls.chain.unvalidated", where=where, reason=verdict.reason_text),
                            action=ActionRef(key="tls.trust-store", params={}), **report)
            else:
                action = renew(target) if verdict.state == "expired" else ActionRef(
                    key=PATH_ACTIONS.get(verdict.state, "tls.fix-chain"), params={"host": resource(target)})
                ctx.failed(
                    resource(target),
                    msg("tls.chain.invalid", where=where, reason=verdict.reason_text),
                    remediation=PATH_REMEDIATION.get(verdict.state),
                    action=action,
                    **report,
                )


# ---------------------------------------------------------------------------------------------
# TLS-004


@check(
    id="TLS-004",
    title="Key and signature strength",
    area="tls",
    severity="medium",
    responsibilities=CERTIFICATE_RESPONSIBILITIES,
    topic="federated-identity",
    why="""
        Clients and public CAs reject RSA keys below 2048 bits, elliptic curves below 256 bits and MD5/SHA-1
        signatures (CA/Browser Forum Baseline Requirements); such a certificate fails now or at the next
        client update.
    """,
    fix="""
        Re-issue the certificate with an RSA 2048-bit (or larger) or ECDSA P-256/P-384 key, signed with SHA-256
        or stronger, and replace intermediates that are signed with SHA-1.
    """,
)
async def certificate_strength(ctx: Any) -> None:
    for target, observation in await reached_hosts(ctx):
        with judging(ctx, resource(target), observation):
            verdict = judge_strength(observation.chain)
            where = where_text(target)
            report = {"expected": verdict.expected_text, "observed": verdict.observed_text,
                      "evidence": observation.all_evidence}
            if verdict.ok:
                ctx.passed(resource(target), msg("tls.strength.ok", where=where), **report)
            else:
                ctx.failed(
                    resource(target),
                    msg("tls.strength.weak", where=where, problems=joined(verdict.problem_texts)),
                    action=ActionRef(key="tls.stronger-certificate", params={"host": resource(target)}),
                    **report,
                )


# ---------------------------------------------------------------------------------------------
# TLS-005


@check(
    id="TLS-005",
    title="TLS 1.2 or newer offered; TLS 1.0/1.1 reported",
    area="tls",
    severity="medium",
    responsibilities=CERTIFICATE_RESPONSIBILITIES,
    topic="network-security",
    why="""
        Microsoft's services and current clients require TLS 1.2 or newer; Microsoft Entra ID has retired
        TLS 1.0 and 1.1. A host that still accepts them offers downgrade paths to weak ciphers.
    """,
    fix="""
        Enable TLS 1.2 (and 1.3 where the server supports it) and disable TLS 1.0 and 1.1 on the server
        (on Windows: the SCHANNEL protocol settings, then restart).
    """,
)
async def protocol_versions(ctx: Any) -> None:
    reached = await reached_hosts(ctx)
    answers = await asyncio.gather(*(ctx.tls.versions(target.host, target.port) for target, _ in reached))
    for (target, observation), accepted in zip(reached, answers, strict=True):
        evidence = [*observation.all_evidence, getattr(accepted, "evidence", None)]
        report_versions(ctx, target, accepted, evidence)


def report_versions(ctx: Any, target: Any, accepted: dict[str, bool | None], evidence: list) -> None:
    where = where_text(target)
    report = {
        "expected": msg("tls.versions.expected"),
        "observed": versions_text(accepted),
        "evidence": evidence,
    }
    modern = [v for v in MODERN_VERSIONS if accepted.get(v)]
    legacy = [v for v in LEGACY_VERSIONS if accepted.get(v)]
    untested = [v for v in LEGACY_VERSIONS if accepted.get(v) is None]
    both = {"modern": joined(modern, "and"), "legacy": joined(legacy, "and"), "untested": joined(untested, "and")}
    if not modern:
        if any(accepted.get(v) is None for v in MODERN_VERSIONS):
            ctx.errored(resource(target), msg("tls.versions.unknown", where=where),
                        action=ActionRef(key="tls.handshake-failed", params={"status": "versions"}), **report)
        else:
            ctx.failed(resource(target), msg("tls.versions.none", where=where),
                       action=ActionRef(key="tls.enable-modern", params={"host": resource(target)}), **report)
    elif legacy:
        ctx.warned(resource(target), msg("tls.versions.legacy", where=where, **both),
                   action=ActionRef(key="tls.disable-legacy", params={"host": resource(target)}), **report)
    elif untested:
        recorded = getattr(accepted, "evidence", None)
        reasons = recorded.data.get("reasons", {}) if recorded is not None else {}
        said = [msg("tls.versions.reason", version=v, reason=reasons[v]) for v in untested if reasons.get(v)]
        why = joined(said) if said else msg("tls.versions.no-reason")
        ctx.errored(resource(target), msg("tls.versions.untested", where=where, why=why, **both),
                    action=ActionRef(key="tls.handshake-failed", params={"status": "versions"}), **report)
    else:
        ctx.passed(resource(target), msg("tls.versions.ok", where=where, **both), **report)


def versions_text(accepted: dict[str, bool | None]) -> Text:
    words = {True: "accepted", False: "refused", None: "not-tested"}
    return msg("text.joined", items=joined(
        (msg(f"tls.versions.{words[value]}", version=version) for version, value in accepted.items()), "comma"))


# ---------------------------------------------------------------------------------------------
# TLS-006


@check(
    id="TLS-006",
    title="No TLS interception on the path to Microsoft endpoints",
    area="tls",
    severity="high",
    owner="network",  # the inspecting proxy or firewall is the network team's
    responsibilities=["assess.remediation-checklist", "enable.security-infrastructure"],
    topic="network-security",
    why="""
        Microsoft does not support TLS inspection of Intune, Entra ID (including Entra Connect and
        pass-through authentication agents) and Rights Management traffic: enrollment, device check-in and
        sign-in fail, and the RMS client pins Microsoft's CAs. The chain a device sees must be Microsoft's own.
    """,
    fix="""
        Exempt the Microsoft endpoints from TLS inspection (decryption bypass by host name) on the proxy or
        firewall that re-signs the traffic, then re-run the scan from the same network.
    """,
)
async def no_interception(ctx: Any) -> None:
    endpoints = await ctx.inventory.tls_endpoints()
    # once per host:port, however many services list it (as plan_targets does for NET-001)
    targets = list(dict.fromkeys((e.host.lower(), port) for e in endpoints for port in tls_ports(e.ports)))
    if not targets:
        ctx.skipped("network.services", msg("tls.intercept.no-endpoints"))
        return
    via_proxy = bool(ctx.profile.network.proxy)
    known, store = known_roots(ctx.profile), trust_store(ctx.profile)
    observations = await asyncio.gather(*(ctx.tls.handshake(h, p, via_proxy=via_proxy) for h, p in targets))
    path = msg("tls.intercept.via-proxy" if via_proxy else "tls.intercept.direct")
    for (host, port), observation in zip(targets, observations, strict=True):
        anchors = known if known.operates(host) else known.for_third_party(public_ca_store())
        with judging(ctx, f"{host}:{port}", observation):
            report_interception(ctx, f"{host}:{port}", host, observation, anchors, store, path)


def tls_ports(ports: list[int]) -> list[int]:
    """Every listed port but plain HTTP; an endpoint listing only 80 is still asked on 443."""
    return [p for p in ports if p != PLAIN_HTTP_PORT] or [443]


def report_interception(
    ctx: Any, where: str, host: str, observation: Any, known: KnownRoots, store: TrustStore, path: Text
) -> None:
    evidence = observation.all_evidence
    if not observation.ok:
        ctx.errored(
            where,
            msg("tls.intercept.unchecked", where=where, path=path, reason=observation.describe()),
            expected=msg("tls.handshake.expected"),
            observed=observation.status,
            evidence=evidence,
            action=unexamined(observation),
        )
        return
    verdict = judge_interception(observation.chain, host, known, store)
    report = {"expected": verdict.expected_text, "observed": verdict.observed_text, "evidence": evidence}
    # one change on the inspecting device: every endpoint it re-signs is an item of the same action
    exempt = ActionRef(key="tls.exempt-inspection", params={})
    if verdict.state == "clean":
        ctx.passed(where, msg("tls.intercept.ok", where=where, path=path, anchor=verdict.anchor), **report)
    elif verdict.state == "unconfirmed":
        ctx.warned(where, msg("tls.intercept.unconfirmed", where=where, path=path, reason=verdict.reason_text),
                   action=exempt, **report)
    else:
        ctx.failed(where, msg("tls.intercept.found", where=where, path=path, reason=verdict.reason_text),
                   action=exempt, **report)
