"""Reachability: Microsoft endpoints (NET-001), on-premises servers (NET-002), the proxy (NET-003).

Every finding is about one host:port. A refused, filtered or unreachable port, a name the
configured resolver says does not exist, and a proxy that refuses are observations of the
network and fail (warn for endpoints Microsoft marks optional). When nothing could be observed
(resolver SERVFAIL/timeout, the proxy itself unreachable, a probe failure) the finding is error.
Through a proxy only an answer proven to come from the target passes (see probes/tcp.py): a
plain-HTTP answer, or a CONNECT the target never answered, is error: who answered cannot be told.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Iterable

from ems_readiness.engine.check import check
from ems_readiness.engine.context import CheckContext
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import catalogued, msg, sentences
from ems_readiness.probes.tcp import TcpObservation

RESPONSIBILITIES = [
    "enable.security-infrastructure",
    "enable.network",
    "general.network-testing",
    "assess.remediation-checklist",
]

BLOCKED = {"refused", "filtered", "unreachable"}
PROXY_REFUSALS = {"proxy-auth-required", "proxy-denied", "proxy-error", "proxy-timeout"}
ANSWERED_DNS_FAILURES = {"nxdomain", "nodata"}
# Something answered through the proxy, but nothing proves it was the target.
UNPROVEN = {"proxy-unverified", "proxy-no-answer"}

# Intune requires unauthenticated proxy access to these (intune-endpoints.md, 2025-01-09).
UNAUTHENTICATED_PROXY_HOSTS = ("manage.microsoft.com", "graph.microsoft.com")
UNAUTHENTICATED_PROXY_SUFFIXES = (".azureedge.net",)

# Entra Connect server → domain controllers (reference-connect-ports.md, 2025-04-09).
DIRECTORY_SYNC_PORTS = {
    53: "DNS",
    88: "Kerberos",
    135: "RPC endpoint mapper",
    389: "LDAP",
    445: "SMB (Seamless SSO, password writeback)",
    636: "LDAPS",
    3268: "global catalog",
    3269: "global catalog over TLS",
    5985: "WinRM",
    5986: "WinRM over HTTPS",
    9389: "AD Web Services",
}
# Listed by Microsoft only for AD FS with gMSA through the wizard (5985, 9389) or not at all (3269, 5986).
CONDITIONAL_DIRECTORY_SYNC_PORTS = {3269, 5985, 5986, 9389}


@dataclass
class ProbeTarget:
    """One host:port to probe, merged over the catalogue entries that name it."""

    host: str
    port: int
    services: list[str] = field(default_factory=list)
    covers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    required: bool = False
    protocol: str = "tcp"
    probeable: bool = True

    @property
    def resource(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = "" if self.protocol == "tcp" else f"/{self.protocol}"
        return f"{host}:{self.port}{suffix}"

    @property
    def label(self) -> str:
        return f"{self.resource} ({', '.join(self.services)})"  # data: host:port and service tags

    def add(self, endpoint: Any) -> None:
        extend_unique(self.services, [endpoint.service])
        extend_unique(self.covers, endpoint.covers)
        extend_unique(self.notes, [endpoint.notes] if endpoint.notes else [])
        self.required = self.required or endpoint.required


def extend_unique(items: list[str], new: Iterable[str]) -> None:
    items.extend(n for n in new if n not in items)


def plan_targets(endpoints: Iterable[Any]) -> list[ProbeTarget]:
    targets: dict[tuple[str, int, str], ProbeTarget] = {}
    for endpoint in endpoints:
        for port in endpoint.ports:
            key = (endpoint.host, port, endpoint.protocol)
            target = targets.setdefault(
                key, ProbeTarget(endpoint.host, port, protocol=endpoint.protocol, probeable=endpoint.probeable)
            )
            target.add(endpoint)
    return list(targets.values())


async def observe(ctx: CheckContext, target: ProbeTarget) -> TcpObservation:
    if ctx.tcp.proxy:
        return await ctx.tcp.via_proxy(target.host, target.port)
    return await ctx.tcp.connect(target.host, target.port)


def expected_text(observation: TcpObservation) -> Text:
    if observation.mode == "proxy":
        return msg("net.expected.proxy")
    return msg("net.expected.direct")


def observed_text(observation: TcpObservation) -> Text:
    return msg("net.observed", status=observation.status, detail=detail_of(observation))


def detail_of(observation: TcpObservation) -> Text | str:
    return observation.detail_text or observation.detail


def unassessed_action(observation: TcpObservation) -> ActionRef:
    """Why a target could not be tested, as the action it calls for: a resolver that does not answer
    is one action for every check it stopped; anything else names the probe's status."""
    if observation.dns_evidence is not None and observation.dns_status:
        data = observation.dns_evidence.data
        return ActionRef(key="dns.resolver-unanswered",
                         params={"resolver": f"{data.get('resolver')} ({data.get('address')})"})
    if observation.mode == "proxy":
        return ActionRef(key="proxy.check", params={"proxy": observation.proxy or ""})
    return ActionRef(key="network.probe-failed", params={"status": observation.status})


