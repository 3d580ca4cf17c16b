"""Flagging runs with errors, medians over repeats, added latency and ratios."""

import pytest

from bench.results import Measurement, add_baseline, ratio, summarize


def run(target="aigw", rps=1000.0, p50=1.0, p99=2.0, mode="closed", **kw) -> Measurement:
    return Measurement(
        target=target,
        mode=mode,
        tool="wrk",
        connections=8,
        duration_s=10,
        requests=int(rps * 10),
        rps=rps,
        latency_ms={"p50": p50, "p90": p50, "p99": p99, "p99.9": p99},
        socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": 0},
        **kw,
    )


def test_a_clean_run_is_not_flagged():
    m = run(cpu_s=5.0)
    assert m.flags == [] and not m.flagged
    assert m.cpu_s_per_1k == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"non2xx": 3}, "3 non-2xx responses"),
        (
            {"socket_errors": {"connect": 0, "read": 2, "write": 0, "timeout": 1}},
            "3 socket errors (read 2, timeout 1)",
        ),
        ({"unsent": 4}, "4 scheduled requests never sent"),
        ({"requests": 0}, "no responses"),
    ],
)
def test_errors_flag_a_run(changes, reason):
    m = run()
    for key, value in changes.items():
        setattr(m, key, value)
    assert m.flagged
    assert any(flag.startswith(reason) for flag in m.flags), m.flags


def test_median_of_repeats():
    s = summarize([run(rps=100, p99=5), run(rps=300, p99=1), run(rps=200, p99=3)])
    assert s.rps == 200
    assert s.latency_ms["p99"] == 3
    assert not s.flagged


def test_a_flagged_repeat_withholds_throughput_and_errors_add_up():
    s = summarize([run(rps=100), run(rps=900, non2xx=2), run(rps=200, non2xx=1)])
    assert s.rps is None
    assert s.non2xx == 3
    assert s.flags == ["run 2: 2 non-2xx responses", "run 3: 1 non-2xx responses"]
    assert s.to_json()["flagged"] is True


def test_added_latency_is_against_direct_in_the_same_mode():
    rows = [
        summarize([run("direct", p50=0.1, p99=0.5)]),
        summarize([run("aigw", p50=0.4, p99=1.5)]),
        summarize([run("aigw", p50=9, p99=9, mode="open")]),  # no open-loop direct: nothing added
    ]
    add_baseline(rows)
    assert rows[0].added_ms is None
    assert rows[1].added_ms == pytest.approx({"p50": 0.3, "p90": 0.3, "p99": 1.0, "p99.9": 1.0})
    assert rows[2].added_ms is None


def test_ratio_needs_two_clean_rows():
    aigw, nginx = summarize([run("aigw", rps=250)]), summarize([run("nginx", rps=1000)])
    assert ratio(aigw, nginx) == 0.25
    assert ratio(aigw, summarize([run("nginx", non2xx=1)])) is None
    assert ratio(aigw, None) is None
