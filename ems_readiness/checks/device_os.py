"""Device operating systems against Intune's supported minimums (Entra devices and AD computers)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef
from ems_readiness.judges.device_os import (
    PlatformTally, ad_windows_version, below, filetime, is_active, minimums, version_tuple,
)
from ems_readiness.probes.base import ProbeError

from ems_readiness.checks._tenant import Unreadable, label, require, require_time

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
    unreadable: list[str] = []
    async for device in ctx.graph.stream("devices", select=["id", "displayName", "operatingSystem",
                                                             "operatingSystemVersion", "approximateLastSignInDateTime"]):
        try:
            count_entra_device(device, tallies, now)
        except Unreadable as exc:
            unreadable.append(str(exc))
    evidence = [ctx.graph.stream_evidence("devices")]
    for platform in planned:
        if unreadable and not tallies[platform].old:
            # a device Graph did not describe may be one of this platform's, and below the minimum
            ctx.errored(f"entra:{platform}", f"Cannot tell whether every active {platform} device is supported:"
                        f" {len(unreadable)} device(s) Graph did not describe fully",
                        observed=f"{tallies[platform].active} active {platform} device(s) read, none below the minimum",
                        evidence=evidence)
            continue
        report(ctx, f"entra:{platform}", platform, tallies[platform], "Entra devices", evidence)
    for problem in unreadable[:MAX_UNREADABLE]:
        ctx.errored("entra:devices", problem, evidence=evidence)
    if len(unreadable) > MAX_UNREADABLE:
        ctx.errored("entra:devices", f"{len(unreadable) - MAX_UNREADABLE} more devices Graph did not describe fully",
                    evidence=evidence)
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
        raise Unreadable(f"Graph sent {DEVICES_READ}.operatingSystemVersion = {version_text[:40]!r} for {of},"
                         " which is not a version number")
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
        ctx.errored("ad:windows", f"The directory's computer objects could not be read: {exc}")
        return
    report(ctx, "ad:windows", "windows", tally, "Active Directory computers", [],
           note=f"; {untold} computer object(s) without operatingSystem, operatingSystemVersion or lastLogonTimestamp"
                if untold else "")


def report(ctx, resource: str, platform: str, tally: PlatformTally, where: str, evidence: list,
           note: str = "") -> None:
    spec = minimums()
    minimum = spec.platforms[platform]
    expected = f"every active device on {minimum['label']} or later (Intune's supported versions as of {spec.as_of})"
    observed = (f"{tally.active} active {platform} device(s) in {where} (signed in within {spec.active_days} days),"
                f" {tally.old} below {minimum['minimum']}" + (f": {', '.join(tally.examples)}" if tally.examples else "")
                + note)
    if tally.old:
        ctx.failed(resource, f"{tally.old} of {tally.active} active {platform} device(s) in {where} run a version Intune"
                   f" does not support (below {minimum['label']})", expected=expected, observed=observed,
                   evidence=evidence, action=ActionRef(key="devices.update-os", params={"platform": platform}))
    else:
        ctx.passed(resource, f"All {tally.active} active {platform} device(s) in {where} run {minimum['label']} or later",
                   expected=expected, observed=observed, evidence=evidence)
