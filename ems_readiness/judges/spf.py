"""SPF records to the letter of RFC 7208: the record's syntax (§4.6.1, §5, §6, §7.1 and the ABNF of
§12) and the macros a checker can expand without a connection. Pure functions; the DNS-004 check
walks the record through the DNS probe (checks/_spf.py) with what this module parses."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from ems_readiness.engine.model import Text
from ems_readiness.engine.texts import msg, render

SPF_VERSION = "v=spf1"
MECHANISMS = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
LOOKUP_MECHANISMS = {"include", "a", "mx", "ptr", "exists"}
MAX_DNS_TERMS = 10  # §4.6.4
MAX_VOID_LOOKUPS = 2  # §4.6.4
MAX_MX_RECORDS = 10  # §4.6.4: an mx term may look up at most 10 exchanges
MAX_DOMAIN_LENGTH = 253  # §7.3: a longer expansion loses labels from the left

MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$", re.DOTALL)
MECHANISM = re.compile(r"^([+\-~?]?)([A-Za-z][A-Za-z0-9]*)(.*)$", re.DOTALL)
# a and mx: [":" domain-spec] [ip4-cidr-length] ["/" ip6-cidr-length]; only a trailing /nn is a prefix
DUAL_CIDR = re.compile(r"^(?::(?P<domain>.*?))?(?:/(?P<v4>0|[1-9][0-9]?))?(?://(?P<v6>0|[1-9][0-9]{0,2}))?$", re.DOTALL)
IP4 = re.compile(r"^:(?P<net>[^/]*)(?:/(?P<len>0|[1-9][0-9]?))?$", re.DOTALL)
IP6 = re.compile(r"^:(?P<net>[^/]*)(?:/(?P<len>0|[1-9][0-9]{0,2}))?$", re.DOTALL)
QNUM = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
IP4_NETWORK = re.compile(rf"^{QNUM}\.{QNUM}\.{QNUM}\.{QNUM}$")
HEX4 = r"[0-9A-Fa-f]{1,4}"
TOPLABEL = re.compile(r"^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$")
MACRO_EXPAND = re.compile(r"%\{(?P<letter>[A-Za-z])(?P<digits>[0-9]*)(?P<reverse>[rR]?)(?P<delimiters>[.\-+,/_=]*)\}")
MACRO_LETTERS = set("slodiphcrtv")
EXPLANATION_ONLY_LETTERS = set("crt")  # §7.2: only in explanation text, never in a domain-spec


@dataclass(frozen=True)
class Reason:
    """Why a term is wrong, with the RFC 7208 section that states the rule when it is not the term's own."""

    text: Text
    section: str | None = None


def why(id: str, section: str | None = None, **params: object) -> Reason:
    return Reason(msg(f"spf.reason.{id}", **params), section)


def is_spf(text: str) -> bool:
    """RFC 7208 §4.5: the record starts with 'v=spf1' followed by a space or nothing."""
    lowered = text.lower()
    return lowered == SPF_VERSION or lowered.startswith(SPF_VERSION + " ")


def shown(text: str) -> str:
    """Record text for a message: control and non-ASCII characters escaped, so a reader sees them."""
    return "".join(c if 0x20 <= ord(c) < 0x7F else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                   for c in text)


@dataclass(frozen=True)
class SpfProblem:
    """A permanent error (RFC 7208 'permerror'): the term (or target), why, and the section."""

    term: str
    reason: Text
    section: str
    where: str = ""  # the domain whose record holds the term, when it is not the checked domain's

    @property
    def text(self) -> Text:
        common = dict(term=shown(self.term), reason=self.reason, section=self.section)
        return msg("spf.problem.in", where=self.where, **common) if self.where else msg("spf.problem", **common)

    def __str__(self) -> str:
        return render(self.text)


