"""The secrets this run knows, and the one function that keeps them out of everything it writes.

Whatever holds a credential registers it here the moment it reads it (client secret, bearer
tokens as they are acquired, the token from EMS_READINESS_TOKEN, proxy and LDAP passwords).
Every sink (result files, the terminal, logs) passes text through `scrub`, which also removes
the base64 and URL-encoded forms a server might echo back.
"""

from __future__ import annotations

import base64
import threading
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words


class SecretRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()

    def add(self, secret: str | bytes | None) -> None:
        if not secret:
            return
        text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else str(secret)
        if len(text) < MIN_SECRET_LENGTH:
            return
        raw = text.encode("utf-8", "surrogatepass")
        forms = {text, quote(text, safe=""), quote_plus(text), base64.b64encode(raw).decode(),
                 base64.urlsafe_b64encode(raw).decode().rstrip("="), base64.b64encode(raw).decode().rstrip("=")}
        with self._lock:
            self._forms |= {f for f in forms if len(f) >= MIN_SECRET_LENGTH}

    def scrub(self, text: str) -> str:
        if not self._forms or not text:
            return text
        with self._lock:
            forms = sorted(self._forms, key=len, reverse=True)
        for form in forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def clear(self) -> None:
        with self._lock:
            self._forms.clear()


SECRETS = SecretRegistry()


def scrub(text: str) -> str:
    return SECRETS.scrub(text)
