"""The report of a large tenant: size, render time, printed pages and print time, time to open.
Run by hand: `.venv/bin/python bench/bench_report.py [--results FILE] [--users N] [--keep DIR]`.

Without --results it scans the generated large tenant (bench_tenant.py's: 100,000 users, 1 %
provisioning errors, about 1,100 findings) and reports on its results. The page is printed with
headless Chromium (`--print-to-pdf`, pages counted with pdfinfo) and opened in it with a script
that reports the navigation timing (DOMContentLoaded and load, from the start of navigation).
Figures are compared with the baseline measured before findings were grouped into actions
(issue 10: 2.0 MB, 1,157 pages, 25 s to print).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support.browser

from ems_readiness.engine.model import Results, load_results  # noqa: E402
from ems_readiness.reports.actions import build_plan  # noqa: E402
from ems_readiness.reports.outputs import publishable, render  # noqa: E402
from tests.support.browser import _run, pdf_pages, print_pdf  # noqa: E402

BASELINE = {"name": "before grouping (issue 10)", "size_mb": 2.0, "pages": 1157, "print_s": 25.0}

TIMING = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var n = performance.getEntriesByType('navigation')[0];
  document.body.setAttribute('data-timing', JSON.stringify({dom: n.domContentLoadedEventEnd, load: n.loadEventEnd}));
}, 0); });
</script>"""


def large_results(users: int) -> Results:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_tenant
    from ems_readiness.simulate.environment import simulated_token

    token = simulated_token()
    server, url = bench_tenant.start_server(token, users, 5_000, 7, None)
    try:
        results, wall, _ = bench_tenant.run_scan(url, token)
    finally:
        server.terminate()
        server.wait()
    print(f"scanned the generated tenant ({users:,} users) in {wall:.1f} s")
    return results


def open_timing(page: Path, work: Path, rounds: int) -> tuple[float, float]:
    """Median DOMContentLoaded and load times (ms) of `page` in headless Chromium."""
    import re
    import html

    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text(encoding="utf-8"))
    timed = work / "timed.html"
    timed.write_text(text.replace("</body>", TIMING + "</body>"), encoding="utf-8")
    doms, loads = [], []
    for _ in range(rounds):
        dom = _run(["--window-size=1280,900", "--virtual-time-budget=5000", "--dump-dom", timed.as_uri()], 120).stdout
        match = re.search(r'data-timing="([^"]*)"', dom)
        if not match:
            raise SystemExit("the timing script did not report")
        timing = json.loads(html.unescape(match.group(1)))
        doms.append(timing["dom"])
        loads.append(timing["load"])
    return statistics.median(doms), statistics.median(loads)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=Path, help="a results.json to report on instead of scanning")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write report.html and report.pdf here")
    args = parser.parse_args()
    results = load_results(args.results) if args.results else large_results(args.users)
    findings = sum(1 for _ in results.findings())
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)

    clean = publishable(results)
    render(clean, "html", "en")  # compile the templates once
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        text = render(clean, "html", "en")
        times.append(time.perf_counter() - start)
    page = work / "report.html"
    page.write_text(text, encoding="utf-8")
    size_mb = len(text.encode("utf-8")) / 1e6
    actions = build_plan(clean, "en")
    print(f"results: {findings:,} findings in {len(results.checks)} checks -> {len(actions)} actions")
    print(f"render report.html: {statistics.median(times) * 1000:.0f} ms; size {size_mb:.2f} MB"
          f" ({BASELINE['size_mb'] / size_mb:.0f}x smaller than {BASELINE['name']}: {BASELINE['size_mb']} MB)")

    start = time.perf_counter()
    pdf = print_pdf(page, work / "report.pdf", deadline=300)
    print_s = time.perf_counter() - start
    pages = pdf_pages(pdf)
    print(f"print to PDF (A4): {pages} pages in {print_s:.1f} s (goal <= 40 pages; {BASELINE['name']}:"
          f" {BASELINE['pages']} pages in {BASELINE['print_s']:.0f} s)")

    dom_ms, load_ms = open_timing(page, work, args.rounds)
    print(f"open in Chromium: DOMContentLoaded {dom_ms:.0f} ms, load {load_ms:.0f} ms (goal < 2000 ms)")
    if args.keep:
        print(f"kept {page} and {pdf}")


if __name__ == "__main__":
    main()
