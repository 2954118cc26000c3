"""SPF records (RFC 7208): parsing and syntax, as pure functions. The DNS-004 check counts the
lookups through the DNS probe; everything here is offline."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

SPF_VERSION = "v=spf1"
LOOKUP_TERMS = {"include", "a", "mx", "ptr", "exists", "redirect"}
MACRO = re.compile(r"%\{[slodiphcrtv]\d*r?[.\-+,/_=]*\}|%%|%_|%-", re.IGNORECASE)
LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$", re.IGNORECASE)
MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.IGNORECASE)
MECHANISM = re.compile(r"^([+\-~?]?)([a-z][a-z0-9_.-]*)(.*)$", re.IGNORECASE)
DUAL_CIDR = re.compile(r"^(?::(?P<domain>[^/]+))?(?:/(?P<v4>\d+))?(?://(?P<v6>\d+))?$")
NETWORK = re.compile(r"^:(?P<net>[^/]+)(?:/(?P<len>\d+))?$")


def is_spf(text: str) -> bool:
    """RFC 7208 §4.5: the record starts with 'v=spf1' followed by a space or nothing."""
    lowered = text.lower()
    return lowered == SPF_VERSION or lowered.startswith(SPF_VERSION + " ")


@dataclass(frozen=True)
class SpfTerm:
    text: str
    name: str  # mechanism or modifier name, lower case
    value: str  # what follows the name: ':domain/cidr' for a mechanism, the value for a modifier
    qualifier: str = ""
    is_modifier: bool = False

    @property
    def queries_dns(self) -> bool:
        """include, a, mx, ptr, exists (mechanisms) and redirect= (the modifier)."""
        return self.name in LOOKUP_TERMS and self.is_modifier == (self.name == "redirect")

    @property
    def followed_domain(self) -> str | None:
        """The domain whose SPF record this term evaluates (include, redirect), if it has no macro."""
        if self.name == "include":
            domain = self.value[1:]
        elif self.name == "redirect":
            domain = self.value
        else:
            return None
        return None if "%" in domain else domain.strip().rstrip(".").lower()


@dataclass
class SpfRecord:
    text: str
    terms: list[SpfTerm] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def has_all(self) -> bool:
        return any(t.name == "all" and not t.is_modifier for t in self.terms)

    @property
    def lookups(self) -> int:
        """The DNS-querying terms an evaluator reaches (RFC 7208 §4.6.4): redirect= is not
        evaluated when the record has an 'all' mechanism (§6.1), so it does not count then."""
        return sum(1 for t in self.terms if t.queries_dns and not (t.name == "redirect" and self.has_all))

    def followed(self) -> list[tuple[SpfTerm, str]]:
        """The include and redirect targets an evaluator follows; redirect is ignored beside 'all'."""
        pairs = []
        for term in self.terms:
            target = term.followed_domain
            if target and not (term.name == "redirect" and self.has_all):
                pairs.append((term, target))
        return pairs


def parse_spf(text: str) -> SpfRecord:
    record = SpfRecord(text)
    modifiers_seen: set[str] = set()
    for word in text.split(" ")[1:]:
        if not word:
            continue
        term = parse_term(word)
        record.terms.append(term)
        problem = term_problem(term)
        if problem:
            record.problems.append(f"'{word}': {problem}")
        if term.is_modifier and term.name in ("redirect", "exp"):
            if term.name in modifiers_seen:
                record.problems.append(f"'{word}': {term.name}= appears more than once")
            modifiers_seen.add(term.name)
    return record


def parse_term(word: str) -> SpfTerm:
    modifier = MODIFIER.match(word)
    if modifier:
        return SpfTerm(word, modifier.group(1).lower(), modifier.group(2), is_modifier=True)
    mechanism = MECHANISM.match(word)
    if mechanism:
        qualifier, name, rest = mechanism.groups()
        return SpfTerm(word, name.lower(), rest, qualifier or "+")
    return SpfTerm(word, "", word)


def term_problem(term: SpfTerm) -> str | None:
    """What is wrong with one term's syntax (RFC 7208 §4.6.1, §5, §6), or None."""
    if term.is_modifier:
        if term.name in ("redirect", "exp"):
            return domain_spec_problem(term.value)
        return None if " " not in term.value else "bad modifier value"
    value = term.value
    if term.name == "all":
        if value:
            return "'all' takes no argument"
        return "'+all' lets every server on the internet send as this domain" if term.qualifier == "+" else None
    if term.name in ("include", "exists"):
        return domain_spec_problem(value[1:]) if value.startswith(":") else f"'{term.name}' needs ':domain'"
    if term.name in ("a", "mx"):
        return dual_cidr_problem(value)
    if term.name == "ptr":
        return None if not value else domain_spec_problem(value[1:]) if value.startswith(":") else "bad 'ptr' argument"
    if term.name == "ip4":
        return network_problem(value, ipaddress.IPv4Address, 32)
    if term.name == "ip6":
        return network_problem(value, ipaddress.IPv6Address, 128)
    return "unknown mechanism" if term.name else "not a mechanism or modifier"


def domain_spec_problem(spec: str) -> str | None:
    if not spec:
        return "empty domain"
    without_macros = MACRO.sub("x", spec)
    if "%" in without_macros:
        return "bad macro"
    if without_macros != spec:
        return None  # expanded at evaluation time; only the macro syntax can be checked here
    labels = spec.rstrip(".").split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return f"'{spec}' is not a domain name"
    return None


def dual_cidr_problem(value: str) -> str | None:
    match = DUAL_CIDR.match(value)
    if not match:
        return "bad argument; expected [:domain][/ip4-cidr][//ip6-cidr]"
    if match["v4"] is not None and int(match["v4"]) > 32:
        return f"IPv4 prefix /{match['v4']} is longer than 32"
    if match["v6"] is not None and int(match["v6"]) > 128:
        return f"IPv6 prefix //{match['v6']} is longer than 128"
    return domain_spec_problem(match["domain"]) if match["domain"] is not None else None


def network_problem(value: str, address_type: type, max_prefix: int) -> str | None:
    match = NETWORK.match(value)
    if not match:
        return "needs ':address[/prefix]'"
    try:
        address_type(match["net"])
    except ValueError:
        return f"'{match['net']}' is not an IPv{4 if max_prefix == 32 else 6} address"
    if match["len"] is not None and int(match["len"]) > max_prefix:
        return f"prefix /{match['len']} is longer than {max_prefix}"
    return None


def spf_covers(published: str, expected: str) -> bool:
    """A published SPF record holds every term Microsoft asks for, besides 'all' (merging is allowed)."""
    published_terms = {t.text.lower().lstrip("+") for t in parse_spf(published).terms}
    wanted = [t for t in parse_spf(expected).terms if t.name != "all"]
    return all(t.text.lower().lstrip("+") in published_terms for t in wanted)
