"""DNS probe throughput: 100 domains x 6 record types against knot on loopback (run by hand).

    .venv/bin/python bench/bench_dns.py [--domains 100] [--rounds 3] [--delay-ms 0]

Prints wall time and queries/s of the probe (concurrent, one query per question) and of a
sequential loop of plain dns.asyncresolver queries for the same questions, and their ratio.
Loopback answers in well under a millisecond, so there both loops are bound by dnspython's CPU
time; `--delay-ms` puts a UDP relay (its own process) in front of knot that holds every answer
that long, as a resolver across a network would.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dns.asyncresolver

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ems_readiness.probes.base import EvidenceLog  # noqa: E402
from ems_readiness.probes.dns import DnsProbe, DnsStatus  # noqa: E402
from tests.support.knot import KnotServer  # noqa: E402

ZONE = "bench.test"
HEADER = f"""$ORIGIN {ZONE}.
$TTL 300
@ IN SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 300
@ IN NS ns1.{ZONE}.
ns1 IN A 127.0.0.1
"""


def domain_records(i: int) -> str:
    d = f"d{i:03d}"
    return (
        f"{d} IN A 127.0.0.{i % 250 + 1}\n"
        f"{d} IN AAAA ::1\n"
        f"{d} IN MX 0 {d}-bench-test.mail.protection.outlook.com.\n"
        f'{d} IN TXT "v=spf1 include:spf.protection.outlook.com -all"\n'
        f"_sip._tls.{d} IN SRV 100 1 443 sipdir.online.lync.com.\n"
        f"enterpriseenrollment.{d} IN CNAME enterpriseenrollment-s.manage.microsoft.com.\n"
    )


def questions(domains: int) -> list[tuple[str, str]]:
    result = []
    for i in range(domains):
        d = f"d{i:03d}.{ZONE}"
        result += [(d, "A"), (d, "AAAA"), (d, "MX"), (d, "TXT"), (f"_sip._tls.{d}", "SRV"),
                   (f"enterpriseenrollment.{d}", "CNAME")]
    return result


async def through_probe(address: str, asked: list[tuple[str, str]]) -> float:
    dns_probe = DnsProbe({"knot": address}, EvidenceLog(), timeout=3.0, concurrency=64)
    start = time.perf_counter()
    answers = await asyncio.gather(*(dns_probe.query(name, rdtype) for name, rdtype in asked))
    elapsed = time.perf_counter() - start
    assert all(a.status is DnsStatus.OK for a in answers), [a for a in answers if not a.ok][:3]
    return elapsed


async def sequential_plain(host: str, port: int, asked: list[tuple[str, str]]) -> float:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    resolver.lifetime = 3.0
    resolver.cache = None
    start = time.perf_counter()
    for name, rdtype in asked:
        await resolver.resolve(name + ".", rdtype, search=False)
    return time.perf_counter() - start


class DelayRelay(asyncio.DatagramProtocol):
    """Forwards each query to knot under an id of its own; sends the answer back `delay` seconds later."""

    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream, self.delay = upstream, delay
        self.waiting: dict[int, tuple[bytes, tuple]] = {}
        self.next_id = 0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        if addr == self.upstream:
            original_id, client = self.waiting.pop(int.from_bytes(data[:2], "big"))
            loop = asyncio.get_running_loop()
            loop.call_later(self.delay, self.transport.sendto, original_id + data[2:], client)
            return
        self.next_id = (self.next_id + 1) % 65536
        self.waiting[self.next_id] = (data[:2], addr)
        self.transport.sendto(self.next_id.to_bytes(2, "big") + data[2:], self.upstream)


def run_relay(port: int, upstream: tuple[str, int], delay: float) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: DelayRelay(upstream, delay), local_addr=("127.0.0.1", port))
        await asyncio.Event().wait()

    asyncio.run(serve())


def start_relay(upstream: tuple[str, int], delay_ms: float) -> tuple[multiprocessing.Process, int]:
    from tests.support.knot import free_port

    port = free_port()
    process = multiprocessing.Process(target=run_relay, args=(port, upstream, delay_ms / 1000), daemon=True)
    process.start()
    time.sleep(0.3)
    return process, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="knot UDP/TCP workers")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="added to every answer by a relay")
    args = parser.parse_args()
    knotd, knotc = shutil.which("knotd") or "/usr/sbin/knotd", shutil.which("knotc") or "/usr/sbin/knotc"

    with tempfile.TemporaryDirectory() as tmp:
        zone = Path(tmp) / f"{ZONE}.zone"
        zone.write_text(HEADER + "".join(domain_records(i) for i in range(args.domains)))
        knot = KnotServer(Path(tmp) / "knot", [zone], workers=args.workers, knotd=knotd, knotc=knotc).start()
        relay = None
        host, port = knot.host, knot.port
        try:
            if args.delay_ms:
                relay, port = start_relay((knot.host, knot.port), args.delay_ms)
            asked = questions(args.domains)
            before = knot.query_count()
            probe_times = [asyncio.run(through_probe(f"{host}:{port}", asked)) for _ in range(args.rounds)]
            sent_per_round = (knot.query_count() - before) / args.rounds
            plain_times = [asyncio.run(sequential_plain(host, port, asked)) for _ in range(args.rounds)]
        finally:
            if relay is not None:
                relay.terminate()
                relay.join()
            knot.stop()

    probe_time, plain_time = statistics.median(probe_times), statistics.median(plain_times)
    n = len(asked)
    print(
        f"questions: {n} ({args.domains} domains x 6 types), knot workers: {args.workers}, "
        f"added delay: {args.delay_ms:g} ms, rounds: {args.rounds} (median)"
    )
    print(f"probe (concurrency 64):      {probe_time * 1000:8.1f} ms  {n / probe_time:8.0f} queries/s  "
          f"({sent_per_round:.0f} queries reached knot per round)")
    print(f"sequential dns.asyncresolver: {plain_time * 1000:8.1f} ms  {n / plain_time:8.0f} queries/s")
    print(f"speed-up: {plain_time / probe_time:.2f}x")


if __name__ == "__main__":
    main()
