"""Field mutations of the simulated tenant, and a harness that runs tenant checks against each.

The fields come from the simulated tenant itself: every field of every object a check's Graph read
returns (only the `$select`ed ones where the read selects), found by running each check once and
reading the simulator's request log. Each field gets the variants a hostile or changed Graph could
send: removed, null, a value of the wrong JSON type, and (for text) a value nobody documented.

The harness keeps one simulated Graph server and one msgraph-sdk client for a whole scenario and
swaps the tenant data between runs; a run applies several variants at once when no check reads
two of them, so every check still sees exactly one mutated field.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ems_readiness.engine.auth import StaticTokenCredential, graph_scope, read_claims
from ems_readiness.engine.check import Check
from ems_readiness.engine.context import CheckContext, Probes
from ems_readiness.engine.inventory import Inventory
from ems_readiness.engine.model import CheckResult
from ems_readiness.engine.runner import run_check
from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.graph import GraphProbe, build_client
from ems_readiness.simulate.graph_server import GraphSimulator, parse_filter
from ems_readiness.simulate.tenant_data import Tenant

UNKNOWN_TEXT = "zz-value-nobody-documented"

# Graph path -> the Tenant attribute that serves it (and the URL segment keying a navigation property)
SOURCES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"/v1\.0/organization(/[^/]+)?"), ("organization",)),
    (re.compile(r"/beta/organization"), ("organization", "organization_beta_properties")),
    (re.compile(r"/v1\.0/subscribedSkus"), ("subscribed_skus",)),
    (re.compile(r"/v1\.0/domains"), ("domains",)),
    (re.compile(r"/v1\.0/domains/(?P<key>[^/]+)/serviceConfigurationRecords"), ("service_configuration_records",)),
    (re.compile(r"/v1\.0/domains/(?P<key>[^/]+)/verificationDnsRecords"), ("verification_dns_records",)),
    (re.compile(r"/v1\.0/domains/(?P<key>[^/]+)/federationConfiguration"), ("federation_configuration",)),
    (re.compile(r"/v1\.0/directory/onPremisesSynchronization"), ("on_premises_synchronization",)),
    (re.compile(r"/v1\.0/users"), ("users",)),
    (re.compile(r"/v1\.0/groups"), ("groups",)),
    (re.compile(r"/v1\.0/contacts"), ("contacts",)),
    (re.compile(r"/v1\.0/deviceManagement"), ("device_management",)),
    (re.compile(r"/v1\.0/deviceManagement/termsAndConditions"), ("terms_and_conditions",)),
    (re.compile(r"/v1\.0/deviceManagement/termsAndConditions/(?P<key>[^/]+)/assignments"),
     ("terms_and_conditions_assignments",)),
    (re.compile(r"/v1\.0/identityGovernance/termsOfUse/agreements"), ("agreements",)),
    (re.compile(r"/v1\.0/identity/conditionalAccess/policies"), ("conditional_access_policies",)),
    (re.compile(r"/v1\.0/deviceManagement/applePushNotificationCertificate"), ("apple_push_certificate",)),
    (re.compile(r"/v1\.0/deviceAppManagement/vppTokens"), ("vpp_tokens",)),
    (re.compile(r"/beta/deviceManagement/androidManagedStoreAccountEnterpriseSettings"), ("android_enterprise",)),
    (re.compile(r"/v1\.0/reports/authenticationMethods/userRegistrationDetails"), ("user_registration_details",)),
    (re.compile(r"/v1\.0/policies/identitySecurityDefaultsEnforcementPolicy"), ("security_defaults",)),
    (re.compile(r"/v1\.0/devices"), ("devices",)),
    (re.compile(r"/v1\.0/deviceManagement/deviceEnrollmentConfigurations"), ("enrollment_configurations",)),
    (re.compile(r"/beta/policies/deviceRegistrationPolicy"), ("device_registration_policy",)),
    (re.compile(r"/beta/policies/mobileDeviceManagementPolicies"), ("mdm_policies",)),
    # not mapped: /groups/{id}/membersWithLicenseErrors — the simulator derives that membership from
    # the users' licence states, so mutating a state would change which users Graph lists, not what it says
]

Source = tuple[str, str | None]  # (Tenant attribute, navigation key or None)
Path = tuple[Any, ...]


@dataclass(frozen=True)
class Variant:
    source: Source
    path: Path          # inside the source's data: list indexes and dict keys
    kind: str           # removed | null | wrong-type | unknown
    value: Any = None   # the new value (not for removed)

    @property
    def field(self) -> str:
        return next((p for p in reversed(self.path) if isinstance(p, str)), "?")

    @property
    def in_list(self) -> bool:
        return isinstance(self.path[-1], int)

    def __str__(self) -> str:
        where = self.source[0] + (f"[{self.source[1]}]" if self.source[1] else "")
        return f"{where}{''.join(f'[{p}]' if isinstance(p, int) else f'.{p}' for p in self.path)} {self.kind}"


@dataclass(frozen=True)
class Read:
    """One request as the simulator logged it: which fields it selected and which objects it filtered."""

    select: frozenset[str] | None  # lower-case names; None: every field
    filter: str | None

    def returns(self, data: Any, path: Path) -> bool:
        """Whether this read returns the field at `path` (a path into the source's data)."""
        top = next(step for step in path if isinstance(step, str))
        if self.select is not None and top.lower() not in self.select:
            return False
        if self.filter is None or not isinstance(path[0], int) or top.lower() in self.filter.lower():
            return True
        if "hasmemberswithlicenseerrors" in self.filter.lower():
            return True  # computed from other data by Graph (and the simulator): assume every group may match
        return parse_filter(self.filter).matches(data[path[0]])


def sources_read(requests: list[Any]) -> dict[Source, set[Read]]:
    """The tenant data each logged request read."""
    found: dict[Source, set[Read]] = {}
    for request in requests:
        if request.status != 200:
            continue
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        select = frozenset(f.strip().lower() for f in query["$select"].split(",")) if "$select" in query else None
        for pattern, attrs in SOURCES:
            match = pattern.fullmatch(request.path)
            if not match:
                continue
            key = match.groupdict().get("key")
            for attr in attrs:
                found.setdefault((attr, key.lower() if key else None), set()).add(Read(select, query.get("$filter")))
    return found


def source_data(tenant: Tenant, source: Source) -> Any:
    data = getattr(tenant, source[0])
    return data.get(source[1], []) if source[1] is not None else data


def field_paths(data: Any) -> Iterator[Path]:
    """Every field of the source's object or objects, at any depth."""
    objects = list(enumerate(data)) if isinstance(data, list) else [(None, data)]
    for index, obj in objects:
        if not isinstance(obj, dict):
            continue
        prefix = () if index is None else (index,)
        for key, value in obj.items():
            yield prefix + (key,)
            yield from nested_paths(value, prefix + (key,))


def nested_paths(value: Any, path: Path) -> Iterator[Path]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,)
            yield from nested_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path + (index,)
            yield from nested_paths(item, path + (index,))


def wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return 7
    if isinstance(value, (list, dict)):
        return UNKNOWN_TEXT
    return {"unexpected": 7}  # null in the fixture


def variants_of(source: Source, data: Any, path: Path) -> Iterator[Variant]:
    value = get_at(data, path)
    if isinstance(path[-1], int):
        # an item of a list: removing it or changing its text is a different, legitimate answer
        yield Variant(source, path, "null-item")
        yield Variant(source, path, "wrong-type", wrong_type(value))
        return
    yield Variant(source, path, "removed")
    if value is not None:
        yield Variant(source, path, "null")
    yield Variant(source, path, "wrong-type", wrong_type(value))
    if isinstance(value, str):
        yield Variant(source, path, "unknown", UNKNOWN_TEXT)


def get_at(data: Any, path: Path) -> Any:
    for step in path:
        data = data[step]
    return data


def apply(tenant: Tenant, variants: list[Variant]) -> Tenant:
    """A copy of the tenant with the variants applied (only the touched attributes are copied)."""
    changed: dict[str, Any] = {}
    for variant in variants:
        attr, key = variant.source
        if attr not in changed:
            changed[attr] = copy.deepcopy(getattr(tenant, attr))
        data = changed[attr][key] if key is not None else changed[attr]
        parent = get_at(data, variant.path[:-1])
        last = variant.path[-1]
        if variant.kind == "removed":
            del parent[last]
        elif variant.kind in ("null", "null-item"):
            parent[last] = None
        else:
            parent[last] = variant.value
    return dataclasses.replace(tenant, **changed)


class CheckHarness:
    """Runs checks in-process against the simulator through one msgraph-sdk client."""

    def __init__(self, sim: GraphSimulator, token: str, profile: Any) -> None:
        self.sim = sim
        self.profile = profile
        self.claims = read_claims(token)
        self.client = build_client(sim.url, StaticTokenCredential(token), graph_scope(sim.url), 10.0)
        self.runs = 0

    async def run(self, checks: list[Check]) -> dict[str, CheckResult]:
        """Each check once, sharing one fresh probe (one scan's cache)."""
        graph = GraphProbe(self.sim.url, self.client, EvidenceLog(), self.claims, timeout=10.0, max_retry_wait=0.0)
        probes = Probes(graph=graph, dns=None, tls=None, tcp=None)  # type: ignore[arg-type]
        inventory = Inventory(self.profile, graph)
        results = await asyncio.gather(*(run_check(c, CheckContext(c, self.profile, probes, inventory))
                                         for c in checks))
        self.runs += 1
        return {r.id: r for r in results}

    async def reads_of(self, check: Check) -> dict[Source, set[Read]]:
        self.sim.clear_requests()
        await self.run([check])
        return sources_read(self.sim.requests)

    async def aclose(self) -> None:
        await GraphProbe(self.sim.url, self.client, EvidenceLog(), self.claims).aclose()


def batches(pending: list[tuple[Variant, frozenset[str]]]) -> Iterator[list[tuple[Variant, frozenset[str]]]]:
    """Groups of variants no two of which a check reads (greedy, in order)."""
    queue = list(pending)
    while queue:
        taken: set[str] = set()
        batch, rest = [], []
        for item in queue:
            if taken.isdisjoint(item[1]):
                batch.append(item)
                taken |= item[1]
            else:
                rest.append(item)
        yield batch
        queue = rest
