"""Every output format from one results document.

Before any renderer sees the document, `publishable` makes a copy fit to be written anywhere:
every string in it (findings, evidence, settings, tenant data) has the run's secrets scrubbed
and lone surrogates (valid in a Python string, impossible in UTF-8) replaced by U+FFFD; times
are in UTC and numbers finite, so every format can carry them and results.json reads back. Doing it
on the model, before escaping and truncation, means no renderer's escaping (HTML entities, JSON
escapes, Markdown backslashes) or shortening can turn a secret into a form the scrub misses.
Each rendered text is scrubbed once more and written atomically: a temporary file renamed into
place, so a failure never leaves a truncated or empty output.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import tempfile
import typing
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from ems_readiness.engine.gc_pause import paused_cycle_collection
from ems_readiness.engine.model import Results
from ems_readiness.engine.model_walk import loose_values_pass
from ems_readiness.engine.secrets import scrub

# format -> (file name, module with `render(results, lang) -> str`)
FORMATS: dict[str, tuple[str, str]] = {
    "html": ("report.html", "ems_readiness.reports.html"),
    "json": ("results.json", ""),
    "junit": ("junit.xml", "ems_readiness.reports.junit"),
    "sarif": ("results.sarif", "ems_readiness.reports.sarif"),
    "md": ("summary.md", "ems_readiness.reports.markdown"),
    "csv": ("findings.csv", "ems_readiness.reports.csv_findings"),
}

_WRITE_CHUNK = 1 << 22  # characters
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_formats(text: str | list[str]) -> list[str]:
    items = text if isinstance(text, list) else text.split(",")
    formats = [f.strip().lower() for f in items if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    return formats or ["html", "json"]


def clean_text(text: str) -> str:
    """A string fit for any output: secrets scrubbed, lone surrogates replaced."""
    text = scrub(text)
    return _SURROGATE.sub("\ufffd", text) if _has_surrogate(text) else text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def publishable(results: Results) -> Results:
    """A copy of `results` fit for any output (see the module text): every string cleaned, every
    time aware and in UTC, every number finite. The model accepts more than a file can carry.
    A document that is already fit (the usual case) is returned as it is, which `_clean_json`
    tells without visiting every string."""
    return _publishable(results)[0]


def _publishable(results: Results) -> tuple[Results, list[str] | None]:
    """`publishable(results)`, and results.json's text in parts when it was made on the way."""
    with paused_cycle_collection():
        json_parts = _clean_json(results)
        return (results if json_parts is not None else _cleaned_model(results)), json_parts


def _clean_json(results: Results) -> list[str] | None:
    """results.json's text, in parts, when the document is already fit for output, else None (the
    walk would change something). Strings are judged on that text: JSON escapes each character on
    its own and every registered secret is also registered in its JSON-escaped form, so a secret in
    any string shows in the text (parts end between values, never inside a string; a match across
    strings only sends the document the long way). A lone surrogate cannot be serialised at all.
    Times and numbers, and values of free-form fields that are not plain JSON, are looked at where
    the models can hold them (`engine/model_walk.py`)."""
    try:
        parts = results.dump_json_parts()
    except PydanticSerializationError:
        return None
    if all(scrub(part) == part for part in parts) and loose_values_pass(results, _fit_leaf, bound_depth=False):
        return parts + ["\n"]
    return None


def _fit_leaf(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, datetime):
        return value.utcoffset() == timedelta(0)
    return value is None or isinstance(value, (str, int, Enum))


def _cleaned_model(model: BaseModel) -> BaseModel:
    fields = type(model).model_fields
    updates = {}
    for name, info in fields.items():
        value = getattr(model, name)
        if isinstance(value, float) and not math.isfinite(value):
            cleaned: Any = None if _optional(info.annotation) else 0.0
        else:
            cleaned = _cleaned(value)
        if cleaned is not value:
            updates[name] = cleaned
    return model.model_copy(update=updates) if updates else model


def _optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _cleaned(value: Any) -> Any:
    if isinstance(value, Enum) or value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        cleaned = clean_text(value)
        return value if cleaned == value else cleaned
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # what JSON would make of it
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, BaseModel):
        return _cleaned_model(value)
    if isinstance(value, dict):
        return {_cleaned(k): _cleaned(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cleaned(v) for v in value]
    return clean_text(str(value))


def _utc(moment: datetime) -> datetime:
    """Naive times are read as UTC (as the tool writes them); times that overflow on the way are clamped."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        edge = datetime.max if moment.year > 1 else datetime.min
        return edge.replace(tzinfo=timezone.utc)


def render(results: Results, fmt: str, lang: str) -> str:
    """One format of an already `publishable` document."""
    if fmt == "json":
        return results.dump_json() + "\n"
    module = importlib.import_module(FORMATS[fmt][1])
    return module.render(results, lang=lang)


def render_all(results: Results, formats: list[str], lang: str) -> dict[str, str]:
    """File name -> text of every output: the formats asked for, actions.csv beside findings.csv, and
    directory-fixes.csv when the directory was assessed."""
    return {name: "".join(parts) for name, parts in _render_parts(results, formats, lang).items()}


def _render_parts(results: Results, formats: list[str], lang: str) -> dict[str, list[str]]:
    """`render_all`, each text in parts (results.json of a merge is a hundred megabytes)."""
    with paused_cycle_collection():
        clean, json_parts = _publishable(results)
        if "json" not in formats:
            json_parts = None  # it was made to judge the document; not kept while the rest renders
        texts = {}
        for fmt in formats:  # results.json's text was judged clean as it was made
            texts[FORMATS[fmt][0]] = json_parts if fmt == "json" and json_parts is not None else [
                clean_text(render(clean, fmt, lang))]
        if "csv" in formats:  # the action plan beside the findings, for the customer to plan in
            from ems_readiness.reports import csv_actions

            texts[csv_actions.FILE_NAME] = [clean_text(csv_actions.render(clean, lang))]
        if clean.directory_fixes is not None:  # the directory was assessed: the AD admin's work list
            from ems_readiness.reports import directory_fixes

            texts[directory_fixes.FILE_NAME] = [clean_text(directory_fixes.render(clean))]
        return texts


def write_atomic(path: Path, text: str | list[str], newline: str | None = None) -> None:
    """Write `text` (or its parts) as UTF-8 to a temporary file beside `path`, then rename it into place."""
    parts = [text] if isinstance(text, str) else text
    if newline is None and os.linesep != "\n":
        parts = [part.replace("\n", os.linesep) for part in parts]
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            for part in parts:
                for start in range(0, len(part), _WRITE_CHUNK):  # a bounded copy of a big text at a time
                    file.write(part[start:start + _WRITE_CHUNK].encode("utf-8", "replace"))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_outputs(results: Results, out_dir: Path, formats: list[str], lang: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = _render_parts(results, formats, lang)  # everything rendered before anything is written
    written = []
    for name, text in texts.items():
        path = out_dir / name
        # a CSV carries a BOM so Excel reads UTF-8, and its own CRLF line ends; the renderer adds both
        write_atomic(path, text, newline="" if name.endswith(".csv") else None)
        written.append(path)
    summary = texts.get(FORMATS["md"][0])
    if summary is not None:
        from ems_readiness.reports.github import append_step_summary

        append_step_summary("".join(summary))
    return written
