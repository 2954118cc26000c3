"""The simulated customer environment: every piece a scan talks to, on 127.0.0.1 and free ports.

    with SimulatedEnvironment("unready") as env:
        results = scan(env.profile(), checks, ScanOptions(credential=env.credential()))

Graph tenant (graph_server), two DNS resolvers over the scenario's zones (dns_server; two, so
split-horizon comparison has something to compare), TLS listeners with certificates made at start
(tls_servers + certs), and TCP listeners that are open, refused or filtered (tcp_listeners). The
profile it writes points a scan at them; Microsoft host names resolve to 127.0.0.1 there, so a
demo never sends a packet off the machine.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil
import socket
import tempfile
import tomllib
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from ems_readiness.engine.auth import StaticTokenCredential
from ems_readiness.engine.profile import Profile, profile_from_dict
from ems_readiness.simulate.delay_relay import DelayRelay
from ems_readiness.simulate.dns_server import DnsSimulator
from ems_readiness.simulate.federation_host import responders_for
from ems_readiness.simulate.graph_server import FaultPlan, GraphSimulator
from ems_readiness.simulate.hostile_proxy import HostileProxy
from ems_readiness.simulate.network_faults import HOSTILE_TLS_LISTENER, NetworkFaults, split_network_faults
from ems_readiness.simulate.tcp_listeners import ListenerSpec, TcpSimulator, load_network_fixture
from ems_readiness.simulate.tenant_data import load_scenario_tenant
from ems_readiness.simulate.tls_servers import TlsSimulator, TlsSpec, scenario_specs

TENANT_ID = "6f1d3c2a-5b8e-4c1f-9a7d-2e4b8c0f1a11"
SCENARIOS = ("unready", "ready", "large")
BRANCH_ON_LOOPBACK, BRANCH_IN_NAMESPACE = "loopback", "namespace"
BRANCH_FIREWALLS = (BRANCH_ON_LOOPBACK, BRANCH_IN_NAMESPACE)
PORT_TOKEN = re.compile(r"\{\{port:([A-Za-z0-9_.-]+)\}\}")
DELEGATED_SCOPES = (
    "Organization.Read.All", "Domain.Read.All", "User.Read.All", "GroupMember.Read.All", "OrgContact.Read.All",
    "DeviceManagementServiceConfig.Read.All", "Policy.Read.All", "OnPremDirectorySynchronization.Read.All",
    "Agreement.Read.All", "RoleManagement.Read.Directory", "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementConfiguration.Read.All", "Device.Read.All", "AuditLog.Read.All",
)
# the OUs the demo's Entra Connect would sync; the directory export has objects outside them too
DIRECTORY_SCOPES = {
    "unready": ["OU=Staff,DC=corp,DC=local", "OU=Groups,DC=corp,DC=local", "OU=Partners,DC=corp,DC=local"],
    "ready": ["OU=Staff,DC=corp,DC=contoso,DC=test", "OU=Groups,DC=corp,DC=contoso,DC=test"],
}


def scenario_dir(name: str) -> Path:
    return Path(str(resources.files("ems_readiness").joinpath("fixtures", "scenarios", name)))


def simulated_token(scopes: tuple[str, ...] = DELEGATED_SCOPES) -> str:
    """An unsigned JWT-shaped token: the simulated tenant reads its scopes like Graph reads a real one."""
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    # ipaddr: the address the (simulated) token service saw the sign-in from, as Entra's tokens carry it
    claims = {"tid": TENANT_ID, "scp": " ".join(scopes), "name": "Simulated consultant", "aud": "https://graph.microsoft.com",
              "ipaddr": "127.0.0.1"}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2ltdWxhdGVk"


def fill_ports(text: str, ports: dict[str, int]) -> str:
    def port(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ports:
            raise ValueError(f"simulated environment: no listener named {name!r}")
        return str(ports[name])

    return PORT_TOKEN.sub(port, text)


@dataclass(frozen=True)
class BranchFixture:
    """The scenario's second site (branch.toml): its name, its loopback address and the listeners
    its firewall puts on the head office's port numbers there (in its own network namespace, the
    listeners' modes are iptables rules instead)."""

    site: str
    address: str
    listeners: list[ListenerSpec]
    domains: list[str]
    relays: dict[str, float]  # listener name -> one-way delay in seconds


def load_branch_fixture(path: Path) -> BranchFixture | None:
    if not path.is_file():
        return None
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return BranchFixture(site=str(raw["site"]), address=str(raw["address"]),
                         listeners=[ListenerSpec.of(item) for item in raw.get("listener", [])],
                         domains=[str(d) for d in raw.get("domains", [])],
                         relays={str(r["name"]): float(r["delay_ms"]) / 1000 for r in raw.get("relay", [])})


