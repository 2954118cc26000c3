"""The tenant side's start: sign in, make the first Graph read, or say why the tenant was not read.

Nothing here ends the scan: a tenant that cannot be read is `TenantConnection.unread`, the runner
turns every tenant check into an `error` finding saying why, the network side still runs, and the
CLI exits 3 after writing the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ems_readiness.engine.auth import (
    SignInError, TokenClaims, acquire_token, build_credential, graph_scope, read_claims, sign_in_target,
)
from ems_readiness.engine.profile import Profile
from ems_readiness.engine.secrets import SECRETS
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.proxy import ProxyAddress, parse_proxy_url

# the whole tenant side (every Graph read of every check) ends within
# max(TENANT_DEADLINE_FLOOR_SECONDS, TENANT_DEADLINE_FACTOR x [tenant] timeout_seconds) + max_retry_wait_seconds
TENANT_DEADLINE_FLOOR_SECONDS = 900.0  # as long as one check may run (runner.CHECK_TIME_LIMIT)
TENANT_DEADLINE_FACTOR = 40


@dataclass
class TenantConnection:
    graph: Any = None  # GraphProbe
    claims: TokenClaims | None = None
    tenant_id: str | None = None
    tenant_name: str | None = None
    unread: str | None = None  # why the tenant could not be read at all (exit 3)
    resource: str = "tenant"  # what the unread finding is about: the sign-in host or the Graph root


def tenant_deadline_seconds(profile: Profile) -> float:
    return max(TENANT_DEADLINE_FLOOR_SECONDS, TENANT_DEADLINE_FACTOR * profile.tenant.timeout_seconds) \
        + profile.tenant.max_retry_wait_seconds


def profile_proxy(profile: Profile) -> ProxyAddress | None:
    """The one parsed proxy every client uses (Graph, sign-in); its password is a secret."""
    if not profile.network.proxy:
        return None
    proxy = parse_proxy_url(profile.network.proxy)
    SECRETS.add(proxy.password)
    return proxy


async def connect_tenant(profile: Profile, evidence: EvidenceLog, credential: Any,
                         on_status: Callable[[str], None] | None = None) -> TenantConnection:
    """Sign in and make the first read (/organization). Failing either, the tenant is not read:
    the connection says why, and the rest of the scan goes on without it."""
    from urllib.parse import urlsplit

    from ems_readiness.probes.graph import (
        ORGANIZATION_FIELDS, GraphAuthError, GraphError, GraphNotSupported, GraphPermissionError, GraphProbe,
        build_client,
    )

    scope = graph_scope(profile.tenant.graph_url)
    proxy = profile_proxy(profile)
    target = sign_in_target(profile) if credential is None else None
    graph_host = urlsplit(profile.tenant.graph_url).netloc
    try:
        if target and on_status:
            on_status(f"signing in to {target} …")
        credential = credential or build_credential(profile, proxy)
        token = await acquire_token(credential, scope)
    except SignInError as exc:
        where = f"sign-in to {target} failed" if target else "sign-in failed"
        return TenantConnection(tenant_id=profile.tenant.id, unread=f"{where}: {exc}", resource=target or "sign-in")
    claims = read_claims(token)
    del token
    client = build_client(profile.tenant.graph_url, credential, scope, profile.tenant.timeout_seconds,
                          proxy=proxy,
                          ca_bundle=str(profile.path(profile.tenant.ca_bundle)) if profile.tenant.ca_bundle else None)
    graph = GraphProbe(profile.tenant.graph_url, client, evidence, claims,
                       concurrency=profile.tenant.concurrency, timeout=profile.tenant.timeout_seconds,
                       max_retry_wait=profile.tenant.max_retry_wait_seconds,
                       deadline=tenant_deadline_seconds(profile))
    connection = TenantConnection(graph, claims, claims.tenant_id or profile.tenant.id, resource=graph_host)
    try:
        orgs, _ = await graph.get("organization", select=ORGANIZATION_FIELDS)
        if orgs:
            connection.tenant_id, connection.tenant_name = organization_identity(orgs[0], connection.tenant_id)
    except (GraphPermissionError, GraphNotSupported):
        pass  # the checks that need it say so; the others can still read the tenant
    except GraphAuthError as exc:
        connection.unread = str(exc)
    except GraphError as exc:
        if exc.unreachable:  # nothing answered at all, or a proxy stood in the way
            connection.unread = f"the tenant could not be reached at {profile.tenant.graph_url}: {exc}"
        elif exc.status in (400, 404, 405):  # something answered, but not Microsoft Graph
            connection.unread = f"{profile.tenant.graph_url} did not answer like Microsoft Graph: {exc}"
        else:
            connection.unread = f"the tenant's first read failed: {exc}"
    if connection.unread:
        await graph.aclose()
        connection.graph = None
    return connection


def organization_identity(org: Any, tenant_id: str | None) -> tuple[str | None, str | None]:
    """The tenant's id and name from /organization, when they are the strings Graph sends."""
    from ems_readiness.probes.graph import GraphError

    if not isinstance(org, dict):
        raise GraphError(f"Graph read /organization returned a {type(org).__name__} where an object belongs")
    org_id, name = org.get("id", tenant_id), org.get("displayName")
    if org_id is not None and not isinstance(org_id, str):
        raise GraphError(f"Graph read /organization returned an id of type {type(org_id).__name__}, not a string")
    if name is not None and not isinstance(name, str):
        raise GraphError(f"Graph read /organization returned a displayName of type {type(name).__name__}")
    return org_id, name
