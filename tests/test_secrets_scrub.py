"""Secrets never leave, untrusted text never drives the terminal or CI: the scrub, the terminal
text, logging, and the CLI end to end against a loopback Graph that echoes what it was sent."""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from ems_readiness.engine.check import bound_text
from ems_readiness.engine.secrets import (REDACTED, SECRETS, SecretRegistry, register_environment,
                                          register_proxy_url, scrub)
from ems_readiness.engine.terminal import (InertRecords, configure_logging, json_text, one_line,
                                           terminal_text)
from ems_readiness.probes.base import MAX_EVIDENCE_TOTAL_CHARS, bounded
from tests.support.tenant import app_token

CLI = [sys.executable, "-m", "ems_readiness.cli"]
SECRET = "Zq8~k2P.v9/LmN+e3Rt_Wx7&Yb\"Hd4<"  # a client secret with every character that gets escaped
PROXY_PASSWORD = "pr0xy/P@ss:word"
OSC_TITLE = "\x1b]0;owned\x07"
FORGED = "::error file=README.md,line=1::forged by the server"


@pytest.fixture()
def registry():
    SECRETS.clear()
    SECRETS.add(SECRET)
    yield SECRETS
    SECRETS.clear()


# ---------------------------------------------------------------- scrub

def test_scrub_removes_every_encoded_form(registry):
    raw = SECRET.encode()
    forms = [SECRET, quote(SECRET, safe=""), quote_plus(SECRET), html.escape(SECRET), json.dumps(SECRET)[1:-1],
             base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]
    for form in forms:
        assert scrub(f"before {form} after") == f"before {REDACTED} after", form


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:", b"{\"secret\": \""])
def test_scrub_finds_the_secret_inside_a_longer_base64_blob(registry, prefix):
    blob = base64.b64encode(prefix + SECRET.encode() + b"\" tail").decode()
    assert REDACTED in scrub(f"Basic {blob}")


def test_scrub_redacts_unregistered_credentials_by_shape(registry):
    jwt = app_token()
    text = (f'{{"Authorization": "Bearer {jwt}"}} Proxy-Authorization: Basic dXNlcjpwYXNz '
            f"token {jwt} and bearer abcdefghijklmnopqrstuvwxyz0123")
    scrubbed = scrub(text)
    assert jwt not in scrubbed and "dXNlcjpwYXNz" not in scrubbed and "abcdefghijklmnop" not in scrubbed
    assert '"Authorization": "[redacted]"' in scrubbed and "Proxy-Authorization: [redacted]" in scrubbed


@pytest.mark.parametrize("text", [
    "bearer tokens are acquired by the credential", "Basic authentication is disabled",
    "eyJ alone is not a token", "the authorization failed", "",
])
def test_scrub_leaves_ordinary_text(registry, text):
    assert scrub(text) == text


def test_short_values_are_not_registered():
    registry = SecretRegistry()
    registry.add("abc")
    registry.add(None)
    registry.add("")
    assert registry.scrub("abc def") == "abc def"


def test_environment_and_proxy_credentials_are_registered(registry):
    register_environment({"AZURE_CLIENT_SECRET": "client-secret-value", "EMS_READINESS_TOKEN": "opaque-token-value",
                          "EMS_READINESS_LDAP_PASSWORD": "ldap-password-value",
                          "AZURE_CLIENT_CERTIFICATE_PASSWORD": "pfx-password-value",
                          "HTTPS_PROXY": f"http://alice:{quote(PROXY_PASSWORD, safe='')}@127.0.0.1:3128"})
    register_proxy_url(f"http://bob:{PROXY_PASSWORD}@proxy.test:8080")  # unencoded '/', ':' and '@'
    basic = base64.b64encode(f"alice:{PROXY_PASSWORD}".encode()).decode()
    text = (f"client-secret-value opaque-token-value ldap-password-value pfx-password-value {PROXY_PASSWORD} "
            f"{quote(PROXY_PASSWORD, safe='')} Basic {basic} "
            f"{base64.b64encode(f'bob:{PROXY_PASSWORD}'.encode()).decode()}")
    scrubbed = scrub(text)
    for leaked in ("client-secret", "opaque-token", "ldap-password", "pfx-password", "pr0xy", basic[:12]):
        assert leaked not in scrubbed, leaked