@dataclass(frozen=True)
class SpfTerm:
    text: str
    name: str  # mechanism or modifier name, lower case
    value: str  # what follows the name: ':domain/cidr' for a mechanism, the value for a modifier
    qualifier: str = ""
    is_modifier: bool = False
    domain_spec: str | None = None  # include, a, mx, ptr, exists, redirect, exp: the target as written
    prefix4: int | None = None  # a, mx, ip4: the IPv4 prefix length written

    @property
    def queries_dns(self) -> bool:
        """include, a, mx, ptr, exists (mechanisms) and redirect= (the modifier): §4.6.4's terms."""
        if self.is_modifier:
            return self.name == "redirect"
        return self.name in LOOKUP_MECHANISMS

    @property
    def matches_all(self) -> bool:
        """'all' or '+all': every sender passes."""
        return not self.is_modifier and self.name == "all" and self.qualifier == "+"

    @property
    def followed_domain(self) -> str | None:
        """The domain whose SPF record this term evaluates (include, redirect), if it has no macro."""
        if self.name not in ("include", "redirect") or self.domain_spec is None or "%" in self.domain_spec:
            return None
        return self.domain_spec.rstrip(".").lower()


@dataclass
class SpfRecord:
    text: str
    terms: list[SpfTerm] = field(default_factory=list)
    errors: list[SpfProblem] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [str(problem) for problem in self.errors]

    @property
    def mechanisms(self) -> list[SpfTerm]:
        return [t for t in self.terms if not t.is_modifier]

    @property
    def has_all(self) -> bool:
        return any(t.name == "all" for t in self.mechanisms)

    def modifier(self, name: str) -> SpfTerm | None:
        return next((t for t in self.terms if t.is_modifier and t.name == name), None)

    @property
    def lookups(self) -> int:
        """The DNS-querying terms of this record alone that an evaluator reaches when no mechanism
        matches before 'all' (§4.6.4): terms after 'all' and redirect= beside 'all' (§6.1) are not."""
        count = 0
        for term in self.mechanisms:
            if term.name == "all":
                return count
            count += term.queries_dns
        return count + (self.modifier("redirect") is not None)

    def followed(self) -> list[tuple[SpfTerm, str]]:
        """The include and redirect targets an evaluator follows; redirect is ignored beside 'all'."""
        pairs = []
        for term in self.mechanisms:
            if term.name == "all":
                return pairs
            if term.followed_domain:
                pairs.append((term, term.followed_domain))
        redirect = self.modifier("redirect")
        if redirect is not None and redirect.followed_domain:
            pairs.append((redirect, redirect.followed_domain))
        return pairs


def parse_spf(text: str) -> SpfRecord:
    """Terms are separated by one or more spaces, and by nothing else (§4.6.1, §12)."""
    record = SpfRecord(text)
    seen: set[str] = set()
    for word in text.split(" ")[1:]:
        if not word:
            continue
        term, problem = parse_term(word)
        record.terms.append(term)
        if problem:
            record.errors.append(problem)
        if term.is_modifier and term.name in ("redirect", "exp"):
            if term.name in seen:
                record.errors.append(SpfProblem(word, msg("spf.reason.modifier-twice", name=term.name), "6"))
            seen.add(term.name)
    return record


