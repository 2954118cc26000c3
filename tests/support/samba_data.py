"""What the test Samba DC holds: the Exchange schema extension and the objects, added over LDAP.

The objects carry the problems IdFix and Entra Connect care about, as far as Samba lets them in:
duplicate mail and proxy addresses, a UPN and mail in another object's SMTP namespace, bad
characters, a blank displayName, a `.local` UPN suffix, an apostrophe; contacts with targetAddress;
a group with more members than one range-retrieval step in the tests; computers with an OS.
"""

from __future__ import annotations

import ssl
import uuid
from typing import TYPE_CHECKING

import ldap3

from .samba import (ADMIN_DN, ADMIN_PASSWORD, BASE_DN, CONFIG_DN, CORP_OU, EXCHANGE_ATTRIBUTES, EXCHANGE_CLASSES,
                    HYBRID_JOIN_SCP, OTHER_OU, RMS_SCP, SCHEMA_DN, UPN_SUFFIXES)

if TYPE_CHECKING:
    from .samba import SambaDC

FILLER_USERS = 30
CONSISTENCY_GUID = uuid.UUID("0b2ff3a5-1c4e-4f0e-9a7b-52d1c6e0a101")
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

# (cn, attributes) under OU=Corp; sAMAccountName and objectClass added below
USERS = {
    "Alice Able": {"userPrincipalName": "alice@contoso.com", "mail": "alice@contoso.com", "givenName": "Alice",
                   "displayName": "Alice Able", "mailNickname": "alice",
                   "proxyAddresses": ["SMTP:alice@contoso.com", "smtp:alice@samdom.test"],
                   "mS-DS-ConsistencyGuid": CONSISTENCY_GUID.bytes_le},
    "Bob Baker": {"userPrincipalName": "bob@corp.local", "mail": "bob baker@contoso.com"},
    "Carol Clark": {"userPrincipalName": "carol@contoso.com", "mail": "carol@contoso.com",
                    "displayName": "Carol Clark",
                    "proxyAddresses": ["SMTP:carol@contoso.com", "smtp:alice@contoso.com"]},
    "Dave O'Neil": {"userPrincipalName": "dave.o'neil@contoso.com", "mail": "alice@contoso.com",
                    "displayName": "Dave O'Neil", "mailNickname": ".dave"},
    "Ériç Ünïcode": {"userPrincipalName": "eric@contoso.com", "displayName": "Ériç Ünïcode",
                     "mail": "eric@contoso.com", "msExchHideFromAddressLists": "TRUE",
                     "msExchRecipientTypeDetails": "1"},
}
CONTACTS = {
    "External Partner": {"mail": "partner@fabrikam.com", "targetAddress": "SMTP:partner@fabrikam.com",
                         "mailNickname": "partner", "displayName": "External Partner",
                         "proxyAddresses": ["SMTP:partner@fabrikam.com", "smtp:carol@contoso.com"]},
    "Broken Contact": {"mail": "broken@@fabrikam", "targetAddress": "SMTP:broken(at)fabrikam.com",
                       "displayName": "Broken Contact"},
}
GLOBAL_DISTRIBUTION, GLOBAL_SECURITY = 2, -2147483646
COMPUTERS = {
    "WS01": {"operatingSystem": "Windows 10 Enterprise", "operatingSystemVersion": "10.0 (19045)"},
    "WS02": {"operatingSystem": "Windows 7 Professional", "operatingSystemVersion": "6.1 (7601)"},
}


def admin_connection(dc: "SambaDC", **options) -> ldap3.Connection:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(dc.ca_file))
    server = ldap3.Server(dc.address, port=636, use_ssl=True, tls=tls, connect_timeout=10)
    settings = {"auto_bind": True, "receive_timeout": 30, "raise_exceptions": True, **options}
    return ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, **settings)


def populate(dc: "SambaDC") -> None:
    with admin_connection(dc) as conn:
        extend_schema(conn)
    # a fresh connection loads the extended schema on the server side
    with admin_connection(dc) as conn:
        add_forest_objects(conn)
        add_objects(conn)


