"""Directory probe benchmark: a generated directory in a real Samba AD DC, read bare vs. probe + judge.

    sudo .venv/bin/python bench/bench_directory_ldap.py                       # 100k users, 20k groups, 5k contacts
    sudo .venv/bin/python bench/bench_directory_ldap.py --users 10000 --groups 2000 --contacts 500

Needs root, samba, samba-tool and ldbadd (ldb-tools). The directory comes from bench/directory_data.py
(`--samba-safe`: nothing Samba refuses) and is loaded offline with ldbadd into sam.ldb before samba
starts (far faster than LDAP adds). Then, each in its own process so peak RSS is its own:

  bare   ldap3 paged search of the probe's attributes, values kept only as long as a page
  probe  DirectoryProbe.objects() feeding DirectoryJudge (judges/idfix.py), then judge.finish()

Goals (issue 8): probe + judge within 20 % of the bare read; peak RSS ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from ems_readiness.probes.base import EvidenceLog  # noqa: E402
from ems_readiness.probes.directory import OBJECT_ATTRIBUTES, DirectoryProbe, ServerAddress  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_ldb_ldif(records, path: Path) -> int:
    """LDIF for ldbadd: every value base64, so no escaping question arises."""
    count = 0
    with path.open("w", encoding="ascii") as out:
        for dn, attributes in records:
            out.write(f"dn:: {base64.b64encode(dn.encode()).decode()}\n")
            for name, values in attributes.items():
                for value in values:
                    raw = value if isinstance(value, bytes) else value.encode()
                    out.write(f"{name}:: {base64.b64encode(raw).decode()}\n")
            out.write("\n")
            count += 1
    return count


# --- the two measured reads (child processes) ----------------------------------------------------------

def measure_bare(address: str, ca: str, page_size: int) -> dict:
    import ssl

    import ldap3

    from tests.support.samba import ADMIN_DN, ADMIN_PASSWORD, BASE_DN

    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca)
    server = ldap3.Server(address, 636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, auto_range=False,
                            return_empty_attributes=False, check_names=False)
    started = time.perf_counter()
    count = 0
    for entry in conn.extend.standard.paged_search(
            BASE_DN, "(|(objectCategory=Person)(objectCategory=Group))",
            attributes=[*OBJECT_ATTRIBUTES, "member;range=0-1499"], paged_size=page_size, generator=True):
        if entry.get("type") == "searchResEntry":
            count += 1
    return {"seconds": time.perf_counter() - started, "objects": count, "peak_rss_mb": peak_rss_mb()}


def measure_probe(address: str, ca: str, page_size: int) -> dict:
    from ems_readiness.judges.idfix import DirectoryJudge
    from tests.support.samba import ADMIN_DN, ADMIN_PASSWORD

    async def run() -> dict:
        probe = DirectoryProbe([ServerAddress(address, 636)], ADMIN_DN, ADMIN_PASSWORD, EvidenceLog(),
                               ca_bundle=ca, page_size=page_size, timeout=120)
        judge = DirectoryJudge()
        issues = 0
        started = time.perf_counter()
        try:
            async for obj in probe.objects():
                issues += len(judge.add(obj))
            read_done = time.perf_counter()
            issues += len(judge.finish())
        finally:
            await probe.close()
        return {"seconds": time.perf_counter() - started, "finish_seconds": time.perf_counter() - read_done,
                "objects": judge.seen, "issues": issues, "pages": probe.evidence[-1].data.get("pages"),
                "peak_rss_mb": peak_rss_mb()}

    return asyncio.run(run())


def child(mode: str, address: str, ca: str, page_size: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--measure", mode, "--address", address, "--ca", ca,
                           "--page-size", str(page_size)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{mode} read failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- setup -------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--measure", choices=["bare", "probe"], help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure = measure_bare if args.measure == "bare" else measure_probe
        print(json.dumps(measure(args.address, args.ca, args.page_size)))
        return

    from directory_data import DirectoryShape, records  # bench/directory_data.py (idfix-rules)

    from tests.support import samba
    from tests.support.samba_data import admin_connection, extend_schema

    ldbadd = shutil.which("ldbadd")
    if os.geteuid() != 0 or not ldbadd or not shutil.which("samba"):
        raise SystemExit("needs root, samba and ldbadd (apt-get install samba samba-ad-dc ldb-tools)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-samba-"))
    try:
        started = time.perf_counter()
        samba.provision(shutil.which("samba-tool") or "samba-tool", workdir)
        print(f"provisioned in {time.perf_counter() - started:.1f} s", flush=True)
        with samba.network_namespace({"open": 8080}, tag="b") as namespace:
            cert, key, ca, other = samba.issue_certificates(workdir, namespace.address)
            samba.configure(workdir, namespace.address, cert, key, ca)
            dc = samba.SambaDC(workdir=workdir, namespace=namespace, ca_file=ca, other_ca_file=other,
                               samba=shutil.which("samba") or "samba")
            dc.start()
            with admin_connection(dc) as conn:
                extend_schema(conn)
            dc.stop()

            shape = DirectoryShape(users=args.users, groups=args.groups, contacts=args.contacts, base=samba.BASE_DN,
                                   domain="contoso.com", samba_safe=True)
            ldif = workdir / "directory.ldif"
            started = time.perf_counter()
            count = write_ldb_ldif(records(shape), ldif)
            print(f"generated {count} records in {time.perf_counter() - started:.1f} s; planted: "
                  f"{dict(sorted(shape.planted.items()))}", flush=True)
            started = time.perf_counter()
            done = subprocess.run([ldbadd, "--nosync", "-H", str(workdir / "private" / "sam.ldb"), str(ldif)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"ldbadd failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            print(f"loaded with ldbadd in {time.perf_counter() - started:.1f} s", flush=True)
            dc.start()
            try:
                for run in range(args.runs):
                    bare = child("bare", namespace.address, str(ca), args.page_size)
                    probe = child("probe", namespace.address, str(ca), args.page_size)
                    overhead = (probe["seconds"] / bare["seconds"] - 1) * 100
                    print(f"run {run + 1}: bare ldap3 {bare['objects']} objects in {bare['seconds']:.1f} s "
                          f"(peak RSS {bare['peak_rss_mb']:.0f} MB) | probe + judge {probe['objects']} objects, "
                          f"{probe['issues']} issues, {probe['pages']} pages in {probe['seconds']:.1f} s "
                          f"(finish {probe['finish_seconds']:.1f} s, peak RSS {probe['peak_rss_mb']:.0f} MB) | "
                          f"overhead {overhead:+.0f} % (goal ≤ 20 %), RSS goal ≤ 300 MB", flush=True)
            finally:
                dc.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
