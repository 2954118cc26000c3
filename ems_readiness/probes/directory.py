"""The directory probe: on-premises Active Directory read over LDAP with TLS, as IdFix reads it.

Only a simple bind inside TLS is ever sent: LDAPS (636, global catalog 3269) or StartTLS on 389 /
3268. When TLS cannot be set up the bind is not attempted (no downgrade to clear text). The server
certificate is verified against the system store or `[directory] ca_bundle`, and its name against
the server named in the profile; `insecure_skip_verify` turns that off and the report says so.

Objects are read with the paged results control (critical: a server that refuses it is an error,
never a silent partial read) and streamed page by page, so memory follows the page size, not the
directory. Every blocking ldap3 call runs in a worker thread under a deadline; a server that stops
answering is cut off and the read fails with ProbeError. Group membership is read by range
retrieval (`member;range=0-1499`, then the next ranges of that group), so a 60,000-member group is
counted as the 50k sync limit needs.

The password comes from EMS_READINESS_LDAP_PASSWORD only and is registered as a secret.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import os
import re
import socket
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterable, Protocol, TypeVar

from ems_readiness.engine.model import Evidence
from ems_readiness.engine.secrets import SECRETS, scrub
from ems_readiness.judges.ad_objects import AdObject, DomainInfo, ForestInfo
from ems_readiness.probes.base import EvidenceLog, ProbeError, SingleFlightCache, Stopwatch

if TYPE_CHECKING:
    from ems_readiness.engine.profile import Profile

T = TypeVar("T")

PASSWORD_ENV = "EMS_READINESS_LDAP_PASSWORD"
LDAPS_PORT, GC_LDAPS_PORT = 636, 3269
STARTTLS_PORTS = frozenset({389, 3268})
GC_PORTS = frozenset({3268, 3269})

IDFIX_FILTER = "(|(objectCategory=Person)(objectCategory=Group))"
IDFIX_ATTRIBUTES = (
    "cn", "displayName", "distinguishedName", "givenName", "groupType", "homeMDB", "isCriticalSystemObject",
    "mail", "mailNickname", "msExchHideFromAddressLists", "msExchRecipientTypeDetails", "objectClass",
    "proxyAddresses", "sAMAccountName", "targetAddress", "userPrincipalName",
)
OBJECT_ATTRIBUTES = (*IDFIX_ATTRIBUTES, "objectGUID", "mS-DS-ConsistencyGuid", "userAccountControl")
COMPUTER_FILTER = "(objectCategory=Computer)"
COMPUTER_ATTRIBUTES = ("cn", "distinguishedName", "objectClass", "objectGUID", "sAMAccountName", "userAccountControl",
                       "operatingSystem", "operatingSystemVersion", "lastLogonTimestamp")
GUID_ATTRIBUTES = frozenset({"objectguid", "ms-ds-consistencyguid"})
# AD's MaxValRange default: the most values of one attribute a server returns at once
MEMBER_RANGE_STEP = 1500

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
HYBRID_JOIN_SCP_RDN = "CN=62a0ff2e-97b9-4513-943f-0d221bd30080,CN=Device Registration Configuration,CN=Services"
RMS_SCP_CONTAINER_RDN = "CN=RightsManagementServices,CN=Services"
RECYCLE_BIN_RDN = "cn=recycle bin feature,"
FLAG_CR_NTDS_DOMAIN = 2

# LDAP result codes that end a read with a reason of their own
RESULT_REASONS = {
    3: "the server's time limit for one search was exceeded (MaxQueryDuration)",
    4: "the server's size limit was exceeded (MaxPageSize / size limit): the read would be partial",
    11: "the server's administrative limit was exceeded",
    12: "the server refused the paged results control (unavailableCriticalExtension): IdFix-grade reads need paging",
    32: "no such object",
    49: "the bind was refused: wrong bind DN or password (invalidCredentials)",
    50: "the bind account may not read this (insufficientAccessRights)",
    51: "the server is busy",
    52: "the server is unavailable",
    53: "the server is unwilling to perform the operation",
    8: "the server requires a stronger authentication (strongerAuthRequired)",
}


class DirectorySource(Protocol):
    """What the directory checks read: an LDAP probe or a customer's export file."""

    description: str
    insecure: bool
    evidence: list[Evidence]

    async def forest(self) -> ForestInfo: ...

    def objects(self) -> AsyncIterator[AdObject]: ...

    def computers(self) -> AsyncIterator[AdObject]: ...


