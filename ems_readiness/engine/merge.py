"""`ems-readiness merge`: the scans of many sites as one results document.

Each site scans where it must (a laptop there, a self-hosted CI agent); the merge puts the
results together, it never schedules anything. The rules, each chosen so that merging is
associative and idempotent (merging a merge with another file equals merging all of them, and a
file merged with itself is that file):

- **Sites.** Every scan a document speaks for is in `sites`. A scan appearing twice (the same
  scan id) counts once; two different scans naming the same site are bad input: which of them
  speaks for the site cannot be told, so the user renames one (`--site`) or leaves one out.
- **Network checks** see the network from where they ran: their findings keep their site, and
  the merged check holds the findings of every site. A site where the check could not run at all
  (`error` or `skip` with no finding) gets one finding saying so, so no site's outcome is lost.
- **Tenant and directory checks** see the same tenant and forest from anywhere: they come from
  the latest scan that read that side (for the directory, one that also read the tenant first). Each tenant read is kept in `tenant_reads`; reads that
  disagree on a finding are listed in `tenant_disagreements`, never silently resolved.
- **Different tenants** are bad input: every scan names its tenant (the tenant id Graph gave,
  and the profile's `tenant.id`); scans that share no name, directly or through another scan
  of the set, are from different tenants.
- Baseline comparisons, the trend and the raw observation log are per run and are not carried:
  `--baseline` compares the merged document with an earlier one, per site.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Iterable

from ems_readiness import __version__
from ems_readiness.engine.check import rollup
from ems_readiness.engine.model import (
    CheckResult, Finding, Results, SiteScan, Status, TenantDisagreement, TenantRead, ToolInfo,
)
from ems_readiness.engine.rollup import responsibility_results, totals
from ems_readiness.engine.sites import side_of, stamp_site

MERGED = "merged"
# a whole check that could not run at one site: the finding's resource
WHOLE_CHECK = "(whole check)"
_NAMESPACE = uuid.UUID("5d0f3c9e-8a4b-4f61-9f0e-6c2b7a1d3e55")


class MergeError(ValueError):
    """Inputs that cannot be merged (different tenants, one site in two scans): one line, exit 2."""


def merge_results(documents: list[tuple[str, Results]]) -> Results:
    """Merge named documents (the name is for messages: the file it came from)."""
    if not documents:
        raise MergeError("nothing to merge: give at least one results file")
    lifted = [(name, lift(doc)) for name, doc in documents]
    sites = merged_sites(lifted)
    check_tenants(lifted)
    tenant_doc = latest(lifted, "tenant")
    directory_doc = latest(lifted, "directory")
    newest = max((doc for _, doc in lifted), key=lambda d: max((s.finished, s.scan_id) for s in d.sites))
    checks = merged_checks(lifted, tenant_doc, directory_doc, newest)
    reads = merged_tenant_reads(doc for _, doc in lifted)
    results = Results(
        tool=ToolInfo(version=__version__),
        scan_id=str(uuid.uuid5(_NAMESPACE, "\n".join(sorted(s.scan_id for s in sites)))),
        started=min(s.started for s in sites),
        finished=max(s.finished for s in sites),
        mode=MERGED,
        scenario=tenant_doc.scenario,
        tenant_id=tenant_doc.tenant_id,
        tenant_name=tenant_doc.tenant_name,
        tenant_unread=tenant_doc.tenant_unread,
        vantage=tenant_doc.vantage,
        sites=sites,
        tenant_reads=reads,
        tenant_disagreements=disagreements(reads),
        settings=dict(tenant_doc.settings),
        checks=checks,
        responsibilities=responsibility_results(checks, None),
        totals=totals(checks),
        suppressed_count=sum(1 for c in checks for f in c.findings if f.suppressed is not None),
        stats={"sites": len(sites)},
        directory_fixes=directory_doc.directory_fixes,
        directory_fixes_total=directory_doc.directory_fixes_total,
    )
    return results


def lift(doc: Results) -> Results:
    """A document in merged form: a single scan's network checks become per-site findings."""
    if doc.mode == MERGED:
        return doc
    doc = stamp_site(doc.model_copy(deep=True)) if not doc.sites else doc.model_copy(deep=True)
    site = doc.sites[0]
    for check in doc.checks:
        if side_of(check) != "network" or check.findings:
            continue
        if not site.network_side:
            continue  # the site did not scan the network: it says nothing about this check
        check.findings = [Finding(check_id=check.id, resource=WHOLE_CHECK, status=check.status, site=site.site,
                                  message=check.reason or f"{check.id} did not run at this site")]
    for finding in doc.findings():
        finding.change = None
    return doc


