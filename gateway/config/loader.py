"""Load a YAML config: environment expansion, then the schema and the references checked together
(every problem reported at once), then the typed result."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import msgspec
import yaml

from .envsubst import expand
from .references import reference_problems
from .schema import Config
from .validate import schema_problems

QUICKSTART = "quickstart.yaml"


class ConfigError(Exception):
    """A config that cannot be served; `problems` lists each one with its path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


def quickstart_text() -> str:
    return resources.files("gateway.config").joinpath(QUICKSTART).read_text()


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load `path`, or the bundled quickstart config when None."""
    if path is None:
        return parse_config(quickstart_text(), source=f"(bundled {QUICKSTART})")
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(str(p), [f"cannot read file: {exc.strerror}"]) from None
    return parse_config(text, source=str(p))


def parse_config(text: str, source: str = "(config)", env: Mapping[str, str] = os.environ) -> Config:
    """`env` gives the values of `${NAME}` references."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if raw is None:
        raw = {}
    problems: list[str] = []
    raw = expand(raw, "", problems, env)
    unset = {problem.partition(": ")[0] for problem in problems}  # reported once, as unset
    problems += [p for p in schema_problems(raw, Config) if p.partition(": ")[0] not in unset]
    problems += reference_problems(raw)
    if problems:
        raise ConfigError(source, problems)
    try:
        return msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:  # a rule the walk missed: still no traceback
        message, _, where = str(exc).partition(" - at `$.")
        raise ConfigError(source, [f"{where.rstrip('`') or '(top level)'}: {message}"]) from None