def observable(observation: TcpObservation) -> bool:
    """Whether the probe saw what the network does (as opposed to failing to look)."""
    if observation.status == "open" or observation.status in BLOCKED:
        return True
    if observation.status == "dns-failure":
        return observation.dns_status in ANSWERED_DNS_FAILURES
    if observation.status in PROXY_REFUSALS:
        return observation.status != "proxy-error" or observation.http_status is not None
    return False


# --- NET-001 -------------------------------------------------------------------------------


@check(
    id="NET-001",
    title="Microsoft endpoints reachable through the firewall and proxy",
    area="network",
    severity="high",
    responsibilities=RESPONSIBILITIES,
    topic="network-security",
    why="""
        Devices, the Company Portal, Entra sign-in, Rights Management clients and Autopilot reach
        the Microsoft endpoints listed by Microsoft on TCP 443 and 80. A port the firewall drops or
        rejects, or a proxy that refuses the host, breaks enrollment, sign-in or protection.
    """,
    fix="""
        Allow outbound TCP to each listed host and port on the firewall, and on the proxy when
        there is one. Allow the published wildcard each probe host stands for.
    """,
)
async def microsoft_endpoints_reachable(ctx: CheckContext) -> None:
    targets = plan_targets(ctx.inventory.endpoints())
    if not targets:
        ctx.skipped("network.services", msg("net.no-services"))
        return
    probed = [t for t in targets if t.probeable]
    for target in targets:
        if not target.probeable:
            report_not_probeable(ctx, target)
    observations = await asyncio.gather(*(observe(ctx, t) for t in probed))
    for target, observation in zip(probed, observations):
        report_endpoint(ctx, target, observation)


def report_not_probeable(ctx: CheckContext, target: ProbeTarget) -> None:
    if target.protocol != "tcp":
        why = msg("net.not-tcp", protocol=target.protocol.upper())
    else:
        why = msg("net.no-concrete-host")
    ctx.skipped(
        target.resource,
        msg("net.not-probed", label=target.label, why=why),
        remediation=allow_rule(target, proxy=bool(ctx.tcp.proxy)),
    )


def report_endpoint(ctx: CheckContext, target: ProbeTarget, observation: TcpObservation) -> None:
    kw = dict(
        expected=expected_text(observation),
        observed=observed_text(observation),
        evidence=observation.all_evidence,
    )
    if observation.ok:
        ctx.passed(target.resource, msg("net.reachable", label=target.label), **kw)
    elif observation.status in UNPROVEN:
        report_unproven(ctx, target, observation, kw)
    elif not observable(observation):
        ctx.errored(target.resource, msg("net.untested", label=target.label, detail=detail_of(observation)),
                    action=unassessed_action(observation), **kw)
    else:
        report = ctx.failed if target.required else ctx.warned
        report(
            target.resource,
            msg("net.unreachable" if target.required else "net.unreachable.optional", label=target.label,
                status=observation.status),
            remediation=endpoint_remediation(target, observation),
            action=endpoint_action(target, observation),
            **kw,
        )


def endpoint_action(target: ProbeTarget, observation: TcpObservation) -> ActionRef:
    if observation.status == "proxy-auth-required":
        return ActionRef(key="proxy.exempt-authentication", params={"host": target.host})
    # one change for the firewall (or proxy) team: every endpoint it blocks is an item of the same action
    if observation.mode == "proxy":
        return ActionRef(key="proxy.allow", params={})
    return ActionRef(key="firewall.allow-outbound", params={})


def report_unproven(ctx: CheckContext, target: ProbeTarget, observation: TcpObservation, kw: dict[str, Any]) -> None:
    if observation.status == "proxy-no-answer":
        why = msg("net.unproven.no-answer")
    elif observation.method == "HEAD":
        why = msg("net.unproven.plain-http", host=target.host, port=target.port)
    else:
        why = msg("net.unproven.certificate")
    ctx.errored(
        target.resource,
        msg("net.unproven", label=target.label, status=observation.status),
        remediation=why,
        action=ActionRef(key="proxy.check", params={"proxy": observation.proxy or ""}),
        **kw,
    )


ADVICE = {
    "refused": msg("net.advice.refused"),
    "filtered": msg("net.advice.filtered"),
    "unreachable": msg("net.advice.unreachable"),
    "proxy-denied": msg("net.advice.proxy-denied"),
    "proxy-error": msg("net.advice.proxy-error"),
    "proxy-timeout": msg("net.advice.proxy-timeout"),
}


def endpoint_remediation(target: ProbeTarget, observation: TcpObservation) -> Text:
    if observation.status == "dns-failure":
        advice: Text | str = msg("net.advice.dns-failure", host=target.host)
    elif observation.status == "proxy-auth-required":
        advice = auth_advice(target.host)
    else:
        advice = ADVICE.get(observation.status, "")
    parts = [allow_rule(target, proxy=observation.mode == "proxy"), advice,
             *(catalogued(note, "endpoint.note.") for note in target.notes)]
    return sentences(p for p in parts if p)


def allow_rule(target: ProbeTarget, proxy: bool) -> Text:
    where = msg("net.allow.where.proxy" if proxy else "net.allow.where.firewall")
    wildcards = [c for c in target.covers if c != target.host]
    rule = dict(protocol=target.protocol.upper(), port=target.port, host=target.host, where=where)
    if wildcards:
        return msg("net.allow.wildcard", wildcards=", ".join(wildcards), **rule)
    return msg("net.allow", **rule)


def auth_advice(host: str) -> Text:
    if needs_unauthenticated_proxy(host):
        return msg("net.advice.auth.intune", host=host)
    return msg("net.advice.auth")


def needs_unauthenticated_proxy(host: str) -> bool:
    return host in UNAUTHENTICATED_PROXY_HOSTS or host.endswith(UNAUTHENTICATED_PROXY_SUFFIXES)


# --- NET-002 -------------------------------------------------------------------------------


@check(
    id="NET-002",
    title="On-premises servers reachable on their ports",
    area="network",
    severity="high",
    responsibilities=[*RESPONSIBILITIES, "enable.directory-sync"],
    topic="directory-sync-readiness",
    why="""
        The Entra Connect server must reach the domain controllers (DNS, Kerberos, RPC, LDAP,
        SMB, global catalog) and other on-premises servers named in the profile; a blocked port
        stops the installation wizard, synchronization or password writeback.
    """,
    fix="""
        Allow the listed TCP ports from the server that runs the scan's role (for directory
        synchronization, the Entra Connect server) to each target on every firewall between them.
    """,
)
async def on_premises_targets_reachable(ctx: CheckContext) -> None:
    pairs = unique_target_ports(ctx.inventory.targets())
    if not pairs:
        ctx.skipped("network.targets", msg("net.no-targets"))
        return
    observations = await asyncio.gather(*(ctx.tcp.connect(t.host, port) for t, port in pairs))
    for (target, port), observation in zip(pairs, observations):
        report_on_premises(ctx, target, port, observation)


def unique_target_ports(targets: Iterable[Any]) -> list[tuple[Any, int]]:
    seen: set[tuple[str, int]] = set()
    pairs = []
    for target in targets:
        for port in target.ports:
            key = (target.host.lower(), port)
            if key not in seen:
                seen.add(key)
                pairs.append((target, port))
    return pairs


def port_role(target: Any, port: int) -> str:
    if target.purpose == "directory-sync" and port in DIRECTORY_SYNC_PORTS:
        return f"{port} ({DIRECTORY_SYNC_PORTS[port]})"
    return str(port)


def report_on_premises(ctx: CheckContext, target: Any, port: int, observation: TcpObservation) -> None:
    label = f"{target.name} ({observation.target}), TCP {port_role(target, port)}"
    purpose: Text | str = msg("net.purpose", purpose=target.purpose) if target.purpose else ""
    resource = f"{target.name} {observation.target}"  # the target's name keeps findings apart when hosts repeat
    kw: dict[str, Any] = dict(expected=expected_text(observation), observed=observed_text(observation),
                              evidence=observation.all_evidence)
    allow = ActionRef(key="firewall.allow-on-premises", params={"target": target.name, "host": target.host,
                                                                "port": str(port)})
    if observation.ok:
        ctx.passed(resource, msg("net.onprem.reachable", label=label, purpose=purpose), **kw)
    elif not observable(observation):
        ctx.errored(resource, msg("net.untested", label=label, detail=detail_of(observation)),
                    action=unassessed_action(observation), **kw)
    elif conditional_port(target, port):
        ctx.warned(
            resource,
            msg("net.onprem.conditional", label=label, status=observation.status),
            remediation=on_premises_remediation(target, port, observation),
            action=allow,
            **kw,
        )
    else:
        ctx.failed(
            resource,
            msg("net.onprem.unreachable", label=label, purpose=purpose, status=observation.status),
            remediation=on_premises_remediation(target, port, observation),
            action=allow,
            **kw,
        )


def conditional_port(target: Any, port: int) -> bool:
    return target.purpose == "directory-sync" and port in CONDITIONAL_DIRECTORY_SYNC_PORTS


