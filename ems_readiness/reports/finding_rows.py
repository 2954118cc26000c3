"""Rows of the HTML report for what several sites saw alike: a check's findings, an action's items.

A merge of 200 sites holds 200 copies of most network findings; a row for each would give a page no
one can read, nor open. Findings at different sites share a row when they say the same: status,
resource, message, expected, remediation, change and suppression (an action's items: what its
list shows of them). The observed value is a measurement (a round trip of 12 ms here, 15 ms there)
and is not compared: the row shows the first site's and counts the sites where it differs. The row
names its sites (see `site_matrix.site_list`). Evidence is not compared either: a merged document
carries none (each site's own results.json does). A single site's document keeps one row per
finding, as do findings without a site (the tenant and directory sides).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ems_readiness.engine.model import Finding

STATUS_ORDER = ("fail", "error", "warn", "skip", "pass")  # rows within a check, worst first


class _AtSite(Protocol):
    site: str | None


T = TypeVar("T", bound=_AtSite)


@dataclass
class SharedRow(Generic[T]):
    lead: T  # the first of its members in the document: what the row shows
    members: list[T] = field(default_factory=list)

    @property
    def sites(self) -> list[str]:
        return list(dict.fromkeys(m.site for m in self.members if m.site))

    def differing(self, value: Callable[[T], object]) -> int:
        """Members for which `value` is not the lead's."""
        shown = value(self.lead)
        return sum(1 for m in self.members if value(m) != shown)


def shared_rows(items: Iterable[T], same: Callable[[T], Hashable] | None) -> list[SharedRow[T]]:
    """`items` as rows, in order; with `same`, items with a site for which it gives equal keys share one."""
    rows: list[SharedRow[T]] = []
    by_key: dict[Hashable, SharedRow[T]] = {}
    for item in items:
        if same is not None and item.site:
            key = same(item)
            row = by_key.get(key)
            if row is None:
                row = by_key[key] = SharedRow(item)
                rows.append(row)
        else:
            row = SharedRow(item)
            rows.append(row)
        row.members.append(item)
    return rows


def same_finding(finding: Finding) -> tuple:
    suppression = finding.suppressed
    return (finding.status, finding.resource, finding.message, finding.expected, finding.remediation,
            finding.change,
            None if suppression is None else (suppression.reason, suppression.expires, suppression.expired))


def finding_rows(findings: list[Finding], across_sites: bool) -> list[SharedRow[Finding]]:
    """A check's `findings` as rows, worst status first and otherwise in document order; with
    `across_sites`, findings of different sites that read the same share a row."""
    rank = {status: index for index, status in enumerate(STATUS_ORDER)}
    rows = shared_rows(findings, same_finding if across_sites else None)
    rows.sort(key=lambda r: rank[r.lead.status.value])
    return rows
