"""The Graph probe: read-only Microsoft Graph reads through msgraph-sdk over real HTTP.

Requests go through msgraph-sdk's request adapter (its auth provider, middleware and error
mapping); bodies are parsed as plain JSON so unknown enum values and beta-only fields survive as
the tenant sent them. The SDK's own retry handler is switched off per request: it ignores
fractional Retry-After values and adds a fixed 3 s to every wait (reference/graph.md §3.3), so
the probe retries 429/503/504 itself with a bounded total wait.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, AsyncIterator
from urllib.parse import quote, urlsplit

import httpx

from ems_readiness.engine.auth import SignInError, TokenClaims
from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.model import Evidence, Text
from ems_readiness.engine.secrets import scrub
from ems_readiness.engine.texts import joined, msg
from ems_readiness.probes.base import EvidenceLog, ProbeError, SingleFlightCache, Stopwatch, TextError
from ems_readiness.probes.graph_transport import Redirected, ResponseRejected, http_client
from ems_readiness.probes.proxy import ProxyAddress

# the organization fields the scan reads; one list so the runner's first read and the checks'
# reads are the same cached request
ORGANIZATION_FIELDS = ["id", "displayName", "verifiedDomains", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime"]
RETRY_STATUSES = {429, 503, 504}
MAX_ATTEMPTS = 6
TRANSPORT_RETRIES = 2
PAGE_SIZE = 999
MAX_PAGES = 5000  # 5 million objects at 999 a page: more is a server that does not stop
MAX_REDIRECTS = 5
SERVER_TEXT_LIMIT = 300  # characters of a server's own error message that reach a reason


class GraphError(ProbeError):
    """A Graph read that finally failed; its checks become `error` with this reason."""

    def __init__(self, message: str | Text, status: int | None = None, code: str | None = None,
                 unreachable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.unreachable = unreachable  # nothing answered at all (connection failed or timed out)


class GraphPermissionError(GraphError):
    def __init__(self, read: str, permission: str, kind: str | None, detail: Text) -> None:
        who = kind if kind in ("application", "delegated") else "unknown"
        message = msg("graph.error.permission", error=msg(f"graph.error.permission.{who}", permission=permission,
                                                           read=read), detail=detail)
        super().__init__(message, status=403, code="Authorization_RequestDenied")
        self.permission = permission


class GraphPremiumRequired(GraphError):
    """403 because the tenant lacks the licence the read needs (Entra ID P1/P2 for the reports)."""


PREMIUM_REQUIRED_CODE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


class GraphNotSupported(GraphError):
    """The read does not exist for this kind of sign-in (delegated-only APIs under app-only)."""


class GraphAuthError(TextError):
    """401 or sign-in failure: the scan cannot go on (exit 3)."""


@dataclass(frozen=True)
class GraphRead:
    name: str
    path: str
    application: tuple[str, ...]
    delegated: tuple[str, ...]
    collection: bool


def page_items(read: GraphRead, body: Any) -> list[Any]:
    """A collection page's `value`; anything else is an answer the probe cannot read, never 'empty'."""
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise GraphError(f"Graph read {read.path} returned no 'value' list (got {type(items).__name__})")
    return items


@lru_cache(maxsize=1)
def graph_reads() -> dict[str, GraphRead]:
    raw = data_toml("graph_reads.toml")
    return {
        name: GraphRead(name, r["path"], tuple(r["application"]), tuple(r["delegated"]), r["collection"])
        for name, r in raw["reads"].items()
    }


@lru_cache(maxsize=1)
def implied_by() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in data_toml("graph_reads.toml")["implied_by"].items()}


def is_granted(permission: str, granted: frozenset[str]) -> bool:
    return permission in granted or any(p in granted for p in implied_by().get(permission, ()))


def retry_after_seconds(headers: Any) -> float | None:
    """Retry-After in seconds: integer, fractional (Graph sends e.g. 2.128) or an HTTP date."""
    if headers is None:
        return None
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            from datetime import datetime, timezone

            seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds)


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 30 s."""
    return rng.uniform(0, min(30.0, 0.5 * 2**attempt))


def answered(status: int, code: str | None, path: str, message: str) -> Text:
    """'Graph answered STATUS CODE for PATH: MESSAGE', the server's own code and words as data."""
    if not message:
        return msg("graph.error.answered.bare", status=status, code=code or "", path=path)
    return msg("graph.error.answered", status=status, code=code or "", path=path, message=message)


