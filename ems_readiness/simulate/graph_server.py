"""A Microsoft Graph-compatible HTTP server over a simulated tenant, on 127.0.0.1 only.

    sim = GraphSimulator(load_tenant(path), token=None, faults=FaultPlan(rate=0.3, kinds=("429",)))
    sim.start()                       # listening on a free loopback port when this returns
    client.request_adapter.base_url = sim.url + "/v1.0"
    ...
    sim.stop()

It answers the reads the checks make (see `ROUTES`), with Graph's query options ($select, $top,
$filter, $count, $skiptoken paging), Graph's error bodies, the ConsistencyLevel rules for advanced
queries, least-privilege permission checks for JWT bearers (`PERMISSIONS`), and injected faults
(`FaultPlan`). Run it in its own process with
`python -m ems_readiness.simulate.graph_server --scenario unready|ready|large`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import email.utils
import json
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ems_readiness.simulate import hostile_graph
from ems_readiness.simulate.tenant_data import (
    FIXTURE_SCENARIOS,
    GENERATED_SCENARIOS,
    GraphObject,
    Tenant,
    generate_large_tenant,
    iso_utc,
    load_scenario_tenant,
)

LOOPBACK = "127.0.0.1"
VERSIONS = ("v1.0", "beta")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
JSON_CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

# ------------------------------------------------------------------------------------------------
# Faults


FAULT_STATUSES = ("429", "503", "504")
MALFORMED = "malformed"


@dataclass(frozen=True)
class FaultPlan:
    """Which faults to inject. With probability `rate` a request that would succeed is answered with
    one of `kinds` (429 and 503 carry `Retry-After: retry_after`, 504 carries none) or, when
    `malformed`, with a 200 whose JSON is cut short. The same URL is never faulted more than
    `max_consecutive` times in a row, so a client that retries gets through. `slow_seconds` delays
    every response. `hostile` names modes of `hostile_graph` (page-loop, slow-drip, …) that answer
    every request the way a broken or malicious server would."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429",)
    retry_after: str = "1"
    seed: int = 0
    max_consecutive: int = 2
    slow_seconds: float = 0.0
    malformed: bool = False
    hostile: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(str(kind) for kind in self.kinds))
        object.__setattr__(self, "hostile", tuple(self.hostile))
        hostile_graph.check_modes(self.hostile)
        object.__setattr__(self, "retry_after", str(self.retry_after))
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        unknown = [kind for kind in self.kinds if kind not in FAULT_STATUSES]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known kinds are {list(FAULT_STATUSES)}")
        if not _is_valid_retry_after(self.retry_after):
            raise ValueError(
                f"retry_after must be a number of seconds (0.2, 1) or an HTTP date, got {self.retry_after!r}")
        if self.max_consecutive < 0:
            raise ValueError(f"max_consecutive must be 0 or more, got {self.max_consecutive}")
        if self.slow_seconds < 0:
            raise ValueError(f"slow_seconds must be 0 or more, got {self.slow_seconds}")
        if self.rate > 0 and not self.fault_choices:
            raise ValueError("a fault rate above 0 needs at least one kind or malformed=True")

    @property
    def fault_choices(self) -> tuple[str, ...]:
        return self.kinds + ((MALFORMED,) if self.malformed else ())

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Parse a CLI spec such as `rate=0.3,kinds=429+503,retry_after=0.2,seed=1` or `page-loop`.
        Keys: rate, kinds (joined by `+`), retry_after, seed, max_consecutive, slow_seconds (or slow),
        malformed (true/false), hostile (modes joined by `+`); a bare hostile mode name is one
        too. An empty spec or `none` means no faults."""
        options: dict[str, Any] = {}
        if spec.strip().lower() in ("", "none", "off"):
            return cls()
        for item in spec.split(","):
            key, sep, value = (part.strip() for part in item.partition("="))
            if not sep and key in hostile_graph.HOSTILE_MODES:
                options["hostile"] = (*options.get("hostile", ()), key)
                continue
            if not sep or not key:
                raise ValueError(f"fault option {item.strip()!r} is neither KEY=VALUE nor a hostile mode"
                                 f" ({', '.join(hostile_graph.HOSTILE_MODES)})")
            key = _FAULT_OPTION_ALIASES.get(key, key)
            if key not in _FAULT_OPTION_PARSERS:
                raise ValueError(f"unknown fault option {key!r}; known options are {sorted(_FAULT_OPTION_PARSERS)}")
            try:
                parsed = _FAULT_OPTION_PARSERS[key](value)
                options[key] = (*options.get("hostile", ()), *parsed) if key == "hostile" else parsed
            except ValueError as error:
                raise ValueError(f"fault option {key}={value!r}: {error}") from None
        return cls(**options)


def _is_valid_retry_after(value: str) -> bool:
    try:
        return float(value) >= 0
    except ValueError:
        return email.utils.parsedate_tz(value) is not None


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _parse_kinds(text: str) -> tuple[str, ...]:
    return tuple(kind.strip() for kind in text.split("+") if kind.strip())


_FAULT_OPTION_PARSERS: dict[str, Callable[[str], Any]] = {
    "rate": float, "kinds": _parse_kinds, "retry_after": str, "seed": int,
    "max_consecutive": int, "slow_seconds": float, "malformed": _parse_bool, "hostile": _parse_kinds,
}
_FAULT_OPTION_ALIASES = {"slow": "slow_seconds", "kind": "kinds", "mode": "hostile", "modes": "hostile"}


class _FaultInjector:
    """Seeded fault decisions, thread-safe, with the per-URL limit on faults in a row."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._in_a_row: dict[str, int] = {}
        self._lock = threading.Lock()

    def pick(self, request_key: str) -> str | None:
        with self._lock:
            in_a_row = self._in_a_row.get(request_key, 0)
            if in_a_row >= self.plan.max_consecutive or not self._rng.random() < self.plan.rate:
                self._in_a_row.pop(request_key, None)
                return None
            self._in_a_row[request_key] = in_a_row + 1
            return self._rng.choice(self.plan.fault_choices)


