"""A customer's directory export as a directory source: ldifde LDIF or csvde CSV, read as a stream.

The consultant who cannot bind to a domain controller asks the customer's AD admin for

    ldifde -f export.ldf -r "(|(objectCategory=Person)(objectCategory=Group))"

(or the same with csvde -f export.csv) and judges the file with the same rules as a live read. The
reader never holds more than one record: memory does not grow with the file. A malformed file raises
`ExportError("FILE:LINE: reason")`, one line naming where the problem is; nothing else escapes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import codecs
import csv
import io
import os
import re
import struct
import time
import uuid
from typing import AsyncIterator, Iterator

from ems_readiness.engine.model import Evidence
from ems_readiness.judges.ad_objects import AdObject, ForestInfo
from ems_readiness.judges.ldap_filter import Filter, LdapFilterError, parse_filter
from ems_readiness.probes.base import ProbeError, bounded

MAX_LINE = 1 << 20          # one physical line (ldifde folds at 76 columns; csvde rows are short)
MAX_VALUE = 16 << 20        # one CSV field
MAX_RECORD = 64 << 20       # one LDIF record (a group of 50,000 members is ~5 MB)
MAX_ATTRIBUTES = 4096       # per record
CHUNK = 1 << 18             # bytes (or UTF-16 characters) read at a time
BATCH = 500                 # records parsed per worker-thread hop

GUID_ATTRIBUTES = frozenset({"objectguid", "ms-ds-consistencyguid", "msexchmailboxguid"})
SID_ATTRIBUTES = frozenset({"objectsid", "sidhistory"})
# attributes csvde writes joined with ';' (every other value is kept whole: a displayName may hold ';')
CSV_MULTI_VALUED = frozenset({
    "objectclass", "proxyaddresses", "member", "memberof", "othermailbox", "serviceprincipalname",
    "othertelephone", "othermobile", "otherhomephone", "otheripphone", "url", "keywords", "showinaddressbook",
    "upnsuffixes", "sidhistory", "usercertificate", "msexchextensioncustomattribute1",
})
DIRECTORY_KINDS = frozenset({"user", "group", "contact"})
# What the source hands out: the attributes the live read asks for (probes/directory.py), so an export and
# a domain controller give the same judgement; an export's other attributes (whenCreated, uSNs, objectSid,
# …) are skipped unparsed.
OBJECT_ATTRIBUTES = frozenset({
    "cn", "displayname", "distinguishedname", "givenname", "grouptype", "homemdb", "iscriticalsystemobject",
    "mail", "mailnickname", "msexchhidefromaddresslists", "msexchrecipienttypedetails", "objectclass",
    "proxyaddresses", "samaccountname", "targetaddress", "userprincipalname",
    "objectguid", "ms-ds-consistencyguid", "useraccountcontrol", "member",
})
COMPUTER_ATTRIBUTES = frozenset({
    "cn", "distinguishedname", "objectclass", "objectguid", "samaccountname", "useraccountcontrol",
    "operatingsystem", "operatingsystemversion", "lastlogontimestamp",
})


class ExportError(Exception):
    """A directory export file that cannot be read; the message is 'FILE:LINE: reason'."""


def validate_export(path: str) -> None:
    """Read the whole file once; raises ExportError at the first problem."""
    for _ in iter_export(path, build=False):
        pass


def iter_export(path: str, *, build: bool = True, keep: frozenset[str] | None = None) -> Iterator[AdObject]:
    """Every record of an ldifde LDIF or csvde CSV file, in file order. keep: the attributes (lower case)
    to hand out, None for all; build=False: checked only, the objects handed out may be a placeholder."""
    reader = _BlockReader(path)
    try:
        first = reader.first_content_line()
        if first is None:
            raise reader.error(max(reader.line_number, 1), "empty file: not an ldifde LDIF or csvde CSV export")
        number, line = first
        lowered = line.lower()
        if lowered.startswith(("dn:", "version:", "#", " ")):
            yield from _ldif_records(reader, build, keep)
        elif lowered.split(",", 1)[0].strip().strip('"') == "dn":
            yield from _csv_records(reader, keep)
        else:
            raise reader.error(number,
                               "not an ldifde LDIF (records start with 'dn:') or csvde CSV (header starts with DN)")
    finally:
        reader.close()


class _BlockReader:
    """The file as blocks of whole lines ('\\n'-terminated, CRLF made LF), decoded as UTF-8 or UTF-16
    (ldifde -u), a chunk at a time, every physical line bounded; each block with its first line number."""

    def __init__(self, path: str) -> None:
        self.name = path
        self.line_number = 0  # lines handed out so far
        try:
            self._raw = open(path, "rb")
        except OSError as exc:
            raise ExportError(f"{path}:0: cannot open: {exc.strerror or exc}") from None
        head = self._raw.read(4)
        self._raw.seek(0)
        self._text: io.TextIOWrapper | None = None
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self._text = io.TextIOWrapper(self._raw, encoding="utf-16", newline="", errors="strict")
        elif head.startswith(codecs.BOM_UTF8):
            self._raw.seek(3)
        self._blocks = self._read_blocks()
        self._pending: tuple[int, str] | None = None

    def error(self, line: int, reason: str) -> ExportError:
        return ExportError(f"{self.name}:{line}: {reason}")

    def close(self) -> None:
        self._blocks.close()
        (self._text or self._raw).close()

    def _read_chunk(self) -> str | bytes:
        try:
            return self._text.read(CHUNK) if self._text is not None else self._raw.read(CHUNK)
        except UnicodeDecodeError as exc:
            raise self.error(self.line_number + 1, f"undecodable bytes ({exc.reason}); "
                                                   "the export must be UTF-8 or UTF-16") from None
        except OSError as exc:
            raise self.error(self.line_number + 1, f"read failed: {exc.strerror or exc}") from None

    def _decode(self, block: str | bytes) -> str:
        if isinstance(block, str):
            return block
        try:
            return block.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self.line_number + block.count(b"\n", 0, exc.start) + 1
            raise self.error(line, f"undecodable bytes ({exc.reason}); the export must be UTF-8 or UTF-16") from None

    def _read_blocks(self) -> Iterator[tuple[int, str]]:
        carry: str | bytes = ""
        while True:
            chunk = self._read_chunk()
            if not chunk:
                break
            data = carry + chunk if carry else chunk
            cut = data.rfind("\n" if isinstance(data, str) else b"\n")  # type: ignore[arg-type]
            if cut == -1:
                carry = data
            else:
                carry = data[cut + 1:]
                yield self._checked(self._decode(data[: cut + 1]))
            if len(carry) > MAX_LINE:
                raise self.error(self.line_number + 1, f"line longer than {MAX_LINE} characters")
        if carry:
            text = self._decode(carry)
            yield self._checked(text[:-1] + "\n" if text.endswith("\r") else text + "\n")

    def _checked(self, text: str) -> tuple[int, str]:
        first = self.line_number + 1
        nul = text.find("\x00")
        if nul != -1:
            raise self.error(self.line_number + text.count("\n", 0, nul) + 1, "NUL byte in a text line")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        if len(text) > MAX_LINE:
            for index, line in enumerate(text.split("\n")):
                if len(line) > MAX_LINE:
                    raise self.error(first + index, f"line longer than {MAX_LINE} characters")
        self.line_number += text.count("\n")
        return first, text

    def first_content_line(self) -> tuple[int, str] | None:
        """The first non-blank line; its block stays to be read again."""
        for first, text in self._blocks:
            stripped = text.lstrip()
            if not stripped:
                continue  # only blank lines: nothing any format needs
            self._pending = (first, text)
            offset = len(text) - len(stripped)
            start = text.rfind("\n", 0, offset) + 1
            end = text.find("\n", start)
            return first + text.count("\n", 0, start), text[start:end]
        return None

    def blocks(self) -> Iterator[tuple[int, str]]:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            yield pending
        yield from self._blocks

    def lines(self) -> Iterator[tuple[int, str]]:
        for first, text in self.blocks():
            for offset, line in enumerate(text.split("\n")[:-1]):
                yield first + offset, line


# --- LDIF (RFC 2849 as ldifde writes it) ------------------------------------------------------------------
#
# Records are separated by an empty line. The common record (dn first, 'name: value' and 'name:: base64'
# lines, folded lines) is parsed in bulk; anything else is parsed again line by line, which either
# accepts it (comments, the version line) or raises with the exact line number.

def _ldif_records(reader: _BlockReader, build: bool = True,
                  keep: frozenset[str] | None = None) -> Iterator[AdObject]:
    names: dict[str, tuple[str, bool]] = {}
    carry = ""
    carry_line = 1
    first_record = True
    for first, text in reader.blocks():
        data, start = (carry + text, carry_line) if carry else (text, first)
        cut = data.rfind("\n\n")
        if cut == -1:
            carry, carry_line = data, start
            if len(carry) > MAX_RECORD:
                raise reader.error(carry_line, f"record longer than {MAX_RECORD} characters")
            continue
        carry = data[cut + 2:]
        for record, line in _split_records(data[:cut], start):
            obj = _ldif_record(reader, record, line, names, first_record, build, keep)
            first_record = False
            if obj is not None:
                yield obj
        carry_line = start + data.count("\n", 0, cut) + 2
    if carry.strip("\n"):
        for record, line in _split_records(carry.rstrip("\n"), carry_line):
            obj = _ldif_record(reader, record, line, names, first_record, build, keep)
            first_record = False
            if obj is not None:
                yield obj


def _split_records(text: str, line: int) -> Iterator[tuple[str, int]]:
    for record in text.split("\n\n"):
        body = record.lstrip("\n")
        lead = len(record) - len(body)
        body = body.rstrip("\n")
        if body:
            yield body, line + lead
        line += record.count("\n") + 2


def _ldif_record(reader: _BlockReader, record: str, line: int, names: dict[str, tuple[str, bool]],
                 first_record: bool, build: bool = True, keep: frozenset[str] | None = None) -> AdObject | None:
    """The common record in bulk; None from `_bulk_record` sends it to the line-by-line parser."""
    source = f"{reader.name}:{line}"
    obj = _bulk_record(record, names, source, build, keep) if record[:3] == "dn:" else None
    if obj is None:
        obj = _ldif_record_by_line(reader, record, line, names, first_record)
        if obj is not None and keep is not None:
            obj = _make_object(obj.dn, obj.attributes, obj.source, keep)  # type: ignore[arg-type]
    return obj


def _bulk_record(record: str, names: dict[str, tuple[str, bool]], source: str, build: bool = True,
                 keep: frozenset[str] | None = None) -> AdObject | None:
    """`names` maps the text before ': ' of lines already seen to (attribute, is base64): 'cn' → ('cn',
    False), 'objectGUID:' → ('objectguid', True); a name not seen yet sends the record line by line."""
    lines = (record.replace("\n ", "") if "\n " in record else record).split("\n")
    _, _, dn = lines[0].partition(":")
    try:
        dn = base64.b64decode(dn[1:].strip(" "), validate=True).decode("utf-8") if dn[:1] == ":" \
            else dn.lstrip(" ")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    if dn[:1] == "<":
        return None
    # values go in as tuples (most attributes hold one); a second value turns them into a list, made a
    # tuple again at the end
    attributes: dict[str, tuple[str, ...] | list[str]] = {}
    several: list[str] = []
    known = names.get
    held = attributes.get
    decode = binascii.a2b_base64
    for name, separator, value in [line.partition(": ") for line in lines[1:]]:
        found = known(name)
        if found is None or not separator:
            return None
        key, encoded = found
        if keep is not None and key not in keep and key not in _LDIF_CONTROL:
            continue
        if encoded:
            try:
                raw = decode(value, strict_mode=True)
            except ValueError:
                return None
            if build:
                value = _binary_text(key, raw)
        elif value[:1] == " ":
            value = value.lstrip(" ")
        values = held(key)
        if values is None:
            if key in _LDIF_CONTROL:
                if key != "changetype" or value != "add":
                    return None
            elif len(attributes) >= MAX_ATTRIBUTES:
                return None
            else:
                attributes[key] = (value,)
        elif type(values) is tuple:
            attributes[key] = [*values, value]
            several.append(key)
        else:
            values.append(value)  # type: ignore[union-attr]
    if not build:
        return _CHECKED
    for key in several:
        attributes[key] = tuple(attributes[key])
    return AdObject(dn=dn, attributes=attributes, source=source)  # type: ignore[arg-type]


_CHECKED = AdObject(dn="", attributes={})  # validate_export's placeholder for a record that parsed
_LDIF_CONTROL = frozenset({"dn", "changetype", "-", "version", "control"})


def _ldif_record_by_line(reader: _BlockReader, record: str, first_line: int, names: dict[str, tuple[str, bool]],
                         first_record: bool) -> AdObject | None:
    """One record, line by line: accepts what the bulk parser does not know, or raises at the right line."""
    logical: list[tuple[int, list[str]]] = []
    for offset, text in enumerate(record.split("\n")):
        if text[:1] == " ":
            if not logical:
                raise reader.error(first_line + offset,
                                   "broken continuation: a folded line with nothing to continue")
            logical[-1][1].append(text[1:])
        else:
            logical.append((first_line + offset, [text]))
    dn: str | None = None
    dn_line = first_line
    attributes: dict[str, list[str]] = {}
    for number, parts in logical:
        text = "".join(parts)
        if text[:1] == "#":
            continue
        name, value = _ldif_attribute(reader, number, text, names)
        if dn is None:
            if first_record and name == "version":
                first_record = False
                if value.strip() != "1":
                    raise reader.error(number, f"unsupported LDIF version {value.strip()!r}")
                continue
            if name != "dn":
                raise reader.error(number, f"record without dn: it starts with {name!r}")
            dn, dn_line = value, number
            continue
        if name == "dn":
            raise reader.error(number, "a second dn in one record (records are separated by a blank line)")
        if name == "changetype":
            if value.strip().lower() != "add":
                raise reader.error(number, f"changetype {value.strip()!r}: an export holds only 'add' records")
            continue
        if name in ("-", "control"):
            raise reader.error(number, "a modify record or control: an export holds only 'add' records")
        values = attributes.get(name)
        if values is None:
            if len(attributes) >= MAX_ATTRIBUTES:
                raise reader.error(number, f"more than {MAX_ATTRIBUTES} attributes in one record")
            values = attributes[name] = []
        values.append(value)
    if dn is None:
        return None  # the version line alone, or comments
    return _make_object(dn, attributes, f"{reader.name}:{dn_line}")


ATTRIBUTE_DESCRIPTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*(?:;[A-Za-z0-9.=-]+)*")


def _ldif_attribute(reader: _BlockReader, number: int, line: str, names: dict[str, tuple[str, bool]]) -> tuple[str, str]:
    if line == "-":
        return "-", ""
    colon = line.find(":")
    if colon <= 0:
        raise reader.error(number, "not an 'attribute: value' line")
    raw_name = line[:colon]
    cached = names.get(raw_name)
    if cached is not None:
        name = cached[0]
    else:
        if not ATTRIBUTE_DESCRIPTION.fullmatch(raw_name):
            raise reader.error(number, f"invalid attribute name {raw_name[:80]!r}")
        name = raw_name.split(";", 1)[0].lower()
        if len(names) < 10_000:  # what the bulk parser knows (see _bulk_record)
            names[raw_name] = (name, False)
            names[raw_name + ":"] = (name, True)
    kind = line[colon + 1: colon + 2]
    if kind == ":":
        try:
            raw = base64.b64decode(line[colon + 2:].strip(" "), validate=True)
        except (binascii.Error, ValueError):
            raise reader.error(number, f"bad base64 value of {name}") from None
        return name, _binary_text(name, raw)
    if kind == "<":
        raise reader.error(number, f"{name} refers to an external file (':<'), which an export cannot use")
    return name, line[colon + 1:].lstrip(" ")


def _binary_text(name: str, raw: bytes) -> str:
    """Binary values as AD displays them: GUIDs in mixed-endian text, SIDs as S-1-…; text as UTF-8."""
    if name in GUID_ATTRIBUTES and len(raw) == 16:
        # uuid.UUID(bytes_le=raw), written out: this runs for every object of a large export
        return f"{raw[3::-1].hex()}-{raw[5:3:-1].hex()}-{raw[7:5:-1].hex()}-{raw[8:10].hex()}-{raw[10:].hex()}"
    if name in SID_ATTRIBUTES:
        sid = _sid_text(raw)
        if sid is not None:
            return sid
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.hex()


def _sid_text(raw: bytes) -> str | None:
    if len(raw) < 8 or raw[0] != 1 or len(raw) != 8 + 4 * raw[1]:
        return None
    authority = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack_from(f"<{raw[1]}I", raw, 8)
    return f"S-1-{authority}-" + "-".join(map(str, subs)) if subs else f"S-1-{authority}"


def _make_object(dn: str, attributes: dict[str, list[str]], source: str,
                 keep: frozenset[str] | None = None) -> AdObject:
    if keep is None:
        return AdObject(dn=dn, attributes={k: tuple(v) for k, v in attributes.items()}, source=source)
    return AdObject(dn=dn, attributes={k: tuple(v) for k, v in attributes.items() if k in keep}, source=source)


# --- CSV (csvde) -------------------------------------------------------------------------------------------

def _csv_records(reader: _BlockReader, keep: frozenset[str] | None = None) -> Iterator[AdObject]:
    numbered = reader.lines()
    last = [0]

    def lines() -> Iterator[str]:
        for number, line in numbered:
            last[0] = number
            yield line + "\n"

    previous = csv.field_size_limit()
    csv.field_size_limit(MAX_VALUE)
    try:
        rows = csv.reader(lines(), strict=True)
        try:
            header = next(rows)
        except csv.Error as exc:
            raise reader.error(last[0], f"bad CSV header: {exc}") from None
        names = [h.strip().lower() for h in header]
        if not names or names[0] != "dn" or any(not n for n in names):
            raise reader.error(last[0], "the csvde header must start with DN and name every column")
        if len(names) > MAX_ATTRIBUTES:
            raise reader.error(last[0], f"more than {MAX_ATTRIBUTES} columns")
        columns = [(index, name, name in CSV_MULTI_VALUED) for index, name in enumerate(names) if index
                   and (keep is None or name in keep)]
        while True:
            start = last[0] + 1
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                raise reader.error(last[0], f"bad CSV row: {exc}") from None
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(names):
                raise reader.error(start, f"row has {len(row)} columns, the header has {len(names)}")
            dn = row[0]
            if not dn:
                raise reader.error(start, "row without DN")
            attributes: dict[str, tuple[str, ...]] = {}
            for index, name, multi in columns:
                field = row[index]
                if field == "":
                    continue  # csvde leaves an absent attribute empty
                if multi:
                    attributes[name] = tuple(_csv_value(reader, start, name, part) for part in field.split(";"))
                else:
                    attributes[name] = (_csv_value(reader, start, name, field) if field[:2] in ("X'", "x'")
                                        else field,)
            yield AdObject(dn=dn, attributes=attributes, source=f"{reader.name}:{start}")
    finally:
        csv.field_size_limit(previous)


def _csv_value(reader: _BlockReader, number: int, name: str, field: str) -> str:
    if len(field) >= 3 and field[:2] in ("X'", "x'") and field.endswith("'"):
        try:
            raw = bytes.fromhex(field[2:-1])
        except ValueError:
            raise reader.error(number, f"bad X'hex' value of {name}") from None
        return _binary_text(name, raw)
    return field


# --- the directory source --------------------------------------------------------------------------------

class ExportDirectorySource:
    """DirectorySource over an export file: objects and computers streamed, no forest facts."""

    insecure = False

    def __init__(self, path: str, scope_filter: str | None = None) -> None:
        """scope_filter: [directory] scope_filter (RFC 4515), applied to the export's objects as the domain
        controller applies it to a live read."""
        self.path = path
        self.description = f"export {os.path.basename(path)}"
        self.evidence: list[Evidence] = []
        self.scope_filter = scope_filter
        self._filter: Filter | None = None
        self._filter_error: str | None = None
        if scope_filter:
            try:
                self._filter = parse_filter(scope_filter)
            except LdapFilterError as exc:
                self._filter_error = f"[directory] scope_filter cannot be applied to an export: {exc}"

    async def forest(self) -> ForestInfo:
        raise ProbeError(
            f"an export holds no forest configuration ({os.path.basename(self.path)} lists objects only): "
            "functional levels, UPN suffixes, recycle bin and service connection points need a live read "
            "of a domain controller")

    def objects(self) -> AsyncIterator[AdObject]:
        """Users, groups and contacts (IdFix's filter), in file order."""
        return self._stream(lambda obj: obj.kind in DIRECTORY_KINDS, "objects", OBJECT_ATTRIBUTES)

    def computers(self) -> AsyncIterator[AdObject]:
        return self._stream(lambda obj: obj.kind == "computer", "computers", COMPUTER_ATTRIBUTES)

    async def _stream(self, kind_wanted, what: str, attributes: frozenset[str]) -> AsyncIterator[AdObject]:
        started = time.perf_counter()
        records = matched = 0
        if self._filter_error is not None:
            self._record(what, "error", started, 0, 0, error=self._filter_error)
            raise ProbeError(self._filter_error)
        scope = self._filter
        if scope is None:
            wanted = kind_wanted
        else:
            attributes = attributes | scope.attributes
            wanted = lambda obj: kind_wanted(obj) and scope.matches(obj)  # noqa: E731
        iterator = iter_export(self.path, keep=attributes)
        try:
            while True:
                # parse in a worker thread, a batch at a time: a large file must not stall the event loop
                batch = await asyncio.to_thread(_next_batch, iterator, BATCH)
                if not batch:
                    break
                for obj in batch:
                    records += 1
                    if wanted(obj):
                        matched += 1
                        yield obj
        except ExportError as exc:
            self._record(what, "error", started, records, matched, error=str(exc))
            raise ProbeError(str(exc)) from None
        finally:
            try:
                iterator.close()
            except ValueError:  # still running in a worker thread after a cancellation; it ends on its own
                pass
        self._record(what, "ok", started, records, matched)

    def _record(self, what: str, outcome: str, started: float, records: int, matched: int, **extra) -> None:
        data = {"read": what, "records": records, "returned": matched, **extra}
        if self.scope_filter:
            data["scope_filter"] = self.scope_filter
        self.evidence.append(Evidence(
            probe="directory", target=f"export {self.path}", outcome=outcome,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            data={k: bounded(v) for k, v in data.items()},
        ))


def _next_batch(iterator: Iterator[AdObject], size: int) -> list[AdObject]:
    batch: list[AdObject] = []
    for obj in iterator:
        batch.append(obj)
        if len(batch) >= size:
            break
    return batch
