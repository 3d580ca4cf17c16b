"""Load a YAML config: environment expansion, then the schema and the references checked together
(every problem reported at once), then the typed result."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import yaml

from .envsubst import expand
from .references import reference_problems
from .schema import Config, ServerConfig
from .validate import schema_problems

QUICKSTART = "quickstart.yaml"


class ConfigError(Exception):
    """A config that cannot be served; `problems` lists each one with its path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"{source}: {problems[0]}")
        else:
            listed = "\n".join(f"  {p}" for p in problems)
            super().__init__(f"{source}: {len(problems)} problem(s)\n{listed}")


def quickstart_text() -> str:
    return resources.files("gateway.config").joinpath(QUICKSTART).read_text()


def load_config(path: str | os.PathLike[str] | None = None, unread: tuple[str, ...] = ()) -> Config:
    """Load `path`, or the bundled quickstart config when None. A relative `store.path` (and a
    provider's certificate files) are made absolute against the config file's directory, so every
    command finds the same store from any working directory. `unread`: see parse_config."""
    text, source = read_source(path)
    return load_text(text, source, unread, shown=None if path is None else str(path))


def read_source(path: str | os.PathLike[str] | None) -> tuple[str, str]:
    """A config file's text and its absolute path ("" and the quickstart's text for None)."""
    if path is None:
        return quickstart_text(), ""
    p = Path(path)
    try:
        return p.read_text(), str(p.absolute())
    except OSError as exc:
        raise ConfigError(
            str(p),
            [
                f"cannot read the config file: {exc.strerror} (working directory {Path.cwd()}); pass its "
                "path to --config, or leave --config out to serve the bundled quickstart"
            ],
        ) from None


def load_text(text: str, source: str, unread: tuple[str, ...] = (), shown: str | None = None) -> Config:
    """A config's text, as load_config reads it from `source` (its absolute path; "" for the
    bundled quickstart). `shown`: how problems name the file (default: `source`)."""
    if not source:
        return parse_config(text, f"(bundled {QUICKSTART})", unread=unread)
    return parse_config(text, shown or source, unread=unread, base=Path(source).parent)


def parse_config(
    text: str,
    source: str = "(config)",
    env: Mapping[str, str] = os.environ,
    unread: tuple[str, ...] = (),
    base: Path | None = None,
) -> Config:
    """`env` gives the values of `${NAME}` references. `unread`: top-level sections the caller
    never reads (the CLI's store and admin commands never read provider secrets): they are
    checked, but an unset variable in them is no problem, and they are left out of the result.
    `base`: the directory relative paths in the config (`store.path`, providers' certificate
    files) are relative to; the files a provider names are then checked too."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if raw is None:
        raw = {}
    problems: list[str] = []
    unknown: list[str] = []
    if isinstance(raw, dict):
        raw = {k: expand(v, k, problems, env, unknown if k in unread else None) for k, v in raw.items()}
    unset = {problem.partition(": ")[0] for problem in problems} | set(unknown)  # each said once
    problems += [p for p in schema_problems(raw, Config) if not _about(p, unset)]
    problems += [p for p in reference_problems(raw) if not _about(p, unset)]
    if problems:
        raise ConfigError(source, problems)
    try:
        cfg = _without(raw, unread) if unread else msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:  # a rule the walk missed: still no traceback
        message, _, where = str(exc).partition(" - at `$.")
        raise ConfigError(source, [f"{where.rstrip('`') or '(top level)'}: {message}"]) from None
    if base is not None:
        problems = _anchor_files(cfg, base)
        if problems:
            raise ConfigError(source, problems)
    return cfg


def _anchor_files(cfg: Config, base: Path) -> list[str]:
    """Make the config's relative paths relative to `base`, and check the files providers name
    can be used (a CA bundle that does not parse, a key that does not match its certificate)."""
    if cfg.store.path:
        cfg.store.path = str(base / cfg.store.path)
    problems = []
    for i, p in enumerate(cfg.providers):
        for name in ("ca_bundle", "client_cert", "client_key"):
            if getattr(p, name):
                setattr(p, name, str(base / getattr(p, name)))
        try:
            p.egress().tls()
        except ValueError as exc:  # the message names the file
            problems.append(f"providers[{i}]: {exc}")
    return problems


def load_server(path: str | os.PathLike[str] | None) -> ServerConfig:
    """Only the `server` section of a config file: where its node listens. What the CLI needs to
    reach a running node, whatever the rest of the file says (the node checks that itself: a
    file `aigw reload` is about to be refused for must not stop the CLI from asking)."""
    text, _ = read_source(path)
    shown = f"(bundled {QUICKSTART})" if path is None else str(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(shown, [f"not valid YAML: {exc}"]) from None
    problems: list[str] = []
    section = expand(raw.get("server", {}) if isinstance(raw, dict) else {}, "server", problems)
    problems += schema_problems(section, ServerConfig, "server")
    if problems:
        raise ConfigError(shown, problems)
    return msgspec.convert(section, ServerConfig)


def _about(problem: str, paths: set[str]) -> bool:
    """Whether `problem` is about a value at (or in) one of `paths`."""
    where = problem.partition(": ")[0]
    return any(where == p or where.startswith((f"{p}.", f"{p}[")) for p in paths)


def _without(raw: dict[str, Any], unread: tuple[str, ...]) -> Config:
    """The typed config of every section but `unread`, which are left empty: constructing a
    Struct does not validate, so an empty section the schema requires is fine here."""
    fields: dict[str, Any] = {}
    for f in msgspec.structs.fields(Config):
        if f.encode_name in unread and f.required:
            fields[f.name] = []  # `providers`, the one required section
        elif f.encode_name in raw and f.encode_name not in unread:
            fields[f.name] = msgspec.convert(raw[f.encode_name], f.type)
    return Config(**fields)
