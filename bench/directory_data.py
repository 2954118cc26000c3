"""A generated Active Directory: users, groups and contacts with a realistic mix of IdFix problems.

    .venv/bin/python bench/directory_data.py --users 100000 --groups 20000 --contacts 5000 --out corp.ldf
    .venv/bin/python bench/directory_data.py --users 2000 --samba-safe --out samba.ldf

Writes what `ldifde -f out.ldf -r "(|(objectCategory=Person)(objectCategory=Group))"` writes: CRLF,
`changetype: add`, lines folded at 76 columns, base64 (`::`) for binary and non-ASCII values, the
operational attributes of a default export (objectGUID, objectSid, whenCreated, uSNs, …).

`--samba-safe` keeps out what a Samba AD DC refuses on add, so the same directory can be loaded into
Samba over LDAP (directory-probe's bench): no UPN or sAMAccountName duplicates, no [ ] + = ; ? * , | in
sAMAccountName, displayName ≤ 256, givenName ≤ 64, no isCriticalSystemObject, no system-only or
operational attributes; the OUs are written first so the objects have a parent.

`records(shape)` yields (dn, {attribute: [values]}) for a loader that adds over LDAP instead of a file;
binary values are bytes.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Iterator

Record = tuple[str, dict[str, list[str | bytes]]]

FIRST = ["Anna", "Ben", "Chloé", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jürgen", "Kai", "Lena",
         "Marta", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Søren", "Tomás", "Uma", "Viktor", "Wen", "Xavier",
         "Yara", "Zoë", "Łukasz", "José", "Aoife", "Björn", "Chen", "Dmitri", "Elif", "Fatima", "Giulia",
         "Hannah", "Ivan", "Jamal", "Katarzyna", "Liam"]
LAST = ["Smith", "Müller", "García", "Rossi", "Nowak", "Johansson", "Kim", "Nguyen", "Dubois", "O'Brien",
        "Silva", "Kowalski", "Jensen", "Novák", "Popescu", "Yilmaz", "Tanaka", "Schmidt", "López", "Fischer",
        "Wang", "Hansen", "Costa", "Virtanen", "Horváth", "Murphy", "Petrov", "Andersen", "Bianchi", "Sato"]
DEPARTMENTS = ["Sales", "Finance", "Engineering", "Support", "Marketing", "Legal", "HR", "Operations", "IT", "R&D"]


@dataclass
class DirectoryShape:
    users: int = 1000
    groups: int = 200
    contacts: int = 50
    base: str = "DC=corp,DC=example"
    domain: str = "contoso.com"      # the routable UPN suffix and mail domain
    samba_safe: bool = False
    seed: int = 8
    # planted problems, by kind, filled while generating (the bench prints it beside what the judge found)
    planted: Counter = field(default_factory=Counter)


def ascii_name(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in ".-")).lower()


def _escape_rdn(value: str) -> str:
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    return "\\#" + out[1:] if out.startswith("#") else out


def _ous(shape: DirectoryShape) -> list[str]:
    return [f"OU={d},OU=Corp,{shape.base}" for d in DEPARTMENTS] + [
        f"OU=Groups,OU=Corp,{shape.base}", f"OU=Contacts,OU=Corp,{shape.base}"]


def _operational(rng: random.Random, shape: DirectoryShape, dn: str, category: str) -> dict[str, list[str | bytes]]:
    if shape.samba_safe:
        return {}
    rid = rng.randrange(1100, 10_000_000)
    sid = bytes([1, 5, 0, 0, 0, 0, 0, 5]) + b"".join(
        n.to_bytes(4, "little") for n in (21, 1004336348, 1177238915, 682003330, rid))
    return {
        "distinguishedName": [dn], "instanceType": ["4"],
        "whenCreated": ["20230112094512.0Z"], "whenChanged": ["20250301101010.0Z"],
        "uSNCreated": [str(rng.randrange(10_000, 9_000_000))], "uSNChanged": [str(rng.randrange(10_000, 9_000_000))],
        "objectGUID": [uuid.UUID(int=rng.getrandbits(128)).bytes_le], "objectSid": [sid],
        "objectCategory": [f"CN={category},CN=Schema,CN=Configuration,{shape.base}"],
        "dSCorePropagationData": ["20230112094512.0Z", "16010101000000.0Z"],
    }


def records(shape: DirectoryShape) -> Iterator[Record]:
    """The directory, object by object: OUs (Samba-safe only), users, groups, contacts."""
    rng = random.Random(shape.seed)
    planted = shape.planted
    if shape.samba_safe:
        yield f"OU=Corp,{shape.base}", {"objectClass": ["top", "organizationalUnit"], "ou": ["Corp"]}
        for ou in _ous(shape):
            yield ou, {"objectClass": ["top", "organizationalUnit"], "ou": [ou.split(",")[0][3:]]}
    user_dns: list[str] = []
    upns: list[str] = []
    smtp: list[str] = []     # primary SMTP addresses handed out so far, to copy as duplicates
    aliases: list[str] = []  # secondary smtp: addresses (never a UPN), for the cross-attribute conflicts
    for i in range(shape.users):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        cn = f"{last}, {first} {i}" if rng.random() < 0.1 else f"{first} {last} {i}"
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        dn = f"CN={_escape_rdn(cn)},OU={department},OU=Corp,{shape.base}"
        local = f"{ascii_name(first)}.{ascii_name(last)}{i}"
        address = f"{local}@{shape.domain}"
        upn = address
        sam = f"u{i:06d}"
        display = f"{first} {last}"
        given = first
        mail: str | None = address
        nickname = local
        proxies = [f"SMTP:{address}", f"smtp:{local}@corp.mail.onmicrosoft.com"]
        roll = rng.random()
        if roll < 0.03:
            upn = f"{local}@corp.local"
            planted["upn .local suffix"] += 1
        elif roll < 0.04:
            upn = f"{ascii_name(first)} {ascii_name(last)}{i}@{shape.domain}"
            planted["upn character"] += 1
        elif roll < 0.045 and upns and not shape.samba_safe:
            upn = rng.choice(upns).upper()
            planted["upn duplicate"] += 1
        elif roll < 0.05 and aliases:
            # taken off the list: two users given the same alias as UPN would be a UPN duplicate
            upn = aliases.pop(rng.randrange(len(aliases)))
            planted["upn = other object's smtp proxy"] += 1
        roll = rng.random()
        if roll < 0.02 and smtp:
            mail = rng.choice(smtp)
            planted["mail duplicate"] += 1
        elif roll < 0.03 and smtp:
            proxies.append("smtp:" + rng.choice(smtp))
            planted["proxyAddresses duplicate"] += 1
        elif roll < 0.035:
            proxies.append(f"smtp:{local} old@{shape.domain}")
            planted["proxyAddresses character"] += 1
        elif roll < 0.04:
            proxies.append(f"SIP:{local}:5061@{shape.domain}")
            planted["proxyAddresses colon"] += 1
        elif roll < 0.045:
            mail = None
            proxies = []
            nickname = None
            planted["no mail attributes"] += 1
        roll = rng.random()
        if roll < 0.01:
            display = ""
            planted["displayName blank"] += 1
        elif roll < 0.013:
            display = (display + " ") * 40
            display = display[: 300 if not shape.samba_safe else 256]
            planted["displayName over 255"] += 1
        elif roll < 0.015:
            given = given * 20
            given = given[: 80 if not shape.samba_safe else 64]
            planted["givenName over 63"] += 1
        elif roll < 0.02 and nickname:
            nickname = "." + nickname
            planted["mailNickname leading period"] += 1
        elif roll < 0.023 and not shape.samba_safe:
            sam = f"u{i:05d}[x]"
            planted["sAMAccountName character"] += 1
        elif roll < 0.024 and not shape.samba_safe:
            sam = "shared.account"
            planted["sAMAccountName duplicate (no UPN)"] += 1
            upn = ""
        attrs: dict[str, list[str | bytes]] = {
            "objectClass": ["top", "person", "organizationalPerson", "user"],
            "cn": [cn], "sn": [last], "givenName": [given], "name": [cn],
            "sAMAccountName": [sam], "department": [department],
        }
        if display:
            attrs["displayName"] = [display]
        if upn:
            attrs["userPrincipalName"] = [upn]
        if mail:
            attrs["mail"] = [mail]
        if nickname:
            attrs["mailNickname"] = [nickname]
        if proxies:
            attrs["proxyAddresses"] = list(proxies)
        if not shape.samba_safe:
            attrs.update({"userAccountControl": ["512"], "sAMAccountType": ["805306368"], "primaryGroupID": ["513"],
                          "pwdLastSet": ["133512345678901234"], "accountExpires": ["9223372036854775807"],
                          "lastLogonTimestamp": ["133812345678901234"], "codePage": ["0"], "countryCode": ["0"]})
            attrs.update(_operational(rng, shape, dn, "Person"))
        user_dns.append(dn)
        if upn and len(upns) < 50_000:
            upns.append(upn)
        if proxies and len(smtp) < 50_000 and rng.random() < 0.5:
            smtp.append(address)
            aliases.append(f"{local}@corp.mail.onmicrosoft.com")
        yield dn, attrs
    for i, name in enumerate(["HealthMailbox0a1b2c3d", "SystemMailbox{e0dc1c29-89c3-4034-b678-e6c29d823ed9}",
                              "DiscoverySearchMailbox {D919BA05-46A6-415f-80AD-7E09334BB852}"]):
        dn = f"CN={_escape_rdn(name)},OU=IT,OU=Corp,{shape.base}"
        planted["system mailbox (skipped)"] += 1
        yield dn, {"objectClass": ["top", "person", "organizationalPerson", "user"], "cn": [name],
                   "sAMAccountName": [f"sm{i:04d}"], "mailNickname": [name[:30]],
                   **_operational(rng, shape, dn, "Person")}
    for i in range(shape.groups):
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        cn = f"{department} Team {i}"
        dn = f"CN={cn},OU=Groups,OU=Corp,{shape.base}"
        security = rng.random() < 0.6
        attrs = {"objectClass": ["top", "group"], "cn": [cn], "name": [cn], "sAMAccountName": [f"g{i:06d}"],
                 "groupType": ["-2147483646" if security else "8"], "displayName": [cn],
                 "description": [f"{department} staff"]}
        local = f"{department.lower().replace('&', '')}-team-{i}"
        roll = rng.random()
        if security and roll < 0.7:
            planted["security group without mail (skipped)"] += 1
        else:
            attrs["mail"] = [f"{local}@{shape.domain}"]
            attrs["mailNickname"] = [local]
            attrs["proxyAddresses"] = [f"SMTP:{local}@{shape.domain}"]
            if roll > 0.97 and smtp:
                attrs["proxyAddresses"].append("smtp:" + rng.choice(smtp))
                planted["group proxy duplicates a user's"] += 1
        if user_dns:
            attrs["member"] = rng.sample(user_dns, min(len(user_dns), rng.randrange(0, 25)))
        if not shape.samba_safe:
            attrs["sAMAccountType"] = ["268435456"]
            attrs.update(_operational(rng, shape, dn, "Group"))
        yield dn, attrs
    for i in range(shape.contacts):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        cn = f"{first} {last} (ext {i})"
        dn = f"CN={_escape_rdn(cn)},OU=Contacts,OU=Corp,{shape.base}"
        external = f"{ascii_name(first)}.{ascii_name(last)}.{i}@fabrikam.com"
        attrs = {"objectClass": ["top", "person", "organizationalPerson", "contact"], "cn": [cn], "name": [cn],
                 "displayName": [f"{first} {last} (Fabrikam)"], "mail": [external],
                 "mailNickname": [f"ext{i}"], "targetAddress": [f"SMTP:{external}"],
                 "proxyAddresses": [f"SMTP:{external}"]}
        roll = rng.random()
        if roll < 0.02:
            attrs["targetAddress"] = [f"SMTP:{ascii_name(first)} {i}@fabrikam"]
            planted["contact targetAddress invalid"] += 1
        elif roll < 0.04 and smtp:
            attrs["mail"] = [rng.choice(smtp)]
            planted["contact mail duplicates a user's"] += 1
        attrs.update(_operational(rng, shape, dn, "Person"))
        yield dn, attrs


# --- ldifde's format --------------------------------------------------------------------------------------

def _needs_base64(value: str) -> bool:
    return (not value.isascii() or value[:1] in (" ", ":", "<") or value.endswith(" ")
            or any(c in value for c in "\r\n\x00"))


def ldif_lines(dn: str, attributes: dict[str, list[str | bytes]]) -> Iterator[str]:
    yield from _fold(_attribute_line("dn", dn))
    yield "changetype: add"
    for name, values in attributes.items():
        for value in values:
            yield from _fold(_attribute_line(name, value))
    yield ""


def _attribute_line(name: str, value: str | bytes) -> str:
    if isinstance(value, bytes):
        return f"{name}:: {base64.b64encode(value).decode()}"
    if _needs_base64(value):
        return f"{name}:: {base64.b64encode(value.encode()).decode()}"
    return f"{name}: {value}"


def _fold(line: str, width: int = 76) -> Iterator[str]:
    yield line[:width]
    for start in range(width, len(line), width - 1):
        yield " " + line[start:start + width - 1]


def write_ldif(source: Iterator[Record], out: IO[bytes]) -> int:
    """Writes ldifde's layout to a binary stream; returns the number of records."""
    count = 0
    buffer: list[str] = []
    for dn, attributes in source:
        buffer.extend(ldif_lines(dn, attributes))
        count += 1
        if len(buffer) > 20_000:
            out.write(("\r\n".join(buffer) + "\r\n").encode())
            buffer.clear()
    if buffer:
        out.write(("\r\n".join(buffer) + "\r\n").encode())
    return count