def test_bound_text_scrubs_before_it_cuts(registry):
    # the secret straddles the limit: cutting first would leave a part no scrub recognises
    text = "x" * 95 + SECRET + "y" * 100
    bounded_text = bound_text(text, 100)
    assert SECRET[:5] not in bounded_text and bounded_text.endswith("[truncated]")


def test_evidence_is_bounded_in_total_volume_and_scrubbed(registry):
    nested = [[["v" * 4000] * 200] * 200] * 200  # each level in bounds, 32 GB in all
    assert len(json.dumps(bounded(nested))) < MAX_EVIDENCE_TOTAL_CHARS * 2
    assert bounded({"echo": f"got {SECRET}", SECRET: 1}) == {"echo": f"got {REDACTED}", REDACTED: 1}


# ---------------------------------------------------------------- terminal text

def test_terminal_text_neutralises_controls_escapes_and_ci_commands(registry):
    text = (f"401: {FORGED}\n  ::add-mask::x\n{OSC_TITLE}\x9b31m\rover\u202eevil\u2066 "
            f"##vso[task.setvariable variable=x]1 ##[error]e \ud800 {SECRET}\ttab")
    shown = terminal_text(text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", shown)
    assert "\\x1b]0;owned\\x07" in shown and "\\u202e" in shown and "\\x0d" in shown and "\\ud800" in shown
    for line in shown.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "##vso[" not in shown and "##[" not in shown
    assert SECRET not in shown and "\t" in shown
    assert one_line(f"a\nb\tc\n{FORGED}") == f"a\\nb\\tc\\n{FORGED}"  # one line: the command is mid-line


def test_json_text_stays_valid_json(registry):
    document = {"m": f"{FORGED}\n##vso[x] \x9b \u202e \ud800 {SECRET} 中文"}
    text = json_text(document, indent=2)
    assert not re.search(r"[\x7f-\x9f\u202a-\u202e\ud800-\udfff]", text) and "##vso[" not in text
    parsed = json.loads(text)["m"]
    assert parsed.startswith(FORGED) and "中文" in parsed and REDACTED in parsed


def test_log_records_are_one_scrubbed_inert_line(registry):
    record = logging.LogRecord("ems_readiness.x", logging.WARNING, __file__, 1, "server said %s", (FORGED,), None)
    try:
        raise RuntimeError(f"echo {SECRET}\n{OSC_TITLE}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert InertRecords().filter(record)
    message = record.getMessage()
    assert "\n" not in message and "\x1b" not in message and SECRET not in message
    assert message == f"server said {FORGED} (RuntimeError: echo {REDACTED}\\n\\x1b]0;owned\\x07)"
    assert record.exc_info is None  # no traceback lines


def test_library_logs_are_quiet_and_own_logs_are_inert(registry, capsys):
    configure_logging({})
    try:
        logging.getLogger("msal.application").error("MSAL traceback %s", SECRET)
        logging.getLogger("azure.identity").warning("DefaultAzureCredential failed")
        logging.getLogger("ems_readiness.probes").warning("%s %s", FORGED, SECRET)
        err = capsys.readouterr().err
        assert "MSAL" not in err and "DefaultAzureCredential" not in err
        assert err == f"warning: \\{FORGED} {REDACTED}\n"
        configure_logging({"EMS_READINESS_DEBUG": "1"})
        logging.getLogger("msal.application").warning("token %s", SECRET)
        err = capsys.readouterr().err
        assert "msal.application" in err and SECRET not in err and REDACTED in err
    finally:
        configure_logging({})
        logging.getLogger().setLevel(logging.WARNING)


# ---------------------------------------------------------------- the CLI, end to end

class EchoingGraph(BaseHTTPRequestHandler):
    """A hostile Graph: /organization answers (with a hostile name); every other read fails with an
    error body that echoes the request's Authorization header and the client secret, forges a
    GitHub workflow command and sets the terminal title."""

    status_for_everything: int | None = None

    def do_GET(self):
        echoed = f"{FORGED} {OSC_TITLE} you sent Authorization: {self.headers.get('Authorization')} with {SECRET}"
        status = self.status_for_everything
        if status is None and self.path.startswith("/v1.0/organization"):
            body = {"value": [{"id": "6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11",
                               "displayName": f"Contoso \ud800 {FORGED} {SECRET}", "verifiedDomains": []}]}
            self._answer(200, body)
        else:
            self._answer(status or 409, {"error": {"code": "Conflict", "message": f"{echoed}\n{FORGED}"}})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()  # ensure_ascii: the lone surrogate travels as \ud800
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def hostile_graph(status: int | None):
    handler = type("Handler", (EchoingGraph,), {"status_for_everything": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    full_env.update({"CI": "true", "GITHUB_ACTIONS": "true", **env})
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env, timeout=300)


def assert_inert(stream: str) -> None:
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", stream), stream
    for line in stream.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "##vso[" not in stream and "Traceback" not in stream


def leaked(text: str, token: str) -> list[str]:
    forms = [SECRET, quote(SECRET, safe=""), json.dumps(SECRET)[1:-1], html.escape(SECRET), token,
             token.split(".")[1], "Zq8~k2P"]
    return [form for form in forms if form in text]


def test_a_graph_that_echoes_secrets_leaks_nothing_into_outputs_or_streams(tmp_path):
    token = app_token()
    summary = tmp_path / "step-summary.md"
    server = hostile_graph(None)
    try:
        proc = run_cli("scan", "--graph-url", f"http://127.0.0.1:{server.server_port}", "--auth", "token",
                       "--no-network", "--out", str(tmp_path / "out"), "--format", "html,json,junit,sarif,md,csv",
                       env={"EMS_READINESS_TOKEN": token, "AZURE_CLIENT_SECRET": SECRET,
                            "GITHUB_STEP_SUMMARY": str(summary)})
    finally:
        server.shutdown()
    assert proc.returncode in (0, 1), proc.stderr
    outputs = sorted((tmp_path / "out").iterdir())
    assert len(outputs) == 7 and all(path.stat().st_size > 0 for path in outputs)  # csv: findings and actions
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    reasons = " ".join(f["message"] for c in results["checks"] for f in c["findings"]) + " ".join(
        c["reason"] or "" for c in results["checks"])
    assert "you sent Authorization: [redacted]" in reasons  # the server's text is there, the secrets are not
    assert "Contoso \ufffd" in results["tenant_name"]
    for path in [*outputs, summary]:
        text = path.read_text(encoding="utf-8")
        assert not leaked(text, token), path.name
    assert not re.search(r"^\s*::", summary.read_text(encoding="utf-8"), re.MULTILINE)
    assert not leaked(proc.stdout + proc.stderr, token)
    assert_inert(proc.stderr)
    assert_inert(proc.stdout)


def test_a_forged_401_message_reaches_the_terminal_inert(tmp_path):
    token = app_token()
    server = hostile_graph(401)
    try:
        proc = run_cli("scan", "--graph-url", f"http://127.0.0.1:{server.server_port}", "--auth", "token",
                       "--no-network", "--out", str(tmp_path / "out"),
                       env={"EMS_READINESS_TOKEN": token, "AZURE_CLIENT_SECRET": SECRET})
    finally:
        server.shutdown()
    assert proc.returncode == 3, proc.stderr
    # the tenant was not read: one error line carries the server's message, flattened and escaped
    # (the report is still written, so progress and summary lines surround it)
    error_lines = [line for line in proc.stderr.splitlines() if "::error file=README.md" in line]
    assert len(error_lines) == 1 and "\\x1b]0;owned\\x07" in error_lines[0], proc.stderr
    assert not leaked(proc.stderr, token)
    assert_inert(proc.stderr)


def test_report_scrubs_a_saved_results_file_with_the_proxy_password(tmp_path):
    from tests.test_outputs import realistic_results

    results = realistic_results()
    results.tenant_name = f"Contoso {PROXY_PASSWORD} {FORGED}"
    results.checks[0].findings[0].observed = f"Proxy-Authorization: Basic {base64.b64encode(b'u:p4ss-word').decode()}"
    saved = tmp_path / "results.json"
    saved.write_text(results.dump_json(), encoding="utf-8")
    proc = run_cli("report", str(saved), "--out", str(tmp_path / "out"), "--format", "html,json,junit,sarif,md,csv",
                   env={"HTTPS_PROXY": f"http://alice:{quote(PROXY_PASSWORD, safe='')}@127.0.0.1:9"})
    assert proc.returncode in (0, 1), proc.stderr
    for path in (tmp_path / "out").iterdir():
        text = path.read_text(encoding="utf-8")
        assert PROXY_PASSWORD not in text and quote(PROXY_PASSWORD, safe="") not in text, path.name
        assert "dTpwNHNzLXdvcmQ" not in text, path.name
    assert_inert(proc.stderr)
