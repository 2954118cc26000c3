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
- Baseline comparisons, the trend, the raw observation log and the raw evidence of network
  findings are per run and are not carried: each site's own results.json keeps its evidence, and
  `--baseline` compares the merged document with an earlier one, per site.

The inputs are read one at a time (`Merger.add`): what a merge keeps is every site's network
findings without their evidence, and of the tenant and directory side only the best read so far.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Iterable

from ems_readiness import __version__
from ems_readiness.engine.check import rollup
from ems_readiness.engine.gc_pause import paused_cycle_collection
from ems_readiness.engine.model import (
    MERGED, CheckResult, Finding, Results, SiteScan, Status, TenantDisagreement, TenantRead, ToolInfo, load_results,
)
from ems_readiness.engine.rollup import responsibility_results, totals
from ems_readiness.engine.shared_texts import SharedTexts
from ems_readiness.engine.sites import describe_scan, side_of, tenant_read
from ems_readiness.engine.texts import msg, render

# a whole check that could not run at one site: the finding's resource
WHOLE_CHECK = "(whole check)"
_NAMESPACE = uuid.UUID("5d0f3c9e-8a4b-4f61-9f0e-6c2b7a1d3e55")


class MergeError(ValueError):
    """Inputs that cannot be merged (different tenants, one site in two scans): one line, exit 2."""


def merge_results(documents: Iterable[tuple[str, Results]]) -> Results:
    """Merge named documents (the name is for messages: the file it came from)."""
    merger = Merger()
    for name, doc in documents:
        merger.add(name, doc)
    return merger.result()


def merge_files(paths: Iterable[str | Path]) -> Results:
    """Merge results files, reading one at a time (ResultsFileError for a bad file)."""
    merger = Merger()
    with paused_cycle_collection():
        for path in paths:
            merger.add(str(path), load_results(path, lean=True, texts=merger.texts))
        return merger.result()


