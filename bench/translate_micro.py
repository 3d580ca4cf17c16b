"""Microbenchmark of the translation layer: µs per request, per response, per stream chunk.

    .venv/bin/python -m bench.translate_micro [--repeat 5]

Method: each case runs in a loop sized to take about 0.2 s; the best of `--repeat` runs is
reported (the least disturbed by the machine). Payloads are the golden-test fixtures (OpenAI's
and the providers' documented examples); streams are a documented stream whose text deltas are
repeated 1000 times, fed whole, so "per chunk" is one upstream event in, its translation out.
Not collected by pytest: numbers depend on the machine, so nothing asserts on them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from gateway.ingress import anthropic as ingress
from gateway.ingress.anthropic_stream import MessagesStream
from gateway.providers import adapter_for
from gateway.providers.canonical import decode_chat

# The golden-test fixtures: run from a checkout (they are not installed with the package).
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "providers" / "fixtures"
REPEATED = 1000


def body(path: str) -> bytes:
    return json.dumps(json.loads((FIXTURES / path).read_text())["body"]).encode()


def stream(path: str, delta: bytes) -> tuple[bytes, int]:
    """The fixture with its events containing `delta` repeated; returns (bytes, event count)."""
    data = (FIXTURES / path).read_bytes().replace(b"\r\n", b"\n")
    events = [e for e in data.split(b"\n\n") if e.strip() and not e.startswith(b":")]
    grown: list[bytes] = []
    for event in events:
        grown.extend([event] * (REPEATED if delta in event else 1))
    return b"".join(e + b"\n\n" for e in grown), len(grown)


def per_call(fn: Callable[[], object], repeat: int) -> float:
    timer = timeit.Timer(fn)
    loops, _ = timer.autorange()
    loops = max(1, loops)  # autorange targets 0.2 s
    return min(timer.repeat(repeat=repeat, number=loops)) / loops * 1e6


def cases() -> list[tuple[str, str, Callable[[], object], int]]:
    """(section, name, function, units per call)."""
    openai, azure = adapter_for("openai"), adapter_for("azure")
    claude, gemini = adapter_for("anthropic"), adapter_for("gemini")
    tools_raw = body("openai/request_tools.json")
    tools = decode_chat(tools_raw)
    anthropic_req = body("anthropic/request_tools.json")
    out: list[tuple[str, str, Callable[[], object], int]] = [
        ("request", "decode caller JSON (canonical Structs)", lambda: decode_chat(tools_raw), 1),
        (
            "request",
            "openai: same model (bytes pass through)",
            lambda: openai.chat_call(tools, "gpt-4o", ""),
            1,
        ),
        ("request", "openai: model replaced", lambda: openai.chat_call(tools, "other", ""), 1),
        ("request", "azure", lambda: azure.chat_call(tools, "dep", ""), 1),
        ("request", "anthropic", lambda: claude.chat_call(tools, "claude", ""), 1),
        ("request", "gemini", lambda: gemini.chat_call(tools, "gemini", ""), 1),
        ("request", "ingress: anthropic -> canonical", lambda: ingress.chat_request(anthropic_req), 1),
    ]
    msg, gem = body("anthropic/message_tool_use.json"), body("gemini/response_function_call.json")
    completion = body("openai/response_tools.json")
    out += [
        ("response", "openai (relayed)", lambda: openai.chat_response(200, completion, "p"), 1),
        ("response", "anthropic -> openai", lambda: claude.chat_response(200, msg, "p"), 1),
        ("response", "gemini -> openai", lambda: gemini.chat_response(200, gem, "p"), 1),
        (
            "response",
            "ingress: openai -> anthropic",
            lambda: ingress.message_response(200, completion, "p"),
            1,
        ),
    ]
    streams = [
        (
            "openai (pass-through)",
            "openai/stream_text.sse",
            b'"content":"Hello"',
            lambda: openai.chat_stream("p", True),
        ),
        (
            "anthropic -> openai",
            "anthropic/stream_text.sse",
            b'"text":" there"',
            lambda: claude.chat_stream("p", True),
        ),
        (
            "gemini -> openai",
            "gemini/stream_function_call.sse",
            b"Let me check",
            lambda: gemini.chat_stream("p", True),
        ),
        (
            "ingress: openai -> anthropic",
            "openai/stream_text.sse",
            b'"content":"Hello"',
            lambda: MessagesStream("p"),
        ),
    ]
    for name, path, delta, make in streams:
        data, events = stream(path, delta)

        def translate(data: bytes = data, make: Callable[[], object] = make) -> bytes:
            translator = make()
            return translator.feed(data) + translator.close()  # type: ignore[attr-defined, no-any-return]

        out.append(("stream chunk", name, translate, events))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.translate_micro")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "?")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"# aigw translation microbenchmark: {python}, {platform.system()} {platform.machine()},")
    print(f"# {cpu}, {os.cpu_count()} CPUs; best of {args.repeat}")
    section = ""
    for sect, name, fn, units in cases():
        if sect != section:
            section = sect
            print(f"\n{section:<14} {'µs':>9}")
        print(f"  {name:<44} {per_call(fn, args.repeat) / units:8.2f}")
    return 0


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


if __name__ == "__main__":
    sys.exit(main())