# --- the profile's servers ------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int

    @property
    def starttls(self) -> bool:
        return self.port in STARTTLS_PORTS

    @property
    def global_catalog(self) -> bool:
        return self.port in GC_PORTS

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ldap://{host}:{self.port} (StartTLS)" if self.starttls else f"ldaps://{host}:{self.port}"


HOST_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")


def parse_server(text: str, use_gc: bool = False) -> ServerAddress:
    """'dc01.corp.example', 'dc01:3269', '10.0.0.4:389', '[fd00::4]:636' → host and port.

    Without a port: 636 (LDAPS), or 3269 with use_gc. 389 and 3268 are read with StartTLS; any
    other port is taken as TLS from the first byte (a tunnel or forwarded LDAPS port).
    """
    value = text.strip()
    host, port_text = value, ""
    if "://" in value:
        raise ValueError(f"server {text!r}: give host[:port] (636/3269 LDAPS, 389/3268 StartTLS), not a URL")
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"server {text!r}: expected [address]:port")
        port_text = rest[1:]
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    if not host:
        raise ValueError(f"server {text!r}: no host")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not HOST_PATTERN.match(host):
            raise ValueError(f"server {text!r}: {host!r} is not a host name or IP address") from None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"server {text!r}: bad port {port_text!r}")
        port = int(port_text)
    else:
        port = GC_LDAPS_PORT if use_gc else LDAPS_PORT
    return ServerAddress(host, port)


def check_filter(text: str) -> str:
    """An LDAP filter as written in the profile, parenthesised; ValueError when it does not parse."""
    from ldap3.core.exceptions import LDAPException
    from ldap3.operation.search import parse_filter

    value = text.strip()
    if not value.startswith("("):
        value = f"({value})"
    try:
        parse_filter(value, None, True, True, None, False)
    except (LDAPException, ValueError, IndexError, TypeError) as exc:
        raise ValueError(f"scope_filter {text!r} is not an LDAP filter: {exc}") from None
    return value


# --- values ---------------------------------------------------------------------------------------

def text_value(attribute: str, raw: bytes) -> str:
    """One raw LDAP value as AdObject text: GUIDs in AD's display form, other values as UTF-8."""
    if attribute in GUID_ATTRIBUTES and len(raw) == 16:
        return str(uuid.UUID(bytes_le=raw))
    if attribute in GUID_ATTRIBUTES:
        return raw.hex()
    return raw.decode("utf-8", "replace")


RANGE_PATTERN = re.compile(r"^(?P<name>[^;]+);range=(?P<low>\d+)-(?P<high>\d+|\*)$", re.IGNORECASE)


def split_range(key: str) -> tuple[str, int | None]:
    """'member;range=0-1499' → ('member', 1499); 'member;range=1500-*' → ('member', None); 'mail' → ('mail', None)."""
    match = RANGE_PATTERN.match(key)
    if not match:
        return key, None
    high = match["high"]
    return match["name"], None if high == "*" else int(high)


# --- the probe ------------------------------------------------------------------------------------

@dataclass
class ReadStats:
    pages: int = 0
    objects: int = 0
    references: int = 0
    range_reads: int = 0


