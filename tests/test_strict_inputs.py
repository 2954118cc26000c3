"""Input strictness (issue 11): every input validated before the first probe; bad input is one line, exit 2.

The command line runs in-process through click's CliRunner (the same `main` the console script
calls, stdout and stderr kept apart); a few cases also run as real processes.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import typing

import pytest
from click.testing import CliRunner

from ems_readiness.cli import main
from ems_readiness.engine.endpoints import load_catalog
from ems_readiness.engine.profile import ProfileError, Profile, load_profile
from tests.support.inputs import CATALOG_ENTRY, endpoint_sets, results_dict

PREFIX = "ems-readiness: error: "


def cli(*args: str, env: dict[str, str] | None = None):
    env = {"HTTPS_PROXY": "", "https_proxy": "", "CI": "true", **(env or {})}
    return CliRunner().invoke(main, list(args), env=env)


def assert_one_line_exit_2(result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(PREFIX), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return str(path)


def write_json(path, data) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


# ---- unknown names: exit 2 with the closest valid name ----------------------------------------

def test_unknown_service_names_the_closest(tmp_path):
    profile = write(tmp_path / "p.toml", '[network]\nservices = ["intunee"]\n')
    line = assert_one_line_exit_2(cli("scan", "--profile", profile, "--no-tenant"), "'network.services'",
                                  "'intunee'", "did you mean 'intune'?")
    assert profile in line


def test_service_of_a_profiles_own_catalogue_is_known(tmp_path):
    write(tmp_path / "cat.toml", CATALOG_ENTRY.replace('"entra"', '"branch-office"'))
    profile = load_profile(write(tmp_path / "p.toml", '[network]\ncatalog = "cat.toml"\nservices = ["branch-office"]\n'))
    assert profile.network.services == ["branch-office"]
    with pytest.raises(ProfileError, match="unknown service 'entra'"):
        load_profile(write(tmp_path / "q.toml", '[network]\ncatalog = "cat.toml"\nservices = ["entra"]\n'))


@pytest.mark.parametrize("args, fragments", [
    (["scan", "--only", "FOO-001"], ["--only 'FOO-001'", "no check id or area"]),
    (["scan", "--skip", "netwrk"], ["--skip 'netwrk'", "did you mean 'network'?"]),
    (["scan", "--only", "dns-01"], ["did you mean 'DNS-001'?"]),
    (["demo", "--only", "tsl"], ["did you mean 'tls'?"]),
    (["permissions", "--skip", "licencing"], ["did you mean 'licensing'?"]),
    (["scan", "--only", "dns", "--skip", "dns"], ["selected no check"]),
])
def test_unknown_check_ids_and_areas(tmp_path, args, fragments):
    assert_one_line_exit_2(cli(*args, "--no-tenant") if args[0] == "scan" else cli(*args), *fragments)


def test_known_ids_and_areas_in_any_case_select():
    result = cli("permissions", "--only", "lic-001", "--only", "INTUNE", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["application"]


def test_misspelt_profile_key_names_the_closest(tmp_path):
    assert_one_line_exit_2(cli("scan", "--profile", write(tmp_path / "p.toml", "[tls]\nwarn_dayz = 3\n")),
                           "unknown key 'tls.warn_dayz'", "did you mean 'tls.warn_days'?")


# ---- wrong types are not coerced; ranges are checked at load ------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("[tenant]\ntimeout_seconds = true\n", "'tenant.timeout_seconds'"),
    ('[[network.targets]]\nname = "dc01"\nhost = "127.0.0.1"\nports = ["22"]\n', "'network.targets.0.ports.0'"),
    ("[tenant]\nconcurrency = 2.0\n", "'tenant.concurrency'"),
    ('[tenant]\nid = 42\n', "'tenant.id'"),
    ('[identity]\nfeatures = { passwordSyncEnabled = "yes" }\n', "'identity.features.passwordSyncEnabled'"),
    ("[tls]\nwarn_days = 99999999999\n", "'tls.warn_days'"),
    ("[identity]\nmax_sync_age_minutes = 99999999999\n", "'identity.max_sync_age_minutes'"),
    ("[network]\ntimeout_seconds = inf\n", "'network.timeout_seconds'"),
    ("[dns]\ntimeout_seconds = nan\n", "'dns.timeout_seconds'"),
    ('[network]\nservices = "entra"\n', "'network.services'"),
    ('[dns]\ndomains = ["contoso .com"]\n', "'dns.domains'"),
    ('[tls]\nhosts = ["sts contoso.test"]\n', "'tls.hosts'"),
    ('[[network.targets]]\nname = "dc01"\nhost = "127.0.0.1"\nports = []\n', "at least one port"),
    ('[output]\nformat = ["pdf"]\n', "'output.format'"),
    ('base_dir = "/etc"\n', "unknown key 'base_dir'"),
    ('[tenant]\nid = "contoso tenant"\n', "'tenant.id'"),
    ('[directory]\nservers = ["dc 01.contoso.test"]\n', "'directory.servers'"),
    ('[directory]\nservers = ["dc01.contoso.test:70000"]\n', "'directory.servers'"),
    ('[directory]\npage_size = "1000"\n', "'directory.page_size'"),
])
def test_wrong_types_and_ranges_are_exit_2(tmp_path, text, fragment):
    path = write(tmp_path / "p.toml", text)
    assert_one_line_exit_2(cli("scan", "--profile", path), path, fragment)


def test_float_settings_take_integers(tmp_path):
    profile = load_profile(write(tmp_path / "p.toml", "[tenant]\ntimeout_seconds = 10\n[network]\ntimeout_seconds = 2\n"))
    assert profile.tenant.timeout_seconds == 10.0 and profile.network.timeout_seconds == 2.0


def test_every_number_in_the_profile_has_an_upper_bound():
    for section_name, section in Profile.model_fields.items():
        annotation = section.annotation
        if not (isinstance(annotation, type) and hasattr(annotation, "model_fields")):
            continue
        for name, field in annotation.model_fields.items():
            if field.annotation in (int, float):
                bounds = [m for m in field.metadata if hasattr(m, "le") or hasattr(m, "lt")]
                assert bounds, f"{section_name}.{name} has no upper bound"


def test_warn_days_at_its_bound_is_accepted(tmp_path):
    assert load_profile(write(tmp_path / "p.toml", "[tls]\nwarn_days = 3650\n")).tls.warn_days == 3650


# ---- files and URLs the profile names --------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ('[tenant]\nca_bundle = "missing.pem"\n', "'tenant.ca_bundle': file not found"),
    ('[directory]\nca_bundle = "missing.pem"\n', "'directory.ca_bundle': file not found"),
    ('[tenant]\nca_bundle = "not-pem.txt"\n', "'tenant.ca_bundle': not-pem.txt is not a PEM certificate bundle"),
    ('[tls]\ntrust = "missing.pem"\n', "'tls.trust': file not found"),
    ('[tenant]\nauthority = "http://login.example.test"\n', "http:// is accepted only for loopback"),
    ('[tenant]\nauthority = "ftp://login.example.test"\n', "not an https URL"),
    ('[tenant]\nauthority = "https://login.example.test:99999"\n', "valid port"),
    ('[tenant]\nauthority = "login example"\n', "'tenant.authority'"),
    ('[tenant]\ngraph_url = "https://127.0.0.1:0"\n', "valid port"),
])
def test_files_and_urls_are_checked_at_load(tmp_path, text, fragment):
    (tmp_path / "not-pem.txt").write_text("hello\n")
    path = write(tmp_path / "p.toml", text)
    assert_one_line_exit_2(cli("scan", "--profile", path, "--no-network"), path, fragment)


@pytest.mark.parametrize("authority", ["https://login.example.test", "login.microsoftonline.us",
                                       "http://127.0.0.1:8443", "https://[::1]:8443/"])
def test_good_authorities_load(tmp_path, authority):
    path = write(tmp_path / "p.toml", f'[tenant]\nauthority = "{authority}"\n')
    assert load_profile(path).tenant.authority == authority


@pytest.mark.parametrize("url", ["https://127.0.0.1:99999", "https://graph.example.test:-1", "https://[::1"])
def test_graph_url_with_a_bad_port_is_one_line(url):
    assert_one_line_exit_2(cli("scan", "--graph-url", url), "--graph-url:")


def test_a_token_that_cannot_be_a_header_is_exit_2_and_not_echoed():
    result = cli("scan", "--auth", "token", "--no-network", env={"EMS_READINESS_TOKEN": "s3cr\u00e9t-token"})
    line = assert_one_line_exit_2(result, "EMS_READINESS_TOKEN")
    assert "s3cr" not in line


# ---- everything is validated before the first probe --------------------------------------------

class ConnectionCounter:
    """A loopback listener standing in for Graph: counts connections and closes them at once."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def graph_counter():
    counter = ConnectionCounter()
    yield counter
    counter.close()


