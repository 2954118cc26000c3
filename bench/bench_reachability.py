"""Reachability probe benchmark (run by hand, not a test).

300 endpoints, 50 of them filtered, 2 s timeout: the TCP probe with concurrency 64 against a
sequential loop over the same endpoints, in the same run. Goal: the concurrent scan within 2.5 s.

As root (ip, iptables installed) the filtered ports are an iptables DROP inside a network
namespace made for the run; otherwise they are loopback listeners whose accept queue is full.

    .venv/bin/python bench/bench_reachability.py [--no-sequential] [--loopback]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ems_readiness.probes.base import EvidenceLog  # noqa: E402
from ems_readiness.probes.tcp import TcpProbe  # noqa: E402
from ems_readiness.simulate.tcp_listeners import TcpSimulator  # noqa: E402

ENDPOINTS = 300
FILTERED = 50
TIMEOUT = 2.0
CONCURRENCY = 64
GOAL_SECONDS = 2.5


class NamesTo:
    """Every bench host name resolves to one address (what the scan's DNS probe would answer)."""

    def __init__(self, evidence: EvidenceLog, address: str) -> None:
        self.evidence = evidence
        self.address = address

    async def addresses(self, host: str) -> SimpleNamespace:
        evidence = self.evidence.record("dns", f"{host} A+AAAA @bench", "ok", 0.0, addresses=[self.address])
        return SimpleNamespace(host=host, addresses=[self.address], status="ok", evidence=evidence)


@contextlib.contextmanager
def targets(loopback: bool) -> Iterator[tuple[str, str, int, int]]:
    """(where, address, open port, filtered port)."""
    if not loopback and os.geteuid() == 0 and shutil.which("ip") and shutil.which("iptables"):
        from tests.support.netns import network_namespace

        with network_namespace({"open": 8080, "drop": 8082}) as ns:
            yield "network namespace, iptables DROP", ns.address, ns.port("open"), ns.port("drop")
    else:
        with TcpSimulator([{"name": "open", "mode": "open"}, {"name": "filtered", "mode": "filtered"}]) as sim:
            yield "loopback, backlog-full listener", "127.0.0.1", sim.port("open"), sim.port("filtered")


def endpoint_list(open_port: int, filtered_port: int) -> list[tuple[str, int]]:
    opened = [(f"open-{i}.bench.test", open_port) for i in range(ENDPOINTS - FILTERED)]
    filtered = [(f"filtered-{i}.bench.test", filtered_port) for i in range(FILTERED)]
    return opened + filtered


def new_probe(address: str, concurrency: int) -> TcpProbe:
    evidence = EvidenceLog()
    return TcpProbe(NamesTo(evidence, address), evidence, timeout=TIMEOUT, concurrency=concurrency)


async def concurrent_scan(address: str, endpoints: list[tuple[str, int]]) -> tuple[float, dict[str, int]]:
    probe = new_probe(address, CONCURRENCY)
    started = time.perf_counter()
    observations = await asyncio.gather(*(probe.connect(host, port) for host, port in endpoints))
    return time.perf_counter() - started, count(o.status for o in observations)


async def sequential_scan(address: str, endpoints: list[tuple[str, int]]) -> tuple[float, dict[str, int]]:
    probe = new_probe(address, 1)
    started = time.perf_counter()
    observations = [await probe.connect(host, port) for host, port in endpoints]
    return time.perf_counter() - started, count(o.status for o in observations)


def count(statuses) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the sequential loop (about FILTERED x TIMEOUT seconds)")
    parser.add_argument("--loopback", action="store_true", help="use loopback listeners even as root")
    args = parser.parse_args()
    with targets(args.loopback) as (where, address, open_port, filtered_port):
        endpoints = endpoint_list(open_port, filtered_port)
        print(f"{len(endpoints)} endpoints, {FILTERED} filtered ({where}), timeout {TIMEOUT:g} s")
        concurrent, statuses = asyncio.run(concurrent_scan(address, endpoints))
        print(f"concurrent (concurrency {CONCURRENCY}): {concurrent:.2f} s  {statuses}")
        if args.sequential:
            sequential, statuses = asyncio.run(sequential_scan(address, endpoints))
            print(f"sequential loop:                 {sequential:.2f} s  {statuses}")
            print(f"speed-up: {sequential / concurrent:.1f}x")
    verdict = "met" if concurrent <= GOAL_SECONDS else "NOT met"
    print(f"goal ≤ {GOAL_SECONDS:g} s: {verdict}")
    return 0 if concurrent <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