@dataclass(eq=False)  # identity: the scan's single-flight caches key on the source
class DirectoryProbe:
    """One forest, read through the first of `servers` that binds."""

    servers: list[ServerAddress]
    bind_dn: str
    password: str = field(repr=False)
    log: EvidenceLog
    ca_bundle: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    page_size: int = 1000
    base_dns: list[str] = field(default_factory=list)
    scope_ous: list[str] = field(default_factory=list)
    scope_filter: str | None = None
    use_gc: bool = False
    member_range_step: int = MEMBER_RANGE_STEP
    # the whole read of one base must end within this (None: unbounded but every page has a deadline)
    read_deadline: float | None = None

    def __post_init__(self) -> None:
        if not self.servers:
            raise ProbeError("no directory server given ([directory] servers)")
        SECRETS.add(self.password)
        self.description = self.servers[0].url
        self.evidence: list[Evidence] = []
        self._server: ServerAddress | None = None
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._cache = SingleFlightCache()
        self._closed = False

    # -- connection -------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Bind to the first server that answers; ProbeError naming each server's failure."""
        await self._cache.get("connect", self._connect)

    async def _connect(self) -> None:
        if not self.bind_dn:
            raise ProbeError("no bind account: set [directory] bind_dn (a plain domain user can read all of it)")
        if not self.password:
            # an empty password is an unauthenticated bind, which AD accepts and then hides everything
            raise ProbeError(f"no password: set {PASSWORD_ENV} for {self.bind_dn} (never in the profile file)")
        failures = []
        for server in self.servers:
            watch = Stopwatch()
            try:
                # connect, TLS handshake (and StartTLS) and bind: each has the timeout
                conn = await self._in_thread(lambda s=server: self._open(s), self.timeout * 3, server)
            except ProbeError as exc:
                self._record(server, "bind", "error", watch.ms, error=str(exc))
                failures.append(f"{server.url}: {exc}")
                continue
            self._conn, self._server = conn, server
            self.description = ("GC " if server.global_catalog else "") + server.url
            self._record(server, "bind", "ok", watch.ms, bind_dn=self.bind_dn, tls="StartTLS" if server.starttls
                         else "LDAPS", certificate_verified=not self.insecure)
            return
        raise ProbeError("no directory server could be bound: " + "; ".join(failures))

    def _open(self, server: ServerAddress) -> Any:
        import ldap3
        from ldap3.core.exceptions import LDAPException

        tls = ldap3.Tls(
            validate=ssl.CERT_NONE if self.insecure else ssl.CERT_REQUIRED,
            ca_certs_file=self.ca_bundle,
            version=ssl.PROTOCOL_TLS_CLIENT if not self.insecure else None,
            sni=None if _is_ip(server.host) else server.host,
        )
        ldap_server = ldap3.Server(server.host, port=server.port, use_ssl=not server.starttls, tls=tls,
                                   get_info=ldap3.NONE, connect_timeout=self.timeout)
        conn = ldap3.Connection(ldap_server, user=self.bind_dn, password=self.password, auto_bind=ldap3.AUTO_BIND_NONE,
                                # ldap3 packs it into SO_RCVTIMEO as an integer
                                receive_timeout=math.ceil(self.timeout), auto_referrals=False, check_names=False, auto_range=False,
                                return_empty_attributes=False,  # absent is absent, not an empty list
                                raise_exceptions=False, read_only=True)
        try:
            conn.open()
            if server.starttls:
                try:
                    started = conn.start_tls()
                except LDAPException as exc:
                    raise ProbeError(f"StartTLS failed ({_ldap_error(exc)}); the password is never sent in clear "
                                     "text, so no bind was attempted") from None
                if not started or not conn.tls_started:
                    raise ProbeError("StartTLS was refused; the password is never sent in clear text, so no bind "
                                     "was attempted")
            if not conn.bind():
                raise ProbeError(_result_reason(conn.result, "bind"))
        except ProbeError:
            _abort(conn)
            raise
        except LDAPException as exc:
            _abort(conn)
            raise ProbeError(_ldap_error(exc)) from None
        except (OSError, ssl.SSLError) as exc:
            _abort(conn)
            raise ProbeError(_socket_error(exc)) from None
        return conn

    async def close(self) -> None:
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(_abort, conn, True)

    async def _call(self, fn: Callable[[Any], T], what: str) -> T:
        """Run one blocking operation on the bound connection, under the per-operation deadline."""
        await self.connect()
        async with self._lock:
            if self._conn is None:
                raise ProbeError(f"the connection to {self.description} is closed")
            conn = self._conn
            return await self._in_thread(lambda: fn(conn), self.timeout, self._server, what)

    async def _in_thread(self, fn: Callable[[], T], seconds: float, server: ServerAddress | None,
                         what: str = "connect") -> T:
        task = asyncio.ensure_future(asyncio.to_thread(fn))
        try:
            # a second of slack: ldap3's own socket timeout (the same seconds) usually speaks first
            return await asyncio.wait_for(asyncio.shield(task), seconds + 1)
        except asyncio.TimeoutError:
            # the worker is stuck in a socket read: cut the connection so it ends, and give up
            self._drop_connection()
            where = server.url if server else self.description
            raise ProbeError(f"{where} did not answer within {seconds:g} s ({what})") from None
        except asyncio.CancelledError:
            # the worker may still be mid-operation: nobody may use the connection after it
            self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        if self._conn is not None:
            _abort(self._conn)
            self._conn = None

    # -- forest -----------------------------------------------------------------------------------

    async def forest(self) -> ForestInfo:
        return await self._cache.get("forest", self._read_forest)

    async def _read_forest(self) -> ForestInfo:
        watch = Stopwatch()
        root = await self._call(lambda c: _read_entry(c, "", ["defaultNamingContext", "configurationNamingContext",
                                                          "schemaNamingContext", "rootDomainNamingContext",
                                                          "forestFunctionality", "domainFunctionality",
                                                          "dnsHostName", "supportedControl"]), "rootDSE")
        if root is None or not root.first("configurationnamingcontext"):
            raise ProbeError(f"{self.description} sent no rootDSE configurationNamingContext: not Active Directory?")
        config = root.first("configurationnamingcontext") or ""
        schema = root.first("schemanamingcontext") or f"CN=Schema,{config}"
        partitions = f"CN=Partitions,{config}"
        part = await self._call(lambda c: _read_entry(c, partitions, ["uPNSuffixes", "msDS-EnabledFeature",
                                                                      "msDS-Behavior-Version"]), "CN=Partitions")
        if part is None:
            raise ProbeError(f"{partitions} could not be read")
        refs = await self._call(lambda c: _search_all(
            c, partitions, f"(&(objectClass=crossRef)(systemFlags:1.2.840.113556.1.4.803:={FLAG_CR_NTDS_DOMAIN}))",
            ["nCName", "dnsRoot", "nETBIOSName", "msDS-Behavior-Version"], level=True), "crossRefs")
        domains = []
        for ref in refs:
            nc = ref.first("ncname")
            if not nc:
                continue
            level = await self._call(lambda c, nc=nc: _read_entry(c, nc, ["msDS-Behavior-Version"]), f"domain {nc}")
            domains.append(DomainInfo(
                dn=nc, dns_name=(ref.first("dnsroot") or "").lower(), netbios_name=ref.first("netbiosname"),
                functional_level=_int(level.first("msds-behavior-version") if level else None)))
        root_nc = (root.first("rootdomainnamingcontext") or "").lower()
        root_domain = next((d.dns_name for d in domains if d.dn.lower() == root_nc), domains[0].dns_name if domains
                           else "")
        dsas = await self._call(lambda c: _search_all(c, f"CN=Sites,{config}", "(objectCategory=nTDSDSA)",
                                                      ["objectClass"]), "nTDSDSA")
        hybrid = await self._call(lambda c: _read_entry(c, f"{HYBRID_JOIN_SCP_RDN},{config}", ["keywords"]),
                                  "hybrid-join SCP")
        rms = await self._call(lambda c: _search_all(c, f"{RMS_SCP_CONTAINER_RDN},{config}",
                                                     "(objectClass=serviceConnectionPoint)",
                                                     ["serviceBindingInformation"], missing_ok=True), "AD RMS SCP")
        outside = frozenset()
        if self.server_is_gc:
            outside = await self._outside_partial_attribute_set(schema)
        features = [v.lower() for v in part.values("msds-enabledfeature")]
        info = ForestInfo(
            root_domain=root_domain,
            forest_functional_level=_int(part.first("msds-behavior-version") or root.first("forestfunctionality")),
            domains=tuple(domains),
            upn_suffixes=tuple(part.values("upnsuffixes")),
            recycle_bin_enabled=any(f.startswith(RECYCLE_BIN_RDN) for f in features),
            writable_dc_present=bool(dsas),
            hybrid_join_scp=None if hybrid is None else hybrid.values("keywords"),
            rms_scp=tuple(v for scp in rms or () for v in (scp.values("servicebindinginformation") or (scp.dn,)))
            or None,
            outside_partial_attribute_set=outside,
        )
        self._record(self._server, "forest", "ok", watch.ms, configuration=config, domains=[d.dn for d in domains],
                     writable_dcs=len(dsas), upn_suffixes=list(info.upn_suffixes),
                     outside_partial_attribute_set=sorted(outside))
        return info

    @property
    def server_is_gc(self) -> bool:
        server = self._server or self.servers[0]
        return server.global_catalog

    async def _outside_partial_attribute_set(self, schema: str) -> frozenset[str]:
        """The attributes read that a global catalog does not hold, judged from the schema."""
        names = sorted({a.lower() for a in (*OBJECT_ATTRIBUTES, *COMPUTER_ATTRIBUTES, "member")})
        wanted = "".join(f"(lDAPDisplayName={n})" for n in names)
        found = await self._call(lambda c: _search_all(
            c, schema, f"(&(objectClass=attributeSchema)(|{wanted}))",
            ["lDAPDisplayName", "isMemberOfPartialAttributeSet"], level=True), "schema")
        in_pas = {(e.first("ldapdisplayname") or "").lower() for e in found
                  if (e.first("ismemberofpartialattributeset") or "").upper() == "TRUE"}
        # distinguishedName is constructed and objectClass is always held; the rest must be in the PAS
        always = {"distinguishedname", "objectclass", "objectguid", "cn"}
        return frozenset(n for n in names if n not in in_pas and n not in always)

    # -- objects ----------------------------------------------------------------------------------

    def objects(self) -> AsyncIterator[AdObject]:
        """Users, groups and contacts (IdFix's filter), page by page, with member counts by range."""
        attributes = [*OBJECT_ATTRIBUTES, f"member;range=0-{self.member_range_step - 1}"]
        return self._stream("objects", self._filter(IDFIX_FILTER), attributes)

    def computers(self) -> AsyncIterator[AdObject]:
        return self._stream("computers", self._filter(COMPUTER_FILTER), list(COMPUTER_ATTRIBUTES))

    def _filter(self, base_filter: str) -> str:
        return f"(&{base_filter}{check_filter(self.scope_filter)})" if self.scope_filter else base_filter

    async def bases(self) -> list[str]:
        if self.scope_ous:
            return outermost(self.scope_ous)
        if self.base_dns:
            return outermost(self.base_dns)
        return [d.dn for d in (await self.forest()).domains]

    async def _stream(self, what: str, ldap_filter: str, attributes: list[str]) -> AsyncIterator[AdObject]:
        for base in await self.bases():
            async for obj in self._stream_base(what, base, ldap_filter, attributes):
                yield obj

    async def _stream_base(self, what: str, base: str, ldap_filter: str,
                           attributes: list[str]) -> AsyncIterator[AdObject]:
        watch = Stopwatch()
        stats = ReadStats()
        cookie: bytes | None = None
        data = dict(base=base, filter=ldap_filter, attributes=attributes, page_size=self.page_size)
        try:
            while True:
                if self.read_deadline is not None and watch.ms > self.read_deadline * 1000:
                    raise ProbeError(f"the read of {base} did not finish within {self.read_deadline:g} s")
                page = await self._call(lambda c, k=cookie: _search_page(c, base, ldap_filter, attributes,
                                                                       self.page_size, k), f"page {stats.pages + 1}")
                stats.pages += 1
                stats.references += page.references
                for raw in page.entries:
                    obj = await self._complete_ranges(raw, stats)
                    stats.objects += 1
                    yield obj
                cookie = page.cookie
                if not cookie:
                    break
        except ProbeError as exc:
            self._record(self._server, what, "error", watch.ms, **data, pages=stats.pages, objects=stats.objects,
                         error=str(exc))
            raise
        self._record(self._server, what, "ok", watch.ms, **data, pages=stats.pages, objects=stats.objects,
                     references_skipped=stats.references, range_reads=stats.range_reads)

    async def _complete_ranges(self, raw: "RawEntry", stats: ReadStats) -> AdObject:
        attributes: dict[str, tuple[str, ...]] = {}
        for key, values in raw.attributes.items():
            name, high = split_range(key.lower())
            collected = [text_value(name, v) for v in values or ()]
            while high is not None:  # more values than one answer carries: ask for the next range
                stats.range_reads += 1
                more = await self._call(lambda c, h=high, n=name: _read_range(c, raw.dn, n, h + 1),
                                        f"{name} range of {raw.dn}")
                if more is None:
                    raise ProbeError(f"range retrieval of {name} on {raw.dn} returned nothing after value {high}")
                got, high = more
                collected.extend(text_value(name, v) for v in got)
            attributes[name] = tuple(attributes.get(name, ())) + tuple(collected)
        obj = AdObject(dn=raw.dn, attributes=attributes, source=self.description)
        if obj.kind == "group" and "member" not in attributes:
            # the read asked for member: a group without it has none
            obj = AdObject(dn=raw.dn, attributes={**attributes, "member": ()}, source=self.description)
        return obj

    # -- evidence ---------------------------------------------------------------------------------

    def _record(self, server: ServerAddress | None, read: str, outcome: str, elapsed_ms: float, **data: Any) -> None:
        target = (server.url if server else self.description)
        evidence = self.log.record("directory", target, outcome, elapsed_ms, read=read, **data)
        self.evidence.append(evidence)


