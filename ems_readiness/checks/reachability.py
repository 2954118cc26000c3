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
        return f"{self.resource} ({', '.join(self.services)})"

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


def expected_text(observation: TcpObservation) -> str:
    if observation.mode == "proxy":
        return "the target answers through the proxy, proven by a TLS handshake whose certificate validates for it (open)"
    return "TCP connect succeeds (open)"


def observed_text(observation: TcpObservation) -> str:
    return f"{observation.status}: {observation.detail}"


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
        ctx.skipped("network.services", "no Microsoft endpoint groups selected (network.services)")
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
        why = f"{target.protocol.upper()} is not tested by a TCP connect"
    else:
        why = "Microsoft publishes no concrete host under this wildcard"
    ctx.skipped(
        target.resource,
        f"{target.label} not probed: {why}",
        remediation=allow_rule(target, proxy=bool(ctx.tcp.proxy)),
    )


def report_endpoint(ctx: CheckContext, target: ProbeTarget, observation: TcpObservation) -> None:
    kw = dict(
        expected=expected_text(observation),
        observed=observed_text(observation),
        evidence=observation.all_evidence,
    )
    if observation.ok:
        ctx.passed(target.resource, f"{target.label} is reachable", **kw)
    elif observation.status in UNPROVEN:
        report_unproven(ctx, target, observation, kw)
    elif not observable(observation):
        ctx.errored(target.resource, f"{target.label} could not be tested: {observation.detail}", **kw)
    else:
        report = ctx.failed if target.required else ctx.warned
        optional = "" if target.required else " (optional endpoint)"
        report(
            target.resource,
            f"{target.label} is not reachable{optional}: {observation.status}",
            remediation=endpoint_remediation(target, observation),
            **kw,
        )


def report_unproven(ctx: CheckContext, target: ProbeTarget, observation: TcpObservation, kw: dict[str, Any]) -> None:
    if observation.status == "proxy-no-answer":
        why = "The proxy accepted the tunnel but the target never answered: the proxy may answer CONNECT before reaching the target, and the path beyond it drops the traffic."
    elif observation.method == "HEAD":
        why = f"Plain HTTP through a proxy cannot be attributed to {target.host}: confirm in the proxy's log or allow-list that it forwards {target.host}:{target.port}."
    else:
        why = "The certificate that answered in the tunnel does not validate for the host: see TLS-006 (interception) and the proxy's policy for it."
    ctx.errored(
        target.resource,
        f"{target.label}: the answer through the proxy cannot be attributed to it ({observation.status})",
        remediation=why,
        **kw,
    )


def endpoint_remediation(target: ProbeTarget, observation: TcpObservation) -> str:
    advice = {
        "refused": "A TCP reset came back: a firewall REJECT rule, or a device answering for the address, refuses it.",
        "filtered": "Nothing came back: a firewall drops the traffic.",
        "unreachable": "An ICMP unreachable or admin-prohibited came back, or there is no route: check routing and the firewall's reject rules.",
        "dns-failure": f"The resolver has no address for {target.host}: clients must resolve internet names (forwarders or root hints on the DNS servers they use).",
        "proxy-denied": "The proxy's policy denies it (403).",
        "proxy-auth-required": auth_advice(target.host),
        "proxy-error": "The proxy could not reach the service: allow the proxy server's own outbound connection.",
        "proxy-timeout": "The proxy did not answer in time: the path beyond the proxy probably drops the traffic.",
    }.get(observation.status, "")
    parts = [allow_rule(target, proxy=observation.mode == "proxy"), advice, *target.notes]
    return " ".join(p for p in parts if p)


def allow_rule(target: ProbeTarget, proxy: bool) -> str:
    where = "the firewall and the proxy allow-list" if proxy else "the firewall"
    rule = f"Allow outbound {target.protocol.upper()} {target.port} to {target.host} on {where}"
    wildcards = [c for c in target.covers if c != target.host]
    if wildcards:
        rule += f" (Microsoft publishes it as {', '.join(wildcards)}: allow the wildcard)"
    return rule + "."


