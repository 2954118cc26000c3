"""Reachability benchmark against nmap (run by hand, not a test).

300 TCP ports of one host, 50 of them dropped by iptables, 2 s timeout, in a network namespace
made for the run (root, ip, iptables): `ems-readiness scan --only NET-002` as a process, start-up
and writing results.json included, against `nmap -sT -Pn` on the same ports in the same
namespace, also as a process. Prints both wall times, the ratio and how many port verdicts agree
(ours open/refused/filtered against nmap's open/closed/filtered). Goal: ≤ 1.2× nmap, 300/300.

Then, in-process, the TCP probe alone with concurrency 64 against a sequential loop (--sequential).
Without root (or with --loopback) only the in-process part runs, against loopback listeners whose
accept queue is full.

    sudo .venv/bin/python bench/bench_reachability.py [--runs N] [--sequential] [--loopback]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ems_readiness.probes.base import EvidenceLog  # noqa: E402
from ems_readiness.probes.tcp import TcpProbe  # noqa: E402
from ems_readiness.simulate.tcp_listeners import TcpSimulator  # noqa: E402

PORTS = 300
FILTERED = 50
FIRST_PORT = 20000
TIMEOUT = 2.0
CONCURRENCY = 64
GOAL_RATIO = 1.2
NMAP_STATE = {"open": "open", "refused": "closed", "filtered": "filtered"}


def bench_ports() -> dict[str, int]:
    """The namespace's ports: PORTS - FILTERED listening, FILTERED dropped; the filtered ones are
    spread among the open ones, as a firewall's holes are."""
    step = PORTS // FILTERED
    ports = {"open": FIRST_PORT}
    for i in range(1, PORTS):
        port = FIRST_PORT + i
        if i % step == step // 2:
            ports[f"drop#{i}"] = port
        else:
            ports[f"open#{i}"] = port
    return ports


def write_profile(path: Path, address: str, ports: list[int]) -> Path:
    port_list = ", ".join(map(str, ports))
    path.write_text(
        "[network]\n"
        f"timeout_seconds = {TIMEOUT:g}\n"
        f"concurrency = {CONCURRENCY}\n"
        "[[network.targets]]\n"
        'name = "bench"\n'
        f'host = "{address}"\n'
        f"ports = [{port_list}]\n",
        encoding="utf-8",
    )
    return path


