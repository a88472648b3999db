"""Unknown query parameters are refused (422), as unknown body fields are: a misspelt option
(``?formt=md``) must not silently give the default answer.

The OpenAI-compatible routes (``/v1``) are exempt: OpenAI's clients add query options of their
own (Azure's ``api-version``), and those routes promise to answer such clients unchanged."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.params import Param, ParamTypes
from fastapi.routing import APIRoute

from fluently.errors import UnprocessableEntity

_LENIENT_PREFIX = "/v1/"


_ATTRIBUTE = "_fluently_query_names"
"""Where a route keeps its computed names (routes are not hashable, so no cache dict)."""


def _declared(route: APIRoute) -> frozenset[str]:
    """The query parameter names a route and its dependencies declare (by alias)."""
    names: frozenset[str] | None = getattr(route, _ATTRIBUTE, None)
    if names is None:
        names = frozenset(
            field.alias
            for field in get_flat_params(route.dependant)
            if isinstance(field.field_info, Param) and field.field_info.in_ is ParamTypes.query
        )
        setattr(route, _ATTRIBUTE, names)
    return names


async def refuse_unknown_query(request: Request) -> None:
    """An app-wide dependency: 422 ``unknown_query_parameter`` naming what was not expected."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.path.startswith(_LENIENT_PREFIX):
        return
    unknown = sorted(set(request.query_params) - _declared(route))
    if unknown:
        expected = ", ".join(sorted(_declared(route))) or "none"
        raise UnprocessableEntity(
            f"unknown query parameter(s): {', '.join(repr(u) for u in unknown)}; "
            f"this route takes: {expected}",
            code="unknown_query_parameter",
        )
