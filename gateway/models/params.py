"""What one target does with each caller parameter: pass it, drop it, or refuse the request.

A target is a provider's API at a version (its adapter says which parameters that version takes
and their ranges, e.g. temperature 0 to 2 at OpenAI, 0 to 1 at Anthropic 2023-06-01, none at
Anthropic 2026-10-21) serving a model (the capability table, catalog.py, says what the model
takes: sampling parameters or none, its most output tokens, tools, images). For each request:

- a sampling parameter the version or the model does not take is **dropped**, and reported;
- a value outside the range is **refused** with a 400 naming the parameter and the range —
  unless the model group clamps, when it is **clamped** to the range, and reported;
- so is `max_tokens` over the model's most output tokens;
- tools for a model that takes none, or images for one that sees none, are refused.

All before anything is sent. A model the table does not know is given what the version takes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from .catalog import ModelCapabilities

# The sampling parameters aigw knows: the canonical request's names (OpenAI's, and top_k).
SAMPLING = ("temperature", "top_p", "top_k", "presence_penalty", "frequency_penalty")


class Range(NamedTuple):
    low: float = -math.inf
    high: float = math.inf

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"at least {_num(self.low)}"
        return f"between {_num(self.low)} and {_num(self.high)}"

    def clamp(self, value: float) -> float:
        return min(max(value, self.low), self.high)


# https://platform.openai.com/docs/api-reference/chat/create
OPENAI_PARAMS: Mapping[str, Range] = {
    "temperature": Range(0, 2),
    "top_p": Range(0, 1),
    "presence_penalty": Range(-2, 2),
    "frequency_penalty": Range(-2, 2),
}


class ApiParams(NamedTuple):
    """What one API version takes: `where` names it in messages ("anthropic API 2026-10-21"),
    `ranges` are the sampling parameters it takes; the rest of SAMPLING it does not, unless
    `others_pass` (OpenAI-compatible servers take extensions aigw does not know of, top_k among
    them)."""

    where: str
    ranges: Mapping[str, Range]
    others_pass: bool = False


OPENAI_API = ApiParams("OpenAI API", OPENAI_PARAMS, others_pass=True)


class ParamError(Exception):
    """A parameter the target refuses: 400, naming it and why (its range, or what the model lacks)."""

    def __init__(self, message: str, param: str, code: str = "parameter_out_of_range"):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class Review(NamedTuple):
    """What the target makes of a request: the values to change (None: not sent), and the names
    of the parameters dropped and clamped."""

    changes: dict[str, Any]
    dropped: tuple[str, ...]
    clamped: tuple[str, ...]

    def headers(self) -> list[tuple[str, str]]:
        out = []
        if self.dropped:
            out.append(("x-aigw-dropped-params", ", ".join(self.dropped)))
        if self.clamped:
            out.append(("x-aigw-clamped-params", ", ".join(self.clamped)))
        return out


UNCHANGED = Review({}, (), ())


class ParamRules:
    """The rules of one target, built once; `review` runs on each request sent to it."""

    def __init__(self, api: ApiParams, model: str, capabilities: ModelCapabilities | None) -> None:
        self.model = model
        self.where = api.where
        self.ranges: dict[str, Range] = {}
        self.drops: set[str] = set()
        # A model the table knows is its provider's own (OpenAI's, served by OpenAI or Azure):
        # extensions of OpenAI-compatible servers are not for it.
        others_pass = api.others_pass and capabilities is None
        for name in SAMPLING:
            if capabilities is not None and not capabilities.sampling:
                self.drops.add(name)  # the model takes none
            elif name in api.ranges:
                self.ranges[name] = api.ranges[name]
            elif not others_pass:
                self.drops.add(name)  # the API version has no such parameter
        self.max_output = capabilities.max_output_tokens if capabilities else None
        self.tools = capabilities.tools if capabilities else True
        self.vision = capabilities.vision if capabilities else True
        # What `review` looks at: the parameters to drop, in SAMPLING's order, and the ranges the
        # request decoders do not enforce already (they hold OpenAI's: ChatRequest's Meta).
        self._drops = tuple(name for name in SAMPLING if name in self.drops)
        self._checked = tuple((n, r) for n, r in self.ranges.items() if r != OPENAI_PARAMS.get(n))
        # Nothing to look at in a request: the fast path.
        self.trivial = (
            not self._drops and not self._checked and self.max_output is None and self.tools and self.vision
        )

    def review(self, request: Any, clamp: bool) -> Review:
        """`request`: the caller's, a canonical ChatRequest."""
        if self.trivial:
            return UNCHANGED
        dropped: tuple[str, ...] = ()
        for name in self._drops:
            if getattr(request, name, None) is not None:
                dropped += (name,)
        changes: dict[str, Any] = dict.fromkeys(dropped) if dropped else {}
        clamped: list[str] = []
        for name, allowed in self._checked:
            value = getattr(request, name, None)
            if value is None or allowed.low <= value <= allowed.high:
                continue
            if not clamp:
                raise ParamError(
                    f"'{name}' must be {allowed} for model '{self.model}' at the {self.where}; "
                    f"got {_num(value)}.",
                    name,
                )
            changes[name] = type(value)(allowed.clamp(value))
            clamped.append(name)
        if self.max_output is not None:
            limit_name = "max_completion_tokens"
            limit = getattr(request, limit_name, None)
            if limit is None:
                limit_name = "max_tokens"
                limit = getattr(request, limit_name, None)
            if limit is not None and limit > self.max_output:
                if not clamp:
                    raise ParamError(
                        f"'{limit_name}' must be at most {self.max_output} for model '{self.model}' "
                        f"(its most output tokens); got {limit}.",
                        limit_name,
                    )
                changes[limit_name] = self.max_output
                clamped.append(limit_name)
        if not self.tools and getattr(request, "tools", None):
            raise ParamError(
                f"Model '{self.model}' takes no tools; send the request without them.",
                "tools",
                "unsupported_parameter",
            )
        if not self.vision and _has_image(getattr(request, "messages", ())):
            raise ParamError(
                f"Model '{self.model}' takes no images; send text only, or route to a model that sees.",
                "messages",
                "unsupported_parameter",
            )
        return Review(changes, dropped, tuple(clamped)) if changes else UNCHANGED


def _has_image(messages: Any) -> bool:
    for message in messages:
        content = message.content
        if isinstance(content, list):
            for part in content:
                kind = part.get("type") if isinstance(part, dict) else part.type
                if kind == "image_url":
                    return True
    return False


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
