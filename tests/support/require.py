"""Real-component tests skip on a developer machine that lacks the component, and fail in CI."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"real component missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
    )
    require(path is not None, f"{name} not installed (apt-get install {package})")
    return path  # type: ignore[return-value]


def require_root() -> None:
    require(os.geteuid() == 0, "needs root (network namespaces, iptables)")
