"""The benchmark's generated directory: an export our reader accepts, and a Samba-safe variant that
holds nothing a Samba AD DC refuses on add (directory-probe's bench loads it over LDAP)."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from directory_data import DirectoryShape, records, write_csv, write_ldif  # noqa: E402

from ems_readiness.judges.idfix import SAM_BAD, DirectoryJudge  # noqa: E402
from ems_readiness.probes.directory_export import iter_export, validate_export  # noqa: E402

SMALL = dict(users=1000, groups=60, contacts=30)
SAMBA_REFUSES_ON_ADD = {"objectguid", "objectsid", "whencreated", "whenchanged", "usncreated", "usnchanged",
                        "instancetype", "distinguishedname", "objectcategory", "samaccounttype",
                        "dscorepropagationdata", "iscriticalsystemobject"}


def test_generated_export_reads_back_and_has_the_planted_problems(tmp_path):
    shape = DirectoryShape(**SMALL)
    path = tmp_path / "corp.ldf"
    with open(path, "wb") as out:
        count = write_ldif(records(shape), out)
    data = path.read_bytes()
    assert b"\r\n" in data and b"\r\n " in data and b":: " in data  # CRLF, folded, base64
    validate_export(str(path))
    objects = list(iter_export(str(path)))
    assert len(objects) == count == 1000 + 3 + 60 + 30
    judge = DirectoryJudge()
    found = Counter(i.rule for o in objects for i in judge.add(o))
    found.update(i.rule for i in judge.finish())
    for rule in ("IDF-MAIL-DUPLICATE", "ER-UPN-SUFFIX", "IDF-DISPLAYNAME-BLANK", "IDF-UPN-CHARACTER"):
        assert found[rule] > 0, (rule, found)
    assert judge.skipped["well-known system account"] == 3


def test_generated_csvde_export_gives_the_same_objects(tmp_path):
    ldf, csv_path = tmp_path / "corp.ldf", tmp_path / "corp.csv"
    with open(ldf, "wb") as out:
        write_ldif(records(DirectoryShape(users=200, groups=20, contacts=10)), out)
    with open(csv_path, "wb") as out:
        write_csv(records(DirectoryShape(users=200, groups=20, contacts=10)), out)
    validate_export(str(csv_path))
    from_ldif = {o.dn: o.attributes for o in iter_export(str(ldf))}
    from_csv = {o.dn: o.attributes for o in iter_export(str(csv_path))}
    assert from_ldif.keys() == from_csv.keys()
    for dn, attributes in from_ldif.items():
        for name in ("objectguid", "proxyaddresses", "displayname", "userprincipalname", "member", "objectclass"):
            assert attributes.get(name) == from_csv[dn].get(name), (dn, name)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_samba_safe_directory_holds_nothing_samba_refuses(seed):
    shape = DirectoryShape(users=1500, groups=100, contacts=30, samba_safe=True, seed=seed)
    created: set[str] = set()
    upns: set[str] = set()
    sams: set[str] = set()
    for dn, attributes in records(shape):
        parent = re.split(r"(?<!\\),", dn, maxsplit=1)[1] if not dn.startswith("OU=Corp,") else None
        assert parent is None or parent == shape.base or parent in created, dn  # the parent is added first
        created.add(dn)
        names = {name.lower() for name in attributes}
        assert not names & SAMBA_REFUSES_ON_ADD, names & SAMBA_REFUSES_ON_ADD
        for upn in attributes.get("userPrincipalName", []):
            assert upn.lower() not in upns, upn
            upns.add(upn.lower())
        for sam in attributes.get("sAMAccountName", []):
            assert sam.lower() not in sams and not SAM_BAD.search(sam) and len(sam) <= 20, sam
            sams.add(sam.lower())
        assert all(len(v) <= 256 for v in attributes.get("displayName", []))
        assert all(len(v) <= 64 for v in attributes.get("givenName", []))
        for member in attributes.get("member", []):
            assert member in created
    assert shape.planted["upn = other object's smtp proxy"] > 0 and shape.planted["mail duplicate"] > 0
