"""What the directory side judges: Active Directory objects and forest facts, whatever their source.

The LDAP probe (`probes/directory.py`) and the export reader (`probes/directory_export.py`) both
produce these; the pure rules (`judges/idfix.py`) and the directory checks consume them. Nothing here
does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

ObjectKind = Literal["user", "group", "contact", "computer", "other"]


@dataclass(frozen=True, slots=True)
class AdObject:
    """One directory object as read: attribute names lower-cased, every value a string.

    Binary GUIDs (objectGUID, mS-DS-ConsistencyGuid) are given in their canonical text form
    (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, as AD displays them); an attribute the source did
    not send is absent from `attributes` (absent is not empty).
    """

    dn: str
    attributes: Mapping[str, tuple[str, ...]]
    # where it came from, for evidence: "ldaps://dc01.corp.example:636" or "export.ldf:1234"
    source: str = ""

    def values(self, name: str) -> tuple[str, ...]:
        return self.attributes.get(name.lower(), ())

    def first(self, name: str) -> str | None:
        values = self.values(name)
        return values[0] if values else None

    def has(self, name: str) -> bool:
        return name.lower() in self.attributes

    @property
    def object_classes(self) -> frozenset[str]:
        return frozenset(v.lower() for v in self.values("objectclass"))

    @property
    def kind(self) -> ObjectKind:
        classes = self.object_classes
        if "computer" in classes:
            return "computer"
        if "group" in classes:
            return "group"
        if "contact" in classes:
            return "contact"
        if "user" in classes or "inetorgperson" in classes:
            return "user"
        return "other"


@dataclass(frozen=True)
class DomainInfo:
    dn: str                      # DC=corp,DC=example
    dns_name: str                # corp.example
    netbios_name: str | None     # CORP
    functional_level: int | None  # msDS-Behavior-Version of the domain (0..10); None if not read


@dataclass(frozen=True)
class ForestInfo:
    """Forest-wide facts read once from rootDSE, CN=Partitions and the configuration partition."""

    root_domain: str                      # DNS name of the forest root domain
    forest_functional_level: int | None
    domains: tuple[DomainInfo, ...]
    upn_suffixes: tuple[str, ...]         # uPNSuffixes on CN=Partitions (beyond the domain names)
    recycle_bin_enabled: bool | None      # None: could not tell
    writable_dc_present: bool | None
    # keywords of the hybrid-join SCP (CN=62a0ff2e-…,CN=Device Registration Configuration,CN=Services,…);
    # None when the SCP does not exist, () when it exists without keywords
    hybrid_join_scp: tuple[str, ...] | None
    # serviceBindingInformation / DN of an AD RMS cluster SCP, None when absent
    rms_scp: tuple[str, ...] | None
    # attributes outside the global catalog's partial attribute set (judged from the schema);
    # empty unless the read went to a GC
    outside_partial_attribute_set: frozenset[str] = field(default_factory=frozenset)
