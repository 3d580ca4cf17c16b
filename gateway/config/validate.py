"""Check raw config data against the schema and report *every* problem with its path.

msgspec stops at the first error; an operator fixing a config wants them all at once. So this
walks the schema's annotations — each Struct field by field, each list and map item by item — and
lets msgspec check each leaf value, with its constraints, on its own. A section whose fields all
pass is then converted whole, which runs its own rules (`__post_init__`).
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec


def schema_problems(data: Any, typ: Any, path: str = "") -> list[str]:
    out: list[str] = []
    _check(data, typ, path, out)
    return out


def _check(data: Any, typ: Any, path: str, out: list[str]) -> None:
    base, metas = _split(typ)
    if _is_struct(base):
        _check_struct(data, base, path, out)
        return
    origin, args = get_origin(base), get_args(base)
    if origin in (Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        if data is None and len(present) < len(args):
            return
        if len(present) == 1:
            _check(data, present[0], path, out)
            return
        if all(_is_struct(arg) for arg in present):
            _check_tagged(data, present, path, out)
            return
    elif origin is list:
        if not isinstance(data, list):
            out.append(f"{_where(path)}: expected a list, got {_kind(data)}")
            return
        if metas:  # the list's own bounds (min_length)
            _check_leaf(data, Annotated[(list[Any], *metas)], path, out)
        for i, item in enumerate(data):
            _check(item, args[0], f"{path}[{i}]", out)
        return
    elif origin is dict:
        if not isinstance(data, dict):
            out.append(f"{_where(path)}: expected a mapping, got {_kind(data)}")
            return
        for key, value in data.items():
            _check_leaf(key, args[0], _join(path, key), out)
            _check(value, args[1], _join(path, key), out)
        return
    _check_leaf(data, typ, path, out)


def _check_struct(data: Any, cls: type[msgspec.Struct], path: str, out: list[str]) -> None:
    if not isinstance(data, dict):
        out.append(f"{_where(path)}: expected a mapping, got {_kind(data)}")
        return
    found = len(out)
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    tag_field = cls.__struct_config__.tag_field
    for key in data:
        if key not in fields and key != tag_field:
            out.append(f"{_join(path, key)}: unknown field (allowed: {', '.join(sorted(fields))})")
    _check_fields(data, fields.values(), path, out)
    if len(out) == found:
        _check_leaf(data, cls, path, out)


def _check_fields(data: dict[Any, Any], fields: Any, path: str, out: list[str]) -> None:
    for field in fields:
        if field.encode_name in data:
            _check(data[field.encode_name], field.type, _join(path, field.encode_name), out)
        elif field.required:
            out.append(f"{_join(path, field.encode_name)}: required field is missing")


def _check_tagged(data: Any, variants: list[Any], path: str, out: list[str]) -> None:
    """A tagged union: the tag field picks the variant to check against."""
    if not isinstance(data, dict):
        out.append(f"{_where(path)}: expected a mapping, got {_kind(data)}")
        return
    tag_field = variants[0].__struct_config__.tag_field
    by_tag = {variant.__struct_config__.tag: variant for variant in variants}
    tag = data.get(tag_field)
    if isinstance(tag, str) and tag in by_tag:
        _check_struct(data, by_tag[tag], path, out)
        return
    if tag_field not in data:
        out.append(f"{_join(path, tag_field)}: required field is missing")
    else:
        out.append(f"{_join(path, tag_field)}: {tag!r} is not one of {', '.join(by_tag)}")
    # Still check the fields every variant has alike, so one mistake does not hide the others.
    fields = [msgspec.structs.fields(variant) for variant in variants]
    shared = [field for field in fields[0] if all(field in others for others in fields[1:])]
    _check_fields(data, shared, path, out)


def _check_leaf(data: Any, typ: Any, path: str, out: list[str]) -> None:
    try:
        msgspec.convert(data, typ)
    except msgspec.ValidationError as exc:
        message, _, at = str(exc).partition(" - at `$")
        title = _title(typ)
        if title and message.startswith("Expected `str` matching regex"):
            message = f"must be {title}"  # the rule in words, not the regex
        out.append(f"{_where((path + at.rstrip('`')).lstrip('.'))}: {message}")


def _split(typ: Any) -> tuple[Any, tuple[Any, ...]]:
    """Annotated[T, *metas] -> (T, metas); nested Annotated types are flattened by typing."""
    if get_origin(typ) is Annotated:
        base, *metas = get_args(typ)
        return base, tuple(metas)
    return typ, ()


def _title(typ: Any) -> str | None:
    titles = [meta.title for meta in _split(typ)[1] if isinstance(meta, msgspec.Meta) and meta.title]
    return titles[-1] if titles else None


def _is_struct(typ: Any) -> bool:
    return isinstance(typ, type) and issubclass(typ, msgspec.Struct)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _where(path: str) -> str:
    return path or "(top level)"


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )
