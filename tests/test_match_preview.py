"""The pre-sync match preview (judges/match_preview.py): Entra's hard and soft match rules, table-driven."""

from __future__ import annotations

import base64
import uuid

import pytest

from ems_readiness.judges.ad_objects import AdObject
from ems_readiness.judges.match_preview import (
    CloudUser, OnPremUser, cloud_user, guid_of_immutable_id, immutable_id_of, on_prem_user, preview,
    primary_smtp_of,
)

GUID = "3e5e719c-a7df-5e6b-8b94-cf508652ab5f"
ANCHOR = immutable_id_of(GUID)
OTHER_ANCHOR = immutable_id_of("11111111-2222-3333-4444-555555555555")


def on_prem(upn="meganb@contoso.test", smtp="meganb@contoso.test", anchor=GUID, name="Megan Bowen"):
    return OnPremUser(dn=f"CN={name},OU=Staff,DC=corp,DC=local", upn=upn, primary_smtp=smtp, anchor=anchor,
                      anchor_source="objectGUID", display_name=name)


def cloud(upn="meganb@contoso.test", smtp="meganb@contoso.test", immutable=None, synced=None, roles=(),
          name="Megan Bowen", id="c1"):
    return CloudUser(id=id, upn=upn, primary_smtp=smtp, immutable_id=immutable, synced=synced, display_name=name,
                     roles=tuple(roles))


@pytest.mark.parametrize("user, cloud_users, kind, via", [
    # hard match: the anchor equals the immutable id
    (on_prem(), [cloud(immutable=ANCHOR, synced=True)], "already-synced", "immutable id"),
    (on_prem(), [cloud(immutable=ANCHOR, synced=None)], "hard", "immutable id"),
    (on_prem(), [cloud(immutable=ANCHOR, synced=False)], "hard", "immutable id"),
    # soft match by primary SMTP, then UPN, onto a cloud user with no immutable id
    (on_prem(upn="megan@corp.local"), [cloud(upn="x@contoso.test")], "soft", "primary SMTP"),
    (on_prem(smtp=None), [cloud(smtp=None)], "soft", "UPN"),
    # an admin-role holder: Entra blocks the soft match
    (on_prem(), [cloud(roles=["Global Administrator"])], "admin-takeover", "primary SMTP"),
    (on_prem(smtp=None), [cloud(smtp=None, roles=["User Administrator"])], "admin-takeover", "UPN"),
    # the cloud user is anchored to another object: conflict, even when it holds a role
    (on_prem(), [cloud(immutable=OTHER_ANCHOR, synced=True)], "conflict", "primary SMTP"),
    (on_prem(), [cloud(immutable=OTHER_ANCHOR, roles=["Global Administrator"])], "conflict", "primary SMTP"),
    # no match, but a cloud-only account of the same person: a duplicate would be created
    (on_prem(upn="meganb@contoso.test", smtp="megan.bowen@contoso.test"),
     [cloud(upn="meganb@contoso.onmicrosoft.com", smtp=None)], "duplicate", "alias"),
    (on_prem(upn="mbowen@contoso.test", smtp=None), [cloud(upn="megan@contoso.onmicrosoft.com", smtp=None)],
     "duplicate", "display name"),
    # a synced cloud user is never a duplicate candidate
    (on_prem(upn="meganb@contoso.test", smtp=None),
     [cloud(upn="meganb@contoso.onmicrosoft.com", smtp=None, immutable=OTHER_ANCHOR, synced=True)], "new", ""),
    (on_prem(), [], "new", ""),
    (on_prem(upn="Other@contoso.test".lower(), smtp=None, name="Someone Else"), [cloud()], "new", ""),
])
def test_match_rules(user, cloud_users, kind, via):
    [outcome] = preview([user], cloud_users)
    assert (outcome.kind, outcome.via) == (kind, via)
    assert (outcome.cloud is None) == (kind == "new")


def test_soft_match_on_upn_can_be_off():
    [outcome] = preview([on_prem(smtp=None)], [cloud(smtp=None)], soft_match_on_upn=False)
    assert outcome.kind == "duplicate"  # same alias, so still flagged as the same person


def test_anchor_is_base64_of_the_guid_in_dotnet_byte_order():
    assert immutable_id_of(GUID) == base64.b64encode(uuid.UUID(GUID).bytes_le).decode()
    assert immutable_id_of("{" + GUID + "}") == immutable_id_of(GUID)
    assert immutable_id_of("not a guid") is None
    assert guid_of_immutable_id(ANCHOR) == GUID
    assert guid_of_immutable_id("RW1wbG95ZWUxMjM=") is None  # an anchor that is not a GUID (employeeID)
    assert guid_of_immutable_id("not base64!") is None


def test_hard_match_whatever_the_case_and_braces_of_the_guid_text():
    obj = AdObject("CN=M,DC=corp,DC=local", {"objectclass": ("user",), "objectguid": ("{" + GUID.upper() + "}",)})
    [outcome] = preview([on_prem_user(obj)], [cloud(immutable=ANCHOR, synced=True)])
    assert outcome.kind == "already-synced"


@pytest.mark.parametrize("proxies, mail, expected", [
    (["smtp:alias@contoso.test", "SMTP:Primary@Contoso.test"], "mail@contoso.test", "primary@contoso.test"),
    (["smtp:alias@contoso.test"], "Mail@contoso.test", "mail@contoso.test"),
    (["X500:/o=Org/cn=x"], None, None),
    ([], "  ", None),
])
def test_primary_smtp(proxies, mail, expected):
    assert primary_smtp_of(proxies, mail) == expected


def test_on_prem_user_prefers_the_consistency_guid_as_anchor():
    other = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    obj = AdObject("CN=A,DC=corp,DC=local", {"objectclass": ("user",), "userprincipalname": ("A@Contoso.test",),
                                             "objectguid": (GUID,), "ms-ds-consistencyguid": (other,),
                                             "mail": ("a@contoso.test",)})
    user = on_prem_user(obj)
    assert (user.upn, user.primary_smtp, user.anchor, user.anchor_source) == (
        "a@contoso.test", "a@contoso.test", other, "mS-DS-ConsistencyGuid")
    bare = on_prem_user(AdObject("CN=B,DC=corp,DC=local", {"objectclass": ("user",)}))
    assert (bare.upn, bare.anchor, bare.anchor_source) == (None, None, None)


def test_cloud_user_from_graph_skips_guests_and_carries_roles():
    graph = {"id": "u1", "userPrincipalName": "Megan@contoso.test", "mail": "megan@contoso.test",
             "proxyAddresses": ["SMTP:megan@contoso.test"], "userType": "Member", "onPremisesImmutableId": None,
             "onPremisesSyncEnabled": None, "displayName": "Megan"}
    user = cloud_user(graph, {"u1": ("Global Administrator",)})
    assert (user.upn, user.primary_smtp, user.immutable_id, user.roles) == (
        "megan@contoso.test", "megan@contoso.test", None, ("Global Administrator",))
    assert cloud_user({**graph, "userType": "Guest"}) is None


def test_outcomes_keep_input_order_and_scale():
    users = [on_prem(upn=f"user{i}@contoso.test", smtp=f"user{i}@contoso.test", anchor=None, name=f"U {i}")
             for i in range(5000)]
    clouds = [cloud(upn=f"user{i}@contoso.test", smtp=f"user{i}@contoso.test", id=str(i), name=f"U {i}")
              for i in range(0, 5000, 2)]
    outcomes = preview(users, clouds)
    assert [o.on_prem for o in outcomes] == users
    assert sum(o.kind == "soft" for o in outcomes) == 2500
    assert sum(o.kind == "new" for o in outcomes) == 2500
