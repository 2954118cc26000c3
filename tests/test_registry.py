import types

import pytest

from ems_readiness.engine.check import check
from ems_readiness.engine.registry import CheckLoadError, checks_in, validate


def make(**overrides):
    meta = dict(id="TST-001", title="A test check", area="testing", severity="low",
                responsibilities=["enable.services"], why="Because.", fix="Do it.")
    meta.update(overrides)

    async def fn(ctx):
        ctx.passed("x", "fine")

    fn.__module__ = "third_party.plugin"
    return check(**meta)(fn)


def test_valid_check_passes_validation():
    validate([make()])


@pytest.mark.parametrize("overrides, fragment", [
    ({"id": "bad id"}, "id must look like"),
    ({"severity": "urgent"}, "unknown severity"),
    ({"responsibilities": ["enable.nothing"]}, "unknown responsibility key 'enable.nothing'"),
    ({"responsibilities": []}, "declares no responsibility"),
    ({"responsibilities": ["assess.remediation-checklist"]}, "must name its topic"),
    ({"responsibilities": ["assess.remediation-checklist"], "topic": "weather"}, "must name its topic"),
    ({"topic": "network"}, "topic given but"),
    ({"why": ""}, "must not be empty"),
    ({"application": ["not a permission"]}, "is not a Graph permission name"),
    ({"area": "Bad Area"}, "area must be"),
])
def test_bad_metadata_names_the_check(overrides, fragment):
    with pytest.raises(CheckLoadError) as err:
        validate([make(**overrides)])
    assert fragment in str(err.value)
    assert "third_party.plugin" in str(err.value)


def test_duplicate_ids_stop_the_load():
    with pytest.raises(CheckLoadError, match="duplicate id"):
        validate([make(), make(title="Another")])


def test_module_scan_ignores_imported_checks():
    module = types.ModuleType("third_party.plugin")
    module.mine = make()
    other = make(id="OTH-001")
    object.__setattr__(other, "module", "somewhere.else")
    module.imported = other
    assert [c.id for c in checks_in(module)] == ["TST-001"]


def test_builtin_catalogue_is_valid_and_covers_spec_ids():
    from ems_readiness.engine.registry import load_checks

    ids = {c.id for c in load_checks()}
    spec = {"LIC-001", "DSY-001", "DSY-002", "DSY-003", "DSY-004", "DSY-005", "DOM-001", "DOM-002",
            "INT-001", "INT-002", "INT-003", "INT-004", "DNS-001", "DNS-002", "DNS-003", "DNS-004", "DNS-005",
            "TLS-001", "TLS-002", "TLS-003", "TLS-004", "TLS-005", "TLS-006", "NET-001", "NET-002", "NET-003"}
    assert spec <= ids
