"""The network side of `simulate --faults`: hostile proxy, TLS and DNS servers by name.

    proxy=block-page|auth|connect-silence|garbage|hang   the profile's proxy is a hostile one
    tls=garbage|hang|unsupported-key                     one more TLS host (127.0.0.1:PORT) misbehaves
    dns=garbage|hang|bad-id|truncated|huge|control-chars the first ("internal") resolver is hostile

These keys sit beside the Graph fault options in one spec (`rate=0.3,kinds=429,proxy=auth`):
`split_network_faults` takes out its own and leaves the rest for the Graph simulator to parse.
"""

from __future__ import annotations

from dataclasses import dataclass

from ems_readiness.simulate.dns_server import DNS_FAULTS
from ems_readiness.simulate.hostile_proxy import PROXY_MODES
from ems_readiness.simulate.tls_servers import GARBAGE, STALL, UNSUPPORTED_KEY

TLS_FAULTS = {"garbage": GARBAGE, "hang": STALL, "unsupported-key": UNSUPPORTED_KEY}
KNOWN = {"proxy": PROXY_MODES, "tls": tuple(TLS_FAULTS), "dns": DNS_FAULTS}
HOSTILE_TLS_LISTENER = "hostile-tls"


@dataclass(frozen=True)
class NetworkFaults:
    proxy: str | None = None
    tls: str | None = None
    dns: str | None = None

    @property
    def tls_case(self) -> str | None:
        return TLS_FAULTS[self.tls] if self.tls else None

    def __bool__(self) -> bool:
        return any((self.proxy, self.tls, self.dns))


def split_network_faults(spec: str) -> tuple[NetworkFaults, str]:
    """(the network faults, the rest of the spec) from 'proxy=auth,rate=0.3'."""
    chosen: dict[str, str] = {}
    rest: list[str] = []
    for item in spec.split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        if key not in KNOWN:
            rest.append(item)
            continue
        if value not in KNOWN[key]:
            raise ValueError(f"fault option {key}={value!r}: known {key} faults are {', '.join(KNOWN[key])}")
        chosen[key] = value
    return NetworkFaults(**chosen), ",".join(rest)
