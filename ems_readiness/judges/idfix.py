"""Directory preparation rules: IdFix's multi-tenant rule set, Microsoft's published limits where they
differ, and what Entra ID enforces beyond both. Pure logic over `AdObject`s, no I/O.

IdFix runs a chain of rules per attribute value; a failing rule proposes a value and the next rule in
the chain sees the proposal, so the final proposal fixes everything found. `DirectoryJudge.add` runs the
chains the way IdFix does and returns one `DirectoryIssue` per failing rule (each carrying the chain's
final proposal); duplicates are detected in the same streaming pass, against everything added before
(case-insensitive, across every forest of the run), and returned by `finish`. The judge keeps no
objects: only the duplicate indexes (normalised value → the DN and kind of its first holder) and counters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ems_readiness.engine.model import Text
from ems_readiness.engine.texts import msg, render
from ems_readiness.judges.ad_objects import AdObject, ObjectKind

MAX_VALUE = 512  # an issue carries at most this much of an untrusted value

IDFIX = "IdFix"
MICROSOFT = "Microsoft"
OURS = "ems-readiness"


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    attribute: str        # as IdFix prints it
    source: str           # IdFix | Microsoft | ems-readiness
    why: str
    fix: str
    # the same limit as another source states it (IdFix and Microsoft disagree on a few)
    variant_of: str | None = None


@dataclass(frozen=True)
class DirectoryIssue:
    rule: str
    attribute: str
    dn: str
    kind: ObjectKind
    value: str
    update: str | None
    action: str           # EDIT | REMOVE | COMPLETE
    error: str            # IdFix's error words, joined by ',' (no space)
    source: str
    other_dn: str | None = None


_DOC = "Microsoft's \"Prepare directory attributes for synchronization\" page"
_RULES = [
    # --- IdFix, multi-tenant mode (MultiTenantRuleCollection), in its chain order -------------------
    Rule("IDF-DISPLAYNAME-LENGTH", "displayName longer than 255 characters", "displayName", IDFIX,
         "IdFix caps displayName at 255 characters.", "Shorten displayName (IdFix proposes the first 255)."),
    Rule("IDF-DISPLAYNAME-BLANK", "displayName blank", "displayName", IDFIX,
         "An object without a displayName syncs with an empty name in address lists and the admin portals.",
         "Set displayName; IdFix proposes the cn."),
    Rule("IDF-GIVENNAME-LENGTH", "givenName longer than 63 characters", "givenName", IDFIX,
         "IdFix caps givenName at 63 characters.", "Shorten givenName (IdFix proposes the first 63)."),
    Rule("IDF-MAIL-LENGTH", "mail longer than 256 characters", "mail", IDFIX,
         "Entra ID rejects a mail value over 256 characters.", "Shorten mail."),
    Rule("IDF-MAIL-DUPLICATE", "mail duplicated", "mail", IDFIX,
         "mail must be unique in the directory: the first object with the value syncs, the others are "
         "quarantined by duplicate attribute resiliency.", "Give each object its own mail value."),
    Rule("IDF-MAILNICKNAME-LENGTH", "mailNickname longer than 64 characters", "mailNickname", IDFIX,
         "The Exchange alias is limited to 64 characters.", "Shorten mailNickname."),
    Rule("IDF-MAILNICKNAME-CHARACTER", "mailNickname starts with a period", "mailNickname", IDFIX,
         "An Exchange alias cannot start with a period.", "Remove the leading periods (IdFix's proposal)."),
    Rule("IDF-MAILNICKNAME-DUPLICATE", "mailNickname duplicated", "mailNickname", IDFIX,
         "The Exchange alias must be unique in the directory.", "Give each object its own mailNickname."),
    Rule("IDF-PROXY-LENGTH", "proxyAddresses value longer than 256 characters", "proxyAddresses", IDFIX,
         "Each proxy address is limited to 256 characters.", "Shorten or remove the value."),
    Rule("IDF-PROXY-COLON", "proxyAddresses value with a ':' after its prefix", "proxyAddresses", IDFIX,
         "Only the prefix (smtp:, x500:, …) may be followed by a colon.",
         "Remove the extra colons (IdFix's proposal)."),
    Rule("IDF-PROXY-DUPLICATE", "proxyAddresses value duplicated", "proxyAddresses", IDFIX,
         "Proxy addresses must be unique across users, groups and contacts: Entra ID quarantines the later "
         "object.", "Remove the value from all but one object."),
    Rule("IDF-PROXY-SMTP-CHARACTER", "SMTP proxy address with an invalid character", "proxyAddresses", IDFIX,
         "An SMTP address cannot contain whitespace or < > ( ) ; , [ ] \".",
         "Remove the characters (IdFix's proposal)."),
    Rule("IDF-PROXY-SMTP-FORMAT", "SMTP proxy address not RFC 2822", "proxyAddresses", IDFIX,
         "IdFix checks every SMTP proxy address against RFC 2822: a known top-level domain, a valid domain "
         "part, a valid local part and a single @.", "Correct the address (IdFix proposes one)."),
    Rule("IDF-PROXY-X400-CHARACTER", "X.400 proxy address with an invalid character", "proxyAddresses", IDFIX,
         "An X.400 address cannot contain control whitespace, [ ] \" or '.", "Remove the characters."),
    Rule("IDF-PROXY-X500-CHARACTER", "X.500 proxy address with an invalid character", "proxyAddresses", IDFIX,
         "An X.500 address cannot contain control whitespace, [ ] \" or '.", "Remove the characters."),
    Rule("IDF-PROXY-CHARACTER", "proxy address with an invalid character", "proxyAddresses", IDFIX,
         "A proxy address of another type cannot contain whitespace or < > ( ) , [ ] \".",
         "Remove the characters."),
    Rule("IDF-SAM-LENGTH", "sAMAccountName too long", "sAMAccountName", IDFIX,
         "sAMAccountName is limited to 20 characters for users and 256 for other objects.",
         "Shorten sAMAccountName."),
    Rule("IDF-SAM-CHARACTER", "sAMAccountName with an invalid character", "sAMAccountName", IDFIX,
         "sAMAccountName cannot contain \\ \" | , / [ ] : < > + = ; ? *.", "Remove the characters."),
    Rule("IDF-SAM-DUPLICATE", "sAMAccountName duplicated (object without UPN)", "sAMAccountName", IDFIX,
         "Without a userPrincipalName, sAMAccountName identifies the object and must be unique.",
         "Set a unique userPrincipalName or sAMAccountName."),
    Rule("IDF-TARGET-LENGTH", "targetAddress longer than 255 characters", "targetAddress", IDFIX,
         "targetAddress is limited to 255 characters.", "Shorten targetAddress."),
    Rule("IDF-TARGET-COLON", "targetAddress with a ':' after its prefix", "targetAddress", IDFIX,
         "Only the prefix may be followed by a colon.", "Remove the extra colons."),
    Rule("IDF-TARGET-DUPLICATE", "targetAddress duplicated", "targetAddress", IDFIX,
         "Two objects forwarding to the same external address usually means a stale copy.",
         "Keep targetAddress on one object."),
    Rule("IDF-TARGET-SMTP-CHARACTER", "SMTP targetAddress with an invalid character", "targetAddress", IDFIX,
         "An SMTP targetAddress cannot contain whitespace or \\ < > ( ) ; , [ ] \".", "Remove the characters."),
    Rule("IDF-TARGET-SMTP-FORMAT", "SMTP targetAddress not RFC 2822", "targetAddress", IDFIX,
         "IdFix checks an SMTP targetAddress against RFC 2822.", "Correct the address."),
    Rule("IDF-TARGET-CHARACTER", "targetAddress with an invalid character", "targetAddress", IDFIX,
         "A targetAddress of another type cannot contain whitespace or \\ < > ( ) , [ ] \".",
         "Remove the characters."),
    Rule("IDF-UPN-LENGTH", "userPrincipalName longer than 113 characters", "userPrincipalName", IDFIX,
         "IdFix caps the UPN at 113 characters in total.", "Shorten the UPN."),
    Rule("IDF-UPN-CHARACTER", "userPrincipalName with an invalid character", "userPrincipalName", IDFIX,
         "IdFix refuses whitespace, \\ % & * + / = ? ' { } | < > ( ) ; : , [ ] \" and umlauts in a UPN "
         "(the apostrophe is allowed by Microsoft's page: see MS-UPN-CHARACTER).",
         "Remove the characters (IdFix's proposal)."),
    Rule("IDF-UPN-FORMAT", "userPrincipalName not RFC 2822", "userPrincipalName", IDFIX,
         "The UPN must have the form of an e-mail address with a known top-level domain.",
         "Correct the UPN (IdFix proposes one)."),
    Rule("IDF-UPN-DUPLICATE", "userPrincipalName duplicated", "userPrincipalName", IDFIX,
         "The UPN must be unique across the forests that sync to one tenant.", "Give each user its own UPN."),
    # --- Microsoft's page, where it differs from IdFix ---------------------------------------------
    Rule("MS-DISPLAYNAME-LENGTH", "displayName longer than 256 characters", "displayName", MICROSOFT,
         f"{_DOC} allows 256 characters (IdFix: 255).", "Shorten displayName.",
         variant_of="IDF-DISPLAYNAME-LENGTH"),
    Rule("MS-GIVENNAME-LENGTH", "givenName longer than 64 characters", "givenName", MICROSOFT,
         f"{_DOC} allows 64 characters (IdFix: 63).", "Shorten givenName.", variant_of="IDF-GIVENNAME-LENGTH"),
    Rule("MS-UPN-LENGTH", "userPrincipalName over 64 characters before @ or 48 after", "userPrincipalName",
         MICROSOFT, f"{_DOC} allows 64 characters before the @ and 48 after it (IdFix: 113 in total).",
         "Shorten the user name or use a shorter UPN suffix.", variant_of="IDF-UPN-LENGTH"),
    Rule("MS-UPN-CHARACTER", "userPrincipalName with a character Microsoft's page refuses",
         "userPrincipalName", MICROSOFT,
         f"{_DOC} refuses whitespace, \\ % & * + / = ? {{ }} | < > ( ) ; : , [ ] \" and umlauts; unlike IdFix "
         "it allows the apostrophe.", "Remove the characters.", variant_of="IDF-UPN-CHARACTER"),
    Rule("MS-UPN-BLANK", "user without userPrincipalName", "userPrincipalName", MICROSOFT,
         "Microsoft asks to fill blank UPNs before the first sync; Entra Connect otherwise signs the user in "
         "with an onmicrosoft.com name.", "Set a routable UPN; proposed: sAMAccountName@the domain's DNS name."),
    # --- beyond IdFix ------------------------------------------------------------------------------
    Rule("ER-SMTP-DUPLICATE", "address held by another object under another attribute", "proxyAddresses", OURS,
         "Entra ID enforces one SMTP namespace: one object's UPN or mail equal to another object's smtp: "
         "proxy address is a conflict (IdFix compares within one attribute only), and duplicate attribute "
         "resiliency quarantines the later object.", "Remove the address from one of the two objects."),
    Rule("ER-UPN-SUFFIX", "userPrincipalName with a non-routable suffix", "userPrincipalName", OURS,
         "A UPN suffix that is not a public DNS domain (.local, .lan, a single label, an unknown top-level "
         "domain) cannot be verified in Entra ID: the user signs in as name@tenant.onmicrosoft.com.",
         "Add a routable UPN suffix to the forest and move the users to it."),
    Rule("ER-UPN-NON-ASCII", "userPrincipalName with non-ASCII characters", "userPrincipalName", OURS,
         "Entra ID accepts only ASCII letters, digits and ' . - _ ! # ^ ~ in the user name of a UPN; "
         "IdFix flags only a few umlauts.", "Replace the characters (proposed: their ASCII base letters)."),
    Rule("ER-PROXY-NO-PRIMARY", "SMTP addresses without a primary", "proxyAddresses", OURS,
         "smtp: addresses without one upper-case SMTP: value leave the primary address to chance: Entra ID "
         "and Exchange Online pick one, often not the one users know.",
         "Mark the intended address as primary (proposed: the first, with an upper-case SMTP: prefix)."),
    Rule("ER-MAILNICKNAME-CHARACTER", "mailNickname Exchange Online refuses", "mailNickname", OURS,
         "An Exchange alias may hold only letters, digits, ! # $ % & ' * + - / = ? ^ _ ` { | } ~ and periods "
         "between other characters (and the characters U+00A1–U+00FF); IdFix checks only a leading period. "
         "With another character the mailbox or group is not provisioned in Exchange Online.",
         "Remove the characters (proposed)."),
    Rule("ER-PROXY-PRIMARY", "more than one primary SMTP address", "proxyAddresses", OURS,
         "Exactly one proxy address may carry the upper-case SMTP: prefix; with several, Exchange Online and "
         "Entra ID refuse the object.", "Keep one SMTP: value and lower-case the prefix of the others."),
]
RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}

# IdFix's error words (its ErrorType flags), in flag order
ERROR_WORDS = ("format", "blank", "duplicate", "character", "topleveldomain", "domainpart", "localpart", "length")

# --- character classes (IdFix's Constants) -------------------------------------------------------------
_I = re.IGNORECASE
UPN_BAD = re.compile(r"[\s\\%&*+/=?'{}|<>();:,\[\]\"äëïöüÿÄËÏÖÜŸ]", _I)
UPN_BAD_MICROSOFT = re.compile(r"[\s\\%&*+/=?{}|<>();:,\[\]\"äëïöüÿÄËÏÖÜŸ]", _I)
PROXY_SMTP_BAD = re.compile(r"[\s<>();,\[\]\"]", _I)
PROXY_OTHER_BAD = re.compile(r"[\s<>(),\[\]\"]", _I)
TARGET_SMTP_BAD = re.compile(r"[\s\\<>();,\[\]\"]", _I)
TARGET_OTHER_BAD = re.compile(r"[\s\\<>(),\[\]\"]", _I)
X400_X500_BAD = re.compile(r"[\f\n\r\t\v\[\]\"']", _I)
SAM_BAD = re.compile(r"[\\\"|,/\[\]:<>+=;?*]", _I)
NICKNAME_LEADING_PERIODS = re.compile(r"^[.]+")
NICKNAME_NOT_ALIAS = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\u00a1-\u00ff]")
IS_X400 = re.compile(r"^x\.?400", _I)
IS_X500 = re.compile(r"^x\.?500", _I)
# IdFix looks for "smtp:" anywhere in the value, not only as the prefix
HAS_SMTP = re.compile("smtp:", _I)

# --- RFC 2822 chain (IdFix's RFC2822Rule); ASCII letters only, as RFC 2822 means --------------------------
_A = re.IGNORECASE | re.ASCII
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:[a-z]{2,17})"
DOMAIN_PART = re.compile(rf"@{_DOMAIN}$", _A)
LOCAL_PART = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@", _A)
RFC2822 = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_DOMAIN}$", _A)
NOT_DOMAIN_CHAR = re.compile(r"[^a-z0-9.-]", _A)
NOT_LOCAL_CHAR = re.compile(r"[^a-z0-9.!#$%&'*+/=?^_`{|}~-]", _A)
# Entra ID's user-name characters (beyond letters and digits)
ENTRA_UPN_USER = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+$")

# --- skip rules (IdFix's MultiTenantRuleCollection.Skip) -------------------------------------------------
WELL_KNOWN_CN_PREFIXES = (
    "ADMINI", "CAS_{", "DISCOVERYSEARCHMAILBOX", "FEDERATEDEMAIL", "GUEST", "HTTPCONNECTOR", "KRBTGT",
    "IUSR_", "IWAM", "MSOL", "SUPPORT_", "SYSTEMMAILBOX", "WWIOADMINI", "HEALTHMAILBOX",
    "EXCHANGE ONLINE-APPLICATIONACCOUNT",
)
SYSTEM_SAM_PREFIXES = ("CAS_", "SUPPORT_", "MSOL_")
SYSTEM_NICKNAME_PREFIXES = ("CAS_", "SYSTEMMAILBOX")
# msExchRecipientTypeDetails of Exchange system recipients (arbitration, discovery, monitoring, …).
# IdFix compares the attribute's text with "0x1000"…; AD returns it in decimal, so we compare numbers.
SYSTEM_RECIPIENT_TYPES = frozenset({0x1000, 0x2000, 0x4000, 0x400000, 0x800000, 0x1000000, 0x20000000})

# --- non-routable UPN suffixes --------------------------------------------------------------------------
PRIVATE_TLDS = frozenset({
    "local", "lan", "localdomain", "localhost", "internal", "intranet", "private", "priv", "corp", "home",
    "homenet", "test", "invalid", "example", "domain", "lcl", "loc", "ad", "grp", "prv",
})
# ".ad" is Andorra and listed above only when the TLD list does not know it: see upn_suffix_problem
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.ASCII)


def is_dns_label(label: str) -> bool:
    """One lower-case DNS label (letters, digits, inner hyphens; 1-63 characters)."""
    return bool(_DNS_LABEL.fullmatch(label))


@lru_cache(maxsize=1)
def default_tlds() -> frozenset[str]:
    """IdFix's domains.txt as shipped with ems-readiness: one '.tld' per line."""
    text = resources.files("ems_readiness.data").joinpath("idfix-valid-tlds.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def upn_suffix_problem(suffix: str, tlds: frozenset[str] | None = None,
                       routable: frozenset[str] = frozenset()) -> str | None:
    """Why a UPN suffix cannot become a verified domain in Entra ID, or None when it can.

    `routable` names top-level domains (without the dot) the caller declares routable although they
    are private, e.g. a lab's `.test` ([identity] routable_tlds).
    """
    problem = upn_suffix_problem_text(suffix, tlds, routable)
    return None if problem is None else render(problem)


