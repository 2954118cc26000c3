"""Sign-in: azure-identity credentials for each --auth mode, the static-token mode, and token claims.

Nothing here ever prints, logs or raises with a secret or a token in the message.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken

from ems_readiness.engine.profile import Profile

TOKEN_ENV = "EMS_READINESS_TOKEN"
PUBLIC_GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class SignInError(Exception):
    """Sign-in failed; the message is safe to print (no secret, no token)."""


@dataclass
class TokenClaims:
    """What a JWT access token says about its grants; `kind` None for opaque tokens."""

    kind: str | None  # "application" | "delegated" | None
    granted: frozenset[str] = field(default_factory=frozenset)
    tenant_id: str | None = None
    app_id: str | None = None

    @property
    def known(self) -> bool:
        return self.kind is not None


def read_claims(token: str) -> TokenClaims:
    parts = token.split(".")
    if len(parts) != 3:
        return TokenClaims(kind=None)
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return TokenClaims(kind=None)
    if not isinstance(claims, dict):
        return TokenClaims(kind=None)
    tenant = claims.get("tid") if isinstance(claims.get("tid"), str) else None
    app = claims.get("appid") or claims.get("azp")
    if isinstance(claims.get("scp"), str):
        return TokenClaims("delegated", frozenset(claims["scp"].split()), tenant, app)
    roles = claims.get("roles")
    if isinstance(roles, list):
        return TokenClaims("application", frozenset(r for r in roles if isinstance(r, str)), tenant, app)
    return TokenClaims(kind="application", granted=frozenset(), tenant_id=tenant, app_id=app)


def graph_scope(graph_url: str) -> str:
    parts = urlsplit(graph_url)
    if parts.scheme == "https" and parts.hostname:
        return f"https://{parts.hostname}/.default"
    return PUBLIC_GRAPH_SCOPE  # loopback emulators stand in for the public cloud


class StaticTokenCredential:
    """`--auth token`: a pre-acquired bearer token (emulators, tokens minted elsewhere)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


class AsyncCachingCredential:
    """Runs a synchronous azure-identity credential off the event loop and caches its token.

    Kiota awaits `get_token` when it returns an awaitable, so sign-in never blocks the probes.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        async with self._lock:
            if self._token is None or self._token.expires_on - 300 < time.time():
                try:
                    self._token = await asyncio.to_thread(self._inner.get_token, *scopes)
                except Exception as exc:  # azure-identity raises many types; none carries the secret
                    raise SignInError(safe_reason(exc)) from None
            return self._token

    def __repr__(self) -> str:
        return f"AsyncCachingCredential({type(self._inner).__name__})"


def safe_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def build_credential(profile: Profile) -> Any:
    mode = profile.tenant.auth
    if mode == "token":
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise SignInError(f"--auth token needs the bearer token in the {TOKEN_ENV} environment variable")
        return StaticTokenCredential(token)
    import azure.identity as identity  # imported only when needed: it is slow

    kwargs: dict[str, Any] = {}
    if profile.tenant.authority:
        kwargs["authority"] = profile.tenant.authority
        kwargs["disable_instance_discovery"] = True
    if profile.tenant.ca_bundle:
        kwargs["connection_verify"] = str(profile.path(profile.tenant.ca_bundle))
    if profile.network.proxy:  # sign-in goes the way Graph goes
        kwargs["proxies"] = {"http": profile.network.proxy, "https": profile.network.proxy}
    tenant = profile.tenant.id
    try:
        if mode == "env":
            inner = identity.EnvironmentCredential(**kwargs)
        elif mode == "cli":
            inner = identity.AzureCliCredential(tenant_id=tenant)
        elif mode == "device-code":
            client_id = profile.tenant.client_id or os.environ.get("AZURE_CLIENT_ID")
            # without a client id azure-identity signs in with its own public client application
            inner = identity.DeviceCodeCredential(**({"client_id": client_id} if client_id else {}),
                                                  tenant_id=tenant, **kwargs)
        elif mode == "managed-identity":
            inner = identity.ManagedIdentityCredential(client_id=profile.tenant.client_id)
        elif mode == "workload-identity":
            inner = identity.WorkloadIdentityCredential(tenant_id=tenant, client_id=profile.tenant.client_id, **kwargs)
        else:
            inner = identity.DefaultAzureCredential(**({"authority": kwargs["authority"]} if "authority" in kwargs else {}))
    except Exception as exc:
        raise SignInError(f"cannot set up --auth {mode}: {safe_reason(exc)}") from None
    return AsyncCachingCredential(inner)


async def acquire_token(credential: Any, scope: str) -> str:
    try:
        result = credential.get_token(scope)
        if asyncio.iscoroutine(result):
            result = await result
    except SignInError:
        raise
    except Exception as exc:
        raise SignInError(safe_reason(exc)) from None
    return result.token
