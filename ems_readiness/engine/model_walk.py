"""The values of a results document that are not plain sentences: times, numbers, free-form JSON,
and sentences that nest (a message whose parameter is a message).

Most of a document is text in typed fields, which its JSON text already tells everything about.
What the text cannot tell (an infinite number, a time's offset, how deep the document nests, a
value that is not JSON at all) lives only in the fields found here, so a check of a document of
70,000 findings visits those fields and not the rest. Depth is counted as in the document's JSON
(the document itself is level 1, as `inputs.check_plain` counts it): the typed fields not visited
nest a few levels at most.
"""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any, Callable

from pydantic import AwareDatetime, BaseModel, NaiveDatetime

from ems_readiness.engine.inputs import MAX_DEPTH

_LOOK_AT: dict[tuple[type[BaseModel], bool], tuple[str, ...]] = {}
_BEING_LOOKED_AT: set[tuple[type[BaseModel], bool]] = set()
_SELF_HOLDING: set[type[BaseModel]] = set()  # models that can hold themselves, so nest without bound
_TIMES_AND_NUMBERS = (datetime, float, AwareDatetime, NaiveDatetime)


def loose_values_pass(value: BaseModel, leaf_passes: Callable[[Any], bool], bound_depth: bool = True) -> bool:
    """Whether every time, number and free-form value in the model `value` passes `leaf_passes`,
    free-form data keyed by strings; with `bound_depth`, also that nothing nests deeper than
    MAX_DEPTH (which means visiting the sentences that nest, too)."""
    return _passes(value, leaf_passes, bound_depth, 1, {})


def _passes(value: Any, leaf_passes: Callable[[Any], bool], bound_depth: bool, depth: int,
            judged: dict[tuple[int, int], bool]) -> bool:
    if isinstance(value, BaseModel):
        if bound_depth and depth > MAX_DEPTH:
            return False
        shared = type(value) in _SELF_HOLDING  # sentences a document shares: each judged once per depth
        key = (id(value), depth)
        if shared and key in judged:
            return judged[key]
        passes = all(_passes(getattr(value, name), leaf_passes, bound_depth, depth + 1, judged)
                     for name in fields_to_look_at(type(value), bound_depth))
        if shared:
            judged[key] = passes
        return passes
    if isinstance(value, (dict, list)) and bound_depth and depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _passes(v, leaf_passes, bound_depth, depth + 1, judged)
                   for k, v in value.items())
    if isinstance(value, list):
        return all(_passes(v, leaf_passes, bound_depth, depth + 1, judged) for v in value)
    return leaf_passes(value)


def fields_to_look_at(model: type[BaseModel], nesting: bool = True) -> tuple[str, ...]:
    """The fields of `model` that can hold, at any depth, a time, a float or free-form values; with
    `nesting`, also those that can hold a model that holds itself."""
    known = _LOOK_AT.get((model, nesting))
    if known is None:
        _BEING_LOOKED_AT.add((model, nesting))
        try:
            known = tuple(name for name, info in model.model_fields.items() if _may_hold(info.annotation, nesting))
        finally:
            _BEING_LOOKED_AT.discard((model, nesting))
        _LOOK_AT[(model, nesting)] = known
    return known


def _may_hold(annotation: Any, nesting: bool) -> bool:
    if annotation is Any or annotation in _TIMES_AND_NUMBERS:
        return True
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            if (annotation, nesting) in _BEING_LOOKED_AT:  # it holds itself, through this field
                _SELF_HOLDING.add(annotation)
                return nesting
            return bool(fields_to_look_at(annotation, nesting))
        return issubclass(annotation, (datetime, float))
    return any(_may_hold(arg, nesting) for arg in typing.get_args(annotation))
