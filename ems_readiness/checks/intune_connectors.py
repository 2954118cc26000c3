"""Intune's connectors to Apple and Google: the MDM push certificate, VPP tokens, the Android
Enterprise binding — each judged against the platforms the customer plans to enroll."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ems_readiness.engine.check import check
from ems_readiness.engine.model import ActionRef, Text
from ems_readiness.engine.texts import msg
from ems_readiness.probes.graph import GraphError

from ems_readiness.checks._tenant import Unreadable, error_text, graph_unreadable, label, require, require_time

APNS_READ = "deviceManagement/applePushNotificationCertificate"
VPP_READ = "deviceAppManagement/vppTokens[]"
ANDROID_READ = "deviceManagement/androidManagedStoreAccountEnterpriseSettings"
RENEW_DAYS = 30  # Apple's certificate lasts a year; renewing needs the Apple ID that created it
# documented values (Graph: vppTokenState, androidManagedStoreAccountBindStatus)
VPP_STATES = ("unknown", "valid", "expired", "invalid", "assignedToExternalMDM")
BIND_STATES = ("notBound", "bound", "boundAndValidated", "unbinding")
APPLE = ("ios", "macos")


def not_configured(exc: GraphError) -> bool:
    """Graph's 404 for a singleton Intune setting: never set up in this tenant."""
    return exc.status == 404


