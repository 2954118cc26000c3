"""DNS checks: the enrollment CNAMEs, the records Graph asks for, SPF, and split-horizon agreement.

Every answer comes from the DNS probe (`ctx.dns`), which names the resolver it asked. A missing
record is a finding; a resolver that could not answer (SERVFAIL, REFUSED, timeout) is `error`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Iterable

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.check import check
from ems_readiness.engine.context import CheckContext
from ems_readiness.engine.model import Evidence
from ems_readiness.probes.dns import (
    CnameChain, DnsAnswer, DnsStatus, MxValue, SrvValue, is_ip_literal, normalize_host,
)
from ems_readiness.checks._tenant import Unreadable, require
from ems_readiness.checks._spf import SpfWalk, raw, walk_spf
from ems_readiness.judges.spf import is_spf, spf_covers

EXPECTED = data_toml("dns_expected.toml")
SPF = EXPECTED["spf"]
MICROSOFT_MANAGED_SUFFIX = ".onmicrosoft.com"


# --- shared -----------------------------------------------------------------------------------


host = normalize_host  # names as the probe keys them


async def scan_domains(ctx: CheckContext) -> list[str]:
    """The domains to check, once each; Microsoft hosts the DNS of *.onmicrosoft.com itself."""
    domains = [host(d) for d in await ctx.inventory.domains()]
    return [d for d in dict.fromkeys(domains) if d and not d.endswith(MICROSOFT_MANAGED_SUFFIX)]


def skip_no_domains(ctx: CheckContext) -> None:
    ctx.skipped(
        "domains",
        "No domain to check: the tenant has no custom domain (or the tenant side is off) and the "
        "profile's dns.domains is empty.",
    )


def resolver_failure(ctx: CheckContext, answer: DnsAnswer) -> str:
    """'resolver public (1.1.1.1:53) answered SERVFAIL for contoso.com TXT'."""
    what = answer.detail or answer.status.value
    return f"resolver {ctx.dns.resolver_label(answer.resolver)} {what} for {answer.name} {answer.rdtype}"


def quoted(texts: Iterable[str]) -> str:
    return "; ".join(f'"{text}"' for text in texts) or "none"


@dataclass(frozen=True)
class Verdict:
    """A finding decided before it is reported, so concurrent judgements report in a fixed order."""

    status: str  # the CheckContext helper: passed, failed, warned, errored, skipped
    resource: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def report(self, ctx: CheckContext) -> None:
        getattr(ctx, self.status)(self.resource, self.message, **self.details)


# --- DNS-001 / DNS-002: enrollment CNAMEs --------------------------------------------------------


@dataclass(frozen=True)
class CnameExpectation:
    label: str
    ttl: int
    targets: tuple[str, ...]
    purpose: str

    @classmethod
    def from_data(cls, key: str, purpose: str) -> "CnameExpectation":
        raw = EXPECTED[key]
        return cls(raw["label"], raw["ttl"], tuple(host(t) for t in raw["targets"]), purpose)

    @property
    def preferred(self) -> str:
        return self.targets[0]

    def owner(self, domain: str) -> str:
        return f"{self.label}.{domain}"

    def record(self, domain: str) -> str:
        return f"{self.owner(domain)}. {self.ttl} IN CNAME {self.preferred}."


ENROLLMENT = CnameExpectation.from_data(
    "enrollment", "Windows devices find Intune enrollment through it (MDM auto-discovery)"
)
REGISTRATION = CnameExpectation.from_data(
    "registration", "devices register with Entra ID through it, which conditional access relies on"
)


async def check_cnames(ctx: CheckContext, expectation: CnameExpectation) -> None:
    domains = await scan_domains(ctx)
    if not domains:
        skip_no_domains(ctx)
        return
    chains = await asyncio.gather(*(ctx.dns.cname_chain(expectation.owner(d)) for d in domains))
    for domain, chain in zip(domains, chains):
        judge_cname(ctx, expectation, domain, chain)


def judge_cname(ctx: CheckContext, expectation: CnameExpectation, domain: str, chain: CnameChain) -> None:
    owner = chain.name
    report = dict(expected=expectation.record(domain), observed=chain.describe(), evidence=chain.evidence)
    publish = f"In the DNS zone of {domain}, publish: {expectation.record(domain)}"
    reached = next((target for target in chain.targets if target in expectation.targets), None)
    if reached:
        ctx.passed(owner, f"{owner} leads to {reached}.", **report)
    elif chain.status.unanswered:
        ctx.errored(owner, f"Could not check {owner}: {resolver_failure(ctx, chain.answers[-1])}.", **report)
    elif chain.status is DnsStatus.NXDOMAIN:
        ctx.failed(
            owner,
            f"{owner} does not exist (NXDOMAIN), but {expectation.purpose}.",
            remediation=publish,
            **report,
        )
    elif chain.status is DnsStatus.NODATA:
        ctx.failed(
            owner,
            f"{owner} exists but is not a CNAME; it must be a CNAME to {expectation.preferred}, "
            f"because {expectation.purpose}.",
            remediation=f"Delete the other records at {owner}. {publish}",
            **report,
        )
    else:
        ctx.failed(
            owner,
            f"{owner} points to {chain.target}, not to {expectation.preferred}; {expectation.purpose}.",
            remediation=f"Change the CNAME's target. {publish}",
            **report,
        )


@check(
    id="DNS-001",
    title="Intune enrollment CNAME (enterpriseenrollment) published",
    area="dns",
    severity="high",
    responsibilities=["assess.remediation-checklist", "enable.network", "enable.client-infrastructure"],
    topic="network",
    why="""
        Windows finds the Intune enrollment service through enterpriseenrollment.<domain>. Without
        the CNAME, users who enroll a device must type the MDM server name by hand.
        """,
    fix="""
        For every domain users sign in with, publish
        enterpriseenrollment.<domain>. 3600 IN CNAME enterpriseenrollment-s.manage.microsoft.com.
        then confirm it in the Intune admin center (Devices > Enroll devices > Windows enrollment >
        CNAME Validation). DNS changes can take up to 72 hours to propagate.
        """,
)
async def enrollment_cname(ctx: CheckContext) -> None:
    await check_cnames(ctx, ENROLLMENT)


@check(
    id="DNS-002",
    title="Entra device registration CNAME (enterpriseregistration) published",
    area="dns",
    severity="high",
    responsibilities=["assess.remediation-checklist", "enable.network", "enable.client-infrastructure"],
    topic="network",
    why="""
        Devices find Entra device registration through enterpriseregistration.<domain>; conditional
        access that requires a registered or compliant device depends on it.
        """,
    fix="""
        For every domain users sign in with, publish
        enterpriseregistration.<domain>. 3600 IN CNAME enterpriseregistration.windows.net.
        (Only AD FS device registration for pre-Windows 10 clients points this name at AD FS
        instead; that setup is reported here too, for review.)
        """,
)
async def registration_cname(ctx: CheckContext) -> None:
    await check_cnames(ctx, REGISTRATION)


# --- DNS-003: the records Graph lists for each domain -------------------------------------------


class GraphRecordError(ValueError):
    """A serviceConfigurationRecord the check cannot read."""


@dataclass(frozen=True)
class ExpectedRecord:
    owner: str
    rdtype: str
    value: Any  # MxValue, SrvValue, or str (TXT text, CNAME target)
    optional: bool
    service: str
    ttl: int

    @property
    def resource(self) -> str:
        return f"{self.owner} {self.rdtype}"

    def zone_line(self) -> str:
        return f"{self.owner}. {self.ttl} IN {self.rdtype} {presentation(self.rdtype, self.value)}"

    def relevant(self, answer: DnsAnswer) -> list[Any]:
        """The published values this record is compared with (for SPF, only the SPF records)."""
        if not answer.ok:
            return []
        if self.rdtype == "TXT" and is_spf(self.value):
            return [v for v in answer.values if is_spf(v)]
        return list(answer.values)

    def matches(self, published: Any) -> bool:
        if self.rdtype == "TXT" and is_spf(self.value):
            return spf_covers(published, self.value)
        if self.rdtype == "TXT":
            return " ".join(published.split()) == " ".join(self.value.split())
        return published == self.value


def presentation(rdtype: str, value: Any) -> str:
    if rdtype == "MX":
        return f"{value.preference} {value.exchange}."
    if rdtype == "SRV":
        return f"{value.priority} {value.weight} {value.port} {value.target}."
    if rdtype == "TXT":
        return f'"{value}"'
    return f"{value}."


RECORD_TYPES = ("CName", "Mx", "Srv", "Txt", "Unavailable")  # documented domainDnsRecord kinds


def expected_record(raw: Any, domain: str) -> ExpectedRecord | None:
    """One Graph serviceConfigurationRecord as the record to find; None for kinds with no DNS record.

    A field Graph did not send (or sent with another type or an unknown kind) is a GraphRecordError,
    never a default: a missing isOptional must not make an optional record required, a missing
    label must not move the record to the domain's apex."""
    read = f"domains/{domain}/serviceConfigurationRecords[]"
    try:
        kind = require(raw, "recordType", str, read=read, known=RECORD_TYPES).lower()
        if kind == "unavailable":
            return None
        label = host(require(raw, "label", str, read=read))
        common = dict(
            optional=require(raw, "isOptional", bool, read=read, of=label),
            # shown only, never judged
            service=raw.get("supportedService") if isinstance(raw.get("supportedService"), str) else "",
            ttl=raw.get("ttl") if isinstance(raw.get("ttl"), int) and not isinstance(raw.get("ttl"), bool) else 3600,
        )
        if kind == "mx":
            value = MxValue(require(raw, "preference", int, read=read, of=label),
                            host(require(raw, "mailExchange", str, read=read, of=label)))
            return ExpectedRecord(label, "MX", value, **common)
        if kind == "txt":
            return ExpectedRecord(label, "TXT", require(raw, "text", str, read=read, of=label), **common)
        if kind == "cname":
            return ExpectedRecord(label, "CNAME", host(require(raw, "canonicalName", str, read=read, of=label)), **common)
        value = SrvValue(*(require(raw, name, int, read=read, of=label) for name in ("priority", "weight", "port")),
                         host(require(raw, "nameTarget", str, read=read, of=label)))
        return ExpectedRecord(srv_owner(raw, label, read), "SRV", value, **common)
    except Unreadable as exc:
        raise GraphRecordError(str(exc)) from None


