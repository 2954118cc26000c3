"""Escaping untrusted text for a Markdown table cell (GitHub renders inline HTML, so tags are neutralised)."""

from __future__ import annotations

import html


def cell(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False)
    for char in "\\|`*_[]#":
        text = text.replace(char, "\\" + char)
    return text
