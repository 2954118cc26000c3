"""Property-based tests of every input parser (issue 11): any input gives a valid object, or one
line on stderr and exit 2 — never a traceback.

Each parser is driven directly (fast, many inputs) and through the command line in-process with
click's CliRunner (the same `main` the console script runs). Inputs are built from the names and
values the parsers know, mixed with arbitrary ones, so that both the accepting and the refusing
paths are exercised. The number of generated inputs is fixed by `max_examples` below
(GENERATED_INPUTS sums them).
"""

from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings, strategies as st

from ems_readiness.cli import main
from ems_readiness.engine.endpoints import CatalogError, dump_catalog, import_m365_text, parse_catalog
from ems_readiness.engine.model import ResultsFileError, parse_results
from ems_readiness.engine.profile import Profile, ProfileError, load_profile, profile_from_dict
from ems_readiness.engine.suppressions import SuppressionError, parse_suppressions
from tests.support.inputs import CATALOG_ENTRY, endpoint_sets, results_dict

DIRECT = 150  # examples per property that calls a parser
THROUGH_CLI = 40  # examples per property that runs the command line
PROPERTIES = {"direct": 7, "cli": 5}
GENERATED_INPUTS = PROPERTIES["direct"] * DIRECT + PROPERTIES["cli"] * THROUGH_CLI


def examples(n: int):
    # derandomized: the same inputs in every run (CI and locally), no example database on disk
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


WORKDIR = Path(tempfile.mkdtemp(prefix="ems-input-properties-"))
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)
(WORKDIR / "cat.toml").write_text(CATALOG_ENTRY, encoding="utf-8")
KNOWN_CHECK_IDS = {"DNS-001", "DNS-004", "TLS-001", "NET-001", "LIC-001"}
BASE_RESULTS = results_dict()


def cli(*args: str):
    return CliRunner().invoke(main, list(args), env={"HTTPS_PROXY": "", "https_proxy": "", "CI": "true"})


def assert_valid_or_one_line_exit_2(result, ok_codes=(0, 1)) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the property fails with it
    if result.exit_code in ok_codes:
        return
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ems-readiness: error: "), result.stderr


def write(name: str, data: str | bytes) -> str:
    path = WORKDIR / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    return str(path)


def accepted_or_refused(parse, error: type[Exception], name: str) -> Any:
    """What `parse()` returns, or None when it refused with `error` naming the input."""
    try:
        value = parse()
    except error as exc:
        assert name in str(exc).partition(": ")[0], str(exc)
        event("refused")
        return None
    event("accepted")
    return value


# ---- generic values ----------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
any_text = st.text(max_size=12)  # lone surrogates included
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2, 70000), st.floats(), texts,
                    st.dates())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                      max_leaves=12)


def toml_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        items = [toml_value(v) for v in value]
        return "[" + ", ".join(i for i in items if i is not None) + "]"
    if isinstance(value, dict):
        items = [(toml_value(k), toml_value(v)) for k, v in value.items()]
        return "{" + ", ".join(f"{k} = {v}" for k, v in items if v is not None) + "}"
    raise TypeError(type(value))


def toml_tables(tables: dict[str, Any]) -> str:
    """TOML text for {section: {key: value}} (a non-dict section becomes a top-level key)."""
    lines: list[str] = []
    for section, body in tables.items():
        if isinstance(body, dict):
            lines.append(f"[{toml_value(section)}]")
            lines.extend(f"{toml_value(k)} = {v}" for k, v in ((k, toml_value(v)) for k, v in body.items()) if v is not None)
        elif toml_value(body) is not None:
            lines.insert(0, f"{toml_value(section)} = {toml_value(body)}")
    return "\n".join(lines) + "\n"


