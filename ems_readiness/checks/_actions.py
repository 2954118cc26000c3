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


# Entra's names of the conflicting properties (DSY-003) as the attributes IdFix names (ADP-002)
ATTRIBUTES = {"proxyaddress": "proxyAddresses", "userprincipalname": "userPrincipalName"}


def remove_duplicates(attribute: str) -> ActionRef:
    """ADP-002 (duplicates on premises) and DSY-003 (conflicts Entra met): one action per attribute."""
    return ActionRef(key="ad.remove-duplicates", params={"attribute": ATTRIBUTES.get(attribute.lower(), attribute)})