def srv_owner(raw: dict[str, Any], label: str, read: str) -> str:
    """Graph gives service '_sip' and protocol '_tls' apart from the label; the owner joins them."""
    if label.startswith("_"):
        return label
    service = "_" + require(raw, "service", str, read=read, of=label).lstrip("_")
    protocol = "_" + require(raw, "protocol", str, read=read, of=label).lstrip("_")
    return f"{service}.{protocol}.{label}".lower()


def expected_records(raw_records: list[dict[str, Any]], domain: str) -> list[ExpectedRecord | GraphRecordError]:
    expectations: list[ExpectedRecord | GraphRecordError] = []
    for raw in raw_records:
        try:
            record = expected_record(raw, domain)
        except GraphRecordError as exc:
            expectations.append(exc)
            continue
        if record is not None:
            expectations.append(record)
    return expectations


async def assess_service_records(ctx: CheckContext, domain: str) -> list[Verdict]:
    raw_records = await ctx.inventory.service_records(domain)
    if raw_records is None:
        reason = (
            "The tenant side is not part of this scan: the expected records come from Graph "
            "(domains/{id}/serviceConfigurationRecords)."
        )
        return [Verdict("skipped", domain, reason)]
    if not raw_records:
        return [Verdict("skipped", domain, "Microsoft 365 lists no service DNS records for this domain.")]
    expectations = expected_records(raw_records, domain)
    records = [e for e in expectations if isinstance(e, ExpectedRecord)]
    answers = dict(zip(records, await asyncio.gather(*(ctx.dns.query(r.owner, r.rdtype) for r in records))))
    verdicts: list[Verdict] = []
    for expectation in expectations:
        if isinstance(expectation, GraphRecordError):
            message = f"Graph returned a service record the check cannot read: {expectation}."
            verdicts.append(Verdict("errored", domain, message))
            continue
        resource = expectation.resource
        if any(v.resource == resource for v in verdicts):
            resource = f"{resource} {expectation.zone_line()}"
        verdicts.append(judge_service_record(ctx, expectation, answers[expectation], resource))
    return verdicts