def array_of_tables(name: str, entries: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for entry in entries:
        lines.append(f"[[{name}]]")
        lines.extend(f"{toml_value(k)} = {v}" for k, v in ((k, toml_value(v)) for k, v in entry.items()) if v is not None)
    return "\n".join(lines) + "\n"


def with_mutation(text: str) -> st.SearchStrategy[str]:
    """The text, or the text with a random cut, insertion or byte-order mark."""
    def mutate(args):
        kind, at, extra = args
        at = at % (len(text) + 1)
        return {"as is": text, "cut": text[:at], "insert": text[:at] + extra + text[at:], "bom": "\ufeff" + text}[kind]
    return st.tuples(st.sampled_from(["as is", "as is", "cut", "insert", "bom"]), st.integers(0, 10_000),
                     st.text(max_size=6)).map(mutate)


@st.composite
def mutated(draw, base: dict[str, Any], pool: dict[str, list[Any]], max_ops: int = 2) -> dict[str, Any]:
    """`base` with up to `max_ops` keys set (mostly to values the parser knows) or removed."""
    table = dict(base)
    for _ in range(draw(st.integers(0, max_ops))):
        key = draw(st.sampled_from(sorted(pool)) | texts)
        if key in table and draw(st.integers(0, 3)) == 0:
            del table[key]
        elif key in pool and draw(st.integers(0, 3)) > 0:
            table[key] = draw(st.sampled_from(pool[key]))
        else:
            table[key] = draw(values)
    return table


# ---- the profile -----------------------------------------------------------------------------

PROFILE_POOL: dict[str, list[Any]] = {
    "id": ["contoso.onmicrosoft.com"], "graph_url": ["https://graph.microsoft.com", "http://127.0.0.1:8080",
                                                     "http://graph.test", "https://h:99999"],
    "auth": ["default", "token", "cli", "magic"], "client_id": ["abc"], "concurrency": [1, 8, 64, 65, 1024, 0],
    "timeout_seconds": [0.5, 5, 30, 0, 600, 601, True, "5"], "max_retry_wait_seconds": [0, 60, 5000],
    "authority": ["https://login.example.test", "http://x.test", "login.example.test", "http://127.0.0.1:1"],
    "ca_bundle": ["missing.pem", "cat.toml"], "model": ["cloud-only", "synced", "federated", "hybrid"],
    "max_sync_age_minutes": [1, 180, 0, 525_601], "features": [{"passwordSyncEnabled": True}, {"x": "yes"}],
    "resolvers": [{"public": "127.0.0.1:5353"}, {"a": "[::1]:53"}, {"b": "nope"}],
    "domains": [["contoso.test"], ["bad domain"], []], "hosts": [["sts.contoso.test", "mail.test:8443"], ["h:0"]],
    "warn_days": [0, 30, 3650, 3651, 99999999999], "trust": ["system", "cat.toml", "missing.pem"],
    "services": [["entra", "intune"], ["intunee"], [], ["rms", "autopilot", "entra-connect"]],
    "proxy": ["", "http://127.0.0.1:3128", "http://u:p@127.0.0.1:3128", "socks://x"],
    "catalog": ["cat.toml", "missing.toml"], "targets": [[{"name": "dc", "host": "127.0.0.1", "ports": [389]}],
                                                         [{"name": "dc", "host": "h", "ports": ["22"]}]],
    "servers": [["dc01.contoso.test:636"], ["dc01 bad"]], "page_size": [1, 1000, 1001],
    "format": [["html", "json"], ["pdf"]], "fail_on": ["high", "never"], "lang": ["en", "zh-CN", "fr"],
}
SECTIONS = {name: list(field.annotation.model_fields) for name, field in Profile.model_fields.items()
            if hasattr(field.annotation, "model_fields")}


@st.composite
def profile_sections(draw) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from(sorted(SECTIONS)) | texts)
        if section not in SECTIONS or draw(st.integers(0, 9)) == 0:
            raw[section] = draw(values)
            continue
        pool = {k: PROFILE_POOL.get(k, [None]) for k in SECTIONS[section]}
        body = raw.get(section) if isinstance(raw.get(section), dict) else {}
        raw[section] = draw(mutated({k: v for k, v in body.items() if v is not None}, pool, 2))
    return raw


profile_sections = profile_sections()


@examples(DIRECT)
@given(profile_sections)
def test_profile_dicts(raw):
    profile = accepted_or_refused(lambda: profile_from_dict(raw, source="p.toml", base_dir=WORKDIR), ProfileError,
                                  "p.toml")
    if profile is None:
        return
    again = profile_from_dict(profile.model_dump(exclude={"base_dir"}, exclude_unset=True), base_dir=WORKDIR)
    assert again == profile


