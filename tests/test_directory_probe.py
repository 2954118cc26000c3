"""The directory probe against a real Active Directory (Samba AD DC in a namespace, tests/support/samba.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest

from ems_readiness.engine.check import check
from ems_readiness.engine.profile import ProfileError, profile_from_dict
from ems_readiness.engine.runner import ScanAbort, ScanOptions, scan
from ems_readiness.probes.base import EvidenceLog, ProbeError
from ems_readiness.probes.directory import (DirectoryProbe, open_directory_source, outermost, parse_server,
                                            split_range, text_value)
from tests.support.samba import (ADMIN_DN, ADMIN_PASSWORD, BASE_DN, CORP_OU, DNS_DOMAIN, DROPPED_PORT,
                                 NETBIOS_DOMAIN)
from tests.support.samba_data import CONSISTENCY_GUID, FILLER_USERS, TENANT_ID, USERS, admin_connection

IDFIX_FILTER = "(|(objectCategory=Person)(objectCategory=Group))"


def directory_profile(dc, tmp_path=None, **settings):
    section = {"servers": [dc.server(636)], "bind_dn": ADMIN_DN, "ca_bundle": str(dc.ca_file),
               "timeout_seconds": 5, **settings}
    return profile_from_dict({"directory": section})


def source(dc, monkeypatch, password=ADMIN_PASSWORD, log=None, **settings) -> DirectoryProbe:
    monkeypatch.setenv("EMS_READINESS_LDAP_PASSWORD", password)
    probe = open_directory_source(directory_profile(dc, **settings), log or EvidenceLog())
    assert isinstance(probe, DirectoryProbe)
    return probe


async def read_all(probe: DirectoryProbe, what: str = "objects"):
    try:
        return [obj async for obj in getattr(probe, what)()]
    finally:
        await probe.close()


def count_directly(dc, base: str = BASE_DN, ldap_filter: str = IDFIX_FILTER) -> int:
    with admin_connection(dc) as conn:
        entries = conn.extend.standard.paged_search(base, ldap_filter, attributes=["cn"], paged_size=500,
                                                    generator=False)
        return sum(1 for e in entries if e.get("type") == "searchResEntry")


# --- pure parts ------------------------------------------------------------------------------------

def test_server_syntax():
    assert parse_server("dc01.corp.example").port == 636
    assert parse_server("dc01", use_gc=True).port == 3269
    assert parse_server("10.0.0.4:389").starttls and parse_server("dc:3268").global_catalog
    assert parse_server("[fd00::4]:3269").url == "ldaps://[fd00::4]:3269"
    for bad in ("", "dc01:0", "dc01:x", "ldaps://dc01", "dc_01!", "[fd00::4"):
        with pytest.raises(ValueError):
            parse_server(bad)


def test_values_and_ranges():
    assert text_value("objectguid", CONSISTENCY_GUID.bytes_le) == str(CONSISTENCY_GUID)
    assert text_value("mail", "Ériç@x".encode()) == "Ériç@x"
    assert split_range("member;range=0-1499") == ("member", 1499)
    assert split_range("member;range=1500-*") == ("member", None)
    assert split_range("mail") == ("mail", None)
    assert outermost(["OU=A,DC=x", "OU=B, ou=a,DC=x", "OU=C,DC=x", "OU=A,DC=x"]) == ["OU=A,DC=x", "OU=C,DC=x"]


@pytest.mark.parametrize("settings, words", [
    ({"servers": ["dc01:99999"]}, "bad port"),
    ({"servers": ["ldap://dc01"]}, "not a URL"),
    ({"ca_bundle": "/nonexistent/ca.pem"}, "directory.ca_bundle"),
    ({"scope_filter": "(&(mail=*)"}, "not an LDAP filter"),
    ({"bind_dn": None}, "no bind_dn"),
])
def test_bad_directory_settings_fail_at_profile_load(settings, words):
    with pytest.raises(ProfileError, match=words.replace(".", r"\.")):
        profile_from_dict({"directory": {"servers": ["dc01"], "bind_dn": "u@corp.example", **settings}})


def test_password_only_from_the_environment(monkeypatch):
    monkeypatch.delenv("EMS_READINESS_LDAP_PASSWORD", raising=False)
    with pytest.raises(ProfileError):
        profile_from_dict({"directory": {"servers": ["dc01"], "password": "x"}})
    probe = open_directory_source(profile_from_dict({"directory": {"servers": ["192.0.2.1"], "bind_dn": "u"}}),
                                  EvidenceLog())
    with pytest.raises(ProbeError, match="EMS_READINESS_LDAP_PASSWORD"):
        asyncio.run(probe.forest())


def test_no_directory_configured_is_no_source():
    assert open_directory_source(profile_from_dict({}), EvidenceLog()) is None


@pytest.mark.parametrize("search_result, words", [
    ((4, "size limit"), "size limit was exceeded"),
    ((12, "paging not supported"), "refused the paged results control"),
    ((0, ""), "without the paged results control"),  # success, but the control was ignored
    ((3, ""), "time limit"),
    ((10, "", "ldap://dc9.other.example/DC=other,DC=example"), "referred the read"),
])
def test_server_limits_and_refused_paging_end_the_read(tmp_path, search_result, words):
    from tests.support.ldap_faults import FaultyLdapServer

    server = FaultyLdapServer(tmp_path, search_result).start()
    try:
        probe = DirectoryProbe([parse_server(f"127.0.0.1:{server.port}")], "CN=u,DC=x", "Some-Pass.word-1",
                               EvidenceLog(), ca_bundle=str(server.ca_file), timeout=5, base_dns=["DC=x"])
        with pytest.raises(ProbeError, match=words):
            asyncio.run(read_all(probe))
        assert probe.evidence[-1].outcome == "error" and probe.evidence[-1].data["objects"] == 0
    finally:
        server.stop()


# --- against Samba ---------------------------------------------------------------------------------

def test_ldaps_reads_the_forest_once(samba_dc, monkeypatch):
    log = EvidenceLog()
    probe = source(samba_dc, monkeypatch, log=log)

    async def go():
        try:
            return await asyncio.gather(probe.forest(), probe.forest())
        finally:
            await probe.close()

    forest, again = asyncio.run(go())
    assert forest is again
    assert forest.root_domain == DNS_DOMAIN
    (domain,) = forest.domains
    assert (domain.dn.lower(), domain.dns_name, domain.netbios_name) == (BASE_DN.lower(), DNS_DOMAIN, NETBIOS_DOMAIN)
    assert isinstance(domain.functional_level, int) and isinstance(forest.forest_functional_level, int)
    assert set(forest.upn_suffixes) == {"contoso.com", "corp.local"}
    assert forest.writable_dc_present is True
    assert forest.recycle_bin_enabled is False  # Samba 4.17 has no AD Recycle Bin
    assert set(forest.hybrid_join_scp or ()) == {f"azureADId:{TENANT_ID}", "azureADName:contoso.com"}
    assert forest.rms_scp == ("https://rms.contoso.com/_wmcs/certification",)
    assert forest.outside_partial_attribute_set == frozenset()  # not a GC read
    assert [e.data["read"] for e in log.items] == ["bind", "forest"]
    assert ADMIN_PASSWORD not in json.dumps([e.model_dump(mode="json") for e in log.items])
    assert probe.description == f"ldaps://{samba_dc.address}:636" and probe.insecure is False


@pytest.mark.parametrize("port", [636, 389, 3269, 3268])
def test_every_tls_route_reads_the_same_objects(samba_dc, monkeypatch, port):
    probe = source(samba_dc, monkeypatch, servers=[samba_dc.server(port)])
    objects = asyncio.run(read_all(probe))
    assert len(objects) == count_directly(samba_dc)
    bind = probe.evidence[0].data
    assert bind["tls"] == ("StartTLS" if port in (389, 3268) else "LDAPS")


def test_values_arrive_as_adobjects(samba_dc, monkeypatch):
    objects = {o.dn: o for o in asyncio.run(read_all(source(samba_dc, monkeypatch)))}
    alice = objects[f"CN=Alice Able,{CORP_OU}"]
    assert alice.kind == "user"
    assert alice.first("userprincipalname") == "alice@contoso.com"
    assert alice.values("proxyaddresses") == ("SMTP:alice@contoso.com", "smtp:alice@samdom.test")
    assert alice.first("ms-ds-consistencyguid") == str(CONSISTENCY_GUID)
    assert len(alice.first("objectguid") or "") == 36 and alice.first("mailnickname") == "alice"
    assert all(name == name.lower() for o in objects.values() for name in o.attributes)
    eric = next(o for o in objects.values() if o.first("userprincipalname") == "eric@contoso.com")
    assert eric.first("displayname") == "Ériç Ünïcode" and eric.first("msexchhidefromaddresslists") == "TRUE"
    partner = objects[f"CN=External Partner,{CORP_OU}"]
    assert partner.kind == "contact" and partner.first("targetaddress") == "SMTP:partner@fabrikam.com"
    assert objects[f"CN=Staff,{CORP_OU}"].kind == "group"
    assert not alice.has("homemdb")  # absent is absent, not empty


def test_paging_across_pages_and_member_ranges(samba_dc, monkeypatch):
    probe = source(samba_dc, monkeypatch, page_size=7)
    probe.member_range_step = 4
    objects = {o.dn: o for o in asyncio.run(read_all(probe))}
    assert len(objects) == count_directly(samba_dc)
    read = next(e for e in probe.evidence if e.data["read"] == "objects")
    assert read.data["pages"] >= len(objects) // 7 > 1
    assert read.data["objects"] == len(objects) and read.data["filter"] == IDFIX_FILTER
    assert read.data["range_reads"] >= 1  # Sales: its first 4 members, then the rest
    assert len(objects[f"CN=Sales,{CORP_OU}"].values("member")) == len(USERS) + FILLER_USERS
    assert len(objects[f"CN=Staff,{CORP_OU}"].values("member")) == 3


def test_objects_stream_before_the_read_ends(samba_dc, monkeypatch):
    probe = source(samba_dc, monkeypatch, page_size=5)

    async def first_then_rest():
        stream = probe.objects()
        first = await stream.__anext__()
        finished_early = [e for e in probe.evidence if e.data["read"] == "objects"]
        rest = [o async for o in stream]
        await probe.close()
        return first, finished_early, rest

    first, finished_early, rest = asyncio.run(first_then_rest())
    assert first.dn and finished_early == [] and len(rest) + 1 == count_directly(samba_dc)


def test_scope_narrows_the_read_server_side(samba_dc, monkeypatch):
    probe = source(samba_dc, monkeypatch, scope_ous=[CORP_OU, f"OU=Nested,{CORP_OU}"], scope_filter="mail=*")
    objects = asyncio.run(read_all(probe))
    assert objects and all(o.dn.endswith(CORP_OU) and o.has("mail") for o in objects)
    assert len(objects) == count_directly(samba_dc, CORP_OU, f"(&{IDFIX_FILTER}(mail=*))")


def test_computers_read_separately(samba_dc, monkeypatch):
    computers = {o.first("cn"): o for o in asyncio.run(read_all(source(samba_dc, monkeypatch), "computers"))}
    assert computers["WS02"].first("operatingsystem") == "Windows 7 Professional"
    assert computers["WS01"].kind == "computer" and "DC1" in computers


def test_global_catalog_judges_the_partial_attribute_set_from_the_schema(samba_dc, monkeypatch):
    probe = source(samba_dc, monkeypatch, servers=[samba_dc.server(3269)])
    forest = asyncio.run(probe.forest())
    asyncio.run(probe.close())
    # Samba's GC returns proxyAddresses, yet the schema says it is outside the PAS
    assert "proxyaddresses" in forest.outside_partial_attribute_set
    assert "mailnickname" not in forest.outside_partial_attribute_set  # the extension put it in the PAS
    assert "mail" not in forest.outside_partial_attribute_set
    assert probe.description.startswith("GC ldaps://")


def test_wrong_password(samba_dc, monkeypatch):
    wrong = "Wrong-Pass.word-9"
    probe = source(samba_dc, monkeypatch, password=wrong)
    with pytest.raises(ProbeError) as raised:
        asyncio.run(probe.forest())
    assert "invalidCredentials" in str(raised.value) and wrong not in str(raised.value)
    assert wrong not in json.dumps([e.model_dump(mode="json") for e in probe.evidence])


def test_untrusted_certificate(samba_dc, monkeypatch):
    for ca in (samba_dc.other_ca_file, None):  # another CA, and the system store
        probe = source(samba_dc, monkeypatch, ca_bundle=str(ca) if ca else None)
        with pytest.raises(ProbeError, match="not trusted"):
            asyncio.run(probe.forest())


def test_insecure_opt_in_is_flagged(samba_dc, monkeypatch):
    probe = source(samba_dc, monkeypatch, ca_bundle=str(samba_dc.other_ca_file), insecure_skip_verify=True)
    assert asyncio.run(probe.forest()).root_domain == DNS_DOMAIN
    asyncio.run(probe.close())
    assert probe.insecure is True and probe.evidence[0].data["certificate_verified"] is False


def test_plain_text_bind_is_refused_by_the_tool(monkeypatch):
    """A server that will not start TLS on 389 gets no bind: the password never crosses in clear text."""
    received = bytearray()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with conn:
            request = conn.recv(4096)
            received.extend(request)
            message_id = request[4] if request[2:4] == b"\x02\x01" else 1
            # ExtendedResponse: protocolError, "StartTLS not supported"
            conn.sendall(bytes([0x30, 0x0C, 0x02, 0x01, message_id, 0x78, 0x07, 0x0A, 0x01, 0x02, 0x04, 0x00,
                                0x04, 0x00]))
            conn.settimeout(2)
            try:
                while chunk := conn.recv(4096):
                    received.extend(chunk)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    secret = "Clear-Text.Never-7"
    monkeypatch.setenv("EMS_READINESS_LDAP_PASSWORD", secret)
    probe = DirectoryProbe([parse_server(f"127.0.0.1:{port}")], "CN=u,DC=x", secret, EvidenceLog(), timeout=3)
    # port is not 389: make this server a StartTLS one the way 389 is
    monkeypatch.setattr("ems_readiness.probes.directory.STARTTLS_PORTS", frozenset({port}))
    with pytest.raises(ProbeError, match="never sent in clear text"):
        asyncio.run(probe.forest())
    thread.join(5)
    listener.close()
    assert secret.encode() not in bytes(received)


def test_referral_to_a_partition_this_dc_does_not_hold(samba_dc, monkeypatch):
    probe = source(samba_dc, monkeypatch, base_dns=["DC=elsewhere,DC=example"])
    with pytest.raises(ProbeError):
        asyncio.run(read_all(probe))
    assert probe.evidence[-1].outcome == "error"


def test_unreachable_dc_times_out_then_the_next_server_binds(samba_dc, monkeypatch):
    dropped = f"{samba_dc.address}:{DROPPED_PORT}"
    probe = source(samba_dc, monkeypatch, servers=[dropped], timeout_seconds=1)
    started = time.monotonic()
    with pytest.raises(ProbeError, match="no directory server could be bound"):
        asyncio.run(probe.forest())
    assert time.monotonic() - started < 6  # connect 1 s (+ TLS and bind budgets never reached)

    probe = source(samba_dc, monkeypatch, servers=[dropped, samba_dc.server(636)], timeout_seconds=1)
    assert asyncio.run(probe.forest()).root_domain == DNS_DOMAIN
    asyncio.run(probe.close())
    assert [e.outcome for e in probe.evidence if e.data["read"] == "bind"] == ["error", "ok"]


def test_server_that_stops_answering_mid_read(samba_dc, monkeypatch):
    probe = source(samba_dc, monkeypatch, page_size=5, timeout_seconds=1)

    async def read_with_a_blackhole():
        stream = probe.objects()
        await stream.__anext__()
        with samba_dc.firewall(636, "-j", "DROP"):
            with pytest.raises(ProbeError, match="stopped answering|did not answer within 1 s"):
                async for _ in stream:
                    pass
        await probe.close()

    started = time.monotonic()
    asyncio.run(read_with_a_blackhole())
    assert time.monotonic() - started < 10
    assert probe.evidence[-1].outcome == "error" and probe.evidence[-1].data["pages"] >= 1


# --- the runner ---------------------------------------------------------------------------------------

@check(id="TDIR-001", title="directory probe wiring", area="directory", severity="low",
       responsibilities=["enable.directory-sync"], why="test", fix="test", side="directory")
async def forest_check(ctx):
    forest = await ctx.directory.forest()
    ctx.passed(forest.root_domain, "forest read")


def test_directory_check_skips_without_a_directory():
    results = asyncio.run(scan(profile_from_dict({}), [forest_check], ScanOptions(tenant_side=False)))
    (result,) = results.checks
    assert result.status.value == "skip" and "not part of this scan" in (result.reason or "")


def test_runner_reads_the_directory_and_shows_it_in_the_header(samba_dc, monkeypatch):
    monkeypatch.setenv("EMS_READINESS_LDAP_PASSWORD", ADMIN_PASSWORD)
    profile = directory_profile(samba_dc, insecure_skip_verify=True)
    results = asyncio.run(scan(profile, [forest_check], ScanOptions(tenant_side=False, network_side=False)))
    assert results.checks[0].status.value == "pass"
    assert results.vantage.directory == f"ldaps://{samba_dc.address}:636" and results.vantage.directory_insecure
    from ems_readiness.reports.html import render

    assert "NOT verified" in render(results, "en")


def test_wrong_password_is_exit_3_only_when_the_directory_is_all_that_was_asked(samba_dc, monkeypatch):
    monkeypatch.setenv("EMS_READINESS_LDAP_PASSWORD", "Wrong-Pass.word-9")
    profile = directory_profile(samba_dc)
    with pytest.raises(ScanAbort, match="invalidCredentials"):
        asyncio.run(scan(profile, [forest_check], ScanOptions(tenant_side=False, network_side=False)))
    results = asyncio.run(scan(profile, [forest_check], ScanOptions(tenant_side=False, network_side=True)))
    assert results.checks[0].status.value == "error" and "invalidCredentials" in (results.checks[0].reason or "")


# last: it kills the DC (the fixture starts it again)
def test_server_killed_mid_read(samba_dc, monkeypatch):
    probe = source(samba_dc, monkeypatch, page_size=5, timeout_seconds=3)

    async def read_and_kill():
        stream = probe.objects()
        await stream.__anext__()
        samba_dc.kill()
        with pytest.raises(ProbeError):
            async for _ in stream:
                pass
        await probe.close()

    try:
        asyncio.run(read_and_kill())
    finally:
        samba_dc.start()
    assert probe.evidence[-1].outcome == "error"


def test_cli_wrong_password_with_only_the_directory_is_exit_3(samba_dc, tmp_path):
    """The command line end to end: one clear line, exit 3, and the password nowhere in the output."""
    import os
    import subprocess
    import sys

    wrong = "Wrong-Pass.word-9"
    profile = tmp_path / "profile.toml"
    profile.write_text(f'[directory]\nservers = ["{samba_dc.server(636)}"]\nbind_dn = "{ADMIN_DN}"\n'
                       f'ca_bundle = "{samba_dc.ca_file}"\ntimeout_seconds = 5\n')
    env = {**os.environ, "EMS_READINESS_LDAP_PASSWORD": wrong}
    done = subprocess.run([sys.executable, "-m", "ems_readiness.cli", "scan", "--profile", str(profile), "--no-tenant",
                           "--no-network", "--quiet", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 3, done.stderr
    assert "invalidCredentials" in done.stderr and "Traceback" not in done.stderr
    assert wrong not in done.stdout + done.stderr


def test_cli_directory_servers_without_the_password_variable_is_exit_2(tmp_path):
    import os
    import subprocess
    import sys

    profile = tmp_path / "profile.toml"
    profile.write_text('[directory]\nservers = ["dc01.contoso.test"]\nbind_dn = "u@contoso.test"\n')
    env = {k: v for k, v in os.environ.items() if k != "EMS_READINESS_LDAP_PASSWORD"}
    done = subprocess.run([sys.executable, "-m", "ems_readiness.cli", "scan", "--profile", str(profile), "--no-tenant",
                           "--no-network", "--quiet"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2 and "EMS_READINESS_LDAP_PASSWORD" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
