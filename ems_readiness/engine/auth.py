"""Sign-in: azure-identity credentials for each --auth mode, the static-token mode, and token claims.

Nothing here ever prints, logs or raises with a secret or a token in the message.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken

from ems_readiness.engine.profile import Profile
from ems_readiness.engine.secrets import SECRETS

TOKEN_ENV = "EMS_READINESS_TOKEN"
PUBLIC_GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PUBLIC_AUTHORITY_HOST = "login.microsoftonline.com"
SECRET_ENVIRONMENT = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD", TOKEN_ENV)
# the user types a code in a browser: that wait is the device code's own lifetime, not a network timeout
DEVICE_CODE_SECONDS = 900.0
SIGN_IN_HINT = ("set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, sign in with --auth cli,"
                " or scan without the tenant (--no-tenant)")
# RFC 6750 b64token: what an Authorization header can carry
BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class SignInError(Exception):
    """Sign-in failed; the message is safe to print (no secret, no token)."""


@dataclass
class TokenClaims:
    """What a JWT access token says about its grants; `kind` None for opaque tokens."""

    kind: str | None  # "application" | "delegated" | None
    granted: frozenset[str] = field(default_factory=frozenset)
    tenant_id: str | None = None
    app_id: str | None = None
    # the address Entra saw the token requested from (the ipaddr claim): the site's egress
    ipaddr: str | None = None

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
    ipaddr = ip_claim(claims.get("ipaddr"))
    if isinstance(claims.get("scp"), str):
        return TokenClaims("delegated", frozenset(claims["scp"].split()), tenant, app, ipaddr)
    roles = claims.get("roles")
    if isinstance(roles, list):
        return TokenClaims("application", frozenset(r for r in roles if isinstance(r, str)), tenant, app, ipaddr)
    return TokenClaims(kind="application", granted=frozenset(), tenant_id=tenant, app_id=app, ipaddr=ipaddr)


def ip_claim(value: object) -> str | None:
    """The ipaddr claim when it is an IP address (it is untrusted text like any claim)."""
    import ipaddress

    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def graph_scope(graph_url: str) -> str:
    parts = urlsplit(graph_url)
    if parts.scheme == "https" and parts.hostname:
        return f"https://{parts.hostname}/.default"
    return PUBLIC_GRAPH_SCOPE  # loopback emulators stand in for the public cloud


def register_environment_secrets() -> None:
    for name in SECRET_ENVIRONMENT:
        SECRETS.add(os.environ.get(name, "").strip())


def static_token_problem() -> str | None:
    """Why EMS_READINESS_TOKEN cannot be sent as a bearer token (bad input, exit 2); None when it can
    or is not set (a missing token is a sign-in failure, found when the tenant side starts)."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    SECRETS.add(token)
    if token and not BEARER_TOKEN.fullmatch(token):
        kind = "non-ASCII characters" if not token.isascii() else "characters a bearer token cannot hold"
        return (f"{TOKEN_ENV} holds {kind} (a bearer token is letters, digits and -._~+/=);"
                " set it to the access token alone")
    return None


def sign_in_target(profile: Profile) -> str | None:
    """What the terminal names while signing in: the authority's host, or the local source."""
    mode = profile.tenant.auth
    if mode == "token":
        return None
    if mode == "cli":
        return "the Azure CLI"
    if mode == "managed-identity":
        return "the managed identity endpoint"
    authority = profile.tenant.authority or os.environ.get("AZURE_AUTHORITY_HOST") or PUBLIC_AUTHORITY_HOST
    if "://" not in authority:
        authority = "https://" + authority
    return urlsplit(authority).netloc or PUBLIC_AUTHORITY_HOST


class StaticTokenCredential:
    """`--auth token`: a pre-acquired bearer token (emulators, tokens minted elsewhere)."""

    def __init__(self, token: str) -> None:
        SECRETS.add(token)
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


