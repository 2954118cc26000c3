"""The secrets this run knows, and the one function that keeps them out of everything it writes.

Whatever holds a credential registers it here the moment it reads it (client secret, bearer
tokens as they are acquired, the token from EMS_READINESS_TOKEN, proxy and LDAP passwords).
Every sink (result files, the terminal, logs) passes text through `scrub`, which also removes
the forms a server might echo back: URL-encoded, JSON- and HTML-escaped, and base64 at each of
the three byte alignments (a secret inside a longer base64 blob, such as a Basic credential).
Credentials the tool never registered are removed by their shape: a bearer token, a JWT, the
value of an Authorization header.

A scrub runs on every output, so it is a handful of substring searches (C speed) when nothing
is there to remove; a regular expression runs only where its keyword occurs.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import threading
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words
MIN_BASE64_FRAGMENT = 8  # a shifted base64 form this short would match unrelated base64

# Credentials by their shape, whoever they belong to: (what the lower-cased text must contain
# for the pattern to be worth running, the pattern). A kept prefix is the pattern's group 1.
_UNREGISTERED = [
    # the value of an Authorization / Proxy-Authorization header, in a header dump or a JSON echo
    ("authorization", re.compile(
        r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:basic|bearer|negotiate|ntlm|digest|pop)\s+[^\s\"',;]+")),
    # "Bearer <token>" anywhere; a real token is long, a sentence about bearer tokens is not
    ("bearer", re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]{16,}=*")),
    # a JWT (header.payload.signature; the header always starts {" = eyJ)
    ("eyj", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
]


def encoded_forms(text: str) -> set[str]:
    """`text` and the forms in which a server or a serialiser may show it."""
    raw = text.encode("utf-8", "surrogatepass")
    forms = {
        text,
        quote(text, safe=""),
        quote(text),
        quote_plus(text),
        html.escape(text),
        html.escape(text, quote=False),
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    }
    for shift in range(3):
        forms |= _base64_forms(raw, shift)
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def _base64_forms(raw: bytes, shift: int) -> set[str]:
    """The base64 characters that depend only on `raw` when it starts `shift` bytes into a blob."""
    padded = bytes(shift) + raw
    standard = base64.b64encode(padded).decode().rstrip("=")
    urlsafe = base64.urlsafe_b64encode(padded).decode().rstrip("=")
    lead = {0: 0, 1: 2, 2: 3}[shift]  # characters that also carry bits of the bytes before
    tail = 1 if len(padded) % 3 else 0  # the last character also carries bits of what follows
    forms = set()
    for encoded in (standard, urlsafe):
        fragment = encoded[lead:len(encoded) - tail]
        if shift == 0:
            forms.add(encoded)
            forms.add(base64.b64encode(raw).decode() if encoded is standard else
                      base64.urlsafe_b64encode(raw).decode())
        if len(fragment) >= MIN_BASE64_FRAGMENT:
            forms.add(fragment)
    return forms


class SecretRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._ordered: tuple[str, ...] = ()

    def add(self, secret: str | bytes | None) -> None:
        if not secret:
            return
        text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else str(secret)
        if len(text) < MIN_SECRET_LENGTH:
            return
        forms = encoded_forms(text)
        with self._lock:
            if forms <= self._forms:
                return
            self._forms |= forms
            # longest first: a form inside a longer one must not leave the longer one's rest
            self._ordered = tuple(sorted(self._forms, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        if not text:
            return text
        for form in self._ordered:
            if form in text:
                text = text.replace(form, REDACTED)
        present = _keywords_in(text)
        for keyword, pattern in _UNREGISTERED:
            if keyword in present:
                text = pattern.sub(_keep_prefix, text)
        return text

    def clear(self) -> None:
        with self._lock:
            self._forms.clear()
            self._ordered = ()


_CHUNK = 1 << 22  # characters lower-cased at a time: a results.json can be a hundred megabytes
_KEYWORDS = [(keyword, keyword.encode()) for keyword, _ in _UNREGISTERED]
_OVERLAP = max(len(keyword) for keyword, _ in _UNREGISTERED) - 1


def _keywords_in(text: str) -> list[str]:
    """The keywords of _UNREGISTERED that `text` holds, in any case. Searched in UTF-8 with the ASCII
    letters lower-cased, a slice at a time: several times faster than str.lower, with a bounded
    copy, and the same answer (the keywords are ASCII, and no other character lower-cases to one
    of their letters)."""
    if len(text) <= _CHUNK:
        lowered = text.encode("utf-8", "surrogatepass").lower()
        return [keyword for keyword, encoded in _KEYWORDS if encoded in lowered]
    found: set[str] = set()
    for start in range(0, len(text), _CHUNK):
        lowered = text[start:start + _CHUNK + _OVERLAP].encode("utf-8", "surrogatepass").lower()
        found.update(keyword for keyword, encoded in _KEYWORDS if encoded in lowered)
    return list(found)


def _keep_prefix(match: re.Match[str]) -> str:
    return (match.group(1) or "") + REDACTED if match.re.groups else REDACTED


SECRETS = SecretRegistry()


def scrub(text: str) -> str:
    return SECRETS.scrub(text)


# Environment variables that hold a credential (the proxy ones hold it inside a URL).
SECRET_VARIABLES = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD",
                    "EMS_READINESS_TOKEN", "EMS_READINESS_LDAP_PASSWORD")
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def register_environment(environ: dict[str, str] | None = None) -> None:
    """Register the credentials the environment hands this process, before anything can echo them."""
    environ = os.environ if environ is None else environ
    for name in SECRET_VARIABLES:
        SECRETS.add(environ.get(name))
    for name in PROXY_VARIABLES:
        if environ.get(name):
            register_proxy_url(environ[name])


def register_proxy_url(proxy_url: str) -> None:
    """The credentials of a proxy URL: the password, user:password (what Basic auth encodes), the
    user-info as written. The credentials end at the last '@', as `parse_proxy_url` reads them."""
    rest = proxy_url.split("://", 1)[-1]
    userinfo, at, _ = rest.rpartition("@")
    if not at or not userinfo:
        return
    from urllib.parse import unquote

    user, _, password = userinfo.partition(":")
    SECRETS.add(userinfo)
    SECRETS.add(unquote(password))
    SECRETS.add(password)
    SECRETS.add(f"{unquote(user)}:{unquote(password)}")
