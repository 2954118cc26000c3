"""The pre-sync match preview: what Entra Connect's first sync will do with each on-premises user.

Pure logic over two compact lists — the on-premises users (from the directory) and the cloud users
(from Microsoft Graph) — following Entra's matching rules:

- **Hard match**: the source anchor (base64 of mS-DS-ConsistencyGuid, else of objectGUID, as
  .NET writes a Guid's bytes) equals a cloud user's `onPremisesImmutableId`. A cloud user that is
  still synced (`onPremisesSyncEnabled` true) is the same object already joined; one that is not is
  taken over by the sync.
- **Soft match**: a cloud user without an immutable id whose primary SMTP address (or UPN, when
  soft match on UPN is on, the default) equals the on-premises user's. Entra refuses a soft match to
  a user holding an administrative role: that sync run fails for the object (a takeover the tool
  reports as a failure with its fix).
- A cloud user with the same UPN or primary SMTP address but **anchored to another immutable id**
  is a conflict: the on-premises object cannot match and is quarantined as a duplicate attribute.
- A cloud-only user with neither match but the same alias (UPN local part) or display name is most
  likely the same person: sync would create a **duplicate** account instead of matching.

No I/O here: `checks/directory.py` (ADP-004) feeds it and reports its outcomes.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping

from ems_readiness.judges.ad_objects import AdObject

MatchKind = Literal["already-synced", "hard", "soft", "admin-takeover", "conflict", "duplicate", "new"]


@dataclass(frozen=True, slots=True)
class OnPremUser:
    dn: str
    upn: str | None
    primary_smtp: str | None       # the SMTP: proxy address, else mail; lower-case, no prefix
    anchor: str | None             # the source anchor's GUID, lower-case text (its base64 is the immutable id)
    anchor_source: str | None      # "mS-DS-ConsistencyGuid" | "objectGUID"
    display_name: str | None


@dataclass(frozen=True, slots=True)
class CloudUser:
    id: str
    upn: str | None
    primary_smtp: str | None
    immutable_id: str | None
    synced: bool | None            # onPremisesSyncEnabled
    display_name: str | None
    roles: tuple[str, ...] = ()    # directory roles held (names)


@dataclass(frozen=True)
class MatchOutcome:
    kind: MatchKind
    on_prem: OnPremUser
    cloud: CloudUser | None = None
    via: str = ""                  # "immutable id", "UPN", "primary SMTP", "alias", "display name"


def immutable_id_of(guid_text: str) -> str | None:
    """base64 of a GUID's bytes in .NET's order (Guid.ToByteArray), as Entra Connect writes the anchor."""
    try:
        return base64.b64encode(uuid.UUID(guid_text.strip("{}")).bytes_le).decode()
    except (ValueError, AttributeError):
        return None


def guid_of_immutable_id(immutable_id: str) -> str | None:
    """The GUID an immutable id encodes (lower-case text); None for an anchor that is not a GUID."""
    try:
        raw = base64.b64decode(immutable_id, validate=True)
    except (ValueError, TypeError):
        return None
    return str(uuid.UUID(bytes_le=raw)) if len(raw) == 16 else None


def primary_smtp_of(proxy_addresses: Iterable[str], mail: str | None) -> str | None:
    for address in proxy_addresses:
        if address.startswith("SMTP:"):  # upper-case prefix marks the primary address
            return address[5:].strip().lower() or None
    return mail.strip().lower() if mail and mail.strip() else None


def on_prem_user(obj: AdObject) -> OnPremUser:
    attributes = obj.attributes  # read directly: this runs once per user of the directory
    anchor, source = None, None
    for attribute, key in (("mS-DS-ConsistencyGuid", "ms-ds-consistencyguid"), ("objectGUID", "objectguid")):
        values = attributes.get(key)
        if values and values[0]:
            # compared as text: cheaper than encoding every user's anchor (cloud ids are decoded instead)
            anchor, source = values[0].strip("{}").lower(), attribute
            break
    upn = (attributes.get("userprincipalname") or ("",))[0].strip()
    mail = attributes.get("mail")
    display = attributes.get("displayname")
    return OnPremUser(
        dn=obj.dn,
        upn=upn.lower() or None,
        primary_smtp=primary_smtp_of(attributes.get("proxyaddresses", ()), mail[0] if mail else None),
        anchor=anchor,
        anchor_source=source if anchor else None,
        display_name=display[0] if display else None,
    )


def cloud_user(obj: Mapping[str, Any], roles: Mapping[str, tuple[str, ...]] | None = None) -> CloudUser | None:
    """A Graph user ($select of CLOUD_USER_FIELDS); None for guests, who never match."""
    if obj.get("userType") == "Guest":
        return None
    proxies = [p for p in obj.get("proxyAddresses") or [] if isinstance(p, str)]
    upn = obj.get("userPrincipalName")
    return CloudUser(
        id=str(obj.get("id")),
        upn=upn.lower() if isinstance(upn, str) and upn else None,
        primary_smtp=primary_smtp_of(proxies, obj.get("mail") if isinstance(obj.get("mail"), str) else None),
        immutable_id=obj.get("onPremisesImmutableId") or None,
        synced=obj.get("onPremisesSyncEnabled"),
        display_name=obj.get("displayName") if isinstance(obj.get("displayName"), str) else None,
        roles=tuple((roles or {}).get(str(obj.get("id")), ())),
    )


CLOUD_USER_FIELDS = ["id", "userPrincipalName", "mail", "proxyAddresses", "displayName", "userType",
                     "onPremisesImmutableId", "onPremisesSyncEnabled"]


def alias_of(upn: str | None) -> str | None:
    return upn.split("@", 1)[0] if upn and "@" in upn else None


class _Index:
    def __init__(self, cloud: Iterable[CloudUser]) -> None:
        self.by_anchor: dict[str, CloudUser] = {}
        self.by_upn: dict[str, CloudUser] = {}
        self.by_smtp: dict[str, CloudUser] = {}
        self.by_alias: dict[str, CloudUser] = {}
        self.by_name: dict[str, CloudUser] = {}
        for user in cloud:
            anchor = guid_of_immutable_id(user.immutable_id) if user.immutable_id else None
            if anchor:
                self.by_anchor.setdefault(anchor, user)
            if user.upn:
                self.by_upn.setdefault(user.upn, user)
            if user.primary_smtp:
                self.by_smtp.setdefault(user.primary_smtp, user)
            if not user.immutable_id and user.synced is not True:  # cloud-only: a duplicate candidate
                alias = alias_of(user.upn)
                if alias:
                    self.by_alias.setdefault(alias, user)
                if user.display_name:
                    self.by_name.setdefault(user.display_name.strip().lower(), user)


def preview(on_prem: Iterable[OnPremUser], cloud: Iterable[CloudUser], *,
            soft_match_on_upn: bool = True) -> list[MatchOutcome]:
    """One outcome per on-premises user, in input order."""
    index = _Index(cloud)
    return [_outcome(user, index, soft_match_on_upn) for user in on_prem]


def _outcome(user: OnPremUser, index: _Index, soft_match_on_upn: bool) -> MatchOutcome:
    anchored = index.by_anchor.get(user.anchor) if user.anchor else None
    if anchored is not None:
        return MatchOutcome("already-synced" if anchored.synced is True else "hard", user, anchored, "immutable id")
    candidates = []
    if user.primary_smtp and user.primary_smtp in index.by_smtp:
        candidates.append((index.by_smtp[user.primary_smtp], "primary SMTP"))
    if soft_match_on_upn and user.upn and user.upn in index.by_upn:
        candidates.append((index.by_upn[user.upn], "UPN"))
    for candidate, via in candidates:
        if candidate.immutable_id:
            return MatchOutcome("conflict", user, candidate, via)
    for candidate, via in candidates:
        if candidate.roles:
            return MatchOutcome("admin-takeover", user, candidate, via)
    if candidates:
        return MatchOutcome("soft", user, candidates[0][0], candidates[0][1])
    alias = alias_of(user.upn)
    if alias and alias in index.by_alias:
        return MatchOutcome("duplicate", user, index.by_alias[alias], "alias")
    name = (user.display_name or "").strip().lower()
    if name and name in index.by_name:
        return MatchOutcome("duplicate", user, index.by_name[name], "display name")
    return MatchOutcome("new", user)