def cpu_seconds() -> float:
    """CPU time (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ours(profile: Path, out: Path) -> tuple[float, dict[int, str]]:
    command = [str(ROOT / ".venv" / "bin" / "ems-readiness"), "scan", "--profile", str(profile), "--no-tenant",
               "--only", "NET-002", "--out", str(out), "--format", "json", "--fail-on", "none", "-q"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ems-readiness exited {done.returncode}: {done.stderr.strip()[-500:]}")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    states: dict[int, str] = {}
    for check in results["checks"]:
        for finding in check["findings"]:
            for evidence in finding.get("evidence", []):
                if evidence["probe"] == "tcp":
                    port = int(evidence["target"].rsplit(":", 1)[1])
                    states[port] = NMAP_STATE.get(evidence["outcome"], evidence["outcome"])
    return elapsed, states


def run_nmap(nmap: str, address: str, ports: list[int]) -> tuple[float, dict[int, str]]:
    command = [nmap, "-sT", "-Pn", "-n", "--max-rtt-timeout", f"{TIMEOUT:g}s",
               "-p", ",".join(map(str, ports)), "-oX", "-", address]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"nmap exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed, nmap_states(done.stdout)


def nmap_states(xml: str) -> dict[int, str]:
    """Every port's state from nmap's XML: the ports listed one by one, and those it folds into
    <extraports> (listed in its <extrareasons ports="…">)."""
    states: dict[int, str] = {}
    root = ET.fromstring(xml)
    for port in root.iter("port"):
        states[int(port.get("portid"))] = port.find("state").get("state")
    for extra in root.iter("extraports"):
        for reasons in extra.iter("extrareasons"):
            for part in filter(None, (reasons.get("ports") or "").split(",")):
                low, _, high = part.partition("-")
                for number in range(int(low), int(high or low) + 1):
                    states[number] = extra.get("state")
    return states


def against_nmap(runs: int) -> bool:
    from tests.support.netns import network_namespace

    nmap = shutil.which("nmap")
    if nmap is None:
        raise SystemExit("nmap is not installed (Debian package nmap)")
    with network_namespace(bench_ports()) as ns, tempfile.TemporaryDirectory() as tmp:
        ports = sorted(ns.ports.values())
        profile = write_profile(Path(tmp) / "bench.toml", ns.address, ports)
        print(f"{len(ports)} ports of {ns.address}, {FILTERED} dropped by iptables (network namespace), "
              f"timeout {TIMEOUT:g} s, {runs} runs each, alternating")
        ours_times, nmap_times, agreements, ours_cpu, nmap_cpu = [], [], [], [], []
        for run in range(runs):
            before = cpu_seconds()
            ours_time, ours = run_ours(profile, Path(tmp) / f"out{run}")
            middle = cpu_seconds()
            nmap_time, theirs = run_nmap(nmap, ns.address, ports)
            ours_cpu.append(middle - before)
            nmap_cpu.append(cpu_seconds() - middle)
            ours_times.append(ours_time)
            nmap_times.append(nmap_time)
            agree = sum(1 for port in ports if ours.get(port) is not None and ours.get(port) == theirs.get(port))
            agreements.append(agree)
            print(f"  run {run + 1}: ems-readiness {ours_time:.2f} s ({ours_cpu[-1]:.2f} s CPU), "
                  f"nmap {nmap_time:.2f} s ({nmap_cpu[-1]:.2f} s CPU), "
                  f"agreement {agree}/{len(ports)}  ours {count(ours.values())}  nmap {count(theirs.values())}")
        ours_median, nmap_median = statistics.median(ours_times), statistics.median(nmap_times)
        ratio = ours_median / nmap_median
        print(f"median: ems-readiness scan (process, results.json written) {ours_median:.2f} s; "
              f"nmap -sT -Pn {nmap_median:.2f} s; ratio {ratio:.2f}x; agreement {min(agreements)}/{len(ports)}")
        print(f"CPU (user + system), median: ems-readiness {statistics.median(ours_cpu):.2f} s, "
              f"nmap {statistics.median(nmap_cpu):.2f} s; on a busy machine our wall time grows with our CPU time "
              f"(check the load average: {os.getloadavg()[0]:.1f})")
        met = ratio <= GOAL_RATIO and min(agreements) == len(ports)
        print(f"goal ≤ {GOAL_RATIO:g}x nmap with {len(ports)}/{len(ports)} agreement: {'met' if met else 'NOT met'}")
        return met


class NamesTo:
    """Every bench host name resolves to one address (what the scan's DNS probe would answer)."""

    def __init__(self, evidence: EvidenceLog, address: str) -> None:
        self.evidence = evidence
        self.address = address

    async def addresses(self, host: str) -> SimpleNamespace:
        evidence = self.evidence.record("dns", f"{host} A+AAAA @bench", "ok", 0.0, addresses=[self.address])
        return SimpleNamespace(host=host, addresses=[self.address], status="ok", evidence=evidence)


@contextlib.contextmanager
def loopback_targets() -> Iterator[tuple[str, str, int, int]]:
    with TcpSimulator([{"name": "open", "mode": "open"}, {"name": "filtered", "mode": "filtered"}]) as sim:
        yield "loopback, backlog-full listener", "127.0.0.1", sim.port("open"), sim.port("filtered")


async def probe_scan(address: str, endpoints: list[tuple[str, int]], concurrency: int) -> tuple[float, dict[str, int]]:
    evidence = EvidenceLog()
    probe = TcpProbe(NamesTo(evidence, address), evidence, timeout=TIMEOUT, concurrency=concurrency)
    started = time.perf_counter()
    if concurrency == 1:
        observations = [await probe.connect(host, port) for host, port in endpoints]
    else:
        observations = await asyncio.gather(*(probe.connect(host, port) for host, port in endpoints))
    return time.perf_counter() - started, count(o.status for o in observations)


def in_process(sequential: bool) -> None:
    with loopback_targets() as (where, address, open_port, filtered_port):
        endpoints = [(f"open-{i}.bench.test", open_port) for i in range(PORTS - FILTERED)]
        endpoints += [(f"filtered-{i}.bench.test", filtered_port) for i in range(FILTERED)]
        print(f"in-process probe: {len(endpoints)} endpoints, {FILTERED} filtered ({where}), timeout {TIMEOUT:g} s")
        concurrent, statuses = asyncio.run(probe_scan(address, endpoints, CONCURRENCY))
        print(f"  concurrent (concurrency {CONCURRENCY}): {concurrent:.2f} s  {statuses}")
        if sequential:
            alone, statuses = asyncio.run(probe_scan(address, endpoints, 1))
            print(f"  sequential loop:                 {alone:.2f} s  {statuses}")
            print(f"  speed-up: {alone / concurrent:.1f}x")


def count(statuses) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each tool against nmap (median shown)")
    parser.add_argument("--sequential", action="store_true", help="also time the in-process sequential loop")
    parser.add_argument("--loopback", action="store_true", help="only the in-process probe on loopback listeners")
    args = parser.parse_args()
    met = True
    if not args.loopback and os.geteuid() == 0 and shutil.which("ip") and shutil.which("iptables"):
        met = against_nmap(max(args.runs, 1))
    else:
        print("not root (or --loopback): no namespace, so no nmap comparison")
    in_process(args.sequential)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