# csvde's columns: every attribute the generator writes, DN first
CSV_COLUMNS = ["DN", "objectClass", "cn", "sn", "givenName", "name", "displayName", "description", "department",
               "sAMAccountName", "userPrincipalName", "mail", "mailNickname", "proxyAddresses", "targetAddress",
               "groupType", "member", "userAccountControl", "sAMAccountType", "primaryGroupID", "pwdLastSet",
               "accountExpires", "lastLogonTimestamp", "codePage", "countryCode", "distinguishedName",
               "instanceType", "whenCreated", "whenChanged", "uSNCreated", "uSNChanged", "objectGUID", "objectSid",
               "objectCategory", "dSCorePropagationData", "ou"]


def write_csv(source: Iterator[Record], out: IO[bytes]) -> int:
    """csvde's layout: a header row, one row per object, multi-valued joined by ';', binary as X'hex'."""
    import csv
    import io

    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for dn, attributes in source:
        row = [dn] + [""] * (len(CSV_COLUMNS) - 1)
        for name, values in attributes.items():
            cell = ";".join(f"X'{v.hex()}'" if isinstance(v, bytes) else v for v in values)
            row[CSV_COLUMNS.index(name)] = cell
        writer.writerow(row)
        count += 1
    text.detach()
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--contacts", type=int, default=50)
    parser.add_argument("--base", default="DC=corp,DC=example")
    parser.add_argument("--domain", default="contoso.com")
    parser.add_argument("--samba-safe", action="store_true")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--csv", action="store_true", help="write csvde's CSV instead of ldifde's LDIF")
    parser.add_argument("--out", required=True, help="the file to write ('-' for stdout)")
    args = parser.parse_args(argv)
    shape = DirectoryShape(users=args.users, groups=args.groups, contacts=args.contacts, base=args.base,
                           domain=args.domain, samba_safe=args.samba_safe, seed=args.seed)
    write = write_csv if args.csv else write_ldif
    if args.out == "-":
        count = write(records(shape), sys.stdout.buffer)
    else:
        with open(args.out, "wb") as out:
            count = write(records(shape), out)
    print(f"{count} records; planted: {dict(sorted(shape.planted.items()))}", file=sys.stderr)


if __name__ == "__main__":
    main()
