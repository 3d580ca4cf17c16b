"""Parsers and generators of text the harness exchanges with its tools."""

import argparse

import pytest

from bench import loadgen, nginx, procstat, wrk
from bench.cli import parse_cores

WRK_STDOUT = """\
Running 2s test @ http://127.0.0.1:8080/v1/chat/completions
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   400.00us  100.00us   2.00ms   90.00%
  20000 requests in 2.00s, 14.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  10000.00
WRK_JSON {"requests":20000,"duration_us":2000000,"bytes":14680064,\
"errors":{"connect":0,"read":1,"write":0,"timeout":2,"status":3},\
"latency_us":{"min":100,"max":2000,"mean":400.5,"p50":380,"p90":500,"p99":900,"p99.9":1500}}
"""


def test_wrk_result_line_is_parsed():
    r = wrk.parse_output(WRK_STDOUT)
    assert r.requests == 20000
    assert r.rps == 10000
    assert r.non2xx == 3
    assert r.socket_errors == {"connect": 0, "read": 1, "write": 0, "timeout": 2}
    assert r.latency_ms == {"p50": 0.38, "p90": 0.5, "p99": 0.9, "p99.9": 1.5}


def test_wrk_output_without_result_line_is_an_error():
    with pytest.raises(ValueError, match="no result line"):
        wrk.parse_output("Running 2s test\nunable to connect to 127.0.0.1:1\n")


def test_lua_strings_survive_quotes_newlines_and_unicode():
    assert wrk.lua_string('a"b\\c') == '"a\\034b\\092c"'
    assert wrk.lua_string("x\ny") == '"x\\010y"'
    assert wrk.lua_string("é") == '"\\195\\169"'


def test_wrk_script_sets_method_headers_body_and_prints_json():
    text = wrk.script("POST", {"Authorization": "Bearer k"}, '{"a":1}')
    assert 'wrk.method = "POST"' in text
    assert 'wrk.headers["Authorization"] = "Bearer k"' in text
    assert 'wrk.body = "{\\034a\\034:1}"' in text
    assert "done = function(summary, latency, requests)" in text and wrk.MARKER in text


LOADGEN_JSON = {
    "mode": "open",
    "rate_target": 100.0,
    "connections": 4,
    "duration_s": 1.0,
    "elapsed_s": 1.0,
    "interrupted": False,
    "sent": 100,
    "completed": 100,
    "unsent": 0,
    "reconnects": 0,
    "expired": 0,
    "status": {"1xx": 0, "2xx": 98, "3xx": 0, "4xx": 1, "5xx": 1, "other": 0},
    "errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
    "latency": {
        "sub_bits": 7,
        "count": 100,
        "min_ns": 100,
        "max_ns": 1000,
        "mean_ns": 200.0,
        "buckets": [[100, 90], [317, 10]],
    },
    "service": {"sub_bits": 7, "count": 100, "min_ns": 100, "max_ns": 1000, "mean_ns": 200.0, "buckets": []},
}


def test_loadgen_json_is_parsed_into_figures():
    r = loadgen.from_doc(LOADGEN_JSON)
    assert (r.mode, r.completed, r.non2xx, r.rps) == ("open", 100, 2, 100.0)
    ms = r.latency_ms()
    assert ms["p50"] == pytest.approx(100 / 1e6)
    assert ms["p99"] == pytest.approx(1000 / 1e6)  # bucket 317 is [1000, 1008) ns: clamped to the max


def test_loadgen_progress_lines():
    line = 'PROGRESS {"elapsed_s":1.0,"completed":5,"rps":5,"mean_ms":0.1,"non2xx":0,"errors":0}'
    assert loadgen.parse_progress(line) == {
        "elapsed_s": 1.0,
        "completed": 5,
        "rps": 5,
        "mean_ms": 0.1,
        "non2xx": 0,
        "errors": 0,
    }
    assert loadgen.parse_progress("loadgen: something else") is None


def test_proc_stat_with_a_hostile_command_name():
    ppid, cpu = procstat.parse_stat("42 (a) b (c)) S 7 42 42 0 -1 0 0 0 0 0 300 100 0 0 20 0 1 0")
    assert ppid == 7
    assert cpu == pytest.approx(400 / procstat._TICKS)


def test_nginx_body_quoting():
    assert nginx.nginx_string("it's") == "'it\\'s'"
    with pytest.raises(ValueError):
        nginx.nginx_string('{"a": "$x"}')


def test_nginx_configs(tmp_path):
    up = nginx.upstream_config(tmp_path, 9000)
    assert "listen 127.0.0.1:9000" in up and "default_type application/json" in up
    assert "return 200 '{" in up and "worker_processes 1;" in up and "daemon off;" in up
    # OpenAI's usual headers: aigw learns headroom from every answer, as in production.
    assert "add_header x-ratelimit-remaining-requests '9999';" in up
    assert "add_header x-ratelimit-reset-requests '6ms';" in up
    proxy = nginx.proxy_config(tmp_path, 9001, 9000)
    assert "server 127.0.0.1:9000;" in proxy and "keepalive 1024;" in proxy
    assert 'proxy_set_header Connection "";' in proxy


def test_core_lists():
    assert parse_cores("0") == {0}
    assert parse_cores("0-2,5") == {0, 1, 2, 5}
    with pytest.raises(argparse.ArgumentTypeError):
        parse_cores("a")