def upn_suffix_problem_text(suffix: str, tlds: frozenset[str] | None = None,
                            routable: frozenset[str] = frozenset()) -> Text | None:
    """`upn_suffix_problem` as a translatable text."""
    name = suffix.strip().rstrip(".").lower()
    if not name:
        return msg("suffix.none")
    labels = name.split(".")
    if len(labels) == 1:
        return msg("suffix.single-label", name=repr(name))
    if not all(is_dns_label(label) for label in labels):
        return msg("suffix.invalid", name=repr(name))
    if name.endswith(".home.arpa") or name == "home.arpa":
        return msg("suffix.home-arpa")
    tld = labels[-1]
    if tld in routable:
        return None
    known = "." + tld in (tlds if tlds is not None else default_tlds())
    if tld in PRIVATE_TLDS and not (known and tld == "ad"):
        return msg("suffix.private", tld=tld)
    if not known:
        return msg("suffix.unknown", tld=tld)
    return None


def _first(obj: AdObject, name: str) -> str | None:
    """The first value of an attribute given by its lower-case name (AdObject.first, without lower())."""
    values = obj.attributes.get(name)
    return values[0] if values else None


def _cn(obj: AdObject) -> str:
    cn = _first(obj, "cn")
    if cn is not None:
        return cn
    first_rdn = obj.dn.split(",", 1)[0]
    return first_rdn.split("=", 1)[1] if "=" in first_rdn else first_rdn


