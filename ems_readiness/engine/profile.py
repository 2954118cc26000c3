"""The scan profile (TOML), validated by pydantic; flags win over the profile, the profile over the environment."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

AuthMode = Literal["default", "env", "cli", "device-code", "managed-identity", "workload-identity", "token"]
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


class ProfileError(Exception):
    """Bad profile or flag: one line naming the key and the file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantSection(_Section):
    id: str | None = None
    graph_url: str = "https://graph.microsoft.com"
    auth: AuthMode = "default"
    client_id: str | None = None
    concurrency: int = Field(default=8, ge=1, le=64)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    max_retry_wait_seconds: float = Field(default=120.0, ge=0, le=3600)
    # token service root for sign-in (national clouds, emulators); https only
    authority: str | None = None
    ca_bundle: str | None = None

    @field_validator("graph_url")
    @classmethod
    def _graph_url(cls, value: str) -> str:
        check_graph_url(value)
        return value.rstrip("/")


class IdentitySection(_Section):
    model: Literal["cloud-only", "synced", "federated"] = "synced"
    max_sync_age_minutes: int = Field(default=180, ge=1)
    # the agreed state of Entra Connect features, e.g. { passwordSyncEnabled = true } (DSY-005)
    features: dict[str, bool] = Field(default_factory=dict)


class DnsSection(_Section):
    resolvers: dict[str, str] = Field(default_factory=dict)
    domains: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=3.0, gt=0, le=60)

    @field_validator("resolvers")
    @classmethod
    def _resolvers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, address in value.items():
            parse_resolver_address(address, name)
        return value


class TlsSection(_Section):
    hosts: list[str] = Field(default_factory=list)

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        from ems_readiness.engine.inventory import split_host_port

        for text in value:
            try:
                host, port = split_host_port(text)
            except ValueError:
                raise ValueError(f"{text!r} is not host or host:port") from None
            if not host or not 0 < port < 65536:
                raise ValueError(f"{text!r} is not host or host:port")
        return value
    warn_days: int = Field(default=30, ge=0)
    trust: str = "system"
    # extra anchors accepted as Microsoft's own for the interception check (emulators only)
    service_roots: str | None = None


class Target(_Section):
    name: str
    host: str
    ports: list[int]
    purpose: str = ""

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} out of range")
        return value


class NetworkSection(_Section):
    services: list[str] = Field(default_factory=lambda: ["entra", "intune", "rms", "autopilot"])
    proxy: str | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    concurrency: int = Field(default=64, ge=1, le=1024)
    catalog: str | None = None
    targets: list[Target] = Field(default_factory=list)

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value:
            from ems_readiness.probes.proxy import parse_proxy_url

            parse_proxy_url(value)  # raises ValueError with the credentials redacted
        return value or None


class DirectorySection(_Section):
    """On-premises Active Directory, read over LDAPS/StartTLS or from a customer's export file."""

    # host[:port], tried in order; 636 (LDAPS), 3269 (GC over TLS) or 389/3268 with StartTLS
    servers: list[str] = Field(default_factory=list)
    # default: every domain naming context of the forest
    base_dns: list[str] = Field(default_factory=list)
    bind_dn: str | None = None  # the password comes from EMS_READINESS_LDAP_PASSWORD, never from here
    use_gc: bool = False
    ca_bundle: str | None = None
    insecure_skip_verify: bool = False  # shown in the report header when set
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    page_size: int = Field(default=1000, ge=1, le=1000)
    # what Entra Connect will sync: OUs (DNs) and/or an LDAP filter; findings outside are not reported
    scope_ous: list[str] = Field(default_factory=list)
    scope_filter: str | None = None
    # routable: UPN suffixes must be publicly routable; verified: also verified in the tenant
    upn_suffix_policy: Literal["routable", "verified"] = "verified"
    # an ldifde (.ldf) or csvde (.csv) export instead of a live read (also --directory-export)
    export: str | None = None
    # the forest description (JSON, the README's PowerShell) that an export cannot carry (also --directory-forest)
    forest_file: str | None = None
    # top-level domains to treat as routable in a lab forest (the simulated environment's "test");
    # leave empty for a customer: .local, .lan, .test and the like are exactly what must be found
    routable_tlds: list[str] = Field(default_factory=list)

    @field_validator("servers")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        from ems_readiness.probes.directory import parse_server

        for server in value:
            parse_server(server)  # raises ValueError naming the server
        return value

    @field_validator("scope_filter")
    @classmethod
    def _scope_filter(cls, value: str | None) -> str | None:
        if value:
            from ems_readiness.probes.directory import check_filter

            return check_filter(value)
        return value or None

    @model_validator(mode="after")
    def _bind_account(self) -> "DirectorySection":
        if self.servers and not self.bind_dn:
            raise ValueError("servers are given but no bind_dn (a plain domain user reads all the probe needs)")
        return self