def server_text(text: Any) -> str:
    """A server's own words, for a reason: bounded, one line, with no secret of ours in them."""
    if not isinstance(text, str):
        return ""
    flat = " ".join(scrub(text).split())
    return flat if len(flat) <= SERVER_TEXT_LIMIT else flat[:SERVER_TEXT_LIMIT] + "…"


def same_origin(url: str, root: str) -> bool:
    a, b = urlsplit(url), urlsplit(root)
    try:
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
    except ValueError:
        return False


def build_client(root: str, credential: Any, scope: str, timeout: float, proxy: ProxyAddress | None = None,
                 ca_bundle: str | None = None) -> Any:
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.graph_request_adapter import options as graph_options
    from msgraph_core import GraphClientFactory

    http = GraphClientFactory.create_with_default_middleware(
        client=http_client(timeout=timeout, proxy=proxy, ca_bundle=ca_bundle),
        options=dict(graph_options),
    )
    # the token goes to the Graph root's host only, never to a host a response names
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[scope], allowed_hosts=[urlsplit(root).hostname or ""])
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{root}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


class PageGuard:
    """The pages of one collection read: a nextLink back to a page already read, or more pages
    than any tenant has, is a server that would never stop, and the read ends as an error."""

    def __init__(self, read: GraphRead, first: str) -> None:
        self.read = read
        self.seen = {first}

    def next(self, link: str) -> str:
        if link in self.seen:
            raise GraphError(f"Graph read {self.read.path}: @odata.nextLink points back at a page already read"
                             f" (page {len(self.seen) + 1}); paging stopped")
        if len(self.seen) >= MAX_PAGES:
            raise GraphError(f"Graph read {self.read.path}: more than {MAX_PAGES} pages; paging stopped")
        self.seen.add(link)
        return link


