"""The results document (`results.json`): pydantic models and their JSON Schema.

One document holds everything a renderer needs; renderers never re-run probes.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator

SCHEMA_ID = "ems-readiness/results/v2"
# v1 (before sites): read and upgraded on load, see upgrade_v1
SCHEMA_V1 = "ems-readiness/results/v1"
READABLE_SCHEMAS = (SCHEMA_ID, SCHEMA_V1)
UNKNOWN_EGRESS = "unknown"
MERGED = "merged"  # the mode of a document `ems-readiness merge` wrote
SHARED_TEXTS = "shared_texts"  # validation context key: a SharedTexts that findings' sentences join


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"
    SKIP = "skip"


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ["info", "low", "medium", "high", "critical"].index(self.value)


class Change(str, Enum):
    """How a finding compares with the same (check id, resource) in a baseline run."""

    FIXED = "fixed"
    REGRESSED = "regressed"
    NEW = "new"
    STILL_FAILING = "still-failing"
    UNCHANGED = "unchanged"
    GONE = "gone"


def _plausible(moment: datetime) -> datetime:
    # a results file read back is input: keep its times where date arithmetic and every
    # renderer's time-zone conversion stay defined
    if not 2000 <= moment.year <= 9000:
        raise ValueError(f"time {moment.isoformat()} is not plausible for a scan")
    return moment


# An instant with its UTC offset; a naive time would compare with nothing
Timestamp = Annotated[AwareDatetime, AfterValidator(_plausible)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False, validate_assignment=True)


class Evidence(_Model):
    """One raw observation a probe made (a DNS answer, a TLS chain, a TCP connect, a Graph read)."""

    probe: Literal["graph", "dns", "tls", "tcp", "proxy", "directory"]
    target: str = Field(description="what was asked: a Graph path, 'name TYPE @resolver', host:port")
    outcome: str = Field(description="probe-level outcome: ok, nxdomain, timeout, refused, http-403, …")
    elapsed_ms: float | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="raw values, bounded in size")


class ActionRef(_Model):
    """The remediation a finding calls for. Findings that name the same (key, params) are one action
    in the plan: "publish CNAME X -> Y", "renew the certificate of host H", "resolver R does not answer"."""

    key: str = Field(description="stable action key, e.g. 'dns.publish-cname'")
    params: dict[str, str] = Field(default_factory=dict, description="what makes two actions the same action")


class Text(_Model):
    """A sentence the tool writes, as a message id and its parameters, so that every report language
    can render it (`engine/texts.py`, `data/messages.<lang>.toml`). A str parameter is a data value
    (a host name, a record, a count) inserted as it is; a Text or TextList parameter is translated."""

    id: str
    params: dict[str, "TextParam"] = Field(default_factory=dict)


class TextList(_Model):
    """Several texts or values joined by the separator message `join` (e.g. 'list.semicolon')."""

    join: str
    items: list["TextParam"] = Field(default_factory=list)


TextParam = str | Text | TextList

Text.model_rebuild()
TextList.model_rebuild()


class Finding(_Model):
    check_id: str
    resource: str = Field(description="what the finding is about: a domain, host:port, record or object")
    status: Status
    message: str
    expected: str | None = None
    observed: str | None = None
    remediation: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    action: ActionRef | None = Field(default=None, description="the remediation this finding calls for")
    site: str | None = Field(default=None, description="the site whose vantage observed it (network findings)")
    texts: dict[Literal["message", "expected", "observed", "remediation"], Text] = Field(
        default_factory=dict,
        description="the message, expected, observed and remediation sentences as message ids and parameters, "
                    "for the reports in other languages (the fields above hold the English)")
    change: Change | None = Field(default=None, description="set when compared with a baseline")
    suppressed: Suppression | None = None

    @field_validator("texts")
    @classmethod
    def _shared_texts(cls, texts: dict, info: ValidationInfo) -> dict:
        """Equal sentences as one object when the reader asks (`SHARED_TEXTS` in the validation
        context, see engine/shared_texts.py): a merge repeats most of them at every site."""
        pool = info.context.get(SHARED_TEXTS) if isinstance(info.context, dict) else None
        return pool.shared(texts) if pool is not None else texts


class Suppression(_Model):
    reason: str
    owner: str | None = None
    expires: str | None = None
    expired: bool = False


class GraphPermissions(_Model):
    application: list[str] = Field(default_factory=list)
    delegated: list[str] = Field(default_factory=list)


class CheckResult(_Model):
    id: str
    title: str
    area: str
    severity: Severity
    responsibilities: list[str]
    topic: str | None = Field(default=None, description="assess.remediation-checklist topic")
    owner: str | None = Field(default=None, description="the role that acts on its findings (data/owners.toml)")
    side: Literal["tenant", "network", "directory"] | None = Field(
        default=None, description="what the check reads: the tenant (once), the network (per site), the directory")
    permissions: GraphPermissions = Field(default_factory=GraphPermissions)
    why: str = ""
    fix: str = ""
    status: Status
    reason: str | None = Field(default=None, description="why the check could not assess (error/skip)")
    reason_text: Text | None = Field(
        default=None, description="the reason as a message id and parameters, for the reports in other languages "
                                  "(`reason` holds the English)")
    duration_ms: float = 0.0
    findings: list[Finding] = Field(default_factory=list)


class ResponsibilityResult(_Model):
    key: str
    phase: str
    text: dict[str, str] = Field(description="the item's text by language: en, zh-CN")
    status: Literal["pass", "fail", "warn", "error", "skip", "manual", "satisfied"]
    checks: list[str] = Field(default_factory=list)
    topics: dict[str, list[str]] = Field(default_factory=dict, description="remediation-checklist topic -> check ids")


class Vantage(_Model):
    site: str = Field(default="", description="the site this scan speaks for (--site, [vantage] site; default: host)")
    host: str
    egress: str = Field(default=UNKNOWN_EGRESS,
                        description="the egress address a Microsoft service saw (the token's ipaddr claim), or 'unknown'")
    resolvers: dict[str, str] = Field(default_factory=dict)
    proxy: str | None = None
    directory: str | None = Field(default=None, description="the directory source read: LDAP server or export file")
    directory_insecure: bool = Field(default=False,
                                     description="the directory server's TLS certificate was not verified (opt-in)")


class SiteScan(_Model):
    """One scan a document speaks for: its site, vantage and which sides it ran."""

    site: str
    scan_id: str
    started: Timestamp
    finished: Timestamp
    vantage: Vantage
    tenant_side: bool = Field(description="the scan read the tenant (it was asked to and it was read)")
    network_side: bool
    directory_side: bool = False
    settings: dict[str, Any] = Field(default_factory=dict)


class TenantRead(_Model):
    """What one scan read of the tenant, kept so a merge can tell two disagreeing reads apart."""

    scan_id: str
    site: str
    finished: Timestamp
    statuses: dict[str, str] = Field(description="'check id\\tresource' -> status of every tenant-side finding")


class TenantDisagreement(_Model):
    """A tenant finding that two tenant reads of a merged document judged differently."""

    check_id: str
    resource: str
    statuses: dict[str, str] = Field(description="site -> status that site's tenant read gave ('absent': not reported)")


class Totals(_Model):
    checks: dict[str, int]
    findings: dict[str, int]


class ChangeSummary(_Model):
    baseline_scan_id: str
    baseline_started: Timestamp
    counts: dict[str, int]
    gone: list[Finding] = Field(default_factory=list, description="baseline findings absent from this run")


class RunSummary(_Model):
    """One earlier run, for the trend line: carried forward from baseline to baseline."""

    scan_id: str
    started: Timestamp
    findings: dict[str, int]


class DirectoryFix(_Model):
    """One row of directory-fixes.csv, in IdFix's layout: an on-premises value to correct before sync."""

    dn: str
    attribute: str
    error: str = Field(description="IdFix's error words: format, blank, duplicate, character, topleveldomain, …")
    value: str
    update: str | None = Field(default=None, description="the proposed value (None: no proposal)")
    action: str = Field(description="IdFix's action: EDIT, REMOVE or COMPLETE")
    rule: str = Field(description="the ems-readiness rule code, e.g. IDF-UPN-CHARACTER")


