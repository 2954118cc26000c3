"""The sentences checks write, as message ids with parameters, and their texts in every language.

A check writes `ctx.failed(resource, msg("dns.cname.nxdomain", owner=owner, purpose=msg(...)))`.
The finding keeps the English (rendered here, byte for byte what the report shows in English) and
the `Text` itself, so a report in another language renders the same sentence from
`data/messages.<lang>.toml`. Parameters that are plain strings are data values (host names,
records, counts) and are inserted untouched; parameters that are `Text`/`TextList` are translated.
"""

from __future__ import annotations

import string
from functools import cache
from typing import Iterable

from ems_readiness.engine.catalogues import LANGS, data_toml
from ems_readiness.engine.model import Text, TextList, TextParam

# the remediation a finding gets when it gives none: the check's own fix (translated in
# data/check_texts.zh-CN.toml), rendered by the reports, not from the message catalogue
CHECK_FIX = "check.fix"
# a TextList given as a finding's sentence: its items, joined
JOINED = "text.joined"


class UnknownMessage(KeyError):
    """A message id with no text in a language."""


@cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}")
    return data_toml(f"messages.{lang}.toml")


def msg(id: str, /, **params: object) -> Text:
    """The message `id` with its parameters; numbers and other values become their str()."""
    return Text(id=id, params={name: _param(value) for name, value in params.items()})


def msg_n(id: str, n: int, /, **params: object) -> Text:
    """The singular (`id.one`) or plural (`id.other`) message, with `{n}` filled."""
    return msg(f"{id}.one" if n == 1 else f"{id}.other", n=n, **params)


def joined(items: Iterable[object], join: str = "semicolon") -> TextList:
    """Items (texts or values) joined by the separator `list.<join>` of the language."""
    return TextList(join=f"list.{join}", items=[_param(item) for item in items])


def sentences(items: Iterable[object]) -> Text:
    """Sentences one after the other (a space apart in English, none in Chinese)."""
    return msg("text.sentences", sentences=joined(items, "sentence"))


def catalogued(english: str, prefix: str) -> Text | str:
    """A catalogue's English sentence (an endpoint's notes, say) as the message under `prefix` whose
    English is exactly it, so it translates; a sentence not in the messages stays as it is."""
    id = _by_english(prefix).get(english)
    return msg(id) if id else english


@cache
def _by_english(prefix: str) -> dict[str, str]:
    return {text: id for id, text in catalogue("en").items() if id.startswith(prefix)}


def distinct(items: Iterable[Text | str]) -> list[Text | str]:
    """`items` without repeats (as their English reads), in order."""
    seen: dict[str, Text | str] = {}
    for item in items:
        seen.setdefault(render(item), item)
    return list(seen.values())


def _param(value: object) -> TextParam:
    if isinstance(value, (Text, TextList)):
        return value
    if isinstance(value, (list, tuple)):
        return joined(value)
    return str(value)


def render(text: Text | TextList | str, lang: str = "en") -> str:
    """`text` in `lang`; UnknownMessage when the language has no text for one of its ids."""
    if isinstance(text, str):
        return text
    if isinstance(text, TextList):
        return _template(text.join, lang).join(render(item, lang) for item in text.items)
    values = {name: render(value, lang) for name, value in text.params.items()}
    return _template(text.id, lang).format_map(values)


def _template(id: str, lang: str) -> str:
    try:
        return catalogue(lang)[id]
    except KeyError:
        raise UnknownMessage(f"no message {id!r} in {lang!r}") from None


def placeholders(template: str) -> set[str]:
    """The `{name}` parameters a template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def map_params(text: Text | TextList | str, fn) -> Text | TextList | str:
    """`text` with `fn` applied to every data value (str parameter), at any depth."""
    if isinstance(text, str):
        return fn(text)
    if isinstance(text, TextList):
        return TextList(join=text.join, items=[map_params(item, fn) for item in text.items])
    return Text(id=text.id, params={k: map_params(v, fn) for k, v in text.params.items()})