# ------------------------------------------------------------------------------------------------
# Responses and errors


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    path: str            # as requested, doubled slashes collapsed
    query: str           # percent-decoded
    status: int
    elapsed_ms: float
    fault: str | None    # "429", "503", "504", "malformed", a hostile mode, or None
    host: str = ""       # the Host header: a client that followed an off-host redirect shows here


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def _not_found(resource: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", f"Resource '{resource}' does not exist or one of its "
                      "queried reference-property objects are not present.")


def _unsupported_query(message: str) -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def _bad_request(message: str) -> GraphError:
    return GraphError(400, "Request_BadRequest", message)


def _error_body(error: GraphError, request_id: str, client_request_id: str) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "innerError": {
        "date": iso_utc(datetime.now(UTC)), "request-id": request_id, "client-request-id": client_request_id}}}


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ------------------------------------------------------------------------------------------------
# Callers and permissions


@dataclass(frozen=True)
class EndpointPermission:
    accepted: tuple[str, ...]        # any one of these suffices
    delegated_only: bool = False     # Graph: "Application: Not supported"


_DIRECTORY_READ = ("Directory.Read.All", "Directory.ReadWrite.All")
_ORGANIZATION_READ = ("Organization.Read.All", "Organization.ReadWrite.All", *_DIRECTORY_READ)
_DOMAIN_READ = ("Domain.Read.All", "Domain.ReadWrite.All", *_DIRECTORY_READ)
_INTUNE_SERVICE_CONFIG = ("DeviceManagementServiceConfig.Read.All", "DeviceManagementServiceConfig.ReadWrite.All")
_INTUNE_CONFIGURATION = ("DeviceManagementConfiguration.Read.All", "DeviceManagementConfiguration.ReadWrite.All")
_ON_PREMISES_SYNC_READ = ("OnPremDirectorySynchronization.Read.All", "OnPremDirectorySynchronization.ReadWrite.All")

# Least-privileged permissions per endpoint (reference/graph.md §1), plus the higher ones that include them.
PERMISSIONS: dict[str, EndpointPermission] = {
    "organization": EndpointPermission(_ORGANIZATION_READ),
    # The Intune docs read mobileDeviceManagementAuthority from /organization/{id} with this permission.
    "organization/{id}": EndpointPermission((*_ORGANIZATION_READ, *_INTUNE_SERVICE_CONFIG)),
    "subscribedSkus": EndpointPermission(_ORGANIZATION_READ),
    "domains": EndpointPermission(_DOMAIN_READ),
    "onPremisesSynchronization": EndpointPermission(_ON_PREMISES_SYNC_READ, delegated_only=True),
    "users": EndpointPermission(("User.Read.All", "User.ReadWrite.All", *_DIRECTORY_READ)),
    "groups": EndpointPermission(("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", *_DIRECTORY_READ)),
    "contacts": EndpointPermission(("OrgContact.Read.All", *_DIRECTORY_READ)),
    "deviceManagement": EndpointPermission((*_INTUNE_SERVICE_CONFIG, *_INTUNE_CONFIGURATION)),
    "termsAndConditions": EndpointPermission(_INTUNE_SERVICE_CONFIG),
    "agreements": EndpointPermission(("Agreement.Read.All", "Agreement.ReadWrite.All"), delegated_only=True),
    "conditionalAccessPolicies": EndpointPermission(("Policy.Read.All",)),
    "roleAssignments": EndpointPermission(("RoleManagement.Read.Directory", "RoleManagement.Read.All",
                                           "RoleManagement.ReadWrite.Directory", *_DIRECTORY_READ)),
    # the enable-phase reads (Microsoft Graph's permission tables; README "Permissions")
    "applePushNotificationCertificate": EndpointPermission((
        "DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All",
        "DeviceManagementServiceConfig.ReadWrite.All")),
    "vppTokens": EndpointPermission((*_INTUNE_SERVICE_CONFIG, *_INTUNE_CONFIGURATION)),
    "androidEnterprise": EndpointPermission(_INTUNE_CONFIGURATION),
    "deviceEnrollmentConfigurations": EndpointPermission((*_INTUNE_SERVICE_CONFIG, *_INTUNE_CONFIGURATION)),
    "deviceRegistrationPolicy": EndpointPermission(("Policy.Read.All", "Policy.ReadWrite.DeviceConfiguration"),
                                                   delegated_only=True),
    "mobileDeviceManagementPolicies": EndpointPermission(("Policy.Read.All", "Policy.ReadWrite.MobilityManagement"),
                                                         delegated_only=True),
    "devices": EndpointPermission(("Device.Read.All", "Device.ReadWrite.All", *_DIRECTORY_READ)),
    "userRegistrationDetails": EndpointPermission(("AuditLog.Read.All", "UserAuthenticationMethod.Read.All")),
    "securityDefaults": EndpointPermission(("Policy.Read.All",)),
}


