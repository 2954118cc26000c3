"""Small helpers the tenant checks share (not a check module: it declares no checks)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ems_readiness.probes.graph import ORGANIZATION_FIELDS as ORG_FIELDS


async def organization(ctx: Any) -> tuple[dict[str, Any], Any]:
    orgs, evidence = await ctx.graph.get("organization", select=ORG_FIELDS)
    if not orgs:
        raise RuntimeError("Graph returned no organization object")
    return orgs[0], evidence


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def age_text(moment: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(timezone.utc)) - moment).total_seconds())
    if seconds < 0:
        return "in the future"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} minutes ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours ago"
    return f"{hours // 24} days ago"


def minutes_since(moment: datetime) -> float:
    return (datetime.now(timezone.utc) - moment).total_seconds() / 60


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