class Merger:
    def __init__(self) -> None:
        self.sites: dict[str, tuple[str, SiteScan]] = {}  # scan id -> (file, site)
        self.site_names: dict[str, tuple[str, SiteScan]] = {}
        self.tenant_groups: list[tuple[set[str], str]] = []  # tenant names known to be one tenant, a file naming them
        self.reads: dict[str, TenantRead] = {}
        # network check id -> its findings by site, the newest metadata, the longest duration
        self.network: dict[str, dict[str, list[Finding]]] = {}
        self.templates: dict[str, tuple[tuple, CheckResult]] = {}
        self.durations: dict[str, float] = {}
        self.texts = SharedTexts()  # one instance of each distinct sentence of network findings
        self.best: dict[str, tuple[tuple, Results]] = {}  # side -> (key, the document that speaks for it)

    def add(self, name: str, doc: Results) -> None:
        new_sites = self._add_sites(name, doc)
        self._add_tenant_names(name, doc)
        for read in doc.tenant_reads:
            self.reads.setdefault(read.scan_id, read)
        if doc.mode != MERGED and not doc.tenant_reads:
            read = tenant_read(doc)
            if read is not None:
                self.reads.setdefault(read.scan_id, read)
        newest = max((s.finished, s.scan_id) for s in doc.sites)
        for check in doc.checks:
            if side_of(check) != "network":
                continue
            known = self.templates.get(check.id)
            if known is None or newest > known[0]:
                self.templates[check.id] = (newest, check)
            self.durations[check.id] = max(self.durations.get(check.id, 0.0), check.duration_ms)
            by_site = self.network.setdefault(check.id, {})
            for site, findings in site_findings(doc, check).items():
                if site in new_sites:
                    by_site[site] = findings
        for side in ("tenant", "directory", "any"):
            key = side_key(doc, side)
            if side not in self.best or key > self.best[side][0]:
                self.best[side] = (key, doc)

    def _add_sites(self, name: str, doc: Results) -> set[str]:
        sites = doc.sites or [describe_scan(doc)]
        added = set()
        for site in sites:
            if site.scan_id in self.sites:
                continue
            other = self.site_names.get(site.site)
            if other is not None:
                raise MergeError(f"site {site.site!r} is in two different scans ({other[0]}: {other[1].scan_id}, "
                                 f"{name}: {site.scan_id}): keep one scan per site, or give each its own --site")
            self.sites[site.scan_id] = self.site_names[site.site] = (name, site)
            added.add(site.site)
        return added

    def _add_tenant_names(self, name: str, doc: Results) -> None:
        named = [tenant_names(site, doc) for site in doc.sites]
        if doc.mode != MERGED and doc.tenant_id:
            named.append({doc.tenant_id.lower()})
        for names in named:
            if not names:
                continue
            joined = [g for g in self.tenant_groups if g[0] & names]
            merged = set(names).union(*(g[0] for g in joined))
            self.tenant_groups = [g for g in self.tenant_groups if g not in joined] + [
                (merged, joined[0][1] if joined else name)]

    def result(self) -> Results:
        if not self.sites:
            raise MergeError("nothing to merge: give at least one results file")
        if len(self.tenant_groups) > 1:
            (first, file_a), (second, file_b) = self.tenant_groups[0], self.tenant_groups[1]
            raise MergeError(f"{file_a} (tenant {', '.join(sorted(first))}) and {file_b} (tenant "
                             f"{', '.join(sorted(second))}) are from different tenants: merge the scans of one tenant")
        sites = sorted((site for _, site in self.sites.values()), key=lambda s: s.site)
        tenant_doc, directory_doc = self.best["tenant"][1], self.best["directory"][1]
        checks = self._checks(tenant_doc, directory_doc, self.best["any"][1])
        reads = sorted(self.reads.values(), key=lambda r: (r.finished, r.scan_id))
        return Results(
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

    def _checks(self, tenant_doc: Results, directory_doc: Results, newest: Results) -> list[CheckResult]:
        out = {check_id: self._network_check(check_id) for check_id in self.templates}
        for source, side in ((tenant_doc, "tenant"), (directory_doc, "directory"), (newest, None)):
            for check in source.checks:
                if check.id not in out and (side is None or side_of(check) == side):
                    out[check.id] = check
        return [out[check_id] for check_id in sorted(out)]

    def _network_check(self, check_id: str) -> CheckResult:
        template = self.templates[check_id][1]
        by_site = self.network.get(check_id, {})
        findings = [f for site in sorted(by_site) for f in by_site[site]]
        reason = None if findings else msg("merge.no-network-site")
        return template.model_copy(update={
            "status": rollup(f.status for f in findings) or Status.SKIP,
            "reason": render(reason) if reason else None,
            "reason_text": reason,
            "duration_ms": self.durations[check_id],
            "findings": findings,
        })


def site_findings(doc: Results, check: CheckResult) -> dict[str, list[Finding]]:
    """A network check's findings by site; a single scan's check that did not run at all becomes one
    finding for its site (unless the scan did not scan the network). Evidence is not carried."""
    if doc.mode != MERGED and not check.findings:
        site = doc.sites[0] if doc.sites else describe_scan(doc)
        if not site.network_side:
            return {}
        return {site.site: [whole_check_finding(check, site.site)]}
    by_site: dict[str, list[Finding]] = {}
    default = doc.vantage.site or doc.vantage.host
    for finding in check.findings:
        if finding.evidence or finding.change is not None or finding.site is None:
            finding = finding.model_copy(update={"evidence": [], "change": None, "site": finding.site or default})
        by_site.setdefault(finding.site or default, []).append(finding)
    return by_site


def whole_check_finding(check: CheckResult, site: str) -> Finding:
    """The one finding of a check that did not run at all at `site`: its reason, in every language."""
    text = check.reason_text if check.reason else msg("merge.not-run-at-site", check=check.id)
    return Finding(check_id=check.id, resource=WHOLE_CHECK, status=check.status, site=site,
                   message=check.reason or render(text), texts={"message": text} if text else {})


def tenant_names(site: SiteScan, doc: Results) -> set[str]:
    names = {str(site.settings.get("tenant") or "").lower()} - {""}
    if site.tenant_side and doc.tenant_id:
        names.add(doc.tenant_id.lower())
    return names


def side_key(doc: Results, side: str) -> tuple[bool, bool, datetime, str]:
    """Which document speaks for a side: one that read it, the latest such scan. For the directory,
    a scan that also read the tenant comes first: the match preview (ADP-004) needs both."""
    def read(site: SiteScan) -> tuple[bool, bool]:
        if side == "tenant":
            return site.tenant_side, True
        if side == "directory":
            return site.directory_side, site.tenant_side
        return True, True

    sites = doc.sites or [describe_scan(doc)]
    return max((*read(s), s.finished, s.scan_id) for s in sites)


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
