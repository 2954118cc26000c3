"""GitHub Actions job summary: `summary.md` appended to the file named by $GITHUB_STEP_SUMMARY.

The summary is shown as Markdown, but other steps print it or copy it into logs, so no line of it
may read as a workflow command: a line that would (`::` after white space, `##vso[`, `##[`) gets a
backslash, which Markdown does not show (`inert_commands`).
"""

from __future__ import annotations

import os

from ems_readiness.engine.secrets import scrub
from ems_readiness.engine.terminal import inert_commands

# GitHub rejects a step summary over 1 MiB (and then shows none of it).
STEP_SUMMARY_LIMIT_BYTES = 1024 * 1024
TRUNCATED_NOTE = "\n\n… summary truncated; see summary.md in the artifact.\n"


def append_step_summary(markdown: str) -> bool:
    """Append to the job summary when running in GitHub Actions; False when not, or not writable."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    try:
        with open(path, "a", encoding="utf-8", errors="replace") as summary:
            summary.write(_bounded(inert_commands(scrub(markdown)).rstrip("\n") + "\n"))
    except OSError:
        return False
    return True


def _bounded(markdown: str) -> str:
    data = markdown.encode("utf-8", "replace")
    if len(data) <= STEP_SUMMARY_LIMIT_BYTES:
        return markdown
    keep = STEP_SUMMARY_LIMIT_BYTES - len(TRUNCATED_NOTE.encode("utf-8"))
    return data[:keep].decode("utf-8", errors="ignore") + TRUNCATED_NOTE

