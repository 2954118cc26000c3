"""The Microsoft endpoint catalogue: the built-in file, bad files, and the web-service import."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ems_readiness.engine.endpoints import (
    CatalogError,
    dump_catalog,
    host_matches,
    import_m365_json,
    is_concrete_host,
    load_catalog,
    parse_catalog,
    wildcard_probe_hosts,
)

DATA = Path(__file__).resolve().parent / "data"
M365_JSON = DATA / "m365-endpoints-2022.json"
SERVICES = {"entra", "intune", "rms", "autopilot", "entra-connect", "apple", "android"}


@pytest.fixture(scope="module")
def builtin():
    return load_catalog(None)


# --- the built-in catalogue --------------------------------------------------------------------


def test_builtin_catalogue_covers_every_service(builtin):
    assert {e.service for e in builtin} == SERVICES
    hosts = {(e.host, e.service) for e in builtin}
    for expected in [
        ("login.microsoftonline.com", "entra"),
        ("device.login.microsoftonline.com", "entra"),
        ("enterpriseregistration.windows.net", "entra"),
        ("graph.microsoft.com", "entra"),
        ("aadcdn.msftauth.net", "entra"),
        ("manage.microsoft.com", "intune"),
        ("enrollment.manage.microsoft.com", "intune"),
        ("enterpriseenrollment-s.manage.microsoft.com", "intune"),
        ("portal.manage.microsoft.com", "intune"),
        ("discover.aadrm.com", "rms"),
        ("api.aadrm.com", "rms"),
        ("ztd.dds.microsoft.com", "autopilot"),
        ("cs.dds.microsoft.com", "autopilot"),
        ("adminwebservice.microsoftonline.com", "entra-connect"),
        ("provisioningapi.microsoftonline.com", "entra-connect"),
    ]:
        assert expected in hosts


def test_builtin_entries_are_well_formed(builtin):
    for endpoint in builtin:
        assert endpoint.source and re.search(r"20\d\d", endpoint.source), endpoint.host
        if endpoint.probe:
            assert is_concrete_host(endpoint.host), endpoint.host
        else:
            assert endpoint.host.startswith("*.") and endpoint.notes
        if endpoint.tls:
            assert 443 in endpoint.ports and endpoint.probeable, endpoint.host


def test_covers_name_wildcards_the_host_stands_for(builtin):
    table = wildcard_probe_hosts()
    for endpoint in builtin:
        for pattern in endpoint.covers:
            assert pattern in table, f"{endpoint.host}: {pattern} missing from wildcard_probe_hosts.toml"
            assert host_matches(endpoint.host, pattern), (endpoint.host, pattern)


def test_no_ssl_inspection_is_noted_for_intune_management_hosts(builtin):
    manage = [e for e in builtin if e.host == "manage.microsoft.com"][0]
    assert "SSL inspection is not supported" in manage.notes
    assert manage.required and manage.tls


def test_the_wildcard_table_only_names_hosts_under_each_wildcard():
    for row in wildcard_probe_hosts().values():
        assert row.pattern.startswith("*.")
        assert row.tag in ("doc", "3p", "recall")
        for host in row.hosts:
            assert is_concrete_host(host) and host_matches(host, row.pattern), (host, row.pattern)
        if not row.hosts:
            assert row.notes, f"{row.pattern}: say why it is not probeable"


def test_host_matches():
    assert host_matches("manage.microsoft.com", "*.manage.microsoft.com")
    assert host_matches("a.b.manage.microsoft.com", "*.manage.microsoft.com")
    assert not host_matches("evilmanage.microsoft.com", "*.manage.microsoft.com")
    assert host_matches("login.live.com", "login.live.com")


def test_dump_and_load_round_trip(builtin, tmp_path):
    path = tmp_path / "copy.toml"
    path.write_text(dump_catalog(builtin, header="copy of the built-in catalogue"))
    assert load_catalog(path) == builtin
    assert path.read_text().startswith("# copy of the built-in catalogue\n")


# --- bad files -----------------------------------------------------------------------------------

GOOD = 'host = "login.microsoftonline.com"\nports = [443]\nservice = "entra"\nsource = "test"\n'


@pytest.mark.parametrize(
    "text, words",
    [
        ("[[endpoint]]\n" + GOOD + "prots = [443]\n", ["endpoint 1 (login.microsoftonline.com)", "unknown key 'prots'"]),
        ("[[endpoint]]\n" + GOOD.replace("[443]", "[0]"), ["endpoint 1", "port numbers 1-65535", "0"]),
        ("[[endpoint]]\n" + GOOD.replace("[443]", "[70000]"), ["70000"]),
        ("[[endpoint]]\n" + GOOD.replace("[443]", '["443"]'), ["'443'"]),
        ("[[endpoint]]\n" + GOOD.replace("[443]", "[true]"), ["True"]),
        ("[[endpoint]]\n" + GOOD.replace("[443]", "[]"), ["missing 'ports'"]),
        ("[[endpoint]]\n" + GOOD.replace('host = "login.microsoftonline.com"\n', ""), ["endpoint 1:", "missing 'host'"]),
        ("[[endpoint]]\n" + GOOD.replace('source = "test"\n', ""), ["missing 'source'"]),
        ("[[endpoint]]\n" + GOOD + "tls = 1\n", ["'tls' must be true or false"]),
        ("[[endpoint]]\n" + GOOD + 'protocol = "icmp"\n', ["'protocol' must be one of tcp, udp"]),
        ("[[endpoint]]\n" + GOOD.replace("login.", "*."), ["not a concrete host name", "probe = false"]),
        ("[[endpoint]]\n" + GOOD + "\n[[endpoint]]\n" + GOOD, ["endpoint 2", "duplicate of endpoint 1"]),
        ("[[endpoint]]\n" + GOOD + "covers = [1]\n", ["'covers' must hold non-empty strings"]),
        ('title = "x"\n[[endpoint]]\n' + GOOD, ["unknown top-level key 'title'"]),
        ("", ["no [[endpoint]] entries"]),
        ("[[endpoint]\n", ["not valid TOML"]),
    ],
)
def test_bad_catalogues_name_the_file_and_the_entry(tmp_path, text, words):
    path = tmp_path / "custom.toml"
    path.write_text(text)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in words:
        assert word in message


def test_a_missing_catalogue_file(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope.toml")


def test_a_wildcard_may_be_listed_as_not_probeable(tmp_path):
    text = "[[endpoint]]\n" + GOOD.replace("login.", "*.") + "probe = false\n"
    (endpoint,) = parse_catalog(text, "inline")
    assert endpoint.host == "*.microsoftonline.com" and not endpoint.probeable


def test_the_same_host_may_serve_two_services():
    text = "[[endpoint]]\n" + GOOD + "\n[[endpoint]]\n" + GOOD.replace('"entra"', '"entra-connect"')
    assert len(parse_catalog(text, "inline")) == 2


# --- import of the endpoints web service ---------------------------------------------------------


@pytest.fixture(scope="module")
def imported():
    text = import_m365_json(M365_JSON)
    return text, parse_catalog(text, "imported")


def by_host(endpoints, host, service=None):
    found = [e for e in endpoints if e.host == host and (service is None or e.service == service)]
    assert found, host
    return found[0]


def test_import_produces_a_loadable_catalogue(imported):
    text, endpoints = imported
    assert text.startswith("# Microsoft endpoint catalogue imported from m365-endpoints-2022.json")
    sets = json.loads(M365_JSON.read_text())
    assert f"{len(sets)} endpoint sets" in text
    assert all(is_concrete_host(e.host) for e in endpoints if e.probe)


def test_import_maps_endpoint_sets_to_services(imported):
    _, endpoints = imported
    login = by_host(endpoints, "login.microsoftonline.com")
    assert login.service == "entra" and login.ports == (80, 443) and login.tls and login.required
    assert login.covers == ("*.microsoftonline.com",)  # from set 59's wildcard, merged with set 56's host
    assert "endpoint sets 56, 59" in login.source
    assert by_host(endpoints, "ecn.dev.virtualearth.net").service == "rms"


def test_import_replaces_wildcards_with_concrete_probe_hosts(imported):
    _, endpoints = imported
    for host in ("discover.aadrm.com", "admin.na.aadrm.com", "api.aadrm.com"):
        endpoint = by_host(endpoints, host, "rms")
        assert endpoint.covers == ("*.aadrm.com",) and endpoint.probe
    msauth = {e.host for e in endpoints if "*.msauth.net" in e.covers}
    assert msauth == {"aadcdn.msauth.net", "alcdn.msauth.net"}


def test_import_keeps_wildcards_without_a_concrete_host_as_not_probeable(imported):
    _, endpoints = imported
    azurerms = by_host(endpoints, "*.azurerms.com")
    assert not azurerms.probe and "No concrete host is published" in azurerms.notes
    unknown = by_host(endpoints, "*.sharepoint.com")
    assert not unknown.probe and "No concrete probe host known" in unknown.notes
    tenant = by_host(endpoints, "autodiscover.*.onmicrosoft.com")
    assert not tenant.probe and "Tenant- or region-specific" in tenant.notes


def test_import_keeps_optional_sets(imported):
    _, endpoints = imported
    optional = by_host(endpoints, "*.cloudapp.net")
    assert not optional.required and "optional" in optional.notes
    assert "Azure Rights Management (RMS) with Office 2010 clients" in optional.notes


def test_import_skips_ip_only_sets_and_keeps_udp_ports(tmp_path):
    # set 11 of the 2022 file has UDP ports but IP ranges only: nothing to probe by name
    sets = [
        {"id": 11, "serviceArea": "Skype", "ips": ["13.107.64.0/18"], "udpPorts": "3478,3479,3480,3481", "required": True},
        {"id": 900, "serviceArea": "Skype", "urls": ["media.example.test"], "udpPorts": "3478-3481,50000-59999", "required": True},
    ]
    path = tmp_path / "udp.json"
    path.write_text(json.dumps(sets))
    (media,) = parse_catalog(import_m365_json(path), "udp")
    assert media.protocol == "udp" and not media.tls and not media.probeable
    assert media.ports == (3478, 3479, 3480, 3481, 50000, 59999)  # a large range is kept as its two ends
    assert media.service == "m365-skype"


def test_import_has_no_duplicate_entries(imported):
    _, endpoints = imported
    keys = [(e.host, e.service, e.protocol) for e in endpoints]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("content, words", [("{not json", "not valid JSON"), ('{"a": 1}', "JSON array"), ('[{"urls": []}]', "endpoint set 1")])
def test_import_rejects_bad_files(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CatalogError, match=words):
        import_m365_json(path)


def test_import_rejects_a_bad_port_list(tmp_path):
    path = tmp_path / "ports.json"
    path.write_text(json.dumps([{"id": 7, "serviceArea": "Common", "urls": ["x.example.test"], "tcpPorts": "80,https"}]))
    with pytest.raises(CatalogError, match=r"endpoint set 1 \(id 7\): bad port list"):
        import_m365_json(path)