def outermost(dns: Iterable[str]) -> list[str]:
    """The given DNs without those inside another given DN (nested OUs would read objects twice)."""
    unique = list(dict.fromkeys(d.strip() for d in dns if d.strip()))
    normalised = {d: _norm_dn(d) for d in unique}
    return [d for d in unique if not any(o != d and normalised[d].endswith("," + normalised[o]) for o in unique)]


def _norm_dn(dn: str) -> str:
    return ",".join(part.strip().lower() for part in dn.split(","))


# --- blocking ldap3 operations (run in worker threads) ----------------------------------------------

@dataclass
class RawEntry:
    dn: str
    attributes: dict[str, list[bytes]]


@dataclass
class Page:
    entries: list[RawEntry]
    cookie: bytes | None
    references: int


def _search_page(conn: Any, base: str, ldap_filter: str, attributes: list[str], page_size: int,
                 cookie: bytes | None) -> Page:
    import ldap3

    _search(conn, base, ldap_filter, attributes, ldap3.SUBTREE, paged_size=page_size, paged_cookie=cookie,
            paged_criticality=True)
    control = (conn.result.get("controls") or {}).get(PAGED_RESULTS_OID)
    if control is None:
        raise ProbeError(f"the server answered the read of {base} without the paged results control: "
                         "a partial read cannot be told from a complete one")
    entries, references = _entries(conn.response)
    return Page(entries, control["value"]["cookie"] or None, references)


