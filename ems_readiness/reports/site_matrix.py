"""The site matrix of a document that speaks for several sites: what each site's network sees.

Pure data for the renderers (HTML, summary.md):
- endpoints (NET-001) and on-premises targets (NET-002), one row each, a cell per site;
- for each required endpoint, the sites that block it (their owner must act);
- per site, the names its resolvers disagree on (DNS-005: split horizon differs per site);
- per site, the network quality figures (NET-004);
- the actions network findings call for, with the sites whose owner must act.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ems_readiness.engine.model import ActionRef, Finding, Results, Status
from ems_readiness.engine.sites import side_of

ENDPOINTS = "NET-001"
TARGETS = "NET-002"
QUALITY = "NET-004"
RESOLVERS = "DNS-005"
BLOCKING = (Status.FAIL,)


@dataclass
class Row:
    check_id: str
    resource: str
    cells: dict[str, Finding] = field(default_factory=dict)  # site -> finding

    def status(self, site: str) -> str:
        finding = self.cells.get(site)
        return finding.status.value if finding is not None else "none"

    @property
    def blocking_sites(self) -> list[str]:
        return [site for site, f in self.cells.items() if f.status in BLOCKING]

    @property
    def differs(self) -> bool:
        return len({f.status for f in self.cells.values()}) > 1


@dataclass
class SiteAction:
    action: ActionRef
    sites: list[str]
    findings: int


@dataclass
class SiteMatrix:
    sites: list[str]
    endpoints: list[Row]
    targets: list[Row]
    quality: list[Row]
    resolver_disagreements: dict[str, list[Finding]]
    actions: list[SiteAction]
    counts: dict[str, dict[str, int]]  # site -> status -> network findings

    @property
    def blocked_endpoints(self) -> list[Row]:
        """Required endpoints some site blocks (a fail there; optional endpoints only warn)."""
        return [row for row in self.endpoints if row.blocking_sites]


def site_matrix(results: Results) -> SiteMatrix | None:
    """The matrix, or None when the document speaks for fewer than two sites."""
    sites = [s.site for s in results.sites]
    if len(sites) < 2:
        return None
    checks = {c.id: c for c in results.checks}
    counts = {site: {s.value: 0 for s in Status} for site in sites}
    actions: dict[tuple[str, tuple[tuple[str, str], ...]], SiteAction] = {}
    for check in results.checks:
        if side_of(check) != "network":
            continue
        for finding in check.findings:
            if finding.site in counts:
                counts[finding.site][finding.status.value] += 1
            if finding.action is not None and finding.site and finding.status in (Status.FAIL, Status.WARN):
                key = (finding.action.key, tuple(sorted(finding.action.params.items())))
                entry = actions.setdefault(key, SiteAction(finding.action, [], 0))
                entry.findings += 1
                if finding.site not in entry.sites:
                    entry.sites.append(finding.site)
    disagreements = {site: [] for site in sites}
    for finding in checks[RESOLVERS].findings if RESOLVERS in checks else []:
        if finding.site in disagreements and finding.status is Status.FAIL:
            disagreements[finding.site].append(finding)
    return SiteMatrix(
        sites=sites,
        endpoints=rows(checks.get(ENDPOINTS)),
        targets=rows(checks.get(TARGETS)),
        quality=rows(checks.get(QUALITY)),
        resolver_disagreements=disagreements,
        actions=sorted(actions.values(), key=lambda a: (-len(a.sites), a.action.key)),
        counts=counts,
    )


def rows(check) -> list[Row]:
    if check is None:
        return []
    by_resource: dict[str, Row] = {}
    for finding in check.findings:
        if finding.site is None:
            continue
        row = by_resource.setdefault(finding.resource, Row(check.id, finding.resource))
        row.cells[finding.site] = finding
    return list(by_resource.values())
