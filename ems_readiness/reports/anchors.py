"""Element ids of the HTML report: stable for a check, a finding and a responsibility, safe as an id."""

from __future__ import annotations

import hashlib
import re

from ems_readiness.engine.model import Finding


def slug(text: str) -> str:
    """An id-safe form of `text`; a hash keeps distinct texts distinct after the unsafe parts go."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:48]
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}-{digest}" if cleaned != text else cleaned


def check_anchor(check_id: str) -> str:
    return f"check-{slug(check_id)}"


def finding_anchor(finding: Finding) -> str:
    digest = hashlib.sha256(f"{finding.check_id}\0{finding.resource}".encode("utf-8")).hexdigest()[:10]
    return f"finding-{slug(finding.check_id)}-{digest}"


def responsibility_anchor(key: str) -> str:
    return f"resp-{slug(key)}"
