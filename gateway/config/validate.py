"""Walk raw config data against the schema and report *every* problem with its path.

msgspec stops at the first error; an operator fixing a config wants them all at once, so this
walks the Struct types with `msgspec.inspect` and converts each leaf separately.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import inspect as mi


def problems_for(data: Any, typ: Any, path: str = "") -> list[str]:
    out: list[str] = []
    _walk(data, mi.type_info(typ), path, out)
    return out


def _walk(data: Any, info: mi.Type, path: str, out: list[str]) -> None:
    where = path or "(top level)"
    if isinstance(info, mi.StructType):
        if not isinstance(data, dict):
            out.append(f"{where}: expected a mapping, got {_kind(data)}")
            return
        known = {f.encode_name: f for f in info.fields}
        for key in data:
            if key not in known:
                out.append(f"{_join(path, key)}: unknown field (allowed: {', '.join(sorted(known))})")
        for name, field in known.items():
            if name in data:
                _walk(data[name], field.type, _join(path, name), out)
            elif field.required:
                out.append(f"{_join(path, name)}: required field is missing")
        return
    if isinstance(info, mi.ListType):
        if not isinstance(data, list):
            out.append(f"{where}: expected a list, got {_kind(data)}")
            return
        for i, item in enumerate(data):
            _walk(item, info.item_type, f"{path}[{i}]", out)
        return
    if isinstance(info, mi.UnionType):
        # "X | None" where X is a struct or a list: walk X, so problems inside it get their paths.
        others = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(others) == 1 and isinstance(others[0], (mi.StructType, mi.ListType)):
            if data is not None:
                _walk(data, others[0], path, out)
            return
    try:
        msgspec.convert(data, _python_type(info), strict=True)
    except msgspec.ValidationError as exc:
        out.append(f"{where}: {str(exc).split(' - at ')[0]}")


def _python_type(info: mi.Type) -> Any:
    # Leaves are simple types; rebuild the annotation msgspec.convert needs.
    if isinstance(info, mi.StrType):
        return str
    if isinstance(info, mi.IntType):
        return int
    if isinstance(info, mi.FloatType):
        return float
    if isinstance(info, mi.BoolType):
        return bool
    if isinstance(info, mi.LiteralType):
        from typing import Literal

        return Literal[tuple(info.values)]
    if isinstance(info, mi.DictType):
        return dict[_python_type(info.key_type), _python_type(info.value_type)]  # type: ignore[misc]
    if isinstance(info, mi.UnionType):
        from typing import Union

        return Union[tuple(_python_type(t) for t in info.types)]  # noqa: UP007
    if isinstance(info, mi.NoneType):
        return type(None)
    return Any


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )
