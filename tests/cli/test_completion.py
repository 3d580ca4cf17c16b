"""`aigw completion bash`, sourced into a real bash: the completion function offers the commands,
subcommands, options and option choices the parser has, wherever the words typed so far lead."""

from __future__ import annotations

import subprocess

import pytest

from gateway.cli.main import parser

from .conftest import aigw
from .test_coverage import leaves


@pytest.fixture(scope="module")
def completion(tmp_path_factory) -> str:
    out = aigw("completion", "bash")
    assert out.returncode == 0, out.stderr
    path = tmp_path_factory.mktemp("completion") / "aigw.bash"
    path.write_text(out.stdout)
    return str(path)


def complete(script: str, line: str) -> list[str]:
    """What bash offers after `line` (the word being typed is its last, empty after a space)."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    program = (
        f'source "$0"; COMP_WORDS=("$@"); COMP_CWORD={len(words) - 1}; _aigw; '
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", program, script, *words], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_every_command_is_offered_along_its_path(completion: str):
    for spelling, _ in leaves(parser()):
        *before, last = spelling.split()[1:]
        assert last in complete(completion, " ".join(["aigw", *before, last[:2]])), spelling


def test_options_and_their_choices(completion: str):
    assert complete(completion, "aigw keys l") == ["list"]
    assert "--output" in complete(completion, "aigw upstream-keys list --")
    assert complete(completion, "aigw keys list -o ") == ["table", "json", "yaml"]
    # Option values typed before do not lose the command's place.
    assert complete(completion, "aigw keys list --app demo --output j") == ["json"]
    assert complete(completion, "aigw budgets list --scope ") == ["tenant", "app", "key"]
    assert complete(completion, "aigw logs -o ") == ["table", "json", "csv"]
    assert complete(completion, "aigw nonsense ") == []
