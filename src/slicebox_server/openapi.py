"""OpenAPI 3.1 from declarations kept next to each responder.

Each resource class carries ``docs = {"GET": Operation(...), ...}`` beside its ``roles``;
:func:`build_document` walks the route table and turns both into one document. JSON schemas
of bodies are derived from the core's attrs models with the same naming rules as
:mod:`slicebox_core.wire` (camelCase or the ``wire`` name, DPV wrappers, optional ``None``
fields left out), so the document cannot drift from what the converter emits.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Union

import attrs

from slicebox_core import wire
from slicebox_core.models import Role, TagPath

from .auth import Public

JSON = "application/json"
OCTETS = "application/octet-stream"


@attrs.frozen
class Param:
    """A query parameter."""

    name: str
    type: type = str
    required: bool = False
    description: str = ""
    default: Any = None


@attrs.frozen
class Binary:
    """A non-JSON body (``application/octet-stream`` unless said otherwise)."""

    media_type: str = OCTETS
    description: str = ""


@attrs.frozen
class Text:
    """A ``text/plain`` body, e.g. an error message."""

    description: str


@attrs.frozen
class Empty:
    """A response without a body."""

    description: str


@attrs.frozen
class Upload:
    """A DICOM (or other) file: raw bytes, or the ``file`` part of a multipart form."""

    description: str = "DICOM file, raw or as the multipart part 'file'"


@attrs.frozen
class Operation:
    """What a responder does, for the document.

    Attributes:
        summary: one line.
        responses: status -> a model type (``Patient``, ``list[Patient]``), :class:`Binary`,
            :class:`Text` or :class:`Empty`.
        params: query parameters.
        body: request body: a model type, :class:`Binary` or :class:`Upload`.
        description: longer notes, including where the original behaved differently.
    """

    summary: str
    responses: Mapping[int, Any]
    params: tuple[Param, ...] = ()
    body: Any = None
    description: str = ""


# common parameter sets (spec §3.4) --------------------------------------------------------
PAGING = (
    Param("startindex", int, description="first row (>= 0)", default=0),
    Param("count", int, description="page size (>= 0, capped by the server)", default=20),
)
ORDERING = (
    Param("orderby", str, description="a column of the listed table, e.g. patientName"),
    Param("orderascending", bool, description="sort order", default=True),
    Param("filter", str, description="case-insensitive substring over the text columns"),
)
FILTERS = (
    Param("sources", str, description="comma-separated type:id pairs, e.g. box:23,user:2"),
    Param("seriestypes", str, description="comma-separated series type ids, e.g. 2,5,11"),
    Param("seriestags", str, description="comma-separated series tag ids"),
)

BAD_REQUEST = Text("invalid input; the message says what and where")
NOT_FOUND = Text("not found")
EMPTY_NOT_FOUND = Empty("not found (empty body)")


# schemas --------------------------------------------------------------------------------------
_SCALARS: dict[Any, dict[str, Any]] = {
    int: {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    float: {"type": "number"},
}


def _tag_path_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Attribute address (spec §2.4): innermost step outermost.",
        "properties": {
            "tag": {"type": "integer", "minimum": 0, "maximum": 4294967295},
            "name": {"type": "string", "description": "keyword; '' if unknown"},
            "item": {"type": "string", "description": "1-based item index of a sequence step"},
            "previous": {"$ref": "#/components/schemas/TagPath"},
        },
    }


class SchemaRegistry:
    """Collects component schemas while converting types to JSON schema."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {
            "DPV": {
                "type": "object",
                "description": "A DICOM-derived value (spec §2, DPV).",
                "properties": {"value": {"type": "string"}},
                "required": ["value"],
            },
            "TagPath": _tag_path_schema(),
        }

    def schema(self, tp: Any) -> dict[str, Any]:
        """JSON schema of a Python type (model classes become ``$ref`` components)."""
        if tp in _SCALARS:
            return dict(_SCALARS[tp])
        if tp is TagPath:
            return {"$ref": "#/components/schemas/TagPath"}
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (list, tuple) or tp in (list, tuple):
            item = args[0] if args else Any
            return {"type": "array", "items": self.schema(item)}
        if origin in (Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            if len(options) == 1:
                return self.schema(options[0])
            return {"anyOf": [self.schema(a) for a in options]}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": [str(m.value) for m in tp]}
        if attrs.has(tp):
            name = tp.__name__
            if name not in self.components:
                self.components[name] = {}  # placeholder stops recursion
                self.components[name] = self._model(tp)
            return {"$ref": f"#/components/schemas/{name}"}
        return {}

    def _model(self, cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            key = wire.wire_name(field)
            if field.metadata.get("dpv"):
                properties[key] = {"$ref": "#/components/schemas/DPV"}
            else:
                properties[key] = self.schema(hints[field.name])
            if field.default is not None:
                required.append(key)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        if cls.__doc__:
            schema["description"] = " ".join(cls.__doc__.split())
        return schema


# document -------------------------------------------------------------------------------
_CONVERTER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def openapi_path(template: str) -> str:
    """``/api/images/{id:id}`` -> ``/api/images/{id}``."""
    return _CONVERTER.sub(r"{\1}", template)


def path_params(template: str) -> list[dict[str, Any]]:
    """Path parameters of a falcon template (``:id`` and ``:int`` fields are integers)."""
    params = []
    for match in re.finditer(r"\{(\w+)(?::(\w+)[^}]*)?\}", template):
        name, converter = match.group(1), match.group(2)
        schema = _SCALARS[int] if converter in ("id", "int") else _SCALARS[str]
        params.append({"name": name, "in": "path", "required": True, "schema": dict(schema)})
    return params


def _content(registry: SchemaRegistry, value: Any) -> dict[str, Any]:
    if isinstance(value, Binary):
        return {
            value.media_type: {"schema": {"type": "string", "contentMediaType": value.media_type}}
        }
    if isinstance(value, Text):
        return {"text/plain": {"schema": {"type": "string"}}}
    if isinstance(value, Upload):
        binary = {"type": "string", "contentMediaType": OCTETS}
        return {
            OCTETS: {"schema": binary},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": binary},
                    "required": ["file"],
                }
            },
        }
    return {JSON: {"schema": registry.schema(value)}}


