"""The README's command table and the documented environment variables, held to the code: every
command listed answers `--help`, every command the CLI has is listed, and every AIGW_* variable
the code reads is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.cli.main import main, parser
from tests.cli.test_coverage import leaves

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def table_commands() -> set[tuple[str, ...]]:
    """`aigw members set/list/remove` → ("members", "set"), ("members", "list"), …"""
    table = README.split("| command | what it does |", 1)[1].split("\n\n", 1)[0]
    out: set[tuple[str, ...]] = set()
    for row in table.splitlines()[2:]:
        first_cell = row.split(" | ")[0]
        for spelled in re.findall(r"`aigw ([^`]*)`", first_cell):
            words = spelled.split()
            group = words[0]
            actions = words[1] if len(words) > 1 and re.fullmatch(r"[a-z][a-z/-]*", words[1]) else ""
            out |= {(group, a) if a else (group,) for a in actions.split("/")} if actions else {(group,)}
    return out


LISTED = sorted(table_commands())


@pytest.mark.parametrize("command", LISTED, ids=" ".join)
def test_each_command_in_the_readme_answers_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_the_readme_lists_every_command():
    commands = {tuple(spelling.split()[1:]) for spelling, _ in leaves(parser())}
    assert sorted(commands - set(LISTED)) == []


def test_every_environment_variable_the_code_reads_is_documented():
    sources = [
        *ROOT.joinpath("gateway").rglob("*.py"),
        *ROOT.joinpath("bench").rglob("*.py"),
        ROOT / "setup.py",
    ]
    read = {name for f in sources for name in re.findall(r"[\"'](AIGW_[A-Z_]+)[\"']", f.read_text())}
    documented = set(re.findall(r"`(AIGW_[A-Z_]+)", (ROOT / "docs" / "configuration.md").read_text()))
    assert {"AIGW_ADMIN_URL", "AIGW_HOME", "AIGW_SECRET_KEY"} <= read
    assert sorted(read - documented) == []
