"""One instance of each distinct sentence among many findings.

A merge of 200 sites holds the same endpoint's finding 200 times, and most of its sentences
(message, expectation, often the observation too) are equal from one site to the next: the
sentences were most of a merge's memory. A sentence is never changed after it is made, so equal
sentences can be one object.
"""

from __future__ import annotations

from typing import Hashable

from ems_readiness.engine.model import Text, TextList, TextParam


class SharedTexts:
    """Used as findings are validated (`load_results(texts=…)`, the SHARED_TEXTS validation context),
    so a document never holds its unshared sentences all at once."""

    def __init__(self) -> None:
        self._texts: dict[Hashable, Text] = {}

    def shared(self, texts: dict[str, Text]) -> dict[str, Text]:
        """`texts` with each sentence replaced by an equal one already seen."""
        pool = self._texts
        return {name: pool.setdefault(text_key(text), text) for name, text in texts.items()}


def text_key(value: TextParam) -> Hashable:
    """A sentence as a hashable value: equal keys, equal sentences."""
    if type(value) is str:
        return value
    if isinstance(value, Text):
        return ("text", value.id, *[(name, param if type(param) is str else text_key(param))
                                    for name, param in value.params.items()])
    if isinstance(value, TextList):
        return ("list", value.join, *[text_key(item) for item in value.items])
    return str(value)
