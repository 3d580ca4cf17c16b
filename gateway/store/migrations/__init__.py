"""Forward-only schema migrations: one SQL file per step, `<dialect>/NNNN_what_it_does.sql`.

The file's number is the schema version it brings a store to (SQLite keeps it as `user_version`,
PostgreSQL in `schema_migrations`). Steps are applied in order, each once; ship a new file for a
change and never edit a shipped one, since stores made by an older aigw have already run it.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """The steps for `dialect` ('sqlite' or 'postgresql'), numbered 1, 2, … without a gap."""
    steps = []
    for entry in resources.files(__package__).joinpath(dialect).iterdir():
        found = _NAME.fullmatch(entry.name)
        if found:
            steps.append(Migration(int(found[1]), found[2], entry.read_text(encoding="utf-8")))
        elif entry.name.endswith(".sql"):
            raise RuntimeError(f"migration {dialect}/{entry.name}: name it NNNN_what_it_does.sql")
    steps.sort(key=lambda m: m.version)
    numbers = [m.version for m in steps]
    if numbers != list(range(1, len(steps) + 1)):
        raise RuntimeError(f"{dialect} migrations must be numbered 1..n without a gap or a repeat: {numbers}")
    return steps


def statements(script: str) -> list[str]:
    """The statements of a SQL script, one by one (sqlite3's executescript() would commit the
    transaction the runner holds)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip() and not all(s.lstrip().startswith("--") for s in pending.strip().splitlines()):
        raise ValueError(f"unterminated SQL statement: {pending.strip()[:80]!r}")
    return out