def _true(value: str | None) -> bool:
    return value is not None and value.strip().upper() == "TRUE"


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def skip_reason(obj: AdObject, kind: ObjectKind | None = None) -> str | None:
    """IdFix's reason for not judging an object (system and conflict objects, groups that won't sync)."""
    cn = _cn(obj)
    if cn.endswith("$"):
        return "cn ends with $"
    upper_cn = cn.upper()
    if upper_cn.startswith(WELL_KNOWN_CN_PREFIXES):
        return "well-known system account"
    dn_upper = obj.dn.upper()
    if "\\0ACNF:" in dn_upper or "\nCNF:" in dn_upper:
        return "replication conflict object (CNF)"
    if _true(_first(obj, "iscriticalsystemobject")):
        return "critical system object"
    kind = kind or obj.kind
    if kind == "user":
        sam = (_first(obj, "samaccountname") or "").upper()
        nickname = (_first(obj, "mailnickname") or "").upper()
        if sam.startswith(SYSTEM_SAM_PREFIXES) or nickname.startswith(SYSTEM_NICKNAME_PREFIXES):
            return "Exchange or sync system account"
        display = _first(obj, "displayname")
        if display is not None and _true(_first(obj, "msexchhidefromaddresslists")) \
                and display.upper().startswith("MSOL"):
            return "Exchange or sync system account"
        if _int(_first(obj, "msexchrecipienttypedetails")) in SYSTEM_RECIPIENT_TYPES:
            return "Exchange system recipient"
    elif kind == "group":
        group_type = _int(_first(obj, "grouptype"))
        if group_type is not None:
            # groupType is a signed 32-bit value; the security flag 0x80000000 makes it negative
            if group_type >= 0x80000000:
                group_type -= 1 << 32
            if group_type < 0 and not ("mail" in obj.attributes):
                return "security group without mail"
            if group_type >= 0 and not ("proxyaddresses" in obj.attributes):
                return "distribution group without proxyAddresses"
    return None


