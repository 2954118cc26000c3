"""What a check sees: the profile, the probes, the scan inventory and its finding helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ems_readiness.engine.check import Check, FindingSink
from ems_readiness.engine.model import Evidence, Finding, Text
from ems_readiness.probes.base import bounded

if TYPE_CHECKING:
    from ems_readiness.engine.inventory import Inventory
    from ems_readiness.probes.directory import DirectorySource
    from ems_readiness.probes.dns import DnsProbe
    from ems_readiness.probes.graph import GraphProbe
    from ems_readiness.probes.https_fetch import HttpsFetcher
    from ems_readiness.probes.tcp import TcpProbe
    from ems_readiness.probes.tls import TlsProbe
    from ems_readiness.engine.profile import Profile


@dataclass
class Probes:
    """The scan's probes; one instance each per scan, shared by every check."""

    graph: "GraphProbe | None"
    dns: "DnsProbe"
    tls: "TlsProbe"
    tcp: "TcpProbe"
    # the on-premises directory (LDAP probe or an export file); None when not part of the scan
    directory: "DirectorySource | None" = None
    # small HTTPS documents (federation metadata, MEX); None when the network side is not scanned
    https: "HttpsFetcher | None" = None


class CheckContext:
    def __init__(self, check: Check, profile: "Profile", probes: Probes, inventory: "Inventory") -> None:
        self.check = check
        self.profile = profile
        self.probes = probes
        self.inventory = inventory
        self.sink = FindingSink(check)

    @property
    def graph(self) -> "GraphProbe":
        if self.probes.graph is None:
            raise RuntimeError("the tenant side is not part of this scan")
        return self.probes.graph

    @property
    def dns(self) -> "DnsProbe":
        return self.probes.dns

    @property
    def tls(self) -> "TlsProbe":
        return self.probes.tls

    @property
    def tcp(self) -> "TcpProbe":
        return self.probes.tcp

    @property
    def directory(self) -> "DirectorySource":
        if self.probes.directory is None:
            raise RuntimeError("the on-premises directory is not part of this scan")
        return self.probes.directory

    def evidence_for(self, read: str, **data: Any) -> Evidence:
        """Evidence for one object of a streamed Graph read (the stream itself is logged once)."""
        from ems_readiness.probes.graph import graph_reads

        return Evidence(probe="graph", target=graph_reads()[read].path, outcome="ok",
                        data={k: bounded(v) for k, v in data.items()})

    def passed(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self.sink.passed(resource, message, **kw)

    def failed(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self.sink.failed(resource, message, **kw)

    def warned(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self.sink.warned(resource, message, **kw)

    def errored(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self.sink.errored(resource, message, **kw)

    def skipped(self, resource: str, message: str | Text, **kw: Any) -> Finding:
        return self.sink.skipped(resource, message, **kw)
