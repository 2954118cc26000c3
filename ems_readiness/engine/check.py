"""What a check is: declared metadata plus one async function over the probes.

    @check(
        id="DNS-001", title="...", area="dns", severity="high",
        responsibilities=["assess.remediation-checklist", "enable.network"], topic="network",
        why="...", fix="...",
    )
    async def enrollment_cname(ctx: CheckContext) -> None:
        for domain in await ctx.inventory.domains():
            answer = await ctx.dns.cname_chain(f"enterpriseenrollment.{domain}")
            ctx.passed(domain, "...", expected=..., observed=..., evidence=[answer.evidence])

A check never opens a socket: it asks the probes on `ctx` and reports findings through the
`ctx.passed/failed/warned/errored/skipped` helpers. Anything it raises becomes status `error`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable

from ems_readiness.engine.model import (
    ActionRef, Evidence, Finding, GraphPermissions, Severity, Status, Text, TextList,
)
from ems_readiness.engine.secrets import scrub
from ems_readiness.engine.texts import CHECK_FIX, JOINED, map_params, msg, render

if TYPE_CHECKING:
    from ems_readiness.engine.context import CheckContext

NETWORK_AREAS = {"dns", "tls", "network"}

CheckFunction = Callable[["CheckContext"], Awaitable[None]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    area: str
    severity: Severity
    responsibilities: tuple[str, ...]
    why: str
    fix: str
    fn: CheckFunction
    topic: str | None = None
    permissions: GraphPermissions = field(default_factory=GraphPermissions)
    delegated_only: bool = False
    side: str = "tenant"  # "tenant" (needs Graph), "network" or "directory" (on-premises AD)
    module: str = ""
    # measures time (latency): runs before the other checks, so the scan's own load is not measured
    quiet: bool = False
    owner: str | None = None  # the role that acts on its findings (data/owners.toml); None: its area's role

    @property
    def needs_graph(self) -> bool:
        return bool(self.permissions.application or self.permissions.delegated)


def check(
    *,
    id: str,
    title: str,
    area: str,
    severity: str,
    responsibilities: Iterable[str],
    why: str,
    fix: str,
    topic: str | None = None,
    application: Iterable[str] = (),
    delegated: Iterable[str] = (),
    delegated_only: bool = False,
    side: str | None = None,
    quiet: bool = False,
    owner: str | None = None,
) -> Callable[[CheckFunction], Check]:
    """Declare a check. Validation against the catalogues happens when checks are loaded."""

    def wrap(fn: CheckFunction) -> Check:
        perms = GraphPermissions(application=list(application), delegated=list(delegated))
        try:
            sev = Severity(severity)
        except ValueError:
            sev = severity  # reported by the loader with the check's id
        return Check(
            id=id,
            title=title,
            area=area,
            severity=sev,  # type: ignore[arg-type]
            responsibilities=tuple(responsibilities),
            why=prose(why),
            fix=prose(fix),
            fn=fn,
            topic=topic,
            permissions=perms,
            delegated_only=delegated_only,
            side=side or ("network" if area in NETWORK_AREAS else "tenant"),
            module=getattr(fn, "__module__", ""),
            quiet=quiet,
            owner=owner,
        )

    return wrap


def prose(text: str) -> str:
    """A docstring-style text as flowing paragraphs: line breaks inside a paragraph are spaces."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


class FindingSink:
    """Collects the findings one check reports; the helpers are the check author's vocabulary."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.findings: list[Finding] = []

    def _add(
        self,
        status: Status,
        resource: str,
        message: str | Text | TextList,
        *,
        expected: Any = None,
        observed: Any = None,
        remediation: str | Text | None = None,
        evidence: Iterable[Evidence | None] = (),
        action: ActionRef | None = None,
    ) -> Finding:
        """Sentences may be given as `Text` (engine/texts.py): the finding then keeps the English
        and the Text, so reports in other languages can render them."""
        texts: dict[str, Text] = {}
        if remediation is None and status in (Status.FAIL, Status.WARN):
            remediation = self.check.fix
            texts["remediation"] = msg(CHECK_FIX, check=self.check.id)
        fields: dict[str, str | None] = {}
        for name, value in (("message", message), ("expected", expected), ("observed", observed),
                            ("remediation", remediation)):
            if isinstance(value, TextList):
                value = msg(JOINED, items=value)
            if isinstance(value, Text):
                # data values are bounded and scrubbed like the English sentence they go into
                texts[name] = map_params(value, lambda v: bound_text(v, 2000))  # type: ignore[assignment]
                value = render(texts[name])
            fields[name] = None if value is None else bound_text(str(value), 2000)
        finding = Finding(
            check_id=self.check.id,
            resource=bound_text(str(resource), 300),
            status=status,
            message=fields["message"] or "",
            expected=fields["expected"],
            observed=fields["observed"],
            remediation=fields["remediation"],
            evidence=[e for e in evidence if e is not None],
            action=action,
            texts=texts,
        )
        self.findings.append(finding)
        return finding

    def passed(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self._add(Status.PASS, resource, message, **kw)

    def failed(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self._add(Status.FAIL, resource, message, **kw)

    def warned(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self._add(Status.WARN, resource, message, **kw)

    def errored(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self._add(Status.ERROR, resource, message, **kw)

    def skipped(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self._add(Status.SKIP, resource, message, **kw)


def bound_text(text: str, limit: int) -> str:
    """Untrusted text (tenant data, DNS answers) is bounded before it enters the results.

    Secrets are scrubbed first: cutting a message inside an echoed secret would leave a part of
    it that no later scrub recognises."""
    text = scrub(str(text).replace("\x00", ""))
    if len(text) <= limit:
        return text
    return text[: limit - 12] + " …[truncated]"


STATUS_ORDER = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP]


def rollup(statuses: Iterable[Status]) -> Status | None:
    """The status of a group: the first of fail, error, warn, pass, skip that occurs."""
    present = set(statuses)
    for status in STATUS_ORDER:
        if status in present:
            return status
    return None
