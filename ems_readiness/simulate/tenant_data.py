"""The simulated tenant's data: fixture tenants read from `tenant.json`, and a large generated one.

A fixture file holds the whole tenant as Graph would return it (camelCase property names), with
navigation properties nested where they belong:

    {
      "organization": {...},                     # GET /organization (v1.0 properties)
      "organizationBetaProperties": {...},       # extra properties only /beta/organization returns
      "subscribedSkus": [...],
      "domains": [{..., "serviceConfigurationRecords": [...], "verificationDnsRecords": [...],
                   "federationConfiguration": [...]}],
      "users": [...], "groups": [...], "contacts": [...],
      "onPremisesSynchronization": [...],
      "deviceManagement": {...},
      "termsAndConditions": [{..., "assignments": [...]}],
      "agreements": [...],
      "conditionalAccessPolicies": [...],
      "roleAssignments": [...]                   # GET /roleManagement/directory/roleAssignments
    }

and, optionally (absent means "not configured" or empty), the enable-phase reads:

      "applePushNotificationCertificate": {...} | null,   # null: Graph answers 404 (never set up)
      "vppTokens": [...],                                  # GET /deviceAppManagement/vppTokens
      "androidManagedStoreAccountEnterpriseSettings": {...} | null,   # beta; null: 404
      "deviceEnrollmentConfigurations": [...],
      "deviceRegistrationPolicy": {...},                   # beta /policies/deviceRegistrationPolicy
      "mobileDeviceManagementPolicies": [...],             # beta /policies/mobileDeviceManagementPolicies
      "devices": [...],                                    # GET /devices
      "userRegistrationDetails": [...] | null,             # null: 403, the tenant has no Entra ID P1/P2
      "identitySecurityDefaultsEnforcementPolicy": {...},
      "groupMembers": {"<group id>": ["<member id>", ...]} # GET /groups/{id}/transitiveMembers

A group's members with licence errors (`/groups/{id}/membersWithLicenseErrors` and the filter
`hasMembersWithLicenseErrors eq true`) are the users whose `licenseAssignmentStates` carry an
error assigned by that group.

Templating, applied to every string value at load time:
- `{{port:NAME}}` anywhere in a string becomes the port of the listener NAME;
- a whole string `@now`, `@now-20m`, `@now-3d`, `@now+400d` (units m, h, d) becomes an ISO-8601 UTC
  time such as `2026-11-25T13:00:00Z`. Only whole values are replaced, so an address like
  `ops@nowhere.test` stays as it is.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"
FIXTURE_SCENARIOS = ("unready", "ready")
GENERATED_SCENARIOS = ("large",)

# Port used for `{{port:NAME}}` when no listeners are given: the standard HTTPS port, as in a real tenant.
DEFAULT_PORT = 443

GraphObject = dict[str, Any]

_PORT_TOKEN = re.compile(r"\{\{port:([A-Za-z0-9_.-]+)\}\}")
_ANY_TOKEN = re.compile(r"\{\{[^}]*\}\}")
_TIME_TOKEN = re.compile(r"@now(?:(?P<sign>[+-])(?P<amount>\d+)(?P<unit>[mhd]))?")
_TIME_UNITS = {"m": "minutes", "h": "hours", "d": "days"}

_DOMAIN_NAVIGATION = ("serviceConfigurationRecords", "verificationDnsRecords", "federationConfiguration")
_TERMS_NAVIGATION = ("assignments",)


@dataclass
class Tenant:
    """One simulated tenant, in Graph's JSON shapes. Navigation properties are kept apart from the
    entities they belong to (keyed by the lower-case domain name or the terms id), because Graph
    returns them only from their own URLs."""

    organization: GraphObject
    organization_beta_properties: GraphObject
    subscribed_skus: list[GraphObject]
    domains: list[GraphObject]
    service_configuration_records: dict[str, list[GraphObject]]
    verification_dns_records: dict[str, list[GraphObject]]
    federation_configuration: dict[str, list[GraphObject]]
    users: Sequence[GraphObject]
    groups: Sequence[GraphObject]
    contacts: Sequence[GraphObject]
    on_premises_synchronization: list[GraphObject]
    device_management: GraphObject
    terms_and_conditions: list[GraphObject]
    terms_and_conditions_assignments: dict[str, list[GraphObject]]
    agreements: list[GraphObject]
    conditional_access_policies: list[GraphObject]
    role_assignments: list[GraphObject] = field(default_factory=list)
    apple_push_certificate: GraphObject | None = None
    vpp_tokens: list[GraphObject] = field(default_factory=list)
    android_enterprise: GraphObject | None = None
    enrollment_configurations: list[GraphObject] = field(default_factory=list)
    device_registration_policy: GraphObject = field(default_factory=dict)
    mdm_policies: list[GraphObject] = field(default_factory=list)
    devices: Sequence[GraphObject] = field(default_factory=list)
    user_registration_details: Sequence[GraphObject] | None = field(default_factory=list)
    security_defaults: GraphObject = field(default_factory=lambda: {"id": "00000000-0000-0000-0000-000000000005",
                                                                     "isEnabled": False})
    group_members: dict[str, list[str]] = field(default_factory=dict)
    _licence_errors: dict[str, list[GraphObject]] | None = field(default=None, repr=False)

    @property
    def tenant_id(self) -> str:
        return self.organization["id"]

    def members_with_licence_errors(self, group_id: str) -> list[GraphObject]:
        return self.licence_errors_by_group().get(group_id.lower(), [])

    def licence_errors_by_group(self) -> dict[str, list[GraphObject]]:
        """Users whose group-based licence assignment failed, by the (lower-case) group id; one pass
        over the users, on first use (the large tenant builds its users on demand)."""
        if self._licence_errors is None:
            found: dict[str, list[GraphObject]] = {}
            for user in self.users:
                states = user.get("licenseAssignmentStates") if isinstance(user, dict) else None
                for state in states if isinstance(states, list) else []:
                    group = state.get("assignedByGroup") if isinstance(state, dict) else None
                    if isinstance(group, str) and str(state.get("state", "")).lower() == "error":
                        found.setdefault(group.lower(), [])
                        if user not in found[group.lower()]:
                            found[group.lower()].append(user)
            self._licence_errors = found
        return self._licence_errors

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Tenant:
        """Build a tenant from an already-templated `tenant.json` document."""
        _require_exact_keys(document)
        domains, domain_navigation = _split_navigation(document["domains"], _DOMAIN_NAVIGATION, key="id")
        terms, terms_navigation = _split_navigation(document["termsAndConditions"], _TERMS_NAVIGATION, key="id")
        return cls(
            organization=document["organization"],
            organization_beta_properties=document["organizationBetaProperties"],
            subscribed_skus=document["subscribedSkus"],
            domains=domains,
            service_configuration_records=domain_navigation["serviceConfigurationRecords"],
            verification_dns_records=domain_navigation["verificationDnsRecords"],
            federation_configuration=domain_navigation["federationConfiguration"],
            users=document["users"],
            groups=document["groups"],
            contacts=document["contacts"],
            on_premises_synchronization=document["onPremisesSynchronization"],
            device_management=document["deviceManagement"],
            terms_and_conditions=terms,
            terms_and_conditions_assignments=terms_navigation["assignments"],
            agreements=document["agreements"],
            conditional_access_policies=document["conditionalAccessPolicies"],
            role_assignments=document["roleAssignments"],
            apple_push_certificate=document.get("applePushNotificationCertificate"),
            vpp_tokens=document.get("vppTokens", []),
            android_enterprise=document.get("androidManagedStoreAccountEnterpriseSettings"),
            enrollment_configurations=document.get("deviceEnrollmentConfigurations", []),
            device_registration_policy=document.get("deviceRegistrationPolicy", {}),
            mdm_policies=document.get("mobileDeviceManagementPolicies", []),
            devices=document.get("devices", []),
            user_registration_details=document.get("userRegistrationDetails", []),
            security_defaults=document.get("identitySecurityDefaultsEnforcementPolicy",
                                           {"id": "00000000-0000-0000-0000-000000000005", "isEnabled": False}),
            group_members={k.lower(): v for k, v in document.get("groupMembers", {}).items()},
        )


TENANT_DOCUMENT_KEYS = frozenset({
    "organization", "organizationBetaProperties", "subscribedSkus", "domains", "users", "groups",
    "contacts", "onPremisesSynchronization", "deviceManagement", "termsAndConditions", "agreements",
    "conditionalAccessPolicies", "roleAssignments",
})


OPTIONAL_DOCUMENT_KEYS = frozenset({
    "applePushNotificationCertificate", "vppTokens", "androidManagedStoreAccountEnterpriseSettings",
    "deviceEnrollmentConfigurations", "deviceRegistrationPolicy", "mobileDeviceManagementPolicies", "devices",
    "userRegistrationDetails", "identitySecurityDefaultsEnforcementPolicy", "groupMembers",
})


def _require_exact_keys(document: Mapping[str, Any]) -> None:
    missing = TENANT_DOCUMENT_KEYS - document.keys()
    unknown = document.keys() - TENANT_DOCUMENT_KEYS - OPTIONAL_DOCUMENT_KEYS
    if missing or unknown:
        raise ValueError(
            f"tenant document: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}; "
            f"expected exactly {sorted(TENANT_DOCUMENT_KEYS)} and optionally {sorted(OPTIONAL_DOCUMENT_KEYS)}")


def _split_navigation(
    entities: list[GraphObject], navigation: tuple[str, ...], key: str,
) -> tuple[list[GraphObject], dict[str, dict[str, list[GraphObject]]]]:
    plain: list[GraphObject] = []
    by_property: dict[str, dict[str, list[GraphObject]]] = {name: {} for name in navigation}
    for entity in entities:
        entity_key = entity[key].lower()
        plain.append({k: v for k, v in entity.items() if k not in navigation})
        for name in navigation:
            by_property[name][entity_key] = entity.get(name, [])
    return plain, by_property


# ------------------------------------------------------------------------------------------------
# Loading fixture tenants


def scenario_tenant_path(name: str) -> Path:
    if name not in FIXTURE_SCENARIOS:
        raise ValueError(f"no fixture tenant named {name!r}; fixture scenarios are {list(FIXTURE_SCENARIOS)}")
    return SCENARIOS_DIR / name / "tenant.json"


def load_tenant(
    path: str | Path, ports: Mapping[str, int] | None = None, now: datetime | None = None,
) -> Tenant:
    """Read a `tenant.json`, apply the templating, and return the tenant.

    `ports` maps listener names to ports; with `ports=None` every `{{port:NAME}}` becomes 443. A name
    missing from a given `ports` is an error, so a scenario never points at a port nobody listens on.
    """
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return Tenant.from_document(render_template(document, ports, now))


def load_scenario_tenant(
    name: str, ports: Mapping[str, int] | None = None, now: datetime | None = None,
) -> Tenant:
    """`unready`, `ready` (fixture files) or `large` (generated with the default parameters)."""
    if name in GENERATED_SCENARIOS:
        return generate_large_tenant(ports=ports, now=now)
    return load_tenant(scenario_tenant_path(name), ports=ports, now=now)


def render_template(value: Any, ports: Mapping[str, int] | None = None, now: datetime | None = None) -> Any:
    """Apply the port and time tokens to every string inside a JSON value."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return _render(value, lambda text: _render_string(text, ports, now))