def judge_service_record(ctx: CheckContext, record: ExpectedRecord, answer: DnsAnswer, resource: str) -> Verdict:
    service = f" for {record.service}" if record.service else ""
    need = "optional" if record.optional else "required"
    details: dict[str, Any] = dict(expected=record.zone_line(), observed=answer.describe(), evidence=[answer.evidence])
    relevant = record.relevant(answer)
    miss = "warned" if record.optional else "failed"
    if any(record.matches(value) for value in relevant):
        return Verdict("passed", resource, f"{record.owner} has the {record.rdtype} record Microsoft 365 expects{service}.", details)
    if answer.status.unanswered:
        return Verdict("errored", resource, f"Could not check the {record.rdtype} record: {resolver_failure(ctx, answer)}.", details)
    if record.rdtype == "MX":  # the same mail host with another preference
        same_host = next((v for v in relevant if v.exchange == record.value.exchange), None)
        if same_host is not None:
            return mx_preference_verdict(record, same_host, relevant, resource, service, details)
    if not relevant:
        details["remediation"] = f"At your DNS host, publish: {record.zone_line()}"
        return Verdict(miss, resource, f"The {need} {record.rdtype} record{service} is not published at {record.owner}.", details)
    details["remediation"] = (
        f"At your DNS host, replace the {record.rdtype} record at {record.owner} with: {record.zone_line()}"
    )
    message = (
        f"{record.owner} publishes a different {record.rdtype} record than the {need} one Microsoft 365 expects{service}."
    )
    return Verdict(miss, resource, message, details)


