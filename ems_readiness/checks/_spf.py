"""DNS-004's evaluation of an SPF record through the DNS probe, as a receiver runs check_host()
(RFC 7208 §4.6) for a sender that no mechanism names: every term up to 'all' is reached, which is
when a broken record hurts (forged mail gets a permanent error instead of the record's 'all').

It counts the DNS-querying terms through includes and redirects (more than 10 is a permanent
error), the void lookups (more than two), the MX records of an mx term (more than 10), and finds
include/redirect loops and targets without an SPF record. It looks up what a receiver looks up for
an IPv4 sender: A for a and exists, MX for mx, TXT for include and redirect. A target that needs the
connection or the sender's local part (%{i}, %{s}, %{l}, %{h}, %{p}, %{v}) and a ptr term are counted
but not looked up. Explanations (exp=) are never looked up: their failures do not change a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

from ems_readiness.engine.model import Evidence, Text
from ems_readiness.engine.texts import msg
from ems_readiness.judges.spf import (
    MAX_DNS_TERMS, MAX_MX_RECORDS, MAX_VOID_LOOKUPS, SpfProblem, SpfTerm, expand_domain, is_spf, parse_spf, shown,
)
from ems_readiness.probes.dns import DnsAnswer

if TYPE_CHECKING:
    from ems_readiness.engine.context import CheckContext


class Outcome(Enum):
    PASS = "pass"  # the record lets the unnamed sender pass
    OTHER = "other"  # it ends in fail, softfail or neutral
    STOPPED = "stopped"  # a permanent or temporary error ended the evaluation


@dataclass
class SpfWalk:
    domain: str
    lookups: int = 0
    voids: int = 0
    problems: list[SpfProblem] = field(default_factory=list)
    unanswered: list[DnsAnswer] = field(default_factory=list)
    unfollowed: list[Text] = field(default_factory=list)  # terms counted whose target depends on the sender
    reached: set[str] = field(default_factory=set)  # include and redirect targets whose record was read
    evidence: list[Evidence] = field(default_factory=list)
    passes_everyone: Text | None = None  # the term (and record) through which every sender passes
    last_pass: Text | None = None

    def permanent_error(self, term: SpfTerm, current: str, section: str, reason: str, **params: object) -> None:
        """Record a permanent error of a term in the record of `current`; the evaluation ends."""
        self.problems.append(located(SpfProblem(term.text, msg(f"spf.reason.{reason}", **params), section), self, current))

    def term_text(self, term: SpfTerm, current: str) -> Text:
        """'a:%{h}', or '-a:%{h} in _spf.contoso.com' for a term of another record."""
        if current == self.domain:
            return msg("spf.term", term=shown(term.text))
        return msg("spf.term.in", term=shown(term.text), where=current)


def raw(value: str) -> str:
    """A TXT answer's text as its octets (the probe keeps them), so control characters and
    non-ASCII octets reach the parser as sent."""
    return getattr(value, "raw", value)


def spf_texts(answer: DnsAnswer) -> list[str]:
    return [raw(v) for v in answer.values if is_spf(raw(v))] if answer.ok else []


async def walk_spf(ctx: "CheckContext", domain: str, text: str) -> SpfWalk:
    walk = SpfWalk(domain)
    if await evaluate(ctx, walk, text, domain, (domain,)) is Outcome.PASS:
        walk.passes_everyone = walk.last_pass
    return walk


async def evaluate(ctx: "CheckContext", walk: SpfWalk, text: str, current: str, path: tuple[str, ...]) -> Outcome:
    record = parse_spf(text)
    if record.errors:
        walk.problems += [located(p, walk, current) for p in record.errors]
        return Outcome.STOPPED
    for term in record.mechanisms:
        matched = True if term.name == "all" else await mechanism(ctx, walk, term, current, path)
        if matched is None:
            return Outcome.STOPPED
        if matched:
            return passed_by(walk, term, current) if term.qualifier == "+" else Outcome.OTHER
    redirect = record.modifier("redirect")
    if redirect is None:
        return Outcome.OTHER  # neutral (§4.7)
    if not counted(walk, redirect, current):
        return Outcome.STOPPED
    target = target_of(walk, redirect, current)
    if target is None:
        return Outcome.OTHER
    nested = await read_record(ctx, walk, redirect, current, target, path, "6.1")
    if nested is None:
        return Outcome.STOPPED
    return await evaluate(ctx, walk, nested, target, path + (target,))  # its result is this record's (§6.1)


def passed_by(walk: SpfWalk, term: SpfTerm, current: str) -> Outcome:
    """Remember how the unnamed sender passed: '+all', 'a/0', or an include that passes it."""
    how = walk.term_text(term, current)
    walk.last_pass = how if term.name != "include" or walk.last_pass is None else msg(
        "spf.passes.through", term=how, inner=walk.last_pass)
    return Outcome.PASS


def located(problem: SpfProblem, walk: SpfWalk, current: str) -> SpfProblem:
    return problem if current == walk.domain else replace(problem, where=current)


def counted(walk: SpfWalk, term: SpfTerm, current: str) -> bool:
    walk.lookups += 1
    if walk.lookups <= MAX_DNS_TERMS:
        return True
    walk.permanent_error(term, current, "4.6.4", "too-many-terms", n=walk.lookups, limit=MAX_DNS_TERMS)
    return False


def target_of(walk: SpfWalk, term: SpfTerm, current: str) -> str | None:
    spec = term.domain_spec or current
    target = expand_domain(spec, current, walk.domain) if "%" in spec else spec.rstrip(".").lower()
    if target is None:
        walk.unfollowed.append(walk.term_text(term, current))
    return target


async def mechanism(ctx: "CheckContext", walk: SpfWalk, term: SpfTerm, current: str, path: tuple[str, ...]) -> bool | None:
    """Whether the term matches the unnamed sender; None when the evaluation stopped."""
    if term.name == "ip4":
        return term.prefix4 == 0  # ip4:x/0 names every IPv4 sender
    if not term.queries_dns:
        return False  # ip6 never names an IPv4 sender
    if not counted(walk, term, current):
        return None
    if term.name == "ptr":
        return False  # the connecting address's PTR names: nothing to look up without it
    target = target_of(walk, term, current)
    if target is None:
        return False
    if term.name == "include":
        nested = await read_record(ctx, walk, term, current, target, path, "5.2")
        if nested is None:
            return None
        outcome = await evaluate(ctx, walk, nested, target, path + (target,))
        return None if outcome is Outcome.STOPPED else outcome is Outcome.PASS
    answer = await ctx.dns.query(target, "MX" if term.name == "mx" else "A")
    walk.evidence.append(answer.evidence)
    if answer.status.unanswered:
        walk.unanswered.append(answer)
        return None
    if not answer.ok or not answer.values:
        walk.voids += 1
        if walk.voids > MAX_VOID_LOOKUPS:
            walk.permanent_error(term, current, "4.6.4", "too-many-voids", name=target, rdtype=answer.rdtype,
                                 status=answer.status.value.upper(), n=walk.voids, limit=MAX_VOID_LOOKUPS)
            return None
        return False
    if term.name == "mx":
        if len(answer.values) > MAX_MX_RECORDS:
            walk.permanent_error(term, current, "4.6.4", "too-many-mx", name=target, n=len(answer.values),
                                 limit=MAX_MX_RECORDS)
            return None
        return False
    if term.name == "exists":
        return True  # any A record makes exists match, whoever the sender
    return term.prefix4 == 0  # a/0 with an address names every IPv4 sender


async def read_record(
    ctx: "CheckContext", walk: SpfWalk, term: SpfTerm, current: str, target: str, path: tuple[str, ...], section: str
) -> str | None:
    """The one SPF record of an include or redirect target; None when the evaluation stops there."""
    if target in path:
        chain = " -> ".join((*path, target))
        walk.permanent_error(term, current, "4.6.4", "loop", chain=chain)
        return None
    answer = await ctx.dns.query(target, "TXT")
    walk.evidence.append(answer.evidence)
    if answer.status.unanswered:
        walk.unanswered.append(answer)
        return None
    records = spf_texts(answer)
    if len(records) != 1:
        if records:
            walk.permanent_error(term, current, section, "several-records", name=target, n=len(records))
        else:
            walk.permanent_error(term, current, section, "no-record", name=target)
        return None
    walk.reached.add(target)
    return records[0]