@dataclass(frozen=True)
class Caller:
    kind: str                        # "opaque" (not a JWT: everything allowed), "app" or "delegated"
    permissions: frozenset[str] = frozenset()

    def may_call(self, endpoint: EndpointPermission) -> bool:
        if self.kind == "opaque":
            return True
        if self.kind == "app" and endpoint.delegated_only:
            return False
        return not self.permissions.isdisjoint(endpoint.accepted)


def _invalid_token(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": 'Bearer realm=""'})


def authenticate(authorization: str | None, expected_token: str | None) -> Caller:
    scheme, _, bearer = (authorization or "").strip().partition(" ")
    bearer = bearer.strip()
    if scheme.lower() != "bearer" or not bearer:
        raise _invalid_token("Access token is empty.")
    if expected_token is not None and bearer != expected_token:
        raise _invalid_token("Access token validation failure. Invalid audience.")
    if bearer.count(".") != 2:
        return Caller("opaque")
    claims = _jwt_claims(bearer)
    if "scp" in claims:
        return Caller("delegated", frozenset(str(claims["scp"]).split()))
    return Caller("app", frozenset(claims.get("roles") or ()))


def _jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, read without verifying the signature (the simulator trusts its callers)."""
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        raise _invalid_token("IDX14102: Unable to decode the payload of the token.") from None
    if not isinstance(claims, dict):
        raise _invalid_token("IDX14102: Unable to decode the payload of the token.")
    return claims


# ------------------------------------------------------------------------------------------------
# Query options


@dataclass(frozen=True)
class QueryOptions:
    select: tuple[str, ...] = ()
    top: int = DEFAULT_PAGE_SIZE
    filter: str | None = None
    count: bool = False
    skiptoken: str | None = None

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> QueryOptions:
        values = {name.lower(): value for name, value in pairs}
        return cls(
            select=tuple(name.strip() for name in values.get("$select", "").split(",") if name.strip()),
            top=_parse_top(values.get("$top")),
            filter=values.get("$filter") or None,
            count=_parse_count(values.get("$count")),
            skiptoken=values.get("$skiptoken"),
        )


def _parse_top(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE_SIZE
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise _bad_request(f"Invalid page size specified: '{text}'. Must be between 1 and {MAX_PAGE_SIZE} inclusive.")
    return int(text)


def _parse_count(text: str | None) -> bool:
    if text is None or text.lower() == "false":
        return False
    if text.lower() == "true":
        return True
    raise _bad_request(f"Invalid value '{text}' for $count; expected true or false.")


@dataclass(frozen=True)
class Filter:
    matches: Callable[[GraphObject], bool]
    advanced: bool  # needs $count=true and ConsistencyLevel: eventual
    operator: str


_STRING = r"'(?:[^']|'')*'"
_FILTER_ANY = re.compile(
    rf"(?P<collection>\w+)/any\(\s*(?P<var>\w+)\s*:\s*(?P=var)/(?P<prop>\w+)\s+eq\s+(?P<literal>{_STRING})\s*\)", re.I)
_FILTER_FUNCTION = re.compile(
    rf"(?P<function>startswith|endswith)\(\s*(?P<prop>\w+)\s*,\s*(?P<literal>{_STRING})\s*\)", re.I)
_FILTER_EQ = re.compile(rf"(?P<prop>\w+)\s+eq\s+(?P<literal>{_STRING}|true|false)", re.I)
_PROVISIONING_ERROR_PROPERTIES = ("category", "propertyCausingError")


# users licensed directly or by group but with no usage location: both halves are advanced queries
_FILTER_NO_USAGE_LOCATION = re.compile(r"usageLocation\s+eq\s+null\s+and\s+assignedLicenses/\$count\s+ne\s+0", re.I)
_FILTER_LICENCE_ERRORS = re.compile(r"hasMembersWithLicenseErrors\s+eq\s+true", re.I)


def parse_filter(text: str) -> Filter:
    """The $filter forms the checks use; anything else is Graph's 400 Request_UnsupportedQuery."""
    text = text.strip()
    if _FILTER_NO_USAGE_LOCATION.fullmatch(text):
        return Filter(lambda item: item.get("usageLocation") is None and bool(item.get("assignedLicenses")),
                      advanced=True, operator="eq null")
    if match := _FILTER_ANY.fullmatch(text):
        return _any_filter(match)
    if match := _FILTER_FUNCTION.fullmatch(text):
        return _function_filter(match)
    if match := _FILTER_EQ.fullmatch(text):
        wanted = _literal(match.group("literal"))
        prop = match.group("prop")
        return Filter(lambda item: _equals(_get(item, prop), wanted), advanced=False, operator="eq")
    raise _unsupported_query(f"Unsupported or invalid query filter clause specified: '{text}'.")


def _any_filter(match: re.Match[str]) -> Filter:
    collection, prop = match.group("collection"), match.group("prop")
    if collection.lower() != "onpremisesprovisioningerrors" or prop.lower() not in (
            name.lower() for name in _PROVISIONING_ERROR_PROPERTIES):
        raise _unsupported_query(f"Unsupported query: lambda on '{collection}/{prop}' is not supported.")
    wanted = _literal(match.group("literal"))

    def matches(item: GraphObject) -> bool:
        # a malformed tenant (the mutation tests make them) matches nothing rather than crash the server
        entries = _get(item, collection)
        return isinstance(entries, list) and any(
            _equals(_get(entry, prop), wanted) for entry in entries if isinstance(entry, dict))
    return Filter(matches, advanced=False, operator="any")


def _function_filter(match: re.Match[str]) -> Filter:
    ends_with = match.group("function").lower() == "endswith"
    prop = match.group("prop")
    fragment = str(_literal(match.group("literal"))).lower()

    def matches(item: GraphObject) -> bool:
        value = _get(item, prop)
        if not isinstance(value, str):
            return False
        return value.lower().endswith(fragment) if ends_with else value.lower().startswith(fragment)
    return Filter(matches, advanced=ends_with, operator="endsWith" if ends_with else "startsWith")


def _literal(token: str) -> str | bool:
    if token.lower() in ("true", "false"):
        return token.lower() == "true"
    return token[1:-1].replace("''", "'")


def _equals(value: Any, wanted: str | bool) -> bool:
    if isinstance(wanted, bool):
        return value is wanted
    return isinstance(value, str) and value.lower() == wanted.lower()


def _get(item: Mapping[str, Any], name: str) -> Any:
    """A property by name, case-insensitively, as Graph matches property names."""
    if name in item:
        return item[name]
    lowered = name.lower()
    return next((value for key, value in item.items() if key.lower() == lowered), None)


def _project(item: GraphObject, select: tuple[str, ...], hidden: frozenset[str]) -> GraphObject:
    if not select:
        return {key: value for key, value in item.items() if key not in hidden}
    projected = {key: value for key, value in item.items() if key == "@odata.type"}
    for name in select:
        actual = next((key for key in item if key.lower() == name.lower()), name)
        projected[actual] = item.get(actual)
    return projected


# ------------------------------------------------------------------------------------------------
# Resources and routes


@dataclass(frozen=True)
class Entity:
    value: GraphObject
    # The @odata.context fragment, e.g. "users/$entity"; "{}" in it takes the ids from the URL.
    context: str
    # Properties returned only when $select names them.
    hidden: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Collection:
    items: Sequence[GraphObject]
    context: str
    hidden: frozenset[str] = frozenset()
    # groups only: which group has members whose group-based licence assignment failed
    licence_errors: Callable[[GraphObject], bool] | None = None


Resource = Entity | Collection
_ONLY_WHEN_SELECTED = frozenset({"onPremisesProvisioningErrors", "licenseAssignmentStates", "usageLocation"})


@dataclass(frozen=True)
class Route:
    pattern: tuple[str, ...]                     # lower-case literal segments, "{}" for an id
    permission: str                              # key into PERMISSIONS
    resolve: Callable[..., Resource]             # (tenant, version, *ids) -> Resource

    def match(self, segments: list[str]) -> list[str] | None:
        if len(segments) != len(self.pattern):
            return None
        ids = []
        for expected, actual in zip(self.pattern, segments, strict=True):
            if expected == "{}":
                ids.append(unquote(actual))
            elif expected != actual.lower():
                return None
        return ids


def _route(pattern: str, permission: str, resolve: Callable[..., Resource]) -> Route:
    segments = tuple("{}" if part.startswith("{") else part.lower() for part in pattern.split("/"))
    return Route(segments, permission, resolve)


def _find(items: Sequence[GraphObject], wanted: str, *keys: str) -> GraphObject:
    lowered = wanted.lower()
    for item in items:
        if any(str(item.get(key, "")).lower() == lowered for key in keys):
            return item
    raise _not_found(wanted)


def _organization(tenant: Tenant, version: str) -> GraphObject:
    if version == "beta":
        return {**tenant.organization, **tenant.organization_beta_properties}
    return tenant.organization


def _organization_by_id(tenant: Tenant, version: str, organization_id: str) -> Entity:
    if organization_id.lower() != tenant.tenant_id.lower():
        raise _not_found(organization_id)
    return Entity(_organization(tenant, version), "organization/$entity")


def _domain_part(by_domain: Callable[[Tenant], dict[str, list[GraphObject]]], context: str) -> Callable[..., Resource]:
    def resolve(tenant: Tenant, version: str, domain_id: str) -> Collection:
        _find(tenant.domains, domain_id, "id")
        return Collection(by_domain(tenant).get(domain_id.lower(), []), context)
    return resolve


def _absent_when_none(value: Callable[[Tenant], GraphObject | None], context: str, resource: str) -> Callable[..., Resource]:
    """A singleton Intune setting: 404 when the tenant never set it up."""
    def resolve(tenant: Tenant, version: str) -> Entity:
        found = value(tenant)
        if found is None:
            raise _not_found(resource)
        return Entity(found, context)
    return resolve


def _groups(tenant: Tenant, version: str) -> Collection:
    errors = tenant.licence_errors_by_group
    return Collection(tenant.groups, "groups", _ONLY_WHEN_SELECTED,
                      licence_errors=lambda group: str(group.get("id", "")).lower() in errors())


def _group_members(tenant: Tenant, version: str, group_id: str) -> Collection:
    _find(tenant.groups, group_id, "id")
    wanted = {m.lower() for m in tenant.group_members.get(group_id.lower(), [])}
    members = [{"@odata.type": "#microsoft.graph.user", **u} for u in tenant.users
               if str(u.get("id", "")).lower() in wanted] if wanted else []
    return Collection(members, "directoryObjects", _ONLY_WHEN_SELECTED)


def _members_with_licence_errors(tenant: Tenant, version: str, group_id: str) -> Collection:
    _find(tenant.groups, group_id, "id")
    return Collection([{"@odata.type": "#microsoft.graph.user", **u} for u in tenant.members_with_licence_errors(group_id)],
                      "directoryObjects", _ONLY_WHEN_SELECTED)


def _registration_details(tenant: Tenant, version: str) -> Collection:
    if tenant.user_registration_details is None:
        raise GraphError(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                         "Neither tenant is B2C or tenant doesn't have premium license")
    return Collection(tenant.user_registration_details, "reports/authenticationMethods/userRegistrationDetails")


def _terms_assignments(tenant: Tenant, version: str, terms_id: str) -> Collection:
    _find(tenant.terms_and_conditions, terms_id, "id")
    return Collection(tenant.terms_and_conditions_assignments.get(terms_id.lower(), []),
                      "deviceManagement/termsAndConditions('{}')/assignments")


def _collection_routes(
    path: str, permission: str, items: Callable[[Tenant], Sequence[GraphObject]], context: str,
    id_keys: tuple[str, ...] = ("id",), hidden: frozenset[str] = frozenset(),
) -> list[Route]:
    """A collection at `path` and its members at `path/{id}`."""
    return [
        _route(path, permission, lambda tenant, version: Collection(items(tenant), context, hidden)),
        _route(f"{path}/{{id}}", permission, lambda tenant, version, object_id: Entity(
            _find(items(tenant), object_id, *id_keys), f"{context}/$entity", hidden)),
    ]


ROUTES: list[Route] = [
    _route("organization", "organization",
           lambda tenant, version: Collection([_organization(tenant, version)], "organization")),
    _route("organization/{id}", "organization/{id}", _organization_by_id),
    *_collection_routes("subscribedSkus", "subscribedSkus", lambda t: t.subscribed_skus, "subscribedSkus"),
    *_collection_routes("domains", "domains", lambda t: t.domains, "domains"),
    _route("domains/{id}/serviceConfigurationRecords", "domains", _domain_part(
        lambda t: t.service_configuration_records, "domains('{}')/serviceConfigurationRecords")),
    _route("domains/{id}/verificationDnsRecords", "domains", _domain_part(
        lambda t: t.verification_dns_records, "domains('{}')/verificationDnsRecords")),
    _route("domains/{id}/federationConfiguration", "domains", _domain_part(
        lambda t: t.federation_configuration, "domains('{}')/federationConfiguration")),
    *_collection_routes("directory/onPremisesSynchronization", "onPremisesSynchronization",
                        lambda t: t.on_premises_synchronization, "directory/onPremisesSynchronization"),
    *_collection_routes("users", "users", lambda t: t.users, "users",
                        id_keys=("id", "userPrincipalName"), hidden=_ONLY_WHEN_SELECTED),
    _route("groups", "groups", _groups),
    _route("groups/{id}", "groups", lambda tenant, version, object_id: Entity(
        _find(tenant.groups, object_id, "id"), "groups/$entity", _ONLY_WHEN_SELECTED)),
    _route("groups/{id}/transitiveMembers", "groups", _group_members),
    _route("groups/{id}/membersWithLicenseErrors", "groups", _members_with_licence_errors),
    *_collection_routes("contacts", "contacts", lambda t: t.contacts, "contacts", hidden=_ONLY_WHEN_SELECTED),
    _route("deviceManagement", "deviceManagement",
           lambda tenant, version: Entity(tenant.device_management, "deviceManagement")),
    *_collection_routes("deviceManagement/termsAndConditions", "termsAndConditions",
                        lambda t: t.terms_and_conditions, "deviceManagement/termsAndConditions"),
    _route("deviceManagement/termsAndConditions/{id}/assignments", "termsAndConditions", _terms_assignments),
    *_collection_routes("identityGovernance/termsOfUse/agreements", "agreements",
                        lambda t: t.agreements, "identityGovernance/termsOfUse/agreements"),
    *_collection_routes("identity/conditionalAccess/policies", "conditionalAccessPolicies",
                        lambda t: t.conditional_access_policies, "identity/conditionalAccess/policies"),
    *_collection_routes("roleManagement/directory/roleAssignments", "roleAssignments",
                        lambda t: t.role_assignments, "roleManagement/directory/roleAssignments"),
    _route("deviceManagement/applePushNotificationCertificate", "applePushNotificationCertificate", _absent_when_none(
        lambda t: t.apple_push_certificate, "deviceManagement/applePushNotificationCertificate/$entity",
        "applePushNotificationCertificate")),
    *_collection_routes("deviceAppManagement/vppTokens", "vppTokens", lambda t: t.vpp_tokens,
                        "deviceAppManagement/vppTokens"),
    _route("deviceManagement/androidManagedStoreAccountEnterpriseSettings", "androidEnterprise", _absent_when_none(
        lambda t: t.android_enterprise, "deviceManagement/androidManagedStoreAccountEnterpriseSettings/$entity",
        "androidManagedStoreAccountEnterpriseSettings")),
    *_collection_routes("deviceManagement/deviceEnrollmentConfigurations", "deviceEnrollmentConfigurations",
                        lambda t: t.enrollment_configurations, "deviceManagement/deviceEnrollmentConfigurations"),
    _route("policies/deviceRegistrationPolicy", "deviceRegistrationPolicy",
           lambda tenant, version: Entity(tenant.device_registration_policy, "deviceRegistrationPolicy")),
    *_collection_routes("policies/mobileDeviceManagementPolicies", "mobileDeviceManagementPolicies",
                        lambda t: t.mdm_policies, "policies/mobileDeviceManagementPolicies"),
    *_collection_routes("devices", "devices", lambda t: t.devices, "devices"),
    _route("reports/authenticationMethods/userRegistrationDetails", "userRegistrationDetails", _registration_details),
    _route("policies/identitySecurityDefaultsEnforcementPolicy", "securityDefaults",
           lambda tenant, version: Entity(tenant.security_defaults, "policies/identitySecurityDefaultsEnforcementPolicy/$entity")),
]


def find_route(segments: list[str]) -> tuple[Route, list[str]]:
    for route in ROUTES:
        ids = route.match(segments)
        if ids is not None:
            return route, ids
    raise _not_found("/".join(segments))


# ------------------------------------------------------------------------------------------------
# Rendering


@dataclass(frozen=True)
class GraphRequest:
    base_url: str                         # the simulator's root, e.g. http://127.0.0.1:PORT
    version: str
    path: str                             # after the version, e.g. "users"
    query_pairs: list[tuple[str, str]]
    options: QueryOptions
    eventual_consistency: bool

    def context_url(self, fragment: str) -> str:
        return f"{self.base_url}/{self.version}/$metadata#{fragment}"

    def next_link(self, skiptoken: str) -> str:
        pairs = [(k, v) for k, v in self.query_pairs if k.lower() != "$skiptoken"] + [("$skiptoken", skiptoken)]
        query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=',$')}" for k, v in pairs)
        return f"{self.base_url}/{self.version}/{self.path}?{query}"