def mx_preference_verdict(
    record: ExpectedRecord,
    published: MxValue,
    relevant: list[MxValue],
    resource: str,
    service: str,
    details: dict[str, Any],
) -> Verdict:
    """Microsoft's mail host is published with another preference than Graph lists. Only the order
    matters: it is right while no other MX has a lower preference (is tried first)."""
    note = (
        f"Note: {published.exchange} has preference {published.preference}, "
        f"where Microsoft 365 lists {record.value.preference}."
    )
    first = [v.exchange for v in relevant if v.preference < published.preference]
    if not first:
        lowest = f"{published.exchange}, the MX with the lowest preference"
        return Verdict("passed", resource, f"{record.owner} sends its mail{service} to {lowest}. {note}", details)
    details["remediation"] = (
        f"At your DNS host, give {published.exchange} the lowest preference at {record.owner}, or remove the MX "
        f"records that precede it ({', '.join(first)}); Microsoft 365 lists: {record.zone_line()}"
    )
    message = (
        f"{record.owner} lists {published.exchange}{service}, but mail goes first to {', '.join(first)} "
        f"(lower preference). {note}"
    )
    return Verdict("warned", resource, message, details)


@check(
    id="DNS-003",
    title="Service DNS records from Microsoft 365 published as expected",
    area="dns",
    severity="medium",
    responsibilities=["assess.remediation-checklist", "enable.network", "enable.services"],
    topic="network",
    why="""
        Microsoft 365 lists, per domain, the DNS records its services need (MX, SPF, autodiscover,
        SRV, the Intune CNAMEs). A missing or different record breaks mail flow, Outlook set-up,
        Teams sign-in or device enrollment for that domain.
        """,
    fix="""
        Publish each record exactly as the Microsoft 365 admin center shows it (Settings > Domains >
        the domain > DNS records); where a record already exists with another value, change it.
        """,
    application=["Domain.Read.All"],
    delegated=["Domain.Read.All"],
    # Its observations are DNS answers; the expected values come from the inventory, which
    # answers None when the tenant side is off (reported per domain as skip).
    side="network",
)
async def service_records(ctx: CheckContext) -> None:
    domains = await scan_domains(ctx)
    if not domains:
        skip_no_domains(ctx)
        return
    for verdicts in await asyncio.gather(*(assess_service_records(ctx, d) for d in domains)):
        for verdict in verdicts:
            verdict.report(ctx)