def _render(value: Any, render_string: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return render_string(value)
    if isinstance(value, list):
        return [_render(item, render_string) for item in value]
    if isinstance(value, dict):
        return {key: _render(item, render_string) for key, item in value.items()}
    return value


def _render_string(text: str, ports: Mapping[str, int] | None, now: datetime) -> str:
    time_token = _TIME_TOKEN.fullmatch(text)
    if time_token:
        return iso_utc(now + _time_offset(time_token))
    rendered = _PORT_TOKEN.sub(lambda match: str(_port(match.group(1), ports)), text)
    leftover = _ANY_TOKEN.search(rendered)
    if leftover:
        raise ValueError(f"unknown template token {leftover.group(0)!r} in {text!r}; only {{{{port:NAME}}}} is known")
    return rendered


def _time_offset(token: re.Match[str]) -> timedelta:
    if not token.group("sign"):
        return timedelta()
    amount = int(token.group("amount")) * (1 if token.group("sign") == "+" else -1)
    return timedelta(**{_TIME_UNITS[token.group("unit")]: amount})


def _port(name: str, ports: Mapping[str, int] | None) -> int:
    if ports is None:
        return DEFAULT_PORT
    try:
        return int(ports[name])
    except KeyError:
        raise ValueError(f"tenant data uses {{{{port:{name}}}}} but no port named {name!r} was given "
                         f"(given: {sorted(ports)})") from None


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------------
# The large tenant: objects are built on demand from their index, so 100,000 users cost a few hundred
# kilobytes (one random byte per object plus the set of objects with errors) instead of ~150 MB of dicts.


class GeneratedObjects(Sequence[GraphObject]):
    """A read-only sequence: the `leading` objects as given, then `count` objects built,
    deterministically, from their index when they are read."""

    def __init__(self, leading: Sequence[GraphObject], count: int, build: Callable[[int], GraphObject]) -> None:
        self._leading = list(leading)
        self._count = count
        self._build = build

    def __len__(self) -> int:
        return len(self._leading) + self._count

    def __getitem__(self, index: int) -> GraphObject:  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]  # type: ignore[return-value]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index < len(self._leading):
            return self._leading[index]
        return self._build(index - len(self._leading))

    def __iter__(self) -> Iterator[GraphObject]:
        return (self[i] for i in range(len(self)))


