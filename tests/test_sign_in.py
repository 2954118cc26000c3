"""Client-secret and certificate sign-in end to end: azure-identity against a loopback token
service over HTTPS, then the scan against the simulated tenant; no secret or token in any output."""

import os
import subprocess
import sys

import pytest

from .support.sts import TokenService, client_certificate_pem
from .support.tenant import app_token, simulated_tenant

SECRET = "s3cr3t-Client-Secret-value-0123456789"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11"


def run_cli(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "ems_readiness.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def write_profile(tmp_path, sim, sts):
    profile = tmp_path / "profile.toml"
    profile.write_text(f"""
[tenant]
id = "{TENANT}"
graph_url = "{sim.url}"
auth = "env"
authority = "{sts.authority}"
ca_bundle = "{sts.cert}"
[identity]
model = "federated"
""", encoding="utf-8")
    return profile


def everything_written(tmp_path, proc) -> str:
    texts = [proc.stdout, proc.stderr]
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def base_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    env.update(AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=CLIENT_ID, CI="true")
    return env


@pytest.mark.parametrize("mode", ["secret", "certificate"])
def test_sign_in_end_to_end_and_nothing_secret_is_written(tmp_path, mode):
    access_token = app_token()
    env = base_env()
    if mode == "secret":
        env["AZURE_CLIENT_SECRET"] = SECRET
        sts = TokenService(tmp_path, client_id=CLIENT_ID, secret=SECRET, access_token=access_token)
    else:
        env["AZURE_CLIENT_CERTIFICATE_PATH"] = str(client_certificate_pem(tmp_path))
        sts = TokenService(tmp_path, client_id=CLIENT_ID, secret=None, access_token=access_token)
    with sts, simulated_tenant("ready", token=access_token) as sim:
        profile = write_profile(tmp_path, sim, sts)
        proc = run_cli(["scan", "--profile", str(profile), "--no-network", "--out", str(tmp_path / "out"),
                        "--format", "html,json,junit,sarif,md,csv"], env, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert sts.requests, "the token service was never asked"
        assert any(r.path.endswith("/subscribedSkus") for r in sim.requests)
    written = everything_written(tmp_path, proc)
    assert SECRET not in written
    assert access_token not in written
    assert access_token.split(".")[1] not in written


def test_wrong_secret_is_exit_3_with_one_clean_line(tmp_path):
    env = base_env()
    env["AZURE_CLIENT_SECRET"] = "wrong-" + SECRET
    with TokenService(tmp_path, client_id=CLIENT_ID, secret=SECRET, access_token=app_token()) as sts, \
            simulated_tenant("ready") as sim:
        proc = run_cli(["scan", "--profile", str(write_profile(tmp_path, sim, sts)), "--no-network",
                        "--out", str(tmp_path / "out")], env, tmp_path)
    assert proc.returncode == 3
    assert "sign-in to 127.0.0.1" in proc.stderr and "failed" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout


def test_sign_in_failure_is_one_line_with_a_hint_and_no_library_logs(tmp_path):
    env = base_env()
    env["AZURE_CLIENT_SECRET"] = "wrong-" + SECRET
    with TokenService(tmp_path, client_id=CLIENT_ID, secret=SECRET, access_token=app_token()) as sts, \
            simulated_tenant("ready") as sim:
        proc = run_cli(["scan", "--profile", str(write_profile(tmp_path, sim, sts)), "--no-network", "--quiet",
                        "--out", str(tmp_path / "out")], env, tmp_path)
    assert proc.returncode == 3
    lines = proc.stderr.splitlines()
    assert sum("AADSTS7000215" in line for line in lines) == 1, proc.stderr  # no azure-identity/MSAL log lines
    assert "hint: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET" in proc.stderr
    assert "--auth cli" in proc.stderr and "--no-tenant" in proc.stderr
    assert not [line for line in lines if line.startswith(("WARNING", "ERROR", "Traceback", "  File"))]
    assert (tmp_path / "out" / "results.json").exists()  # the report is written for what was assessed


def test_non_ascii_token_is_one_line_exit_2(tmp_path):
    env = {**os.environ, "EMS_READINESS_TOKEN": "eyJ0eXAi.tökén.sig", "CI": "true"}
    proc = run_cli(["scan", "--graph-url", "http://127.0.0.1:9", "--auth", "token", "--no-network",
                    "--out", str(tmp_path / "out")], env, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "EMS_READINESS_TOKEN" in proc.stderr and "ASCII" in proc.stderr
    assert "tökén" not in proc.stderr


def test_silent_sign_in_host_is_bounded_and_the_network_side_still_runs(tmp_path):
    """A sign-in host that accepts TCP and never answers (packets dropped past the handshake):
    the terminal says where it signs in, sign-in ends within [tenant] timeout_seconds, the
    network side is assessed, the report is written, the tenant checks say why, exit 3."""
    import json
    import socket
    import time

    from ems_readiness.simulate.environment import SimulatedEnvironment, to_toml

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accepted: connections complete, nothing is ever answered
        port = silent.getsockname()[1]
        with SimulatedEnvironment("ready") as env:
            data = env.profile_dict()
            data["tenant"].update(auth="env", authority=f"https://127.0.0.1:{port}", timeout_seconds=3)
            profile = tmp_path / "profile.toml"
            profile.write_text(to_toml(data), encoding="utf-8")
            environment = base_env()
            environment["AZURE_CLIENT_SECRET"] = SECRET
            started = time.monotonic()
            proc = run_cli(["scan", "--profile", str(profile), "--out", str(tmp_path / "out")], environment, tmp_path)
            elapsed = time.monotonic() - started
    print(f"silent sign-in host, timeout_seconds=3: the scan took {elapsed:.1f} s")
    assert proc.returncode == 3, proc.stderr
    assert f"signing in to 127.0.0.1:{port} …" in proc.stderr
    assert "Traceback" not in proc.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert f"sign-in to 127.0.0.1:{port} failed: no answer from 127.0.0.1:{port} within 3 s" in results["tenant_unread"]
    statuses = {c["id"]: c for c in results["checks"]}
    for check_id in ("NET-001", "NET-002", "TLS-001", "TLS-003"):
        assert statuses[check_id]["status"] == "pass"
    lic = statuses["LIC-001"]
    assert lic["status"] == "error" and lic["findings"][0]["resource"] == f"127.0.0.1:{port}"
    assert SECRET not in everything_written(tmp_path, proc)


def test_sign_in_and_graph_share_the_parsed_proxy_with_a_slash_in_its_password(tmp_path):
    """Sign-in (a CONNECT tunnel to the token service) and Graph (plain HTTP) both reach the proxy
    `parse_proxy_url` read, with its credentials, though the password holds an unencoded '/'."""
    from .support.forward_proxy import ForwardProxy

    password = "pr0xy/Secret-value"
    access_token = app_token()
    env = base_env()
    env["AZURE_CLIENT_SECRET"] = SECRET
    with ForwardProxy("tester", password) as proxy, \
            TokenService(tmp_path, client_id=CLIENT_ID, secret=SECRET, access_token=access_token) as sts, \
            simulated_tenant("ready", token=access_token) as sim:
        profile = write_profile(tmp_path, sim, sts)
        with profile.open("a", encoding="utf-8") as f:
            f.write(f'[network]\nproxy = "http://tester:{password}@127.0.0.1:{proxy.port}"\n')
        proc = run_cli(["scan", "--profile", str(profile), "--no-network", "--out", str(tmp_path / "out")],
                       env, tmp_path)
        assert sts.requests and sim.requests
        graph_root = sim.url
    assert proc.returncode == 0, proc.stderr
    assert any(target == f"CONNECT 127.0.0.1:{sts.port}" for target, _ in proxy.requests), proxy.requests
    assert any(target.startswith(graph_root) for target, _ in proxy.requests)
    assert all(ok for _, ok in proxy.requests), "the proxy was sent other credentials"
    written = everything_written(tmp_path, proc)
    assert password not in written and SECRET not in written and access_token not in written
