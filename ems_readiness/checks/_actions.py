"""Actions more than one check calls for (not a check module: it declares no checks).

Findings that name the same action (key and parameters) are one row of the action plan, so the
checks that can find the same problem build its ActionRef here, the same way.
"""

from __future__ import annotations

from ems_readiness.engine.model import ActionRef


def verify_domain(domain: str) -> ActionRef:
    """DOM-001 (unverified domain) and DSY-004 (users on an unverified domain)."""
    return ActionRef(key="domain.verify", params={"domain": domain})


def replace_suffix(suffix: str) -> ActionRef:
    """DSY-004 (synced users on a non-routable suffix, or fallen back) and ADP-003 (the forest's users)."""
    return ActionRef(key="upn.replace-suffix", params={"suffix": suffix})


def remove_duplicates() -> ActionRef:
    """ADP-002 (duplicates on premises, any attribute) and DSY-003 (conflicts Entra met): one action,
    the duplicates IdFix and directory-fixes.csv list, removed in on-premises Active Directory."""
    return ActionRef(key="ad.remove-duplicates", params={})
