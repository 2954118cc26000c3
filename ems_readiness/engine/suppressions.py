"""Suppression files (`--suppress FILE`): accepted findings, with a reason, an owner and an expiry.

    [[suppress]]
    check = "DNS-004"
    resource = "fabrikam.test"      # fnmatch pattern, case-insensitive; default "*"
    reason = "SPF merge planned with the mail migration"
    owner = "mail-team@contoso.com"
    expires = 2027-01-31            # the last day the suppression holds

Decisions:
- A suppressed finding keeps its status (the report lists it apart, with its reason) but does not
  count for `--fail-on` or `--fail-on-error`, and does not fail its JUnit test case.
- An expired rule does not suppress: the finding counts again. It is still attached to the finding
  (`Suppression.expired = True`) so reports can show whose acceptance ran out, and
  `apply_suppressions` returns a warning for it. Use `is_suppressed()`, never `finding.suppressed`
  alone, to ask whether a finding is suppressed.
- Pass findings are never suppressed (there is nothing to accept).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Iterable

from ems_readiness.engine.inputs import InputFileError, parse_toml, read_text
from ems_readiness.engine.model import CheckResult, Finding, Results, Status, Suppression

ALLOWED_KEYS = {"check", "resource", "reason", "owner", "expires"}


class SuppressionError(Exception):
    """Invalid suppression file: one line naming the file and the entry."""


@dataclass(frozen=True)
class SuppressionRule:
    check: str
    resource: str
    reason: str
    owner: str | None
    expires: date | None
    source: str  # "FILE entry N", for messages

    def matches(self, finding: Finding) -> bool:
        return finding.check_id == self.check and fnmatchcase(finding.resource.casefold(), self.resource.casefold())

    def expired_on(self, today: date) -> bool:
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        return f"{self.source} ({self.check} {self.resource})"


def load_suppressions(path: str | Path, check_ids: Iterable[str] | None = None) -> list[SuppressionRule]:
    """The rules of a suppression file; with `check_ids`, a rule naming another check is an error."""
    try:
        text = read_text(path, "suppression file")
    except InputFileError as exc:
        raise SuppressionError(str(exc)) from None
    return parse_suppressions(text, str(path), check_ids)


def parse_suppressions(text: str, path: str, check_ids: Iterable[str] | None = None) -> list[SuppressionRule]:
    try:
        raw = parse_toml(text, path)
    except InputFileError as exc:
        raise SuppressionError(str(exc)) from None
    unknown = set(raw) - {"suppress"}
    if unknown:
        raise SuppressionError(f"{path}: unknown top-level key {sorted(unknown)[0]!r} (expected [[suppress]] entries)")
    entries = raw.get("suppress", [])
    if not isinstance(entries, list):
        raise SuppressionError(f"{path}: 'suppress' must be an array of tables ([[suppress]])")
    rules = [_parse_entry(entry, f"{path} entry {number}") for number, entry in enumerate(entries, start=1)]
    if check_ids is not None:
        known = set(check_ids)
        for rule in rules:
            if rule.check not in known:
                from ems_readiness.engine.profile import did_you_mean

                hint = did_you_mean(rule.check, known)
                raise SuppressionError(f"{rule.source}: unknown check {rule.check!r}{f' ({hint})' if hint else ''}")
    return rules


def _parse_entry(entry: Any, source: str) -> SuppressionRule:
    if not isinstance(entry, dict):
        raise SuppressionError(f"{source}: must be a table ([[suppress]])")
    unknown = set(entry) - ALLOWED_KEYS
    if unknown:
        allowed = ", ".join(sorted(ALLOWED_KEYS))
        raise SuppressionError(f"{source}: unknown key {sorted(unknown)[0]!r} (allowed: {allowed})")
    return SuppressionRule(
        check=_required_text(entry, "check", source),
        resource=_optional_text(entry, "resource", source) or "*",
        reason=_required_text(entry, "reason", source),
        owner=_optional_text(entry, "owner", source),
        expires=_expiry(entry.get("expires"), source),
        source=source,
    )


def _required_text(entry: dict[str, Any], key: str, source: str) -> str:
    value = _optional_text(entry, key, source)
    if not value:
        raise SuppressionError(f"{source}: {key!r} is required and must not be empty")
    return value


def _optional_text(entry: dict[str, Any], key: str, source: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SuppressionError(f"{source}: {key!r} must be a string, not {type(value).__name__}")
    return value.strip()


def _expiry(value: Any, source: str) -> date | None:
    if value is None:
        return None
    # TOML local dates arrive as date; a quoted "2027-01-31" is accepted too. Times are not:
    # an expiry is a day.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise SuppressionError(f"{source}: 'expires' must be a date like 2027-01-31, not {value!r}")


def apply_suppressions(results: Results, rules: Iterable[SuppressionRule], today: date) -> list[str]:
    """Mark matching non-pass findings; return one warning line per expired or unused rule."""
    rules = list(rules)
    matched: set[int] = set()
    for finding in results.findings():
        if finding.status is Status.PASS:
            continue
        hits = [index for index, rule in enumerate(rules) if rule.matches(finding)]
        matched.update(hits)
        if hits:
            finding.suppressed = _suppression_for(finding, [rules[index] for index in hits], today)
    results.suppressed_count = sum(1 for finding in results.findings() if is_suppressed(finding))
    return _warnings(results, rules, matched, today)


def _suppression_for(finding: Finding, rules: list[SuppressionRule], today: date) -> Suppression:
    # A live rule wins over an expired one; among equals the first in the file wins.
    rule = next((r for r in rules if not r.expired_on(today)), rules[0])
    return Suppression(
        reason=rule.reason,
        owner=rule.owner,
        expires=rule.expires.isoformat() if rule.expires else None,
        expired=rule.expired_on(today),
    )


def _warnings(results: Results, rules: list[SuppressionRule], matched: set[int], today: date) -> list[str]:
    warnings: list[str] = []
    for index, rule in enumerate(rules):
        if rule.expired_on(today):
            counted_again = sum(1 for f in results.findings() if f.status is not Status.PASS and rule.matches(f))
            warnings.append(
                f"suppression {rule.describe()} expired on {rule.expires.isoformat()}"  # type: ignore[union-attr]
                f" (owner {rule.owner or 'not named'}); {counted_again} finding(s) count again"
            )
        elif index not in matched:
            warnings.append(f"suppression {rule.describe()} matched no finding")
    return warnings


def is_suppressed(finding: Finding) -> bool:
    return finding.suppressed is not None and not finding.suppressed.expired


_ROLLUP_ORDER = [Status.SKIP, Status.PASS, Status.WARN, Status.ERROR, Status.FAIL]


def effective_status(check: CheckResult) -> Status:
    """The check's status once suppressed findings are set aside.

    Unchanged when nothing in the check is suppressed, so the runner's own roll-up stands.
    """
    if not any(is_suppressed(f) for f in check.findings):
        return check.status
    active = [f.status for f in check.findings if not is_suppressed(f)]
    if not active:
        return Status.PASS
    return max(active, key=_ROLLUP_ORDER.index)
