"""Apple's and Google's push and store endpoints, for the platforms the plan enrolls (NET-005).

Intune reaches iPhones, iPads and Macs only through Apple's push service (APNs, TCP 5223 from the
device, 443 as fallback) and Android devices through Google's Firebase Cloud Messaging (TCP
5228-5230); apps come from Apple's and Google's stores. The hosts are in the endpoint catalogue
as the services `apple` and `android` (each with its source and date) and are probed the way NET-001
probes Microsoft's. Their certificates are Apple's and Google's: TLS-006 judges them against a
public CA bundle, never against Microsoft's roots.
"""

from __future__ import annotations

import asyncio

from ems_readiness.engine.check import check
from ems_readiness.engine.context import CheckContext
from ems_readiness.engine.texts import joined, msg

from ems_readiness.checks.reachability import (
    RESPONSIBILITIES, observe, plan_targets, report_endpoint, report_not_probeable,
)

PLATFORM_SERVICES = {"ios": "apple", "macos": "apple", "android": "android"}


def planned_services(plan) -> list[str]:
    return list(dict.fromkeys(PLATFORM_SERVICES[p] for p in plan.platforms if p in PLATFORM_SERVICES))


@check(
    id="NET-005",
    title="Apple and Google push and store endpoints reachable for the planned platforms",
    area="network",
    severity="high",
    responsibilities=[*RESPONSIBILITIES, "enable.client-infrastructure"],
    topic="network-security",
    why="""
        Intune never connects to a phone or a Mac itself: it asks Apple's push service (APNs) or
        Google's Firebase Cloud Messaging to wake the device, which then checks in. A firewall
        that blocks TCP 5223 to Apple or 5228-5230 to Google leaves enrolled devices without
        policies, app installs and remote actions; blocked store hosts stop app installation.
    """,
    fix="""
        Allow outbound TCP 443, 80 and 5223 to Apple's hosts (*.push.apple.com, *.itunes.apple.com,
        *.mzstatic.com and the others Intune lists, see https://support.apple.com/HT210060) and TCP
        5228, 5229, 5230 and 443 to Google's FCM hosts (mtalk.google.com and alt1-mtalk to
        alt8-mtalk.google.com), from the networks devices use; do not inspect TLS to them.
    """,
)
async def platform_endpoints_reachable(ctx: CheckContext) -> None:
    services = planned_services(ctx.profile.plan)
    if not services:
        ctx.skipped("plan.platforms", msg("net5.no-platforms"))
        return
    endpoints = ctx.inventory.platform_endpoints(services)
    if not endpoints:
        ctx.skipped("network.catalog", msg("net5.no-endpoints", services=joined(services, "or")))
        return
    targets = plan_targets(endpoints)
    for target in targets:
        if not target.probeable:
            report_not_probeable(ctx, target)
    probed = [t for t in targets if t.probeable]
    observations = await asyncio.gather(*(observe(ctx, t) for t in probed))
    for target, observation in zip(probed, observations, strict=True):
        report_endpoint(ctx, target, observation)
