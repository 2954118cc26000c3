"""What the scan probes, derived once per scan from the profile and (when it runs) the tenant.

Checks ask the inventory instead of each other, so no check depends on another having run:
the federation sign-in hosts DOM-002 reports are the same hosts the TLS checks examine.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ems_readiness.engine.texts import msg
from ems_readiness.probes.base import ProbeError, SingleFlightCache
from ems_readiness.engine.profile import Profile


@dataclass(frozen=True)
class TlsTarget:
    host: str
    port: int
    origin: str  # "profile" | "federation:<domain>"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def split_host_port(text: str, default_port: int = 443) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, default_port


def safe_port(parts) -> int | None:
    """The URL's port, 443 by default; None for a port that is not a number in range (tenant data)."""
    if parts is None:
        return None
    try:
        return parts.port or 443
    except ValueError:
        return None


def is_initial_domain(name: str) -> bool:
    return name.lower().endswith(".onmicrosoft.com")


class Inventory:
    def __init__(self, profile: Profile, graph: Any | None, tenant_unread: str | None = None) -> None:
        self.profile = profile
        self.graph = graph
        self.tenant_unread = tenant_unread  # the tenant side ran but read nothing: its data is unknown
        self._cache = SingleFlightCache()
        self._endpoints: list[Any] | None = None

    async def tenant_domains(self) -> list[dict[str, Any]] | None:
        """The tenant's domain objects, or None when the tenant side is off."""
        if self.graph is None:
            if self.tenant_unread:
                raise ProbeError(msg("inventory.domains-unknown", reason=self.tenant_unread))
            return None
        domains, _ = await self.graph.get(
            "domains", select=["id", "authenticationType", "isVerified", "isDefault", "isInitial", "isRoot", "supportedServices"]
        )
        return [d for d in domains if isinstance(d, dict) and isinstance(d.get("id"), str)]

    async def domains(self) -> list[str]:
        """Custom domains whose DNS the network checks examine."""
        return await self._cache.get("domains", self._domains)

    async def _domains(self) -> list[str]:
        if self.profile.dns.domains:
            return [d.lower().rstrip(".") for d in self.profile.dns.domains]
        tenant = await self.tenant_domains()
        if tenant is None:
            return []
        return sorted(
            d["id"].lower() for d in tenant if not is_initial_domain(d["id"]) and d.get("isVerified") is not False
        ) + sorted(d["id"].lower() for d in tenant if not is_initial_domain(d["id"]) and d.get("isVerified") is False)

    async def service_records(self, domain: str) -> list[dict[str, Any]] | None:
        if self.graph is None:
            return None
        records, _ = await self.graph.get("domain_service_records", ids={"id": domain})
        return records if isinstance(records, list) else []

    async def federation(self, domain: str) -> list[dict[str, Any]]:
        records, _ = await self.graph.get("domain_federation", ids={"id": domain})
        return records if isinstance(records, list) else []

    async def federation_hosts(self) -> list[TlsTarget]:
        """Sign-in hosts of every federated domain, each host:port once (one AD FS farm often
        serves several domains; the first domain names the origin)."""
        found: dict[tuple[str, int], TlsTarget] = {}
        for targets in (await self.federation_hosts_by_domain()).values():
            for target in targets:
                found.setdefault((target.host, target.port), target)
        return list(found.values())

    async def federation_hosts_by_domain(self) -> dict[str, list[TlsTarget]]:
        """Each federated domain's sign-in hosts (passive and active sign-in, sign-out URIs)."""
        return await self._cache.get("federation_hosts_by_domain", self._federation_hosts_by_domain)

    async def _federation_hosts_by_domain(self) -> dict[str, list[TlsTarget]]:
        tenant = await self.tenant_domains() if self.graph is not None else None
        if not tenant:
            return {}
        federated = [d["id"] for d in tenant if str(d.get("authenticationType", "")).lower() == "federated"]
        configs = await asyncio.gather(*(self.federation(d) for d in federated), return_exceptions=True)
        by_domain: dict[str, list[TlsTarget]] = {}
        for domain, config in zip(federated, configs, strict=True):
            if isinstance(config, BaseException):
                continue  # DOM-002 reports the read error; the TLS checks examine what is known
            targets: dict[tuple[str, int], TlsTarget] = {}
            for entry in config:
                for key in ("passiveSignInUri", "activeSignInUri", "signOutUri"):
                    uri = entry.get(key)
                    parts = urlsplit(uri) if isinstance(uri, str) else None
                    port = safe_port(parts)
                    if parts and parts.scheme == "https" and parts.hostname and port:
                        target = TlsTarget(parts.hostname.lower(), port, f"federation:{domain}")
                        targets.setdefault((target.host, target.port), target)
            by_domain[domain] = list(targets.values())
        return by_domain

    async def tls_hosts(self) -> list[TlsTarget]:
        targets: dict[tuple[str, int], TlsTarget] = {}
        for text in self.profile.tls.hosts:
            host, port = split_host_port(text)
            targets[(host.lower(), port)] = TlsTarget(host.lower(), port, "profile")
        for target in await self.federation_hosts():
            targets.setdefault((target.host, target.port), target)
        return list(targets.values())

    def endpoints(self) -> list[Any]:
        """The catalogue's endpoints of the profile's services (loaded once per scan)."""
        if self._endpoints is None:
            self._endpoints = selected_endpoints(self.profile)
        return list(self._endpoints)

    def platform_endpoints(self, services: list[str]) -> list[Any]:
        """The catalogue's Apple/Google endpoints (services `apple`, `android`) the plan's platforms need."""
        from ems_readiness.engine.endpoints import load_catalog

        path = self.profile.path(self.profile.network.catalog) if self.profile.network.catalog else None
        return [e for e in load_catalog(path) if e.service in services]

    def planned_platform_endpoints(self) -> list[Any]:
        from ems_readiness.checks.platform_endpoints import planned_services

        chosen = [s for s in planned_services(self.profile.plan) if s not in self.profile.network.services]
        return self.platform_endpoints(chosen) if chosen else []

    async def tls_endpoints(self) -> list[Any]:
        """Microsoft's (network.services) and, for the planned platforms, Apple's and Google's."""
        return [e for e in self.endpoints() + self.planned_platform_endpoints() if e.tls]

    def targets(self) -> list[Any]:
        return list(self.profile.network.targets)


def selected_endpoints(profile: Profile) -> list[Any]:
    """Raises CatalogError (one line naming file and entry) for a bad catalogue."""
    from ems_readiness.engine.endpoints import load_catalog

    path = profile.path(profile.network.catalog) if profile.network.catalog else None
    services = set(profile.network.services)
    return [e for e in load_catalog(path) if e.service in services]
