"""Network quality from this site (NET-004): latency to the Microsoft front doors, the latency a
proxy adds, and the resolvers' answer time, judged against the thresholds Microsoft's network
assessment and connectivity test use (`data/network_quality.toml`).

The front doors are the catalogue's required TLS endpoints of the selected services. Each is
measured with a few TLS handshakes (TCP connect, then the handshake alone) and the best one
judged — the path's own latency, without the queueing of the moment or the scan's own load (the
median is shown beside it): the TCP connect and the handshake per round trip are both round trips to the door, and
the worse decides. Behind a proxy the figures are those of the path through the proxy (what the
devices get), and the proxy's share is through-the-proxy minus direct when the direct path
answers too; when it does not (a firewall that allows only the proxy), the share cannot be told
apart and the finding says so.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.context import CheckContext
from ems_readiness.engine.model import ActionRef, Status
from ems_readiness.engine.texts import msg
from ems_readiness.judges.network_quality import (
    judge_front_door, judge_proxy_added, median, per_round_trip, thresholds,
)

LATENCY_ACTION = ActionRef(key="network.front-door-latency")


@check(
    id="NET-004",
    title="Network quality to the Microsoft front doors (latency, proxy, resolver)",
    area="network",
    severity="medium",
    responsibilities=["general.network-testing", "enable.network", "assess.remediation-checklist"],
    topic="network",
    quiet=True,
    why="""
        Sign-in, enrollment and policy sync work at any latency, but every page of the Company
        Portal and every sign-in pays it on each round trip. Microsoft's network assessment gives
        a site full marks up to 10 ms to the service front door, calls 25 ms the healthy baseline
        and expects user complaints beyond 200 ms; a proxy or an egress far from the office is
        the usual cause.
    """,
    fix="""
        Give the site local, direct internet egress for Microsoft traffic: route the front-door
        endpoints out at the site rather than back to a distant head office or proxy, exclude
        them from TLS inspection, and use a DNS resolver near that egress.
    """,
)
async def network_quality(ctx: CheckContext) -> None:
    doors = front_doors(ctx)
    if not doors:
        ctx.skipped("network.services", msg("net.quality.no-doors"))
        return
    via_proxy = bool(ctx.tcp.proxy)
    samples = thresholds().samples
    measured = await asyncio.gather(*(measure(ctx, host, port, via_proxy, samples) for host, port in doors))
    for (host, port), (through, direct) in zip(doors, measured):
        report_front_door(ctx, host, port, through, direct, via_proxy)
    await report_resolvers(ctx, doors[0][0])


def front_doors(ctx: CheckContext) -> list[tuple[str, int]]:
    doors: list[tuple[str, int]] = []
    for endpoint in ctx.inventory.endpoints():
        if endpoint.tls and endpoint.required and endpoint.probeable:
            for port in endpoint.ports:
                if (endpoint.host, port) not in doors:
                    doors.append((endpoint.host, port))
    return doors


async def measure(ctx: CheckContext, host: str, port: int, via_proxy: bool, samples: int) -> tuple[list, list]:
    """Handshakes along the devices' path; behind a proxy, direct ones too (for the proxy's share)."""
    through = await ctx.tls.timed_handshakes(host, port, via_proxy=via_proxy, samples=samples)
    direct = await ctx.tls.timed_handshakes(host, port, samples=samples) if via_proxy else through
    return through, direct


def figures(observations: list) -> dict[str, Any] | None:
    """The best TCP connect, handshake and per-round-trip figures of the completed handshakes, and
    the median of the whole (connect plus handshake)."""
    done = [o for o in observations if o.ok and o.handshake_ms is not None and o.connect_ms is not None]
    if not done:
        return None
    return {
        "samples": len(done),
        "protocol": done[0].protocol,
        "tcp_ms": min(o.connect_ms for o in done),
        "handshake_ms": min(o.handshake_ms for o in done),
        "tls_round_trip_ms": round(min(per_round_trip(o.handshake_ms, o.protocol) for o in done), 1),
        "total_ms": min(o.connect_ms + o.handshake_ms for o in done),
        "median_total_ms": median([o.connect_ms + o.handshake_ms for o in done]),
    }


def report_front_door(ctx: CheckContext, host: str, port: int, through: list, direct: list, via_proxy: bool) -> None:
    resource = f"{host}:{port}"
    evidence = [e for o in (*through, *(direct if via_proxy else [])) for e in o.all_evidence]
    path = msg("net.quality.path.proxy" if via_proxy else "net.quality.path.direct")
    seen = figures(through)
    if seen is None:
        ctx.errored(resource, msg("net.quality.unmeasured", resource=resource, path=path, why=through[0].describe()),
                    evidence=evidence)
        return
    verdict = judge_front_door(seen["tcp_ms"], seen["tls_round_trip_ms"])
    label = msg(f"net.quality.label.{verdict.label}")
    observed = msg("net.quality.observed", path=path, tcp=f"{seen['tcp_ms']:g}", handshake=f"{seen['handshake_ms']:g}",
                   protocol=seen["protocol"] or "?", round_trip=f"{seen['tls_round_trip_ms']:g}",
                   samples=seen["samples"], median=f"{seen['median_total_ms']:g}", points=f"{verdict.points:g}",
                   label=label)
    limits = thresholds()
    expected = msg("net.quality.expected", ms=f"{max(ms for ms, p in limits.points if p >= limits.pass_points):g}",
                   points=f"{limits.pass_points:g}")
    proxy_note, proxy_status = proxy_share(seen, figures(direct) if via_proxy else None, via_proxy)
    message = msg("net.quality.measured", resource=resource, ms=f"{verdict.judged_ms:g}", path=path, label=label,
                  proxy=proxy_note)
    status = verdict.status if proxy_status is Status.PASS or verdict.status is Status.FAIL else Status.WARN
    kw: dict[str, Any] = dict(expected=expected, observed=observed, evidence=evidence)
    if status is Status.PASS:
        ctx.passed(resource, message, **kw)
        return
    action = LATENCY_ACTION if proxy_status is Status.PASS else ActionRef(
        key="network.proxy-latency", params={"proxy": ctx.tcp.proxy_display or ""})
    report = ctx.failed if status is Status.FAIL else ctx.warned
    report(resource, message, action=action, **kw)


def proxy_share(through: dict[str, Any], direct: dict[str, Any] | None, via_proxy: bool) -> tuple[Any, Status]:
    if not via_proxy:
        return "", Status.PASS
    if direct is None:
        return msg("net.quality.proxy.unseparated"), Status.PASS
    added = round(through["total_ms"] - direct["total_ms"], 1)
    status = judge_proxy_added(added)
    over = "net.quality.proxy.over" if status is Status.WARN else "net.quality.proxy.within"
    return msg(over, added=f"{added:g}", limit=f"{thresholds().proxy_added_warn_ms:g}"), status


async def report_resolvers(ctx: CheckContext, name: str) -> None:
    """Each resolver's answer time for a front-door name: information only, as in Microsoft's test."""
    names = list(ctx.dns.resolver_names)
    answers = await asyncio.gather(*(ctx.dns.query(name, "A", resolver=r) for r in names))
    for resolver, answer in zip(names, answers):
        label = ctx.dns.resolver_label(resolver)
        resource = f"resolver {resolver}"
        if answer.status.unanswered:
            ctx.errored(resource, msg("net.quality.resolver.unanswered", resolver=label, name=name,
                                      answer=answer.describe_text()), evidence=[answer.evidence])
            continue
        ms = f"{round(answer.elapsed_ms, 1):g}"
        ctx.passed(resource, msg("net.quality.resolver.answered", resolver=label, name=name, ms=ms),
                   observed=msg("net.quality.ms", ms=ms), evidence=[answer.evidence])