def _search_all(conn: Any, base: str, ldap_filter: str, attributes: list[str], *, level: bool = False,
                missing_ok: bool = False) -> list[AdObject] | None:
    """A small search (forest configuration), complete in one answer."""
    import ldap3

    ok = _search(conn, base, ldap_filter, attributes, ldap3.LEVEL if level else ldap3.SUBTREE,
                 missing=missing_ok)
    if not ok:
        return None
    return [_plain(e) for e in _entries(conn.response)[0]]


def _read_entry(conn: Any, dn: str, attributes: list[str]) -> AdObject | None:
    """One object by DN; None when it does not exist."""
    import ldap3

    if not _search(conn, dn, "(objectClass=*)", attributes, ldap3.BASE, missing=True):
        return None
    entries = _entries(conn.response)[0]
    return _plain(entries[0]) if entries else None


def _read_range(conn: Any, dn: str, name: str, low: int) -> tuple[list[bytes], int | None] | None:
    import ldap3

    if not _search(conn, dn, "(objectClass=*)", [f"{name};range={low}-*"], ldap3.BASE, missing=True):
        return None
    entries = _entries(conn.response)[0]
    for key, values in (entries[0].attributes.items() if entries else ()):
        base_name, high = split_range(key.lower())
        if base_name == name:
            return list(values or ()), high  # past the last value the server sends the name without values
    return None


