"""Everything the tool prints: untrusted text made inert for a terminal and for CI logs.

Error text from servers, tenant data and DNS answers reach stdout/stderr in messages. On the way
they must not drive the terminal (escape sequences, carriage returns, bidirectional overrides that
reorder what is shown) or the CI system reading the log (GitHub Actions runs `::command::` at the
start of a line; Azure Pipelines runs `##vso[...]` and `##[...]` anywhere in one). `terminal_text`
scrubs secrets and shows each such character as a visible escape (`\\x1b`, `\\u202e`), and breaks
each workflow-command prefix with a backslash (`\\::error`, `#\\#vso[`). Line breaks and tabs stay;
`one_line` shows them as escapes too, for a message that must be exactly one line.

Logging goes through the same function: third-party loggers (azure-identity, MSAL, httpx) are quiet
unless EMS_READINESS_DEBUG is set, and whatever is shown is one scrubbed, inert line per record.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from typing import Any

import click

from ems_readiness.engine.secrets import scrub

DEBUG_VARIABLE = "EMS_READINESS_DEBUG"

# C0 controls except tab and line feed, DEL, C1 controls, bidirectional and line-separator
# formatting characters, and lone surrogates (which no terminal encoding can carry).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# GitHub Actions: `::` after leading white space (the runner trims it); Azure Pipelines and the
# GitHub runner's older syntax: `##vso[` and `##[` anywhere in a line.
_GITHUB_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)
_HASH_COMMAND = re.compile(r"#(?=#(?:vso)?\[)", re.IGNORECASE)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_text(value: object) -> str:
    """`value` as text safe to print: no secret, no control or formatting character, no CI command."""
    text = scrub(str(value))
    return inert_commands(_UNSAFE.sub(_visible, text))


def inert_commands(text: str) -> str:
    """`text` with a backslash in every CI workflow-command prefix (Markdown shows it unchanged)."""
    if "::" in text:
        text = _GITHUB_COMMAND.sub(r"\1\\:", text)
    if "#" in text:
        text = _HASH_COMMAND.sub("#\\\\", text)
    return text


def one_line(value: object) -> str:
    """`value` as exactly one safe line: secrets scrubbed, line breaks, tabs and every other
    unprintable character shown as escapes (\\n, \\x1b, \\u202e), no CI command."""
    text = scrub(str(value))
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)
    return inert_commands(text)


def echo(value: object = "", err: bool = False) -> None:
    click.echo(terminal_text(value), err=err)


def json_text(document: Any, **dump_options: Any) -> str:
    """JSON for the terminal: still valid JSON, with the same characters escaped as \\uXXXX."""
    text = scrub(json.dumps(document, ensure_ascii=False, **dump_options))

    def escaped(match: re.Match[str]) -> str:
        return "".join(f"\\u{ord(c):04x}" for c in match.group())

    text = _UNSAFE.sub(escaped, text)
    # inside a JSON string '#' may be written \u0023, which no CI system reads as a command
    return _HASH_COMMAND.sub(lambda _: "\\u0023", text)


# ---- logging -------------------------------------------------------------------------------

class InertRecords(logging.Filter):
    """Makes a record's text (message and any traceback) one scrubbed, inert line."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f" ({type(exc).__name__}: {exc})"
        record.msg, record.args = one_line(text), None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (the CLI's tests swap it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_handler: logging.Handler | None = None
OWN_LOGGERS = ("ems_readiness", "py")  # "py.warnings": Python warnings, once captured


def configure_logging(environ: dict[str, str] | None = None) -> None:
    """One handler on stderr, behind the filter; the libraries' chatter only when debugging."""
    global _handler
    environ = os.environ if environ is None else environ
    debug = bool(environ.get(DEBUG_VARIABLE))
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = _StderrHandler()
    if not debug:
        # Libraries log their own view of a failure (MSAL even a traceback); the tool says it once.
        _handler.addFilter(lambda record: record.name.split(".")[0] in OWN_LOGGERS)
    _handler.addFilter(InertRecords())
    _handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if debug
                                            else "warning: %(message)s"))
    root.addHandler(_handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.captureWarnings(True)


# ---- uncaught exceptions -------------------------------------------------------------------

def install_excepthook() -> None:
    """A bug's traceback still reaches the user, scrubbed and inert (its messages may hold server text)."""

    def hook(kind, exc, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        text = "".join(traceback.format_exception(kind, exc, tb))
        sys.stderr.write(terminal_text(text))
        sys.stderr.flush()

    sys.excepthook = hook
