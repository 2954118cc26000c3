"""The demo's branch office namespace (ems_readiness/simulate/namespace.py): its firewall is real
iptables inside it, a namespace left by a dead demo is removed, and an interrupted demo deletes
its own. Root, ip and iptables; run the way the demo runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ems_readiness.simulate import BRANCH_CHILD_COMMAND as CHILD_COMMAND
from ems_readiness.simulate.branch_office import run_child
from ems_readiness.simulate.namespace import BranchNamespace, FirewallRule, NamespaceUnavailable, firewall_rules
from tests.support.require import require_tool
from tests.support.demo_sites import demo_command, namespaces, require_namespaces

CONNECT_ALL = r"""
import socket, sys
listeners = []
for port in map(int, sys.argv[1:]):
    server = socket.socket()
    server.bind(("127.0.0.2", port))
    server.listen(8)
    listeners.append(server)
for port in map(int, sys.argv[1:]):
    try:
        socket.create_connection(("127.0.0.2", port), timeout=0.5).close()
        print("open")
    except socket.timeout:
        print("filtered")
    except ConnectionRefusedError:
        print("refused")
"""


def test_the_firewall_drops_and_refuses_inside_the_namespace_only():
    require_namespaces()
    rules = firewall_rules("127.0.0.2", {"a": "filtered", "b": "refused", "c": "open"}, {"a": 41001, "b": 41002, "c": 41003})
    assert rules == [FirewallRule("127.0.0.2", 41001, "filtered"), FirewallRule("127.0.0.2", 41002, "refused")]
    with BranchNamespace.open(rules) as namespace:
        # a listener on every port: only the rules make the first two fail
        seen = subprocess.run(namespace.command([sys.executable, "-c", CONNECT_ALL, "41001", "41002", "41003"]),
                              capture_output=True, text=True, timeout=30, check=True).stdout.split()
        assert seen == ["filtered", "refused", "open"]
        dropped, refused = namespace.dropped_packets()
        assert dropped >= 1 and refused == 1
    # nothing of it on the host: no rule for those ports in the host's tables
    host_rules = subprocess.run([require_tool("iptables", "iptables"), "-S"], capture_output=True, text=True).stdout
    assert "41001" not in host_rules and "41002" not in host_rules


def test_a_namespace_left_by_a_dead_demo_is_removed_when_the_next_one_opens():
    ip = require_namespaces()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"emsr-demo-{dead.pid}"
    subprocess.run([ip, "netns", "add", stale], check=True, capture_output=True)
    try:
        with BranchNamespace.open([]) as namespace:
            assert namespace.name == f"emsr-demo-{os.getpid()}" and namespace.name in namespaces(ip)
            assert stale not in namespaces(ip)
        assert namespace.name not in namespaces(ip)
    finally:
        subprocess.run([ip, "netns", "del", stale], capture_output=True)


def processes_in(namespace_inode: int) -> list[int]:
    """The branch office scans running inside the namespace (not the short iptables calls around them)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and os.stat(entry / "ns" / "net").st_ino == namespace_inode
                    and CHILD_COMMAND.encode() in (entry / "cmdline").read_bytes()):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_demo_deletes_its_namespace_and_stops_the_scan_inside(tmp_path, signum):
    ip = require_namespaces()
    # as from a terminal: a job started in the background by a shell inherits SIGINT ignored
    process = subprocess.Popen(demo_command(tmp_path / "out", "namespace"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    name = f"emsr-demo-{process.pid}"
    deadline = time.monotonic() + 120
    try:
        while name not in namespaces(ip):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the demo made no namespace within 120 s"
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        # stat each time: `ip netns add` lists the name before it mounts the namespace over the file
        while not (inside := processes_in(os.stat(f"/run/netns/{name}").st_ino)):  # its branch scan runs inside
            assert process.poll() is None, "the demo finished before its branch scan was seen"
            assert time.monotonic() < deadline, "nothing ran inside the namespace within 30 s"
            time.sleep(0.02)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert name not in namespaces(ip), stderr
    # (by pid: once the namespace is gone, its inode number may be another namespace's)
    assert [pid for pid in inside if Path(f"/proc/{pid}").exists()] == [], stderr
    assert "Traceback" not in stderr, stderr
    if signum == signal.SIGINT:
        assert process.returncode == 1 and "ems-readiness: error: aborted" in stderr, stderr
    else:
        assert process.returncode == 128 + signal.SIGTERM, stderr


def test_a_stuck_branch_scan_is_stopped_at_its_deadline():
    started = time.monotonic()
    with pytest.raises(NamespaceUnavailable, match="did not finish within 1 s"):
        run_child([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1.0)
    assert time.monotonic() - started < 15


def test_the_branch_scan_stops_when_the_demo_that_waits_on_it_is_gone(tmp_path):
    child = subprocess.Popen([sys.executable, "-m", "ems_readiness.cli", CHILD_COMMAND, "--scenario", "unready",
                              "--ports", "{}", "--results", str(tmp_path), "--quiet"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert child.stdin is not None
    child.stdin.close()  # what the kernel does when the demo dies
    try:
        assert child.wait(timeout=30) == 1
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not (tmp_path / "results.json").exists()