def _bounded(value: str) -> str:
    value = value.replace("\x00", "")
    return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 13] + " …[truncated]"


@dataclass
class _Failure:
    rule: str
    errors: tuple[str, ...]
    action: str = "EDIT"
    duplicate_of: str | None = None
    holder_kind: ObjectKind = "other"


class _Chain:
    """One attribute value through IdFix's chain: each failing rule's proposal feeds the next rule."""

    __slots__ = ("original", "value", "failures")

    def __init__(self, value: str) -> None:
        self.original = value
        self.value = value
        self.failures: list[_Failure] = []

    def fail(self, rule: str, errors: tuple[str, ...], update: str, action: str = "EDIT") -> None:
        self.failures.append(_Failure(rule, errors, action))
        self.value = update

    def max_length(self, rule: str, limit: int) -> None:
        if len(self.value) > limit:
            self.fail(rule, ("length",), self.value[:limit])

    def characters(self, rule: str, pattern: re.Pattern[str], cn: str) -> None:
        if pattern.search(self.value):
            cleaned = pattern.sub("", self.value)
            self.fail(rule, ("character",), cleaned or cn)

    def extra_colons(self, rule: str) -> None:
        colon = self.value.find(":")
        if colon > 0 and ":" in self.value[colon + 1:]:
            self.fail(rule, ("character",), self.value[:colon] + ":" + self.value[colon + 1:].replace(":", ""))

    def rfc2822(self, rule: str, tlds: frozenset[str]) -> None:
        errors, update = rfc2822_problems(self.value, tlds)
        if errors:
            self.fail(rule, errors, update)