class ToolInfo(_Model):
    name: str = "ems-readiness"
    version: str


class Results(_Model):
    schema_: str = Field(default=SCHEMA_ID, alias="schema")
    tool: ToolInfo
    scan_id: str
    started: Timestamp
    finished: Timestamp
    mode: Literal["live", "demo", "replay", "merged"]
    scenario: str | None = None
    tenant_id: str | None = None
    tenant_name: str | None = None
    tenant_unread: str | None = Field(default=None, description="why the tenant side read nothing at all (exit 3)")
    vantage: Vantage = Field(description="this scan's vantage; in a merged document, the vantage of the tenant read")
    sites: list[SiteScan] = Field(default_factory=list, description="every scan this document speaks for, by site")
    tenant_reads: list[TenantRead] = Field(
        default_factory=list, description="each scan that read the tenant; more than one only in a merged document")
    tenant_disagreements: list[TenantDisagreement] = Field(
        default_factory=list, description="tenant findings the tenant reads of a merged document disagree on")
    settings: dict[str, Any] = Field(default_factory=dict, description="profile values that shaped the scan (no secrets)")
    checks: list[CheckResult]
    responsibilities: list[ResponsibilityResult]
    totals: Totals
    baseline: ChangeSummary | None = None
    history: list[RunSummary] = Field(default_factory=list, description="earlier runs, oldest first (trend)")
    suppressed_count: int = 0
    stats: dict[str, Any] = Field(default_factory=dict, description="what the scan cost: requests, retries, observations")
    observations: list[Evidence] = Field(
        default_factory=list,
        description="every observation the probes made, in order (findings carry copies of theirs)")
    directory_fixes: list[DirectoryFix] | None = Field(
        default=None, description="the on-premises values to correct (directory-fixes.csv); None: directory not assessed")
    directory_fixes_total: int | None = Field(
        default=None, description="how many fixes there are in all (directory_fixes is bounded)")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)

    def findings(self):
        for check in self.checks:
            yield from check.findings

    def dump_json(self) -> str:
        """results.json: indented for one scan, which people open; compact for a merge, which tools
        read (half the size of a document that can reach a hundred megabytes; `jq .` indents it)."""
        return self.model_dump_json(by_alias=True, indent=None if self.mode == MERGED else 2)

    def dump_json_parts(self) -> list[str]:
        """`dump_json()` in parts (`"".join(parts) == dump_json()`): a merge's findings a batch at a
        time, so that the text of a hundred megabytes is never made twice over in memory."""
        if self.mode != MERGED:
            return [self.dump_json()]
        shell = self.model_copy(update={"checks": []}).model_dump_json(by_alias=True)
        return _spliced(shell, _empty_list(Results, "checks"), [_check_parts(c) for c in self.checks]) or [
            self.dump_json()]


