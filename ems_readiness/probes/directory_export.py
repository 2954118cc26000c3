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
import time
import uuid
from typing import AsyncIterator, Iterator

from ems_readiness.engine.model import Evidence
from ems_readiness.judges.ad_objects import AdObject, ForestInfo
from ems_readiness.probes.base import ProbeError, bounded

MAX_LINE = 1 << 20          # one physical line (ldifde folds at 76 columns; csvde rows are short)
MAX_VALUE = 16 << 20        # one unfolded LDIF value or CSV field
MAX_ATTRIBUTES = 4096       # per record
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


class ExportError(Exception):
    """A directory export file that cannot be read; the message is 'FILE:LINE: reason'."""


def validate_export(path: str) -> None:
    """Read the whole file once; raises ExportError at the first problem."""
    for _ in iter_export(path):
        pass


def iter_export(path: str) -> Iterator[AdObject]:
    """Every record of an ldifde LDIF or csvde CSV file, in file order."""
    reader = _LineReader(path)
    try:
        first = reader.peek_content()
        if first is None:
            raise reader.error(max(reader.line_number, 1), "empty file: not an ldifde LDIF or csvde CSV export")
        lowered = first.lower()
        if lowered.startswith(("dn:", "version:", "#", " ")):
            yield from _ldif_records(reader)
        elif lowered.split(",", 1)[0].strip().strip('"') == "dn":
            yield from _csv_records(reader)
        else:
            raise reader.error(reader.line_number,
                               "not an ldifde LDIF (records start with 'dn:') or csvde CSV (header starts with DN)")
    finally:
        reader.close()


