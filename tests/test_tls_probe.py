"""The TLS probe against real TLS servers on 127.0.0.1, names resolved by a real DNS server."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from cryptography import x509

from ems_readiness.probes.base import EvidenceLog
from ems_readiness.probes.dns import DnsProbe
from ems_readiness.probes.tls import TlsProbe, presented_chain
from ems_readiness.judges.tls import san_names
from ems_readiness.simulate.certs import WRONG_HOST
from tests.support.tls_servers import BLACKHOLE_ADDRESSES, ConnectProxy, tls_host


def probe_run(tls_dns, action, timeout: float = 3.0, proxy: str | None = None):
    """Runs `action(probe, evidence)` on a fresh probe inside its own event loop."""

    async def main():
        evidence = EvidenceLog()
        dns = DnsProbe({"test": tls_dns.address}, evidence, timeout=2.0)
        probe = TlsProbe(dns, evidence, timeout=timeout, concurrency=8, proxy=proxy)
        return await action(probe, evidence)

    return asyncio.run(main())


def handshake(tls_servers, tls_dns, name: str, **kw):
    port = tls_servers.port(name)
    return probe_run(tls_dns, lambda probe, _: probe.handshake(tls_host(name), port), **kw)


# -- capture ------------------------------------------------------------------------------------


def test_valid_chain_is_captured_as_presented(tls_servers, tls_dns):
    observation = handshake(tls_servers, tls_dns, "valid")
    assert observation.status == "ok"
    assert observation.address == "127.0.0.1"
    assert observation.protocol == "TLSv1.3"
    assert observation.cipher
    assert len(observation.chain) == 2
    assert all(isinstance(c, x509.Certificate) for c in observation.chain)
    assert san_names(observation.leaf) == [tls_host("valid")]
    assert "Issuing CA" in observation.chain[1].subject.rfc4514_string()


def test_the_capture_matches_the_pem_the_server_loads(tls_servers, tls_dns):
    observation = handshake(tls_servers, tls_dns, "untrusted")
    served = x509.load_pem_x509_certificates(tls_servers.chain_path("untrusted").read_bytes())
    assert observation.chain == served
    assert len(served) == 3


def test_every_broken_chain_reaches_the_judge(tls_servers, tls_dns):
    expected_lengths = {"incomplete": 1, "selfsigned": 1, "expired": 2, "rsa1024": 2, "sha1": 2, "interception": 2}
    for name, length in expected_lengths.items():
        observation = handshake(tls_servers, tls_dns, name)
        assert observation.status == "ok", (name, observation.detail)
        assert len(observation.chain) == length, name


def test_weak_certificates_are_captured(tls_servers, tls_dns):
    rsa = handshake(tls_servers, tls_dns, "rsa1024")
    assert rsa.leaf.public_key().key_size == 1024
    sha1 = handshake(tls_servers, tls_dns, "sha1")
    assert sha1.leaf.signature_algorithm_oid.dotted_string == "1.2.840.10045.4.1"


def test_sni_is_the_host_name_not_the_address(tls_servers, tls_dns):
    observation = handshake(tls_servers, tls_dns, "wronghost")
    assert observation.evidence.data["sni"] == tls_host("wronghost")
    assert san_names(observation.leaf) == [WRONG_HOST]


def test_evidence_describes_each_certificate(tls_servers, tls_dns):
    observation = handshake(tls_servers, tls_dns, "valid")
    evidence = observation.evidence
    assert evidence.probe == "tls"
    assert evidence.outcome == "ok"
    assert evidence.target == f"{tls_host('valid')}:{tls_servers.port('valid')}"
    leaf = evidence.data["chain"][0]
    assert set(leaf) >= {"subject", "issuer", "serial", "not_before", "not_after", "san", "sha256", "key", "signature"}
    assert leaf["san"] == [tls_host("valid")]
    assert evidence.data["protocol"] == "TLSv1.3"
    assert observation.dns_evidence is not None and observation.dns_evidence.probe == "dns"


def test_ip_literal_needs_no_resolver(tls_servers, tls_dns):
    port = tls_servers.port("valid")
    observation = probe_run(tls_dns, lambda probe, _: probe.handshake("127.0.0.1", port))
    assert observation.ok
    assert observation.address == "127.0.0.1"


# -- failures -----------------------------------------------------------------------------------


def test_nothing_listening_is_refused(tls_dns, refused_port):
    observation = probe_run(tls_dns, lambda probe, _: probe.handshake(tls_host("valid"), refused_port))
    assert observation.status == "refused"
    assert not observation.ok and observation.chain == []
    assert f"127.0.0.1:{refused_port} refused" in observation.detail
    assert observation.evidence.outcome == "refused"


def test_a_server_that_never_answers_times_out(tls_servers, tls_dns):
    observation = handshake(tls_servers, tls_dns, "stall", timeout=0.5)
    assert observation.status == "timeout"
    assert "TLS handshake" in observation.detail and "0.5 s" in observation.detail
    assert observation.elapsed_ms < 3000


def test_every_address_and_the_handshake_share_one_timeout(tls_dns, blackhole_port):
    # four addresses that drop SYNs: one timeout in all, not one per address
    observation = probe_run(
        tls_dns, lambda probe, _: probe.handshake(tls_host("blackhole"), blackhole_port), timeout=0.5
    )
    assert observation.status == "timeout"
    assert observation.address in BLACKHOLE_ADDRESSES
    assert "no TCP connection" in observation.detail and "0.5 s" in observation.detail
    assert observation.elapsed_ms < 900


def test_a_slow_tunnel_leaves_the_handshake_only_the_rest_of_the_timeout(tls_servers, tls_dns):
    proxy = ConnectProxy(delay=0.4).start()
    try:
        port = tls_servers.port("stall")
        observation = probe_run(
            tls_dns,
            lambda probe, _: probe.handshake(tls_host("stall"), port, via_proxy=True),
            timeout=0.5,
            proxy=proxy.url,
        )
    finally:
        proxy.stop()
    assert observation.status == "timeout"
    assert "TLS handshake" in observation.detail
    assert observation.elapsed_ms < 750


def test_names_are_resolved_before_a_connection_slot_is_taken(tls_servers, tls_dns):
    async def action(probe, evidence):
        stalled = asyncio.create_task(probe.handshake(tls_host("stall"), tls_servers.port("stall")))
        await asyncio.sleep(0.05)  # the stalled handshake holds the only slot
        waiting = asyncio.create_task(probe.handshake(tls_host("valid"), tls_servers.port("valid")))
        await asyncio.sleep(0.3)
        resolved_meanwhile = [e.target for e in evidence.items if e.probe == "dns"]
        return resolved_meanwhile, await stalled, await waiting

    async def with_one_slot():
        evidence = EvidenceLog()
        dns = DnsProbe({"test": tls_dns.address}, evidence, timeout=2.0)
        return await action(TlsProbe(dns, evidence, timeout=1.0, concurrency=1), evidence)

    resolved_meanwhile, stalled, waiting = asyncio.run(with_one_slot())
    assert any(target.startswith(tls_host("valid")) for target in resolved_meanwhile)
    assert stalled.status == "timeout" and waiting.ok


def test_a_name_that_does_not_resolve(tls_dns):
    observation = probe_run(tls_dns, lambda probe, _: probe.handshake("nowhere.example.invalid", 443))
    assert observation.status == "dns-failure"
    assert "did not resolve" in observation.detail
    assert observation.dns_evidence is not None
    assert observation.all_evidence[0].probe == "dns"


def test_a_plain_tcp_server_fails_the_handshake(tls_dns):
    async def action(probe, _):
        async def answer_plain_text(reader, writer):
            writer.write(b"220 not TLS\r\n" * 50)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer_plain_text, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await probe.handshake(tls_host("plain"), port)
        finally:
            server.close()

    observation = probe_run(tls_dns, action)
    assert observation.status == "handshake-failed"
    assert "TLS handshake" in observation.detail


# -- one handshake per (host, port, path) ----------------------------------------------------------


def test_concurrent_askers_share_one_handshake(tls_servers, tls_dns):
    port = tls_servers.port("valid")

    async def action(probe, evidence):
        first, second = await asyncio.gather(
            probe.handshake(tls_host("valid"), port), probe.handshake("VALID.tls.test.", port)
        )
        return first, second, [e for e in evidence.items if e.probe == "tls"]

    first, second, records = probe_run(tls_dns, action)
    assert first is second
    assert len(records) == 1


# -- protocol versions ----------------------------------------------------------------------------


def versions(tls_servers, tls_dns, name: str, **kw):
    port = tls_servers.port(name)
    return probe_run(tls_dns, lambda probe, _: probe.versions(tls_host(name), port), **kw)


def test_tls12_only_server(tls_servers, tls_dns):
    accepted = versions(tls_servers, tls_dns, "tls12only")
    assert accepted["TLSv1.2"] is True
    assert accepted["TLSv1.3"] is False
    assert accepted["TLSv1"] in (False, None) and accepted["TLSv1.1"] in (False, None)


def test_tls13_only_server(tls_servers, tls_dns):
    accepted = versions(tls_servers, tls_dns, "tls13only")
    assert accepted["TLSv1.3"] is True
    assert accepted["TLSv1.2"] is False


def test_legacy_versions_are_reported_or_marked_unknown(tls_servers, tls_dns):
    accepted = versions(tls_servers, tls_dns, "legacy")
    assert accepted["TLSv1.2"] is True and accepted["TLSv1.3"] is True
    # True where this machine's OpenSSL can still offer TLS 1.0/1.1 at security level 0; never False
    assert accepted["TLSv1"] in (True, None)
    assert accepted["TLSv1.1"] in (True, None)
    if accepted["TLSv1"] is None:
        assert "OpenSSL" in accepted.evidence.data["reasons"]["TLSv1"]


def test_versions_carry_evidence(tls_servers, tls_dns):
    accepted = versions(tls_servers, tls_dns, "valid")
    assert dict(accepted) == {
        "TLSv1": accepted["TLSv1"],
        "TLSv1.1": accepted["TLSv1.1"],
        "TLSv1.2": True,
        "TLSv1.3": True,
    }
    assert accepted.evidence.data["versions"]["TLSv1.2"] is True
    assert accepted.evidence.target.endswith("versions")


def test_versions_of_an_unreachable_host_cannot_be_told(tls_dns, refused_port):
    accepted = probe_run(tls_dns, lambda probe, _: probe.versions(tls_host("valid"), refused_port))
    assert set(accepted.values()) == {None}
    assert accepted.evidence.outcome == "unknown"


# -- through a proxy ------------------------------------------------------------------------------


def test_handshake_through_a_connect_proxy(tls_servers, tls_dns, connect_proxy):
    port = tls_servers.port("ms-login")
    observation = probe_run(
        tls_dns,
        lambda probe, _: probe.handshake("login.microsoftonline.com", port, via_proxy=True),
        proxy=connect_proxy.url,
    )
    assert observation.ok, observation.detail
    assert observation.via_proxy
    assert f"login.microsoftonline.com:{port}" in connect_proxy.targets
    assert san_names(observation.leaf) == ["login.microsoftonline.com"]
    recorded = observation.evidence.data["proxy"]
    assert "secret" not in recorded and "tester" not in recorded


def test_direct_and_proxied_handshakes_are_separate_observations(tls_servers, tls_dns, connect_proxy):
    port = tls_servers.port("valid")

    async def action(probe, _):
        return await asyncio.gather(
            probe.handshake(tls_host("valid"), port), probe.handshake(tls_host("valid"), port, via_proxy=True)
        )

    direct, proxied = probe_run(tls_dns, action, proxy=connect_proxy.url)
    assert direct is not proxied
    assert not direct.via_proxy and proxied.via_proxy
    assert direct.chain == proxied.chain


def test_a_denying_proxy(tls_servers, tls_dns, denying_proxy):
    port = tls_servers.port("ms-login")
    observation = probe_run(
        tls_dns,
        lambda probe, _: probe.handshake("login.microsoftonline.com", port, via_proxy=True),
        proxy=denying_proxy.url,
    )
    assert observation.status == "proxy-denied"
    assert "403" in observation.detail


def test_via_proxy_without_a_proxy(tls_dns):
    observation = probe_run(tls_dns, lambda probe, _: probe.handshake("login.microsoftonline.com", 443, via_proxy=True))
    assert observation.status == "proxy-unreachable"
    assert "no proxy" in observation.detail


# -- the chain accessor on each Python version ----------------------------------------------------------


def test_presented_chain_reads_the_public_accessor_of_python_3_13(tls_servers):
    served = x509.load_pem_x509_certificates(tls_servers.chain_path("valid").read_bytes())
    from cryptography.hazmat.primitives.serialization import Encoding

    ssl_object = SimpleNamespace(get_unverified_chain=lambda: [c.public_bytes(Encoding.DER) for c in served])
    chain, notes = presented_chain(ssl_object)
    assert chain == served and notes == []


def test_presented_chain_notes_an_unparseable_intermediate(tls_servers):
    served = x509.load_pem_x509_certificates(tls_servers.chain_path("valid").read_bytes())
    from cryptography.hazmat.primitives.serialization import Encoding

    ssl_object = SimpleNamespace(get_unverified_chain=lambda: [served[0].public_bytes(Encoding.DER), b"\x30\x03junk"])
    chain, notes = presented_chain(ssl_object)
    assert chain == served[:1]
    assert "certificate 2" in notes[0]
