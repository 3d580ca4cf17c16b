"""`aigw tenants|members|tokens|services|catalog|subscriptions|audit|whoami`, `aigw apps create`
and `aigw keys rotate|temp`: the tenancy admin API from the command line (docs/tenancy.md). Each
command is one admin request, declared in COMMANDS with the operation's method and path as the
OpenAPI document names them; lists print as tables (or `--output json|yaml`), single records as
JSON (or YAML)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..durations import span
from .context import Context, admin_options
from .output import document, iso_times, output_option, table


@dataclass(frozen=True)
class Arg:
    flags: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    group: str
    action: str  # "" for a command without one (`aigw whoami`)
    help: str
    method: str
    path: str  # as in the OpenAPI document; formatted with the parsed arguments and `action`
    args: tuple[Arg, ...] = ()
    body: Callable[[argparse.Namespace], Any] | None = None
    query: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # a list answer's columns; none: print the JSON


def _a(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


TENANT = _a("--tenant", help="the tenant (a tenant token implies its own)")
SERVICE = _a("service", help="the service's name")
VERSION = _a("version", type=int, help="the version number")
SUBSCRIPTION = _a("subscription_id", metavar="id", type=int, help="the subscription's id")
REASON = _a("--reason", default="", help="told to the subscriber")


def _prompt(args: argparse.Namespace) -> Any:
    # A prompt version's spec from a JSON file: template, system, variables, temperature, ...
    return json.loads(Path(args.prompt).read_text()) if args.prompt else None


def _variables(args: argparse.Namespace) -> dict[str, Any]:
    """`--var NAME=TEXT` (a string) and `--var NAME:=JSON` (a number, a boolean, ...), as httpie
    spells them."""
    values: dict[str, Any] = {}
    for given in args.var or ():
        name, sep, value = given.partition("=")
        if not sep or not name.rstrip(":"):
            raise ValueError(f"--var {given!r}: use NAME=TEXT or NAME:=JSON")
        if name.endswith(":"):
            try:
                values[name[:-1]] = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(f"--var {given!r}: {value!r} is not JSON") from None
        else:
            values[name] = value
    return values


def _try(args: argparse.Namespace) -> dict[str, Any]:
    return {"app": args.app, "tenant": args.tenant, "variables": _variables(args)}


def _sunset(args: argparse.Namespace) -> dict[str, Any]:
    if not getattr(args, "sunset", None):
        return {}
    return {"sunset_at": datetime.fromisoformat(args.sunset).replace(tzinfo=UTC).timestamp()}


def _csv(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _temporary(args: argparse.Namespace) -> dict[str, Any]:
    allowed = {"services": _csv(args.services), "models": _csv(args.models), "networks": _csv(args.networks)}
    body = {
        "app": args.app,
        "tenant": args.tenant,
        "name": args.name,
        "ttl_s": span(args.ttl),
        "max_requests": args.max_requests,
        "max_tokens": args.max_tokens,
        "allowed": {k: v for k, v in allowed.items() if v is not None} or None,
    }
    return {k: v for k, v in body.items() if v is not None}


def _transition(action: str) -> Command:
    args = (SERVICE, VERSION, _a("--sunset", help="ISO date (UTC) announced in the Sunset header"))
    return Command(
        "services",
        action,
        f"{action} a version",
        "POST",
        "/admin/services/{service}/versions/{version}/{action}",
        args if action == "deprecate" else args[:2],
        _sunset,
    )


def _decision(action: str, verb: str) -> Command:
    return Command(
        "subscriptions",
        action,
        verb,
        "POST",
        "/admin/subscriptions/{subscription_id}/{action}",
        (SUBSCRIPTION, REASON),
        lambda a: {"reason": a.reason},
    )


COMMANDS: tuple[Command, ...] = (
    Command("whoami", "", "the admin token's user, tenant and role", "GET", "/admin/whoami"),
    Command("tenants", "create", "create a tenant (operator)", "POST", "/admin/tenants", (_a("name"),),
            lambda a: {"name": a.name}),
    Command("members", "list", "a tenant's members", "GET", "/admin/tenants/{tenant}/members",
            (_a("tenant"),), columns=("user", "role")),
    Command("members", "set", "add a member or change their role (owner)", "PUT",
            "/admin/tenants/{tenant}/members/{user}",
            (_a("tenant"), _a("user"), _a("role", choices=("owner", "admin", "developer", "viewer"))),
            lambda a: {"role": a.role}),
    Command("members", "remove", "remove a member (owner)", "DELETE",
            "/admin/tenants/{tenant}/members/{user}", (_a("tenant"), _a("user"))),
    Command("apps", "create", "create an app (or change the model groups it may call)", "POST", "/admin/apps",
            (_a("name"), _a("--tenant", required=True),
             _a("--models", default="*", help="comma-separated model groups it may call; * for all")),
            lambda a: {"tenant": a.tenant, "name": a.name, "models": _csv(a.models) or []}),
    Command("tokens", "create", "an admin token for a member (or a global one); printed once", "POST",
            "/admin/tokens", (_a("--user", required=True), TENANT, _a("--ttl", help="e.g. 30d")),
            lambda a: {"user": a.user, "tenant": a.tenant, **({"ttl_s": span(a.ttl)} if a.ttl else {})}),
    Command("tokens", "list", "admin tokens (prefixes only)", "GET", "/admin/tokens", (TENANT,),
            query=("tenant",),
            columns=("id", "prefix", "user", "tenant", "created_at", "expires_at", "revoked_at")),
    Command("tokens", "revoke", "revoke an admin token", "POST", "/admin/tokens/{token_id}/revoke",
            (_a("token_id"),)),
    Command("services", "create", "create a service", "POST", "/admin/services",
            (_a("name"), _a("--tenant", required=True), _a("--description", default=""),
             _a("--approval", action="store_true", help="other tenants' subscriptions need approval")),
            lambda a: {"tenant": a.tenant, "name": a.name, "description": a.description,
                       "approval": a.approval}),
    Command("services", "list", "services and their versions", "GET", "/admin/services", (TENANT,),
            query=("tenant",), columns=("name", "tenant", "approval", "versions")),
    Command("services", "show", "one service", "GET", "/admin/services/{service}", (SERVICE,)),
    Command("services", "add-version", "add a draft version: a model route, or a prompt API (--prompt)",
            "POST", "/admin/services/{service}/versions",
            (SERVICE, _a("--model-group", required=True),
             _a("--prompt", help="JSON file: template, variables, …")),
            lambda a: {"kind": "prompt" if a.prompt else "model", "model_group": a.model_group,
                       "prompt": _prompt(a)}),
    Command("services", "try", "call a published prompt API version as an app, with a one-use key",
            "POST", "/admin/services/{service}/versions/{version}/try",
            (SERVICE, VERSION, _a("--app", required=True, help="the app to call as"), TENANT,
             _a("--var", action="append", metavar="NAME=TEXT|NAME:=JSON", help="a variable (repeat)")),
            _try),
    _transition("publish"),
    _transition("deprecate"),
    _transition("retire"),
    Command("catalog", "list", "published services of every tenant", "GET", "/admin/catalog",
            columns=("name", "tenant", "approval", "models", "description")),
    Command("subscriptions", "create", "subscribe an app to a service", "POST", "/admin/subscriptions",
            (_a("--service", required=True), _a("--app", required=True), TENANT),
            lambda a: {"service": a.service, "app": a.app, "tenant": a.tenant}),
    Command("subscriptions", "list", "subscriptions a tenant is party to", "GET", "/admin/subscriptions",
            (TENANT,), query=("tenant",),
            columns=("id", "service", "service_tenant", "tenant", "app", "state", "reason")),
    _decision("approve", "approve a pending subscription"),
    _decision("reject", "reject a pending subscription"),
    _decision("revoke", "revoke a subscription"),
    Command("audit", "list", "the audit log, newest first", "GET", "/admin/audit",
            (TENANT, _a("--limit", type=int, default=100)), query=("tenant", "limit"),
            columns=("id", "ts", "actor", "tenant", "method", "path", "status", "client")),
    Command("keys", "rotate", "a new key for the same app; the old one works for --overlap more", "POST",
            "/admin/keys/{key_id}/rotate", (_a("key_id"), _a("--overlap", default="1h")),
            lambda a: {"overlap_s": span(a.overlap)}),
    Command("keys", "temp", "a temporary key (TTL, caps, allowances); printed once", "POST",
            "/admin/temporary-keys",
            (_a("--app", required=True), TENANT, _a("--name"), _a("--ttl", required=True, help="e.g. 15m"),
             _a("--max-requests", type=int), _a("--max-tokens", type=int),
             _a("--services", help="comma-separated"), _a("--models", help="comma-separated"),
             _a("--networks", help="comma-separated CIDRs")),
            _temporary),
)  # fmt: skip

# Groups whose every action is here (`keys`, `apps` and `tenants` have store commands too).
GROUPS = ("members", "tokens", "services", "catalog", "subscriptions", "audit")


def add_parsers(sub: Any, shared: dict[str, Any]) -> None:
    """Add the commands to `aigw`'s subparsers. `shared`: the subparsers of groups that have
    store commands of their own (keys, apps, tenants)."""
    groups = {g: sub.add_parser(g, help=f"{g} (admin API)").add_subparsers(dest="action", required=True)
              for g in GROUPS}  # fmt: skip
    groups.update(shared)
    for command in COMMANDS:
        if command.action:
            p = groups[command.group].add_parser(command.action, help=command.help)
        else:
            p = sub.add_parser(command.group, help=command.help)
        for arg in command.args:
            p.add_argument(*arg.flags, **arg.options)
        admin_options(p)
        if command.method == "GET":
            output_option(p)
        p.set_defaults(run=run, admin_command=command, covers=(f"{command.method} {command.path}",))


def run(args: argparse.Namespace, ctx: Context) -> int:
    command: Command = args.admin_command
    values = vars(args) | {"action": command.action}
    path = command.path.format(**{k: values[k] for k in _fields(command.path)})
    try:
        body = command.body(args) if command.body else None
    except ValueError as exc:  # an option's value, e.g. --var without '=' or --prompt not JSON
        print(f"aigw: {exc}", file=sys.stderr)
        return 2
    answer = ctx.admin(command.method, path, body, {k: values.get(k) for k in command.query})
    if isinstance(answer, dict) and ("key" in answer or "token" in answer):
        print(answer.get("key") or answer.get("token"))
        print(f"created {answer['record']['id']}; this is the only time it is shown", file=sys.stderr)
        return 0
    fmt = getattr(args, "output", "table")  # writes have no --output: their record prints as JSON
    if fmt == "table" and command.columns and isinstance(answer, list):
        cells = [[_cell(column, row.get(column)) for column in command.columns] for row in answer]
        print(table(command.columns, cells))
    else:
        print(document("json" if fmt == "table" else fmt, answer))
    return 0


def _fields(template: str) -> list[str]:
    return [part.split("}")[0] for part in template.split("{")[1:]]


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column == "ts" or column.endswith("_at"):
        return str(iso_times(value, column))
    if column == "versions":
        return ", ".join(f"v{v['version']} {v['state']}" for v in value) or "-"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)
