"""deploy/lb/nginx.conf and haproxy.cfg in front of two real `aigw serve` nodes (each with its
own SQLite store holding the same consumer key; a cluster shares one PostgreSQL store instead).
Each node calls the held upstream with a provider key of its own, so the upstream tells them apart.

- Traffic reaches both nodes.
- SIGTERM to a node serving streams: it leaves the balancer's rotation first (new requests all
  reach the other node while its streams still run), every stream completes, it exits 0.
- A POST that reached a node which then dies is answered 502 and never sent to another node;
  connections the dead node refuses are retried on the other one."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from ..e2e.conftest import Gateway, free_port, pool_yaml
from .balancers import LB, Backend, Balancer, HAProxy, Nginx
from .held_upstream import FIRST, HOLD, REST, HeldUpstream
from .proctree import tree

BALANCERS = {"nginx": Nginx, "haproxy": HAProxy}


class Cluster:
    """Two nodes behind one balancer, all on loopback."""

    def __init__(self, tmp: Path, kind: str, upstream: HeldUpstream):
        self.nodes: list[Gateway] = []
        for name in ("a", "b"):
            (tmp / name).mkdir()  # node a calls the upstream with sk-a, node b with sk-b
            self.nodes.append(Gateway(tmp / name, pool_yaml(upstream.url, name), workers=1))
        self.key = self.nodes[0].new_key()
        shutil.copy(tmp / "a" / "aigw.db", tmp / "b" / "aigw.db")  # the same key on both
        self.backends = [Backend(n.port, n.admin_port) for n in self.nodes]
        self.lb: Balancer | None = None
        try:  # whatever started is stopped if a later step fails
            for node in self.nodes:
                node.start()
            (tmp / "lb").mkdir()
            self.lb = BALANCERS[kind](tmp / "lb", free_port(), self.backends)
            if isinstance(self.lb, HAProxy):
                self.lb.wait_all_up()
        except BaseException:
            self.close()
            raise
        self.client = OpenAI(base_url=self.balancer.url + "/v1", api_key=self.key, max_retries=0, timeout=120)

    @property
    def balancer(self) -> Balancer:
        assert self.lb is not None
        return self.lb

    def node_of(self, request_id: str) -> int:
        """Which node answered: x-request-id carries the worker's pid."""
        pid = int(request_id.split("_")[1], 16)
        (index,) = [i for i, n in enumerate(self.nodes) if n.proc and pid in tree(n.proc.pid)]
        return index

    def ask(self, text: str = "hello") -> int:
        """A chat completion through the balancer; the node that answered it."""
        raw = self.client.chat.completions.with_raw_response.create(
            model="chat", messages=[{"role": "user", "content": text}]
        )
        assert raw.parse().choices[0].message.content == FIRST + "".join(REST)
        return self.node_of(raw.headers["x-request-id"])

    def close(self) -> None:
        if self.lb is not None:
            self.lb.stop()
        for node in self.nodes:
            if node.proc and node.proc.poll() is None:
                node.stop()


@pytest.fixture(params=sorted(BALANCERS))
def cluster(request, tmp_path) -> Iterator[Cluster]:
    upstream = HeldUpstream()
    try:
        made = Cluster(tmp_path, request.param, upstream)
        made.upstream = upstream  # type: ignore[attr-defined]
        try:
            yield made
        finally:
            upstream.release()
            made.close()
    finally:
        upstream.close()