Finding.model_rebuild()

FINDINGS_PER_PART = 2000


def _check_parts(check: CheckResult) -> list[str]:
    shell = check.model_copy(update={"findings": []}).model_dump_json(by_alias=True)
    batches = [[_FINDINGS.dump_json(check.findings[i:i + FINDINGS_PER_PART], by_alias=True).decode()[1:-1]]
               for i in range(0, len(check.findings), FINDINGS_PER_PART)]
    return _spliced(shell, _empty_list(CheckResult, "findings"), batches) or [check.model_dump_json(by_alias=True)]


def _empty_list(model: type[BaseModel], field: str) -> str:
    """How `field`, an empty list, shows in the compact JSON of `model`, with the key that follows it."""
    names = [info.alias or name for name, info in model.model_fields.items()]
    following = names[names.index(field) + 1:]
    return f'"{field}":[]' + (f',"{following[0]}":' if following else "}")


def _spliced(shell: str, empty: str, items: list[list[str]]) -> list[str] | None:
    """`shell` (a serialised object in which `empty` shows one list, empty) with the list's items
    spliced in; None when `empty` is not found exactly once (a free-form value can hold the text)."""
    if shell.count(empty) != 1:
        return None
    before, after = shell.split(empty)
    empty_list = empty[:empty.index("[]") + 2]
    after = empty[len(empty_list):] + after
    parts = [before, empty_list[:-1]]
    for n, item in enumerate(items):
        parts.extend([","] * bool(n) + item)
    return parts + ["]", after]


