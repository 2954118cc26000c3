"""Running `demo --branch` the way a user does, and the namespaces it makes (root only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .require import require_root, require_tool


def demo_command(out: Path, isolation: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ems_readiness.cli", "demo", "--branch", "--branch-isolation", isolation,
            "--quiet", "--out", str(out), *extra]


def require_namespaces() -> str:
    """The ip command, where network namespaces with iptables can be made (else skip; fail in CI)."""
    require_root()
    require_tool("iptables", "iptables")
    return require_tool("ip", "iproute2")


def namespaces(ip: str) -> list[str]:
    listing = subprocess.run([ip, "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]
