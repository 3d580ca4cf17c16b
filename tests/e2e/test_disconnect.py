"""A client that goes away mid-stream releases the upstream request: the key's in-flight count
drops long before the upstream stream would have ended."""

import http.client
import time

from .conftest import Gateway, pool_yaml, start_upstream_mock, stop_upstream_mock

STREAM_S = 8.0  # 400 chunks, 20 ms apart


def in_flight(gw: Gateway) -> int:
    return sum(
        k["in_flight"] for k in gw.admin("GET", "/admin/upstream-keys").json() if k["provider"] == "upstream"
    )


def test_a_client_disconnect_cancels_the_upstream_stream(tmp_path):
    mock, upstream = start_upstream_mock(
        "--key", "k=sk-k", "--stream-chunks", "400", "--chunk-interval-ms", "20"
    )
    gw = Gateway(tmp_path, pool_yaml(upstream, "k"), workers=1)
    key = gw.new_key()
    gw.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
        body = b'{"model": "chat", "stream": true, "messages": [{"role": "user", "content": "go on"}]}'
        conn.request("POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {key}"})
        resp = conn.getresponse()
        assert resp.status == 200
        resp.readline()
        assert in_flight(gw) == 1
        started = time.monotonic()
        conn.sock.close()  # the client vanishes mid-stream
        conn.close()
        while in_flight(gw):
            # Released as soon as aigw notices, not when the upstream would have finished.
            assert time.monotonic() - started < STREAM_S / 2, "the upstream stream kept running"
    finally:
        assert gw.stop() == 0
        stop_upstream_mock(mock)
