"""The Microsoft endpoint catalogue: which hosts and ports the reachability and TLS checks probe.

The catalogue is a TOML file of `[[endpoint]]` tables (SPEC, "network.catalog"). The package
ships one (`data/endpoints.toml`); a profile may replace it. `import_m365_json` turns a saved
answer of Microsoft's endpoints web service into the same format, mapping published wildcards
to concrete probe hosts with `data/wildcard_probe_hosts.toml`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from ems_readiness.engine.inputs import InputFileError, parse_json, parse_toml, read_text

BUILTIN_CATALOG = "endpoints.toml"
WILDCARD_TABLE = "wildcard_probe_hosts.toml"
PROTOCOLS = ("tcp", "udp")
HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")
LARGEST_EXPANDED_RANGE = 64
PORT_TEXT = re.compile(r"^[0-9]{1,5}$")

# Endpoint-set ids of the Microsoft 365 web service → our service groups (network.md §1a-§1e).
SERVICE_BY_ENDPOINT_SET = {
    56: "entra", 59: "entra",
    72: "rms", 73: "rms",
    125: "certificate-revocation",
    97: "intune", 150: "intune", 163: "intune", 170: "intune", 171: "intune", 172: "intune",
    178: "intune", 179: "intune", 181: "intune", 187: "intune", 189: "intune", 190: "intune",
    164: "autopilot", 165: "autopilot", 169: "autopilot", 173: "autopilot", 182: "autopilot",
}


class CatalogError(Exception):
    """A catalogue file that cannot be used: one line naming the file and the entry."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    ports: tuple[int, ...]
    service: str
    source: str
    tls: bool = False
    covers: tuple[str, ...] = ()
    required: bool = True
    notes: str = ""
    protocol: str = "tcp"
    # False: Microsoft publishes only a wildcard or a tenant-specific pattern; `host` holds it
    probe: bool = True

    @property
    def probeable(self) -> bool:
        """A TCP connect (and TLS handshake) can be made to it."""
        return self.probe and self.protocol == "tcp"


@dataclass(frozen=True)
class WildcardProbeHosts:
    pattern: str
    hosts: tuple[str, ...]
    tag: str
    notes: str


# --- loading -------------------------------------------------------------------------------

FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "host": str, "ports": list, "service": str, "source": str, "tls": bool, "covers": list,
    "required": bool, "notes": str, "protocol": str, "probe": bool,
}
REQUIRED_FIELDS = ("host", "ports", "service", "source")


def load_catalog(path: Path | str | None = None) -> list[Endpoint]:
    """The endpoints of a catalogue file; None → the package's built-in catalogue."""
    if path is None:
        return list(builtin_catalog())
    try:
        text = read_text(path, "endpoint catalogue")
    except InputFileError as exc:
        raise CatalogError(str(exc)) from None
    return parse_catalog(text, str(path))


@lru_cache(maxsize=1)
def builtin_catalog() -> tuple[Endpoint, ...]:
    """The package's catalogue, parsed once (every profile load checks its service names against it)."""
    text = resources.files("ems_readiness").joinpath("data", BUILTIN_CATALOG).read_text(encoding="utf-8")
    return tuple(parse_catalog(text, f"ems_readiness/data/{BUILTIN_CATALOG}"))


def parse_catalog(text: str, name: str) -> list[Endpoint]:
    try:
        raw = parse_toml(text, name)
    except InputFileError as exc:
        raise CatalogError(str(exc)) from None
    unknown = sorted(set(raw) - {"endpoint"})
    if unknown:
        raise CatalogError(f"{name}: unknown top-level key '{unknown[0]}' (expected [[endpoint]] tables)")
    entries = raw.get("endpoint", [])
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{name}: no [[endpoint]] entries")
    endpoints = [parse_entry(entry, f"{name}: endpoint {i + 1}") for i, entry in enumerate(entries)]
    reject_duplicates(endpoints, name)
    return endpoints


