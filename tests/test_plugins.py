"""Third-party checks found through the `ems_readiness.checks` entry point, as an installed
distribution would declare them, and run in a real demo scan."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin" / "acme_checks.py"


def install_plugin(root: Path, module_source: Path, module: str = "acme_checks") -> dict:
    """A module plus a dist-info with entry_points.txt on PYTHONPATH is what pip would leave."""
    shutil.copy(module_source, root / f"{module}.py")
    dist = root / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[ems_readiness.checks]\nacme = {module}\n")
    return {**os.environ, "PYTHONPATH": str(root), "CI": "true"}


def cli(*args, env):
    return subprocess.run([sys.executable, "-m", "ems_readiness.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_plugin_check_is_listed_and_runs_in_a_scan(tmp_path):
    env = install_plugin(tmp_path, EXAMPLE)
    listed = json.loads(cli("checks", "--format", "json", env=env).stdout)
    assert "ACME-001" in {c["id"] for c in listed}
    out = tmp_path / "out"
    proc = cli("demo", "--scenario", "ready", "--only", "ACME-001", "--out", str(out), "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "results.json").read_text())["checks"][0]
    findings = {f["resource"]: f["status"] for f in result["findings"]}
    assert result["id"] == "ACME-001"
    assert findings["autodiscover.contoso.test"] == "pass"
    assert findings["autodiscover.fabrikam.test"] == "fail"  # the ready zones publish no autodiscover there


def test_a_plugin_with_a_duplicate_id_stops_the_load_naming_it(tmp_path):
    source = tmp_path / "src.py"
    source.write_text(EXAMPLE.read_text().replace('id="ACME-001"', 'id="DNS-001"'))
    (tmp_path / "site").mkdir()
    env = install_plugin(tmp_path / "site", source)
    proc = cli("checks", env=env)
    assert proc.returncode == 2
    assert "DNS-001" in proc.stderr and "duplicate id" in proc.stderr and "acme_checks" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
