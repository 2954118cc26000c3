"""The one pass over the on-premises directory that every directory check reads (not a check module).

`await assessment(ctx)` streams `ctx.directory.objects()` once per scan through the IdFix judge,
keeps the compact per-user facts the match preview needs and the sizes of large groups, counts the
computers, and asks the forest once. Concurrent checks share one task (single flight, keyed on the
directory source object, which lives exactly as long as its scan).

[directory] scope_ous: an object outside every listed OU is not judged and not reported (Entra
Connect will not sync it); it is counted. What could not be read is recorded, never guessed: a
stream that broke mid-way (`objects_error`), a forest the source cannot give (`forest_error`:
an export holds no forest configuration unless [directory] forest_file names one), attributes
outside a global catalog's partial attribute set (the rules needing them are `error`).
"""

from __future__ import annotations

import asyncio
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from ems_readiness.engine.model import DirectoryFix, Evidence
from ems_readiness.engine.texts import msg
from ems_readiness.judges.ad_objects import AdObject, ForestInfo
from ems_readiness.judges.match_preview import OnPremUser, on_prem_user
from ems_readiness.probes.base import ProbeError

EXPORT_FOREST_ERROR = ("an export holds no forest configuration; run against a DC, or give the forest"
                       " description ([directory] forest_file, see the README)")
# members counted per group only when the source sent `member`; above this a group is remembered
LARGE_GROUP_MEMBERS = 50_000
# the most fixes carried in results.json (and so in directory-fixes.csv); the total is always kept
MAX_DIRECTORY_FIXES = 100_000


@dataclass
class DirectoryAssessment:
    description: str
    insecure: bool
    forest: ForestInfo | None = None
    forest_error: str | None = None
    issues: list[Any] = field(default_factory=list)          # judges.idfix.DirectoryIssue
    objects_error: str | None = None                          # the object stream broke: partial
    seen: int = 0                                             # objects judged (in scope)
    out_of_scope: int = 0
    skipped: dict[str, int] = field(default_factory=dict)     # IdFix skip rule → objects
    by_kind: dict[str, int] = field(default_factory=dict)
    upn_suffixes: dict[str, int] = field(default_factory=dict)
    users: list[OnPremUser] = field(default_factory=list)
    member_counts_read: bool = False                          # some group carried `member`
    large_groups: list[tuple[str, int]] = field(default_factory=list)
    computers: int | None = None
    computers_error: str | None = None
    scope_filter_unapplied: str | None = None                 # the source did not apply [directory] scope_filter
    evidence: list[Evidence] = field(default_factory=list)

    def require_objects(self) -> None:
        """Checks over the objects cannot assess a partial read: error with the reason."""
        if self.objects_error:
            raise ProbeError(msg("adp.read-incomplete", error=self.objects_error))

    def require_forest(self) -> ForestInfo:
        if self.forest is None:
            raise ProbeError(self.forest_error or msg("adp.forest-unread"))
        return self.forest

    def fixes(self) -> tuple[list[DirectoryFix], int]:
        """The IdFix-layout rows for directory-fixes.csv, bounded; and how many there are in all."""
        rows = [DirectoryFix(dn=i.dn, attribute=i.attribute, error=i.error, value=i.value, update=i.update,
                             action=i.action, rule=i.rule) for i in self.issues[:MAX_DIRECTORY_FIXES]]
        return rows, len(self.issues)


_TASKS: "weakref.WeakKeyDictionary[Any, asyncio.Task[DirectoryAssessment]]" = weakref.WeakKeyDictionary()
_HELD: "dict[int, tuple[Any, asyncio.Task[DirectoryAssessment]]]" = {}


def directory_source(ctx: Any) -> Any | None:
    return ctx.probes.directory


async def assessment(ctx: Any) -> DirectoryAssessment:
    """The scan's directory assessment, computed on first ask; later askers await the same task."""
    source = ctx.directory
    task = _task_of(source)
    if task is None:
        task = asyncio.ensure_future(_assess(source, ctx.profile))
        try:
            _TASKS[source] = task  # the source lives as long as its scan, and the entry with it
        except TypeError:  # a source that cannot be weakly referenced: held until the runner takes the result
            _HELD[id(source)] = (source, task)
    # one check timing out must not cancel the pass the others wait for
    return await asyncio.shield(task)


def _task_of(source: Any) -> "asyncio.Task[DirectoryAssessment] | None":
    try:
        task = _TASKS.get(source)
    except TypeError:
        task = None
    if task is None and id(source) in _HELD:
        task = _HELD[id(source)][1]
    return task


