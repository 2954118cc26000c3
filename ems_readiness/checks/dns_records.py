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
from ems_readiness.engine.model import ActionRef, Evidence, Text
from ems_readiness.engine.texts import joined, msg, msg_n, render
from ems_readiness.probes.dns import (
    CnameChain, DnsAnswer, DnsStatus, MxValue, SrvValue, is_ip_literal, normalize_host,
)
from ems_readiness.checks._tenant import Unreadable, graph_unreadable, require
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
    ctx.skipped("domains", msg("dns.no-domains"))


def resolver_failure(ctx: CheckContext, answer: DnsAnswer) -> Text:
    """'resolver public (1.1.1.1:53) answered SERVFAIL for contoso.com TXT'."""
    return msg("dns.resolver-failure", resolver=ctx.dns.resolver_label(answer.resolver), what=answer.failure_text,
               name=answer.name, rdtype=answer.rdtype)


def resolver_action(ctx: CheckContext, answers: Iterable[DnsAnswer]) -> ActionRef:
    """One action for every finding a resolver left unanswered: that resolver (or those) does not answer."""
    labels = sorted({ctx.dns.resolver_label(a.resolver) for a in answers if a.status.unanswered})
    return ActionRef(key="dns.resolver-unanswered", params={"resolver": ", ".join(labels)})


def cname_action(name: str, target: str, zone: str) -> ActionRef:
    return ActionRef(key="dns.publish-cname", params={"name": name, "target": target, "zone": zone})


def quoted(texts: Iterable[str]) -> str:
    return "; ".join(f'"{text}"' for text in texts) or "none"


@dataclass(frozen=True)
class Verdict:
    """A finding decided before it is reported, so concurrent judgements report in a fixed order."""

    status: str  # the CheckContext helper: passed, failed, warned, errored, skipped
    resource: str
    message: Text
    details: dict[str, Any] = field(default_factory=dict)

    def report(self, ctx: CheckContext) -> None:
        getattr(ctx, self.status)(self.resource, self.message, **self.details)


# --- DNS-001 / DNS-002: enrollment CNAMEs --------------------------------------------------------


@dataclass(frozen=True)
class CnameExpectation:
    label: str
    ttl: int
    targets: tuple[str, ...]
    purpose: Text

    @classmethod
    def from_data(cls, key: str, purpose: Text) -> "CnameExpectation":
        raw = EXPECTED[key]
        return cls(raw["label"], raw["ttl"], tuple(host(t) for t in raw["targets"]), purpose)

    @property
    def preferred(self) -> str:
        return self.targets[0]

    def owner(self, domain: str) -> str:
        return f"{self.label}.{domain}"

    def record(self, domain: str) -> str:
        return f"{self.owner(domain)}. {self.ttl} IN CNAME {self.preferred}."


