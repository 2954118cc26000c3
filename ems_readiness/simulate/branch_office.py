"""The demo's branch office scanned from a network namespace of its own (the parent's side).

`demo --branch` run as root opens `emsr-demo-<pid>` with the branch firewall of the scenario's
branch.toml as iptables rules inside it (namespace.py), and runs the hidden command
`ems-readiness demo-branch-scan` there: that child starts its own copy of the simulated services
on the namespace's loopback, on the head office's port numbers (so findings keyed by host:port line
up across the sites), scans from the branch and writes results.json to a temporary folder, which
is read back here and merged as the loopback variant's would be. Every wait has a deadline; the
namespace is deleted however the scan ends (Ctrl-C and SIGTERM included).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ems_readiness.simulate import BRANCH_CHILD_COMMAND
from ems_readiness.simulate.namespace import BranchNamespace, NamespaceUnavailable, firewall_rules

if TYPE_CHECKING:
    from ems_readiness.simulate.environment import SimulatedEnvironment

# the branch scan takes seconds; a child that is still running after this is stuck
CHILD_SECONDS = 300.0


@contextmanager
def branch_namespace(env: "SimulatedEnvironment") -> Iterator[BranchNamespace]:
    """The namespace with the scenario's branch firewall, deleted on the way out, SIGTERM included
    (made an exception while it exists, so that `finally` runs; Ctrl-C is one already).
    NamespaceUnavailable says why it could not be made."""
    branch = env.branch_fixture()
    modes = {spec.name: spec.mode for spec in branch.listeners} if branch is not None else {}
    rules = firewall_rules(branch.address, modes, env.ports) if branch is not None else []
    with sigterm_raises():
        namespace = BranchNamespace.open(rules)
        try:
            yield namespace
        finally:
            namespace.close()


@contextmanager
def sigterm_raises() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def scan_in_namespace(namespace: BranchNamespace, env: SimulatedEnvironment, options: list[str],
                      timeout: float = CHILD_SECONDS):
    """Run the branch scan inside `namespace` and return its Results. `options` are passed on to
    the child (the check selection, --quiet). NamespaceUnavailable when the child fails."""
    from ems_readiness.engine.model import ResultsFileError, load_results

    folder = Path(tempfile.mkdtemp(prefix="ems-readiness-branch-"))
    try:
        argv = [sys.executable, "-m", "ems_readiness.cli", BRANCH_CHILD_COMMAND, "--scenario", env.scenario,
                "--ports", json.dumps(env.ports), "--results", str(folder), *options]
        run_child(namespace.command(argv), timeout)
        try:
            return load_results(folder / "results.json")
        except ResultsFileError as exc:
            raise NamespaceUnavailable(f"the branch office scan wrote no results ({exc})") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_child(argv: list[str], timeout: float) -> None:
    """The child's stdin stays open while we wait: it stops when that closes (we died); its output
    is the user's (progress, errors)."""
    process = subprocess.Popen(argv, stdin=subprocess.PIPE)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NamespaceUnavailable(f"the branch office scan did not finish within {timeout:.0f} s") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdin is not None:
            process.stdin.close()
    if code != 0:
        raise NamespaceUnavailable(f"the branch office scan exited with code {code}")


def firewall_record(namespace: BranchNamespace) -> list[dict]:
    """Each rule and the packets it caught during the scan: proof the firewall did the dropping."""
    counts = namespace.dropped_packets()
    return [{"rule": rule.describe(), "packets": count} for rule, count in zip(namespace.rules, counts)]


def watch_parent() -> None:
    """In the child: exit when stdin closes, i.e. when the parent that waits on us is gone."""
    import os

    def wait_for_eof() -> None:
        # the raw descriptor: a daemon thread blocked in sys.stdin's buffer would hold its lock at exit
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=wait_for_eof, name="parent-watch", daemon=True).start()