class OutputSection(_Section):
    format: list[str] = Field(default_factory=lambda: ["html", "json"])
    fail_on: Literal["none", "low", "medium", "high", "critical"] = "high"
    lang: Literal["en", "zh-CN"] = "en"


class Profile(_Section):
    tenant: TenantSection = Field(default_factory=TenantSection)
    identity: IdentitySection = Field(default_factory=IdentitySection)
    dns: DnsSection = Field(default_factory=DnsSection)
    tls: TlsSection = Field(default_factory=TlsSection)
    network: NetworkSection = Field(default_factory=NetworkSection)
    directory: DirectorySection = Field(default_factory=DirectorySection)
    output: OutputSection = Field(default_factory=OutputSection)

    # where relative paths in the profile are resolved from
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def check_graph_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.path.strip("/") or parts.query:
        raise ValueError(f"give the Graph root without a path (e.g. https://graph.microsoft.com), not {value!r}")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_NAMES:
        return
    if parts.scheme == "http":
        raise ValueError("http:// is accepted only for loopback hosts (localhost, 127.0.0.1, ::1)")
    raise ValueError(f"not an https URL: {value!r}")


def parse_resolver_address(address: str, name: str = "") -> tuple[str, int]:
    """'1.1.1.1', '127.0.0.1:5353', '[::1]:53' → (ip, port)."""
    host, port = address, 53
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], name)
    elif address.count(":") == 1:
        host, _, p = address.partition(":")
        port = _port(p, name)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"resolver {name or address!r}: {host!r} is not an IP address") from None
    return host, port


def _port(text: str, name: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"resolver {name!r}: bad port {text!r}")
    return int(text)


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"{source}: unknown key '{loc}'"
    msg = first["msg"].removeprefix("Value error, ")
    return f"{source}: '{loc}': {msg}"


def load_profile(path: str | Path | None) -> Profile:
    if path is None:
        return Profile()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{p}: profile file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{p}: cannot read profile: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{p}: not valid TOML: {exc}") from None
    return profile_from_dict(raw, source=str(p), base_dir=p.resolve().parent)


def profile_from_dict(raw: dict[str, Any], source: str = "profile", base_dir: Path | None = None) -> Profile:
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(_describe(exc, source)) from None
    if base_dir is not None:
        profile.base_dir = base_dir
    for key, value in (("network.catalog", profile.network.catalog), ("directory.ca_bundle", profile.directory.ca_bundle)):
        if value and not profile.path(value).is_file():
            raise ProfileError(f"{source}: '{key}': file not found: {value}")
    if profile.tls.trust != "system" and not profile.path(profile.tls.trust).is_file():
        raise ProfileError(f"{source}: 'tls.trust': file not found: {profile.tls.trust}")
    if profile.tls.service_roots and not profile.path(profile.tls.service_roots).is_file():
        raise ProfileError(f"{source}: 'tls.service_roots': file not found: {profile.tls.service_roots}")
    return profile


def apply_overrides(profile: Profile, overrides: dict[str, Any], source: str = "command line") -> Profile:
    """Flags over profile: `overrides` maps 'section.key' to a value; None means not given."""
    raw = profile.model_dump(exclude={"base_dir"})
    for dotted, value in overrides.items():
        if value is None or value == () or value == []:
            continue
        section, key = dotted.split(".")
        raw[section][key] = list(value) if isinstance(value, tuple) else value
    result = profile_from_dict(raw, source=source, base_dir=profile.base_dir)
    return result


def environment_defaults(profile: Profile) -> Profile:
    """The environment fills what neither flags nor profile set (lowest precedence)."""
    if not profile.network.proxy:
        proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
        if proxy:
            from ems_readiness.probes.proxy import parse_proxy_url, redact_proxy_url

            try:
                parse_proxy_url(proxy)
            except ValueError as exc:
                raise ProfileError(f"HTTPS_PROXY: {exc} ({redact_proxy_url(proxy)})") from None
            profile.network.proxy = proxy
    if not profile.tenant.id:
        profile.tenant.id = os.environ.get("AZURE_TENANT_ID") or None
    return profile
