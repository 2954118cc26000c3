"""The scan: set up the probes, run every selected check concurrently, assemble the results."""

from __future__ import annotations

import asyncio
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from ems_readiness import __version__
from ems_readiness.engine.auth import TokenClaims
from ems_readiness.engine.catalogues import owner_roles
from ems_readiness.engine.check import Check, bound_text, rollup
from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.inventory import Inventory
from ems_readiness.engine.model import (
    UNKNOWN_EGRESS, ActionRef, CheckResult, Finding, Results, Status, Text, ToolInfo, Vantage,
)
from ems_readiness.engine.texts import joined, map_params, msg, render
from ems_readiness.engine.sites import stamp_site
from ems_readiness.probes.base import EvidenceLog, ProbeError, Stopwatch
from ems_readiness.probes.proxy import redact_proxy_url
from ems_readiness.engine.profile import Profile
from ems_readiness.engine.rollup import responsibility_results, totals
from ems_readiness.engine.tenant_connection import TenantConnection, connect_tenant, profile_proxy

CHECK_TIME_LIMIT = 900.0


class ScanAbort(Exception):
    """The directory could not be bound when it was the only thing asked (exit 3); the message is safe
    to print. (A tenant that cannot be read does not end the scan: see Results.tenant_unread.)"""


@dataclass
class ScanOptions:
    tenant_side: bool = True
    network_side: bool = True
    mode: str = "live"
    scenario: str | None = None
    on_check_done: Callable[[CheckResult, int, int], None] | None = None
    on_start: Callable[[int], None] | None = None
    on_status: Callable[[str], None] | None = None  # one line for the terminal, e.g. "signing in to …"
    credential: Any = None  # a ready credential (tests, demo); else built from the profile


class SelectionError(ValueError):
    """--only/--skip names no check id or area (the message says the closest one)."""


def select_checks(checks: list[Check], only: list[str], skip: list[str]) -> list[Check]:
    def matches(c: Check, token: str) -> bool:
        return token.upper() == c.id or token.lower() == c.area

    names = {c.id for c in checks} | {c.area for c in checks}
    for flag, tokens in (("--only", only), ("--skip", skip)):
        for token in tokens:
            if not any(matches(c, token) for c in checks):
                from ems_readiness.engine.profile import did_you_mean

                hint = did_you_mean(token, names) if len(token) < 100 else ""
                raise SelectionError(f"{flag} {token!r}: no check id or area of that name{f' ({hint})' if hint else ''}")
    chosen = [c for c in checks if not only or any(matches(c, t) for t in only)]
    return [c for c in chosen if not any(matches(c, t) for t in skip)]


async def open_directory(profile: Profile, evidence: EvidenceLog, options: ScanOptions):
    """The directory source, or None. When the directory is all this scan asks for, a failed bind is exit 3;
    otherwise the directory checks report it as `error` and the rest of the scan runs."""
    from ems_readiness.probes.directory import open_directory_source

    directory = open_directory_source(profile, evidence)
    connect = getattr(directory, "connect", None)
    if connect is not None and not options.tenant_side and not options.network_side:
        try:
            await connect()
        except ProbeError as exc:
            await directory.close()  # type: ignore[union-attr]
            raise ScanAbort(f"the directory could not be read: {exc}") from None
    return directory


def build_network_probes(profile: Profile, evidence: EvidenceLog):
    from ems_readiness.probes.dns import DnsProbe
    from ems_readiness.probes.tcp import TcpProbe
    from ems_readiness.probes.tls import TlsProbe

    dns = DnsProbe(profile.dns.resolvers, evidence, timeout=profile.dns.timeout_seconds,
                   concurrency=profile.network.concurrency)
    trust = profile.tls.trust if profile.tls.trust == "system" else profile.path(profile.tls.trust)
    tcp = TcpProbe(dns, evidence, timeout=profile.network.timeout_seconds,
                   concurrency=profile.network.concurrency, proxy=profile.network.proxy, trust=trust)
    tls = TlsProbe(dns, evidence, timeout=profile.network.timeout_seconds,
                   concurrency=profile.network.concurrency, proxy=profile.network.proxy)
    return dns, tcp, tls


def https_fetcher(profile: Profile, dns, evidence: EvidenceLog):
    """Documents the federation checks read from the customer's hosts, the way the scan sees the network."""
    if dns is None:
        return None
    from ems_readiness.probes.https_fetch import HttpsFetcher

    trust = profile.tls.trust if profile.tls.trust == "system" else profile.path(profile.tls.trust)
    return HttpsFetcher(dns, evidence, timeout=profile.network.timeout_seconds, proxy=profile.network.proxy, trust=trust)