def merged_sites(documents: list[tuple[str, Results]]) -> list[SiteScan]:
    by_scan: dict[str, tuple[str, SiteScan]] = {}
    by_name: dict[str, tuple[str, SiteScan]] = {}
    for name, doc in documents:
        for site in doc.sites:
            if site.scan_id in by_scan:
                continue
            other = by_name.get(site.site)
            if other is not None:
                raise MergeError(f"site {site.site!r} is in two different scans ({other[0]}: {other[1].scan_id}, "
                                 f"{name}: {site.scan_id}): keep one scan per site, or give each its own --site")
            by_scan[site.scan_id] = by_name[site.site] = (name, site)
    return sorted((site for _, site in by_scan.values()), key=lambda s: s.site)


def tenant_names(site: SiteScan, doc: Results) -> set[str]:
    names = {str(site.settings.get("tenant") or "").lower()} - {""}
    if site.tenant_side and doc.tenant_id:
        names.add(doc.tenant_id.lower())
    return names


def check_tenants(documents: list[tuple[str, Results]]) -> None:
    """Every scan that names a tenant names one connected to the others (exit 2 otherwise)."""
    groups: list[tuple[set[str], str]] = []  # names known to be one tenant, and a file that names them
    for name, doc in documents:
        named = [tenant_names(site, doc) for site in doc.sites]
        if doc.mode != MERGED and doc.tenant_id:
            named.append({doc.tenant_id.lower()})
        for names in named:
            if not names:
                continue
            joined = [g for g in groups if g[0] & names]
            merged = set(names).union(*(g[0] for g in joined))
            groups = [g for g in groups if g not in joined] + [(merged, joined[0][1] if joined else name)]
    if len(groups) > 1:
        (first, file_a), (second, file_b) = groups[0], groups[1]
        raise MergeError(f"{file_a} (tenant {', '.join(sorted(first))}) and {file_b} (tenant "
                         f"{', '.join(sorted(second))}) are from different tenants: merge the scans of one tenant")


def side_key(doc: Results, side: str) -> tuple[bool, bool, datetime, str]:
    """Which document speaks for a side: one that read it, the latest such scan. For the directory,
    a scan that also read the tenant comes first: the match preview (ADP-004) needs both."""
    def read(site: SiteScan) -> tuple[bool, bool]:
        if side == "tenant":
            return site.tenant_side, True
        return site.directory_side, site.tenant_side

    return max((*read(s), s.finished, s.scan_id) for s in doc.sites)


def latest(documents: list[tuple[str, Results]], side: str) -> Results:
    return max((doc for _, doc in documents), key=lambda d: side_key(d, side))


def merged_checks(documents: list[tuple[str, Results]], tenant_doc: Results, directory_doc: Results,
                  newest: Results) -> list[CheckResult]:
    ids = sorted({c.id for _, doc in documents for c in doc.checks})
    by_doc = [{c.id: c for c in doc.checks} for _, doc in documents]
    newest_checks = {c.id: c for c in newest.checks}
    out = []
    for check_id in ids:
        template = newest_checks.get(check_id) or next(d[check_id] for d in by_doc if check_id in d)
        side = side_of(template)
        if side == "network":
            out.append(merged_network_check(template, [d[check_id] for d in by_doc if check_id in d]))
        else:
            source = tenant_doc if side == "tenant" else directory_doc
            chosen = next((c for c in source.checks if c.id == check_id), None)
            out.append(chosen if chosen is not None else template)
    return out


def merged_network_check(template: CheckResult, parts: list[CheckResult]) -> CheckResult:
    findings: list[Finding] = []
    seen_sites: set[str] = set()
    for part in parts:
        sites_here = []
        for finding in part.findings:
            site = finding.site or ""
            if site in seen_sites:
                continue  # the same scan reached us through two inputs
            if site not in sites_here:
                sites_here.append(site)
            findings.append(finding)
        seen_sites.update(sites_here)
    findings.sort(key=lambda f: f.site or "")  # stable: each site keeps its own order
    status = rollup(f.status for f in findings)
    return template.model_copy(update={
        "status": status or Status.SKIP,
        "reason": None if findings else "no site in this document scanned the network",
        "duration_ms": max(p.duration_ms for p in parts),
        "findings": findings,
    })


def merged_tenant_reads(documents: Iterable[Results]) -> list[TenantRead]:
    reads: dict[str, TenantRead] = {}
    for doc in documents:
        for read in doc.tenant_reads:
            reads.setdefault(read.scan_id, read)
    return sorted(reads.values(), key=lambda r: (r.finished, r.scan_id))


def disagreements(reads: list[TenantRead]) -> list[TenantDisagreement]:
    """Each tenant finding two reads judged differently (absent in one read counts as a difference)."""
    if len(reads) < 2:
        return []
    keys = sorted({k for r in reads for k in r.statuses})
    out = []
    for key in keys:
        seen = {r.site: r.statuses.get(key, "absent") for r in reads}
        if len(set(seen.values())) > 1:
            check_id, _, resource = key.partition("\t")
            out.append(TenantDisagreement(check_id=check_id, resource=resource, statuses=seen))
    return out