def parse_entry(entry: Any, where: str) -> Endpoint:
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: not a table")
    host = entry.get("host")
    if isinstance(host, str) and host:
        where = f"{where} ({host})"
    for key, value in entry.items():
        if key not in FIELD_TYPES:
            raise CatalogError(f"{where}: unknown key '{key}'")
        if not isinstance(value, FIELD_TYPES[key]):
            raise CatalogError(f"{where}: '{key}' must be {type_name(FIELD_TYPES[key])}, got {value!r}")
    for key in REQUIRED_FIELDS:
        if key not in entry or entry[key] in ("", []):
            raise CatalogError(f"{where}: missing '{key}'")
    endpoint = Endpoint(
        host=entry["host"].strip().lower(),
        ports=tuple(checked_ports(entry["ports"], where)),
        service=entry["service"].strip(),
        source=entry["source"].strip(),
        tls=entry.get("tls", False),
        covers=tuple(checked_strings(entry.get("covers", []), "covers", where)),
        required=entry.get("required", True),
        notes=entry.get("notes", "").strip(),
        protocol=entry.get("protocol", "tcp"),
        probe=entry.get("probe", True),
    )
    if endpoint.protocol not in PROTOCOLS:
        raise CatalogError(f"{where}: 'protocol' must be one of {', '.join(PROTOCOLS)}, got {endpoint.protocol!r}")
    if endpoint.probe and not is_concrete_host(endpoint.host):
        raise CatalogError(
            f"{where}: '{endpoint.host}' is not a concrete host name; list the wildcard in 'covers', "
            "or set probe = false for a host that cannot be probed"
        )
    return endpoint


def type_name(kind: type | tuple[type, ...]) -> str:
    return {str: "a string", list: "a list", bool: "true or false"}.get(kind, str(kind))  # type: ignore[call-overload]


def checked_ports(ports: list[Any], where: str) -> list[int]:
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise CatalogError(f"{where}: 'ports' must hold port numbers 1-65535, got {port!r}")
    return ports


def checked_strings(values: list[Any], key: str, where: str) -> list[str]:
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{where}: '{key}' must hold non-empty strings, got {value!r}")
    return [v.strip().lower() for v in values]


def reject_duplicates(endpoints: list[Endpoint], name: str) -> None:
    seen: dict[tuple[str, str, str], int] = {}
    for i, endpoint in enumerate(endpoints, start=1):
        key = (endpoint.host, endpoint.service, endpoint.protocol)
        if key in seen:
            raise CatalogError(
                f"{name}: endpoint {i} ({endpoint.host}): duplicate of endpoint {seen[key]} "
                f"(same host, service '{endpoint.service}' and protocol)"
            )
        seen[key] = i


def is_concrete_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(HOSTNAME.match(host))


# --- wildcards -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def wildcard_probe_hosts() -> dict[str, WildcardProbeHosts]:
    """The §1f table: published wildcard → concrete probe hosts (empty: not probeable)."""
    text = resources.files("ems_readiness").joinpath("data", WILDCARD_TABLE).read_text(encoding="utf-8")
    rows = tomllib.loads(text)["wildcard"]
    return {
        row["pattern"]: WildcardProbeHosts(row["pattern"], tuple(row["hosts"]), row["tag"], row.get("notes", ""))
        for row in rows
    }


def host_matches(host: str, pattern: str) -> bool:
    """Whether `host` is the wildcard's own domain or a name under it ('*.a.com' matches a.com, x.y.a.com)."""
    if not pattern.startswith("*."):
        return host == pattern
    domain = pattern[2:]
    return host == domain or host.endswith("." + domain)


# --- writing -------------------------------------------------------------------------------


