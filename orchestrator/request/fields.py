"""The building blocks of the request's schema: the strict base of every section, and the field types
with their own check (domain names, e-mail addresses, paths, service names)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

EXCERPT = 40  # characters of a bad value quoted back: enough to recognise it, never a pasted file

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Section(BaseModel):
    """Every section: unknown keys refused, no silent conversion ('8' is not 8, 'yes' is not true)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_default(cls, data: Any) -> Any:
        """A key written with no value (`cert_min_days:`) keeps its default, or is missing if required."""
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


def excerpt(value: Any) -> str:
    """repr() of a value, cut to a few dozen characters."""
    text = repr(value)
    return text if len(text) <= EXCERPT else f"{text[:EXCERPT]}... ({len(text)} characters)"


def valid_domain(name: Any) -> bool:
    """A fully qualified DNS name of at least two labels (RFC 1123), with no trailing dot."""
    if not isinstance(name, str) or len(name) > 253 or "." not in name:
        return False
    labels = name.lower().split(".")
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _domain(value: str) -> str:
    if not valid_domain(value):
        raise PydanticCustomError("domain", "{value} is not a valid domain name", {"value": excerpt(value)})
    return value.lower()


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise PydanticCustomError("email", "expected an email address, got {value}", {"value": excerpt(value)})
    return value


def _path(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("path", "expected the path of a PEM file, got {value}", {"value": excerpt(value)})
    return value


Domain = Annotated[str, Field(max_length=253), AfterValidator(_domain)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
FilePath = Annotated[str, Field(max_length=4096, pattern=r"^[^\x00-\x1f]*$"), AfterValidator(_path)]
# Service names as the roles declare them (`agent.service.name`): checked against the declarations in parse.py.
ServiceName = Annotated[str, Field(max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]
