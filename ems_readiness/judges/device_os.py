"""Device operating systems against Intune's supported minimums: platform, version and activity.

Pure logic over what Entra (`devices`) and Active Directory (computer objects) say; the minimums
are the dated data file `device_os_minimums.toml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from ems_readiness.engine.catalogues import data_toml

VERSION = re.compile(r"^\s*(\d+(?:\.\d+){0,3})")
AD_WINDOWS_VERSION = re.compile(r"^\s*(\d+)\.(\d+)\s*\((\d+)\)")  # AD: "10.0 (19045)"
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
EXAMPLES = 5


@dataclass(frozen=True)
class Minimums:
    as_of: str
    source: str
    active_days: int
    platforms: dict[str, dict[str, Any]]

    def platform_of(self, operating_system: str) -> str | None:
        name = operating_system.strip().lower()
        for platform, spec in self.platforms.items():
            if name in {n.lower() for n in spec["entra_names"]}:
                return platform
        return None


@lru_cache(maxsize=1)
def minimums() -> Minimums:
    raw = data_toml("device_os_minimums.toml")
    return Minimums(raw["as_of"], raw["source"], raw["active_days"], raw["platforms"])


def version_tuple(text: str) -> tuple[int, ...] | None:
    """'10.0.19045.5247' → (10, 0, 19045, 5247); None when it does not start with a version."""
    match = VERSION.match(text or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def below(version: tuple[int, ...], minimum: str) -> bool:
    wanted = version_tuple(minimum) or ()
    width = max(len(version), len(wanted))
    return version + (0,) * (width - len(version)) < wanted + (0,) * (width - len(wanted))


def ad_windows_version(operating_system: str | None, version: str | None) -> tuple[int, ...] | None:
    """A Windows client's version from AD ('Windows 10 Enterprise', '10.0 (19045)'); None for a server
    or anything that is not a Windows client."""
    if not operating_system or "windows" not in operating_system.lower() or "server" in operating_system.lower():
        return None
    match = AD_WINDOWS_VERSION.match(version or "")
    return tuple(int(part) for part in match.groups()) if match else None


def filetime(value: str | None) -> datetime | None:
    """AD's lastLogonTimestamp (100-ns intervals since 1601); None when unset or unreadable."""
    if not value or not value.strip().lstrip("-").isdigit() or int(value) <= 0:
        return None
    return FILETIME_EPOCH + timedelta(microseconds=int(value) // 10)


def is_active(last_seen: datetime | None, now: datetime, days: int) -> bool:
    return last_seen is not None and now - last_seen <= timedelta(days=days)


@dataclass
class PlatformTally:
    """Active devices of one platform: how many, how many below the minimum, a few examples."""

    active: int = 0
    old: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, name: str, version: str, is_old: bool) -> None:
        self.active += 1
        if is_old:
            self.old += 1
            if len(self.examples) < EXAMPLES:
                self.examples.append(f"{name} ({version})")
