"""deploy/docker/Dockerfile read as data (dockerfile-parse), so the tests replay the final stage's
own user, environment, entrypoint, command and health check rather than copies of them."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser

from .install import ROOT

DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, instruction: str) -> list[str]:
        return [value for name, value in self.instructions if name == instruction]

    def last(self, instruction: str) -> str:
        found = self.values(instruction)
        assert found, f"the stage has no {instruction}"
        return found[-1]

    def exec_form(self, instruction: str) -> list[str]:
        """ENTRYPOINT or CMD, which must be in exec (JSON) form so signals reach the process."""
        argv = json.loads(self.last(instruction))
        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
        return argv

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        options, _, command = self.last("HEALTHCHECK").partition("CMD")
        flags = dict(opt.lstrip("-").split("=", 1) for opt in shlex.split(options))
        return flags, json.loads(command)

    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for value in self.values("ENV"):
            env.update(pair.split("=", 1) for pair in shlex.split(value))
        return env


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    parser = DockerfileParser(path=str(path), env_replace=False)
    found: list[Stage] = []
    args: dict[str, str] = {}  # ARGs before the first FROM, which FROM lines may name
    for item in parser.structure:
        instruction, value = item["instruction"], item["value"]
        if instruction == "ARG" and not found:
            name, _, default = value.partition("=")
            args[name] = default
        elif instruction == "FROM":
            base, _, name = value.partition(" AS ")
            for arg, default in args.items():
                base = base.replace(f"${{{arg}}}", default)
            found.append(Stage(base.strip(), name.strip() or None))
        elif instruction != "COMMENT" and found:
            found[-1].instructions.append((instruction, value))
    return found
