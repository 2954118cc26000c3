"""The export reader: ldifde LDIF and csvde CSV files as a customer sends them, and every bad file."""

from __future__ import annotations

import asyncio
import base64
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ems_readiness.probes.base import ProbeError
from ems_readiness.probes.directory_export import (
    MAX_LINE,
    ExportDirectorySource,
    ExportError,
    iter_export,
    validate_export,
)

GUID = uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
SID = bytes([1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0]) + b"".join(
    n.to_bytes(4, "little") for n in (1004336348, 1177238915, 682003330, 1105))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fold(line: str, width: int = 76) -> list[str]:
    """ldifde's folding: 76 columns, continuation lines start with one space."""
    out = [line[:width]]
    rest = line[width:]
    while rest:
        out.append(" " + rest[: width - 1])
        rest = rest[width - 1:]
    return out


def ldif(*records: list[str]) -> bytes:
    lines: list[str] = []
    for record in records:
        for line in record:
            lines.extend(fold(line))
        lines.append("")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


LONG_OU = "OU=" + "Department of Very Long Names" * 3
USER = [
    f"dn:: {b64(f'CN=Zoë Müller,{LONG_OU},DC=corp,DC=example'.encode())}",
    "changetype: add",
    "objectClass: top", "objectClass: person", "objectClass: organizationalPerson", "objectClass: user",
    "cn:: " + b64("Zoë Müller".encode()),
    "givenName:: " + b64("Zoë".encode()),
    "displayName:: " + b64("Zoë Müller".encode()),
    f"objectGUID:: {b64(GUID.bytes_le)}",
    f"objectSid:: {b64(SID)}",
    "sAMAccountName: zmuller",
    "userPrincipalName: zoe.muller@corp.example",
    "proxyAddresses: SMTP:zoe.muller@corp.example",
    "proxyAddresses: smtp:" + "z" * 90 + "@corp.example",
    "proxyAddresses: X500:/o=Corp/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=zmuller",
    "objectCategory: CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example",
]
GROUP = [
    "dn: CN=Sales,OU=Groups,DC=corp,DC=example", "changetype: add",
    "objectClass: top", "objectClass: group", "cn: Sales", "groupType: -2147483646",
    "mail: sales@corp.example", "member: " + USER[0],
]
CONTACT = [
    "dn: CN=Partner,OU=Contacts,DC=corp,DC=example", "changetype: add",
    "objectClass: top", "objectClass: person", "objectClass: organizationalPerson", "objectClass: contact",
    "cn: Partner", "targetAddress: SMTP:partner@fabrikam.example",
]
COMPUTER = [
    "dn: CN=WS01,OU=Workstations,DC=corp,DC=example", "changetype: add",
    "objectClass: top", "objectClass: person", "objectClass: organizationalPerson", "objectClass: user",
    "objectClass: computer", "cn: WS01", "operatingSystem: Windows 11 Enterprise",
]