def render(resource: Resource, request: GraphRequest, ids: list[str]) -> dict[str, Any]:
    context = resource.context.format(*ids)
    if isinstance(resource, Entity):
        return {"@odata.context": request.context_url(context),
                **_project(resource.value, request.options.select, resource.hidden)}
    return _render_collection(resource, request, context)


def _render_collection(collection: Collection, request: GraphRequest, context: str) -> dict[str, Any]:
    options = request.options
    matches = _compile_filter(options, request.eventual_consistency, collection.licence_errors)
    start = _decode_skiptoken(options.skiptoken) if options.skiptoken else 0
    page, next_position = _take_page(collection.items, matches, start, options.top)
    body: dict[str, Any] = {"@odata.context": request.context_url(context)}
    if options.count and request.eventual_consistency and options.skiptoken is None:
        body["@odata.count"] = sum(1 for item in collection.items if matches(item))
    if next_position is not None:
        body["@odata.nextLink"] = request.next_link(_encode_skiptoken(next_position))
    body["value"] = [_project(item, options.select, collection.hidden) for item in page]
    return body


def _compile_filter(options: QueryOptions, eventual_consistency: bool,
                    licence_errors: Callable[[GraphObject], bool] | None = None) -> Callable[[GraphObject], bool]:
    if not options.filter:
        return lambda item: True
    if licence_errors is not None and _FILTER_LICENCE_ERRORS.fullmatch(options.filter.strip()):
        # Graph answers this filter only as a default query: with ConsistencyLevel: eventual it is a 400
        # (msgraph-sdk-powershell#2967)
        if eventual_consistency:
            raise _unsupported_query("Unsupported or invalid query filter clause specified for property"
                                     " 'hasMembersWithLicenseErrors' of resource 'Group'.")
        return licence_errors
    parsed = parse_filter(options.filter)
    if parsed.advanced and not (options.count and eventual_consistency):
        raise _unsupported_query(
            f"Operator '{parsed.operator}' is not supported because the required parameters might be missing. "
            "Try adding $count with a value of true and the ConsistencyLevel header with a value of eventual.")
    return parsed.matches