_FINDINGS = TypeAdapter(list[Finding])


def results_schema() -> dict[str, Any]:
    schema = Results.model_json_schema(by_alias=True)
    schema["$id"] = SCHEMA_ID
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


class ResultsFileError(Exception):
    """A results file that cannot be used: one line naming the file."""


def load_results(path: str | Path, lean: bool = False, texts: Any = None) -> Results:
    """A results.json written by this tool (or a compatible one); anything else is ResultsFileError.
    Equal sentences of its findings are one object, shared with what `texts` (a SharedTexts) holds."""
    from ems_readiness.engine.gc_pause import paused_cycle_collection
    from ems_readiness.engine.shared_texts import SharedTexts

    with paused_cycle_collection():
        return _load_results(path, lean, {SHARED_TEXTS: texts if texts is not None else SharedTexts()})


def _load_results(path: str | Path, lean: bool, context: dict[str, Any]) -> Results:
    from ems_readiness.engine.inputs import InputFileError, read_text

    try:  # the bytes straight to the fast parser; a file it refuses is read again below, to say why
        data = Path(path).read_bytes().removeprefix(b"\xef\xbb\xbf")
    except OSError:
        data = None
    fast = _parse_fast(data, lean, context) if data is not None and not _SUSPECT_BYTES.search(data) else None
    if fast is not None:
        return fast
    try:
        text = read_text(path, "results file")
    except InputFileError as exc:
        raise ResultsFileError(str(exc)) from None
    return parse_results(text, str(path), lean=lean, context=context)


def without_network_evidence(raw: dict[str, Any]) -> None:
    """What a merge does not carry, dropped before validation: the observation log and the raw
    evidence of network findings (each site's own results.json keeps them)."""
    from ems_readiness.engine.check import NETWORK_AREAS

    raw["observations"] = []
    checks = raw.get("checks")
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, dict) and (check.get("side") == "network" or
                                        check.get("side") is None and check.get("area") in NETWORK_AREAS):
            for finding in check.get("findings") or []:
                if isinstance(finding, dict):
                    finding["evidence"] = []


# What check_plain looks for in strings, as it shows in JSON text: an escaped surrogate (a lone one
# cannot come from the UTF-8 file any other way). Non-finite numbers are refused by the parser.
_SUSPECT = re.compile(r"\\u[dD][89a-fA-F]")
_SUSPECT_BYTES = re.compile(_SUSPECT.pattern.encode())


def free_form_parts(raw: dict[str, Any], suspect: bool) -> list[Any]:
    """The parts of a (lean) results document the models take as any JSON (settings, stats,
    evidence data): only they can be nested arbitrarily deep. A text that looks suspect is checked whole."""
    if suspect:
        return [raw]
    parts: list[Any] = [raw.get("settings"), raw.get("stats")]
    for key in ("sites", "checks"):
        items = raw.get(key)
        parts.extend(items if isinstance(items, list) else [items])
    return [p for p in parts if p is not None and not (isinstance(p, dict) and "findings" in p)] + [
        f.get("evidence") for c in raw.get("checks") or [] if isinstance(c, dict)
        for f in c.get("findings") or [] if isinstance(f, dict) and f.get("evidence")]


