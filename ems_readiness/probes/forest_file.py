"""The forest description a customer sends beside an ldifde/csvde export ([directory] forest_file).

An export holds users, groups and contacts but nothing of the forest (functional levels, domains,
UPN suffixes, Recycle Bin, the hybrid-join and AD RMS service connection points). The README gives
the PowerShell that writes this JSON on a domain-joined machine:

    {"root_domain": "corp.contoso.com", "forest_functional_level": 7,
     "domains": [{"dn": "DC=corp,DC=contoso,DC=com", "dns_name": "corp.contoso.com",
                  "netbios_name": "CORP", "functional_level": 7}],
     "upn_suffixes": ["contoso.com"], "recycle_bin_enabled": true, "writable_dc_present": true,
     "hybrid_join_scp": ["azureADName:contoso.com", "azureADId:…"], "rms_scp": null}

A fact left out is unknown (None), never false. Bad input raises ForestFileError("FILE: reason").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ems_readiness.judges.ad_objects import DomainInfo, ForestInfo

MAX_BYTES = 1_000_000
MAX_ITEMS = 10_000


class ForestFileError(Exception):
    """A forest description that cannot be used: one line naming the file."""


def load_forest_file(path: str | Path) -> ForestInfo:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ForestFileError(f"{p}: larger than {MAX_BYTES} bytes; not a forest description")
        # PowerShell 5.1's Out-File -Encoding utf8 writes a byte-order mark
        raw = json.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ForestFileError(f"{p}: forest description not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ForestFileError(f"{p}: cannot read the forest description ({type(exc).__name__})") from None
    except ValueError as exc:
        raise ForestFileError(f"{p}: not JSON ({exc})") from None
    try:
        return forest_from_dict(raw)
    except ValueError as exc:
        raise ForestFileError(f"{p}: {exc}") from None


def forest_from_dict(raw: Any) -> ForestInfo:
    if not isinstance(raw, dict):
        raise ValueError("expected a JSON object")
    root = _text(raw, "root_domain", required=True)
    domains = raw.get("domains")
    if not isinstance(domains, list) or not domains:
        raise ValueError("'domains' must be a non-empty list")
    return ForestInfo(
        root_domain=root,  # type: ignore[arg-type]
        forest_functional_level=_level(raw, "forest_functional_level"),
        domains=tuple(_domain(d, i) for i, d in enumerate(domains[:MAX_ITEMS])),
        upn_suffixes=_texts(raw, "upn_suffixes") or (),
        recycle_bin_enabled=_flag(raw, "recycle_bin_enabled"),
        writable_dc_present=_flag(raw, "writable_dc_present"),
        hybrid_join_scp=_texts(raw, "hybrid_join_scp"),
        rms_scp=_texts(raw, "rms_scp"),
    )


def _domain(raw: Any, index: int) -> DomainInfo:
    if not isinstance(raw, dict):
        raise ValueError(f"domains[{index}] must be an object")
    try:
        return DomainInfo(dn=_text(raw, "dn", required=True), dns_name=_text(raw, "dns_name", required=True),
                          netbios_name=_text(raw, "netbios_name"), functional_level=_level(raw, "functional_level"))
    except ValueError as exc:
        raise ValueError(f"domains[{index}]: {exc}") from None


def _text(raw: dict[str, Any], key: str, required: bool = False) -> Any:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' must be a non-empty string")
    return value.strip()[:1000]


def _texts(raw: dict[str, Any], key: str) -> tuple[str, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):  # ConvertTo-Json writes a one-element list as a bare string
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{key}' must be a list of strings or null")
    return tuple(v[:1000] for v in value[:MAX_ITEMS])


def _flag(raw: dict[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"'{key}' must be true, false or null")
    return value


def _level(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"'{key}' must be a msDS-Behavior-Version number (0–10) or null")
    return value
