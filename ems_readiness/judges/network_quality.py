"""Network quality verdicts (NET-004): latency to the Microsoft front doors, judged as Microsoft's
network assessment scores it (`data/network_quality.toml` cites every threshold).

Pure logic: figures in, verdicts out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import lru_cache

from ems_readiness.engine.catalogues import data_toml
from ems_readiness.engine.model import Status


@dataclass(frozen=True)
class Thresholds:
    points: tuple[tuple[float, float], ...]  # (latency ms, points), latency ascending
    pass_points: float
    fail_points: float
    labels: tuple[tuple[float, str], ...]  # (points floor, label), descending
    round_trips: dict[str, int]
    samples: int
    proxy_added_warn_ms: float
    source: str


@lru_cache(maxsize=1)
def thresholds() -> Thresholds:
    raw = data_toml("network_quality.toml")
    latency = raw["tcp_latency"]
    return Thresholds(
        points=tuple((float(ms), float(p)) for ms, p in latency["points"]),
        pass_points=float(latency["pass_points"]),
        fail_points=float(latency["fail_points"]),
        labels=tuple((float(p), str(label)) for p, label in latency["labels"]),
        round_trips={str(k): int(v) for k, v in raw["tls_handshake"]["round_trips"].items()},
        samples=int(raw["tls_handshake"]["samples"]),
        proxy_added_warn_ms=float(raw["proxy"]["added_warn_ms"]),
        source=str(raw["source"]),
    )


def latency_points(latency_ms: float, table: tuple[tuple[float, float], ...] | None = None) -> float:
    """Microsoft's points for a TCP latency: linear within each band, flat beyond the ends."""
    table = table or thresholds().points
    if latency_ms <= table[0][0]:
        return table[0][1]
    for (low_ms, low_points), (high_ms, high_points) in zip(table, table[1:]):
        if latency_ms <= high_ms:
            share = (latency_ms - low_ms) / (high_ms - low_ms)
            return round(low_points + share * (high_points - low_points), 1)
    return table[-1][1]


def points_label(points: float) -> str:
    for floor, label in thresholds().labels:
        if points >= floor:
            return label
    return thresholds().labels[-1][1]


def points_status(points: float) -> Status:
    limits = thresholds()
    if points >= limits.pass_points:
        return Status.PASS
    return Status.WARN if points >= limits.fail_points else Status.FAIL


def per_round_trip(handshake_ms: float, protocol: str | None) -> float:
    """A handshake's time per round trip (TLS 1.3 takes one, earlier versions two)."""
    return handshake_ms / thresholds().round_trips.get(protocol or "", 2)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


@dataclass(frozen=True)
class LatencyVerdict:
    status: Status
    tcp_ms: float
    tls_round_trip_ms: float
    points: float
    label: str

    @property
    def judged_ms(self) -> float:
        return max(self.tcp_ms, self.tls_round_trip_ms)


def judge_front_door(tcp_ms: float, tls_round_trip_ms: float) -> LatencyVerdict:
    """The worse of the TCP connect and the TLS round trip decides (both are round trips to the door)."""
    worst = max(tcp_ms, tls_round_trip_ms)
    points = latency_points(worst)
    return LatencyVerdict(points_status(points), tcp_ms, tls_round_trip_ms, points, points_label(points))


def judge_proxy_added(added_ms: float) -> Status:
    return Status.WARN if added_ms > thresholds().proxy_added_warn_ms else Status.PASS
