"""Finding and validating checks: built-in modules and the `ems_readiness.checks` entry points.

Like pytest plugins, a check module is any importable module registered under the entry-point
group; every module-level `Check` object in it is a check. Bad metadata stops the load with a
message naming the check, so a broken plugin never silently drops out of a scan.
"""

from __future__ import annotations

import importlib
import re
from importlib.metadata import entry_points
from types import ModuleType

from ems_readiness.engine.catalogues import REMEDIATION_CHECKLIST, owner_roles, responsibilities
from ems_readiness.engine.check import Check
from ems_readiness.engine.model import Severity

ENTRY_POINT_GROUP = "ems_readiness.checks"
BUILTIN_MODULES = (
    "ems_readiness.checks.licensing",
    "ems_readiness.checks.directory_sync",
    "ems_readiness.checks.domains",
    "ems_readiness.checks.intune",
    "ems_readiness.checks.intune_connectors",
    "ems_readiness.checks.licence_assignment",
    "ems_readiness.checks.mfa_readiness",
    "ems_readiness.checks.enrollment",
    "ems_readiness.checks.device_os",
    "ems_readiness.checks.federation",
    "ems_readiness.checks.platform_endpoints",
    "ems_readiness.checks.dns_records",
    "ems_readiness.checks.tls_certificates",
    "ems_readiness.checks.reachability",
    "ems_readiness.checks.network_quality",
    "ems_readiness.checks.directory",
)

ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,7}-\d{3}$")
PERMISSION_PATTERN = re.compile(r"^[A-Za-z]+(\.[A-Za-z]+)+$")
AREA_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")


class CheckLoadError(Exception):
    """A check module could not be imported or declares bad metadata."""


def checks_in(module: ModuleType) -> list[Check]:
    return [v for v in vars(module).values() if isinstance(v, Check) and v.module == module.__name__]


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a plugin's import error must name the plugin
        raise CheckLoadError(f"check module {name!r} failed to import: {type(exc).__name__}: {exc}") from None


def load_checks(include_entry_points: bool = True) -> list[Check]:
    modules: dict[str, ModuleType] = {}
    for name in BUILTIN_MODULES:
        modules[name] = _import(name)
    if include_entry_points:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.value not in modules:
                modules[ep.value] = _import(ep.value)
    found: list[Check] = []
    for module in modules.values():
        found.extend(checks_in(module))
    validate(found)
    return sorted(found, key=lambda c: c.id)


def validate(checks: list[Check]) -> None:
    catalogue = responsibilities()
    known_keys = catalogue.keys()
    seen: dict[str, Check] = {}
    for c in checks:
        where = f"check {c.id!r} ({c.module})"
        if not isinstance(c.id, str) or not ID_PATTERN.match(c.id):
            raise CheckLoadError(f"{where}: id must look like ABC-001")
        if c.id in seen:
            raise CheckLoadError(f"{where}: duplicate id, also declared in {seen[c.id].module}")
        seen[c.id] = c
        if not isinstance(c.severity, Severity):
            raise CheckLoadError(f"{where}: unknown severity {c.severity!r}")
        if not c.title or not c.why or not c.fix:
            raise CheckLoadError(f"{where}: title, why and fix must not be empty")
        if not AREA_PATTERN.match(c.area or ""):
            raise CheckLoadError(f"{where}: area must be a lower-case word, got {c.area!r}")
        if not c.responsibilities:
            raise CheckLoadError(f"{where}: declares no responsibility")
        for key in c.responsibilities:
            if key not in known_keys:
                raise CheckLoadError(f"{where}: unknown responsibility key {key!r}")
        if REMEDIATION_CHECKLIST in c.responsibilities:
            if c.topic not in catalogue.topics:
                raise CheckLoadError(
                    f"{where}: feeds {REMEDIATION_CHECKLIST} and must name its topic, one of "
                    + ", ".join(catalogue.topics)
                )
        elif c.topic is not None:
            raise CheckLoadError(f"{where}: topic given but {REMEDIATION_CHECKLIST} not among its responsibilities")
        for perm in [*c.permissions.application, *c.permissions.delegated]:
            if not PERMISSION_PATTERN.match(perm):
                raise CheckLoadError(f"{where}: {perm!r} is not a Graph permission name")
        if c.side not in ("tenant", "network", "directory"):
            raise CheckLoadError(f"{where}: side must be tenant, network or directory")
        if c.owner is not None and c.owner not in owner_roles().roles:
            raise CheckLoadError(f"{where}: unknown owner role {c.owner!r}, one of {', '.join(owner_roles().roles)}")
        if c.delegated_only and c.permissions.application:
            raise CheckLoadError(f"{where}: delegated_only checks declare no application permissions")
