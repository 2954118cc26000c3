"""Reading the files a user hands the tool (profile, suppressions, catalogue, results, exports).

Every reader here either returns plain data or raises InputFileError with one line naming the
file: text is UTF-8 with an optional byte-order mark (Windows editors write one), nesting is
bounded, and JSON holds only what JSON means (no NaN/Infinity, no lone surrogates).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

# Deeper than any file the tool writes or reads legitimately; shallow enough that no parser,
# validator or renderer downstream meets Python's recursion limit.
MAX_DEPTH = 64


class InputFileError(Exception):
    """An input file that cannot be used: the message is one line and names the file."""


def read_text(path: str | Path, what: str) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{p}: {what} not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{p}: {what} is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p}: {what} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read {what}: {exc.strerror or type(exc).__name__}") from None


def parse_toml(text: str, name: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{name}: not valid TOML: {exc}") from None
    except RecursionError:
        raise InputFileError(f"{name}: nested too deeply") from None
    check_plain(data, name, finite=False)  # TOML's inf and nan reach the models, which name the key
    return data


def parse_json(text: str, name: str, check: bool = True) -> Any:
    """JSON text as Python values; with `check`, also plain (see check_plain). A caller that drops
    part of the data first may check the rest itself."""
    try:
        # unchecked, numbers too large for a float are refused as they are read
        hooks = {} if check else {"parse_float": _finite_float}
        data = json.loads(text.removeprefix("\ufeff"), parse_constant=_reject_constant, **hooks)
    except _NonFinite as exc:
        raise InputFileError(f"{name}: not valid JSON: {exc} is not a JSON number") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{name}: not valid JSON: {exc}") from None
    except RecursionError:
        raise InputFileError(f"{name}: nested too deeply") from None
    if check:
        check_plain(data, name)
    return data


def check_plain(data: Any, name: str, finite: bool = True) -> None:
    """Bounded depth, no string (key or value) that cannot be written as UTF-8, finite numbers
    (JSON reads 1e999 as infinity)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            items = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            items = value
        elif isinstance(value, str):
            _check_string(value, name)
            continue
        elif finite and isinstance(value, float) and not math.isfinite(value):
            raise InputFileError(f"{name}: {value} is not a finite number")
        else:
            continue
        if depth > MAX_DEPTH:
            raise InputFileError(f"{name}: nested deeper than {MAX_DEPTH} levels")
        stack.extend((item, depth + 1) for item in items)


def _check_string(text: str, name: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputFileError(f"{name}: holds text that is not valid Unicode (a lone surrogate at {exc.start})") from None


class _NonFinite(ValueError):
    pass


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value


def _reject_constant(text: str) -> Any:
    raise _NonFinite(text)