class AsyncCachingCredential:
    """Runs a synchronous azure-identity credential off the event loop and caches its token.

    Kiota awaits `get_token` when it returns an awaitable, so sign-in never blocks the probes.
    Each sign-in ends within `timeout` seconds: a sign-in host that drops packets would otherwise
    hold the scan for azure-identity's own connect timeout, retried (minutes of silence).
    """

    def __init__(self, inner: Any, timeout: float = 30.0, target: str | None = None) -> None:
        self._inner = inner
        self._timeout = timeout
        self._target = target or "the sign-in endpoint"
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        async with self._lock:
            if self._token is None or self._token.expires_on - 300 < time.time():
                try:
                    token = await in_daemon_thread(lambda: self._inner.get_token(*scopes), self._timeout)
                except TimeoutError:
                    raise SignInError(f"no answer from {self._target} within {self._timeout:g} s") from None
                except Exception as exc:  # azure-identity raises many types; none carries the secret
                    raise SignInError(safe_reason(exc)) from None
                SECRETS.add(token.token)
                self._token = token
            return self._token

    def __repr__(self) -> str:
        return f"AsyncCachingCredential({type(self._inner).__name__})"


async def in_daemon_thread(fn: Any, timeout: float) -> Any:
    """fn() in a daemon thread, awaited for at most `timeout` seconds. A thread cannot be stopped;
    a daemon one left blocked in a socket call does not keep the process from exiting (asyncio's
    own executor would: asyncio.run waits for its threads)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            (future.set_result if ok else future.set_exception)(value)

    def run() -> None:
        try:
            result = fn()
        except BaseException as exc:  # handed to the awaiting task, never raised in the thread
            loop.call_soon_threadsafe(settle, False, exc)
        else:
            loop.call_soon_threadsafe(settle, True, result)

    threading.Thread(target=run, name="sign-in", daemon=True).start()
    return await asyncio.wait_for(future, timeout)


def safe_reason(exc: BaseException) -> str:
    from ems_readiness.engine.secrets import scrub

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = scrub(" ".join(text.split()))[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def sign_in_seconds(profile: Profile) -> float:
    if profile.tenant.auth == "device-code":
        return max(profile.tenant.timeout_seconds, DEVICE_CODE_SECONDS)
    return profile.tenant.timeout_seconds


def build_credential(profile: Profile, proxy: Any = None) -> Any:
    """The credential for --auth; `proxy` is the one parsed ProxyAddress every client uses."""
    register_environment_secrets()
    mode = profile.tenant.auth
    if mode == "token":
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise SignInError(f"--auth token needs the bearer token in the {TOKEN_ENV} environment variable")
        problem = static_token_problem()
        if problem:
            raise SignInError(problem)
        return StaticTokenCredential(token)
    import azure.identity as identity  # imported only when needed: it is slow

    timeout = sign_in_seconds(profile)
    # one try, each request bounded, well inside the overall sign-in bound
    kwargs: dict[str, Any] = {"connection_timeout": min(timeout, 10.0), "read_timeout": timeout,
                              "retry_total": 1, "timeout": timeout}
    if profile.tenant.authority:
        kwargs["authority"] = profile.tenant.authority
        kwargs["disable_instance_discovery"] = True
    if profile.tenant.ca_bundle:
        kwargs["connection_verify"] = str(profile.path(profile.tenant.ca_bundle))
    if proxy is not None:  # sign-in goes the way Graph goes, through the same parsed proxy
        from ems_readiness.probes.graph_transport import proxy_url

        url = proxy_url(proxy, with_credentials=True)
        kwargs["proxies"] = {"http": url, "https": url}
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
            inner = identity.DefaultAzureCredential(**kwargs)
    except Exception as exc:
        raise SignInError(f"cannot set up --auth {mode}: {safe_reason(exc)}") from None
    return AsyncCachingCredential(inner, timeout=timeout, target=sign_in_target(profile))


async def acquire_token(credential: Any, scope: str) -> str:
    try:
        result = credential.get_token(scope)
        if asyncio.iscoroutine(result):
            result = await result
    except SignInError:
        raise
    except Exception as exc:
        raise SignInError(safe_reason(exc)) from None
    SECRETS.add(result.token)
    return result.token
