"""Model names as tables key them: a dated snapshot or a versioned name finds its model's entry."""

from __future__ import annotations

from collections.abc import Iterable

# Characters that may follow a table entry in a longer model name: dated snapshots
# ("gpt-4o-2024-08-06", "claude-sonnet-4-5-20250929"), Vertex/Bedrock versions ("…@20250929").
SEPARATORS = "-@:"


class NameIndex:
    """The table entry for a model name: the name itself, else the longest entry the name starts
    with, followed by a separator. Lookups are cached (bounded: callers choose model names)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = frozenset(names)
        self._by_length = sorted(self._names, key=len, reverse=True)  # "gpt-4o-mini" before "gpt-4o"
        self._found: dict[str, str | None] = {}

    def find(self, model: str) -> str | None:
        try:
            return self._found[model]
        except KeyError:
            pass
        found = model if model in self._names else None
        if found is None:
            for name in self._by_length:
                if model.startswith(name) and model[len(name) : len(name) + 1] in tuple(SEPARATORS):
                    found = name
                    break
        if len(self._found) < 4096:
            self._found[model] = found
        return found
