"""Body capture: secrets redacted at any depth (streams included), bodies capped on a character
boundary with the cut counted, and nothing half-written kept from a cut stream event."""

import json

from gateway.calllog.capture import REDACTED, Capture, CaptureConfig


def capture(**kw) -> Capture:
    return Capture(CaptureConfig(enabled=True, **kw))


def test_secret_fields_are_redacted_at_any_depth_and_in_any_case():
    body = {
        "model": "m",
        "api_key": "sk-1",
        "metadata": {"Password": "hunter2", "note": "kept", "nested": [{"TOKEN": "t"}]},
    }
    out = json.loads(capture().render(json.dumps(body).encode()))
    assert out == {
        "model": "m",
        "api_key": REDACTED,
        "metadata": {"Password": REDACTED, "note": "kept", "nested": [{"TOKEN": REDACTED}]},
    }


def test_the_redact_list_is_configurable():
    out = capture(redact=["ssn"]).render(b'{"ssn": "123", "password": "p"}')
    assert json.loads(out) == {"ssn": REDACTED, "password": "p"}


def test_a_body_over_the_cap_is_cut_on_a_character_boundary_and_says_how_much():
    body = json.dumps({"content": "é" * 100}).encode()
    whole = capture(max_bytes=10_000).render(body).encode()
    out = capture(max_bytes=21).render(body)
    kept, note = out.split("…")
    # 21 bytes would split an "é" (2 bytes): the cut falls before it.
    assert kept == '{"content":"' + "é" * 4 and len(kept.encode()) == 20
    assert note == f"[{len(whole) - 20} more bytes]"
    assert capture(max_bytes=0).render(b'{"a": 1}') == "…[7 more bytes]"


def test_stream_events_are_redacted_one_by_one_and_a_cut_event_is_dropped():
    stream = b'data: {"choices": [], "secret": "s"}\n\ndata: [DONE]\n\ndata: {"api_key": "sk-ha'
    lines = capture().render(stream).split("\n")
    assert lines[0] == 'data: {"choices":[],"secret":"[REDACTED]"}'
    assert "data: [DONE]" in lines
    assert lines[-1] == "data: …[event cut]"
    assert "sk-ha" not in "\n".join(lines)


def test_a_body_that_is_not_json_is_kept_as_text():
    assert capture().render(b"upstream said no") == "upstream said no"


def test_a_stream_keeps_only_what_the_cap_can_use():
    c = capture(max_bytes=100)
    assert c.keep(0) == 1224 and c.keep(2000) == 0
