"""`aigw completion bash`: a bash completion script written from the command line's own parser, so
it knows every command, option and choice this aigw has (zsh loads it through bashcompinit)."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator
from typing import Any


def add_completion_parser(sub: Any, root: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "completion",
        help='print a shell completion script: eval "$(aigw completion bash)"',
        description='bash: add `eval "$(aigw completion bash)"` to ~/.bashrc. zsh: `autoload -U '
        "bashcompinit && bashcompinit` first, then the same.",
    )
    p.add_argument("shell", choices=("bash",))
    p.set_defaults(run=lambda args, ctx: _print(root), covers=())


def _print(root: argparse.ArgumentParser) -> int:
    print(script(root), end="")
    return 0


def script(root: argparse.ArgumentParser) -> str:
    """A bash function that completes a command's words: the subcommands and options at the
    command path typed so far (its words that are not options), and an option's choices."""
    words: list[str] = []
    choices: list[str] = []
    # Longest paths first: once a path is a whole command, what follows is its arguments.
    for path, parser in sorted(_commands(root), key=lambda c: -len(c[0])):
        offered = _subcommands(parser) + [s for a in parser._actions for s in a.option_strings]
        pattern = shlex.quote(" ".join(path)) + (
            "|" + shlex.quote(" ".join(path) + " ") + "*" if path else ""
        )
        words.append(f"    {pattern}) words={shlex.quote(' '.join(offered))} ;;")
        for action in parser._actions:
            if action.option_strings and action.choices:
                here = " ".join(path)
                options = "|".join(
                    f"{shlex.quote(here + '/' + s)}|{shlex.quote(here + ' ')}*{shlex.quote('/' + s)}"
                    for s in action.option_strings
                )
                choices.append(f"    {options}) words={shlex.quote(' '.join(map(str, action.choices)))} ;;")
    return "\n".join(
        [
            "# bash completion for aigw (aigw completion bash)",
            "_aigw() {",
            '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" path="" w words=""',
            '  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do',
            '    case "$w" in -*) ;; *) path="${path:+$path }$w" ;; esac',
            "  done",
            '  case "$path/$prev" in',
            *choices,
            "    *)",
            '      case "$path" in',
            *("  " + line for line in words),
            "      esac ;;",
            "  esac",
            '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            "}",
            "complete -o default -F _aigw aigw",
            "",
        ]
    )


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    return [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    ]