def parse_term(word: str) -> tuple[SpfTerm, SpfProblem | None]:
    def problem(reason: Reason, section: str = "4.6.1") -> SpfProblem:
        return SpfProblem(word, reason.text, reason.section or section)

    bad = next((c for c in word if not 0x21 <= ord(c) <= 0x7E), None)
    if bad is not None:
        control = ord(bad) < 0x20 or ord(bad) == 0x7F
        return SpfTerm(word, "", word), problem(why("control" if control else "non-ascii", char=shown(bad)))
    modifier = MODIFIER.match(word)
    if modifier:
        name, value = modifier.group(1).lower(), modifier.group(2)
        if name in ("redirect", "exp"):
            term = SpfTerm(word, name, value, is_modifier=True, domain_spec=value)
            reason = domain_spec_problem(value)
            return term, problem(reason, "6.1" if name == "redirect" else "6.2") if reason else None
        reason = macro_string_problem(value, allow_explanation_letters=True)
        return SpfTerm(word, name, value, is_modifier=True), problem(reason, "6") if reason else None
    mechanism = MECHANISM.match(word)
    if not mechanism:
        return SpfTerm(word, "", word), problem(why("not-a-term"))
    qualifier, name, rest = mechanism.group(1) or "+", mechanism.group(2).lower(), mechanism.group(3)
    if name not in MECHANISMS:
        return SpfTerm(word, name, rest, qualifier), problem(why("unknown-mechanism", name=name), "5")
    domain_spec, reason, section = mechanism_argument(name, rest)
    prefix = re.search(r"(?<!/)/([0-9]+)(?://[0-9]+)?$", rest) if name in ("a", "mx", "ip4") else None
    term = SpfTerm(word, name, rest, qualifier, domain_spec=domain_spec, prefix4=int(prefix[1]) if prefix else None)
    return term, problem(reason, section) if reason else None


def mechanism_argument(name: str, rest: str) -> tuple[str | None, Reason | None, str]:
    """(the domain-spec, what is wrong with the argument or None, the section that says so)."""
    if name == "all":
        return None, why("all-argument") if rest else None, "5.1"
    if name in ("include", "exists"):
        section = "5.2" if name == "include" else "5.7"
        if not rest.startswith(":"):
            return None, why("needs-domain", name=name), section
        return rest[1:], domain_spec_problem(rest[1:]), section
    if name == "ptr":
        if not rest:
            return None, None, "5.5"
        if not rest.startswith(":"):
            return None, why("ptr-argument"), "5.5"
        return rest[1:], domain_spec_problem(rest[1:]), "5.5"
    if name in ("a", "mx"):
        section = "5.3" if name == "a" else "5.4"
        match = DUAL_CIDR.match(rest)
        if not match:
            return None, why("dual-cidr"), section
        if match["v4"] is not None and int(match["v4"]) > 32:
            return None, why("prefix-too-long", prefix=f"/{match['v4']}", max="32"), section
        if match["v6"] is not None and int(match["v6"]) > 128:
            return None, why("prefix-too-long", prefix=f"//{match['v6']}", max="128"), section
        spec = match["domain"]
        return spec, domain_spec_problem(spec) if spec is not None else None, section
    pattern, is_address, longest = (IP4, IP4_NETWORK.match, 32) if name == "ip4" else (IP6, is_ip6, 128)
    match = pattern.match(rest)
    if not match:
        return None, why("network"), "5.6"
    if not is_address(match["net"]):
        return None, why("not-ip4" if name == "ip4" else "not-ip6", address=shown(match["net"])), "5.6"
    if match["len"] is not None and int(match["len"]) > longest:
        return None, why("prefix-too-long", prefix=f"/{match['len']}", max=longest), "5.6"
    return None, None, "5.6"