def _take_page(
    items: Sequence[GraphObject], matches: Callable[[GraphObject], bool], start: int, size: int,
) -> tuple[list[GraphObject], int | None]:
    """Up to `size` matching items from position `start`, and the position of the next match (so no
    page is ever empty while a nextLink remains: msgraph-core's PageIterator stops at an empty page)."""
    page: list[GraphObject] = []
    position = start
    while position < len(items):
        item = items[position]
        if matches(item):
            if len(page) == size:
                return page, position
            page.append(item)
        position += 1
    return page, None


def _encode_skiptoken(position: int) -> str:
    return base64.urlsafe_b64encode(f"simulated-page:{position}".encode()).decode().rstrip("=")


def _decode_skiptoken(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, position = text.partition(":")
        if prefix == "simulated-page" and position.isdigit():
            return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _bad_request("Invalid $skiptoken.")


# ------------------------------------------------------------------------------------------------
# The HTTP side


def _split_version(path: str) -> tuple[str, list[str]]:
    segments = [segment for segment in path.split("/") if segment]
    if not segments or segments[0].lower() not in VERSIONS:
        raise _not_found(path)
    return segments[0].lower(), segments[1:]


class _GraphRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GraphSimulator"
    sys_version = ""
    timeout = 30  # idle keep-alive connections end, so their threads do not pile up
    # Headers and body go out in two writes; without this, Nagle plus the client's delayed ACK add ~40 ms.
    disable_nagle_algorithm = True
    server: _GraphHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.simulator._handle(self)

    def _method_not_allowed(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.simulator._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = _method_not_allowed  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log is `GraphSimulator.requests` (which never holds headers or tokens)."""


class _GraphHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    simulator: GraphSimulator

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _GraphRequestHandler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections, so nothing is answered after stop()."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class GraphSimulator:
    """The simulated Graph endpoint. `token=None` accepts any bearer; otherwise only that one."""

    def __init__(
        self, tenant: Tenant, token: str | None = None, faults: FaultPlan | None = None, port: int = 0,
        certificate: tuple[str, str] | None = None,
    ) -> None:
        self.tenant = tenant
        self.certificate = certificate  # (cert PEM, key PEM): serve HTTPS, e.g. behind TLS inspection
        self.token = token
        self.faults = faults or FaultPlan()
        self._port = port
        self._injector = _FaultInjector(self.faults)
        self._log: list[RequestLogEntry] = []
        self._log_lock = threading.Lock()
        self._server: _GraphHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # ends hostile answers that would otherwise go on

    # -- lifecycle

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the Graph simulator is already running")
        server = _GraphHTTPServer((LOOPBACK, self._port))
        server.simulator = self
        if self.certificate:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.certificate)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._stopping.clear()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="graph-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> GraphSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Graph simulator is not running; call start() first")
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://{LOOPBACK}:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[RequestLogEntry]:
        """A snapshot of the request log, oldest first."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    # -- one request

    def _handle(self, handler: _GraphRequestHandler) -> None:
        started = time.perf_counter()
        parts = urlsplit(handler.path)
        path = "/" + "/".join(segment for segment in parts.path.split("/") if segment)
        request_id = str(uuid.uuid4())
        client_request_id = handler.headers.get("client-request-id") or request_id
        host = handler.headers.get("Host", "")
        own_url = f"{'https' if self.certificate else 'http'}://{host or LOOPBACK}{handler.path}"
        for mode in self.faults.hostile:
            self._record(RequestLogEntry(handler.command, path, unquote(parts.query), 0, 0.0, mode, host))
            try:
                if hostile_graph.answer(mode, handler, own_url, self._stopping):
                    return
            except OSError:  # the client went away mid-answer, as it should
                handler.close_connection = True
                return
        fault = None
        try:
            body = hostile_graph.reshape(self.faults.hostile, path, own_url, self._respond(handler, path, parts.query))
            fault = self._injector.pick(f"{handler.command} {path}?{parts.query}")
            response = _success_or_fault(body, fault, self.faults.retry_after)
        except GraphError as error:
            response = Response(error.status, _json_bytes(_error_body(error, request_id, client_request_id)),
                                dict(error.headers))
        response.headers.update({"Content-Type": JSON_CONTENT_TYPE,
                                 "request-id": request_id, "client-request-id": client_request_id})
        if self.faults.slow_seconds:
            time.sleep(self.faults.slow_seconds)
        # Logged before sending, so a client that has its answer always finds the request in the log.
        self._record(RequestLogEntry(handler.command, path, unquote(parts.query), response.status,
                                     round((time.perf_counter() - started) * 1000, 3), fault, host))
        _send(handler, response)

    def _respond(self, handler: _GraphRequestHandler, path: str, query: str) -> bytes:
        """The JSON body of a successful answer; raises GraphError for every error answer."""
        caller = authenticate(handler.headers.get("Authorization"), self.token)
        version, segments = _split_version(path)
        route, ids = find_route(segments)
        if handler.command != "GET":
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
        if not caller.may_call(PERMISSIONS[route.permission]):
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        pairs = parse_qsl(query, keep_blank_values=True)
        request = GraphRequest(self.url, version, "/".join(segments), pairs, QueryOptions.from_pairs(pairs),
                               eventual_consistency=handler.headers.get("ConsistencyLevel", "").lower() == "eventual")
        return _json_bytes(render(route.resolve(self.tenant, version, *ids), request, ids))

    def _record(self, entry: RequestLogEntry) -> None:
        with self._log_lock:
            self._log.append(entry)


_FAULT_ERRORS = {
    "429": ("TooManyRequests", "Too many requests. Retry after the interval in the Retry-After header.", True),
    "503": ("serviceNotAvailable", "The service is temporarily unavailable. Retry later.", True),
    "504": ("gatewayTimeout", "The gateway did not receive a timely response.", False),
}


def _success_or_fault(body: bytes, fault: str | None, retry_after: str) -> Response:
    """The 200 answer, or the fault that replaces it (raised as a GraphError for status faults)."""
    if fault is None:
        return Response(200, body)
    if fault == MALFORMED:
        return Response(200, body[: max(1, len(body) // 2)])
    code, message, sends_retry_after = _FAULT_ERRORS[fault]
    raise GraphError(int(fault), code, message, {"Retry-After": retry_after} if sends_retry_after else None)


def _send(handler: _GraphRequestHandler, response: Response) -> None:
    handler.send_response(response.status)
    for name, value in response.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(response.body)))
    handler.end_headers()
    handler.wfile.write(response.body)


# ------------------------------------------------------------------------------------------------
# Command line


def _port_assignment(text: str) -> tuple[str, int]:
    name, sep, port = text.partition("=")
    if not sep or not name or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT, got {text!r}")
    return name, int(port)


def _fault_plan(text: str) -> FaultPlan:
    try:
        return FaultPlan.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ems_readiness.simulate.graph_server",
        description="Serve a simulated tenant as Microsoft Graph on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--scenario", choices=[*FIXTURE_SCENARIOS, *GENERATED_SCENARIOS], required=True)
    parser.add_argument("--faults", type=_fault_plan, default=None,
                        help="fault plan, e.g. rate=0.3,kinds=429+503,retry_after=0.2,seed=1")
    parser.add_argument("--token", default=None, help="the only bearer token to accept (default: any)")
    parser.add_argument("--listen-port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--port", dest="ports", type=_port_assignment, action="append", default=None,
                        metavar="NAME=PORT", help="a listener port for {{port:NAME}} in the tenant (default: 443)")
    parser.add_argument("--seed", type=int, default=7, help="large scenario: generator seed")
    parser.add_argument("--users", type=int, default=100_000, help="large scenario: number of users")
    parser.add_argument("--groups", type=int, default=5_000, help="large scenario: number of groups")
    args = parser.parse_args(argv)

    ports = dict(args.ports) if args.ports else None
    if args.scenario == "large":
        tenant = generate_large_tenant(seed=args.seed, users=args.users, groups=args.groups, ports=ports)
    else:
        tenant = load_scenario_tenant(args.scenario, ports=ports)
    simulator = GraphSimulator(tenant, token=args.token, faults=args.faults, port=args.listen_port)
    simulator.start()
    print(simulator.url, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