def bad_inputs(tmp_path) -> dict[str, list[str]]:
    unwritable = tmp_path / "a-file"
    unwritable.write_text("")
    return {
        "suppressions": ["--suppress", write(tmp_path / "s.toml", '[[suppress]]\ncheck = "DNS-001"\n')],
        "suppressed check": ["--suppress", write(tmp_path / "s2.toml",
                                                 '[[suppress]]\ncheck = "DNS-01"\nreason = "x"\n')],
        "baseline": ["--baseline", write(tmp_path / "b.json", '{"schema": "ems-readiness/results/v1"}')],
        "catalogue": ["--profile", write(tmp_path / "p.toml", '[network]\ncatalog = "c.toml"\n')],
        "output folder": ["--out", str(unwritable / "sub")],
        "format": ["--format", "html,pdf"],
    }


@pytest.mark.parametrize("kind", ["suppressions", "suppressed check", "baseline", "catalogue", "output folder", "format"])
def test_bad_inputs_stop_the_scan_before_any_request(tmp_path, graph_counter, kind):
    write(tmp_path / "c.toml", '[[endpoint]]\nhost = "a b"\nports = [443]\nservice = "entra"\nsource = "x"\n')
    out = tmp_path / "out"
    args = ["scan", "--no-network", "--auth", "token", "--graph-url", graph_counter.url, "--out", str(out),
            *bad_inputs(tmp_path)[kind]]
    result = cli(*args, env={"EMS_READINESS_TOKEN": "opaque-test-token"})
    assert_one_line_exit_2(result)
    assert graph_counter.count == 0
    assert not out.exists()