# --- DNS-004: SPF --------------------------------------------------------------------------------


def serves_exchange_online(mx: DnsAnswer) -> bool:
    suffixes = tuple("." + s for s in SPF["exchange_online_mx_suffixes"])
    return mx.ok and any(value.exchange.endswith(suffixes) for value in mx.values)


def spf_expected(domain: str, needs_include: bool) -> str:
    limit = SPF["max_dns_lookups"]
    if needs_include:
        return f'one SPF record including {SPF["include"]}, e.g. {domain}. {SPF["ttl"]} IN TXT "{SPF["record"]}"; at most {limit} DNS lookups'
    return f"one valid SPF record with at most {limit} DNS lookups"


async def assess_spf(ctx: CheckContext, domain: str) -> list[Verdict]:
    """The record against RFC 7208 (resource: the domain), then the policy concerns, each its own
    finding: a record that lets every sender pass, and Exchange Online's include."""
    txt, mx = await asyncio.gather(ctx.dns.query(domain, "TXT"), ctx.dns.query(domain, "MX"))
    evidence = [txt.evidence, mx.evidence]
    needs_include = serves_exchange_online(mx)
    expected = spf_expected(domain, needs_include)
    if txt.status.unanswered:
        failure = f"Could not read the SPF record: {resolver_failure(ctx, txt)}."
        return [Verdict("errored", domain, failure, dict(expected=expected, evidence=evidence))]
    shown_records = [v for v in txt.values if is_spf(raw(v))] if txt.ok else []
    if not shown_records:
        return [missing_spf_verdict(ctx, domain, mx, needs_include, expected, evidence)]
    if len(shown_records) > 1:
        return [Verdict(
            "failed",
            domain,
            f"{domain} publishes {len(shown_records)} SPF records; receivers treat that as a permanent error "
            "(RFC 7208 §4.5) and SPF fails for all mail from the domain.",
            dict(
                expected=expected,
                observed=quoted(shown_records),
                remediation=f"Merge them into one TXT record at {domain} and delete the others.",
                evidence=evidence,
            ),
        )]
    walk = await walk_spf(ctx, domain, raw(shown_records[0]))
    details = dict(
        expected=expected,
        observed=f'"{shown_records[0]}" ({lookups(walk.lookups)} counted)',
        evidence=[*evidence, *walk.evidence],
    )
    if walk.problems:
        message = (f"The SPF record of {domain} has a permanent error, so receivers ignore its policy: "
                   + "; ".join(map(str, walk.problems)) + ".")
        return [Verdict("failed", domain, message, details)]
    if walk.unanswered:
        failures = ", ".join(resolver_failure(ctx, answer) for answer in walk.unanswered)
        return [Verdict("errored", domain, f"Could not evaluate the SPF record of {domain}: {failures}.", details)]
    voids = f", {walk.voids} of them finding nothing" if walk.voids else ""
    unread = f"; not looked up, as they depend on the sender: {', '.join(walk.unfollowed)}" if walk.unfollowed else ""
    verdicts = [Verdict("passed", domain, f"One valid SPF record with {lookups(walk.lookups)}{voids}{unread}.", details)]
    if walk.passes_everyone:
        verdicts.append(pass_all_verdict(domain, walk, details))
    include = include_verdict(ctx, domain, walk, mx, needs_include, details)
    return verdicts + ([include] if include else [])


def pass_all_verdict(domain: str, walk: SpfWalk, details: dict[str, Any]) -> Verdict:
    return Verdict(
        "warned",
        f"{domain} +all",
        f"The SPF record of {domain} lets every sender pass ({walk.passes_everyone}). RFC 7208 allows it, "
        f"but then anyone can send mail as {domain} and pass SPF.",
        dict(details, expected=f"a record that ends in -all or ~all and names {domain}'s senders",
             remediation=f"End the SPF record of {domain} with -all (or ~all while testing) instead of "
                         "+all, and list every service that sends its mail."),
    )