@dataclass
class _ObjectTraits:
    """The seeded random choices for one kind of generated object."""

    id_base: int
    variant: bytes
    with_errors: frozenset[int]

    @classmethod
    def draw(cls, rng: random.Random, count: int, error_rate: float) -> _ObjectTraits:
        return cls(
            id_base=rng.getrandbits(128),
            variant=rng.randbytes(count),
            with_errors=frozenset(rng.sample(range(count), round(count * error_rate))),
        )

    def object_id(self, index: int) -> str:
        return str(uuid.UUID(int=(self.id_base + index) % (1 << 128)))


_GIVEN_NAMES = ("Adele", "Alex", "Diego", "Grady", "Isaiah", "Johanna", "Lee", "Lidia", "Lynne", "Megan",
                "Miriam", "Nestor", "Patti", "Pradeep", "Joni", "Henrietta", "Irvin", "Enrico")
_SURNAMES = ("Vance", "Wilber", "Siciliani", "Archie", "Langer", "Lorenz", "Gu", "Holloway", "Robbins",
             "Bowen", "Graham", "Wilke", "Fernandez", "Gupta", "Sherman", "Mueller", "Sayers", "Cattaneo")


@dataclass(frozen=True)
class _UpnPlacement:
    """Where a generated user's sign-in name lives (chosen by the user's random byte)."""

    below: int  # the byte threshold: variant byte < below selects this placement
    suffix: str
    synced: bool
    on_premises_suffix: str | None  # None: same as suffix


