"""What every probe shares: one answer per question per scan, bounded concurrency, evidence."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Hashable, TypeVar

from ems_readiness.engine.check import bound_text
from ems_readiness.engine.model import Evidence

T = TypeVar("T")

MAX_EVIDENCE_VALUE = 4000


class ProbeError(Exception):
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
            outcome=outcome,
            elapsed_ms=None if elapsed_ms is None else round(elapsed_ms, 1),
            data={k: bounded(v) for k, v in data.items()},
        )
        self.items.append(evidence)
        return evidence


def bounded(value: Any, depth: int = 0) -> Any:
    """Untrusted values enter evidence bounded in size and depth."""
    if isinstance(value, str):
        return bound_text(value, MAX_EVIDENCE_VALUE)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if depth > 6:
        return bound_text(repr(value), 200)
    if isinstance(value, dict):
        return {bound_text(str(k), 200): bounded(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple, set)):
        items = list(value)
        out = [bounded(v, depth + 1) for v in items[:200]]
        if len(items) > 200:
            out.append(f"…{len(items) - 200} more")
        return out
    return bound_text(str(value), MAX_EVIDENCE_VALUE)


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000
