"""JSON Schema (what OpenAI callers send) -> the OpenAPI subset Gemini's `Schema` accepts.

Gemini rejects keywords outside its subset (additionalProperties, $ref, const, most formats),
so the schema is rewritten: `$ref`s are inlined from `$defs`/`definitions`, a nullable type
list becomes `nullable`, `const` becomes a one-value `enum`, `oneOf` becomes `anyOf`, and the
rest of what Gemini does not know is dropped. Reference: https://ai.google.dev/api/caching#Schema
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec

from .base import unsupported

KEEP = {
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "default",
    "minimum",
    "maximum",
}
FORMATS = {"enum", "date-time", "int32", "int64", "float", "double"}


def gemini_schema(schema: dict[str, Any], param: str, ordered: bool = False) -> dict[str, Any]:
    """`ordered` adds propertyOrdering, so structured output keeps the caller's key order.

    Callers resend the same tools on every turn, so conversions are cached by the schema's JSON;
    the result is shared and must not be modified.
    """
    return _cached(_ENCODER.encode(schema), param, ordered)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder()


@lru_cache(maxsize=512)
def _cached(schema_json: bytes, param: str, ordered: bool) -> dict[str, Any]:
    schema = _DECODER.decode(schema_json)
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return _convert(schema, defs, param, ordered, ())


def _convert(
    node: Any, defs: dict[str, Any], param: str, ordered: bool, seen: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in defs:
            why = "is recursive" if name in seen else "points outside the schema"
            raise unsupported(f"The schema reference '{ref}' {why}; gemini needs it inlined.", param)
        return _convert(defs[name], defs, param, ordered, (*seen, name))
    out = {k: v for k, v in node.items() if k in KEEP}
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        out["type"] = kinds[0] if kinds else "string"
        if len(kinds) < len(kind):
            out["nullable"] = True
    if "const" in node:
        out["enum"] = [node["const"]]
    if "enum" in out and not all(isinstance(v, str) for v in out["enum"]):
        del out["enum"]  # Gemini enums are strings only
    if out.get("format") not in FORMATS:
        out.pop("format", None)
    if isinstance(node.get("properties"), dict):
        props = node["properties"]
        out["properties"] = {k: _convert(v, defs, f"{param}.{k}", ordered, seen) for k, v in props.items()}
        if ordered and props:
            out["propertyOrdering"] = list(props)
        if node.get("required"):
            out["required"] = [k for k in node["required"] if k in props]
    if "items" in node:
        out["items"] = _convert(node["items"], defs, param, ordered, seen)
    choices = node.get("anyOf") or node.get("oneOf")
    if isinstance(choices, list):
        nonnull = [c for c in choices if not (isinstance(c, dict) and c.get("type") == "null")]
        if len(nonnull) < len(choices):
            out["nullable"] = True
        converted = [_convert(c, defs, param, ordered, seen) for c in nonnull]
        if len(converted) == 1:
            out.update(converted[0])
        elif converted:
            out["anyOf"] = converted
    return out