def dump_catalog(endpoints: Iterable[Endpoint], header: str = "") -> str:
    """Catalogue TOML for `endpoints`; `header` lines become comments at the top."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for endpoint in endpoints:
        lines.extend(["", *endpoint_lines(endpoint)])
    return "\n".join(lines).lstrip("\n") + "\n"


def endpoint_lines(endpoint: Endpoint) -> list[str]:
    lines = [
        "[[endpoint]]",
        f"host = {toml_string(endpoint.host)}",
        f"ports = [{', '.join(str(p) for p in endpoint.ports)}]",
        f"service = {toml_string(endpoint.service)}",
        f"tls = {toml_bool(endpoint.tls)}",
        f"covers = [{', '.join(toml_string(c) for c in endpoint.covers)}]",
        f"required = {toml_bool(endpoint.required)}",
        f"source = {toml_string(endpoint.source)}",
    ]
    if endpoint.notes:
        lines.append(f"notes = {toml_string(endpoint.notes)}")
    if endpoint.protocol != "tcp":
        lines.append(f"protocol = {toml_string(endpoint.protocol)}")
    if not endpoint.probe:
        lines.append("probe = false")
    return lines


def toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \uXXXX for control characters).
    # TOML also wants DEL escaped, which JSON leaves as is.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_bool(value: bool) -> str:
    return "true" if value else "false"


# --- import of the Microsoft 365 endpoints web service -------------------------------------


@dataclass
class ImportedEndpoint:
    """An endpoint being assembled from one or more endpoint sets."""

    host: str
    service: str
    protocol: str
    probe: bool
    ports: list[int] = field(default_factory=list)
    covers: list[str] = field(default_factory=list)
    set_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    required: bool = False

    def merge(self, ports: list[int], covers: list[str], set_id: int, required: bool, notes: list[str]) -> None:
        self.ports.extend(p for p in ports if p not in self.ports)
        self.covers.extend(c for c in covers if c not in self.covers)
        if set_id not in self.set_ids:
            self.set_ids.append(set_id)
        self.notes.extend(n for n in notes if n and n not in self.notes)
        self.required = self.required or required

    def endpoint(self, source: str) -> Endpoint:
        ports = tuple(sorted(self.ports))
        sets = ", ".join(str(i) for i in self.set_ids)
        return Endpoint(
            host=self.host,
            ports=ports,
            service=self.service,
            source=f"{source}, endpoint set{'s' if len(self.set_ids) > 1 else ''} {sets}",
            tls=self.protocol == "tcp" and self.probe and 443 in ports,
            covers=tuple(self.covers),
            required=self.required,
            notes=" ".join(self.notes),
            protocol=self.protocol,
            probe=self.probe,
        )


def import_m365_json(json_path: Path | str, source: str | None = None) -> str:
    """Catalogue TOML from a saved answer of the endpoints web service (`/endpoints/worldwide`)."""
    path = Path(json_path)
    try:
        text = read_text(path, "endpoints export")
    except InputFileError as exc:
        raise CatalogError(str(exc)) from None
    return import_m365_text(text, path, source)


def import_m365_text(text: str, path: Path, source: str | None = None) -> str:
    """`import_m365_json` of the file's text; the catalogue it returns is one `parse_catalog` accepts."""
    try:
        sets = parse_json(text, str(path))
    except InputFileError as exc:
        raise CatalogError(str(exc)) from None
    if not isinstance(sets, list):
        raise CatalogError(f"{path}: expected a JSON array of endpoint sets")
    label = source or f"Microsoft 365 endpoints web service, saved copy {path.name}"
    assembled: dict[tuple[str, str, str], ImportedEndpoint] = {}
    for i, endpoint_set in enumerate(sets, start=1):
        import_endpoint_set(endpoint_set, f"{path}: endpoint set {i}", assembled)
    endpoints = [item.endpoint(label) for item in assembled.values()]
    header = (
        f"Microsoft endpoint catalogue imported from {path.name} by ems-readiness on "
        f"{datetime.now(timezone.utc).date().isoformat()}.\n"
        f"Source: {label}. {len(sets)} endpoint sets, {len(endpoints)} entries.\n"
        "Wildcards are mapped to concrete probe hosts (data/wildcard_probe_hosts.toml); entries with\n"
        "probe = false have no concrete host and are reported, not probed."
    )
    catalog = dump_catalog(endpoints, header)
    if not endpoints:
        raise CatalogError(f"{path}: no endpoint set with URLs and ports: nothing to import")
    try:  # what we write must be what we read: the same loader judges it
        parse_catalog(catalog, f"{path} (imported)")
    except CatalogError as exc:
        raise CatalogError(f"{exc} (the import would write a catalogue this tool refuses)") from None
    return catalog