def is_ip6(text: str) -> bool:
    """RFC 4291 §2.2 text forms (no zone index), with an embedded dotted quad allowed at the end."""
    if not re.fullmatch(r"[0-9A-Fa-f:.]+", text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return "." not in text or bool(IP4_NETWORK.match(text.rsplit(":", 1)[1]))


def macro_tokens(text: str) -> list[str | re.Match] | None:
    """The macro-string as literal characters and macro-expands, or None if a '%' starts no macro."""
    tokens: list[str | re.Match] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "%":
            tokens.append(char)
            index += 1
            continue
        two = text[index:index + 2]
        if two in ("%%", "%_", "%-"):
            tokens.append(two)
            index += 2
            continue
        match = MACRO_EXPAND.match(text, index)
        if not match:
            return None
        tokens.append(match)
        index = match.end()
    return tokens


def macro_string_problem(text: str, allow_explanation_letters: bool = False) -> Reason | None:
    """§7.1: literals are visible ASCII but '%'; a '%' starts %{letter...}, %%, %_ or %-."""
    tokens = macro_tokens(text)
    if tokens is None:
        return why("bare-percent", "7.1")
    for token in tokens:
        if isinstance(token, re.Match):
            letter = token["letter"].lower()
            if letter not in MACRO_LETTERS:
                return why("macro-letter", "7.1", letter=token["letter"], macro=token.group())
            if letter in EXPLANATION_ONLY_LETTERS and not allow_explanation_letters:
                return why("explanation-only", "7.2", macro=token.group())
            if token["digits"] and int(token["digits"]) == 0:
                return why("zero-digits", "7.3", macro=token.group())
    return None


def domain_spec_problem(spec: str) -> Reason | None:
    """domain-spec = macro-string domain-end; domain-end = "." toplabel ["."] / macro-expand (§7.1).
    ':' and '/' are literals like any other; a spec without macros must also be a DNS name (§4.8)."""
    if not spec:
        return why("empty-domain")
    problem = macro_string_problem(spec)
    if problem:
        return problem
    tokens = macro_tokens(spec) or []
    if isinstance(tokens[-1], re.Match) or tokens[-1] in ("%%", "%_", "%-"):
        return None
    literal_tail = ""
    for token in reversed(tokens):
        if not isinstance(token, str) or len(token) != 1:
            break
        literal_tail = token + literal_tail
    tail = literal_tail[:-1] if literal_tail.endswith(".") else literal_tail
    if "." not in tail or not TOPLABEL.match(tail.rsplit(".", 1)[1]):
        return why("toplabel", "7.1", spec=shown(spec))
    if "%" not in spec:  # no macro: the name is queried as written
        return dns_name_problem(spec)
    return None


def dns_name_problem(name: str) -> Reason | None:
    labels = name.rstrip(".").split(".")
    if any(not label for label in labels):
        return why("empty-label", "4.8", name=shown(name))
    if any(len(label) > 63 for label in labels):
        return why("long-label", "4.8", name=shown(name))
    if len(name.rstrip(".")) > MAX_DOMAIN_LENGTH:
        return why("long-name", "4.8", name=shown(name), max=MAX_DOMAIN_LENGTH)
    return None


def expand_domain(spec: str, current: str, sender_domain: str) -> str | None:
    """The name a domain-spec queries, with the macros a checker knows: %{d} (the domain being
    evaluated) and %{o} (the sender's domain, the one checked). None when it needs the connection
    or the sender's local part (%{i}, %{s}, %{l}, %{h}, %{p}, %{v}). §7.3's rules for transformers,
    URL escaping of upper-case letters and over-long names apply."""
    tokens = macro_tokens(spec)
    if tokens is None:
        return None
    out = []
    for token in tokens:
        if isinstance(token, str):
            out.append({"%%": "%", "%_": " ", "%-": "%20"}.get(token, token))
            continue
        letter = token["letter"]
        if letter.lower() not in ("d", "o"):
            return None
        value = current if letter.lower() == "d" else sender_domain
        delimiters = token["delimiters"] or "."
        parts = re.split("|".join(re.escape(d) for d in delimiters), value)
        if token["reverse"]:
            parts.reverse()
        if token["digits"]:
            parts = parts[-int(token["digits"]):]
        text = ".".join(parts)
        if letter.isupper():
            text = quote(text, safe="-._~")
        out.append(text)
    name = "".join(out).rstrip(".")
    while len(name) > MAX_DOMAIN_LENGTH and "." in name:
        name = name.split(".", 1)[1]
    return name.lower() or None


def spf_covers(published: str, expected: str) -> bool:
    """A published SPF record holds every term Microsoft asks for, besides 'all' (merging is allowed)."""
    published_terms = {t.text.lower().lstrip("+") for t in parse_spf(published).terms}
    wanted = [t for t in parse_spf(expected).terms if t.name != "all"]
    return all(t.text.lower().lstrip("+") in published_terms for t in wanted)
