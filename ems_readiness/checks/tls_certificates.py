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
from ems_readiness.engine.texts import joined, msg, render
from ems_readiness.judges.tls import (
    KnownRoots,
    TrustStore,
    UnjudgedCertificate,
    builtin_known_roots,
    clean_text,
    text_of,
    day,
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


def where(target: Any) -> Text:
    """'sts.contoso.com:443', with the federated domain it signs in for when it came from the tenant."""
    origin = getattr(target, "origin", "profile")
    if origin.startswith("federation:"):
        return msg("tls.where.federation", host=resource(target), domain=origin.partition(":")[2])
    return msg("tls.where", host=resource(target))


def new_certificate(target: Any) -> ActionRef:
    """One action for every check that calls for a new certificate on the host (renewed, re-issued
    with the name, from a public CA, with a strong key and signature): one row of the plan."""
    return ActionRef(key="tls.new-certificate", params={"host": resource(target)})


def serve_intermediates(target: Any) -> ActionRef:
    """The host's certificate is fine; the intermediates it sends are missing, expired or weak."""
    return ActionRef(key="tls.serve-intermediates", params={"host": resource(target)})


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
            ctx.errored(resource(target), msg("tls.unexamined", where=where(target), reason=reason(observation)),
                        expected=msg("tls.expected.handshake"), observed="probe-error")
        elif observation.ok:
            reached.append((target, observation))
        else:
            ctx.errored(resource(target), msg("tls.unexamined", where=where(target), reason=observation.describe()),
                        expected=msg("tls.expected.handshake"), observed=observation.status,
                        evidence=observation.all_evidence)
    return reached


def reason(exc: BaseException) -> str:
    if isinstance(exc, UnjudgedCertificate):
        return str(exc)
    return f"{type(exc).__name__}: {clean_text(exc, 500)}"


def verdict_report(verdict: Any, evidence: list[Any]) -> dict[str, Any]:
    """The expected/observed/evidence keywords every TLS finding about a judged chain carries."""
    return {"expected": text_of(verdict, "expected"), "observed": text_of(verdict, "observed"), "evidence": evidence}


@contextmanager
def judging(ctx: Any, place: str, observation: Any) -> Iterator[None]:
    """One host's judgement: whatever its chain makes a judge raise is that host's `error`,
    and every other host keeps its verdict."""
    try:
        yield
    except Exception as exc:  # a hostile certificate must not take the other hosts' verdicts with it
        ctx.errored(
            place,
            msg("tls.unjudged", where=place, reason=reason(exc)),
            expected=msg("tls.expected.readable-chain"),
            observed=observation.describe() if hasattr(observation, "describe") else None,
            evidence=observation.all_evidence,
        )


# ---------------------------------------------------------------------------------------------
# TLS-001: the validity period of every certificate on the path (leaf, intermediates, root)


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
        onboarding does the same mid-project. A certificate whose validity has not started yet, or an
        expired intermediate the server still sends, is refused the same way.
    """,
    fix="""
        Renew the certificate with its certification authority before it expires and install the renewed
        certificate, with its current intermediate certificates, on every server behind the name (for AD FS:
        every federation server and Web Application Proxy).
    """,
)
async def certificate_validity(ctx: Any) -> None:
    warn_days = ctx.profile.tls.warn_days
    store = trust_store(ctx.profile)
    for target, observation in await reached_hosts(ctx):
        with judging(ctx, resource(target), observation):
            verdict = judge_validity(observation.chain, now(), warn_days, store)
            report = verdict_report(verdict, observation.all_evidence)
            report_validity(ctx, target, verdict, warn_days, report)


def report_validity(ctx: Any, target: Any, verdict: Any, warn_days: int, report: dict[str, Any]) -> None:
    place, host = resource(target), resource(target)
    dates = dict(where=where(target), n=verdict.days, who=verdict.subject)
    ca = "" if verdict.on_leaf else ".ca"
    root = verdict.subject.startswith("root ")
    if verdict.state == "valid":
        ctx.passed(place, msg("tls.validity.valid", where=where(target), observed=text_of(verdict, "observed")),
                   **report)
        return
    if verdict.state == "expiring":
        end = day(verdict.not_after)
        ctx.warned(place, msg(f"tls.validity.expiring{ca}", date=end, warn=warn_days, **dates),
                   remediation=msg("tls.fix.renew-before" if verdict.on_leaf else "tls.fix.current-intermediate",
                                   host=host, date=end, who=verdict.subject),
                   action=new_certificate(target) if verdict.on_leaf or root else serve_intermediates(target), **report)
        return
    if verdict.state == "expired":
        message = msg(f"tls.validity.expired{ca}", date=day(verdict.not_after), **dates)
        fix = ("tls.fix.renew-expired" if verdict.on_leaf else "tls.fix.expired-root" if root
               else "tls.fix.current-intermediate")
    else:  # not-yet-valid
        message = msg(f"tls.validity.not-yet-valid{ca}", date=day(verdict.not_before), **dates)
        fix = "tls.fix.not-yet-valid" if verdict.on_leaf else "tls.fix.current-intermediate"
    ctx.failed(place, message, remediation=msg(fix, host=host, date=day(verdict.not_before), who=verdict.subject),
               action=new_certificate(target) if verdict.on_leaf or root else serve_intermediates(target), **report)


# ---------------------------------------------------------------------------------------------
# TLS-002: the name (a leaf without subjectAltName is this check's too)


@check(
    id="TLS-002",
    title="TLS certificate matches the host name",
    area="tls",
    severity="high",
    responsibilities=CERTIFICATE_RESPONSIBILITIES,
    topic="federated-identity",
    why="""
        Clients refuse a certificate whose subjectAltName does not cover the name they connect to, and
        current clients read names only from the subjectAltName, not from the subject CN. For AD FS the
        federation service name must be in the certificate (a wildcard covers one label only).
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
            report = verdict_report(verdict, observation.all_evidence)
            names = dict(where=where(target), name=target.host)
            if verdict.cause == "match":
                ctx.passed(resource(target), msg("tls.name.covers", **names), **report)
            elif verdict.cause == "no-san":
                cn = verdict.names[0] if verdict.names else msg("tls.name.none")
                ctx.failed(resource(target), msg("tls.name.no-san", cn=cn, **names),
                           remediation=msg("tls.fix.add-san", host=resource(target), name=target.host),
                           action=new_certificate(target), **report)
            else:
                shown = joined(verdict.names[:20], "comma") if verdict.names else msg("tls.name.none")
                ctx.failed(resource(target), msg("tls.name.mismatch", names=shown, **names),
                           remediation=msg("tls.fix.name", name=target.host),
                           action=new_certificate(target), **report)


# ---------------------------------------------------------------------------------------------
# TLS-003: the chain as served (time, name and signature strength are other checks' causes)

PATH_CAUSES = {
    # state: (message, remediation, action)
    "self-signed": ("tls.chain.self-signed", "tls.fix.public-ca", new_certificate),
    "untrusted-root": ("tls.chain.untrusted-root", "tls.fix.untrusted-root", new_certificate),
    "incomplete": ("tls.chain.incomplete", "tls.fix.intermediates", serve_intermediates),
    "rejected": ("tls.chain.rejected", None, new_certificate),
}


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
            report = verdict_report(verdict, observation.all_evidence)
            report_chain(ctx, target, verdict, report)


def report_chain(ctx: Any, target: Any, verdict: Any, report: dict[str, Any]) -> None:
    place = resource(target)
    if verdict.ok:
        message = msg("tls.chain.trusted", where=where(target), anchor=verdict.anchor)
        if verdict.deferred:
            causes = joined((msg("tls.chain.owned", cause=cause, check=owner) for owner, cause in verdict.deferred))
            message = msg("tls.chain.trusted-apart", trusted=message, causes=causes)
        ctx.passed(place, message, **report)
    elif verdict.state == "no-trust-store":
        ctx.errored(place, msg("tls.chain.no-trust-store", where=where(target), reason=text_of(verdict, "reason")), **report)
    else:
        message_id, fix, action = PATH_CAUSES[verdict.state]
        ctx.failed(place, msg(message_id, where=where(target), reason=text_of(verdict, "reason")),
                   remediation=msg(fix, host=place) if fix else None, action=action(target), **report)


# ---------------------------------------------------------------------------------------------
# TLS-004: key sizes and signature algorithms


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
            report = verdict_report(verdict, observation.all_evidence)
            report_strength(ctx, target, verdict, report)


def report_strength(ctx: Any, target: Any, verdict: Any, report: dict[str, Any]) -> None:
    place = resource(target)
    if verdict.ok:
        ctx.passed(place, msg("tls.strength.ok", where=where(target)), **report)
        return
    causes, fixes, leaf = [], [], False
    for kind, found in (("weak-key", verdict.weak_keys), ("weak-signature", verdict.weak_signatures)):
        for index, problem in found:
            ca = "" if index == 0 else ".ca"
            leaf = leaf or index == 0
            causes.append(msg(f"tls.strength.{kind}{ca}", problem=problem))
            fixes.append(msg(f"tls.fix.{kind}" if index == 0 else "tls.fix.strong-intermediate",
                             host=place, who=problem.partition(":")[0]))
    distinct = list({render(fix): fix for fix in fixes}.values())
    ctx.failed(place, msg("tls.strength.weak", where=where(target), causes=joined(causes)),
               remediation=msg("tls.fix.each", fixes=joined(distinct, "space")),
               action=new_certificate(target) if leaf else serve_intermediates(target), **report)


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
    place = resource(target)
    report = {
        "expected": msg("tls.versions.expected"),
        "observed": versions_text(accepted),
        "evidence": evidence,
    }
    modern = [v for v in MODERN_VERSIONS if accepted.get(v)]
    legacy = [v for v in LEGACY_VERSIONS if accepted.get(v)]
    untested = [v for v in LEGACY_VERSIONS if accepted.get(v) is None]
    names = dict(where=where(target))
    if not modern:
        if any(accepted.get(v) is None for v in MODERN_VERSIONS):
            ctx.errored(place, msg("tls.versions.unknown", **names), **report)
        else:
            ctx.failed(place, msg("tls.versions.no-modern", **names),
                       action=ActionRef(key="tls.enable-modern", params={"host": place}), **report)
    elif legacy:
        ctx.warned(place, msg("tls.versions.legacy", versions=joined(legacy, "and"), **names),
                   action=ActionRef(key="tls.disable-legacy", params={"host": place}), **report)
    elif untested:
        recorded = getattr(accepted, "evidence", None)
        reasons = recorded.data.get("reasons", {}) if recorded is not None else {}
        why = joined((f"{v}: {reasons[v]}" for v in untested if reasons.get(v))) if any(
            reasons.get(v) for v in untested) else msg("tls.versions.no-reason")
        ctx.errored(place, msg("tls.versions.untested-legacy", modern=joined(modern, "and"), untested=joined(untested, "and"),
                               why=why, **names), **report)
    else:
        ctx.passed(place, msg("tls.versions.ok", modern=joined(modern, "and"), **names), **report)


def versions_text(accepted: dict[str, bool | None]) -> Text:
    words = {True: "accepted", False: "refused", None: "untested"}
    return msg("tls.versions.observed", states=joined(
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
    ctx: Any, place: str, host: str, observation: Any, known: KnownRoots, store: TrustStore, path: Text
) -> None:
    evidence = observation.all_evidence
    if not observation.ok:
        ctx.errored(place, msg("tls.intercept.unreached", where=place, path=path, reason=observation.describe()),
                    expected=msg("tls.expected.handshake"), observed=observation.status, evidence=evidence)
        return
    verdict = judge_interception(observation.chain, host, known, store)
    report = verdict_report(verdict, evidence)
    names = dict(where=place, path=path)
    if verdict.state == "clean":
        ctx.passed(place, msg("tls.intercept.clean", anchor=verdict.anchor, **names), **report)
    elif verdict.state == "unconfirmed":
        ctx.warned(place, msg("tls.intercept.unconfirmed", reason=text_of(verdict, "reason"), **names), **report)
    else:
        ctx.failed(place, msg("tls.intercept.intercepted", reason=text_of(verdict, "reason"), **names),
                   action=ActionRef(key="tls.exempt-inspection", params={"issuer": verdict.anchor or verdict.leaf_issuer}), **report)
