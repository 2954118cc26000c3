"""Small helpers the tenant checks share (not a check module: it declares no checks).

Absent is not negative: a check reads every tenant field it judges through `require` (or
`require_time`), which tells "Graph said no" from "Graph didn't say". A field not sent, null where
the documented shape has a value, a wrong type or an enum value this tool does not know raises
`Unreadable`; the check turns it into an `error` finding for that one resource, so the other
resources keep their verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from ems_readiness.engine.model import ActionRef, Text, TextList
from ems_readiness.engine.texts import joined, msg
from ems_readiness.probes.base import ProbeError
from ems_readiness.probes.graph import ORGANIZATION_FIELDS as ORG_FIELDS

TYPE_NAMES = {str: "text", int: "number", bool: "boolean", list: "list", dict: "object",
              type(None): "null", float: "number"}


class Unreadable(ProbeError):
    """Graph did not say what a check needs; the message names the field, the read and the object.
    (A ProbeError, so one that escapes a check makes it `error` with just this message.)
    `text` is the message as a translatable Text."""

    def __init__(self, text: Text | str) -> None:
        super().__init__(text)
        self.text = text  # type: ignore[assignment]  # kept when a str as well


def error_text(exc: BaseException) -> Text | str:
    """An exception's message as a text: translatable when it carries one."""
    text = getattr(exc, "text", None)
    return text if isinstance(text, (Text, str)) and text else str(exc)


def graph_unreadable(read: str) -> ActionRef:
    """The one action behind every finding Graph's answer to `read` left unassessable."""
    return ActionRef(key="graph.unreadable", params={"read": read})


def graph_error_action(exc: BaseException, read: str) -> ActionRef:
    """The action behind a failed Graph read: the missing permission, else the read that failed."""
    permission = getattr(exc, "permission", None)
    if permission:
        return ActionRef(key="graph.grant-permission", params={"permission": permission})
    return ActionRef(key="graph.read-failed", params={"read": read})


def _where(read: str, field: str, of: str | None) -> Text:
    return msg("graph.where.of", place=f"{read}.{field}", of=of) if of else msg("graph.where", place=f"{read}.{field}")


def _type_name(kind: Any) -> TextList:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return joined((msg(f"graph.type.{TYPE_NAMES[k]}") if k in TYPE_NAMES else k.__name__ for k in kinds), "or")


def _is(value: Any, kind: Any) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool):  # JSON true is not a number
        return bool in kinds
    return isinstance(value, kinds)


def shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def require(obj: Any, field: str, kind: Any, *, read: str, of: str | None = None, nullable: bool = False,
            known: Iterable[str] | None = None) -> Any:
    """`obj[field]` when Graph sent it with the documented type, else `Unreadable`.

    `nullable=True` for fields whose null has a documented meaning (returned as None). `known` lists
    the documented values of an enum (matched case-insensitively; the documented spelling is returned).
    """
    if not isinstance(obj, dict):
        where = msg("graph.where.of", place=read, of=of) if of else msg("graph.where", place=read)
        raise Unreadable(msg("graph.not-object", where=where, type=_type_name(type(obj))))
    if field not in obj:
        raise Unreadable(msg("graph.not-sent", where=_where(read, field, of)))
    value = obj[field]
    if value is None:
        if nullable:
            return None
        raise Unreadable(msg("graph.null", where=_where(read, field, of)))
    if not _is(value, kind):
        raise Unreadable(msg("graph.wrong-type", where=_where(read, field, of), type=_type_name(type(value)),
                             value=shown(value), expected=_type_name(kind)))
    if known is not None:
        canonical = {k.lower(): k for k in known}
        if value.lower() not in canonical:
            raise Unreadable(msg("graph.unknown-value", where=_where(read, field, of), value=shown(value),
                                 documented=", ".join(canonical.values())))
        return canonical[value.lower()]
    return value


def require_list(obj: Any, field: str, item_kind: Any, *, read: str, of: str | None = None,
                 nullable: bool = False) -> list[Any] | None:
    """A list field whose every item has `item_kind`."""
    items = require(obj, field, list, read=read, of=of, nullable=nullable)
    for index, item in enumerate(items or []):
        if not _is(item, item_kind):
            raise Unreadable(msg("graph.wrong-type", where=_where(read, f"{field}[{index}]", of),
                                 type=_type_name(type(item)), value=shown(item), expected=_type_name(item_kind)))
    return items


def require_time(obj: Any, field: str, *, read: str, of: str | None = None, nullable: bool = False) -> datetime | None:
    value = require(obj, field, str, read=read, of=of, nullable=nullable)
    if value is None:
        return None
    moment = parse_time(value)
    if moment is None:
        raise Unreadable(msg("graph.not-time", where=_where(read, field, of), value=shown(value)))
    return moment


def label(obj: Any, *fields: str) -> str:
    """What to call an object in a finding: its first non-empty text field of `fields`, else '?'."""
    if isinstance(obj, dict):
        for field in fields:
            value = obj.get(field)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return "?"


async def organization(ctx: Any) -> tuple[dict[str, Any], Any]:
    orgs, evidence = await ctx.graph.get("organization", select=ORG_FIELDS)
    if not orgs:
        raise RuntimeError("Graph returned no organization object")
    if not isinstance(orgs[0], dict):
        raise Unreadable(msg("graph.not-object", where=msg("graph.where", place="organization[0]"),
                             type=_type_name(type(orgs[0]))))
    return orgs[0], evidence


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def age_text(moment: datetime, now: datetime | None = None) -> Text:
    seconds = int(((now or datetime.now(timezone.utc)) - moment).total_seconds())
    if seconds < 0:
        return msg("age.future")
    minutes = seconds // 60
    if minutes < 120:
        return msg("age.minutes", n=minutes)
    hours = minutes // 60
    if hours < 48:
        return msg("age.hours", n=hours)
    return msg("age.days", n=hours // 24)


def minutes_since(moment: datetime) -> float:
    return (datetime.now(timezone.utc) - moment).total_seconds() / 60
