"""A network namespace of its own for the demo's branch office, with a real firewall (root only).

    with BranchNamespace.open([FirewallRule("127.0.0.2", 27816, "filtered")]) as namespace:
        subprocess.Popen(namespace.command([sys.executable, "-m", ...]))   # runs inside it

`emsr-demo-<pid>` has only its own loopback, brought up; nothing links it to the host (no veth, no
route), so whatever runs inside it starts its servers there and its traffic never leaves it. The
branch firewall is iptables rules in the namespace's INPUT chain, never the host's tables: a
listener mode `filtered` drops the SYNs to that address and port (connects time out), `refused`
answers them with a reset. Rules sit on INPUT, not OUTPUT: a packet dropped on its way out fails
the sender's connect at once (EPERM), one dropped on its way in is never answered, as behind a
firewall on the path.

The namespace is deleted on close; one left by a process killed before it could close (its pid
gone) is deleted the next time one is opened.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

PREFIX = "emsr-demo-"
COMMAND_SECONDS = 10  # each ip/iptables call; they return in milliseconds unless something hangs
RULE_ACTIONS = {
    "filtered": ["-j", "DROP"],
    "refused": ["-j", "REJECT", "--reject-with", "tcp-reset"],
}


class NamespaceUnavailable(Exception):
    """The namespace could not be made or its firewall not set; the message says why (one line)."""


@dataclass(frozen=True)
class FirewallRule:
    """What the branch firewall does to TCP connections to one address and port."""

    address: str
    port: int
    mode: str  # a listener mode with an action in RULE_ACTIONS

    def iptables_args(self) -> list[str]:
        return ["-i", "lo", "-d", f"{self.address}/32", "-p", "tcp", "-m", "tcp", "--dport", str(self.port),
                *RULE_ACTIONS[self.mode]]

    def describe(self) -> str:
        return f"{RULE_ACTIONS[self.mode][1]} tcp to {self.address}:{self.port}"


def firewall_rules(address: str, modes: dict[str, str], ports: dict[str, int]) -> list[FirewallRule]:
    """The rules for a branch's listener modes (name -> mode) at `address`; `open` needs none."""
    unknown = {mode for mode in modes.values() if mode != "open" and mode not in RULE_ACTIONS}
    if unknown:
        raise ValueError(f"no firewall rule for listener mode {', '.join(sorted(unknown))}")
    return [FirewallRule(address, ports[name], mode) for name, mode in modes.items() if mode in RULE_ACTIONS]


@dataclass
class BranchNamespace:
    name: str
    ip: str
    iptables: str | None
    rules: list[FirewallRule] = field(default_factory=list)
    closed: bool = False

    @classmethod
    def open(cls, rules: list[FirewallRule]) -> "BranchNamespace":
        """Make the namespace, bring its loopback up and set the rules; NamespaceUnavailable if any step fails."""
        if os.geteuid() != 0:
            raise NamespaceUnavailable("not root")
        ip = find_tool("ip")
        if ip is None:
            raise NamespaceUnavailable("the ip command (iproute2) is not installed")
        iptables = find_tool("iptables")
        if rules and iptables is None:
            raise NamespaceUnavailable("iptables is not installed")
        remove_stale_namespaces(ip)
        namespace = cls(f"{PREFIX}{os.getpid()}", ip, iptables)
        run_tool([ip, "netns", "add", namespace.name], "ip netns add")
        try:
            run_tool([ip, "-n", namespace.name, "link", "set", "lo", "up"], "bringing up its loopback")
            for rule in rules:
                namespace.iptables_call(["-A", "INPUT", *rule.iptables_args()], "iptables inside it")
                namespace.rules.append(rule)
        except BaseException:
            namespace.close()
            raise
        return namespace

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace."""
        return [self.ip, "netns", "exec", self.name, *argv]

    def iptables_call(self, args: list[str], what: str) -> str:
        assert self.iptables is not None
        # -w: the xtables lock is one file for every namespace; wait for it rather than fail
        return run_tool(self.command([self.iptables, "-w", "5", *args]), what)

    def dropped_packets(self) -> list[int]:
        """Packets each rule caught so far, in the order of `rules` (its own INPUT chain's counters)."""
        if not self.rules:
            return []
        listing = self.iptables_call(["-L", "INPUT", "-n", "-v", "-x"], "reading the firewall counters")
        # after two header lines, each rule's line starts with its packet and byte counts
        counts = [int(line.split()[0]) for line in listing.splitlines()[2:] if line.split()[:1] != []]
        if len(counts) != len(self.rules):
            raise NamespaceUnavailable(f"the namespace's INPUT chain has {len(counts)} rules, {len(self.rules)} expected")
        return counts

    def close(self) -> None:
        """Delete the namespace (its rules and loopback go with it). Idempotent."""
        if self.closed:
            return
        self.closed = True
        subprocess.run([self.ip, "netns", "del", self.name], capture_output=True, timeout=COMMAND_SECONDS)

    def __enter__(self) -> "BranchNamespace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def find_tool(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)


def run_tool(argv: list[str], what: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NamespaceUnavailable(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]
        raise NamespaceUnavailable(f"{what} failed: {message}")
    return done.stdout


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespace_names(ip: str) -> list[str]:
    listing = subprocess.run([ip, "netns", "list"], capture_output=True, text=True, timeout=COMMAND_SECONDS)
    return [line.split()[0] for line in listing.stdout.splitlines() if line.split()]


def remove_stale_namespaces(ip: str, prefix: str = PREFIX) -> None:
    """Namespaces named `prefix`<pid> (a suffix may follow) whose process died before it could
    delete them (the tests' namespaces use this too, with their own prefix)."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)\b")
    for name in namespace_names(ip):
        match = pattern.match(name)
        if match and not pid_alive(int(match.group(1))):
            subprocess.run([ip, "netns", "del", name], capture_output=True, timeout=COMMAND_SECONDS)
