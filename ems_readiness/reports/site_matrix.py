"""The site matrix of a document that speaks for several sites: what each site's network sees.

Pure data for the renderers (HTML, summary.md):
- endpoints (NET-001) and on-premises targets (NET-002), one row each, a cell per site;
- for each required endpoint, the sites that block it (their owner must act);
- per site, the names its resolvers disagree on (DNS-005: split horizon differs per site);
- per site, the network quality figures (NET-004);
- how to name some of the sites in a line (`site_list`): every site, every site but a few, or by name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from ems_readiness.engine.model import Finding, Results, Status
from ems_readiness.engine.sites import side_of

ENDPOINTS = "NET-001"
TARGETS = "NET-002"
QUALITY = "NET-004"
RESOLVERS = "DNS-005"
SITES_NAMED = 100  # names in one list of sites; the rest are counted (findings.csv names every one)
SITES_ALWAYS_NAMED = 8  # this many sites are named even when they are every site of the document


@dataclass
class SiteList:
    """Some of a document's sites, the short way: all of them, all but a few, or by name."""

    sites: list[str]
    total: int  # sites in the document
    every: bool = False  # every site of the document: say so rather than name them
    all_but: list[str] = field(default_factory=list)  # named instead: the sites not in the list
    named: list[str] = field(default_factory=list)  # named: the sites in the list (up to SITES_NAMED)

    @property
    def unnamed(self) -> int:
        """Sites in the list neither named nor said: only when more than SITES_NAMED would be."""
        if self.every or self.all_but:
            return 0
        return len(self.sites) - len(self.named)


def site_list(sites: list[str], all_sites: list[str]) -> SiteList:
    chosen = set(sites)
    if len(sites) <= SITES_ALWAYS_NAMED:
        return SiteList(sites, len(all_sites), named=list(sites))
    others = [s for s in all_sites if s not in chosen]
    if not others:
        return SiteList(sites, len(all_sites), every=True)
    if len(others) < len(sites) and len(others) <= SITES_NAMED:
        return SiteList(sites, len(all_sites), all_but=others)
    return SiteList(sites, len(all_sites), named=sites[:SITES_NAMED])


@dataclass
class Row:
    check_id: str
    resource: str
    cells: dict[str, Finding] = field(default_factory=dict)  # site -> finding

    def status(self, site: str) -> str:
        finding = self.cells.get(site)
        return finding.status.value if finding is not None else "none"

    @cached_property  # asked for by every renderer; the cells are complete once the matrix is built
    def blocking_sites(self) -> list[str]:
        """The sites where it fails (a required endpoint: an optional one only warns)."""
        return [site for site, f in self.cells.items() if f.status is Status.FAIL]

    @property
    def differs(self) -> bool:
        return len({f.status for f in self.cells.values()}) > 1


@dataclass
class SiteMatrix:
    sites: list[str]
    endpoints: list[Row]
    targets: list[Row]
    quality: list[Row]
    resolver_disagreements: dict[str, list[Finding]]
    counts: dict[str, dict[str, int]]  # site -> status -> network findings

    @property
    def blocked_endpoints(self) -> list[Row]:
        """Required endpoints some site blocks (a fail there; optional endpoints only warn), those
        blocked at the most sites first: blocked everywhere is a central proxy or firewall's doing."""
        return sorted((row for row in self.endpoints if row.blocking_sites), key=lambda row: -len(row.blocking_sites))


def site_matrix(results: Results) -> SiteMatrix | None:
    """The matrix, or None when the document speaks for fewer than two sites."""
    sites = [s.site for s in results.sites]
    if len(sites) < 2:
        return None
    checks = {c.id: c for c in results.checks}
    tally: Counter[tuple[str | None, Status]] = Counter()
    for check in results.checks:
        if side_of(check) == "network":
            tally.update((finding.site, finding.status) for finding in check.findings)
    counts = {site: {s.value: tally[site, s] for s in Status} for site in sites}
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
        counts=counts,
    )


def rows(check) -> list[Row]:
    if check is None:
        return []
    by_resource: dict[str, Row] = {}
    for finding in check.findings:
        if finding.site is None:
            continue
        row = by_resource.get(finding.resource)
        if row is None:
            row = by_resource[finding.resource] = Row(check.id, finding.resource)
        row.cells[finding.site] = finding
    return list(by_resource.values())