def rfc2822_problems(value: str, tlds: frozenset[str]) -> tuple[tuple[str, ...], str]:
    """IdFix's RFC 2822 chain: top-level domain, domain part, local part, format; with its proposal."""
    smtp = HAS_SMTP.search(value) is not None
    address = value[value.index(":") + 1:] if smtp else value
    if RFC2822.search(address) and address[address.rfind("."):].lower() in tlds:
        return (), value  # the whole chain passes: the format implies a valid domain and local part
    errors: list[str] = []
    dot = address.rfind(".")
    if dot != -1:
        tld = address[dot:].lower()
        if len(tld) > 1 and tld not in tlds:
            errors.append("topleveldomain")
    if not DOMAIN_PART.search(address):
        errors.append("domainpart")
        at = address.rfind("@")
        if at != -1:
            address = address[: at + 1] + NOT_DOMAIN_CHAR.sub("", address[at + 1:])
    if not LOCAL_PART.search(address) or address.count("@") > 1:
        errors.append("localpart")
        at = address.rfind("@")
        if at != -1:
            local = NOT_LOCAL_CHAR.sub("", address[:at])
            address = (local + address[at:]).replace(".@", "@")
    if not RFC2822.search(address):
        errors.append("format")
    if not errors:
        return (), value
    update = value[: value.index(":") + 1].strip() + address if smtp else address
    return tuple(errors), update


def _duplicate_action(attribute: str, obj: AdObject, chain: _Chain) -> str:
    """IdFix's action for a duplicate: COMPLETE or REMOVE where it deems the value expected, else EDIT."""
    if chain.value != chain.original:
        return "EDIT"
    if attribute == "proxyAddresses":
        if HAS_SMTP.search(chain.value):
            if not ("mailnickname" in obj.attributes):
                return "REMOVE"
            if chain.value[:5].lower() == "smtp:":
                return "COMPLETE"
    elif attribute in ("userPrincipalName", "mail", "sAMAccountName"):
        if ("mailnickname" in obj.attributes):
            return "COMPLETE"
    elif attribute == "mailNickname":
        if ("homemdb" in obj.attributes):
            return "COMPLETE"
    return "EDIT"


