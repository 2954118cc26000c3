"""RFC 4515 LDAP search filters evaluated on AdObjects, so [directory] scope_filter applies to an export
the way the domain controller applies it to a live read. Pure; the parser refuses what it cannot judge.

Active Directory's matching is followed where it differs from plain string comparison: attribute names
and string values compare case-insensitively, `objectCategory=Person` matches the category's DN by its
first RDN, the bitwise matching rules 1.2.840.113556.1.4.803 (AND) and .804 (OR) work on integers, and a
NOT of a comparison on an absent attribute is true (AD's two-valued reading). LDAP_MATCHING_RULE_IN_CHAIN
(…1941) needs the directory's links, which an export does not have: it is refused, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ems_readiness.judges.ad_objects import AdObject

MAX_FILTER = 4096
MAX_DEPTH = 64
BIT_AND = "1.2.840.113556.1.4.803"
BIT_OR = "1.2.840.113556.1.4.804"
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+")
_PIECE = re.compile(r"\\([0-9A-Fa-f]{2})|\\|[^\\]+")


class LdapFilterError(ValueError):
    """A filter that is not RFC 4515 or that cannot be judged offline; the message says where."""


@dataclass(frozen=True)
class Filter:
    text: str
    _test: Callable[[AdObject], bool]
    attributes: frozenset[str]  # the attribute names it reads, lower case

    def matches(self, obj: AdObject) -> bool:
        return self._test(obj)


def parse_filter(text: str) -> Filter:
    text = text.strip()
    if not text:
        raise LdapFilterError("empty filter")
    if len(text) > MAX_FILTER:
        raise LdapFilterError(f"filter longer than {MAX_FILTER} characters")
    if not text.startswith("("):
        text = f"({text})"  # tools accept a bare item such as objectClass=user
    parser = _Parser(text)
    test = parser.filter(0)
    if parser.pos != len(text):
        raise LdapFilterError(f"unexpected {text[parser.pos:parser.pos + 10]!r} at position {parser.pos}")
    return Filter(text, test, frozenset(parser.attributes))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.attributes: set[str] = set()

    def fail(self, what: str) -> LdapFilterError:
        return LdapFilterError(f"{what} at position {self.pos} of {self.text[:200]!r}")

    def expect(self, char: str) -> None:
        if self.text[self.pos:self.pos + 1] != char:
            raise self.fail(f"expected {char!r}")
        self.pos += 1

    def filter(self, depth: int) -> Callable[[AdObject], bool]:
        if depth > MAX_DEPTH:
            raise self.fail("filter nested too deeply")
        self.expect("(")
        head = self.text[self.pos:self.pos + 1]
        if head in ("&", "|"):
            self.pos += 1
            parts = []
            while self.text[self.pos:self.pos + 1] == "(":
                parts.append(self.filter(depth + 1))
            if not parts:
                raise self.fail(f"{head} without filters")
            test = (lambda o: all(p(o) for p in parts)) if head == "&" else (lambda o: any(p(o) for p in parts))
        elif head == "!":
            self.pos += 1
            inner = self.filter(depth + 1)
            test = lambda o: not inner(o)  # noqa: E731
        else:
            test = self.item()
        self.expect(")")
        return test

    def item(self) -> Callable[[AdObject], bool]:
        end = self.text.find(")", self.pos)
        if end == -1:
            raise self.fail("unterminated item")
        body = self.text[self.pos:end]
        if "(" in body:
            raise self.fail("unescaped '(' in a value")
        match = re.match(r"([^=~<>:]*)(:dn)?(?::([^:=]+))?(:=|~=|>=|<=|=)(.*)\Z", body, re.DOTALL)
        if not match or not match.group(1) and match.group(4) != ":=":
            raise self.fail(f"not an attribute comparison: {body[:80]!r}")
        name, dn_flag, rule, operator, raw_value = match.groups()
        if name and not _ATTRIBUTE.fullmatch(name.split(";", 1)[0]):
            raise self.fail(f"invalid attribute {name[:80]!r}")
        self.pos = end
        attribute = name.split(";", 1)[0].lower()
        self.attributes.add(attribute)
        if operator == ":=":
            return self.extensible(attribute, dn_flag, rule, raw_value)
        if dn_flag or rule:
            raise self.fail("':dn' or a matching rule needs ':='")
        if operator == "=" and raw_value == "*":
            return lambda o: bool(o.values(attribute))
        if operator == "=" and "*" in raw_value:
            return _substring(attribute, [self.unescape(part) for part in raw_value.split("*")])
        value = self.unescape(raw_value)
        if operator in ("=", "~="):
            return _equality(attribute, value)
        return _ordering(attribute, value, operator)

    def extensible(self, attribute: str, dn_flag: str | None, rule: str | None, raw: str) -> Callable:
        if dn_flag:
            raise self.fail("':dn' matching needs the DN's attributes, which an export does not give")
        value = self.unescape(raw)
        if rule in (BIT_AND, BIT_OR) and attribute:
            try:
                mask = int(value)
            except ValueError:
                raise self.fail(f"bitwise matching rule needs an integer, not {value[:40]!r}") from None
            return _bitwise(attribute, mask, rule == BIT_AND)
        raise self.fail(f"matching rule {rule or '(none)'} cannot be judged offline")

    def unescape(self, raw: str) -> str:
        """RFC 4515 escapes: '\\' and two hex digits stand for one byte of the UTF-8 value."""
        if "\\" not in raw:
            return raw
        data = bytearray()
        for match in _PIECE.finditer(raw):
            if match.group(1):
                data.append(int(match.group(1), 16))
            elif match.group(0) == "\\":
                raise self.fail("a backslash must be followed by two hex digits")
            else:
                data += match.group(0).encode("utf-8", "surrogatepass")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("escaped bytes are not UTF-8") from None


def _values(obj: AdObject, attribute: str) -> tuple[str, ...]:
    return obj.attributes.get(attribute, ())


def _category_names(value: str) -> tuple[str, str]:
    """objectCategory holds a DN; AD matches `objectCategory=Person` by the class name too."""
    first = value.split(",", 1)[0]
    return value.lower(), (first.split("=", 1)[1] if "=" in first else first).lower()


def _equality(attribute: str, value: str) -> Callable[[AdObject], bool]:
    wanted = value.lower()
    if attribute == "objectcategory":
        return lambda o: any(wanted in _category_names(v) for v in _values(o, attribute))
    return lambda o: any(v.lower() == wanted for v in _values(o, attribute))


def _substring(attribute: str, parts: list[str]) -> Callable[[AdObject], bool]:
    initial, *middle, final = [p.lower() for p in parts]

    def test(obj: AdObject) -> bool:
        for value in _values(obj, attribute):
            text = value.lower()
            if not text.startswith(initial) or not text.endswith(final):
                continue
            position = len(initial)
            limit = len(text) - len(final)
            for part in middle:
                found = text.find(part, position, limit)
                if found == -1:
                    break
                position = found + len(part)
            else:
                if position <= limit:
                    return True
        return False

    return test


def _ordering(attribute: str, value: str, operator: str) -> Callable[[AdObject], bool]:
    def compare(stored: str) -> bool:
        try:
            left, right = int(stored), int(value)
        except ValueError:
            left, right = stored.lower(), value.lower()  # type: ignore[assignment]
        return left >= right if operator == ">=" else left <= right

    return lambda o: any(compare(v) for v in _values(o, attribute))


def _bitwise(attribute: str, mask: int, all_bits: bool) -> Callable[[AdObject], bool]:
    def test(obj: AdObject) -> bool:
        for value in _values(obj, attribute):
            try:
                number = int(value) & 0xFFFFFFFF
            except ValueError:
                continue
            if (number & mask == mask) if all_bits else (number & mask != 0):
                return True
        return False

    return test