class GraphProbe:
    def __init__(
        self,
        root: str,
        client: Any,
        evidence: EvidenceLog,
        claims: TokenClaims,
        *,
        concurrency: int = 8,
        timeout: float = 30.0,
        max_retry_wait: float = 120.0,
        deadline: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.root = root.rstrip("/")
        self.client = client
        self.evidence = evidence
        self.claims = claims
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        self._sem = asyncio.Semaphore(concurrency)
        self._cache = SingleFlightCache()
        self._rng = random.Random(seed)
        self.requests = 0
        self.retries = 0
        self.reads_ok = 0  # reads that gave an answer the probe could use
        # the whole tenant side ends by then (time.monotonic()), whatever each read still wants
        self.deadline_seconds = deadline
        self._ends_at = time.monotonic() + deadline if deadline else None

    def remaining(self, read: GraphRead) -> float:
        if self._ends_at is None:
            return float("inf")
        left = self._ends_at - time.monotonic()
        if left <= 0:
            raise GraphError(msg("graph.error.deadline", path=read.path, seconds=f"{self.deadline_seconds:g}"))
        return left

    # ---- preflight -------------------------------------------------------------------------

    def missing_permissions(self, application: list[str], delegated: list[str]) -> list[str]:
        """Permissions the token lacks for a check; empty when unknown (opaque token) or all granted."""
        if not self.claims.known:
            return []
        needed = delegated if self.claims.kind == "delegated" else application
        return [p for p in needed if not is_granted(p, self.claims.granted)]

    def _preflight(self, read: GraphRead) -> None:
        if self.claims.kind == "application" and not read.application:
            raise GraphNotSupported(
                msg("graph.error.app-only", path=read.path, permissions=joined(read.delegated, "comma")), status=403)
        if not self.claims.known:
            return
        needed = read.delegated if self.claims.kind == "delegated" else read.application
        for permission in needed:
            if not is_granted(permission, self.claims.granted):
                raise GraphPermissionError(read.path, permission, self.claims.kind, msg("graph.error.not-granted"))

    # ---- transport -------------------------------------------------------------------------

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = ""
        if params:
            query = "?" + "&".join(
                f"{k}={quote(str(v), safe=',()/:')}" for k, v in params.items() if v is not None
            )
        return f"{self.root}{path}{query}"

    async def _send(self, read: GraphRead, url: str, headers: dict[str, str]) -> tuple[dict[str, Any], Stopwatch]:
        from kiota_abstractions.api_error import APIError
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from kiota_http.middleware.options import RedirectHandlerOption, RetryHandlerOption
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        waited = 0.0
        transport_failures = 0
        attempt = 0
        redirects: list[str] = []
        watch = Stopwatch()
        while True:
            info = RequestInformation(Method.GET)
            info.url = url
            info.headers.try_add("Accept", "application/json")
            for name, value in headers.items():
                info.headers.try_add(name, value)
            info.add_request_options([RetryHandlerOption(max_retries=0, should_retry=False),
                                      RedirectHandlerOption(should_redirect=False)])
            delay: float | None = None
            throttled = False  # only waits Graph asked for count against max_retry_wait
            limit = min(self.timeout, self.remaining(read))
            try:
                async with self._sem:
                    self.requests += 1
                    async with asyncio.timeout(limit):  # the whole exchange, body included
                        body = await self.client.request_adapter.send_primitive_async(
                            info, "bytes", {"XXX": ODataError})
            except Redirected as exc:
                url = self._follow(read, url, exc, redirects)
                continue
            except ResponseRejected as exc:
                raise GraphError(f"Graph read {read.path}: {exc}") from None
            except APIError as exc:  # ODataError, or a gateway's non-JSON error page
                status = exc.response_status_code or 0
                error = getattr(exc, "error", None) if isinstance(exc, ODataError) else None
                code = server_text(error.code)[:80] if error and error.code else None
                message = server_text(error.message) if error and error.message else (
                    "" if error else "(not a Graph error body)")
                if status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                    throttled = True
                    delay = retry_after_seconds(exc.response_headers)
                    if delay is None:
                        delay = backoff_seconds(attempt, self._rng)
                elif status == 401:
                    raise GraphAuthError(answered(401, code, read.path, message)) from None
                elif status == 403 and code == PREMIUM_REQUIRED_CODE:
                    raise GraphPremiumRequired(msg("graph.error.premium", code=code, path=read.path), status, code) from None
                elif status == 403:
                    needed = read.delegated if self.claims.kind == "delegated" else read.application
                    permission = needed[0] if needed else "(delegated sign-in)"
                    raise GraphPermissionError(read.path, permission, self.claims.kind,
                                               msg("graph.error.403", code=str(code))) from None
                elif status == 407:
                    raise GraphError(msg("graph.error.407", path=read.path), status, code, unreachable=True) from None
                else:
                    raise GraphError(answered(status, code, read.path, message), status, code) from None
            except SignInError as exc:
                raise GraphAuthError(msg("graph.error.sign-in", error=str(exc))) from None
            except (httpx.TimeoutException, TimeoutError):
                transport_failures += 1
                if transport_failures > TRANSPORT_RETRIES:
                    raise GraphError(msg("graph.error.timeout", path=read.path, seconds=f"{limit:g}",
                                         attempts=transport_failures), unreachable=True) from None
                delay = backoff_seconds(attempt, self._rng)
            except httpx.TransportError as exc:
                transport_failures += 1
                if transport_failures > TRANSPORT_RETRIES:
                    detail = server_text(str(exc))
                    error = type(exc).__name__ + (f" ({detail})" if detail else "")
                    raise GraphError(msg("graph.error.transport", path=read.path, error=error), unreachable=True) from None
                delay = backoff_seconds(attempt, self._rng)
            except (httpx.HTTPError, RecursionError, ValueError, UnicodeError) as exc:
                # an answer no parser can read (a decoding error, an error body nested past any depth)
                raise GraphError(f"Graph read {read.path}: unreadable answer ({type(exc).__name__})") from None
            else:
                try:
                    return json.loads(body or b"{}"), watch
                except RecursionError:
                    raise GraphError(f"Graph read {read.path} returned JSON nested too deeply to read") from None
                except ValueError:
                    transport_failures += 1
                    if transport_failures > TRANSPORT_RETRIES:
                        raise GraphError(f"Graph read {read.path} returned malformed JSON") from None
                    delay = 0.0
            if throttled and waited + delay > self.max_retry_wait:
                raise GraphError(msg("graph.error.throttled", path=read.path, attempts=attempt + 1,
                                     waited=f"{waited:.1f}", limit=f"{self.max_retry_wait:g}"), status=429)
            attempt += 1
            self.retries += 1
            waited += delay if throttled else 0.0
            await asyncio.sleep(min(delay, self.remaining(read)))

    def _follow(self, read: GraphRead, url: str, redirect: Redirected, seen: list[str]) -> str:
        """A redirect is followed on the Graph root's own origin only, a few hops, never in a loop:
        the bearer token never goes to another host, and no other host's answer is tenant data."""
        target = redirect.location
        if not target:
            raise GraphError(f"Graph read {read.path}: answered {redirect.status} without a Location")
        if not same_origin(target, self.root):
            host = urlsplit(target).netloc[:100] or target[:100]
            raise GraphError(f"Graph read {read.path} was redirected ({redirect.status}) to another host,"
                             f" {server_text(host)}; not followed (the token is never sent there)")
        seen.append(url)
        if target in seen or len(seen) > MAX_REDIRECTS:
            raise GraphError(f"Graph read {read.path}: redirect loop ({len(seen)} redirects); not followed further")
        return target

    def _record(self, read: GraphRead, target: str, outcome: str, watch: Stopwatch | None, **data: Any) -> Evidence:
        return self.evidence.record("graph", target, outcome, watch.ms if watch else None, **data)

    # ---- reads -----------------------------------------------------------------------------

    async def get(self, name: str, *, ids: dict[str, str] | None = None,
                  select: list[str] | None = None) -> tuple[Any, Evidence]:
        """One entity or one page-less collection read, cached per scan."""
        read = graph_reads()[name]
        path = read.path.format(**{k: quote(v, safe="") for k, v in (ids or {}).items()})
        params = {"$select": ",".join(select)} if select else None
        key = (name, path, tuple(select or ()))
        return await self._cache.get(key, lambda: self._get(read, path, params))

    async def _get(self, read: GraphRead, path: str, params: dict[str, Any] | None) -> tuple[Any, Evidence]:
        watch = None
        try:
            self._preflight(read)
            url = self.url(path, params)
            body, watch = await self._send(read, url, {})
            if read.collection:
                result = page_items(read, body)
                if "@odata.nextLink" in body:
                    result = await self._rest_of(read, url, body, result)
            elif isinstance(body, dict) and not isinstance(body.get("value"), (list, dict)):
                result = body
            else:
                raise GraphError(f"Graph read {read.path} did not return one object")
        except GraphError as exc:
            self._record(read, path, "error", watch, reason=str(exc))
            raise
        self.reads_ok += 1
        evidence = self._record(read, path, "ok", watch, select=(params or {}).get("$select"),
                                items=len(result) if read.collection else None)
        return result, evidence

    async def _rest_of(self, read: GraphRead, first: str, body: dict[str, Any], items: list[Any]) -> list[Any]:
        items = list(items)
        pages = PageGuard(read, first)
        while isinstance(body, dict) and body.get("@odata.nextLink"):
            body, _ = await self._send(read, pages.next(self.next_link(read, body["@odata.nextLink"])), {})
            items.extend(page_items(read, body))
        return items

    def next_link(self, read: GraphRead, link: Any) -> str:
        """A nextLink must stay on the Graph root: the bearer token never follows a link elsewhere."""
        if isinstance(link, str) and urlsplit(link)[:2] == urlsplit(self.root)[:2]:
            return link
        raise GraphError(f"Graph read {read.path}: @odata.nextLink points away from {self.root}; not followed")

    async def stream(self, name: str, *, select: list[str], filter: str | None = None,
                     advanced: bool = False, page_size: int = PAGE_SIZE,
                     ids: dict[str, str] | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every object of a collection, page by page, never all in memory."""
        read = graph_reads()[name]
        self._preflight(read)
        path = read.path.format(**{k: quote(v, safe="") for k, v in (ids or {}).items()})
        params: dict[str, Any] = {"$select": ",".join(select), "$filter": filter, "$top": page_size}
        headers: dict[str, str] = {}
        if advanced:  # endsWith / ne / not / $search need both (reference/graph.md §2)
            params["$count"] = "true"
            headers["ConsistencyLevel"] = "eventual"
        url: str | None = self.url(path, params)
        guard = PageGuard(read, url)
        pages = 0
        total = 0
        watch = Stopwatch()
        try:
            while url:
                body, _ = await self._send(read, url, headers)
                pages += 1
                for item in page_items(read, body):
                    total += 1
                    yield item
                link = body.get("@odata.nextLink")
                url = guard.next(self.next_link(read, link)) if link else None
        except GraphError as exc:
            self._record(read, path, "error", watch, reason=str(exc), filter=filter, pages=pages)
            raise
        self.reads_ok += 1
        self._record(read, path, "ok", watch, filter=filter, select=",".join(select), pages=pages, items=total)

    def stream_evidence(self, name: str, *, ids: dict[str, str] | None = None,
                        filter: str | None = None) -> Evidence | None:
        """The evidence of a finished stream (of the one with that filter, when given)."""
        path = graph_reads()[name].path.format(**{k: quote(v, safe="") for k, v in (ids or {}).items()})
        for item in reversed(self.evidence.items):
            if item.probe == "graph" and item.target == path and (
                    filter is None or (item.data or {}).get("filter") == filter):
                return item
        return None

    async def aclose(self) -> None:
        http = getattr(self.client.request_adapter, "_http_client", None)
        if http is not None:
            await http.aclose()
