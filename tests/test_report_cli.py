"""The command line around the action plan: `checks` as a table, the profile's [owners]."""

from __future__ import annotations

import pytest

from ems_readiness.engine.profile import ProfileError, profile_from_dict
from tests.test_cli import run


def test_checks_prints_a_table_with_one_row_per_check():
    proc = run("checks")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header, rule = lines[0], lines[1]
    assert header.split() == ["ID", "SEVERITY", "AREA", "OWNER", "TITLE", "RESPONSIBILITIES"]
    assert set(rule.replace(" ", "")) == {"-"}
    rows = [line for line in lines[2:] if line[:3].isupper() and "-" in line[:8]]
    assert len(rows) == int(lines[-1].split()[0]) and len(rows) >= 30
    title_at = header.index("TITLE")
    for row in rows:  # columns line up under their headers
        assert row[title_at - 2:title_at] == "  " and row[title_at] != " "
    dns = next(row for row in rows if row.startswith("DNS-001 "))
    assert dns.split()[1:4] == ["high", "dns", "dns-admin"]


def test_owners_name_roles_and_checks_and_bad_keys_are_refused():
    profile = profile_from_dict({"owners": {"dns-admin": "Li Wei, network team", "TLS-006": "Proxy team"}})
    assert profile.owners["TLS-006"] == "Proxy team"
    for bad, words in (({"dns-admn": "x"}, "did you mean 'dns-admin'"), ({"pki": ""}, "printable"),
                       ({"pki": 3}, "valid string")):
        with pytest.raises(ProfileError, match=words):
            profile_from_dict({"owners": bad})


def test_an_owner_for_an_unknown_check_is_exit_2_before_any_probe(tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text('[owners]\n"DNS-999" = "Li Wei"\n', encoding="utf-8")
    proc = run("scan", "--profile", str(profile), "--no-tenant", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "unknown check id 'DNS-999'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
