"""`${VAR}` and `${VAR:-default}` in any config string, taken from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(
    value: Any,
    path: str,
    problems: list[str],
    env: Mapping[str, str] = os.environ,
    unknown: list[str] | None = None,
) -> Any:
    """Return `value` with every reference replaced; unset variables without a default are
    problems — or, when `unknown` is given, their paths go there (a caller that never reads the
    value need not know it)."""
    if isinstance(value, str):

        def replace(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            if unknown is not None:
                unknown.append(path)
            else:
                problems.append(f"{path}: environment variable {name} is not set")
            return ""

        return _REF.sub(replace, value)
    if isinstance(value, dict):
        return {
            k: expand(v, f"{path}.{k}" if path else str(k), problems, env, unknown) for k, v in value.items()
        }
    if isinstance(value, list):
        return [expand(v, f"{path}[{i}]", problems, env, unknown) for i, v in enumerate(value)]
    return value