def test_the_same_scan_with_good_inputs_does_reach_graph(tmp_path, graph_counter):
    # the counter sees a request when nothing is wrong: the test above proves something
    result = cli("scan", "--no-network", "--auth", "token", "--graph-url", graph_counter.url,
                 "--out", str(tmp_path / "out"), env={"EMS_READINESS_TOKEN": "opaque-test-token"})
    assert result.exit_code == 3, result.stderr
    assert graph_counter.count >= 1


def test_suppression_of_an_unknown_check_names_the_closest(tmp_path):
    path = write(tmp_path / "s.toml", '[[suppress]]\ncheck = "dns-001"\nreason = "x"\n')
    assert_one_line_exit_2(cli("demo", "--suppress", path, "--out", str(tmp_path / "o")), "unknown check 'dns-001'",
                           "did you mean 'DNS-001'?")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["demo", "report"])
def test_failed_runs_leave_no_output_folder(tmp_path, command):
    results = write_json(tmp_path / "r.json", results_dict())
    out = tmp_path / "deep" / "out"
    args = [command, results] if command == "report" else [command]
    result = cli(*args, "--out", str(out), "--baseline", str(tmp_path / "missing.json"))
    assert_one_line_exit_2(result, "missing.json")
    assert not out.exists() and not (tmp_path / "deep").exists()


def test_an_output_folder_is_created_when_there_is_something_to_write(tmp_path):
    out = tmp_path / "deep" / "out"
    result = cli("report", write_json(tmp_path / "r.json", results_dict()), "--out", str(out))
    assert result.exit_code == 1, result.stderr
    assert (out / "results.json").is_file()


# ---- click's own errors are one line ---------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["scan", "--bogus-flag"], "No such option '--bogus-flag'"),
    (["report"], "Missing argument"),
    (["scan", "--fail-on", "sometimes"], "Invalid value for '--fail-on'"),
    (["nonsense"], "No such command 'nonsense'"),
    (["scan", "--profile"], "requires an argument"),
    (["catalog", "import"], "Missing argument"),
])
def test_click_usage_errors_are_one_line(args, fragment):
    line = assert_one_line_exit_2(cli(*args), fragment)
    assert "--help" in line