def precheck(check: Check, options: ScanOptions, graph, claims: TokenClaims | None,
             directory=None) -> tuple[Status, Text] | None:
    """A reason not to run the check at all, decided before any request."""
    if check.side == "directory":
        if directory is None:
            return Status.SKIP, msg("runner.skip.no-directory")
        return None
    if check.side == "tenant" and not options.tenant_side:
        return Status.SKIP, msg("runner.skip.no-tenant")
    if check.side == "network" and not options.network_side:
        return Status.SKIP, msg("runner.skip.no-network")
    if graph is None or claims is None:
        return None
    if check.delegated_only and claims.kind == "application":
        return Status.SKIP, msg("runner.skip.delegated-only", permissions=joined(check.permissions.delegated, "comma"))
    missing = graph.missing_permissions(check.permissions.application, check.permissions.delegated)
    if missing:
        kind = "delegated" if claims.kind == "delegated" else "application"
        return Status.ERROR, msg(f"runner.missing-permission.{kind}", permissions=joined(missing, "comma"))
    return None


async def run_check(check: Check, ctx: CheckContext) -> CheckResult:
    from ems_readiness.probes.graph import GraphAuthError, GraphNotSupported

    watch = Stopwatch()
    reason: Text | None = None
    status: Status | None = None
    try:
        await asyncio.wait_for(check.fn(ctx), timeout=CHECK_TIME_LIMIT)
    except GraphAuthError as exc:  # the token stopped working part-way: this check could not assess
        status, reason = Status.ERROR, reason_of(exc)
    except GraphNotSupported as exc:
        status, reason = Status.SKIP, reason_of(exc)
    except ProbeError as exc:
        status, reason = Status.ERROR, reason_of(exc)
    except asyncio.TimeoutError:
        status, reason = Status.ERROR, msg("runner.time-limit", seconds=f"{CHECK_TIME_LIMIT:g}")
    except Exception as exc:  # a check's bug is reported, never allowed to stop the scan
        status, reason = Status.ERROR, msg("runner.raised", error=f"{type(exc).__name__}: {exc}")
    findings = ctx.sink.findings
    if status is Status.ERROR and findings:
        # it stopped part-way: what it saw stands, and an error finding says what it could not see
        ctx.errored(f"{check.id} (not completed)", msg("runner.stopped", reason=reason or ""))
        status = None
    if status is None:
        status = rollup(f.status for f in findings) or Status.SKIP
        reason = None if findings else msg("runner.nothing")
    return result_of(check, status, reason, watch.ms, findings)


def reason_of(exc: BaseException) -> Text:
    """Why an exception stopped a check, as a text: its own translatable text when it carries one
    (its English is the exception's message), else the message as a data value."""
    text = getattr(exc, "text", None)
    if isinstance(text, Text) and render(text) == str(exc):
        return text
    return msg("runner.failed", error=str(exc))


def result_of(check: Check, status: Status, reason: Text | None, ms: float, findings=()) -> CheckResult:
    """The check's result; `reason` (why it could not assess) is kept as its English and as its text,
    its data values bounded."""
    if reason is not None:
        reason = map_params(reason, lambda value: bound_text(value, 1000))  # type: ignore[assignment]
    return CheckResult(
        id=check.id, title=check.title, area=check.area, severity=check.severity,
        responsibilities=list(check.responsibilities), topic=check.topic, side=check.side,  # type: ignore[arg-type]
        owner=owner_roles().role_of(check.area, check.owner), permissions=check.permissions,
        why=check.why, fix=check.fix, status=status, reason=render(reason) if reason else None,
        reason_text=reason, duration_ms=round(ms, 1), findings=list(findings),
    )


def not_read_result(check: Check, connection: TenantConnection) -> CheckResult:
    """A tenant check when the tenant was not read: an error finding that says why (the sign-in
    host that did not answer, the proxy that refused), which is what the customer must fix first."""
    reason = bound_text(connection.unread, 1000)
    text = msg("runner.tenant-unread", reason=reason)
    finding = Finding(check_id=check.id, resource=connection.resource, status=Status.ERROR,
                      message=render(text), texts={"message": text},
                      action=ActionRef(key="tenant.unread", params={"resource": connection.resource}))
    return result_of(check, Status.ERROR, msg("runner.tenant-not-read", reason=reason), 0.0, [finding])