def write(tmp_path, data: bytes, name: str = "export.ldf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_ldifde_sample_crlf_folded_base64_and_binary_guid(tmp_path):
    data = b"version: 1\r\n\r\n# exported by ldifde\r\n" + ldif(USER, GROUP, CONTACT, COMPUTER)
    assert max(len(line) for line in data.split(b"\r\n")) <= 76  # really folded
    path = write(tmp_path, data)
    validate_export(path)
    user, group, contact, computer = list(iter_export(path))
    assert user.dn == f"CN=Zoë Müller,{LONG_OU},DC=corp,DC=example"
    assert user.first("displayName") == "Zoë Müller"
    assert user.first("objectGUID") == str(GUID)  # mixed-endian bytes → the text AD shows
    assert user.first("objectSid") == "S-1-5-21-1004336348-1177238915-682003330-1105"
    assert user.values("proxyAddresses")[1] == "smtp:" + "z" * 90 + "@corp.example"  # unfolded
    assert len(user.values("proxyAddresses")) == 3 and not user.has("changetype")
    assert user.kind == "user" and group.kind == "group" and contact.kind == "contact"
    assert computer.kind == "computer"
    assert group.first("member") == USER[0]
    assert user.source.endswith("export.ldf:4")


def test_ldifde_unicode_export_utf16(tmp_path):
    """ldifde -u writes UTF-16 with a byte-order mark."""
    text = "\r\n".join(["dn: CN=Łukasz,DC=corp,DC=example", "objectClass: user", "displayName: Łukasz", ""])
    path = write(tmp_path, text.encode("utf-16"))
    (obj,) = iter_export(path)
    assert obj.first("displayname") == "Łukasz"


CSV_SAMPLE = (
    'DN,objectClass,cn,displayName,proxyAddresses,objectGUID,mail,groupType\r\n'
    '"CN=Smith\\, John,OU=Staff,DC=corp,DC=example",top;person;organizationalPerson;user,"Smith, John",'
    '"Smith; John ""JJ""",SMTP:john@corp.example;smtp:js@corp.example,'
    f"X'{GUID.bytes_le.hex()}',john@corp.example,\r\n"
    '"CN=Sales,OU=Groups,DC=corp,DC=example",top;group,Sales,,,,,-2147483646\r\n'
)


def test_csvde_sample(tmp_path):
    path = write(tmp_path, CSV_SAMPLE.encode(), "export.csv")
    validate_export(path)
    user, group = iter_export(path)
    assert user.dn == "CN=Smith\\, John,OU=Staff,DC=corp,DC=example"
    assert user.first("cn") == "Smith, John"
    assert user.values("displayName") == ('Smith; John "JJ"',)  # single-valued: ';' kept
    assert user.values("proxyAddresses") == ("SMTP:john@corp.example", "smtp:js@corp.example")
    assert user.first("objectGUID") == str(GUID)
    assert not user.has("groupType")  # empty field: absent, not empty
    assert group.kind == "group" and group.first("groupType") == "-2147483646" and not group.has("mail")
    assert user.source.endswith("export.csv:2") and group.source.endswith("export.csv:3")


BAD = [
    pytest.param(b"hello world\r\nnot an export\r\n", 1, "not an ldifde", id="not-ldif-or-csv"),
    pytest.param(b"", 1, "empty file", id="empty"),
    pytest.param(b" folded\r\ndn: CN=a\r\n", 1, "broken continuation", id="continuation-first-line"),
    pytest.param(b"dn: CN=a\r\ncn: a\r\n\r\n continued\r\n", 4, "broken continuation", id="continuation-after-blank"),
    pytest.param(b"dn: CN=a\r\nobjectGUID:: @@notbase64@@\r\n", 2, "bad base64", id="bad-base64"),
    pytest.param(b"dn: CN=a\r\ncn:: Zm9v\r\n YmF\r\n", 2, "bad base64", id="bad-base64-folded"),
    pytest.param(b"dn: CN=a\r\ncn: a\r\n\r\ncn: b\r\nsn: c\r\n", 4, "record without dn", id="dn-less-record"),
    pytest.param(b"dn: CN=a\r\ndn: CN=b\r\n", 2, "second dn", id="two-dns"),
    pytest.param(b"dn: CN=a\r\nchangetype: modify\r\n", 2, "changetype", id="modify-record"),
    pytest.param(b"dn: CN=a\r\njpegPhoto:< file:///etc/passwd\r\n", 2, "external file", id="url-value"),
    pytest.param(b"dn: CN=a\r\nno colon here\r\n", 2, "attribute: value", id="no-colon"),
    pytest.param(b"dn: CN=a\r\ncn: caf\xc3\r\n", 2, "undecodable", id="undecodable-bytes"),
    pytest.param(b"dn: CN=a\r\ncn: " + b"a" * (MAX_LINE + 10) + b"\r\n", 2, "line longer", id="huge-line"),
    pytest.param(b"dn: CN=a\r\ncn: a\x00b\r\n", 2, "NUL", id="nul-byte"),
    pytest.param(b"version: 2\r\n", 1, "LDIF version", id="ldif-version"),
    pytest.param(b'DN,cn\r\n"CN=a,DC=x",a\r\n"CN=b,DC=x",b,extra\r\n', 3, "3 columns", id="csv-wrong-columns"),
    pytest.param(b'DN,cn\r\n"CN=a,DC=x","a"b"\r\n', 2, "bad CSV row", id="csv-bad-quote"),
    pytest.param(b'DN,objectGUID\r\n"CN=a,DC=x",X\'zz\'\r\n', 2, "X'hex'", id="csv-bad-hex"),
    pytest.param(b'DN,cn\r\n,a\r\n', 2, "without DN", id="csv-no-dn"),
    pytest.param(b'DN,,cn\r\n', 1, "header", id="csv-unnamed-column"),
    pytest.param(b"\xff\xfed\x00n\x00:\x00 \x00x", 1, "undecodable", id="utf16-truncated"),
]


@pytest.mark.parametrize("data,line,reason", BAD)
def test_bad_file_is_one_export_error_with_its_line(tmp_path, data, line, reason):
    path = write(tmp_path, data)
    with pytest.raises(ExportError) as caught:
        validate_export(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert reason in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ExportError, match="cannot open"):
        validate_export(str(tmp_path / "nope.ldf"))


def test_reader_streams_records_before_a_later_fault(tmp_path):
    good = ldif(*[[f"dn: CN=u{i},DC=corp,DC=example", "objectClass: user", f"cn: u{i}"] for i in range(50)])
    path = write(tmp_path, good + b"cn: orphan\r\n")
    records = iter_export(path)
    assert next(records).dn == "CN=u0,DC=corp,DC=example"  # read before the end of the file is reached
    with pytest.raises(ExportError, match=r":201: record without dn"):
        list(records)


def collect(stream) -> list:
    async def run():
        return [obj async for obj in stream]
    return asyncio.run(run())


def test_source_streams_directory_objects_and_computers_apart(tmp_path):
    path = write(tmp_path, ldif(USER, GROUP, CONTACT, COMPUTER))
    source = ExportDirectorySource(path)
    assert source.description == "export export.ldf" and source.insecure is False
    assert [o.kind for o in collect(source.objects())] == ["user", "group", "contact"]
    assert [o.kind for o in collect(source.computers())] == ["computer"]
    first = source.evidence[0]
    assert first.probe == "directory" and first.outcome == "ok"
    assert first.data["records"] == 4 and first.data["returned"] == 3
    with pytest.raises(ProbeError, match="no forest configuration"):
        asyncio.run(source.forest())


def test_source_hands_out_what_a_live_read_asks_for(tmp_path):
    path = write(tmp_path, ldif(USER, GROUP, COMPUTER))
    source = ExportDirectorySource(path)
    user, group = collect(source.objects())
    assert user.first("objectGUID") == str(GUID) and user.has("proxyAddresses") and group.has("member")
    assert not user.has("objectSid") and not user.has("objectCategory")  # not read from a DC either
    (computer,) = collect(source.computers())
    assert computer.first("operatingSystem") == "Windows 11 Enterprise"


def test_source_applies_scope_filter(tmp_path):
    path = write(tmp_path, ldif(USER, GROUP, CONTACT))
    source = ExportDirectorySource(path, scope_filter="(|(objectCategory=Person)(mail=sales@*))")
    assert [o.kind for o in collect(source.objects())] == ["user", "group"]
    assert source.evidence[-1].data["scope_filter"].startswith("(|")
    bad = ExportDirectorySource(path, scope_filter="(memberOf:1.2.840.113556.1.4.1941:=CN=G)")
    with pytest.raises(ProbeError, match="scope_filter cannot be applied"):
        collect(bad.objects())


def test_source_fault_mid_stream_is_a_probe_error_naming_the_line(tmp_path):
    path = write(tmp_path, ldif(USER, GROUP) + b"dn: CN=x\r\nobjectGUID:: ***\r\n")
    source = ExportDirectorySource(path)
    with pytest.raises(ProbeError, match=r"export\.ldf:\d+: bad base64"):
        collect(source.objects())
    assert source.evidence[-1].outcome == "error"


def _any_outcome(path: str) -> None:
    try:
        for obj in iter_export(path):
            assert isinstance(obj.dn, str)
    except ExportError as exc:
        assert str(exc).startswith(path + ":") and "\n" not in str(exc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_any_bytes_give_objects_or_export_error(tmp_path, data):
    _any_outcome(write(tmp_path, data))


LDIF_PIECES = st.sampled_from([
    "dn: CN=a,DC=x", "dn:: Q049YQ==", "changetype: add", "changetype: delete", "objectClass: user", "cn: a",
    "objectGUID:: " + b64(GUID.bytes_le), "objectGUID:: ###", " folded", "", "#comment", "-", "version: 1",
    "proxyAddresses: SMTP:a@b.c", "cn:< file:x", "dn:", "::", ":", "cn;binary:: AA==", "objectSid:: AQ==",
])
CSV_PIECES = st.sampled_from([
    "DN,cn,objectClass", '"CN=a,DC=x",a,user', "CN=b,b,top;user", '"unterminated', "x,y", "", ",,",
    "\"CN=c\",\"multi\r\nline\",group", "X'00',X'0g',q",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(LDIF_PIECES, CSV_PIECES, st.text(max_size=20)), max_size=12),
       newline=st.sampled_from(["\r\n", "\n"]), utf16=st.booleans())
def test_any_near_valid_file_gives_objects_or_export_error(tmp_path, lines, newline, utf16):
    text = newline.join(lines)
    _any_outcome(write(tmp_path, text.encode("utf-16" if utf16 else "utf-8", "surrogatepass")))



VALUES = st.one_of(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=120),
                   st.binary(min_size=16, max_size=16))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(objects=st.lists(st.tuples(
    st.text(alphabet="abcXYZ =,", min_size=1, max_size=30),
    st.lists(st.tuples(st.sampled_from(["cn", "displayName", "proxyAddresses", "objectGUID", "description",
                                        "member;range=0-1", "mail"]), VALUES), max_size=8)), min_size=1, max_size=8))
def test_bulk_parse_equals_line_by_line_parse(tmp_path, objects):
    """The fast path (whole records) and the exact one (line by line) read every record the same."""
    from ems_readiness.probes import directory_export

    records = []
    for n, (rdn, attributes) in enumerate(objects):
        lines = [f"dn: CN={rdn.strip() or 'x'}{n},DC=corp,DC=example", "changetype: add"]
        for name, value in attributes:
            if isinstance(value, bytes) or not value.isascii() or value[:1] in (" ", ":", "<") or value.endswith(" "):
                data = value if isinstance(value, bytes) else value.encode()
                lines.append(f"{name}:: {b64(data)}")
            else:
                lines.append(f"{name}: {value}")
        records.append(lines)
    path = write(tmp_path, ldif(*records))
    fast = list(iter_export(path))
    reader = directory_export._BlockReader(path)
    slow = []
    try:
        text = "".join(t for _, t in reader.blocks())
        for record, line in directory_export._split_records(text.rstrip("\n"), 1):
            slow.append(directory_export._ldif_record_by_line(reader, record, line, {}, False))
    finally:
        reader.close()
    assert [(o.dn, dict(o.attributes), o.source) for o in fast] == [(o.dn, dict(o.attributes), o.source) for o in slow]
