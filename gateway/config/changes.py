"""What a reload would change: the difference between two configs, path by path, each change
marked when the node must restart for it (a field whose Meta carries `extra=RESTART`: listeners,
worker count, shared memory, the store, the call log's writer, metrics, tracing).

Named lists are compared item by item, by name (providers, model groups, tenants, apps) or id
(a provider's keys), so a group added between two others is one change, not a shifted list. A
secret (a provider key's value, headers, the store's URL) is never shown, only that it changed;
a URL's password is masked.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec

from .schema import Config

Kind = Literal["added", "removed", "changed"]


class ConfigChange(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One difference between the running config and the file."""

    path: str  # `model_groups[chat].fallbacks`, `providers[openai].keys[k2]`
    change: Kind
    before: Any = None  # not for an added item, a section or a secret
    after: Any = None
    restart: bool = False  # takes effect only when the node restarts


class Reloaded(msgspec.Struct, kw_only=True):
    """What a reload did (or, for a dry run, would do)."""

    applied: bool  # the file's config is what the node serves now (false for a dry run)
    config: int  # the number of the config served after this (1 at start, one more per reload)
    changes: list[ConfigChange]  # from the running config to the file's; empty: nothing to do
    # The store generation that carries the new config, and whether every worker served it when
    # this answer was sent (false: a worker had not switched within the bound; it does at its
    # next reload, and GET /ready's loaded_generation reaching `generation` says so).
    generation: int | None = None
    workers_switched: bool | None = None


class ReloadRefused(Exception):
    """The file's config cannot be served by a reload; the running one keeps serving."""

    def __init__(self, problems: list[str], changes: list[ConfigChange]):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.changes = changes


_PASSWORD = re.compile(r"(://[^/:@\s]+:)[^/@\s]*@")


def config_changes(old: Config, new: Config) -> list[ConfigChange]:
    out: list[ConfigChange] = []
    _struct(old, new, "", False, out)
    return out


def _struct(a: msgspec.Struct, b: msgspec.Struct, path: str, restart: bool, out: list[ConfigChange]) -> None:
    if type(a) is not type(b):  # a provider of another type
        out.append(ConfigChange(path=path, change="changed", restart=restart))
        return
    for field in msgspec.structs.fields(a):
        flags = _flags(field.type)
        _value(
            getattr(a, field.name),
            getattr(b, field.name),
            _join(path, field.encode_name),
            restart or "restart" in flags,
            "secret" in flags,
            out,
        )


def _value(a: Any, b: Any, path: str, restart: bool, secret: bool, out: list[ConfigChange]) -> None:
    if a == b:
        return
    if isinstance(a, msgspec.Struct) and isinstance(b, msgspec.Struct):
        _struct(a, b, path, restart, out)
        return
    key = _list_key(a) or _list_key(b)
    if isinstance(a, list) and isinstance(b, list) and key is not None:
        _named(a, b, key, path, restart, out)
        return
    if secret or isinstance(a, msgspec.Struct) or isinstance(b, msgspec.Struct):
        out.append(ConfigChange(path=path, change="changed", restart=restart))
        return
    out.append(ConfigChange(path=path, change="changed", before=_shown(a), after=_shown(b), restart=restart))


def _named(a: list[Any], b: list[Any], key: str, path: str, restart: bool, out: list[ConfigChange]) -> None:
    before = {getattr(item, key): item for item in a}
    after = {getattr(item, key): item for item in b}
    for name, item in before.items():
        where = f"{path}[{name}]"
        if name not in after:
            out.append(ConfigChange(path=where, change="removed", restart=restart))
        elif item != after[name]:
            _struct(item, after[name], where, restart, out)
    for name in after.keys() - before.keys():
        out.append(ConfigChange(path=f"{path}[{name}]", change="added", restart=restart))
    # The same items in another order: the order is meaningful (a provider's keys, fallbacks).
    common = [name for name in before if name in after]
    if common != [name for name in after if name in before]:
        out.append(ConfigChange(path=path, change="changed", before=list(before), after=list(after)))


def _list_key(items: Any) -> str | None:
    """`name` or `id`: how the items of a list of Structs are told apart (None: not such a list)."""
    if not isinstance(items, list) or not items or not isinstance(items[0], msgspec.Struct):
        return None
    fields = items[0].__struct_fields__
    return "name" if "name" in fields else "id" if "id" in fields else None


def _flags(typ: Any) -> set[str]:
    """The markers in a field's Meta(extra=…)."""
    if get_origin(typ) is not Annotated:
        return set()
    found: set[str] = set()
    for meta in get_args(typ)[1:]:
        if isinstance(meta, msgspec.Meta) and meta.extra:
            found |= {name for name, on in meta.extra.items() if on}
    return found


def _shown(value: Any) -> Any:
    """A value as a change shows it: plain data, a URL's password masked."""
    plain = msgspec.to_builtins(value)
    if isinstance(plain, str):
        return _PASSWORD.sub(r"\1***@", plain)
    if isinstance(plain, list):
        return [_PASSWORD.sub(r"\1***@", v) if isinstance(v, str) else v for v in plain]
    return plain


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