def on_premises_remediation(target: Any, port: int, observation: TcpObservation) -> Text:
    source = msg("net.onprem.source.sync" if target.purpose == "directory-sync" else "net.onprem.source.scanner")
    parts: list[Text] = [msg("net.onprem.allow", port=port_role(target, port), source=source, name=target.name,
                             host=target.host)]
    if observation.status == "refused":
        parts.append(msg("net.onprem.refused"))
    elif observation.status == "filtered":
        parts.append(msg("net.advice.filtered"))
    elif observation.status == "dns-failure":
        parts.append(msg("net.onprem.dns-failure", host=target.host))
    if target.purpose == "directory-sync" and port in (53, 88, 389):
        parts.append(msg("net.onprem.udp", port=port))
    return sentences(parts)


# --- NET-003 -------------------------------------------------------------------------------


@check(
    id="NET-003",
    title="The proxy lets the required Microsoft endpoints through",
    area="network",
    severity="medium",
    responsibilities=RESPONSIBILITIES,
    topic="network-security",
    why="""
        Behind an explicit proxy, devices and the Entra Connect server reach Microsoft only if
        the proxy accepts the request without authentication where Microsoft requires that, and
        its policy allows the host. A 407 and a 403 need different changes. Whether the proxy
        intercepts TLS is judged by TLS-006 over the same tunnel.
    """,
    fix="""
        Add the required Microsoft hosts (and their wildcards) to the proxy's allow-list, exempt
        manage.microsoft.com, graph.microsoft.com and *.azureedge.net from proxy authentication,
        and exclude Microsoft endpoints from TLS inspection.
    """,
)
async def proxy_allows_required_endpoints(ctx: CheckContext) -> None:
    if not ctx.tcp.proxy:
        ctx.skipped("network.proxy", msg("net.proxy.none"))
        return
    required = [t for t in plan_targets(ctx.inventory.endpoints()) if t.probeable and t.required]
    if not required:
        ctx.skipped("network.services", msg("net.proxy.no-services"))
        return
    observations = await asyncio.gather(*(ctx.tcp.via_proxy(t.host, t.port) for t in required))
    unreachable = [o for o in observations if o.status == "proxy-unreachable"]
    if unreachable:
        report_proxy_unreachable(ctx, unreachable[0])
        return
    for target, observation in zip(required, observations):
        report_proxy_policy(ctx, target, observation)


def report_proxy_unreachable(ctx: CheckContext, observation: TcpObservation) -> None:
    ctx.failed(
        f"proxy {observation.proxy}",
        msg("net.proxy.refuses", proxy=observation.proxy),
        expected=msg("net.proxy.expected"),
        observed=observed_text(observation),
        remediation=msg("net.proxy.refuses.fix"),
        evidence=observation.all_evidence,
        action=ActionRef(key="proxy.check", params={"proxy": observation.proxy or ""}),
    )


def report_proxy_policy(ctx: CheckContext, target: ProbeTarget, observation: TcpObservation) -> None:
    kw = dict(expected=expected_text(observation), observed=observed_text(observation), evidence=observation.all_evidence)
    if observation.ok:
        ctx.passed(target.resource, msg("net.proxy.lets-through", label=target.label), **kw)
        return
    if observation.status in UNPROVEN:
        report_unproven(ctx, target, observation, kw)
        return
    if not observable(observation):
        ctx.errored(target.resource, msg("net.proxy.untested", label=target.label, detail=detail_of(observation)),
                    action=unassessed_action(observation), **kw)
        return
    ctx.failed(
        target.resource,
        msg("net.proxy.blocks", label=target.label, verdict=proxy_verdict(observation)),
        remediation=proxy_remediation(target, observation),
        action=endpoint_action(target, observation),
        **kw,
    )


def proxy_verdict(observation: TcpObservation) -> Text:
    if observation.status == "proxy-auth-required":
        return msg("net.proxy.verdict.auth", status=observation.http_status)
    if observation.status == "proxy-denied":
        return msg("net.proxy.verdict.denied")
    if observation.status == "proxy-timeout":
        return msg("net.proxy.verdict.timeout")
    if observation.proxy_error == "upstream-failed":
        return msg("net.proxy.verdict.upstream", status=observation.http_status)
    return msg("net.proxy.verdict.unexpected", status=observation.http_status)


def proxy_remediation(target: ProbeTarget, observation: TcpObservation) -> Text:
    if observation.status == "proxy-auth-required":
        return auth_advice(target.host)
    if observation.status == "proxy-denied":
        if target.covers:
            return msg("net.proxy.allow.wildcard", host=target.host, wildcards=", ".join(target.covers),
                       port=target.port)
        return msg("net.proxy.allow", host=target.host, port=target.port)
    return msg("net.proxy.upstream.fix", host=target.host, port=target.port)
