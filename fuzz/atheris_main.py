"""Coverage-guided fuzzing of the targets with atheris (libFuzzer), for runs longer than the
suite's: `python -m fuzz.atheris_main TARGET [libFuzzer options]`, e.g.

    python -m fuzz.atheris_main requests -max_total_time=600 corpus/requests

TARGET is one of TARGETS; a crash is an exception that should not have escaped, and libFuzzer
writes the input that raised it to `crash-*`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports():
    from fuzz import targets

STATUSES = (200, 400, 401, 404, 429, 500, 503, 529)


def _answers(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    provider_type = targets.ADAPTERS[fdp.ConsumeIntInRange(0, len(targets.ADAPTERS) - 1)]
    status = STATUSES[fdp.ConsumeIntInRange(0, len(STATUSES) - 1)]
    targets.answer_translators(provider_type, status, fdp.ConsumeBytes(fdp.remaining_bytes()))


def _streams(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    kinds = (*targets.ADAPTERS, "messages")
    kind = kinds[fdp.ConsumeIntInRange(0, len(kinds) - 1)]
    pieces = [fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200)) for _ in range(fdp.ConsumeIntInRange(1, 8))]
    targets.stream_translators(kind, pieces)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "requests": targets.request_decoders,
    "config": lambda data: targets.config_text(data.decode("utf-8", "replace")),
    "answers": _answers,
    "streams": _streams,
}


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python -m fuzz.atheris_main {{{','.join(TARGETS)}}} [libFuzzer options]")
    atheris.Setup([argv[0], *argv[2:]], TARGETS[argv[1]])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
