"""A real Active Directory for the directory probe: a Samba AD DC in a network namespace.

Once per test session the fixture provisions a domain (`samdom.test`) into a temporary directory,
extends its schema with the Exchange attributes IdFix reads (Samba's base schema lacks them), issues
a TLS certificate for the namespace's address from a CA of its own (the probe's trust anchor),
starts `samba` inside a namespace made with tests/support/netns.py and fills the directory over LDAP
with users, groups, contacts and computers that carry IdFix problems, plus the forest objects the
probe reads (uPNSuffixes, the hybrid-join SCP, an AD RMS SCP).

Samba is stricter than Windows AD (reference/directory.md): it refuses duplicate UPNs and
sAMAccountNames and some characters in sAMAccountName, so those problems are not planted here; the
pure rule tests cover them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from ems_readiness.simulate.certs import CertificateAuthority, write_bundle

from .netns import Namespace, network_namespace
from .require import require_root, require_tool

REALM = "SAMDOM.TEST"
NETBIOS_DOMAIN = "SAMDOM"
DNS_DOMAIN = "samdom.test"
HOST = "DC1"
BASE_DN = "DC=samdom,DC=test"
CONFIG_DN = f"CN=Configuration,{BASE_DN}"
SCHEMA_DN = f"CN=Schema,{CONFIG_DN}"
ADMIN_DN = f"CN=Administrator,CN=Users,{BASE_DN}"
ADMIN_PASSWORD = "Adm1n-Pass.word-7"  # a throwaway domain's, complex enough for Samba's policy
CORP_OU = f"OU=Corp,{BASE_DN}"
OTHER_OU = f"OU=Elsewhere,{BASE_DN}"
LDAP_PORTS = (389, 636, 3268, 3269)
# a port inside the namespace where iptables drops every SYN: an unreachable DC
DROPPED_PORT = 1636
HYBRID_JOIN_SCP = (f"CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration Configuration,"
                   f"CN=Services,{CONFIG_DN}")
RMS_SCP = f"CN=SCP,CN=RightsManagementServices,CN=Services,{CONFIG_DN}"
UPN_SUFFIXES = ("contoso.com", "corp.local")
START_TIMEOUT = 30.0

# The Exchange attributes IdFix reads, with Exchange's syntaxes; OIDs under the documentation
# enterprise number 32473 (RFC 5612) where Exchange's own is not certain not to clash with Samba's.
EXCHANGE_ATTRIBUTES = {
    # name: (cn, attributeID, attributeSyntax, oMSyntax, extra)
    "mailNickname": ("ms-Exch-Mail-Nickname", "1.2.840.113556.1.2.447", "2.5.5.12", "64", {"rangeUpper": "64"}),
    "targetAddress": ("ms-Exch-Target-Address", "1.2.840.113556.1.2.352", "2.5.5.12", "64", {"rangeUpper": "1123"}),
    "homeMDB": ("ms-Exch-Home-MDB", "1.3.6.1.4.1.32473.1.1", "2.5.5.1", "127", {}),
    "msExchHideFromAddressLists": ("ms-Exch-Hide-From-Address-Lists", "1.3.6.1.4.1.32473.1.2",
                                   "2.5.5.8", "1", {}),
    "msExchRecipientTypeDetails": ("ms-Exch-Recipient-Type-Details", "1.3.6.1.4.1.32473.1.3",
                                   "2.5.5.16", "65", {}),
}
EXCHANGE_CLASSES = ("User", "Group", "Contact")


@dataclass
class SambaDC:
    """A running Samba AD DC; `server(port)` is what a profile's [directory] servers names."""

    workdir: Path
    namespace: Namespace
    ca_file: Path          # the CA that issued the DC's certificate: the trust anchor
    other_ca_file: Path    # a CA that did not: verification against it must fail
    samba: str
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def address(self) -> str:
        return self.namespace.address

    @property
    def config(self) -> Path:
        return self.workdir / "etc" / "smb.conf"

    def server(self, port: int = 636) -> str:
        return f"{self.address}:{port}"

    def start(self) -> None:
        log = (self.workdir / "samba.out").open("ab")
        self._process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace.name, self.samba, "-i", "-M", "single", "--debuglevel=1",
             "-s", str(self.config)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopping it stops the smbd/winbindd it may spawn
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"samba exited with {self._process.returncode}:\n{self.log()}")
            if all(_accepts(self.address, port) for port in LDAP_PORTS) and self._answers_ldaps():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"samba did not listen on {LDAP_PORTS} within {START_TIMEOUT:g} s:\n{self.log()}")

    def stop(self) -> None:
        if self._process is None:
            return
        _signal_group(self._process, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(self._process, signal.SIGKILL)
            self._process.wait()
        _signal_group(self._process, signal.SIGKILL)  # whatever of the group outlived its leader
        self._process = None

    def kill(self) -> None:
        """The DC dies without a word (SIGKILL): open connections see a reset or EOF."""
        if self._process is not None:
            _signal_group(self._process, signal.SIGKILL)
            self._process.wait()
            self._process = None

    @contextlib.contextmanager
    def firewall(self, port: int, *rule: str) -> Iterator[None]:
        """An iptables rule inside the namespace for traffic to `port` while the block runs."""
        spec = ["INPUT", "-p", "tcp", "--dport", str(port), *rule]
        netns_iptables(self.namespace, "-I", *spec)
        try:
            yield
        finally:
            netns_iptables(self.namespace, "-D", *spec)

    def log(self) -> str:
        parts = []
        for path in [self.workdir / "samba.out", *sorted((self.workdir / "log").glob("*"))]:
            if path.is_file():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def _answers_ldaps(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with socket.create_connection((self.address, 636), timeout=1) as raw:
                with context.wrap_socket(raw, server_hostname=self.address):
                    return True
        except (OSError, ssl.SSLError):
            return False


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def netns_iptables(namespace: Namespace, *args: str) -> None:
    iptables = require_tool("iptables", "iptables")
    subprocess.run(["ip", "netns", "exec", namespace.name, iptables, *args], check=True, capture_output=True)


def provision(samba_tool: str, workdir: Path) -> None:
    dirs = {"pid directory": "run", "ncalrpc dir": "ncalrpc", "winbindd socket directory": "winbindd"}
    for sub in [*dirs.values(), "log"]:
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    options = [f"--option={key}={workdir / sub}" for key, sub in dirs.items()]
    done = subprocess.run(
        [samba_tool, "domain", "provision", "--targetdir", str(workdir), "--realm", REALM,
         "--domain", NETBIOS_DOMAIN, "--server-role=dc", "--dns-backend=NONE", "--host-name", HOST,
         "--adminpass", ADMIN_PASSWORD, "--option=interfaces=lo", "--option=bind interfaces only=yes",
         f"--option=log file={workdir / 'log' / 'samba.log'}", *options],
        capture_output=True, text=True, timeout=180,
    )
    if done.returncode != 0:
        raise RuntimeError(f"samba-tool domain provision failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def configure(workdir: Path, address: str, cert: Path, key: Path, ca: Path) -> None:
    """Listen on the namespace's address only, with the fixture's certificate, LDAP only."""
    config = workdir / "etc" / "smb.conf"
    text = config.read_text()
    text = text.replace("interfaces = lo\n", f"interfaces = {address}\n")
    text = re.sub(r"^\s*server services = .*\n", "", text, flags=re.MULTILINE)
    extra = (f"\tserver services = ldap\n\ttls enabled = yes\n\ttls keyfile = {key}\n\ttls certfile = {cert}\n"
             f"\ttls cafile = {ca}\n\tdsdb:schema update allowed = true\n")
    config.write_text(text.replace("[global]\n", "[global]\n" + extra, 1))


def issue_certificates(workdir: Path, address: str) -> tuple[Path, Path, Path, Path]:
    now = dt.datetime.now(dt.timezone.utc)
    ca = CertificateAuthority.root("Samdom Test CA", "ems-readiness tests", now=now)
    other = CertificateAuthority.root("Unrelated Test CA", "ems-readiness tests", now=now)
    leaf = ca.issue([address, f"{HOST.lower()}.{DNS_DOMAIN}"], not_before=now - dt.timedelta(days=1),
                    not_after=now + dt.timedelta(days=30), include_chain=False)
    tls = workdir / "fixture-tls"
    cert_path, key_path = leaf.write(tls, "dc1")
    ca_path = write_bundle(tls / "ca.pem", [ca.cert])
    other_path = write_bundle(tls / "other-ca.pem", [other.cert])
    return cert_path, key_path, ca_path, other_path


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    require_root()
    samba = require_tool("samba", "samba samba-ad-dc")
    samba_tool = require_tool("samba-tool", "samba")
    workdir = tmp_path_factory.mktemp("samba")
    provision(samba_tool, workdir)
    with network_namespace({"open": 8080, "drop": DROPPED_PORT}, tag="d") as namespace:
        cert, key, ca, other = issue_certificates(workdir, namespace.address)
        configure(workdir, namespace.address, cert, key, ca)
        dc = SambaDC(workdir=workdir, namespace=namespace, ca_file=ca, other_ca_file=other, samba=samba)
        dc.start()
        try:
            from .samba_data import populate

            populate(dc)
            yield dc
        finally:
            dc.stop()
    shutil.rmtree(workdir, ignore_errors=True)
