"""What every probe shares: one answer per question per scan, bounded concurrency, evidence."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Hashable, TypeVar

from ems_readiness.engine.check import bound_text
from ems_readiness.engine.model import Evidence, Text
from ems_readiness.engine.texts import render

T = TypeVar("T")

MAX_EVIDENCE_VALUE = 4000


class TextError(Exception):
    """An error whose message may be given as a Text: the message is then its English, and `text`
    keeps it for the reports in other languages."""

    text: Text | None = None

    def __init__(self, message: str | Text = "", *args: object) -> None:
        if isinstance(message, Text):
            self.text, message = message, render(message)
        super().__init__(message, *args)


class ProbeError(TextError):
    """A probe could not observe what was asked; the message says why, for the report."""


class SingleFlightCache:
    """Each key is computed once per scan; concurrent askers await the same task."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[Any]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(compute())
            self._tasks[key] = task
        # shield: one caller being cancelled must not cancel the shared computation
        return await asyncio.shield(task)

    def __len__(self) -> int:
        return len(self._tasks)


class EvidenceLog:
    """Every observation of the scan, in the order it was made."""

    def __init__(self) -> None:
        self.items: list[Evidence] = []

    def record(self, probe: str, target: str, outcome: str, elapsed_ms: float | None = None, **data: Any) -> Evidence:
        evidence = Evidence(
            probe=probe,  # type: ignore[arg-type]
            target=bound_text(target, 500),
            outcome=bound_text(outcome, 200),
            elapsed_ms=None if elapsed_ms is None else round(elapsed_ms, 1),
            data={k: bounded(v) for k, v in data.items()},
        )
        self.items.append(evidence)
        return evidence


MAX_EVIDENCE_ITEMS = 200  # per list or object
MAX_EVIDENCE_DEPTH = 6
# The whole of one evidence value: without it, 200 lists of 200 lists of ... are each in bounds.
MAX_EVIDENCE_TOTAL_CHARS = 200_000
MAX_EVIDENCE_NODES = 5_000


class _Budget:
    def __init__(self) -> None:
        self.chars = MAX_EVIDENCE_TOTAL_CHARS
        self.nodes = MAX_EVIDENCE_NODES

    def take(self, text: str) -> str | None:
        """`text` if it fits what is left, else None."""
        self.nodes -= 1
        self.chars -= len(text)
        return text if self.nodes >= 0 and self.chars >= 0 else None


def bounded(value: Any, depth: int = 0, budget: _Budget | None = None) -> Any:
    """Untrusted values enter evidence bounded in size, depth and total volume."""
    budget = budget or _Budget()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if budget.take("0") is not None else None
    if isinstance(value, str):
        return _bounded_text(value, MAX_EVIDENCE_VALUE, budget)
    if depth > MAX_EVIDENCE_DEPTH:
        return _bounded_text(repr(value), 200, budget)
    if isinstance(value, dict):
        items = list(value.items())
        out: Any = {}
        for k, v in items[:MAX_EVIDENCE_ITEMS]:
            key = _bounded_text(str(k), 200, budget)
            if key == _OVER_BUDGET:
                break
            out[key] = bounded(v, depth + 1, budget)
        return out
    if isinstance(value, (list, tuple, set)):
        items = list(value)
        out = []
        for v in items[:MAX_EVIDENCE_ITEMS]:
            if budget.nodes <= 0 or budget.chars <= 0:
                break
            out.append(bounded(v, depth + 1, budget))
        if len(items) > len(out):
            out.append(f"…{len(items) - len(out)} more")
        return out
    return _bounded_text(str(value), MAX_EVIDENCE_VALUE, budget)


_OVER_BUDGET = "…[evidence size limit reached]"


def _bounded_text(text: str, limit: int, budget: _Budget) -> str:
    text = bound_text(text, limit)
    return budget.take(text) or _OVER_BUDGET


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000