def parse_results(text: str, name: str, lean: bool = False, context: dict[str, Any] | None = None) -> Results:
    from pydantic import ValidationError

    from ems_readiness.engine.inputs import InputFileError, parse_json

    from ems_readiness.engine.inputs import check_plain

    if not _SUSPECT.search(text):
        fast = _parse_fast(text, lean, context)
        if fast is not None:
            return fast
    try:
        raw = parse_json(text, name, check=not lean)
        if lean and isinstance(raw, dict):  # what is dropped need not be checked: the rest is
            without_network_evidence(raw)
            for part in free_form_parts(raw, suspect=bool(_SUSPECT.search(text))):
                check_plain(part, name)
    except InputFileError as exc:
        raise ResultsFileError(str(exc)) from None
    if not isinstance(raw, dict) or raw.get("schema") not in READABLE_SCHEMAS:
        raise ResultsFileError(f"{name}: not an ems-readiness results file (expected \"schema\": \"{SCHEMA_ID}\" "
                               f"or \"{SCHEMA_V1}\")")
    try:
        if raw["schema"] == SCHEMA_V1:
            return upgrade_v1(Results.model_validate({**raw, "schema": SCHEMA_ID}, context=context))
        return Results.model_validate(raw, context=context)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ResultsFileError(f"{name}: invalid results file at '{where}': {first['msg'].removeprefix('Value error, ')}") from None


def _parse_fast(text: str | bytes, lean: bool, context: dict[str, Any] | None) -> Results | None:
    """A document read by pydantic-core's JSON parser, or None when anything is amiss: the careful
    path then reads the file again and names the problem, so a bad file gets the same one line
    either way. The parser refuses lone surrogates itself and bounds the depth at 200; numbers
    (1e999 reads as infinity) and the depth (MAX_DEPTH, as the careful path counts it) are checked
    on what was read (model_walk).

    A whole document is validated straight from its text, never becoming a tree of dicts first (a
    merge of 200 sites is 57 MB of JSON). A lean one (for a merge) is parsed to dicts, stripped of
    what a merge does not carry, then validated: the evidence is most of a site's file."""
    from ems_readiness.engine.inputs import InputFileError, check_plain
    from ems_readiness.engine.model_walk import loose_values_pass

    data = text.removeprefix("\ufeff") if isinstance(text, str) else text
    try:
        if not lean:  # checked as the careful path checks the whole document
            results = Results.model_validate_json(data, context=context)
            if "schema_" not in results.model_fields_set or results.schema_ != SCHEMA_ID:
                return None
            return results if loose_values_pass(results, _finite) else None
        raw = pydantic_core.from_json(data, allow_inf_nan=False)
        if not isinstance(raw, dict) or raw.get("schema") != SCHEMA_ID:
            return None
        without_network_evidence(raw)  # then checked as the careful path checks a lean one
        for part in free_form_parts(raw, suspect=False):
            check_plain(part, "")
        for check in raw.get("checks") or []:  # the careful parser refuses 1e999 anywhere
            duration = check.get("duration_ms") if isinstance(check, dict) else None
            if isinstance(duration, float) and not math.isfinite(duration):
                return None
        return Results.model_validate(raw, context=context)
    except (ValueError, InputFileError):  # pydantic's ValidationError is a ValueError
        return None


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def upgrade_v1(results: Results) -> Results:
    """A v1 document as v2: its one scan is the site named after its host (the v2 default), and its
    network findings carry that site, so a v1 baseline compares with a v2 scan from the same machine."""
    from ems_readiness.engine.sites import stamp_site

    return stamp_site(results)
