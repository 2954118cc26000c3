"""Device operating systems against Intune's supported minimums (Entra devices and AD computers)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import msg
from ems_readiness.judges.device_os import (
    PlatformTally, ad_windows_version, below, filetime, is_active, minimums, version_tuple,
)
from ems_readiness.probes.base import ProbeError

from ems_readiness.checks._tenant import Unreadable, error_text, graph_unreadable, label, require, require_time

DEVICES_READ = "devices[]"
MAX_UNREADABLE = 20


@check(
    id="DEV-002",
    title="Active devices run an operating system Intune supports",
    area="devices",
    severity="medium",
    responsibilities=["enable.client-infrastructure", "assess.remediation-checklist"],
    topic="infrastructure",
    application=["Device.Read.All"],
    delegated=["Device.Read.All"],
    why="""
        Intune enrolls and manages only devices on a supported operating system version: older
        phones, tablets, Macs and PCs cannot enroll, stop receiving new features, or fail the
        compliance policies conditional access relies on. Knowing how many active devices are below
        the minimum before the pilot tells the customer what to upgrade or replace.
    """,
    fix="""
        Update the listed devices to a supported version (Windows Update or Windows Autopatch,
        Apple Software Update, the Android vendor's update), replace those that cannot be updated,
        or keep them out of the pilot; Intune's supported versions are listed at
        https://learn.microsoft.com/intune/intune-service/fundamentals/supported-devices-browsers
    """,
)
async def device_operating_systems(ctx) -> None:
    spec = minimums()
    planned = [p for p in ctx.profile.plan.platforms if p in spec.platforms]
    now = datetime.now(timezone.utc)
    tallies = {p: PlatformTally() for p in planned}
    unreadable: list[Text | str] = []
    async for device in ctx.graph.stream("devices", select=["id", "displayName", "operatingSystem",
                                                             "operatingSystemVersion", "approximateLastSignInDateTime"]):
        try:
            count_entra_device(device, tallies, now)
        except Unreadable as exc:
            unreadable.append(error_text(exc))
    evidence = [ctx.graph.stream_evidence("devices")]
    for platform in planned:
        if unreadable and not tallies[platform].old:
            # a device Graph did not describe may be one of this platform's, and below the minimum
            ctx.errored(f"entra:{platform}", msg("dev.os.untold", platform=platform, n=len(unreadable)),
                        observed=msg("dev.os.untold.observed", n=tallies[platform].active, platform=platform),
                        evidence=evidence, action=graph_unreadable("devices"))
            continue
        report(ctx, f"entra:{platform}", platform, tallies[platform], msg("dev.os.where.entra"), evidence)
    for problem in unreadable[:MAX_UNREADABLE]:
        ctx.errored("entra:devices", problem, evidence=evidence, action=graph_unreadable("devices"))
    if len(unreadable) > MAX_UNREADABLE:
        ctx.errored("entra:devices", msg("dev.os.more-unreadable", n=len(unreadable) - MAX_UNREADABLE),
                    evidence=evidence, action=graph_unreadable("devices"))
    if "windows" in planned and ctx.probes.directory is not None:
        await report_ad_computers(ctx, now)


def count_entra_device(device: Any, tallies: dict[str, PlatformTally], now: datetime) -> None:
    spec = minimums()
    name = label(device, "displayName", "id")
    of = f"device {name}"
    # null is documented for both: a device that never reported its system, or never signed in
    system = require(device, "operatingSystem", str, read=DEVICES_READ, of=of, nullable=True)
    last = require_time(device, "approximateLastSignInDateTime", read=DEVICES_READ, of=of, nullable=True)
    platform = spec.platform_of(system) if system else None
    if platform not in tallies or not is_active(last, now, spec.active_days):
        return
    version_text = require(device, "operatingSystemVersion", str, read=DEVICES_READ, of=of)
    version = version_tuple(version_text)
    if version is None:
        raise Unreadable(msg("dev.os.not-version", field=f"{DEVICES_READ}.operatingSystemVersion",
                             value=repr(version_text[:40]), of=of))
    tallies[platform].add(name, f"{system} {version_text}", below(version, spec.platforms[platform]["minimum"]))


async def report_ad_computers(ctx, now: datetime) -> None:
    spec = minimums()
    tally, untold = PlatformTally(), 0
    try:
        async for computer in ctx.directory.computers():
            system = computer.first("operatingSystem")
            if system is None or not computer.has("operatingSystemVersion") or not computer.has("lastLogonTimestamp"):
                untold += 1  # the source did not say: never counted as old or as current
                continue
            version = ad_windows_version(system, computer.first("operatingSystemVersion"))
            if version is None or not is_active(filetime(computer.first("lastLogonTimestamp")), now, spec.active_days):
                continue
            name = computer.first("cn") or computer.dn
            text = f"{system} {'.'.join(map(str, version))}"
            tally.add(name, text, below(version, spec.platforms["windows"]["minimum"]))
    except ProbeError as exc:
        ctx.errored("ad:windows", msg("dev.os.ad-unread", error=str(exc)),
                    action=ActionRef(key="directory.read-complete", params={}))
        return
    report(ctx, "ad:windows", "windows", tally, msg("dev.os.where.ad"), [],
           note=msg("dev.os.ad-untold", n=untold) if untold else "")


def report(ctx, resource: str, platform: str, tally: PlatformTally, where: Text, evidence: list,
           note: Text | str = "") -> None:
    spec = minimums()
    minimum = spec.platforms[platform]
    expected = msg("dev.os.expected", label=minimum["label"], as_of=spec.as_of)
    examples: Text | str = msg("dev.os.examples", examples=", ".join(tally.examples)) if tally.examples else ""
    observed = msg("dev.os.observed", n=tally.active, platform=platform, where=where, days=spec.active_days,
                   old=tally.old, minimum=minimum["minimum"], examples=examples, note=note)
    if tally.old:
        ctx.failed(resource, msg("dev.os.old", old=tally.old, n=tally.active, platform=platform, where=where,
                                 label=minimum["label"]), expected=expected, observed=observed,
                   evidence=evidence, action=ActionRef(key="devices.update-os", params={"platform": platform}))
    else:
        ctx.passed(resource, msg("dev.os.ok", n=tally.active, platform=platform, where=where, label=minimum["label"]),
                   expected=expected, observed=observed, evidence=evidence)