class SimulatedEnvironment:
    def __init__(self, scenario: str = "unready", faults: str | None = None, branch: bool = False,
                 ports: Mapping[str, int] | None = None) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
        self.scenario = scenario
        # the large scenario is the ready environment with a generated 100,000-user tenant
        self.network_scenario = "ready" if scenario == "large" else scenario
        self.network_faults, graph_faults = split_network_faults(faults) if faults else (NetworkFaults(), "")
        self.faults = FaultPlan.parse(graph_faults) if graph_faults else None
        self.proxy: HostileProxy | None = None
        self.token = simulated_token()
        self._started: list[Any] = []
        self.directory: Path | None = None
        self.with_branch = branch  # also start the scenario's branch office (branch.toml) on loopback
        # listener name -> port: the head office's numbers, for the copy of its services a branch office
        # runs in its own network namespace (findings keyed by host:port line up across the sites)
        self.preset_ports = dict(ports or {})
        self.branch: BranchFixture | None = None
        self.branch_firewall = ""  # how the branch's firewall is made, once started: BRANCH_FIREWALLS

    def __enter__(self) -> "SimulatedEnvironment":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="ems-readiness-sim-"))
        source = scenario_dir(self.network_scenario)
        tls_specs = [dataclasses.replace(s, port=self._port(s.name)) for s in scenario_specs(self.network_scenario)]
        if self.network_faults.tls_case:
            tls_specs.append(TlsSpec(HOSTILE_TLS_LISTENER, ["127.0.0.1"], self.network_faults.tls_case,
                                     port=self._port(HOSTILE_TLS_LISTENER)))
        # the federation sign-in host publishes metadata and MEX that match the tenant's settings
        responders = responders_for(load_scenario_tenant(self.scenario), tls_specs)
        self.tls = self._keep(TlsSimulator(tls_specs, directory=self.directory / "tls", responders=responders).start())
        network = load_network_fixture(source / "network.toml")
        self.tcp = self._keep(TcpSimulator(
            [ListenerSpec(s.name, s.mode, self._port(s.name)) for s in network.listeners]))
        self.ports = {**self.tls.ports, **self.tcp.ports}
        self.zones = sorted((source / "zones").glob("*.zone"))
        self.resolvers = {
            "internal": self._keep(DnsSimulator(self.zones, fault=self.network_faults.dns).start()).address,
            "public": self._keep(DnsSimulator(public_view(self.zones, source / "zones-public")).start()).address,
        }
        self.branch_resolvers = dict(self.resolvers)
        if self.network_faults.proxy:
            self.proxy = self._keep(HostileProxy(self.network_faults.proxy).start())
        tenant = load_scenario_tenant(self.scenario, ports=self.ports)
        self.graph = self._keep(GraphSimulator(tenant, token=self.token, faults=self.faults))
        self.graph.start()
        self.catalog_path = self.directory / "catalog.toml"
        self.catalog_path.write_text(fill_ports((source / "catalog.toml").read_text(encoding="utf-8"), self.ports),
                                     encoding="utf-8")
        self.targets = network.resolved_targets(self.ports)
        if self.with_branch:
            self.start_branch(BRANCH_ON_LOOPBACK)

    def _port(self, name: str) -> int:
        return self.preset_ports.get(name) or stable_port(name)

    def branch_fixture(self) -> BranchFixture | None:
        return load_branch_fixture(scenario_dir(self.network_scenario) / "branch.toml")

    def start_branch(self, firewall: str = BRANCH_ON_LOOPBACK) -> BranchFixture | None:
        """The second site: its own internal resolver (zones-branch/ over the head office's zones), and
        on its own loopback address, on the head office's port numbers, its firewall and delay relays
        to the head office's listeners (its long way out).

        The firewall is made of listeners in the fixture's modes on that address ("loopback": no root
        needed), or is real ("namespace": this environment runs inside the branch's network namespace,
        whose iptables rules drop or refuse those ports; behind them, relays to the head office's
        listeners stand for the endpoints, so without the rules they would answer)."""
        if firewall not in BRANCH_FIREWALLS:
            raise ValueError(f"branch firewall must be one of {', '.join(BRANCH_FIREWALLS)}, got {firewall!r}")
        branch = self.branch_fixture()
        self.branch_firewall = firewall
        if branch is None:
            return None
        if firewall == BRANCH_ON_LOOPBACK and branch.listeners:
            self._keep(TcpSimulator([ListenerSpec(s.name, s.mode, self.ports[s.name]) for s in branch.listeners],
                                    address=branch.address))
        behind_firewall = {s.name: 0.0 for s in branch.listeners} if firewall == BRANCH_IN_NAMESPACE else {}
        for name, delay in {**behind_firewall, **branch.relays}.items():
            self._keep(DelayRelay(("127.0.0.1", self.ports[name]), delay, address=branch.address,
                                  port=self.ports[name]).start())
        source = scenario_dir(self.network_scenario)
        internal = self._keep(DnsSimulator(public_view(self.zones, source / "zones-branch")).start()).address
        self.branch_resolvers = {"internal": internal, "public": self.resolvers["public"]}
        self.branch = branch
        return branch

    @property
    def branch_site(self) -> str:
        return self.branch.site if self.branch is not None else "branch-office"

    def branch_profile(self) -> Profile:
        """The profile a scan from the branch office uses: the branch's resolvers, the same services."""
        if not self.branch_firewall:
            raise ValueError("the simulated environment was started without its branch office")
        profile = self.profile_dict()
        profile["dns"]["resolvers"] = dict(self.branch_resolvers)
        if self.branch is not None and self.branch.domains:
            profile["dns"]["domains"] = list(self.branch.domains)
        profile["vantage"] = {"site": self.branch_site}
        profile.pop("directory")  # the directory is read once, from the head office
        return profile_from_dict(profile, source="simulated environment (branch office)", base_dir=self.directory)

    def _keep(self, server: Any) -> Any:
        self._started.append(server)
        return server

    def stop(self) -> None:
        for server in reversed(self._started):
            try:
                server.stop()
            except Exception:  # one piece failing to stop must not keep the others running
                pass
        self._started.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    @property
    def graph_url(self) -> str:
        return self.graph.url

    @property
    def dns_address(self) -> str:
        return self.resolvers["internal"]

    def credential(self) -> StaticTokenCredential:
        return StaticTokenCredential(self.token)

    def profile_dict(self) -> dict[str, Any]:
        profile = self._honest_profile_dict()
        if self.proxy is not None:
            profile["network"]["proxy"] = self.proxy.url
        if HOSTILE_TLS_LISTENER in self.ports:
            profile["tls"]["hosts"].append(f"127.0.0.1:{self.ports[HOSTILE_TLS_LISTENER]}")
        return profile

    def _honest_profile_dict(self) -> dict[str, Any]:
        source = scenario_dir(self.network_scenario)
        return {
            "tenant": {"id": TENANT_ID, "graph_url": self.graph.url, "auth": "token", "timeout_seconds": 30.0},
            # the simulated forest's and tenant's public domains are .test: routable in this lab only
            "identity": {"model": "federated", "max_sync_age_minutes": 180, "routable_tlds": ["test"]},
            "dns": {"resolvers": dict(self.resolvers), "timeout_seconds": 2.0},
            "tls": {"hosts": [f"mail.contoso.test:{self.ports['mail']}"], "warn_days": 30,
                    "trust": str(self.tls.trust_bundle), "service_roots": str(self.tls.service_roots)},
            "network": {"services": ["entra", "intune", "rms", "autopilot"], "timeout_seconds": 1.5,
                        "concurrency": 64, "catalog": str(self.catalog_path), "targets": self.targets},
            # the customer's directory as an ldifde export plus its forest description (no LDAP server needed)
            "directory": {"export": str(source / "directory.ldf"), "forest_file": str(source / "forest.json"),
                          "scope_ous": DIRECTORY_SCOPES[self.network_scenario]},
            # what the simulated customer plans: every platform, personal devices, AD FS, a pilot group
            "plan": {"platforms": ["windows", "ios", "macos", "android"], "byod": True, "federation": "adfs",
                     "pilot_group": "EMS Pilot Users"},
        }

    def profile(self) -> Profile:
        return profile_from_dict(self.profile_dict(), source="simulated environment", base_dir=self.directory)

    def profile_toml(self) -> str:
        return to_toml(self.profile_dict())


