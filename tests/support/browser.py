"""Headless Chromium for what the report looks like: print to PDF, screenshots, measure the layout.

Every call has a deadline and its own throw-away profile; nothing is fetched (the report loads
nothing, and background networking is off). `pdfinfo` (poppler-utils) counts printed pages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.require import require_tool

DEADLINE_SECONDS = 90
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
]


def chromium() -> str:
    return require_tool("chromium", "chromium")


def _run(args: list[str], deadline: float) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=deadline, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def print_pdf(page: Path, pdf: Path, deadline: float = DEADLINE_SECONDS) -> Path:
    """The page printed as Chromium's print-to-PDF does (A4 comes from the page's @page rule)."""
    pdf.unlink(missing_ok=True)
    proc = _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.resolve().as_uri()], deadline)
    assert pdf.is_file() and pdf.stat().st_size > 0, f"chromium printed nothing: {proc.stderr[-2000:]}"
    return pdf


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run([require_tool("pdfinfo", "poppler-utils"), str(pdf)], capture_output=True,
                          text=True, timeout=30, check=True).stdout
    match = re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE)
    assert match, info
    return int(match.group(1))


def pdf_page_size_mm(pdf: Path) -> tuple[float, float]:
    info = subprocess.run([require_tool("pdfinfo", "poppler-utils"), str(pdf)], capture_output=True,
                          text=True, timeout=30, check=True).stdout
    match = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.MULTILINE)
    assert match, info
    return float(match.group(1)) * 25.4 / 72, float(match.group(2)) * 25.4 / 72


def screenshot(page: Path, png: Path, width: int, height: int, deadline: float = DEADLINE_SECONDS) -> Path:
    png.unlink(missing_ok=True)
    proc = _run([f"--window-size={width},{height}", f"--screenshot={png}", page.resolve().as_uri()], deadline)
    assert png.is_file(), f"chromium took no screenshot: {proc.stderr[-2000:]}"
    return png


def dump_dom(page: Path, width: int, height: int = 900, deadline: float = DEADLINE_SECONDS) -> str:
    """The DOM after the page's scripts ran, at a window `width` px wide."""
    proc = _run([f"--window-size={width},{height}", "--virtual-time-budget=3000", "--dump-dom",
                 page.resolve().as_uri()], deadline)
    assert "<html" in proc.stdout, f"chromium dumped no DOM: {proc.stderr[-2000:]}"
    return proc.stdout


# Layout figures, computed inside the page: how wide the document is against its viewport, the
# first elements sticking out, and how findings are laid out.
MEASURE_LAYOUT = """
  var root = document.documentElement, wide = [];
  document.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    var spills = el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible';
    if ((r.right > root.clientWidth + 0.5 || spills) && wide.length < 10) {
      wide.push(el.tagName.toLowerCase() + '.' + el.className + ' right=' + Math.round(r.right));
    }
  });
  var finding = document.querySelector('tbody.finding');
  return {scroll: root.scrollWidth, client: root.clientWidth, wide: wide,
          finding_display: finding ? getComputedStyle(finding).display : null};
"""
_PAGE_SCRIPT = """<script>
window.addEventListener('load', function () {{ setTimeout(function () {{
  var result = (function () {{ {body} }})();
  parent.postMessage(JSON.stringify(result), '*');
}}, 0); }});
</script>"""
_HOST = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="evaluated.html" style="border:0;width:{width}px;height:900px"></iframe>
<script>window.addEventListener('message', function (e) {{ document.body.setAttribute('data-result', e.data); }});</script>
</body></html>"""


def evaluate(page: Path, body: str, work: Path, width: int = 1280) -> object:
    """Run the JavaScript function body `body` in `page` once it has loaded and its own script ran, laid
    out `width` CSS px wide; returns what it returns (JSON). The page runs in an iframe of a host page
    (a headless window is at least 500 px wide), from a copy without its CSP so the script may run."""
    import html
    import json

    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text(encoding="utf-8"))
    script = _PAGE_SCRIPT.format(body=body)
    (work / "evaluated.html").write_text(text.replace("</body>", script + "</body>"), encoding="utf-8")
    host = work / "host.html"
    host.write_text(_HOST.format(width=width), encoding="utf-8")
    dom = dump_dom(host, 1000)
    match = re.search(r'data-result="([^"]*)"', dom)
    assert match, "the script in the page did not report"
    return json.loads(html.unescape(match.group(1)))


def measure_layout(page: Path, width: int, work: Path) -> dict:
    return evaluate(page, MEASURE_LAYOUT, work, width)  # type: ignore[return-value]