def test_help_and_version_still_work():
    assert cli("--help").exit_code == 0
    result = cli("--version")
    assert result.exit_code == 0 and "ems-readiness" in result.stdout


def test_an_error_holding_a_line_break_stays_one_line(tmp_path):
    path = write(tmp_path / "p.toml", '[tenant]\n"a\\nb" = 1\n')
    line = assert_one_line_exit_2(cli("scan", "--profile", path), "unknown key")
    assert "a\\nb" in line


# ---- a UTF-8 byte-order mark is accepted ------------------------------------------------------

def test_byte_order_mark_in_profile_suppressions_and_results(tmp_path):
    bom = "\ufeff"
    profile = write(tmp_path / "p.toml", bom + "[tls]\nwarn_days = 14\n")
    assert load_profile(profile).tls.warn_days == 14
    results = write(tmp_path / "r.json", bom + json.dumps(results_dict()))
    suppress = write(tmp_path / "s.toml", bom + '[[suppress]]\ncheck = "DNS-001"\nreason = "accepted"\n')
    result = cli("report", results, "--suppress", suppress, "--baseline", results, "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.stderr  # the only failure is suppressed
    catalog = write(tmp_path / "c.toml", bom + CATALOG_ENTRY)
    assert load_catalog(catalog)[0].host == "login.example.test"


# ---- hostile files: one line naming the file -------------------------------------------------

def deep_toml(levels: int) -> str:
    return "a = " + "[" * levels + "]" * levels + "\n"


@pytest.mark.parametrize("text", [deep_toml(100_000), "a = " + "{b = " * 5000 + "1" + "}" * 5000, deep_toml(200)])
def test_deeply_nested_toml(tmp_path, text):
    for args in (["scan", "--profile"], ["demo", "--suppress"], ["catalog", "show", "--catalog"]):
        path = write(tmp_path / "deep.toml", text)
        assert_one_line_exit_2(cli(*args, path), path)


def results_with(tmp_path, change: typing.Callable[[dict], object] | None = None, text: str | None = None) -> str:
    data = results_dict()
    if change:
        change(data)
    path = tmp_path / "r.json"
    path.write_text(text if text is not None else json.dumps(data), encoding="utf-8", errors="surrogatepass")
    return str(path)


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"k": value}
    return value


HOSTILE_RESULTS = {
    "naive datetime": (lambda d: d.update(started="2026-01-02T03:04:05"), "timezone"),
    "year 9999": (lambda d: d.update(finished="9999-12-31T23:59:59+00:00"), "not plausible"),
    "year 1": (lambda d: d.update(started="0001-01-01T00:00:00+00:00"), "not plausible"),
    "lone surrogate": (lambda d: d.update(tenant_name="x\ud800y"), "lone surrogate"),
    "surrogate key": (lambda d: d["settings"].update({"\udfff": 1}), "lone surrogate"),
    "evidence 600 deep": (lambda d: d["checks"][0]["findings"][0]["evidence"][0].update(data=nested(600)),
                          "nested deeper"),
    "string for a list": (lambda d: d.update(checks="x"), "'checks'"),
    "bad status": (lambda d: d["checks"][0].update(status="great"), "'checks.0.status'"),
}


@pytest.mark.parametrize("case", HOSTILE_RESULTS)
def test_hostile_results_files(tmp_path, case):
    change, fragment = HOSTILE_RESULTS[case]
    path = results_with(tmp_path, change)
    for args in (["report", path], ["diff", path, path], ["demo", "--baseline", path]):
        assert_one_line_exit_2(cli(*args, *(["--out", str(tmp_path / "o")] if args[0] != "diff" else [])),
                               path, fragment)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_non_finite_numbers_in_results(tmp_path, constant):
    text = json.dumps(results_dict()).replace('"duration_ms": 0.0', f'"duration_ms": {constant}', 1)
    assert constant in text
    path = results_with(tmp_path, text=text)
    assert_one_line_exit_2(cli("report", path, "--out", str(tmp_path / "o")), path, f"{constant} is not a JSON number")


