"""The CLI covers the admin API: every operation in the running node's OpenAPI document has a
command, and no command claims an operation the API does not have."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import httpx

from gateway.cli.main import parser
from tests.e2e.conftest import Gateway


def leaves(p: argparse.ArgumentParser, path: str = "aigw") -> Iterator[tuple[str, argparse.Namespace]]:
    """Every runnable command: its spelling and its parser's defaults."""
    subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, argparse.Namespace(**{a.dest: a.default for a in p._actions} | p._defaults)
        return
    for name, child in subs[0].choices.items():
        yield from leaves(child, f"{path} {name}")


def test_every_admin_operation_has_a_command(gateway: Gateway):
    document = httpx.get(gateway.admin_url + "/admin/openapi.json").json()
    operations = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    covered: dict[str, list[str]] = {}
    for spelling, defaults in leaves(parser()):
        if spelling == "aigw bench":  # handed to the bench harness's own parser
            continue
        assert callable(getattr(defaults, "run", None)), f"{spelling} has no handler"
        for operation in defaults.covers:
            covered.setdefault(operation, []).append(spelling)
    assert sorted(operations - set(covered)) == [], "admin operations without a command"
    assert sorted(set(covered) - operations) == [], "commands naming operations the API lacks"
