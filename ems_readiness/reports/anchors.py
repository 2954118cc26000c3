"""Element ids of the HTML report: stable for a check, a finding and a responsibility, safe as an id."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from ems_readiness.engine.model import Finding

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@lru_cache(maxsize=4096)  # check ids and keys repeat on every finding of a large document
def slug(text: str) -> str:
    """An id-safe form of `text`; a hash keeps distinct texts distinct after the unsafe parts go."""
    cleaned = _UNSAFE.sub("-", text).strip("-")[:48]
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}-{digest}" if cleaned != text else cleaned


def check_anchor(check_id: str) -> str:
    return f"check-{slug(check_id)}"


def finding_anchor(finding: Finding) -> str:
    return finding_anchor_of(finding.check_id, finding.resource, finding.site)


def finding_anchor_of(check_id: str, resource: str, site: str | None) -> str:
    key = f"{check_id}\0{resource}" + (f"\0{site}" if site else "")
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    return f"finding-{slug(check_id)}-{digest}"


def responsibility_anchor(key: str) -> str:
    return f"resp-{slug(key)}"
