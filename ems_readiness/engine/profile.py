"""The scan profile (TOML), validated by pydantic; flags win over the profile, the profile over the environment."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import ssl
import uuid
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ems_readiness.engine.inputs import InputFileError, parse_toml, read_text

AuthMode = Literal["default", "env", "cli", "device-code", "managed-identity", "workload-identity", "token"]
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
_CHECK_ID = re.compile(r"^[A-Z][A-Z0-9]{1,7}-\d{3}$")


class ProfileError(Exception):
    """Bad profile or flag: one line naming the key and the file."""


class _Section(BaseModel):
    # strict: no coercion (true is not 1 second, "22" is not a port); a float field still takes an int
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


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

    @field_validator("id")
    @classmethod
    def _tenant_id(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                uuid.UUID(value)
            except ValueError:
                try:
                    check_host_name(value)
                except ValueError:
                    raise ValueError(f"{value!r} is neither a tenant id (GUID) nor a domain name") from None
        return value

    @field_validator("authority")
    @classmethod
    def _authority(cls, value: str | None) -> str | None:
        if value is not None:
            check_authority(value)
        return value


class IdentitySection(_Section):
    model: Literal["cloud-only", "synced", "federated"] = "synced"
    max_sync_age_minutes: int = Field(default=180, ge=1, le=525_600)  # a year
    # the agreed state of Entra Connect features, e.g. { passwordSyncEnabled = true } (DSY-005)
    features: dict[str, bool] = Field(default_factory=dict)
    # top-level domains a lab declares routable for UPN suffixes (the simulated environment's "test"),
    # judged alike on premises (ADP-003) and in the tenant (DSY-004); leave empty for a customer:
    # .local, .lan, .test and the like are exactly what must be found
    routable_tlds: list[str] = Field(default_factory=list)

    @field_validator("routable_tlds")
    @classmethod
    def _routable_tlds(cls, value: list[str]) -> list[str]:
        return check_top_level_domains(value)


class DnsSection(_Section):
    resolvers: dict[str, str] = Field(default_factory=dict)
    domains: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=3.0, gt=0, le=60)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        for name in value:
            check_host_name(name.rstrip("."))
        return value

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
        return check_host_ports(value)
    warn_days: int = Field(default=30, ge=0, le=3650)  # ten years; beyond that no date arithmetic holds
    trust: str = "system"
    # extra anchors accepted as Microsoft's own for the interception check (emulators only)
    service_roots: str | None = None


class Target(_Section):
    name: str
    host: str
    ports: list[int]
    purpose: str = ""

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        check_host_name(value)
        return value

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("give at least one port")
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
    # the old place of [identity] routable_tlds, still accepted (the two lists are joined)
    routable_tlds: list[str] = Field(default_factory=list)

    @field_validator("servers")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        from ems_readiness.probes.directory import parse_server

        for server in value:
            parse_server(server)  # raises ValueError naming the server (and refuses URLs)
        return check_host_ports(value)

    @field_validator("routable_tlds")
    @classmethod
    def _routable_tlds(cls, value: list[str]) -> list[str]:
        return check_top_level_domains(value)

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


PLATFORMS = ("windows", "ios", "macos", "android")


class PlanSection(_Section):
    """What the customer plans to roll out: the enable-phase checks judge the tenant against it."""

    # the device platforms to enroll; the Apple checks (push certificate, VPP) apply to ios/macos,
    # the Android Enterprise binding to android
    platforms: list[Literal["windows", "ios", "macos", "android"]] = Field(default_factory=lambda: list(PLATFORMS))
    byod: bool = False  # personal devices will enroll: enrollment restrictions must allow them
    # how users will sign in: adfs keeps the federation checks (token signing, WS-Trust) in play
    federation: Literal["none", "adfs", "other"] = "none"
    # the pilot users' group (display name or object id); MFA readiness is judged for its members
    pilot_group: str | None = None

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one platform (windows, ios, macos, android)")
        if len(set(value)) != len(value):
            raise ValueError("a platform is named twice")
        return value

    @field_validator("pilot_group")
    @classmethod
    def _pilot_group(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or len(value) > 256 or "'" in value
                                  or any(not ch.isprintable() for ch in value)):
            raise ValueError("give the group's display name or object id (printable, at most 256 characters,"
                             " no single quote)")
        return value

    def includes(self, *platforms: str) -> bool:
        return any(p in self.platforms for p in platforms)


class VantageSection(_Section):
    """Where this scan runs: the site it speaks for (default: the host name)."""

    site: str | None = None

    @field_validator("site")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        from ems_readiness.engine.sites import check_site_name

        return check_site_name(value) if value is not None else None


class OutputSection(_Section):
    format: list[str] = Field(default_factory=lambda: ["html", "json"])

    @field_validator("format")
    @classmethod
    def _format(cls, value: list[str]) -> list[str]:
        from ems_readiness.reports.outputs import parse_formats

        parse_formats(value)
        return value

    fail_on: Literal["none", "low", "medium", "high", "critical"] = "high"
    lang: Literal["en", "zh-CN"] = "en"


OWNER_CHARS = 200


def check_owners(owners: dict[str, str]) -> dict[str, str]:
    """[owners]: a role key (data/owners.toml) or a check id, each to who acts on it (free text)."""
    from ems_readiness.engine.catalogues import owner_roles

    roles = owner_roles().roles
    for key, value in owners.items():
        if key not in roles and not _CHECK_ID.match(key):
            hint = did_you_mean(key, set(roles))
            raise ValueError(f"{key!r} is neither an owner role ({', '.join(roles)}) nor a check id"
                             + (f"; {hint}" if hint.startswith("did") else ""))
        if not value.strip() or len(value) > OWNER_CHARS or not value.isprintable():
            raise ValueError(f"{key!r}: give a name of 1 to {OWNER_CHARS} printable characters")
    return owners


class Profile(_Section):
    tenant: TenantSection = Field(default_factory=TenantSection)
    identity: IdentitySection = Field(default_factory=IdentitySection)
    dns: DnsSection = Field(default_factory=DnsSection)
    tls: TlsSection = Field(default_factory=TlsSection)
    network: NetworkSection = Field(default_factory=NetworkSection)
    directory: DirectorySection = Field(default_factory=DirectorySection)
    plan: PlanSection = Field(default_factory=PlanSection)


    vantage: VantageSection = Field(default_factory=VantageSection)
    output: OutputSection = Field(default_factory=OutputSection)
    # who acts on the action plan's rows: role key or check id -> a person or team
    owners: dict[str, str] = Field(default_factory=dict)

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: dict[str, str]) -> dict[str, str]:
        return check_owners(value)

    # where relative paths in the profile are resolved from
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True, strict=False)

    def routable_tlds(self) -> frozenset[str]:
        """The top-level domains declared routable for UPN suffixes, wherever the profile names them."""
        return frozenset(self.identity.routable_tlds) | frozenset(self.directory.routable_tlds)

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def check_graph_url(value: str) -> None:
    parts = _url_parts(value)
    if parts.path.strip("/") or parts.query:
        raise ValueError(f"give the Graph root without a path (e.g. https://graph.microsoft.com), not {value!r}")
    _check_https(parts, value)


def check_authority(value: str) -> None:
    """The token service root: an https URL, or a bare host name (azure-identity adds https://)."""
    if "://" not in value:
        check_host_name(value.rstrip("/"))
        return
    parts = _url_parts(value)
    if parts.query or parts.fragment:
        raise ValueError(f"give the authority without a query, not {value!r}")
    _check_https(parts, value)


def _url_parts(value: str):
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"not a URL: {value!r}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        raise ValueError(f"not a URL with a valid port: {value!r}") from None
    if parts.port == 0:
        raise ValueError(f"not a URL with a valid port: {value!r}")
    return parts


def _check_https(parts, value: str) -> None:
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_NAMES:
        return
    if parts.scheme == "http":
        raise ValueError("http:// is accepted only for loopback hosts (localhost, 127.0.0.1, ::1)")
    raise ValueError(f"not an https URL: {value!r}")


def check_host_ports(values: list[str]) -> list[str]:
    """Each 'host' or 'host:port' ('[v6]:port') names a host and a port 1-65535."""
    from ems_readiness.engine.inventory import split_host_port

    for text in values:
        try:
            host, port = split_host_port(text)
        except ValueError:
            raise ValueError(f"{text!r} is not host or host:port") from None
        if not host or not 0 < port < 65536:
            raise ValueError(f"{text!r} is not host or host:port")
        check_host_name(host)
    return values


def check_top_level_domains(values: list[str]) -> list[str]:
    """Each a top-level domain, one DNS label ('test' or '.test'); given back without the dot, lower case."""
    from ems_readiness.judges.idfix import is_dns_label

    names = []
    for value in values:
        name = value.strip().removeprefix(".").lower()
        if not is_dns_label(name):
            raise ValueError(f"{value!r} is not a top-level domain (one DNS label, such as 'test')")
        names.append(name)
    return names


def check_host_name(name: str) -> None:
    """A DNS name or an IP address, as a probe can connect to it."""
    from ems_readiness.engine.endpoints import is_concrete_host

    try:
        ascii_name = name.encode("idna").decode("ascii").lower() if not name.isascii() else name.lower()
    except UnicodeError:
        ascii_name = ""
    if not is_concrete_host(ascii_name):
        raise ValueError(f"{name!r} is not a host name or IP address")


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
        return f"{source}: unknown key '{loc}'{_closest_key(first['loc'])}"
    msg = first["msg"].removeprefix("Value error, ")
    return f"{source}: '{loc}': {msg}"


def _closest_key(loc: tuple) -> str:
    """' (did you mean 'tls.warn_days'?)' for a misspelt section or key."""
    model: type[BaseModel] = Profile
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    prefix = ".".join(str(p) for p in loc[:-1])
    names = [f"{prefix}.{n}" if prefix else n for n, f in model.model_fields.items() if not f.exclude]
    hint = did_you_mean(".".join(str(p) for p in loc), names)
    return f" ({hint})" if hint else ""


def did_you_mean(word: str, names: list[str] | set[str]) -> str:
    """"did you mean 'x'?" for the closest of `names`, else "known: a, b, c" (short lists only)."""
    lowered = {n.lower(): n for n in sorted(names)}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{lowered[close[0]]}'?"
    return f"known: {', '.join(sorted(names))}" if 0 < len(names) <= 12 else ""


def load_profile(path: str | Path | None) -> Profile:
    if path is None:
        return Profile()
    p = Path(path)
    try:
        raw = parse_toml(read_text(p, "profile file"), str(p))
    except InputFileError as exc:
        raise ProfileError(str(exc)) from None
    return profile_from_dict(raw, source=str(p), base_dir=p.resolve().parent)


def profile_from_dict(raw: dict[str, Any], source: str = "profile", base_dir: Path | None = None) -> Profile:
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: a profile is a table of sections, not {type(raw).__name__}")
    try:
        profile = Profile.model_validate({k: v for k, v in raw.items() if k != "base_dir"})
    except ValidationError as exc:
        raise ProfileError(_describe(exc, source)) from None
    except RecursionError:
        raise ProfileError(f"{source}: nested too deeply") from None
    if "base_dir" in raw:
        raise ProfileError(f"{source}: unknown key 'base_dir'")
    if base_dir is not None:
        profile.base_dir = base_dir
    check_files(profile, source)
    check_services(profile, source)
    return profile


def check_files(profile: Profile, source: str) -> None:
    """Every file the profile names exists now (and every CA bundle loads), not at first use.

    The directory export and forest description are read whole by their own loaders before the scan."""
    files = {
        "network.catalog": profile.network.catalog,
        "tls.trust": None if profile.tls.trust == "system" else profile.tls.trust,
        "tls.service_roots": profile.tls.service_roots,
        "tenant.ca_bundle": profile.tenant.ca_bundle,
        "directory.ca_bundle": profile.directory.ca_bundle,
    }
    for key, value in files.items():
        if value is None:
            continue
        path = profile.path(value)
        if not path.is_file():
            raise ProfileError(f"{source}: '{key}': file not found: {value}")
        if key.endswith(("ca_bundle", "trust")):
            try:
                ssl.create_default_context(cafile=str(path))
            except (ssl.SSLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or type(exc).__name__
                raise ProfileError(f"{source}: '{key}': {value} is not a PEM certificate bundle ({reason})") from None


def check_services(profile: Profile, source: str) -> None:
    """The catalogue in use loads, and every name set in network.services is one of its services.

    The default list is not held against a profile's own catalogue: it may cover fewer services."""
    from ems_readiness.engine.endpoints import CatalogError, load_catalog

    try:
        endpoints = load_catalog(profile.path(profile.network.catalog) if profile.network.catalog else None)
    except CatalogError as exc:
        raise ProfileError(str(exc)) from None
    known = {e.service for e in endpoints}
    if "services" not in profile.network.model_fields_set and profile.network.catalog:
        return
    for name in profile.network.services:
        if name not in known:
            raise ProfileError(f"{source}: 'network.services': unknown service {name!r} "
                               f"({did_you_mean(name, known) or 'the catalogue has no such service'})")


def apply_overrides(profile: Profile, overrides: dict[str, Any], source: str = "command line",
                    flags: dict[str, str] | None = None) -> Profile:
    """Flags over profile: `overrides` maps 'section.key' to a value; None means not given.

    `flags` maps 'section.key' to the flag that set it, so an error names the flag."""
    raw = profile.model_dump(exclude={"base_dir"}, exclude_unset=True)
    for dotted, value in overrides.items():
        if value is None or value == () or value == []:
            continue
        section, key = dotted.split(".")
        raw.setdefault(section, {})[key] = list(value) if isinstance(value, tuple) else value
    try:
        return profile_from_dict(raw, source=source, base_dir=profile.base_dir)
    except ProfileError as exc:
        message = str(exc)
        for dotted, flag in (flags or {}).items():
            message = message.replace(f"{source}: '{dotted}':", f"{flag}:")
        raise ProfileError(message) from None


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