_UPN_PLACEMENTS = (
    _UpnPlacement(140, "contoso.test", synced=True, on_premises_suffix=None),                 # ~55 %
    _UpnPlacement(200, "fabrikam.test", synced=True, on_premises_suffix=None),                # ~23 %
    _UpnPlacement(230, "contoso.onmicrosoft.com", synced=False, on_premises_suffix=None),     # ~12 % cloud-only
    _UpnPlacement(256, "contoso.onmicrosoft.com", synced=True, on_premises_suffix="corp.local"),  # ~10 %
)


@dataclass
class _LargeTenantFactory:
    rng: random.Random
    error_rate: float
    now: datetime
    last_sync: str = field(init=False)
    error_time: str = field(init=False)

    def __post_init__(self) -> None:
        self.last_sync = iso_utc(self.now - timedelta(minutes=20))
        self.error_time = iso_utc(self.now - timedelta(days=2))

    def users(self, fixture: Sequence[GraphObject], total: int) -> GeneratedObjects:
        return self._objects(fixture, total, self._user)

    def groups(self, fixture: Sequence[GraphObject], total: int) -> GeneratedObjects:
        return self._objects(fixture, total, self._group)

    def contacts(self, fixture: Sequence[GraphObject], total: int) -> GeneratedObjects:
        return self._objects(fixture, total, self._contact)

    def _objects(
        self, fixture: Sequence[GraphObject], total: int,
        build: Callable[[int, _ObjectTraits], GraphObject],
    ) -> GeneratedObjects:
        leading = list(fixture)[:total]
        count = total - len(leading)
        traits = _ObjectTraits.draw(self.rng, count, self.error_rate)
        return GeneratedObjects(leading, count, lambda i: build(i, traits))

    def _user(self, index: int, traits: _ObjectTraits) -> GraphObject:
        has_error = index in traits.with_errors
        placement = _upn_placement(traits.variant[index])
        if has_error and not placement.synced:
            placement = _UPN_PLACEMENTS[0]  # only synced objects can have on-premises provisioning errors
        given = _GIVEN_NAMES[index % len(_GIVEN_NAMES)]
        surname = _SURNAMES[(index // len(_GIVEN_NAMES)) % len(_SURNAMES)]
        alias = f"user{index:06d}"
        upn = f"{alias}@{placement.suffix}"
        on_premises_upn = f"{alias}@{placement.on_premises_suffix or placement.suffix}" if placement.synced else None
        errors = [self._conflict(index, alias, placement.suffix)] if has_error else []
        return {
            "id": traits.object_id(index),
            "displayName": f"{given} {surname}",
            "givenName": given,
            "surname": surname,
            "userPrincipalName": upn,
            "mail": upn if placement.suffix != "contoso.onmicrosoft.com" else None,
            "accountEnabled": True,
            "userType": "Member",
            "businessPhones": [],
            "onPremisesSyncEnabled": True if placement.synced else None,
            "onPremisesUserPrincipalName": on_premises_upn,
            "onPremisesSamAccountName": alias if placement.synced else None,
            "onPremisesLastSyncDateTime": self.last_sync if placement.synced else None,
            "onPremisesProvisioningErrors": errors,
            # group-based EMS licence; 1 in LICENCE_ERROR_EVERY has no free licence, 1 in NO_LOCATION_EVERY no location
            "usageLocation": None if index % NO_LOCATION_EVERY == NO_LOCATION_EVERY - 1 else "US",
            "assignedLicenses": [{"skuId": EMS_SKU, "disabledPlans": []}],
            "licenseAssignmentStates": [{
                "skuId": EMS_SKU, "assignedByGroup": LICENSING_GROUP, "disabledPlans": [],
                "state": "Error" if index % LICENCE_ERROR_EVERY == 0 else "Active",
                "error": "CountViolation" if index % LICENCE_ERROR_EVERY == 0 else "None"}],
        }

    def registration(self, user: GraphObject, index: int) -> GraphObject:
        """The user's authentication-methods registration (USR-001): 1 in NOT_MFA_CAPABLE_EVERY cannot do MFA."""
        capable = index % NOT_MFA_CAPABLE_EVERY != 0
        return {"id": user["id"], "userPrincipalName": user["userPrincipalName"], "userDisplayName": user["displayName"],
                "userType": "member", "isAdmin": False, "isMfaCapable": capable, "isMfaRegistered": capable,
                "isSsprRegistered": capable, "methodsRegistered": ["microsoftAuthenticatorPush"] if capable else [],
                "lastUpdatedDateTime": self.last_sync}

    def device(self, index: int, traits: _ObjectTraits) -> GraphObject:
        """One Entra device (DEV-002): Windows, iOS, Android or macOS by the random byte, a few below the minimum."""
        system, version = _DEVICE_SYSTEMS[traits.variant[index] % len(_DEVICE_SYSTEMS)]
        if index % OLD_DEVICE_EVERY == 0:
            version = {"Windows": "10.0.15063.2679", "iOS": "15.7.9", "Android": "9.0", "MacMDM": "12.7.6"}[system]
        return {"id": traits.object_id(index), "deviceId": traits.object_id(index + 1), "displayName": f"DEV-{index:06d}",
                "operatingSystem": system, "operatingSystemVersion": version, "accountEnabled": True,
                "approximateLastSignInDateTime": self.last_sync, "trustType": "AzureAd"}

    def _group(self, index: int, traits: _ObjectTraits) -> GraphObject:
        alias = f"group{index:05d}"
        return {
            "id": traits.object_id(index),
            "displayName": f"Group {index:05d}",
            "mail": f"{alias}@contoso.test",
            "mailEnabled": True,
            "mailNickname": alias,
            "securityEnabled": True,
            "groupTypes": [],
            "onPremisesSyncEnabled": True,
            "onPremisesLastSyncDateTime": self.last_sync,
            "onPremisesSamAccountName": alias,
            "onPremisesProvisioningErrors":
                [self._conflict(index, alias, "contoso.test")] if index in traits.with_errors else [],
        }

    def _contact(self, index: int, traits: _ObjectTraits) -> GraphObject:
        alias = f"partner{index:05d}"
        return {
            "id": traits.object_id(index),
            "displayName": f"Partner {index:05d}",
            "mail": f"{alias}@partner.test",
            "mailNickname": alias,
            "companyName": "Partner Ltd",
            "proxyAddresses": [f"SMTP:{alias}@partner.test"],
            "onPremisesSyncEnabled": True,
            "onPremisesLastSyncDateTime": self.last_sync,
            "onPremisesProvisioningErrors":
                [self._conflict(index, alias, "partner.test")] if index in traits.with_errors else [],
        }

    def _conflict(self, index: int, alias: str, suffix: str) -> GraphObject:
        if index % 2:
            causing, value = "UserPrincipalName", f"{alias}@{suffix}"
        else:
            causing, value = "ProxyAddress", f"smtp:{alias}@{suffix}"
        return {"category": "PropertyConflict", "occurredDateTime": self.error_time,
                "propertyCausingError": causing, "value": value}


EMS_SKU = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"
LICENSING_GROUP = "7b7fa55f-9323-5528-87c8-b5b75ca43104"  # the ready tenant's "All Staff"
LICENCE_ERROR_EVERY = 500      # 0.2 % of the generated users: a group licence in CountViolation
NO_LOCATION_EVERY = 2000       # 0.05 %: licensed without a usage location
NOT_MFA_CAPABLE_EVERY = 40     # 2.5 %: not MFA-capable
OLD_DEVICE_EVERY = 50          # 2 % of the devices: below Intune's minimum
_DEVICE_SYSTEMS = (("Windows", "10.0.26100.2605"), ("Windows", "10.0.19045.5247"), ("iOS", "18.2"),
                   ("Android", "15.0"), ("MacMDM", "15.2"))


def _upn_placement(variant_byte: int) -> _UpnPlacement:
    return next(p for p in _UPN_PLACEMENTS if variant_byte < p.below)


def generate_large_tenant(
    seed: int = 7,
    users: int = 100_000,
    groups: int = 5_000,
    error_rate: float = 0.01,
    *,
    contacts: int = 500,
    ports: Mapping[str, int] | None = None,
    now: datetime | None = None,
) -> Tenant:
    """The `ready` tenant grown to `users`, `groups` and `contacts` objects in all: its own objects come
    first (the terms assignment points at one of its groups), the rest are seeded generated objects.
    `error_rate` of the generated objects carry a provisioning error, and user names are spread over contoso.test,
    fabrikam.test, contoso.onmicrosoft.com (cloud-only) and synced users left on contoso.onmicrosoft.com
    whose on-premises name is on corp.local."""
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"error_rate must be between 0 and 1, got {error_rate}")
    if min(users, groups, contacts) < 0:
        raise ValueError("object counts must not be negative")
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    tenant = load_tenant(scenario_tenant_path("ready"), ports=ports, now=now)
    factory = _LargeTenantFactory(random.Random(seed), error_rate, now)
    fixture_users = len(tenant.users)
    tenant.users = factory.users(tenant.users, users)
    tenant.groups = factory.groups(tenant.groups, groups)
    tenant.contacts = factory.contacts(tenant.contacts, contacts)
    # the enable-phase collections at the same scale: a registration per user, a device per two users
    all_users = tenant.users
    first_generated = min(fixture_users, users)
    tenant.user_registration_details = GeneratedObjects(
        list(tenant.user_registration_details or [])[:first_generated], users - first_generated,
        lambda i: factory.registration(all_users[first_generated + i], i))
    device_traits = _ObjectTraits.draw(factory.rng, users // 2, 0.0)
    tenant.devices = GeneratedObjects(list(tenant.devices), users // 2, lambda i: factory.device(i, device_traits))
    return tenant