def extend_schema(conn: ldap3.Connection) -> None:
    for name, (cn, oid, syntax, om_syntax, extra) in EXCHANGE_ATTRIBUTES.items():
        conn.add(f"CN={cn},{SCHEMA_DN}", ["top", "attributeSchema"], {
            "attributeID": oid, "lDAPDisplayName": name, "attributeSyntax": syntax, "oMSyntax": om_syntax,
            "isSingleValued": "TRUE", "isMemberOfPartialAttributeSet": "TRUE", "adminDisplayName": cn, **extra,
        })
    update_schema_now(conn)
    for cls in EXCHANGE_CLASSES:
        conn.modify(f"CN={cls},{SCHEMA_DN}", {"mayContain": [(ldap3.MODIFY_ADD, list(EXCHANGE_ATTRIBUTES))]})
    update_schema_now(conn)


def update_schema_now(conn: ldap3.Connection) -> None:
    conn.check_names = False  # ldap3 refuses the empty DN (rootDSE) otherwise
    try:
        conn.modify("", {"schemaUpdateNow": [(ldap3.MODIFY_REPLACE, ["1"])]})
    finally:
        conn.check_names = True


def add_forest_objects(conn: ldap3.Connection) -> None:
    conn.modify(f"CN=Partitions,{CONFIG_DN}", {"uPNSuffixes": [(ldap3.MODIFY_ADD, list(UPN_SUFFIXES))]})
    services = f"CN=Services,{CONFIG_DN}"
    conn.add(f"CN=Device Registration Configuration,{services}", ["top", "container"])
    conn.add(HYBRID_JOIN_SCP, ["top", "serviceConnectionPoint"],
             {"keywords": [f"azureADId:{TENANT_ID}", "azureADName:contoso.com"]})
    conn.add(f"CN=RightsManagementServices,{services}", ["top", "container"])
    conn.add(RMS_SCP, ["top", "serviceConnectionPoint"],
             {"serviceBindingInformation": ["https://rms.contoso.com/_wmcs/certification"]})


def add_objects(conn: ldap3.Connection) -> None:
    for ou in (CORP_OU, OTHER_OU):
        conn.add(ou, ["top", "organizationalUnit"])
    members = []
    for i, (cn, attrs) in enumerate(USERS.items()):
        dn = f"CN={ldap3.utils.dn.escape_rdn(cn)},{CORP_OU}"
        conn.add(dn, ["top", "person", "organizationalPerson", "user"], {"sAMAccountName": f"user{i}", **attrs})
        members.append(dn)
    for i in range(FILLER_USERS):
        dn = f"CN=Filler {i:02},{CORP_OU}"
        conn.add(dn, ["top", "person", "organizationalPerson", "user"],
                 {"sAMAccountName": f"filler{i:02}", "userPrincipalName": f"filler{i:02}@samdom.test",
                  "displayName": f"Filler {i:02}"})
        members.append(dn)
    conn.add(f"CN=Frank Far,{OTHER_OU}", ["top", "person", "organizationalPerson", "user"],
             {"sAMAccountName": "frank", "userPrincipalName": "frank@contoso.com", "mail": "frank@contoso.com"})
    for cn, attrs in CONTACTS.items():
        conn.add(f"CN={cn},{CORP_OU}", ["top", "person", "organizationalPerson", "contact"], attrs)
    conn.add(f"CN=Sales,{CORP_OU}", ["top", "group"],
             {"sAMAccountName": "sales", "groupType": GLOBAL_DISTRIBUTION, "mail": "sales@contoso.com",
              "proxyAddresses": ["SMTP:sales@contoso.com"], "member": members})
    conn.add(f"CN=Staff,{CORP_OU}", ["top", "group"],
             {"sAMAccountName": "staff", "groupType": GLOBAL_SECURITY, "member": members[:3]})
    for name, attrs in COMPUTERS.items():
        conn.add(f"CN={name},{CORP_OU}", ["top", "person", "organizationalPerson", "user", "computer"],
                 {"sAMAccountName": f"{name}$", "userAccountControl": 4096, "dNSHostName": f"{name.lower()}.samdom.test",
                  **attrs})


def member_count() -> int:
    return len(USERS) + FILLER_USERS


__all__ = ["populate", "admin_connection", "BASE_DN", "member_count"]
