"""The values of a results document that are not sentences: times, numbers and free-form JSON.

Most of a document is text in typed fields, which its JSON text already tells everything about.
What the text cannot tell (an infinite number, a time's offset, how deep free-form data nests,
a value that is not JSON at all) lives only in the fields found here, so a check of a document
of 70,000 findings visits those fields and not the rest.
"""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any, Callable

from pydantic import AwareDatetime, BaseModel, NaiveDatetime

from ems_readiness.engine.inputs import MAX_DEPTH

_LOOK_AT: dict[type[BaseModel], tuple[str, ...]] = {}
_TIMES_AND_NUMBERS = (datetime, float, AwareDatetime, NaiveDatetime)


def loose_values_pass(value: Any, leaf_passes: Callable[[Any], bool], depth: int = 0) -> bool:
    """Whether every time, number and free-form value in `value` (a model, at any depth) passes
    `leaf_passes`, with free-form data nested at most MAX_DEPTH deep and keyed by strings."""
    if isinstance(value, BaseModel):
        return all(loose_values_pass(getattr(value, name), leaf_passes) for name in fields_to_look_at(type(value)))
    if isinstance(value, dict):
        return depth < MAX_DEPTH and all(isinstance(k, str) and loose_values_pass(v, leaf_passes, depth + 1)
                                         for k, v in value.items())
    if isinstance(value, list):
        return depth < MAX_DEPTH and all(loose_values_pass(v, leaf_passes, depth + 1) for v in value)
    return leaf_passes(value)


def fields_to_look_at(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `model` that can hold, at any depth, a time, a float or free-form values."""
    known = _LOOK_AT.get(model)
    if known is None:
        _LOOK_AT[model] = ()  # a model that holds itself (Text) is looked at through its other fields
        known = _LOOK_AT[model] = tuple(name for name, info in model.model_fields.items() if _may_hold(info.annotation))
    return known


def _may_hold(annotation: Any) -> bool:
    if annotation is Any or annotation in _TIMES_AND_NUMBERS:
        return True
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return bool(fields_to_look_at(annotation))
        return issubclass(annotation, (datetime, float))
    return any(_may_hold(arg) for arg in typing.get_args(annotation))