def test_deeply_nested_json(tmp_path):
    path = results_with(tmp_path, text="[" * 100_000)
    assert_one_line_exit_2(cli("report", path), path, "nested")
    assert_one_line_exit_2(cli("catalog", "import", path), path, "nested")


def test_legitimate_extremes_of_results_render(tmp_path):
    def change(d):
        d.update(started="2000-01-01T00:00:00-23:59", finished="9000-12-31T23:59:59+14:00",
                 tenant_name="\u202e\u0000<script>\U0001f600", settings={"x": nested(40)})
        d["checks"][0]["findings"][0]["evidence"][0].update(data=nested(50), elapsed_ms=1e308)
    path = results_with(tmp_path, change)
    result = cli("report", path, "--out", str(tmp_path / "o"), "--format", "html,json,junit,sarif,md,csv")
    assert result.exit_code == 1, result.stderr
    assert len(list((tmp_path / "o").iterdir())) == 7  # csv: findings.csv and actions.csv


# ---- catalog import: never a catalogue the tool then refuses ------------------------------------

def test_catalog_import_into_a_missing_folder(tmp_path):
    sets = write_json(tmp_path / "sets.json", endpoint_sets())
    target = tmp_path / "missing" / "cat.toml"
    assert_one_line_exit_2(cli("catalog", "import", sets, "--out", str(target)), "folder not found")
    assert not target.parent.exists()


@pytest.mark.parametrize("change, fragment", [
    ({"tcpPorts": "0,443"}, "bad port list"),
    ({"tcpPorts": "99999"}, "bad port list"),
    ({"tcpPorts": "500-400"}, "bad port list"),
    ({"tcpPorts": "443,"}, "bad port list"),
    ({"tcpPorts": "\u0663\u0664\u0663"}, "bad port list"),  # digits, but not ASCII ones
    ({"tcpPorts": 443}, "'tcpPorts' must be a string"),
    ({"urls": ["login microsoftonline.com"]}, "not a host name"),
    ({"urls": ["bad_host..example"]}, "not a host name"),
    ({"urls": [7]}, "'urls' must be a list of strings"),
    ({"required": "yes"}, "'required' must be true or false"),
    ({"id": True}, "integer 'id'"),
])
def test_catalog_import_refuses_what_it_could_not_load(tmp_path, change, fragment):
    sets = endpoint_sets()
    sets[0].update(change)
    path = write_json(tmp_path / "sets.json", sets)
    out = tmp_path / "cat.toml"
    assert_one_line_exit_2(cli("catalog", "import", path, "--out", str(out)), path, fragment)
    assert not out.exists()


def test_imported_catalogue_loads_with_the_same_loader(tmp_path):
    sets = endpoint_sets()
    sets[1]["notes"] = 'quotes " and \\ and \x7f DEL and\nnewline'
    out = tmp_path / "cat.toml"
    result = cli("catalog", "import", write_json(tmp_path / "sets.json", sets), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    endpoints = load_catalog(out)
    assert {e.host for e in endpoints} >= {"login.microsoftonline.com", "outlook.office365.com"}
    assert cli("catalog", "show", "--catalog", str(out)).exit_code == 0


# ---- a few real processes: what a user's shell sees ------------------------------------------

def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": "true"}
    env.pop("HTTPS_PROXY", None)
    return subprocess.run([sys.executable, "-m", "ems_readiness.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_real_process_errors_are_one_line(tmp_path):
    deep = write(tmp_path / "deep.toml", deep_toml(100_000))
    bad_results = results_with(tmp_path, lambda d: d.update(tenant_name="\ud800"))
    for args in (["scan", "--bogus-flag"], ["scan", "--graph-url", "https://127.0.0.1:99999"],
                 ["scan", "--profile", deep], ["report", bad_results], ["scan", "--skip", "netwrk"]):
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(PREFIX), (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_real_process_accepts_a_byte_order_mark(tmp_path):
    profile = write(tmp_path / "p.toml", "\ufeff[tls]\nwarn_days = 14\n")
    proc = run("scan", "--profile", profile, "--no-network", "--no-tenant")
    assert proc.returncode == 2 and "nothing to scan" in proc.stderr  # the profile itself loaded
