"""The simulated customer's DNS: an authoritative server over BIND-format zone files.

Pure Python (dnspython), UDP and TCP on one loopback port, served from a background thread, so
the demo needs no system package. It answers like an authoritative server: AA on data of its
zones, NXDOMAIN or NODATA (with the SOA) for what is not there, a referral below a delegation,
REFUSED for a name outside its zones, and SERVFAIL for the names it is told to fail. A CNAME
is followed through every zone it serves, as a resolver in front of those zones would.

`fault` makes it a hostile resolver instead (`DNS_FAULTS`): garbage (bytes that are not DNS),
hang (never answers, over UDP or TCP), bad-id (answers with another message id), truncated
(TC over UDP, a reply cut short over TCP), huge (every TXT answer ~60 KB, over TCP; other
types answered honestly), and
control-chars (answers aliased to a name whose label holds control characters, TXT text with
terminal escapes).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.TXT
import dns.rrset
import dns.zone

MAX_CNAME_HOPS = 8
UDP_MIN_PAYLOAD = 512
TCP_MAX_MESSAGE = 65535
NO_TRANSFERS = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
DNS_FAULTS = ("garbage", "hang", "bad-id", "truncated", "huge", "control-chars")
HUGE_TXT_RECORDS = 230  # 230 records of 255 octets: ~60 KB, what a TCP message can still carry
HOSTILE_LABEL = b"\x1b]0;owned\x07\x00\r\n"
HOSTILE_TXT = b"v=spf1 \x1b[2J\x1b]0;owned\x07 -all"


@dataclass(frozen=True)
class HostedZone:
    zone: dns.zone.Zone
    # every owner name and every ancestor of one up to the apex: a name in here exists (RFC 8020)
    existing: frozenset[dns.name.Name]

    @property
    def origin(self) -> dns.name.Name:
        return self.zone.origin  # type: ignore[return-value]

    @classmethod
    def load(cls, path: Path) -> "HostedZone":
        zone = dns.zone.from_file(str(path), origin=path.name.removesuffix(".zone"), relativize=False)
        existing: set[dns.name.Name] = set()
        for name in zone.nodes:
            while name != zone.origin and name not in existing:
                existing.add(name)
                name = name.parent()
        existing.add(zone.origin)
        return cls(zone, frozenset(existing))

    def rrset(self, name: dns.name.Name, rdtype: int, owner: dns.name.Name | None = None) -> dns.rrset.RRset | None:
        node = self.zone.get_node(name)
        rdataset = node.get_rdataset(dns.rdataclass.IN, rdtype) if node else None
        if not rdataset:
            return None
        return dns.rrset.from_rdata_list(owner or name, rdataset.ttl, list(rdataset))

    def all_rrsets(self, name: dns.name.Name) -> list[dns.rrset.RRset]:
        node = self.zone.get_node(name)
        if node is None:
            return []
        return [dns.rrset.from_rdata_list(name, r.ttl, list(r)) for r in node.rdatasets]

    def negative_soa(self) -> dns.rrset.RRset:
        """The SOA for a negative answer, with the TTL of RFC 2308 §3."""
        soa = self.zone.get_rdataset(self.origin, dns.rdatatype.SOA)
        ttl = min(soa.ttl, soa[0].minimum)
        return dns.rrset.from_rdata_list(self.origin, ttl, list(soa))

    def delegation(self, name: dns.name.Name) -> dns.rrset.RRset | None:
        """The NS set of a zone cut between the apex and `name` (inclusive), if any."""
        labels = len(name) - len(self.origin)
        for depth in range(1, labels + 1):
            cut = name.split(len(self.origin) + depth)[1]
            ns = self.rrset(cut, dns.rdatatype.NS)
            if ns is not None:
                return ns
        return None

    def wildcard_for(self, name: dns.name.Name) -> dns.name.Name | None:
        """'*.<closest encloser>' when such a wildcard owner exists (RFC 4592)."""
        encloser = name.parent()
        while encloser not in self.existing and encloser != self.origin:
            encloser = encloser.parent()
        wildcard = dns.name.Name((b"*",) + encloser.labels)
        return wildcard if self.zone.get_node(wildcard) is not None else None


class Zones:
    """The answering logic, apart from sockets."""

    def __init__(self, zone_files: Iterable[Path], servfail_names: Iterable[str] = ()) -> None:
        self.zones = [HostedZone.load(Path(path)) for path in zone_files]
        self.servfail = [dns.name.from_text(name) for name in servfail_names]

    def zone_for(self, name: dns.name.Name) -> HostedZone | None:
        candidates = [z for z in self.zones if name.is_subdomain(z.origin)]
        return max(candidates, key=lambda z: len(z.origin), default=None)

    def fails(self, name: dns.name.Name) -> bool:
        """Names told to fail, and every name below them."""
        return any(name.is_subdomain(bad) for bad in self.servfail)

    def respond(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        zone = self.zone_for(question.name)
        if question.rdclass != dns.rdataclass.IN or question.rdtype in NO_TRANSFERS:
            response.set_rcode(dns.rcode.REFUSED)
        elif self.fails(question.name):
            response.set_rcode(dns.rcode.SERVFAIL)
        elif zone is None:
            response.set_rcode(dns.rcode.REFUSED)
        else:
            response.flags |= dns.flags.AA
            self._answer(zone, question.name, question.rdtype, response, hops=0)
        return response

    def _answer(
        self, zone: HostedZone, name: dns.name.Name, rdtype: int, response: dns.message.Message, hops: int
    ) -> None:
        referral = zone.delegation(name)
        if referral is not None:
            self._refer(referral, response)
            return
        owner = name
        if name not in zone.existing:
            wildcard = zone.wildcard_for(name)
            if wildcard is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                response.authority.append(zone.negative_soa())
                return
            owner = wildcard
        if rdtype == dns.rdatatype.ANY:
            response.answer.extend(self._renamed(zone.all_rrsets(owner), name))
            return
        data = zone.rrset(owner, rdtype, name)
        if data is not None:
            response.answer.append(data)
            return
        cname = zone.rrset(owner, dns.rdatatype.CNAME, name)
        if cname is None:
            response.authority.append(zone.negative_soa())
            return
        response.answer.append(cname)
        self._follow(cname[0].target, rdtype, response, hops + 1)

    def _follow(self, target: dns.name.Name, rdtype: int, response: dns.message.Message, hops: int) -> None:
        """Chase a CNAME into the zones served here; a target elsewhere ends the answer."""
        zone = self.zone_for(target)
        if zone is None or hops > MAX_CNAME_HOPS or self.fails(target):
            return
        if any(rrset.name == target for rrset in response.answer):
            return  # a loop: the client sees it in the answer
        self._answer(zone, target, rdtype, response, hops)

    @staticmethod
    def _renamed(rrsets: list[dns.rrset.RRset], name: dns.name.Name) -> list[dns.rrset.RRset]:
        return [dns.rrset.from_rdata_list(name, r.ttl, list(r)) for r in rrsets]

    def _refer(self, ns: dns.rrset.RRset, response: dns.message.Message) -> None:
        if not response.answer:
            response.flags &= ~dns.flags.AA
        response.authority.append(ns)
        for server in ns:
            zone = self.zone_for(server.target)
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                glue = zone.rrset(server.target, rdtype) if zone else None
                if glue is not None:
                    response.additional.append(glue)


def reply_wire(zones: Zones, wire: bytes, max_size: int | None, fault: str | None = None) -> bytes | None:
    """The reply to one message; None drops what is not a DNS query at all (and, under the
    `hang` fault, everything)."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    if query.flags & dns.flags.QR or fault == "hang":
        return None
    if fault == "garbage":
        return wire[:2] + b"\xff" * 45  # the query's id, then nothing a DNS parser accepts
    over_udp = max_size is None
    asks_txt = bool(query.question) and query.question[0].rdtype == dns.rdatatype.TXT
    hostile = fault == "control-chars" or (fault == "huge" and asks_txt)
    response = hostile_response(query, fault) if hostile else zones.respond(query)
    if max_size is None:
        max_size = max(UDP_MIN_PAYLOAD, query.payload) if query.edns >= 0 else UDP_MIN_PAYLOAD
    if fault == "bad-id":
        response.id = (query.id + 1) & 0xFFFF
    if fault == "truncated":
        if over_udp:  # TC, so the client asks again over TCP
            response.flags |= dns.flags.TC
            return response.to_wire(max_size=UDP_MIN_PAYLOAD, prefer_truncation=True)
        whole = response.to_wire(max_size=max_size, prefer_truncation=True)
        return whole[: max(len(whole) // 2, 12)]  # over TCP: cut short
    return response.to_wire(max_size=max_size, prefer_truncation=True)


def hostile_response(query: dns.message.Message, fault: str) -> dns.message.Message:
    """`huge`: a ~60 KB TXT answer (other types are answered from the zones); `control-chars`: every name is an
    alias of a name whose first label holds control characters, and TXT text carries terminal
    escapes."""
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    question = query.question[0]
    owner = question.name
    if fault == "control-chars":
        target = dns.name.Name([HOSTILE_LABEL, b"hostile", b"test", b""])
        alias = dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, dns.rdatatype.CNAME, target)
        response.answer.append(dns.rrset.from_rdata(owner, 300, alias))
        owner = target
    if question.rdtype == dns.rdatatype.TXT:
        texts = [b"x" * 250 + b"%05d" % i for i in range(HUGE_TXT_RECORDS)] if fault == "huge" else [HOSTILE_TXT]
        rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.TXT)
        for text in texts:
            rrset.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [text]), 300)
        response.answer.append(rrset)
    return response


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, simulator: "DnsSimulator") -> None:
        self.simulator = simulator
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        reply = self.simulator.handle(data, max_size=None)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DnsSimulator:
    """`DnsSimulator(zone_files).start()`; `.address` is 'host:port' for a scan profile's resolvers."""

    def __init__(
        self,
        zone_files: list[Path],
        servfail_names: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        fault: str | None = None,
    ) -> None:
        if fault is not None and fault not in DNS_FAULTS:
            raise ValueError(f"unknown DNS fault {fault!r}; known faults are {', '.join(DNS_FAULTS)}")
        self.fault = fault
        self.zones = Zones(zone_files, servfail_names)
        self.host = host
        self.port = port
        self.queries = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closers: list = []

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def handle(self, wire: bytes, max_size: int | None) -> bytes | None:
        with self._lock:
            self.queries += 1
        return reply_wire(self.zones, wire, max_size, self.fault)

    def start(self) -> "DnsSimulator":
        udp, tcp = bind_pair(self.host, self.port)
        self.port = udp.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(udp, tcp, started, failure), name=f"dns-simulator-{self.port}", daemon=True
        )
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop = None
        self._thread = None

    def __enter__(self) -> "DnsSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, udp: socket.socket, tcp: socket.socket, started: threading.Event, failure: list) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open(udp, tcp))
        except BaseException as exc:  # reported to the thread that called start()
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(self._close())
        loop.close()

    async def _open(self, udp: socket.socket, tcp: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpServer(self), sock=udp)
        server = await asyncio.start_server(self._serve_tcp, sock=tcp)
        self._closers = [transport, server]

    async def _close(self) -> None:
        transport, server = self._closers
        transport.close()
        server.close()
        await server.wait_closed()

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = int.from_bytes(await reader.readexactly(2), "big")
                reply = self.handle(await reader.readexactly(length), max_size=TCP_MAX_MESSAGE)
                if reply is None and self.fault == "hang":
                    await reader.read()  # hold the connection, silent, until the client gives up
                if reply is None:
                    break
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket bound to the same port (a free one when port is 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50 if port == 0 else 1):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        tcp = socket.socket(family, socket.SOCK_STREAM)
        try:
            udp.bind((host, port))
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((host, udp.getsockname()[1]))
            tcp.listen(64)
        except OSError:
            udp.close()
            tcp.close()
            if port != 0:
                raise
            continue
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    raise OSError(f"no port free for both UDP and TCP on {host}")
