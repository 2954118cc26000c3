"""Judging a customer's LDIF export end to end: ExportDirectorySource → DirectoryJudge (run by hand).

    .venv/bin/python bench/bench_directory_export.py [--users 100000 --groups 20000 --contacts 5000] [--csv]
        [--keep /tmp/corp.ldf]

Generates the directory (bench/directory_data.py) into a temporary ldifde file, then in a fresh child
process (so its peak RSS is the judgement's alone) validates the file as the CLI does, streams the
objects through the rules and prints wall times, objects/s, peak RSS and what was found against what
was planted. Goal: ≤ 15 s for 100,000 users, 20,000 groups and 5,000 contacts. Peak RSS grows only with
the duplicate indexes (one entry per distinct mail, alias, proxy address, UPN), never with the file: the
reader holds one record at a time. CPU time is printed beside wall time because the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def judge_file(path: str) -> dict:
    from ems_readiness.judges.idfix import DirectoryJudge
    from ems_readiness.probes.directory_export import ExportDirectorySource, validate_export

    started, cpu_started = time.perf_counter(), time.process_time()
    validate_export(path)
    validated, cpu_validated = time.perf_counter(), time.process_time()

    async def run() -> tuple[DirectoryJudge, Counter]:
        judge = DirectoryJudge()
        found: Counter = Counter()
        async for obj in ExportDirectorySource(path).objects():
            for issue in judge.add(obj):
                found[issue.rule] += 1
        for issue in judge.finish():
            found[issue.rule] += 1
        return judge, found

    judge, found = asyncio.run(run())
    done, cpu_done = time.perf_counter(), time.process_time()
    return {
        "validate_s": round(validated - started, 2),
        "judge_s": round(done - validated, 2),
        "validate_cpu_s": round(cpu_validated - cpu_started, 2),
        "judge_cpu_s": round(cpu_done - cpu_validated, 2),
        "objects": judge.seen,
        "skipped": sum(judge.skipped.values()),
        "by_kind": judge.by_kind,
        "issues_by_rule": dict(sorted(found.items())),
        "upn_suffixes": dict(sorted(judge.upn_suffixes.items(), key=lambda kv: -kv[1])[:5]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--csv", action="store_true", help="judge a csvde CSV export instead of ldifde LDIF")
    parser.add_argument("--keep", metavar="FILE", help="write the export here and keep it (reused if present)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(judge_file(args.child)))
        return

    from directory_data import DirectoryShape, records, write_csv, write_ldif

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "export.csv" if args.csv else "export.ldf")
        shape = DirectoryShape(users=args.users, groups=args.groups, contacts=args.contacts)
        started = time.perf_counter()
        if args.keep and os.path.exists(path):
            count = sum(1 for _ in records(shape))  # the planted counts, without writing
        else:
            with open(path, "wb") as out:
                count = (write_csv if args.csv else write_ldif)(records(shape), out)
        generated = time.perf_counter() - started
        size_mb = os.path.getsize(path) / 1e6
        with open(path, "rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        child = subprocess.run([sys.executable, __file__, "--child", path], capture_output=True, text=True,
                               timeout=600)
        if child.returncode != 0:
            sys.exit(child.stderr)
        result = json.loads(child.stdout)
    total = result["validate_s"] + result["judge_s"]
    print(f"directory: {args.users} users, {args.groups} groups, {args.contacts} contacts "
          f"→ {count} records, {lines} lines, {size_mb:.0f} MB of {'csvde CSV' if args.csv else 'ldifde LDIF'} (generated in {generated:.1f} s)")
    print(f"validate_export (the CLI's check before the scan): {result['validate_s']:.2f} s wall, "
          f"{result['validate_cpu_s']:.2f} s CPU")
    print(f"ExportDirectorySource → DirectoryJudge:            {result['judge_s']:.2f} s wall, "
          f"{result['judge_cpu_s']:.2f} s CPU ({result['objects'] / result['judge_s']:.0f} objects/s)")
    print(f"total {total:.2f} s wall (goal ≤ 15 s); peak RSS of the judging process {result['peak_rss_mb']} MB; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time includes waiting for a CPU)")
    print(f"judged {result['objects']} objects by kind {result['by_kind']}, skipped {result['skipped']}")
    print(f"planted: {dict(sorted(shape.planted.items()))}")
    print(f"found:   {result['issues_by_rule']}")
    print(f"top UPN suffixes: {result['upn_suffixes']}")


if __name__ == "__main__":
    main()