async def scan(profile: Profile, checks: list[Check], options: ScanOptions) -> Results:
    started = datetime.now(timezone.utc)
    evidence = EvidenceLog()
    profile_proxy(profile)  # registers the proxy password, whichever side uses the proxy
    connection = TenantConnection(tenant_id=profile.tenant.id)
    # network checks take the tenant's domains and federation hosts from the inventory too
    if options.tenant_side:
        connection = await connect_tenant(profile, evidence, options.credential, options.on_status)
    graph, claims = connection.graph, connection.claims
    tenant_id, tenant_name = connection.tenant_id, connection.tenant_name
    dns = tcp = tls = None
    if options.network_side:
        dns, tcp, tls = build_network_probes(profile, evidence)
    directory = await open_directory(profile, evidence, options)
    probes = Probes(graph=graph, dns=dns, tls=tls, tcp=tcp, directory=directory, https=https_fetcher(profile, dns, evidence))
    inventory = Inventory(profile, graph, connection.unread)
    total = len(checks)
    done = 0
    if options.on_start:
        options.on_start(total)

    async def one(check: Check) -> CheckResult:
        nonlocal done
        early = precheck(check, options, graph, claims, directory)
        if early:
            result = result_of(check, early[0], early[1], 0.0)
        elif check.side == "tenant" and connection.unread:
            result = not_read_result(check, connection)
        else:
            result = await run_check(check, CheckContext(check, profile, probes, inventory))
        done += 1
        if options.on_check_done:
            options.on_check_done(result, done, total)
        return result

    try:
        # checks that measure latency run first and alone: the other checks' work (and the simulated
        # servers of a demo, in this process) would otherwise be measured as network latency
        quiet = [await one(c) for c in checks if c.quiet]
        results = quiet + list(await asyncio.gather(*(one(c) for c in checks if not c.quiet)))
    finally:
        if graph is not None:
            await graph.aclose()
        if directory is not None and hasattr(directory, "close"):
            await directory.close()
    check_results = sorted(results, key=lambda r: r.id)
    fixes, fixes_total = directory_fixes(probes.directory)
    stats: dict[str, Any] = {"observations": len(evidence.items)}
    unread = connection.unread
    if graph is not None:
        stats["graph_requests"] = graph.requests
        stats["graph_retries"] = graph.retries
        if graph.requests and not graph.reads_ok:
            unread = (f"none of the {graph.requests} Graph requests to {profile.tenant.graph_url} gave an answer"
                      " that could be read")
    results = Results(
        tool=ToolInfo(version=__version__),
        scan_id=str(uuid.uuid4()),
        started=started,
        finished=datetime.now(timezone.utc),
        mode=options.mode,  # type: ignore[arg-type]
        scenario=options.scenario,
        tenant_id=bound_text(str(tenant_id), 200) if tenant_id is not None else None,  # Graph's, untrusted
        tenant_name=bound_text(tenant_name, 200) if isinstance(tenant_name, str) else None,
        tenant_unread=unread,
        vantage=Vantage(site=profile.vantage.site or host_site_name(), host=socket.gethostname(),
                        egress=claims.ipaddr if claims is not None and claims.ipaddr else UNKNOWN_EGRESS,
                        resolvers=dict(profile.dns.resolvers),
                        proxy=redact_proxy_url(profile.network.proxy) if profile.network.proxy else None,
                        directory=directory.description if directory is not None else None,
                        directory_insecure=bool(directory is not None and directory.insecure)),
        settings=scan_settings(profile, options),
        checks=check_results,
        responsibilities=responsibility_results(check_results, None),
        totals=totals(check_results),
        stats=stats,
        observations=list(evidence.items),
        directory_fixes=fixes,
        directory_fixes_total=fixes_total,
    )
    return stamp_site(results)


def host_site_name() -> str:
    """The default site: this machine's host name, made a valid site name."""
    from ems_readiness.engine.sites import MAX_SITE_NAME

    name = "".join(ch for ch in socket.gethostname() if ch.isprintable()).strip()[:MAX_SITE_NAME]
    return name or "localhost"


def directory_fixes(source: Any) -> tuple[list[Any] | None, int | None]:
    """The fixes list of the directory assessment, when the scan made one (directory-fixes.csv)."""
    if source is None:
        return None, None
    from ems_readiness.checks._directory import finished_assessment

    done = finished_assessment(source)
    return done.fixes() if done is not None else (None, None)


def scan_settings(profile: Profile, options: ScanOptions) -> dict[str, Any]:
    return {
        "tenant": profile.tenant.id,
        "graph_url": profile.tenant.graph_url,
        "auth": profile.tenant.auth,
        "identity_model": profile.identity.model,
        "max_sync_age_minutes": profile.identity.max_sync_age_minutes,
        "warn_days": profile.tls.warn_days,
        "services": profile.network.services,
        "proxy": redact_proxy_url(profile.network.proxy) if profile.network.proxy else None,
        "timeout_seconds": profile.network.timeout_seconds,
        "tenant_side": options.tenant_side,
        "network_side": options.network_side,
        "owners": dict(profile.owners),
    }