@examples(DIRECT)
@given(profile_sections.map(toml_tables).flatmap(with_mutation))
def test_profile_texts(text):
    accepted_or_refused(lambda: load_profile(write("profile.toml", text)), ProfileError, "profile.toml")


@examples(THROUGH_CLI)
@given(profile_sections.map(toml_tables).flatmap(with_mutation) | st.binary(max_size=200))
def test_profile_through_the_command_line(data):
    # both sides off: a valid profile ends at "nothing to scan", after loading, without probing
    result = cli("scan", "--profile", write("cli-profile.toml", data), "--no-network", "--no-tenant")
    assert_valid_or_one_line_exit_2(result, ok_codes=())
    event("profile loaded" if "nothing to scan" in result.stderr else "refused")


# ---- the endpoint catalogue -------------------------------------------------------------------

CATALOG_POOL: dict[str, list[Any]] = {
    "host": ["login.example.test", "LOGIN.example.test ", "*.example.test", "a b", "127.0.0.1", ""],
    "ports": [[443], [80, 443], [], [0], [70000], ["443"], [True]], "service": ["entra", "intune", " rms ", ""],
    "source": ["test", ""], "tls": [True, False, 1], "covers": [["*.example.test"], [""], [3]],
    "required": [True, False], "notes": ["n", " spaced "], "protocol": ["tcp", "udp", "sctp"], "probe": [True, False],
}
CATALOG_BASE = {"host": "login.example.test", "ports": [443], "service": "entra", "source": "test"}
catalog_entries = st.lists(mutated(CATALOG_BASE, CATALOG_POOL), max_size=3)
catalog_texts = catalog_entries.map(lambda e: array_of_tables("endpoint", e)).flatmap(with_mutation)


@examples(DIRECT)
@given(catalog_texts)
def test_catalogue_texts(text):
    endpoints = accepted_or_refused(lambda: parse_catalog(text, "cat.toml"), CatalogError, "cat.toml")
    if endpoints is not None:
        assert parse_catalog(dump_catalog(endpoints), "again") == endpoints  # what it writes, it reads


@examples(THROUGH_CLI)
@given(catalog_texts | st.binary(max_size=200))
def test_catalogue_through_the_command_line(data):
    assert_valid_or_one_line_exit_2(cli("catalog", "show", "--catalog", write("cli-cat.toml", data)), ok_codes=(0,))


# ---- suppressions --------------------------------------------------------------------------------

SUPPRESSION_POOL: dict[str, list[Any]] = {
    "check": ["DNS-001", "dns-001", "XYZ-1", ""], "resource": ["*", "contoso.test", "*.test"],
    "reason": ["accepted", "", "  "], "owner": ["mail-team"], "expires": [date(2027, 1, 31), "2027-01-31", "soon"],
}
suppression_texts = st.lists(mutated({"check": "DNS-001", "reason": "accepted"}, SUPPRESSION_POOL), max_size=3).map(lambda e: array_of_tables("suppress", e)).flatmap(with_mutation)


@examples(DIRECT)
@given(suppression_texts)
def test_suppression_texts(text):
    rules = accepted_or_refused(lambda: parse_suppressions(text, "s.toml", KNOWN_CHECK_IDS), SuppressionError, "s.toml")
    assert all(rule.check in KNOWN_CHECK_IDS and rule.reason for rule in rules or [])


@examples(THROUGH_CLI)
@given(suppression_texts | st.binary(max_size=200))
def test_suppressions_through_the_command_line(data):
    results = write("suppressed-results.json", json.dumps(BASE_RESULTS))
    out = tempfile.mkdtemp(dir=WORKDIR)
    result = cli("report", results, "--suppress", write("cli-s.toml", data), "--out", out, "--format", "json")
    assert_valid_or_one_line_exit_2(result)


# ---- results files --------------------------------------------------------------------------------

def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(paths(item, (*prefix, index)))
    return found