def _search(conn: Any, base: str, ldap_filter: str, attributes: list[str], scope: Any, *, missing: bool = False,
            **kw: Any) -> bool:
    """One search; False only for noSuchObject when `missing` allows it. Faults become ProbeError."""
    from ldap3.core.exceptions import LDAPException

    if conn is None or conn.closed:
        raise ProbeError("the connection to the directory server was closed")
    try:
        conn.search(base, ldap_filter, search_scope=scope, attributes=attributes, **kw)
    except LDAPException as exc:
        raise ProbeError(_ldap_error(exc)) from None
    except (OSError, ssl.SSLError) as exc:
        raise ProbeError(_socket_error(exc)) from None
    result = conn.result or {}
    code = result.get("result")
    if code == 0:
        return True
    if code == 32 and missing:
        return False
    if code == 10:
        raise ProbeError(f"the server referred the read of {base or 'the rootDSE'} to "
                         f"{', '.join(result.get('referrals') or ['another server'])}: this DC holds no copy of it; "
                         "use the global catalog (use_gc) or name a DC of that domain")
    raise ProbeError(f"{base or 'rootDSE'}: {_result_reason(result, 'search')}")


def _entries(response: list[dict] | None) -> tuple[list[RawEntry], int]:
    entries, references = [], 0
    for item in response or ():
        if item.get("type") == "searchResEntry":
            entries.append(RawEntry(item["dn"], item.get("raw_attributes") or {}))
        elif item.get("type") == "searchResRef":
            references += 1  # a continuation into another partition; read through its own base
    return entries, references