def _response(registry: SchemaRegistry, value: Any) -> dict[str, Any]:
    if isinstance(value, Empty):
        return {"description": value.description}
    description = getattr(value, "description", "") or "OK"
    return {"description": description, "content": _content(registry, value)}


def _operation(
    registry: SchemaRegistry,
    template: str,
    method: str,
    op: Operation,
    access: Role | Public | None,
    tag: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{method.lower()}_{_operation_id(openapi_path(template))}",
        "tags": [tag],
    }
    if op.description:
        out["description"] = op.description
    params = path_params(template)
    for p in op.params:
        schema = registry.schema(p.type)
        if p.default is not None:
            schema["default"] = p.default
        entry: dict[str, Any] = {"name": p.name, "in": "query", "required": p.required}
        entry["schema"] = schema
        if p.description:
            entry["description"] = p.description
        params.append(entry)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": _content(registry, op.body)}
    responses = {str(status): _response(registry, value) for status, value in op.responses.items()}
    if isinstance(access, Role):
        out["security"] = [{"basic": []}, {"session": []}]
        out["x-slicebox-role"] = access.value
        responses.setdefault("401", _response(registry, Text("authentication missing or invalid")))
        responses.setdefault("403", _response(registry, Text("role too low")))
        responses.setdefault(
            "429",
            _response(
                registry,
                Text("too many failed password checks for the user or client; see Retry-After"),
            ),
        )
    else:
        out["security"] = []
    if op.body is not None:
        responses.setdefault("400", _response(registry, BAD_REQUEST))
        responses.setdefault("413", _response(registry, Text("body too large")))
    if op.params:  # every parameter is validated: bad values answer 400
        responses.setdefault("400", _response(registry, BAD_REQUEST))
    if "{" in template:
        # the router matches only 64-bit integer ids: any other path segment is no resource
        responses.setdefault("404", _response(registry, Text("not found")))
    if any(p.required for p in op.params):
        # spec §2.3: a missing required query parameter answers 404
        responses.setdefault(
            "404", _response(registry, Text("not found, or a required query parameter is missing"))
        )
    if op.params:
        # gunicorn refuses request lines over 4094 bytes itself, before slicebox sees them
        responses.setdefault(
            "414", {"description": "request line too long (refused by the HTTP server)"}
        )
    out["responses"] = dict(sorted(responses.items()))
    return out


def _operation_id(path: str) -> str:
    words = re.sub(r"[{}]", "", path.removeprefix("/api/")).replace("/", "_")
    return re.sub(r"\W", "_", words)


def build_document(routes: Iterable[tuple[str, type]], *, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a route table.

    Args:
        routes: ``(falcon template, resource class)`` pairs.
        version: the API (package) version.
    """
    registry = SchemaRegistry()
    paths: dict[str, dict[str, Any]] = {}
    for template, cls in routes:
        docs: Mapping[str, Operation] = getattr(cls, "docs", {})
        roles: Mapping[str, Role | Public] = getattr(cls, "roles", {})
        tag = cls.__module__.rsplit(".", 1)[-1]
        item = paths.setdefault(openapi_path(template), {})
        for method, op in docs.items():
            item[method.lower()] = _operation(
                registry, template, method, op, roles.get(method), tag
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "slicebox",
            "version": version,
            "description": (
                "Store, index, browse and share DICOM. Errors are text/plain messages. "
                "Authenticate with HTTP Basic or the slicebox-session cookie from "
                "POST /api/users/login."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(registry.components.items())),
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "session": {"type": "apiKey", "in": "cookie", "name": "slicebox-session"},
            },
        },
    }