def include_verdict(
    ctx: CheckContext, domain: str, walk: SpfWalk, mx: DnsAnswer, needs_include: bool, details: dict[str, Any]
) -> Verdict | None:
    """Exchange Online's include, where the domain's mail goes through Exchange Online."""
    resource = f"{domain} include:{SPF['include']}"
    reached = SPF["include"] in walk.reached
    if reached and needs_include:
        return Verdict("passed", resource, f"The SPF record of {domain} includes {SPF['include']}.", details)
    if reached:
        return None
    if mx.status.unanswered:
        failure = f"Could not tell whether Exchange Online receives mail: {resolver_failure(ctx, mx)}."
        return Verdict("errored", resource, failure, details)
    if not needs_include:
        return None
    if walk.unfollowed:
        return Verdict(
            "errored", resource,
            f"Could not tell whether the SPF record of {domain} includes {SPF['include']}: "
            f"{', '.join(walk.unfollowed)} depend on the sender and were not looked up.", details)
    hosts = ", ".join(value.exchange for value in mx.values)
    return Verdict(
        "failed", resource,
        f"Mail for {domain} goes to Exchange Online ({hosts}) but its SPF record does not include "
        f"{SPF['include']}, so mail sent through Exchange Online fails SPF.",
        dict(details, remediation=f'Add include:{SPF["include"]} before the "all" of the SPF record of {domain}, '
                                  f'e.g. "{SPF["record"]}".'),
    )


def missing_spf_verdict(
    ctx: CheckContext, domain: str, mx: DnsAnswer, needs_include: bool, expected: str, evidence: list[Evidence]
) -> Verdict:
    if needs_include:
        return Verdict(
            "failed",
            domain,
            f"Exchange Online receives mail for {domain} but the domain publishes no SPF record, so "
            "receivers cannot tell its mail from forgeries.",
            dict(
                expected=expected,
                observed="no SPF record",
                remediation=f'Publish {domain}. {SPF["ttl"]} IN TXT "{SPF["record"]}".',
                evidence=evidence,
            ),
        )
    if mx.status.unanswered:
        failure = f"No SPF record, and {resolver_failure(ctx, mx)}."
        return Verdict("errored", domain, failure, dict(expected=expected, evidence=evidence))
    return Verdict(
        "skipped",
        domain,
        f"{domain} publishes no SPF record and Exchange Online does not receive its mail: nothing to check.",
        dict(observed="no SPF record", evidence=evidence),
    )


def lookups(count: int) -> str:
    return f"{count} DNS lookup" + ("" if count == 1 else "s")


@check(
    id="DNS-004",
    title="SPF record valid and includes Exchange Online Protection",
    area="dns",
    severity="medium",
    responsibilities=["assess.remediation-checklist", "enable.network"],
    topic="network-security",
    why="""
        Receivers check a domain's SPF record before they accept its mail. Two SPF records, a syntax
        error, more than 10 DNS-querying terms or more than two lookups that find nothing are a
        permanent error (RFC 7208): receivers then ignore the record, so forged mail is not rejected.
        A record that passes every sender (+all) lets anyone send as the domain; without
        include:spf.protection.outlook.com, mail sent through Exchange Online fails SPF.
        """,
    fix="""
        Keep exactly one TXT record starting with v=spf1 per domain, e.g.
        v=spf1 include:spf.protection.outlook.com -all, merging other senders into it; correct the
        term the finding names (it gives the RFC 7208 section); stay within 10 DNS-querying terms
        (include, a, mx, ptr, exists, redirect) counted through every include, and end with -all or ~all.
        """,
)
async def spf_record(ctx: CheckContext) -> None:
    domains = await scan_domains(ctx)
    if not domains:
        skip_no_domains(ctx)
        return
    for verdicts in await asyncio.gather(*(assess_spf(ctx, d) for d in domains)):
        for verdict in verdicts:
            verdict.report(ctx)


# --- DNS-005: every resolver gives the same answers ---------------------------------------------


@dataclass(frozen=True)
class Question:
    name: str
    rdtype: str
    strict: bool  # a difference breaks enrollment (fail) rather than possibly intended (warn)

    @property
    def resource(self) -> str:
        return f"{self.name} {self.rdtype}"