class Stream:
    """One streamed completion through the balancer, read in a thread until its end."""

    def __init__(self, cluster: Cluster):
        self.first = threading.Event()
        self.text = ""
        self.finish: str | None = None
        self.usage = None
        self.error: BaseException | None = None
        raw = cluster.client.chat.completions.with_raw_response.create(
            model="chat",
            messages=[{"role": "user", "content": "stream please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        self.node = cluster.node_of(raw.headers["x-request-id"])
        self.thread = threading.Thread(target=self._read, args=(raw.parse(),))
        self.thread.start()

    def _read(self, stream) -> None:
        try:
            for chunk in stream:
                if chunk.usage:
                    self.usage = chunk.usage
                for choice in chunk.choices:
                    self.text += choice.delta.content or ""
                    self.finish = choice.finish_reason or self.finish
                if self.text:
                    self.first.set()
        except BaseException as exc:  # reported by the test thread
            self.error = exc
        finally:
            self.first.set()

    def join(self) -> None:
        self.thread.join(timeout=120)
        assert not self.thread.is_alive()
        assert self.error is None, repr(self.error)


def wait_for(condition, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)  # polling a state other processes change


def test_traffic_reaches_both_nodes(cluster: Cluster):
    served = [cluster.ask() for _ in range(8)]
    assert set(served) == {0, 1}


def test_sigterm_drains_a_node_behind_the_balancer(cluster: Cluster):
    upstream: HeldUpstream = cluster.upstream  # type: ignore[attr-defined]
    streams: list[Stream] = []
    # Streams through the balancer until each node holds at least two; every one is held by the
    # upstream after its first event.
    while min(sum(s.node == i for s in streams) for i in (0, 1)) < 2:
        assert len(streams) < 12, [s.node for s in streams]
        streams.append(Stream(cluster))
    upstream.wait_holding(len(streams))
    for s in streams:
        assert s.first.wait(60) and s.text == FIRST

    draining, other = cluster.nodes
    assert draining.proc is not None
    on_draining = sum(s.node == 0 for s in streams)
    draining.proc.send_signal(signal.SIGTERM)
    wait_for(
        lambda: cluster.balancer.out_of_rotation(cluster.backends[0], on_draining),
        f"{cluster.balancer.name} takes the draining node out of rotation",
    )

    # Out of rotation first: while its streams still run, every new request reaches the other node.
    assert [cluster.ask(f"during the drain {i}") for i in range(6)] == [1] * 6
    late = Stream(cluster)
    assert late.node == 1
    upstream.wait_holding(len(streams) + 1)  # the late stream is under way beside the others
    assert draining.proc.poll() is None

    upstream.release()
    for s in [*streams, late]:
        s.join()
        assert s.text == FIRST + "".join(REST) and s.finish == "stop"
        assert s.usage is not None and s.usage.total_tokens == 12
    assert draining.proc.wait(timeout=60) == 0
    assert other.proc is not None and other.proc.poll() is None


def test_a_post_that_reached_a_node_is_never_sent_twice(cluster: Cluster):
    upstream: HeldUpstream = cluster.upstream  # type: ignore[attr-defined]
    # The held POST goes to whichever node is next; the provider key it arrives with names it.
    answers: list[httpx.Response] = []

    def held_call() -> None:
        answers.append(
            httpx.post(
                cluster.balancer.url + "/v1/chat/completions",
                headers={"Authorization": f"Bearer {cluster.key}"},
                json={"model": "chat", "messages": [{"role": "user", "content": HOLD}]},
                timeout=120,
            )
        )

    caller = threading.Thread(target=held_call)
    caller.start()
    upstream.wait_holding(1)
    (key,) = +upstream.holding_by
    holder = "ab".index(key.removeprefix("sk-"))
    node = cluster.nodes[holder]
    assert node.proc is not None
    for pid in tree(node.proc.pid):  # SIGKILL: the node dies with the request in flight
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    node.proc.wait(timeout=30)
    # Released now, so a copy sent to the other node would be answered 200 rather than hang.
    upstream.release()
    caller.join(timeout=120)

    (answer,) = answers
    assert answer.status_code == 502  # the balancer's: the node died before answering
    # A new request: the dead node refuses the connection and the balancer retries on the other.
    assert [cluster.ask("after the crash") for _ in range(4)] == [1 - holder] * 4
    assert upstream.received[HOLD] == 1, "the POST that reached a node was sent again"


def test_only_a_failed_connect_is_retried():
    """What the two tests above exercise, as written in the shipped files."""
    nginx = (LB / "nginx.conf").read_text()
    (retry,) = re.findall(r"^\s*proxy_next_upstream (.*);$", nginx, flags=re.MULTILINE)
    assert "non_idempotent" not in retry.split() and "error" in retry.split()
    assert "proxy_request_buffering off" not in nginx  # the body is kept, so a retry can resend it
    haproxy = (LB / "haproxy.cfg").read_text()
    assert re.findall(r"^\s*retry-on (.*)$", haproxy, flags=re.MULTILINE) == ["conn-failure"]