def auth_advice(host: str) -> str:
    if needs_unauthenticated_proxy(host):
        return f"The proxy demands authentication; Intune requires unauthenticated proxy access to {host}: exempt it from proxy authentication."
    return "The proxy demands authentication: exempt the host from proxy authentication, or configure the clients' proxy credentials."


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
        ctx.skipped("network.targets", "no on-premises targets in the profile ([[network.targets]])")
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
    purpose = f" for {target.purpose}" if target.purpose else ""
    resource = f"{target.name} {observation.target}"  # the target's name keeps findings apart when hosts repeat
    kw = dict(expected=expected_text(observation), observed=observed_text(observation), evidence=observation.all_evidence)
    if observation.ok:
        ctx.passed(resource, f"{label} is reachable{purpose}", **kw)
    elif not observable(observation):
        ctx.errored(resource, f"{label} could not be tested: {observation.detail}", **kw)
    elif conditional_port(target, port):
        ctx.warned(
            resource,
            f"{label} is not reachable ({observation.status}); Microsoft requires it only in some set-ups",
            remediation=on_premises_remediation(target, port, observation),
            **kw,
        )
    else:
        ctx.failed(
            resource,
            f"{label} is not reachable{purpose}: {observation.status}",
            remediation=on_premises_remediation(target, port, observation),
            **kw,
        )


def conditional_port(target: Any, port: int) -> bool:
    return target.purpose == "directory-sync" and port in CONDITIONAL_DIRECTORY_SYNC_PORTS


def on_premises_remediation(target: Any, port: int, observation: TcpObservation) -> str:
    source = "the Entra Connect server" if target.purpose == "directory-sync" else "the scanning machine's network"
    text = f"Allow TCP {port_role(target, port)} from {source} to {target.name} ({target.host}) on every firewall between them."
    if observation.status == "refused":
        text += " A TCP reset came back: check that the service listens on the port and no host firewall rejects it."
    elif observation.status == "filtered":
        text += " Nothing came back: a firewall drops the traffic."
    elif observation.status == "dns-failure":
        text += f" The resolver has no address for {target.host}: register it in the internal DNS."
    if target.purpose == "directory-sync" and port in (53, 88, 389):
        text += f" Port {port} is needed over UDP as well, which a TCP probe does not test."
    return text


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
        ctx.skipped("network.proxy", "no proxy configured (network.proxy or HTTPS_PROXY): traffic goes direct")
        return
    required = [t for t in plan_targets(ctx.inventory.endpoints()) if t.probeable and t.required]
    if not required:
        ctx.skipped("network.services", "no required Microsoft endpoints selected (network.services)")
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
        f"the proxy {observation.proxy} does not accept connections",
        expected="the proxy accepts a TCP connection",
        observed=f"{observation.status}: {observation.detail}",
        remediation="Check the proxy address in the profile (network.proxy) or HTTPS_PROXY, and that the proxy runs and is reachable from the client networks.",
        evidence=observation.all_evidence,
    )


def report_proxy_policy(ctx: CheckContext, target: ProbeTarget, observation: TcpObservation) -> None:
    kw = dict(expected=expected_text(observation), observed=observed_text(observation), evidence=observation.all_evidence)
    if observation.ok:
        ctx.passed(target.resource, f"the proxy lets {target.label} through", **kw)
        return
    if observation.status in UNPROVEN:
        report_unproven(ctx, target, observation, kw)
        return
    if not observable(observation):
        ctx.errored(target.resource, f"{target.label} could not be tested through the proxy: {observation.detail}", **kw)
        return
    ctx.failed(
        target.resource,
        f"the proxy does not let {target.label} through: {proxy_verdict(observation)}",
        remediation=proxy_remediation(target, observation),
        **kw,
    )


def proxy_verdict(observation: TcpObservation) -> str:
    if observation.status == "proxy-auth-required":
        return f"authentication required ({observation.http_status})"
    if observation.status == "proxy-denied":
        return "denied by policy (403)"
    if observation.status == "proxy-timeout":
        return "no answer in time"
    if observation.proxy_error == "upstream-failed":
        return f"the proxy could not reach it ({observation.http_status})"
    return f"unexpected answer ({observation.http_status})"


def proxy_remediation(target: ProbeTarget, observation: TcpObservation) -> str:
    wildcard = f" and {', '.join(target.covers)}" if target.covers else ""
    if observation.status == "proxy-auth-required":
        return auth_advice(target.host)
    if observation.status == "proxy-denied":
        return f"Add {target.host}{wildcard} on port {target.port} to the proxy's allow-list."
    return (
        f"The proxy accepted the request but could not reach {target.host}:{target.port}: allow the proxy "
        "server's outbound connection to it on the firewall behind the proxy."
    )
