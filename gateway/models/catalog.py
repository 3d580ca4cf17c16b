"""The model capability table aigw ships (capabilities.json): for each model it knows, the most
output tokens it writes, whether it takes tools, images and sampling parameters.

The table is generated from a published catalogue by `aigw models sync --from FILE`
(gateway/models/sync.py; the catalogue, its licence and what is taken from it are in
docs/providers.md). A model the table does not know is given whatever the caller sends.
"""

from __future__ import annotations

import functools
from pathlib import Path

import msgspec

from .names import NameIndex

TABLE = Path(__file__).with_name("capabilities.json")


class ModelCapabilities(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    provider: str  # whose API serves it: openai, anthropic or gemini
    max_output_tokens: int | None = None
    tools: bool = True
    vision: bool = False
    # False: the model takes no sampling parameter (temperature, top_p, top_k, penalties).
    sampling: bool = True


class Catalogue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    licence: str
    copyright: str  # the catalogue's, as its licence asks to keep with what is taken from it
    url: str
    version: str  # what was read: the catalogue's own version, or its file name
    synced: str  # the UTC date of the sync


class Table(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    catalogue: Catalogue
    models: dict[str, ModelCapabilities]


class Capabilities:
    """Lookups in a table: a dated snapshot finds its model's entry (gpt-4o-2024-08-06: gpt-4o)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._names = NameIndex(table.models)

    def of(self, model: str) -> ModelCapabilities | None:
        name = self._names.find(model)
        return None if name is None else self.table.models[name]


def read(path: Path) -> Table:
    return msgspec.json.decode(path.read_bytes(), type=Table)


@functools.cache
def shipped() -> Capabilities:
    """The table aigw ships, read once per process."""
    return Capabilities(read(TABLE))
