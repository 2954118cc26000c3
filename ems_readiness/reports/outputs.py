"""Every output format from one results document."""

from __future__ import annotations

import importlib
from pathlib import Path

from ems_readiness.engine.model import Results

# format -> (file name, module with `render(results, lang) -> str`)
FORMATS: dict[str, tuple[str, str]] = {
    "html": ("report.html", "ems_readiness.reports.html"),
    "json": ("results.json", ""),
    "junit": ("junit.xml", "ems_readiness.reports.junit"),
    "sarif": ("results.sarif", "ems_readiness.reports.sarif"),
    "md": ("summary.md", "ems_readiness.reports.markdown"),
    "csv": ("findings.csv", "ems_readiness.reports.csv_findings"),
}


def parse_formats(text: str | list[str]) -> list[str]:
    items = text if isinstance(text, list) else text.split(",")
    formats = [f.strip().lower() for f in items if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    return formats or ["html", "json"]


def render(results: Results, fmt: str, lang: str) -> str:
    if fmt == "json":
        return results.dump_json() + "\n"
    module = importlib.import_module(FORMATS[fmt][1])
    return module.render(results, lang=lang)


def write_outputs(results: Results, out_dir: Path, formats: list[str], lang: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_dir / FORMATS[fmt][0]
        text = render(results, fmt, lang)
        # CSV carries a BOM so Excel reads UTF-8; the renderer adds it
        path.write_text(text, encoding="utf-8", newline="" if fmt == "csv" else None)
        written.append(path)
    if results.directory_fixes is not None:  # the directory was assessed: the AD admin's work list
        from ems_readiness.reports import directory_fixes

        path = out_dir / directory_fixes.FILE_NAME
        path.write_text(directory_fixes.render(results), encoding="utf-8", newline="")
        written.append(path)
    if "md" in formats:
        from ems_readiness.reports.github import append_step_summary

        append_step_summary((out_dir / FORMATS["md"][0]).read_text(encoding="utf-8"))
    return written
