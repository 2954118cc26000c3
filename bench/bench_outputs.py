"""What keeping secrets out and rendering every format costs, on the unready demo's results.
Run by hand: `.venv/bin/python bench/bench_outputs.py [--results FILE] [--secrets N] [--rounds R]`.

Without --results it runs `ems-readiness demo` once (JSON only) and times on its results.json.
Prints, per round's median: the scrub of the whole document (`publishable`), each renderer, the
final scrub of the rendered texts, and the scrub throughput on 1 MB of text with N secrets
registered (each adds its URL, JSON, HTML and base64 forms).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ems_readiness.engine.model import Results
from ems_readiness.engine.secrets import SECRETS, scrub
from ems_readiness.reports.outputs import FORMATS, clean_text, publishable, render


def demo_results() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-outputs-"))
    subprocess.run([sys.executable, "-m", "ems_readiness.cli", "demo", "--quiet", "--format", "json",
                    "--out", str(folder)], check=False, capture_output=True)
    return folder / "results.json"


def timed(fn, rounds: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=Path)
    parser.add_argument("--secrets", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    path = args.results or demo_results()
    text = path.read_text(encoding="utf-8")
    results = Results.model_validate_json(text)
    for index in range(args.secrets):
        SECRETS.add(f"bench-secret-{index:04d}-Zq8~k2P.v9/LmN+e3Rt")
    findings = sum(len(c.findings) for c in results.checks)
    print(f"document: {path} ({len(text) / 1024:.0f} KiB JSON, {len(results.checks)} checks, {findings} findings, "
          f"{len(results.observations)} observations); {args.secrets} secrets registered")

    ms, clean = timed(lambda: publishable(results), args.rounds)
    print(f"  scrub the document (publishable)   {ms:8.1f} ms")
    total = ms
    for fmt in FORMATS:
        render(clean, fmt, "en")  # the first HTML render compiles the templates, once per process
        ms, rendered = timed(lambda: render(clean, fmt, "en"), args.rounds)
        scrub_ms, _ = timed(lambda: clean_text(rendered), args.rounds)
        print(f"  render {fmt:6} {len(rendered) / 1024:7.0f} KiB     {ms:8.1f} ms   + final scrub {scrub_ms:6.1f} ms")
        total += ms + scrub_ms
    print(f"  scrub + render, all six formats    {total:8.1f} ms")

    sample = ("ordinary tenant text without anything to remove, " * 21000)[:1_000_000]
    ms, _ = timed(lambda: scrub(sample), args.rounds)
    print(f"  scrub 1 MB of text (nothing found) {ms:8.1f} ms")
    dirty = sample[:500_000] + "Bearer " + "x" * 40 + f" bench-secret-0001-Zq8~k2P.v9/LmN+e3Rt " + sample[500_000:]
    ms, _ = timed(lambda: scrub(dirty), args.rounds)
    print(f"  scrub 1 MB of text (two hits)      {ms:8.1f} ms")


if __name__ == "__main__":
    main()