def days_left(moment: datetime) -> int:
    return int((moment - datetime.now(timezone.utc)).total_seconds() // 86400)


def expiry_text(moment: datetime, left: int) -> Text:
    return msg("con.expires", date=moment.date().isoformat(), days=left) if left >= 0 else \
        msg("con.expired", date=moment.date().isoformat(), days=-left)


def planned(ctx, platforms: tuple[str, ...]) -> Text | str:
    chosen = [p for p in ctx.profile.plan.platforms if p in platforms]
    return ", ".join(chosen) if chosen else msg("con.none-of", platforms="/".join(platforms))


@check(
    id="INT-005",
    title="Apple MDM push certificate, VPP tokens and the Android Enterprise binding",
    area="intune",
    severity="high",
    responsibilities=["enable.client-infrastructure", "enable.services"],
    application=["DeviceManagementManagedDevices.Read.All", "DeviceManagementServiceConfig.Read.All",
                 "DeviceManagementConfiguration.Read.All"],
    delegated=["DeviceManagementManagedDevices.Read.All", "DeviceManagementServiceConfig.Read.All",
               "DeviceManagementConfiguration.Read.All"],
    why="""
        Intune manages iPhones, iPads and Macs only through an Apple MDM push certificate; when it
        expires every Apple device stops checking in, and a certificate renewed with another Apple ID
        means enrolling every device again. Apps bought in Apple Business Manager arrive through VPP
        tokens, and Android Enterprise work profiles need the tenant bound to managed Google Play.
    """,
    fix="""
        In the Intune admin center, Devices > Enrollment > Apple > MDM Push Certificate: create the
        certificate (or renew it before it expires) at the Apple Push Certificates portal, signed in
        with the same Apple ID that created it. Renew expired VPP tokens under Tenant administration >
        Connectors and tokens > Apple VPP tokens. For Android, Devices > Enrollment > Android > Managed
        Google Play: link the tenant with a managed Google account.
    """,
)
async def apple_android_connectors(ctx) -> None:
    apple = ctx.profile.plan.includes(*APPLE)
    await report_push_certificate(ctx, apple)
    if apple:
        await report_vpp_tokens(ctx)
    await report_android_binding(ctx, ctx.profile.plan.includes("android"))


async def report_push_certificate(ctx, apple_planned: bool) -> None:
    resource = "Apple MDM push certificate"
    expected = msg("con.apns.expected", days=RENEW_DAYS)
    try:
        cert, evidence = await ctx.graph.get("apple_push_certificate",
                                             select=["id", "appleIdentifier", "expirationDateTime", "topicIdentifier"])
    except GraphError as exc:
        if not not_configured(exc):
            raise
        if apple_planned:
            ctx.failed(resource, msg("con.apns.none"), expected=expected,
                       observed=msg("con.apns.none.observed", planned=planned(ctx, APPLE)),
                       action=ActionRef(key="intune.create-apple-push-certificate"))
        else:
            ctx.skipped(resource, msg("con.apns.not-planned"), observed=msg("con.not-found"))
        return
    try:
        expires = require_time(cert, "expirationDateTime", read=APNS_READ)
        apple_id = require(cert, "appleIdentifier", str, read=APNS_READ)
    except Unreadable as exc:
        ctx.errored(resource, error_text(exc), expected=expected, evidence=[evidence], action=graph_unreadable(APNS_READ))
        return
    left = days_left(expires)
    observed = msg("con.apns.observed", expiry=expiry_text(expires, left), apple_id=apple_id)
    renew = msg("con.apns.renew", apple_id=apple_id)
    action = ActionRef(key="intune.renew-apple-push-certificate", params={"apple_id": apple_id})
    if left < 0:
        ctx.failed(resource, msg("con.apns.expired", days=-left), expected=expected, observed=observed,
                   remediation=renew, action=action, evidence=[evidence])
    elif left <= RENEW_DAYS:
        ctx.failed(resource, msg("con.apns.expiring", days=left), expected=expected,
                   observed=observed, remediation=renew, action=action, evidence=[evidence])
    else:
        ctx.passed(resource, msg("con.apns.ok", days=left, apple_id=apple_id),
                   expected=expected, observed=observed, evidence=[evidence])


async def report_vpp_tokens(ctx) -> None:
    tokens, evidence = await ctx.graph.get("vpp_tokens", select=["id", "organizationName", "appleId", "state",
                                                                   "expirationDateTime", "lastSyncStatus"])
    if not tokens:
        ctx.passed("Apple VPP tokens", msg("con.vpp.none"), observed=msg("con.vpp.zero"), evidence=[evidence])
        return
    for token in tokens:
        name = f"VPP token {label(token, 'organizationName', 'appleId', 'id')}"  # the resource key
        try:
            state = require(token, "state", str, read=VPP_READ, of=name, known=VPP_STATES)
            expires = require_time(token, "expirationDateTime", read=VPP_READ, of=name)
            apple_id = require(token, "appleId", str, read=VPP_READ, of=name)
        except Unreadable as exc:
            ctx.errored(name, error_text(exc), evidence=[evidence], action=graph_unreadable(VPP_READ))
            continue
        left = days_left(expires)
        token_name = label(token, "organizationName", "appleId", "id")
        observed = msg("con.vpp.observed", state=state, expiry=expiry_text(expires, left), apple_id=apple_id)
        expected = msg("con.vpp.expected", days=RENEW_DAYS)
        action = ActionRef(key="intune.renew-vpp-token", params={"apple_id": apple_id})
        if state != "valid" or left < 0:
            ctx.failed(name, msg("con.vpp.unusable", name=token_name,
                                 state=msg("con.vpp.expired-word") if left < 0 else state),
                       expected=expected, observed=observed, action=action, evidence=[evidence])
        elif left <= RENEW_DAYS:
            ctx.failed(name, msg("con.vpp.expiring", name=token_name, days=left), expected=expected,
                       observed=observed, action=action, evidence=[evidence])
        else:
            ctx.passed(name, msg("con.vpp.ok", name=token_name, days=left), expected=expected, observed=observed,
                       evidence=[evidence])


async def report_android_binding(ctx, android_planned: bool) -> None:
    resource = "Android Enterprise binding"
    expected = msg("con.android.expected")
    try:
        settings, evidence = await ctx.graph.get("android_enterprise",
                                                 select=["id", "bindStatus", "ownerUserPrincipalName",
                                                         "ownerOrganizationName", "lastAppSyncStatus"])
    except GraphError as exc:
        if not not_configured(exc):
            raise
        settings, evidence = None, None
    status = None
    if settings is not None:
        try:
            status = require(settings, "bindStatus", str, read=ANDROID_READ, known=BIND_STATES)
        except Unreadable as exc:
            ctx.errored(resource, error_text(exc), expected=expected, evidence=[evidence],
                        action=graph_unreadable(ANDROID_READ))
            return
    bound = status in ("bound", "boundAndValidated")
    observed = f"bindStatus {status}" if status else msg("con.android.not-set-up")
    if bound:
        owner = label(settings, "ownerUserPrincipalName")
        ctx.passed(resource, msg("con.android.bound.by", owner=owner) if owner != "?" else msg("con.android.bound"),
                   expected=expected, observed=observed, evidence=[evidence])
    elif android_planned:
        ctx.failed(resource, msg("con.android.unbound"), expected=expected, observed=observed, evidence=[evidence],
                   action=ActionRef(key="intune.bind-managed-google-play"))
    else:
        ctx.skipped(resource, msg("con.android.not-planned"), observed=observed, evidence=[evidence])