def _plain(raw: RawEntry) -> AdObject:
    return AdObject(dn=raw.dn, attributes={k.lower(): tuple(text_value(k.lower(), v) for v in vs or ())
                                           for k, vs in raw.attributes.items()})


def _abort(conn: Any, polite: bool = False) -> None:
    """Close the connection; a worker blocked reading it wakes up with an error."""
    try:
        if polite and not conn.closed:
            conn.unbind()
            return
    except Exception:  # closing is best effort; the socket is shut below either way
        pass
    sock = getattr(conn, "socket", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass


# --- messages -------------------------------------------------------------------------------------

def _result_reason(result: dict | None, operation: str) -> str:
    result = result or {}
    code = result.get("result")
    reason = RESULT_REASONS.get(code) or f"{result.get('description') or 'error'} (LDAP result {code})"
    message = (result.get("message") or "").strip()
    text = f"{operation}: {reason}" + (f" — server said: {message[:300]}" if message else "")
    return scrub(text)


def _ldap_error(exc: Exception) -> str:
    from ldap3.core.exceptions import LDAPSocketOpenError, LDAPStartTLSError

    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "doesn't match" in text or "certificate" in text.lower():
        detail = re.sub(r"\{.*\}", "", text)[:300]
        return scrub(f"the server's TLS certificate is not trusted ({detail.strip()}); give the issuing CA in "
                     "[directory] ca_bundle (insecure_skip_verify only to look, never for a report of record)")
    if isinstance(exc, LDAPSocketOpenError):
        if "timed out" in text or "timeout" in text.lower():
            return "no connection within the timeout (filtered, or the DC is down)"
        return scrub(f"cannot connect: {text[:300]}")
    if isinstance(exc, LDAPStartTLSError):
        return scrub(f"StartTLS failed: {text[:300]}")
    if "timed out" in text or "timeout" in text.lower():
        return "the server stopped answering (receive timeout)"
    return scrub(f"{type(exc).__name__}: {text[:300]}")


def _socket_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return scrub(f"the server's TLS certificate is not trusted ({exc.verify_message}); give the issuing CA in "
                     "[directory] ca_bundle")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "the server stopped answering (receive timeout)"
    return scrub(f"{type(exc).__name__}: {exc}"[:300])


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- wiring ---------------------------------------------------------------------------------------

def open_directory_source(profile: "Profile", log: EvidenceLog) -> DirectorySource | None:
    """The scan's directory source: the export when given, else the LDAP probe, else None."""
    settings = profile.directory
    if settings.export:
        from ems_readiness.probes.directory_export import ExportDirectorySource

        return ExportDirectorySource(str(profile.path(settings.export)), scope_filter=settings.scope_filter)
    if not settings.servers:
        return None
    password = os.environ.get(PASSWORD_ENV, "")
    SECRETS.add(password)
    return DirectoryProbe(
        servers=[parse_server(s, settings.use_gc) for s in settings.servers],
        bind_dn=settings.bind_dn or "",
        password=password,
        log=log,
        ca_bundle=str(profile.path(settings.ca_bundle)) if settings.ca_bundle else None,
        insecure=settings.insecure_skip_verify,
        timeout=settings.timeout_seconds,
        page_size=settings.page_size,
        base_dns=list(settings.base_dns),
        scope_ous=list(settings.scope_ous),
        scope_filter=settings.scope_filter,
        use_gc=settings.use_gc,
    )