class _LineReader:
    """Physical lines with their numbers, bounded in length, decoded as UTF-8 or UTF-16 (ldifde -u)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = path
        self.line_number = 0
        self._pending: str | None = None
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

    def error(self, line: int, reason: str) -> ExportError:
        return ExportError(f"{self.name}:{line}: {reason}")

    def close(self) -> None:
        (self._text or self._raw).close()

    def _read_physical(self) -> str | None:
        number = self.line_number + 1
        try:
            if self._text is not None:
                line = self._text.readline(MAX_LINE + 1)
                if len(line) > MAX_LINE:
                    raise self.error(number, f"line longer than {MAX_LINE} characters")
            else:
                data = self._raw.readline(MAX_LINE + 1)
                if len(data) > MAX_LINE:
                    raise self.error(number, f"line longer than {MAX_LINE} bytes")
                line = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(number, f"undecodable bytes ({exc.reason}); the export must be UTF-8 or UTF-16") from None
        except OSError as exc:
            raise self.error(number, f"read failed: {exc.strerror or exc}") from None
        if line == "":
            return None
        self.line_number = number
        if "\x00" in line:
            raise self.error(number, "NUL byte in a text line")
        return line.rstrip("\r\n") if line.endswith("\n") else line.rstrip("\r")

    def next_line(self) -> str | None:
        if self._pending is not None:
            line, self._pending = self._pending, None
            return line
        return self._read_physical()

    def peek_content(self) -> str | None:
        """The first non-blank line, left to be read again."""
        while True:
            line = self.next_line()
            if line is None:
                return None
            if line.strip():
                self._pending = line  # read again with the number it already has
                return line

    def lines(self) -> Iterator[tuple[int, str]]:
        while True:
            line = self.next_line()
            if line is None:
                return
            yield self.line_number, line


# --- LDIF (RFC 2849 as ldifde writes it) ------------------------------------------------------------------

def _logical_lines(reader: _LineReader) -> Iterator[tuple[int, str]]:
    """Unfolded lines: a line starting with one space continues the previous one. '' separates records."""
    current: list[str] | None = None
    start = 0
    size = 0
    for number, line in reader.lines():
        if line.startswith(" "):
            if current is None:
                raise reader.error(number, "broken continuation: a folded line with nothing to continue")
            size += len(line) - 1
            if size > MAX_VALUE:
                raise reader.error(start, f"value longer than {MAX_VALUE} characters")
            current.append(line[1:])
            continue
        if current is not None:
            yield start, "".join(current)
        if line.strip() == "":
            current = None
            yield number, ""
            continue
        current, start, size = [line], number, len(line)
    if current is not None:
        yield start, "".join(current)


def _ldif_records(reader: _LineReader) -> Iterator[AdObject]:
    dn: str | None = None
    dn_line = 0
    attributes: dict[str, list[str]] = {}
    first_record = True
    for number, line in _logical_lines(reader):
        if line == "":
            if dn is not None:
                yield _make_object(dn, attributes, f"{reader.name}:{dn_line}")
            dn, attributes = None, {}
            continue
        if line.startswith("#"):
            continue
        name, value = _ldif_attribute(reader, number, line)
        if dn is None:
            if first_record and name == "version" and not attributes:
                first_record = False
                if value.strip() != "1":
                    raise reader.error(number, f"unsupported LDIF version {value.strip()!r}")
                continue
            if name != "dn":
                raise reader.error(number, f"record without dn: it starts with {name!r}")
            first_record = False
            dn, dn_line = value, number
            continue
        if name == "dn":
            raise reader.error(number, "a second dn in one record (records are separated by a blank line)")
        if name == "changetype":
            if value.strip().lower() != "add":
                raise reader.error(number, f"changetype {value.strip()!r}: an export holds only 'add' records")
            continue
        if name == "-":
            raise reader.error(number, "a modify record: an export holds only 'add' records")
        values = attributes.setdefault(name, [])
        if not values and len(attributes) > MAX_ATTRIBUTES:
            raise reader.error(number, f"more than {MAX_ATTRIBUTES} attributes in one record")
        values.append(value)
    if dn is not None:
        yield _make_object(dn, attributes, f"{reader.name}:{dn_line}")


def _ldif_attribute(reader: _LineReader, number: int, line: str) -> tuple[str, str]:
    if line == "-":
        return "-", ""
    colon = line.find(":")
    if colon <= 0:
        raise reader.error(number, "not an 'attribute: value' line")
    name = line[:colon].split(";", 1)[0].strip().lower()
    if not name or not all(c.isalnum() or c in "-." for c in name):
        raise reader.error(number, f"invalid attribute name {line[:colon][:80]!r}")
    rest = line[colon + 1:]
    if rest.startswith(":"):
        encoded = rest[1:].strip()
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise reader.error(number, f"bad base64 value of {name}") from None
        return name, _binary_text(name, raw)
    if rest.startswith("<"):
        raise reader.error(number, f"{name} refers to an external file (':<'), which an export cannot use")
    return name, rest[1:] if rest.startswith(" ") else rest


def _binary_text(name: str, raw: bytes) -> str:
    """Binary values as AD displays them: GUIDs in mixed-endian text, SIDs as S-1-…; text as UTF-8."""
    if name in GUID_ATTRIBUTES and len(raw) == 16:
        return str(uuid.UUID(bytes_le=raw))
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
    subs = [str(int.from_bytes(raw[8 + 4 * i: 12 + 4 * i], "little")) for i in range(raw[1])]
    return "-".join(["S", "1", str(authority), *subs])


def _make_object(dn: str, attributes: dict[str, list[str]], source: str) -> AdObject:
    return AdObject(dn=dn, attributes={k: tuple(v) for k, v in attributes.items()}, source=source)


# --- CSV (csvde) -------------------------------------------------------------------------------------------

def _csv_records(reader: _LineReader) -> Iterator[AdObject]:
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
            attributes: dict[str, list[str]] = {}
            for name, field in zip(names[1:], row[1:]):
                if field == "":
                    continue  # csvde leaves an absent attribute empty
                parts = field.split(";") if name in CSV_MULTI_VALUED else [field]
                attributes[name] = [_csv_value(reader, start, name, part) for part in parts]
            yield _make_object(dn, attributes, f"{reader.name}:{start}")
    finally:
        csv.field_size_limit(previous)


def _csv_value(reader: _LineReader, number: int, name: str, field: str) -> str:
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

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"export {os.path.basename(path)}"
        self.evidence: list[Evidence] = []

    async def forest(self) -> ForestInfo:
        raise ProbeError(
            f"an export holds no forest configuration ({os.path.basename(self.path)} lists objects only): "
            "functional levels, UPN suffixes, recycle bin and service connection points need a live read "
            "of a domain controller")

    def objects(self) -> AsyncIterator[AdObject]:
        """Users, groups and contacts (IdFix's filter), in file order."""
        return self._stream(lambda obj: obj.kind in DIRECTORY_KINDS, "objects")

    def computers(self) -> AsyncIterator[AdObject]:
        return self._stream(lambda obj: obj.kind == "computer", "computers")

    async def _stream(self, wanted, what: str) -> AsyncIterator[AdObject]:
        started = time.perf_counter()
        records = matched = 0
        iterator = iter_export(self.path)
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
        self.evidence.append(Evidence(
            probe="directory", target=f"export {self.path}", outcome=outcome,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            data={k: bounded(v) for k, v in {"read": what, "records": records, "returned": matched, **extra}.items()},
        ))


def _next_batch(iterator: Iterator[AdObject], size: int) -> list[AdObject]:
    batch: list[AdObject] = []
    for obj in iterator:
        batch.append(obj)
        if len(batch) >= size:
            break
    return batch
