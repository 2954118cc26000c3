"""Sites: which vantage a scan speaks for, and which of a document's checks depend on it.

Network checks (DNS, TLS, reachability) see the network from where they run, so their findings
carry the site. Tenant and directory checks see the same tenant and forest from anywhere and are
read once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ems_readiness.engine.check import NETWORK_AREAS

if TYPE_CHECKING:
    from ems_readiness.engine.model import CheckResult, Results, SiteScan, TenantRead

MAX_SITE_NAME = 64


def check_site_name(name: str) -> str:
    """A site name is a short printable label (it names rows, suites and files): no control
    characters, no leading/trailing space, at most 64 characters."""
    if not name or name != name.strip():
        raise ValueError(f"site name {name!r}: give a non-empty name without leading or trailing spaces")
    if len(name) > MAX_SITE_NAME:
        raise ValueError(f"site name {name[:20]!r}…: at most {MAX_SITE_NAME} characters")
    if not name.isprintable():
        raise ValueError(f"site name {name!r}: printable characters only")
    return name


def side_of(check: "CheckResult") -> str:
    """The side a check reads; documents before v2 did not record it, so it follows from the area."""
    if check.side:
        return check.side
    if check.area in NETWORK_AREAS:
        return "network"
    return "directory" if check.area == "directory" else "tenant"


def network_check_ids(results: "Results") -> set[str]:
    return {c.id for c in results.checks if side_of(c) == "network"}


def ran_side(results: "Results", side: str) -> bool:
    """Whether the scan ran that side at all (its checks were not skipped for the side being off)."""
    if side == "tenant":
        return bool(results.settings.get("tenant_side", True)) and results.tenant_unread is None \
            and results.tenant_id is not None
    if side == "network":
        return bool(results.settings.get("network_side", True))
    return results.vantage.directory is not None


def describe_scan(results: "Results") -> "SiteScan":
    from ems_readiness.engine.model import SiteScan

    return SiteScan(site=results.vantage.site or results.vantage.host, scan_id=results.scan_id,
                    started=results.started, finished=results.finished, vantage=results.vantage,
                    tenant_side=ran_side(results, "tenant"), network_side=ran_side(results, "network"),
                    directory_side=ran_side(results, "directory"), settings=dict(results.settings))


def tenant_read(results: "Results") -> "TenantRead | None":
    """What this one scan read of the tenant (None when it did not read it)."""
    from ems_readiness.engine.model import TenantRead

    if not ran_side(results, "tenant"):
        return None
    statuses = {f"{f.check_id}\t{f.resource}": f.status.value
                for c in results.checks if side_of(c) == "tenant" for f in c.findings}
    return TenantRead(scan_id=results.scan_id, site=results.vantage.site or results.vantage.host,
                      finished=results.finished, statuses=statuses)


def stamp_site(results: "Results") -> "Results":
    """A single scan's document speaks for its site: network findings carry it, and the scan is
    listed in `sites` (and in `tenant_reads` when it read the tenant)."""
    site = results.vantage.site or results.vantage.host
    results.vantage.site = site
    for check in results.checks:
        if side_of(check) == "network":
            for finding in check.findings:
                finding.site = finding.site or site
    results.sites = [describe_scan(results)]
    read = tenant_read(results)
    results.tenant_reads = [read] if read else []
    return results


def check_at_site(check: "CheckResult", site: str) -> "CheckResult":
    """A network check as one site saw it: that site's findings and their roll-up."""
    from ems_readiness.engine.check import rollup
    from ems_readiness.engine.model import Status

    findings = [f for f in check.findings if f.site == site]
    status = rollup(f.status for f in findings) or Status.SKIP
    return check.model_copy(update={"findings": findings, "status": status,
                                    "reason": check.reason if not findings else None,
                                    "reason_text": check.reason_text if not findings else None})


def multi_site(results: "Results") -> bool:
    return len(results.sites) > 1