async def split_horizon_questions(ctx: CheckContext) -> list[Question]:
    questions: list[Question] = []
    for domain in await scan_domains(ctx):
        questions += [
            Question(ENROLLMENT.owner(domain), "CNAME", strict=True),
            Question(REGISTRATION.owner(domain), "CNAME", strict=True),
            Question(domain, "MX", strict=False),
            Question(domain, "TXT", strict=False),
        ]
    for name in await customer_tls_hosts(ctx):
        questions.append(Question(name, "A", strict=False))
    return list(dict.fromkeys(questions))


async def customer_tls_hosts(ctx: CheckContext) -> list[str]:
    """The customer's own TLS hosts (profile and federation sign-in hosts), by name.

    Microsoft's endpoints are not among them: their answers differ between resolvers by design (CDNs).
    """
    names = map(host_name, await ctx.inventory.tls_hosts())
    return [name for name in dict.fromkeys(names) if not is_ip_literal(name)]


def host_name(item: Any) -> str:
    """'sts.contoso.com:443', '[::1]:443', or an object with `.host` -> the bare host name."""
    text = str(getattr(item, "host", item)).strip()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        text = text.rsplit(":", 1)[0]
    return host(text)


def answer_key(answer: DnsAnswer) -> tuple:
    """What must agree between resolvers: the outcome and the records, in any order."""
    return (answer.status.value, tuple(sorted(record.lower() for record in answer.records)))


def judge_agreement(ctx: CheckContext, question: Question, answers: list[DnsAnswer]) -> None:
    observed = "; ".join(f"{a.resolver}: {a.describe() or 'empty'}" for a in answers)
    names = ", ".join(a.resolver for a in answers)
    report = dict(expected=f"the same answer from every resolver ({names})", observed=observed,
                  evidence=[a.evidence for a in answers])
    unanswered = [a for a in answers if a.status.unanswered]
    if unanswered:
        failures = "; ".join(resolver_failure(ctx, a) for a in unanswered)
        ctx.errored(question.resource, f"Could not compare the resolvers' answers: {failures}.", **report)
        return
    if len({answer_key(a) for a in answers}) == 1:
        ctx.passed(question.resource, f"Every resolver gives the same answer for {question.resource}.", **report)
        return
    message = (
        f"The resolvers disagree about {question.resource}: devices that use one of them see a "
        f"different answer than devices that use another."
    )
    if question.strict:
        ctx.failed(
            question.resource,
            message + " Enrollment and registration then work on one network and not on the other.",
            remediation=f"Publish the same {question.rdtype} record in every DNS view (internal and public) "
            f"that serves {question.name}.",
            **report,
        )
    else:
        ctx.warned(
            question.resource,
            message + " Confirm that the difference is intended (split-horizon DNS).",
            remediation=f"If it is not intended, publish the same {question.rdtype} record for {question.name} "
            "in every DNS view.",
            **report,
        )


@check(
    id="DNS-005",
    title="Resolvers agree (split-horizon DNS)",
    area="dns",
    severity="medium",
    responsibilities=["assess.remediation-checklist", "enable.network", "general.network-testing"],
    topic="network",
    why="""
        With split-horizon DNS, devices on the internal network ask a different DNS server than
        devices outside. A record published in one view and missing or different in the other makes
        enrollment, registration or sign-in work in one place and fail in the other.
        """,
    fix="""
        Publish the enrollment and registration CNAMEs (and the mail records, where intended) in
        every DNS view that serves the domain, with the same values.
        """,
)
async def resolver_agreement(ctx: CheckContext) -> None:
    resolvers = ctx.dns.resolver_names
    if len(resolvers) < 2:
        ctx.skipped(
            "resolvers",
            f"Only one resolver is configured ({ctx.dns.resolver_label(resolvers[0])}); give a second one "
            "(e.g. --resolver public=1.1.1.1 --resolver internal=10.0.0.10) to compare their answers.",
        )
        return
    questions = await split_horizon_questions(ctx)
    if not questions:
        skip_no_domains(ctx)
        return
    answers = await asyncio.gather(
        *(asyncio.gather(*(ctx.dns.query(q.name, q.rdtype, r) for r in resolvers)) for q in questions)
    )
    for question, per_resolver in zip(questions, answers):
        judge_agreement(ctx, question, list(per_resolver))