ENROLLMENT = CnameExpectation.from_data("enrollment", msg("dns.cname.purpose.enrollment"))
REGISTRATION = CnameExpectation.from_data("registration", msg("dns.cname.purpose.registration"))


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
    report: dict[str, Any] = dict(expected=expectation.record(domain), observed=chain.describe_text(),
                                  evidence=chain.evidence)
    publish = msg("dns.cname.publish", domain=domain, record=expectation.record(domain))
    wrong = dict(report, action=cname_action(owner, expectation.preferred, domain))
    purpose, target = expectation.purpose, expectation.preferred
    reached = next((target for target in chain.targets if target in expectation.targets), None)
    if reached:
        ctx.passed(owner, msg("dns.cname.leads-to", owner=owner, target=reached), **report)
    elif chain.status.unanswered:
        failure = resolver_failure(ctx, chain.answers[-1])
        ctx.errored(owner, msg("dns.cname.unanswered", owner=owner, failure=failure),
                    action=resolver_action(ctx, chain.answers), **report)
    elif chain.status is DnsStatus.NXDOMAIN:
        ctx.failed(owner, msg("dns.cname.nxdomain", owner=owner, purpose=purpose), remediation=publish, **wrong)
    elif chain.status is DnsStatus.NODATA:
        ctx.failed(
            owner,
            msg("dns.cname.not-cname", owner=owner, target=target, purpose=purpose),
            remediation=msg("dns.cname.delete-others", owner=owner, publish=publish),
            **wrong,
        )
    else:
        ctx.failed(
            owner,
            msg("dns.cname.wrong-target", owner=owner, current=chain.target, target=target, purpose=purpose),
            remediation=msg("dns.cname.change-target", publish=publish),
            **wrong,
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

    def __init__(self, text: Text | str) -> None:
        super().__init__(render(text))
        self.text = text


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
        raise GraphRecordError(exc.text) from None


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
        return [Verdict("skipped", domain, msg("dns.records.tenant-off"))]
    if not raw_records:
        return [Verdict("skipped", domain, msg("dns.records.none-listed"))]
    expectations = expected_records(raw_records, domain)
    records = [e for e in expectations if isinstance(e, ExpectedRecord)]
    answers = dict(zip(records, await asyncio.gather(*(ctx.dns.query(r.owner, r.rdtype) for r in records))))
    verdicts: list[Verdict] = []
    for expectation in expectations:
        if isinstance(expectation, GraphRecordError):
            message = msg("dns.records.unreadable", error=expectation.text)
            action = graph_unreadable("domains/{id}/serviceConfigurationRecords")
            verdicts.append(Verdict("errored", domain, message, dict(action=action)))
            continue
        resource = expectation.resource
        if any(v.resource == resource for v in verdicts):
            resource = f"{resource} {expectation.zone_line()}"
        verdicts.append(judge_service_record(ctx, expectation, answers[expectation], resource, domain))
    return verdicts


def judge_service_record(
    ctx: CheckContext, record: ExpectedRecord, answer: DnsAnswer, resource: str, domain: str
) -> Verdict:
    service: Text | str = msg("dns.records.for-service", service=record.service) if record.service else ""
    need = msg("dns.records.optional" if record.optional else "dns.records.required")
    details: dict[str, Any] = dict(expected=record.zone_line(), observed=answer.describe_text(),
                                   evidence=[answer.evidence])
    relevant = record.relevant(answer)
    miss = "warned" if record.optional else "failed"
    kind = dict(owner=record.owner, rdtype=record.rdtype, service=service)
    if any(record.matches(value) for value in relevant):
        return Verdict("passed", resource, msg("dns.records.present", **kind), details)
    if answer.status.unanswered:
        details["action"] = resolver_action(ctx, [answer])
        return Verdict("errored", resource, msg("dns.records.unanswered", rdtype=record.rdtype,
                                                   failure=resolver_failure(ctx, answer)), details)
    if record.rdtype == "MX":  # the same mail host with another preference
        same_host = next((v for v in relevant if v.exchange == record.value.exchange), None)
        if same_host is not None:
            return mx_preference_verdict(record, same_host, relevant, resource, service, details)
    details["action"] = (
        cname_action(record.owner, record.value, domain) if record.rdtype == "CNAME"
        else ActionRef(key="dns.publish-record", params={"name": record.owner, "type": record.rdtype,
                                                          "value": presentation(record.rdtype, record.value),
                                                          "zone": domain})
    )
    if not relevant:
        details["remediation"] = msg("dns.records.publish", record=record.zone_line())
        return Verdict(miss, resource, msg("dns.records.missing", need=need, **kind), details)
    details["remediation"] = msg("dns.records.replace", rdtype=record.rdtype, owner=record.owner,
                                 record=record.zone_line())
    return Verdict(miss, resource, msg("dns.records.different", need=need, **kind), details)


def mx_preference_verdict(
    record: ExpectedRecord,
    published: MxValue,
    relevant: list[MxValue],
    resource: str,
    service: Text | str,
    details: dict[str, Any],
) -> Verdict:
    """Microsoft's mail host is published with another preference than Graph lists. Only the order
    matters: it is right while no other MX has a lower preference (is tried first)."""
    note = msg("dns.mx.note", exchange=published.exchange, preference=published.preference,
               listed=record.value.preference)
    first = joined((v.exchange for v in relevant if v.preference < published.preference), "comma")
    where = dict(owner=record.owner, exchange=published.exchange, service=service)
    if not first.items:
        return Verdict("passed", resource, msg("dns.mx.lowest", note=note, **where), details)
    details["remediation"] = msg("dns.mx.reorder", exchange=published.exchange, owner=record.owner, first=first,
                                 record=record.zone_line())
    details["action"] = ActionRef(key="dns.mx-preference", params={"name": record.owner,
                                                                   "exchange": published.exchange})
    return Verdict("warned", resource, msg("dns.mx.not-first", first=first, note=note, **where), details)


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


def spf_expected(domain: str, needs_include: bool) -> Text:
    limit = SPF["max_dns_lookups"]
    if needs_include:
        return msg("spf.expected.eop", include=SPF["include"], line=spf_line(domain), limit=limit)
    return msg("spf.expected.valid", limit=limit)


def spf_line(domain: str) -> str:
    return f'{domain}. {SPF["ttl"]} IN TXT "{SPF["record"]}"'


def spf_action(key: str, domain: str) -> ActionRef:
    return ActionRef(key=key, params={"domain": domain})


def publish_spf_action(domain: str) -> ActionRef:
    """The same action as DNS-003's for Microsoft's SPF record, so both findings are one row of the plan."""
    return ActionRef(key="dns.publish-record", params={"name": domain, "type": "TXT",
                                                       "value": presentation("TXT", SPF["record"]), "zone": domain})


async def assess_spf(ctx: CheckContext, domain: str) -> list[Verdict]:
    """The record against RFC 7208 (resource: the domain), then the policy concerns, each its own
    finding: a record that lets every sender pass, and Exchange Online's include."""
    txt, mx = await asyncio.gather(ctx.dns.query(domain, "TXT"), ctx.dns.query(domain, "MX"))
    evidence = [txt.evidence, mx.evidence]
    needs_include = serves_exchange_online(mx)
    expected = spf_expected(domain, needs_include)
    if txt.status.unanswered:
        return [Verdict("errored", domain, msg("spf.unread", failure=resolver_failure(ctx, txt)),
                        dict(expected=expected, evidence=evidence, action=resolver_action(ctx, [txt])))]
    shown_records = [v for v in txt.values if is_spf(raw(v))] if txt.ok else []
    if not shown_records:
        return [missing_spf_verdict(ctx, domain, mx, needs_include, expected, evidence)]
    if len(shown_records) > 1:
        return [Verdict("failed", domain, msg("spf.several", domain=domain, n=len(shown_records)), dict(
            expected=expected, observed=quoted(shown_records), remediation=msg("spf.several.fix", domain=domain),
            evidence=evidence, action=spf_action("spf.merge-records", domain)))]
    walk = await walk_spf(ctx, domain, raw(shown_records[0]))
    details: dict[str, Any] = dict(
        expected=expected,
        observed=msg("spf.observed", record=shown_records[0], lookups=msg_n("spf.lookups", walk.lookups)),
        evidence=[*evidence, *walk.evidence],
    )
    if walk.problems:
        problems = joined(problem.text for problem in walk.problems)
        return [Verdict("failed", domain, msg("spf.permanent-error", domain=domain, problems=problems),
                        dict(details, action=spf_action("spf.fix-record", domain)))]
    if walk.unanswered:
        failures = joined((resolver_failure(ctx, answer) for answer in walk.unanswered), "comma")
        return [Verdict("errored", domain, msg("spf.unanswered", domain=domain, failures=failures),
                        dict(details, action=resolver_action(ctx, walk.unanswered)))]
    voids = msg_n("spf.voids", walk.voids) if walk.voids else ""
    unread = msg("spf.not-looked-up", terms=joined(walk.unfollowed, "comma")) if walk.unfollowed else ""
    verdicts = [Verdict("passed", domain, msg("spf.valid", lookups=msg_n("spf.lookups", walk.lookups),
                                              voids=voids, unread=unread), details)]
    if walk.passes_everyone:
        verdicts.append(Verdict("warned", f"{domain} +all", msg("spf.passes", domain=domain, how=walk.passes_everyone),
                                dict(details, expected=msg("spf.passes.expected", domain=domain),
                                     remediation=msg("spf.passes.fix", domain=domain),
                                     action=spf_action("spf.end-with-fail", domain))))
    include = include_verdict(ctx, domain, walk, mx, needs_include, details)
    return verdicts + ([include] if include else [])


def include_verdict(
    ctx: CheckContext, domain: str, walk: SpfWalk, mx: DnsAnswer, needs_include: bool, details: dict[str, Any]
) -> Verdict | None:
    """Exchange Online's include, where the domain's mail goes through Exchange Online."""
    resource = f"{domain} include:{SPF['include']}"
    names = dict(domain=domain, include=SPF["include"])
    reached = SPF["include"] in walk.reached
    if reached and needs_include:
        return Verdict("passed", resource, msg("spf.include.present", **names), details)
    if reached:
        return None
    if mx.status.unanswered:
        return Verdict("errored", resource, msg("spf.include.mx-unanswered", failure=resolver_failure(ctx, mx)),
                       dict(details, action=resolver_action(ctx, [mx])))
    if not needs_include:
        return None
    if walk.unfollowed:
        return Verdict("errored", resource, msg("spf.include.unknown", terms=joined(walk.unfollowed, "comma"), **names),
                       details)
    hosts = ", ".join(value.exchange for value in mx.values)
    return Verdict("failed", resource, msg("spf.include.missing", hosts=hosts, **names), dict(
        details, remediation=msg("spf.include.fix", record=SPF["record"], **names),
        action=spf_action("spf.include-eop", domain)))


def missing_spf_verdict(
    ctx: CheckContext, domain: str, mx: DnsAnswer, needs_include: bool, expected: Text, evidence: list[Evidence]
) -> Verdict:
    none = msg("spf.observed.none")
    if needs_include:
        return Verdict("failed", domain, msg("spf.none.eop", domain=domain), dict(
            expected=expected, observed=none, remediation=msg("spf.none.publish", line=spf_line(domain)),
            evidence=evidence, action=publish_spf_action(domain)))
    if mx.status.unanswered:
        return Verdict("errored", domain, msg("spf.none.mx-unanswered", failure=resolver_failure(ctx, mx)),
                       dict(expected=expected, evidence=evidence, action=resolver_action(ctx, [mx])))
    return Verdict("skipped", domain, msg("spf.none.nothing", domain=domain), dict(observed=none, evidence=evidence))


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
    zone: str = ""  # for the enrollment CNAMEs: the domain and the target to publish
    target: str = ""

    @property
    def resource(self) -> str:
        return f"{self.name} {self.rdtype}"


async def split_horizon_questions(ctx: CheckContext) -> list[Question]:
    questions: list[Question] = []
    for domain in await scan_domains(ctx):
        questions += [
            Question(ENROLLMENT.owner(domain), "CNAME", strict=True, zone=domain, target=ENROLLMENT.preferred),
            Question(REGISTRATION.owner(domain), "CNAME", strict=True, zone=domain, target=REGISTRATION.preferred),
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
    observed = joined((msg("dns.agree.answer", resolver=a.resolver,
                           answer=a.describe_text() or msg("dns.agree.empty")) for a in answers))
    names = ", ".join(a.resolver for a in answers)
    report: dict[str, Any] = dict(expected=msg("dns.agree.expected", resolvers=names),
                                  observed=msg("dns.agree.observed", answers=observed),
                                  evidence=[a.evidence for a in answers])
    unanswered = [a for a in answers if a.status.unanswered]
    if unanswered:
        failures = joined(resolver_failure(ctx, a) for a in unanswered)
        ctx.errored(question.resource, msg("dns.agree.unanswered", failures=failures),
                    action=resolver_action(ctx, unanswered), **report)
        return
    if len({answer_key(a) for a in answers}) == 1:
        ctx.passed(question.resource, msg("dns.agree.same", resource=question.resource), **report)
        return
    where = dict(rdtype=question.rdtype, name=question.name)
    if question.strict:
        ctx.failed(
            question.resource,
            msg("dns.agree.differ.strict", resource=question.resource),
            remediation=msg("dns.agree.publish-everywhere", **where),
            action=cname_action(question.name, question.target, question.zone) if question.target else
            ActionRef(key="dns.align-views", params={"name": question.name, "type": question.rdtype}),
            **report,
        )
    else:
        ctx.warned(
            question.resource,
            msg("dns.agree.differ.confirm", resource=question.resource),
            remediation=msg("dns.agree.if-unintended", **where),
            action=ActionRef(key="dns.align-views", params={"name": question.name, "type": question.rdtype}),
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
        ctx.skipped("resolvers", msg("dns.agree.one-resolver", resolver=ctx.dns.resolver_label(resolvers[0])))
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
