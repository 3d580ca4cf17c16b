"""Reading a secret the operator gives the CLI: at a hidden prompt in a terminal, else the first
line of stdin, or from a file or an environment variable — never from the command line, where
`ps` and shell history would show it, and never echoed."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path


class NoSecret(Exception):
    """No secret was given, or it was empty; the message says how to give one."""


def secret_options(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group()
    source.add_argument("--from-env", metavar="VAR", help="read the secret from this environment variable")
    source.add_argument("--from-file", metavar="PATH", help="read the secret from the first line of a file")


def read_secret(args: argparse.Namespace, what: str) -> str:
    """The secret from --from-env, --from-file, a hidden prompt (a terminal) or stdin."""
    if args.from_env:
        value = os.environ.get(args.from_env)
        if value is None:
            raise NoSecret(f"environment variable {args.from_env} is not set")
        where = f"environment variable {args.from_env}"
    elif args.from_file:
        try:
            value = Path(args.from_file).read_text().partition("\n")[0]
        except OSError as exc:
            raise NoSecret(f"cannot read {args.from_file}: {exc.strerror}") from None
        where = args.from_file
    elif sys.stdin.isatty():
        value = getpass.getpass(f"{what} (not echoed): ")
        where = "the prompt"
    else:
        value = sys.stdin.readline()
        where = "stdin"
    value = value.strip()
    if not value:
        raise NoSecret(
            f"the {what} from {where} is empty: type it at the prompt, pipe it on stdin, "
            "or use --from-file PATH or --from-env VAR"
        )
    return value