def finished_assessment(source: Any) -> DirectoryAssessment | None:
    """The assessment a scan made, once done (the runner takes the fixes list from it)."""
    task = _task_of(source)
    _HELD.pop(id(source), None)
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


async def _assess(source: Any, profile: Any) -> DirectoryAssessment:
    from ems_readiness.judges.idfix import DirectoryJudge, default_tlds

    result = DirectoryAssessment(description=str(getattr(source, "description", "directory")),
                                 insecure=bool(getattr(source, "insecure", False)))
    settings = profile.directory
    scopes = [normalize_dn(ou) for ou in settings.scope_ous]
    result.forest, result.forest_error = await _forest(source, profile)
    if settings.scope_filter and getattr(source, "scope_filter", None) != settings.scope_filter:
        result.scope_filter_unapplied = settings.scope_filter  # a source that does not filter: say so
    lab = profile.routable_tlds()  # a lab's own top-level domains ([identity] routable_tlds)
    judge = DirectoryJudge(tlds=default_tlds() | {f".{tld}" for tld in lab}, routable_tlds=lab)
    try:
        async for obj in source.objects():
            if scopes and not in_scope(obj.dn, scopes):
                result.out_of_scope += 1
                continue
            skipped_before = sum(judge.skipped.values())
            result.issues.extend(judge.add(obj))
            if sum(judge.skipped.values()) == skipped_before:  # IdFix's skip rules leave system objects out
                _collect(result, obj)
    except ProbeError as exc:
        result.objects_error = str(exc)
    result.issues.extend(judge.finish())
    result.seen = judge.seen
    result.skipped = dict(judge.skipped)
    result.by_kind = dict(judge.by_kind)
    result.upn_suffixes = dict(judge.upn_suffixes)
    await _count_computers(result, source, scopes)
    result.evidence = list(getattr(source, "evidence", []) or [])
    return result


def _collect(result: DirectoryAssessment, obj: AdObject) -> None:
    kind = obj.kind
    if kind == "user":
        result.users.append(on_prem_user(obj))
    elif kind == "group" and obj.has("member"):
        result.member_counts_read = True
        members = len(obj.values("member"))
        if members > LARGE_GROUP_MEMBERS:
            result.large_groups.append((obj.dn, members))


async def _forest(source: Any, profile: Any) -> tuple[ForestInfo | None, str | None]:
    forest_file = profile.directory.forest_file
    if forest_file:
        from ems_readiness.probes.forest_file import ForestFileError, load_forest_file

        try:
            return load_forest_file(profile.path(forest_file)), None
        except ForestFileError as exc:
            return None, str(exc)
    try:
        return await source.forest(), None
    except ProbeError as exc:
        reason = str(exc)
        if "export" in getattr(source, "description", "") and "forest" in reason:
            reason = EXPORT_FOREST_ERROR
        return None, reason


async def _count_computers(result: DirectoryAssessment, source: Any, scopes: list[str]) -> None:
    computers = getattr(source, "computers", None)
    if computers is None:
        result.computers_error = "the directory source does not list computers"
        return
    if result.description.startswith("export"):
        # IdFix's ldifde filter selects people and groups, and a second parse of a large file for
        # the few a csvde export might hold would double the scan: not counted, and said so
        result.computers_error = "not counted from an export (read a domain controller to count them)"
        return
    count = 0
    try:
        async for obj in computers():
            if not scopes or in_scope(obj.dn, scopes):
                count += 1
    except ProbeError as exc:
        result.computers_error = str(exc)
        return
    result.computers = count


_SEPARATOR_SPACES = re.compile(r"\s*([,=])\s*")


def normalize_dn(dn: str) -> str:
    """Case and the spaces around separators do not distinguish DNs (OU=Sales, DC=corp = ou=sales,dc=corp)."""
    if "\\" not in dn:  # the common case, once per object: no escaped separator to honour
        return _SEPARATOR_SPACES.sub(r"\1", dn.strip().lower())
    parts = []
    for rdn in split_dn(dn):
        name, _, value = rdn.partition("=")
        parts.append(f"{name.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


def split_dn(dn: str) -> list[str]:
    """RDNs of a DN, honouring backslash escapes (CN=Smith\\, John,OU=Sales)."""
    parts, current, escaped = [], [], False
    for char in dn:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if current or parts:
        parts.append("".join(current))
    return [p for p in parts if p.strip()]


def in_scope(dn: str, scopes: list[str]) -> bool:
    normalized = normalize_dn(dn)
    return any(normalized == scope or normalized.endswith("," + scope) for scope in scopes)