RESULT_PATHS = paths(BASE_RESULTS)[1:]
result_values = st.one_of(
    values, any_text, st.sampled_from(["2026-01-02T03:04:05", "9999-12-31T23:59:59+00:00", "2026-01-02T03:04:05Z",
                                       "fail", "error", "dns", "x\ud800", 10 ** 400, -1.0, 1e308]),
)


@st.composite
def results_documents(draw) -> str:
    data = json.loads(json.dumps(BASE_RESULTS))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(RESULT_PATHS))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(result_values)
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(data, ensure_ascii=draw(st.booleans()), default=str)
    return draw(with_mutation(text))


@examples(DIRECT)
@given(results_documents())
def test_results_files(text):
    results = accepted_or_refused(lambda: parse_results(text, "r.json"), ResultsFileError, "r.json")
    if results is not None:
        assert parse_results(results.dump_json(), "again") == results  # what it writes, it reads


@examples(THROUGH_CLI)
@given(results_documents() | st.binary(max_size=200))
def test_results_through_the_command_line(data):
    # accepted results must render in every format; refused ones are one line
    path = write("cli-results.json", data)
    out = tempfile.mkdtemp(dir=WORKDIR)
    result = cli("report", path, "--baseline", path, "--out", out, "--format", "html,json,junit,sarif,md,csv")
    assert_valid_or_one_line_exit_2(result)


# ---- the endpoints web service export for `catalog import` ----------------------------------------

EXPORT_POOL: dict[str, list[Any]] = {
    "id": [56, 6, 9, 125, 164, -1, True, "56"],
    "urls": [["login.microsoftonline.com"], ["*.manage.microsoft.com"], ["*.example.test", "x.example.test"],
             ["<tenant>.sharepoint.com"], ["a b.test"], ["bad..host"], [7], [""], "x"],
    "tcpPorts": ["80,443", "443", "3478-3481", "1-65535", "0", "99999", "500-400", "443,", "x", 443],
    "udpPorts": ["3478-3481", "", "65535"], "required": [True, False, "yes"],
    "serviceArea": ["Common", "Exchange", "", "Ω mixed Area"], "notes": ["note", 'q"uote\n\x7f'],
    "category": ["Allow", "Optimize"], "serviceAreaDisplayName": ["Exchange Online"], "expressRoute": [True],
}
export_texts = st.lists(
    st.sampled_from(endpoint_sets()).flatmap(lambda base: mutated(base, EXPORT_POOL)), max_size=4,
).map(lambda sets: json.dumps(sets, ensure_ascii=False, default=str)).flatmap(with_mutation)


@examples(DIRECT)
@given(export_texts)
def test_endpoint_exports(text):
    catalog = accepted_or_refused(lambda: import_m365_text(text, Path("sets.json")), CatalogError, "sets.json")
    if catalog is not None:
        assert parse_catalog(catalog, "imported")  # never a catalogue the tool itself refuses


@examples(THROUGH_CLI)
@given(export_texts | st.binary(max_size=200))
def test_endpoint_exports_through_the_command_line(data):
    out = WORKDIR / "imported.toml"
    out.unlink(missing_ok=True)
    result = cli("catalog", "import", write("cli-sets.json", data), "--out", str(out))
    assert_valid_or_one_line_exit_2(result, ok_codes=(0,))
    if result.exit_code == 0:
        assert cli("catalog", "show", "--catalog", str(out)).exit_code == 0
    else:
        assert not out.exists()


@examples(DIRECT)
@given(st.sampled_from(["profile", "catalogue", "suppressions", "results", "export"]), st.binary(max_size=300))
def test_arbitrary_bytes(kind, data):
    text = data.decode("utf-8", errors="surrogateescape")
    parse = {"profile": lambda: load_profile(write("bytes.toml", data)),
             "catalogue": lambda: parse_catalog(text, "b"),
             "suppressions": lambda: parse_suppressions(text, "b"),
             "results": lambda: parse_results(text, "b"),
             "export": lambda: import_m365_text(text, Path("b"))}[kind]
    try:
        parse()
    except (ProfileError, CatalogError, SuppressionError, ResultsFileError):
        pass