def import_endpoint_set(endpoint_set: Any, where: str, assembled: dict[tuple[str, str, str], ImportedEndpoint]) -> None:
    if not isinstance(endpoint_set, dict) or type(endpoint_set.get("id")) is not int:
        raise CatalogError(f"{where}: not an endpoint set with an integer 'id'")
    set_id = endpoint_set["id"]
    where = f"{where} (id {set_id})"
    check_set_fields(endpoint_set, where)
    urls = endpoint_set.get("urls") or []
    if not urls:
        return  # an IP-only set: our probes work on names
    area = re.sub(r"[^a-z0-9]+", "-", str(endpoint_set.get("serviceArea") or "other").lower()).strip("-") or "other"
    service = SERVICE_BY_ENDPOINT_SET.get(set_id) or f"m365-{area}"
    required = endpoint_set.get("required", False)
    note = set_note(endpoint_set)
    for protocol, key in (("tcp", "tcpPorts"), ("udp", "udpPorts")):
        if not endpoint_set.get(key):
            continue
        ports = parse_port_list(endpoint_set[key], where)
        for url in urls:
            url = url.strip().lower()
            if not url or any(ch.isspace() or not ch.isprintable() for ch in url):
                raise CatalogError(f"{where}: {url!r} is not a host name or wildcard")
            for host, covers, probe, host_note in probe_hosts_for(url):
                if probe and not is_concrete_host(host):
                    raise CatalogError(f"{where}: {host!r} is not a host name or wildcard")
                key_ = (host, service, protocol)
                item = assembled.setdefault(key_, ImportedEndpoint(host, service, protocol, probe))
                item.merge(ports, covers, set_id, required, [note, host_note])


SET_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "serviceArea": str, "serviceAreaDisplayName": str, "category": str, "notes": str,
    "tcpPorts": str, "udpPorts": str, "required": bool, "expressRoute": bool,
}


def check_set_fields(endpoint_set: dict[str, Any], where: str) -> None:
    """The fields we read have the web service's types; others (ips, …) are not read."""
    for key, kind in SET_FIELD_TYPES.items():
        value = endpoint_set.get(key)
        if value is not None and not isinstance(value, kind):
            raise CatalogError(f"{where}: '{key}' must be {type_name(kind)}, got {type(value).__name__}")
    urls = endpoint_set.get("urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, str) for u in urls)):
        raise CatalogError(f"{where}: 'urls' must be a list of strings")


def set_note(endpoint_set: dict[str, Any]) -> str:
    """'M365 set 6 (Exchange Online, Allow, optional): Exchange Online POP3 migration.'"""
    parts = [
        str(endpoint_set.get("serviceAreaDisplayName") or endpoint_set.get("serviceArea") or ""),
        str(endpoint_set.get("category") or ""),
        "" if endpoint_set.get("required") else "optional",
    ]
    text = f"M365 set {endpoint_set['id']} ({', '.join(p for p in parts if p)})"
    detail = str(endpoint_set.get("notes") or "").strip().rstrip(".")
    return f"{text}: {detail}." if detail else f"{text}."


def parse_port_list(text: str, where: str) -> list[int]:
    """'80,443' or '3478-3481' → ports; a large range is kept as its two ends."""
    ports: list[int] = []
    for part in text.split(","):
        part = part.strip()
        low, _, high = part.partition("-")
        if not PORT_TEXT.match(low) or (high and not PORT_TEXT.match(high)):
            raise CatalogError(f"{where}: bad port list {text!r}")
        first, last = int(low), int(high or low)
        if not 0 < first <= last < 65536:
            raise CatalogError(f"{where}: bad port list {text!r} (ports are 1-65535, ranges low-high)")
        if last - first < LARGEST_EXPANDED_RANGE:
            ports.extend(range(first, last + 1))
        else:
            ports.extend([first, last])
    return ports


def probe_hosts_for(url: str) -> list[tuple[str, list[str], bool, str]]:
    """(host, covers, probeable, note) for one published URL."""
    if "*" not in url and "<" not in url:
        return [(url, [], True, "")]
    mapping = wildcard_probe_hosts().get(url)
    if mapping and mapping.hosts:
        return [(host, [url], True, "") for host in mapping.hosts]
    if mapping:
        return [(url, [url], False, mapping.notes or "No concrete host is published.")]
    if "<" in url or not url.startswith("*."):
        return [(url, [url], False, "Tenant- or region-specific pattern: no fixed host to probe.")]
    return [(url, [url], False, "No concrete probe host known for this wildcard.")]
