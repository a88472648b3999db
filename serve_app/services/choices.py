"""A form field that names one member of a closed set, as the API answers it."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from fluently.errors import UnprocessableEntity

E = TypeVar("E", bound=StrEnum)


def choice(value: str | None, enum: type[E], name: str) -> E:
    """``enum``'s member named by ``value``; its first member when the field is absent or empty,
    and 422 ``invalid_<name>`` listing the allowed values for anything else."""
    if value is None or value == "":
        return next(iter(enum))
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise UnprocessableEntity(
            f"{name} must be one of: {allowed}", code=f"invalid_{name}"
        ) from None
