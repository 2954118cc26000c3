"""The command line end to end: demo and scan over real sockets, exit codes, bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

CLI = [sys.executable, "-m", "ems_readiness.cli"]


def run(*args, env=None, timeout=120):
    full_env = {**os.environ, "CI": "true", **(env or {})}
    full_env.pop("HTTPS_PROXY", None)
    full_env.pop("https_proxy", None)
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env, timeout=timeout)


@pytest.fixture(scope="module")
def unready_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("unready")
    proc = run("demo", "--out", str(out), "--format", "html,json,junit,sarif,md,csv")
    return proc, out


@pytest.fixture(scope="module")
def ready_run(tmp_path_factory, unready_run):
    out = tmp_path_factory.mktemp("ready")
    proc = run("demo", "--scenario", "ready", "--out", str(out), "--baseline", str(unready_run[1] / "results.json"))
    return proc, out


def test_unready_demo_fails_in_every_area_and_writes_all_outputs(unready_run):
    proc, out = unready_run
    assert proc.returncode == 1, proc.stderr
    for name in ("report.html", "results.json", "junit.xml", "results.sarif", "summary.md", "findings.csv"):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    failing_areas = {c["area"] for c in results["checks"] if c["status"] == "fail"}
    assert failing_areas >= {"licensing", "directory-sync", "domains", "intune", "dns", "tls", "network"}
    assert results["mode"] == "demo" and results["scenario"] == "unready"
    assert len(results["responsibilities"]) == 37


def test_results_validate_against_the_printed_schema(unready_run):
    schema = json.loads(run("schema").stdout)
    jsonschema.validate(json.loads((unready_run[1] / "results.json").read_text()), schema)


def test_ready_demo_passes_and_shows_what_was_fixed(ready_run, unready_run):
    proc, out = ready_run
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert {c["status"] for c in results["checks"]} <= {"pass", "skip"}
    assert results["baseline"]["counts"]["fixed"] > 20
    assert results["baseline"]["counts"]["regressed"] == 0
    html = (out / "report.html").read_text()
    assert "Fixed" in html
    diff = run("diff", str(unready_run[1] / "results.json"), str(out / "results.json"), "--format", "json")
    assert diff.returncode == 0
    fixed = {(e["check_id"], e["resource"]) for e in json.loads(diff.stdout)["fixed"]}
    assert ("DNS-001", "enterpriseenrollment.contoso.test") in fixed
    assert ("DOM-001", "fabrikam.test") in fixed
    assert any(check == "TLS-001" for check, _ in fixed)


def test_report_rerenders_in_chinese(unready_run, tmp_path):
    proc = run("report", str(unready_run[1] / "results.json"), "--out", str(tmp_path), "--lang", "zh-CN",
               "--format", "html", "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    assert "修正" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize("fail_on, code", [("none", 0), ("critical", 0), ("high", 1), ("low", 1)])
def test_fail_on_threshold(unready_run, tmp_path, fail_on, code):
    proc = run("report", str(unready_run[1] / "results.json"), "--out", str(tmp_path), "--format", "json",
               "--fail-on", fail_on)
    assert proc.returncode == code


@pytest.mark.parametrize("args, fragment", [
    (["scan", "--profile", "/nonexistent/profile.toml"], "profile file not found"),
    (["scan", "--resolver", "nonsense"], "expected NAME=IP[:PORT]"),
    (["scan", "--graph-url", "http://graph.example.test"], "loopback"),
    (["scan", "--no-tenant", "--no-network"], "nothing to scan"),
    (["scan", "--only", "XYZ-999"], "no check id or area"),
    (["scan", "--format", "pdf"], "unknown format pdf"),
    (["report", "/nonexistent/results.json"], "file not found"),
    (["diff", "/nonexistent/a.json", "/nonexistent/b.json"], "file not found"),
    (["scan", "--bogus-flag"], "No such option"),
    (["scan", "--graph-url", "https://graph.microsoft.com/v1.0"], "without a path"),
    (["demo", "--out", "/dev/null/sub"], "cannot create the output folder"),
])
def test_bad_input_is_one_line_and_exit_2(args, fragment):
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_profile_key_names_key_and_file(tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text("[tls]\nwarn_dayz = 3\n")
    proc = run("scan", "--profile", str(profile), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert str(profile) in proc.stderr and "tls.warn_dayz" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_results_files_that_are_not_ours_are_exit_2(tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"schema": "something-else"}')
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "ems-readiness/results/v1", "checks": 3}')
    for path in (other, broken):
        proc = run("report", str(path), "--out", str(tmp_path / "o"))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_unreachable_tenant_is_exit_3(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run("scan", "--graph-url", f"http://127.0.0.1:{port}", "--auth", "token", "--no-network",
               "--out", str(tmp_path), env={"EMS_READINESS_TOKEN": "opaque-test-token"})
    assert proc.returncode == 3
    assert "could not be reached" in proc.stderr and "Traceback" not in proc.stderr
    assert "opaque-test-token" not in proc.stderr


def test_token_mode_without_token_is_exit_3(tmp_path):
    proc = run("scan", "--graph-url", "http://127.0.0.1:9", "--auth", "token", "--no-network", "--out", str(tmp_path),
               env={"EMS_READINESS_TOKEN": ""})
    assert proc.returncode == 3 and "EMS_READINESS_TOKEN" in proc.stderr


def test_simulate_prints_a_profile_that_a_live_scan_can_use(tmp_path):
    profile = tmp_path / "sim.toml"
    env = {**os.environ, "CI": "true"}
    sim = subprocess.Popen([*CLI, "simulate", "--scenario", "ready", "--write-profile", str(profile)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        token_line = ""
        deadline = time.time() + 60
        while time.time() < deadline and not token_line:
            line = sim.stdout.readline()
            if "EMS_READINESS_TOKEN" in line:
                token_line = line
        assert token_line, "simulate printed no token line"
        token = token_line.split("'")[1]
        proc = run("scan", "--profile", str(profile), "--out", str(tmp_path / "out"),
                   env={"EMS_READINESS_TOKEN": token})
        assert proc.returncode == 0, proc.stderr
        results = json.loads((tmp_path / "out" / "results.json").read_text())
        assert results["mode"] == "live"
        assert {c["status"] for c in results["checks"]} <= {"pass", "skip"}
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=20)


def test_checks_and_permissions_catalogues():
    checks = json.loads(run("checks", "--format", "json").stdout)
    assert len(checks) >= 26
    assert all(c["why"] and c["fix"] and c["responsibilities"] for c in checks)
    perms = json.loads(run("permissions", "--format", "json").stdout)
    assert "Organization.Read.All" in perms["application"]
    assert "OnPremDirectorySynchronization.Read.All" not in perms["application"]
    assert "DSY-005" in perms["delegated_only_checks"]
    text = run("permissions").stdout
    assert "Application permissions" in text and "Delegated" in text


def test_every_demo_output_is_valid(unready_run):
    import csv

    from lxml import etree

    out = unready_run[1]
    schemas = Path(__file__).parent / "data" / "schemas"
    xsd = etree.XMLSchema(etree.parse(str(schemas / "junit.xsd")))
    assert xsd.validate(etree.parse(str(out / "junit.xml"))), xsd.error_log
    sarif = json.loads((out / "results.sarif").read_text())
    jsonschema.validate(sarif, json.loads((schemas / "sarif-schema-2.1.0.json").read_text()))
    assert sarif["runs"][0]["results"], "the unready demo has results"
    raw = (out / "findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    results = json.loads((out / "results.json").read_text())
    assert len(rows) == sum(len(c["findings"]) for c in results["checks"])
    assert "| " in (out / "summary.md").read_text()


def test_catalog_import_and_show(tmp_path):
    source = Path(__file__).parent / "data"
    saved = next(source.glob("m365-endpoints*.json"))
    out = tmp_path / "catalog.toml"
    proc = run("catalog", "import", str(saved), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    shown = run("catalog", "show", "--catalog", str(out))
    assert shown.returncode == 0 and "login.microsoftonline.com" in shown.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[[endpoint]]\nhost = 'x.test'\nprots = [443]\n")
    proc = run("catalog", "show", "--catalog", str(bad))
    assert proc.returncode == 2 and "prots" in proc.stderr


def test_summary_is_appended_to_the_github_step_summary(tmp_path):
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    proc = run("demo", "--scenario", "ready", "--out", str(tmp_path / "out"), "--format", "json,md",
               env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    text = summary.read_text()
    assert text.startswith("earlier step\n") and len(text) > 100
