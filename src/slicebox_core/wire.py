"""The one JSON converter: domain models <-> the spec's JSON (camelCase, DPV wrappers).

Server and client both use :data:`converter` (and the shortcuts :func:`unstructure` and
:func:`structure`), so the two sides cannot drift. Rules:

* a field's JSON name is ``metadata["wire"]`` or the camelCase of its Python name;
* ``metadata["dpv"]`` strings are wrapped as ``{"value": ...}`` (spec §2, DPV);
* :class:`TagPath` uses the spec's nested ``{"tag","name","item","previous"}`` shape, where a
  step may name only a keyword on input (spec §2.4);
* enums are their values; tuples are JSON arrays; ``None`` optional fields are left out.

Structuring errors are :class:`~slicebox_core.errors.InvalidInput` whose message lists each
failing path (``$.queryProperties[0].operator: ...``).
"""

from __future__ import annotations

import enum
import re
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import InvalidInput
from .models.dicom import TagPath, TagPathStep

T = TypeVar("T")


def camel(name: str) -> str:
    """``order_ascending`` -> ``orderAscending``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_name(field: attrs.Attribute) -> str:  # type: ignore[type-arg,unused-ignore]
    return str(field.metadata.get("wire") or camel(field.name))


def tag_keyword(tag: int) -> str:
    from pydicom.datadict import keyword_for_tag

    return keyword_for_tag(tag) or ""


def _tag_for_keyword(keyword: str) -> int | None:
    from pydicom.datadict import tag_for_keyword

    return tag_for_keyword(keyword)


def unstructure_tag_path(path: TagPath) -> dict[str, Any]:
    node: dict[str, Any] | None = None
    for step in path.steps:
        current: dict[str, Any] = {"tag": step.tag, "name": tag_keyword(step.tag)}
        if step.item is not None:
            current["item"] = str(step.item)
        if node is not None:
            current["previous"] = node
        node = current
    assert node is not None
    return node


def structure_tag_path(value: Any, _: Any = None) -> TagPath:
    steps: list[TagPathStep] = []
    node = value
    depth = 0
    while node is not None:
        depth += 1
        if depth > 64 or not isinstance(node, dict):
            raise ValueError("a tag path is a nested object {tag, name, item, previous}")
        tag = node.get("tag")
        name = node.get("name")
        if tag is None or (isinstance(tag, str) and not tag.strip()):
            if not isinstance(name, str) or not name:
                raise ValueError("a tag path step needs a tag or a name")
            tag = _tag_for_keyword(name)
            if tag is None:
                raise ValueError(f"unknown keyword {name!r}")
        if isinstance(tag, bool) or not isinstance(tag, int) or not 0 <= tag <= 0xFFFFFFFF:
            raise ValueError(f"tag must be an integer 0..4294967295, got {tag!r}")
        item_raw = node.get("item")
        item: int | None = None
        if item_raw is not None:
            try:
                item = int(item_raw)
            except (TypeError, ValueError):
                raise ValueError(f"item must be a positive integer, got {item_raw!r}") from None
            if item < 1:
                raise ValueError(f"item must be a positive integer, got {item_raw!r}")
        steps.append(TagPathStep(tag, item))
        node = node.get("previous")
    steps.reverse()
    if any(s.item is None for s in steps[:-1]):
        raise ValueError("every enclosing step of a tag path needs an item index")
    return TagPath(tuple(steps))


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(omit_if_default=False, forbid_extra_keys=False)

    conv.register_unstructure_hook(TagPath, unstructure_tag_path)
    conv.register_structure_hook(TagPath, structure_tag_path)

    def unstructure_factory(cls: type) -> Any:
        fields = attrs.fields(cls)
        base: Any = make_dict_unstructure_fn(
            cls,
            conv,
            **{f.name: override(rename=wire_name(f)) for f in fields},  # type: ignore[arg-type,unused-ignore]
        )
        dpv_names = [wire_name(f) for f in fields if f.metadata.get("dpv")]
        optional = [wire_name(f) for f in fields if f.default is None]

        def unstructure(obj: Any) -> dict[str, Any]:
            out = base(obj)
            for key in dpv_names:
                out[key] = {"value": out[key]}
            for key in optional:
                if out.get(key) is None:
                    out.pop(key, None)
            return out

        return unstructure

    def structure_factory(cls: type) -> Any:
        fields = attrs.fields(cls)
        base: Any = make_dict_structure_fn(
            cls,
            conv,
            _cattrs_forbid_extra_keys=False,
            **{f.name: override(rename=wire_name(f)) for f in fields},  # type: ignore[arg-type,unused-ignore]
        )
        dpv_names = [wire_name(f) for f in fields if f.metadata.get("dpv")]

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise ValueError(f"expected a JSON object for {cls.__name__}")
            if dpv_names:
                value = dict(value)
                for key in dpv_names:
                    item = value.get(key)
                    if isinstance(item, dict):
                        value[key] = item.get("value", "")
            return base(value, cls)

        return structure

    conv.register_unstructure_hook_factory(
        lambda t: attrs.has(t) and t is not TagPath, unstructure_factory
    )
    conv.register_structure_hook_factory(
        lambda t: attrs.has(t) and t is not TagPath, structure_factory
    )

    def structure_str(value: Any, _: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        if "\x00" in value:
            raise ValueError("strings must not contain NUL characters")
        return value

    def structure_int(value: Any, _: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {type(value).__name__}")
        return value

    def structure_bool(value: Any, _: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {type(value).__name__}")
        return value

    # spec §2.1: bodies are decoded strictly ("5" is not an integer)
    conv.register_structure_hook(str, structure_str)
    conv.register_structure_hook(int, structure_int)
    conv.register_structure_hook(bool, structure_bool)

    def structure_enum(value: Any, cls: type[enum.Enum]) -> Any:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in cls)
            raise ValueError(f"{value!r} is not one of {allowed}") from None

    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda t: structure_enum
    )
    # a StrEnum is also a str: registered by class so it wins over the str hook (MRO order)
    conv.register_structure_hook(enum.StrEnum, structure_enum)
    return conv


converter = _make_converter()


def unstructure(obj: Any) -> Any:
    """Model(s) -> JSON-ready Python values."""
    return converter.unstructure(obj)


_PATH = re.compile(r"@ (\$\S*)$")


def _wire_path(line: str) -> str:
    """cattrs names Python attributes in its paths; show the JSON names instead."""
    match = _PATH.search(line)
    if match is None:
        return line
    path = re.sub(r"\.([a-z0-9_]+)", lambda m: "." + camel(m.group(1)), match.group(1))
    return line[: match.start(1)] + path


def structure(data: Any, cls: type[T] | Any) -> T:
    """JSON-ready values -> model(s).

    Raises:
        InvalidInput: the data does not have the shape of ``cls``; the message lists paths.
    """
    try:
        return converter.structure(data, cls)  # type: ignore[no-any-return,unused-ignore]
    except cattrs.BaseValidationError as exc:
        lines = [_wire_path(line) for line in cattrs.transform_error(exc, path="$")]
        raise InvalidInput("; ".join(lines)) from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"$: {exc}") from exc
