"""W3C traceparent as the gateway reads it: valid headers, the ones the specification says to
ignore, and the lines passed upstream."""

from __future__ import annotations

import pytest

from gateway.telemetry.traceparent import parse, upstream_lines

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_valid_header_is_read():
    tp = parse(VALID)
    assert tp is not None
    assert (tp.trace_id, tp.parent_id, tp.flags, tp.sampled) == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        1,
        True,
    )
    assert tp.header() == VALID
    assert tp.header("00f067aa0ba902b7") == "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"


def test_upper_case_and_a_later_version_with_more_fields_are_read():
    assert parse(VALID.upper()) is not None
    later = parse("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-more")
    assert later is not None and not later.sampled


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # version 00 has four fields
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff is invalid
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # all-zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # all-zero parent id
        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",  # not hex
        "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
    ],
)
def test_a_header_that_breaks_the_format_is_ignored(value):
    assert parse(value) is None


def test_the_upstream_gets_the_callers_context_and_never_a_line_break():
    tp = parse(VALID)
    assert tp is not None
    assert upstream_lines(tp, "vendor=abc") == f"traceparent: {VALID}\r\ntracestate: vendor=abc\r\n".encode()
    assert upstream_lines(tp, "x=1\r\nInjected: yes") == f"traceparent: {VALID}\r\n".encode()