def public_view(zones: list[Path], overrides: Path) -> list[Path]:
    """The zones the public resolver serves: the internal ones, with a scenario's zones-public/
    files in place of those of the same name (split-horizon DNS)."""
    replaced = {p.name: p for p in overrides.glob("*.zone")} if overrides.is_dir() else {}
    return [replaced.get(zone.name, zone) for zone in zones]


def stable_port(name: str, first: int = 20000, span: int = 20000) -> int:
    """The same port for the same listener on every run, so findings keyed by host:port track
    across demo runs; the next free one when it is taken."""
    start = zlib.crc32(name.encode()) % span
    for offset in range(200):
        port = first + (start + offset) % span
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # the listeners bind with SO_REUSEADDR too: a port in TIME_WAIT from the last run is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    return 0


def to_toml(data: dict[str, Any]) -> str:
    """The profile's shape only: tables of scalars, lists, inline tables and arrays of tables."""
    lines: list[str] = []
    for section, values in data.items():
        arrays = {k: v for k, v in values.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
        lines.append(f"[{section}]")
        for key, value in values.items():
            if key not in arrays:
                lines.append(f"{key} = {toml_value(value)}")
        for key, items in arrays.items():
            for item in items:
                lines.append(f"[[{section}.{key}]]")
                lines.extend(f"{k} = {toml_value(v)}" for k, v in item.items())
        lines.append("")
    return "\n".join(lines)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