class DirectoryJudge:
    """Judges a stream of objects; keeps only the duplicate indexes and counters, never the objects."""

    def __init__(self, *, tlds: frozenset[str] | None = None, routable_tlds: frozenset[str] = frozenset()) -> None:
        self.tlds = tlds if tlds is not None else default_tlds()
        self.routable_tlds = routable_tlds  # see upn_suffix_problem
        self.seen = 0
        self.skipped: dict[str, int] = {}
        self.by_kind: dict[str, int] = {}
        self.upn_suffixes: dict[str, int] = {}
        # IdFix attribute name → normalised value → (DN, kind) of the first holder, one tuple per object
        # shared by all its values
        self._first_holder: dict[str, dict[str, tuple[str, ObjectKind]]] = {
            name: {} for name in
            ("mail", "mailNickname", "proxyAddresses", "sAMAccountName", "targetAddress", "userPrincipalName")
        }
        self._first_reported: set[tuple[str, str]] = set()
        self._current: tuple[str, ObjectKind] = ("", "other")  # the object being judged
        self._duplicates: list[DirectoryIssue] = []
        self._suffix_verdicts: dict[str, str | None] = {}

    # --- the pass ----------------------------------------------------------------------------------
    def add(self, obj: AdObject) -> list[DirectoryIssue]:
        """Judge one object; returns its per-object issues (duplicates come from `finish`)."""
        self.seen += 1
        kind = obj.kind
        self._current = (obj.dn, kind)
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        reason = skip_reason(obj, kind)
        if reason is not None:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1
            return []
        issues: list[DirectoryIssue] = []
        cn = _cn(obj)
        self._display_name(obj, kind, cn, issues)
        self._given_name(obj, kind, issues)
        self._single(obj, kind, "mail", issues, lambda c: (c.max_length("IDF-MAIL-LENGTH", 256),
                                                           self._duplicate(c, obj, "mail", "IDF-MAIL-DUPLICATE")))
        self._single(obj, kind, "mailNickname", issues, lambda c: (
            c.max_length("IDF-MAILNICKNAME-LENGTH", 64),
            c.characters("IDF-MAILNICKNAME-CHARACTER", NICKNAME_LEADING_PERIODS, cn),
            self._duplicate(c, obj, "mailNickname", "IDF-MAILNICKNAME-DUPLICATE")))
        self._exchange_alias(obj, kind, issues)
        self._proxy_addresses(obj, kind, cn, issues)
        self._single(obj, kind, "sAMAccountName", issues, lambda c: (
            c.max_length("IDF-SAM-LENGTH", 20 if kind == "user" else 256),
            c.characters("IDF-SAM-CHARACTER", SAM_BAD, cn),
            None if ("userprincipalname" in obj.attributes) else self._duplicate(c, obj, "sAMAccountName", "IDF-SAM-DUPLICATE")))
        self._target_address(obj, kind, cn, issues)
        self._user_principal_name(obj, kind, cn, issues)
        self._smtp_namespace(obj, kind)
        return issues

    def finish(self) -> list[DirectoryIssue]:
        """The duplicates found during the pass, each first holder listed once as IdFix does."""
        duplicates, self._duplicates = self._duplicates, []
        return duplicates

    # --- rows --------------------------------------------------------------------------------------
    def _emit(self, chain: _Chain, obj: AdObject, kind: ObjectKind, attribute: str,
              issues: list[DirectoryIssue]) -> None:
        """One issue per failing rule of a chain; all carry the chain's final proposal and action."""
        if not chain.failures:
            return
        action = chain.failures[-1].action
        value = _bounded(chain.original)
        update = _bounded(chain.value)
        for failure in chain.failures:
            issue = DirectoryIssue(failure.rule, attribute, obj.dn, kind, value, update, action,
                                   ",".join(failure.errors), RULES[failure.rule].source, failure.duplicate_of)
            if failure.duplicate_of is None:
                issues.append(issue)
            else:
                self._duplicates.append(issue)
                self._first_holder_row(failure, attribute, kind, value, update, action)

    def _first_holder_row(self, failure: _Failure, attribute: str, kind: ObjectKind, value: str,
                          update: str, action: str) -> None:
        # IdFix also lists the first holder, once per value, when it proposes an edit
        if action != "EDIT" or failure.duplicate_of is None:
            return
        key = (attribute, value.lower())
        if key in self._first_reported:
            return
        self._first_reported.add(key)
        self._duplicates.append(DirectoryIssue(failure.rule, attribute, failure.duplicate_of, failure.holder_kind, value,
                                               update, action, "duplicate", RULES[failure.rule].source))

    def _duplicate(self, chain: _Chain, obj: AdObject, attribute: str, rule: str) -> None:
        index = self._first_holder[attribute]
        key = chain.value.lower()
        holder = index.get(key)
        if holder is None:
            index[key] = self._current
            return
        failure = _Failure(rule, ("duplicate",), _duplicate_action(attribute, obj, chain), holder[0], holder[1])
        chain.failures.append(failure)

    def _single(self, obj: AdObject, kind: ObjectKind, attribute: str, issues: list[DirectoryIssue],
                run) -> None:
        value = _first(obj, attribute.lower())
        if value is None:
            return
        chain = _Chain(value)
        run(chain)
        self._emit(chain, obj, kind, attribute, issues)

    # --- attributes --------------------------------------------------------------------------------
    def _display_name(self, obj: AdObject, kind: ObjectKind, cn: str, issues: list[DirectoryIssue]) -> None:
        value = _first(obj, "displayname")
        chain = _Chain(value or "")
        if value is None or value == "":
            chain.fail("IDF-DISPLAYNAME-BLANK", ("blank",), cn)
        else:
            chain.max_length("IDF-DISPLAYNAME-LENGTH", 255)
        self._emit(chain, obj, kind, "displayName", issues)
        if value is not None and len(value) > 256:
            issues.append(self._plain("MS-DISPLAYNAME-LENGTH", obj, kind, value, value[:256], "length"))

    def _given_name(self, obj: AdObject, kind: ObjectKind, issues: list[DirectoryIssue]) -> None:
        value = _first(obj, "givenname")
        if value is None:
            return
        chain = _Chain(value)
        chain.max_length("IDF-GIVENNAME-LENGTH", 63)
        self._emit(chain, obj, kind, "givenName", issues)
        if len(value) > 64:
            issues.append(self._plain("MS-GIVENNAME-LENGTH", obj, kind, value, value[:64], "length"))

    def _proxy_addresses(self, obj: AdObject, kind: ObjectKind, cn: str, issues: list[DirectoryIssue]) -> None:
        primaries = secondaries = 0
        for value in obj.attributes.get("proxyaddresses", ()):
            if value.startswith("SMTP:"):
                primaries += 1
            elif value.startswith("smtp:"):
                secondaries += 1
            chain = _Chain(value)
            chain.max_length("IDF-PROXY-LENGTH", 256)
            chain.extra_colons("IDF-PROXY-COLON")
            self._duplicate(chain, obj, "proxyAddresses", "IDF-PROXY-DUPLICATE")
            if HAS_SMTP.search(chain.value):
                chain.characters("IDF-PROXY-SMTP-CHARACTER", PROXY_SMTP_BAD, cn)
                chain.rfc2822("IDF-PROXY-SMTP-FORMAT", self.tlds)
            elif IS_X400.match(chain.value):
                chain.characters("IDF-PROXY-X400-CHARACTER", X400_X500_BAD, cn)
            elif IS_X500.match(chain.value):
                chain.characters("IDF-PROXY-X500-CHARACTER", X400_X500_BAD, cn)
            else:
                chain.characters("IDF-PROXY-CHARACTER", PROXY_OTHER_BAD, cn)
            self._emit(chain, obj, kind, "proxyAddresses", issues)
        if primaries > 1:
            values = ";".join(v for v in obj.attributes.get("proxyaddresses", ()) if v.startswith("SMTP:"))
            issues.append(self._plain("ER-PROXY-PRIMARY", obj, kind, values, None, "format"))
        elif secondaries and not primaries:
            values = ";".join(v for v in obj.attributes.get("proxyaddresses", ()) if v.startswith("smtp:"))
            first = values.split(";", 1)[0]
            issues.append(self._plain("ER-PROXY-NO-PRIMARY", obj, kind, values, "SMTP:" + first[5:], "format"))

    def _exchange_alias(self, obj: AdObject, kind: ObjectKind, issues: list[DirectoryIssue]) -> None:
        value = _first(obj, "mailnickname")
        if not value:
            return
        # a leading period is IdFix's IDF-MAILNICKNAME-CHARACTER; here: the rest of Exchange's alias rules
        body = value.lstrip(".")
        if NICKNAME_NOT_ALIAS.search(body) or body.endswith(".") or ".." in body:
            fixed = re.sub(r"\.{2,}", ".", NICKNAME_NOT_ALIAS.sub("", body)).strip(".")
            issues.append(self._plain("ER-MAILNICKNAME-CHARACTER", obj, kind, value, fixed or None, "character"))

    def _target_address(self, obj: AdObject, kind: ObjectKind, cn: str, issues: list[DirectoryIssue]) -> None:
        value = _first(obj, "targetaddress")
        if value is None:
            return
        chain = _Chain(value)
        chain.max_length("IDF-TARGET-LENGTH", 255)
        chain.extra_colons("IDF-TARGET-COLON")
        self._duplicate(chain, obj, "targetAddress", "IDF-TARGET-DUPLICATE")
        if HAS_SMTP.search(chain.value):
            chain.characters("IDF-TARGET-SMTP-CHARACTER", TARGET_SMTP_BAD, cn)
            chain.rfc2822("IDF-TARGET-SMTP-FORMAT", self.tlds)
        else:
            chain.characters("IDF-TARGET-CHARACTER", TARGET_OTHER_BAD, cn)
        self._emit(chain, obj, kind, "targetAddress", issues)

    def _user_principal_name(self, obj: AdObject, kind: ObjectKind, cn: str,
                             issues: list[DirectoryIssue]) -> None:
        value = _first(obj, "userprincipalname")
        if value is None or value == "":
            if kind == "user":
                issues.append(self._plain("MS-UPN-BLANK", obj, kind, value or "", self._upn_proposal(obj), "blank"))
            return
        chain = _Chain(value)
        chain.max_length("IDF-UPN-LENGTH", 113)
        chain.characters("IDF-UPN-CHARACTER", UPN_BAD, cn)
        chain.rfc2822("IDF-UPN-FORMAT", self.tlds)
        self._duplicate(chain, obj, "userPrincipalName", "IDF-UPN-DUPLICATE")
        self._emit(chain, obj, kind, "userPrincipalName", issues)
        user, at, suffix = value.rpartition("@")
        if at and (len(user) > 64 or len(suffix) > 48):
            issues.append(self._plain("MS-UPN-LENGTH", obj, kind, value, None, "length"))
        # Microsoft's class is IdFix's without the apostrophe: only a value IdFix flags can fail it
        # (IdFix looks at the first 113 characters only)
        if (len(value) > 113 or any(f.rule == "IDF-UPN-CHARACTER" for f in chain.failures)) \
                and UPN_BAD_MICROSOFT.search(value):
            issues.append(self._plain("MS-UPN-CHARACTER", obj, kind, value,
                                      UPN_BAD_MICROSOFT.sub("", value) or None, "character"))
        if not value.isascii():
            issues.append(self._plain("ER-UPN-NON-ASCII", obj, kind, value, _ascii_fold(value), "character"))
        if at:
            self._upn_suffix(obj, kind, value, suffix, issues)

    def _upn_suffix(self, obj: AdObject, kind: ObjectKind, value: str, suffix: str,
                    issues: list[DirectoryIssue]) -> None:
        suffix = suffix.lower()
        if kind == "user":
            self.upn_suffixes[suffix] = self.upn_suffixes.get(suffix, 0) + 1
        if suffix not in self._suffix_verdicts:
            if len(self._suffix_verdicts) > 10_000:  # a hostile input cannot grow this without bound
                self._suffix_verdicts.clear()
            self._suffix_verdicts[suffix] = upn_suffix_problem(suffix, self.tlds, self.routable_tlds)
        if self._suffix_verdicts[suffix] is not None:
            issues.append(self._plain("ER-UPN-SUFFIX", obj, kind, value, None, "domainpart"))

    def _smtp_namespace(self, obj: AdObject, kind: ObjectKind) -> None:
        """Entra's cross-attribute uniqueness: UPN or mail here against an smtp: proxy elsewhere, and back.

        A pair IdFix's per-attribute rules already report (the same holder holds the same value in the
        same attribute too) is not reported again."""
        proxies = self._first_holder["proxyAddresses"]
        for attribute, name in (("userPrincipalName", "userprincipalname"), ("mail", "mail")):
            value = _first(obj, name)
            if value:
                key = value.lower()
                holder = proxies.get("smtp:" + key)
                if holder is not None and holder[0] != obj.dn and self._first_holder[attribute].get(key) != holder:
                    self._duplicates.append(self._plain("ER-SMTP-DUPLICATE", obj, kind, value, None, "duplicate",
                                                        attribute=attribute, other_dn=holder[0]))
        for value in obj.attributes.get("proxyaddresses", ()):
            if value[:5].lower() != "smtp:":
                continue
            address = value[5:].lower()
            for attribute in ("userPrincipalName", "mail"):
                holder = self._first_holder[attribute].get(address)
                if holder is not None and holder[0] != obj.dn and proxies.get("smtp:" + address) != holder:
                    self._duplicates.append(self._plain("ER-SMTP-DUPLICATE", obj, kind, value, None, "duplicate",
                                                        other_dn=holder[0]))
                    break

    # --- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _plain(rule: str, obj: AdObject, kind: ObjectKind, value: str, update: str | None, error: str, *,
               attribute: str | None = None, other_dn: str | None = None) -> DirectoryIssue:
        meta = RULES[rule]
        return DirectoryIssue(rule, attribute or meta.attribute, obj.dn, kind, _bounded(value),
                              None if update is None else _bounded(update), "EDIT", error, meta.source, other_dn)

    @staticmethod
    def _upn_proposal(obj: AdObject) -> str | None:
        sam = _first(obj, "samaccountname")
        domain = ".".join(part.split("=", 1)[1] for part in obj.dn.split(",")
                          if part.strip().upper().startswith("DC="))
        return f"{sam}@{domain.lower()}" if sam and domain else None


def _ascii_fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if ch.isascii())


def merged_rows(issues: list[DirectoryIssue]) -> list[DirectoryIssue]:
    """IdFix's one row per (DN, attribute, value): the errors of one chain joined, order kept."""
    rows: dict[tuple[str, str, str, str], DirectoryIssue] = {}
    for issue in issues:
        key = (issue.dn, issue.attribute, issue.value, issue.source)
        row = rows.get(key)
        if row is None:
            rows[key] = issue
            continue
        words = row.error.split(",")
        words += [w for w in issue.error.split(",") if w not in words]
        rows[key] = DirectoryIssue(row.rule, row.attribute, row.dn, row.kind, row.value, row.update, row.action,
                                   ",".join(words), row.source, row.other_dn or issue.other_dn)
    return list(rows.values())
