"""The RSGI application each granian worker runs: read, admit (one native call), forward, answer."""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import msgspec

from ..admission import (
    ROUTE_CHAT,
    ROUTE_MESSAGES,
    ROUTE_MODELS,
    ROUTE_PROMPT,
    Decision,
    Rejection,
    SharedRegion,
)
from ..admission.rejections import POOL_RATE_LIMITED
from ..calllog.backend import open_call_log
from ..calllog.journal import journal_for
from ..calllog.pricing import PriceTable
from ..calllog.trace import Trace
from ..cluster import NODE_ENV
from ..config import published
from ..errors import GatewayError, decode_body
from ..ingress import anthropic as anthropic_ingress
from ..keypool.health import KeyHealth
from ..keypool.learn import REMAINING_HEADERS
from ..metrics.names import IN_FLIGHT, QUEUE_DEPTH
from ..metrics.worker import ENV as METRICS_ENV
from ..providers import canonical
from ..store import open_store
from ..telemetry import logs, traceparent
from ..telemetry.access import AccessLog
from ..telemetry.tracing import start_tracing
from ..upstream import Pool
from . import errors, openai_bodies, prompt
from .accounting import Accounting
from .attempts import forward
from .body import BodyLimits, lone_surrogates_replaced
from .caller import OPENAI, AnthropicCaller, Caller
from .connections import CLOSE, ConnectionCounts
from .context import JSON, RequestContext
from .exchange import ChatExchange, EmbeddingsExchange, Exchange
from .limit_headers import limit_headers
from .scheduling import batch_other_threads, batch_this_thread
from .served import Served
from .tables import LiveTable

if TYPE_CHECKING:
    from granian.rsgi import Headers, HTTPProtocol, Scope

log = logging.getLogger("aigw.dataplane")

MESSAGES_PATH = "/v1/messages"
ANTHROPIC_ERRORS = AnthropicCaller("")


# Route names in call records and metrics.
ROUTE_NAMES = {
    "/v1/chat/completions": "chat",
    "/v1/embeddings": "embeddings",
    "/v1/models": "models",
    MESSAGES_PATH: "messages",
}

# What a body reader gives: the canonical request (an OpenAI one, or the ingress's translation).
RequestBody = canonical.ChatRequest | canonical.EmbeddingsRequest

# Body readers by path, run before admission so the model is admitted in the same call.
BODY_READERS: dict[str, Callable[[bytes], RequestBody]] = {
    "/v1/chat/completions": functools.partial(decode_body, canonical.CHAT_REQUEST_DECODER),
    "/v1/embeddings": functools.partial(decode_body, canonical.EMBEDDINGS_REQUEST_DECODER),
    # The Anthropic ingress: its request becomes the canonical OpenAI one right away.
    MESSAGES_PATH: anthropic_ingress.chat_request,
}
FAST_READERS: dict[str, Callable[[bytes], RequestBody]] = {
    "/v1/chat/completions": canonical.CHAT_REQUEST_DECODER.decode,
    "/v1/embeddings": canonical.EMBEDDINGS_REQUEST_DECODER.decode,
}


def credential(headers: Headers) -> str | None:
    auth = headers.get("authorization")
    if auth:
        token = _BEARER.get(auth, _UNPARSED)  # callers send the same few keys again and again
        if token is _UNPARSED:
            scheme, _, rest = auth.partition(" ")
            token = rest.strip() if scheme.lower() == "bearer" else None
            if len(_BEARER) >= 4096:
                _BEARER.clear()
            _BEARER[auth] = token
        return token
    key: str | None = headers.get("api-key") or headers.get("x-api-key")
    return key


# Authorization header -> its bearer token (None when not a bearer). Only the parsing is cached:
# admission still checks every token on every request.
_BEARER: dict[str, str | None] = {}
_UNPARSED: Any = object()  # a cache miss


class Gateway:
    """One instance per worker process; granian calls the three RSGI hooks."""

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # The config the supervisor checked and published, and each reload's after it.
        node_config = os.environ[published.ENV]
        cfg = published.read(node_config).config()  # the store: the same for the node's life
        # Body limits follow each reload (_reloaded); the connection limits need a restart.
        self.bodies = BodyLimits(cfg.server, loop)
        self.connections = ConnectionCounts(cfg.server)
        self.connections.start(loop)
        self.store = open_store(url=cfg.store.url, path=cfg.store.path)
        # The node's shared memory, created by the supervisor: limits and key health are exact
        # across every worker. This process takes a row for its in-flight counts.
        self.region = SharedRegion.attach(os.environ["AIGW_REGION"])
        self.region.claim_worker(os.getpid())
        self.live = LiveTable(functools.partial(published.read, node_config), self.store, self.region)
        cfg = self.live.current.cfg
        # In a cluster: shared limits charged in Redis, key health told to every node.
        self.cluster: Any = None
        if cfg.cluster.redis_url:
            from ..cluster.worker import WorkerCluster  # redis is loaded only where it is used

            self.cluster = WorkerCluster(cfg.cluster, self.region, os.environ.get(NODE_ENV, ""))
        self.health = KeyHealth(
            self.region,
            {p.name: p.probe_interval_s for p in cfg.providers},
            {p.name: p.invalid_probe_interval_s for p in cfg.providers},
            self.live.keys_of,
            self.live.pool_of,
            self.cluster,
        )
        self.live.listeners.append(self._reloaded)
        self.live.start(loop)
        # One pooled keep-alive client per worker (gateway/upstream: httptools, no aiohttp).
        # Each provider's origins carry its connection settings (ProviderConfig.egress).
        self.pool = Pool(loop=loop, watch_headers=REMAINING_HEADERS)  # only these teach headroom
        # Call records and metrics: batched off the request path (gateway/calllog, gateway/metrics).
        self.accounting = Accounting(
            open_call_log(self.store),
            cfg.calllog,
            cfg.metrics,
            cfg.pricing,
            os.environ.get(METRICS_ENV) or None,
            # A shared store may be out of reach: each record is journaled on local disk first.
            journal_for(cfg.calllog, os.environ.get(NODE_ENV) or "aigw") if cfg.store.url else None,
        )
        self.accounting.start(loop)
        self._queue_gauges: set[str] = set()
        # The access log and traces (gateway/telemetry): None when off, and then all they cost a
        # request is that check.
        self.access: AccessLog | None = None
        self.tracing = start_tracing(cfg.tracing)
        self._reloaded(self.live.current)
        self.in_flight = 0  # requests this worker is handling (health checks aside)
        self.accounting.metrics.gauge_source(IN_FLIGHT, lambda: self.in_flight)
        self._ids = itertools.count(1)
        self._id_prefix = f"req_{os.getpid():x}_"
        # Everything loaded so far lives as long as the worker: out of the collector's sight, so
        # the collections that requests' garbage triggers do not walk config, tables and modules.
        gc.collect()
        gc.freeze()
        # Requests free their objects by reference counting; what a collection finds alive is the
        # in-flight requests' state, whatever the threshold. Collecting ten times less often does
        # ten times less of that walking (cyclic garbage, rare here, waits a little longer).
        gc.set_threshold(7000, 10, 10)
        if cfg.server.batch_io_threads:
            # granian starts its I/O threads after this hook, before the loop runs a callback.
            loop.call_soon(batch_other_threads)
            # The threads that read the store on a reload yield to the loop too.
            loop.set_default_executor(ThreadPoolExecutor(initializer=batch_this_thread))

    def _reloaded(self, served: Served) -> None:
        """A new config or table is current: what lives beside it follows."""
        cfg = served.cfg
        self.health.configure(
            {p.name: p.probe_interval_s for p in cfg.providers},
            {p.name: p.invalid_probe_interval_s for p in cfg.providers},
        )
        self.accounting.prices = PriceTable(cfg.pricing.models, defaults=cfg.pricing.defaults)
        self.bodies = BodyLimits(cfg.server, self.bodies.loop)
        logs.configure(cfg.logging)
        mode = cfg.logging.access
        if mode == "off":
            if self.access is not None:
                self.access.close()
                self.access = None
        elif self.access is None:
            self.access = AccessLog(
                mode, cfg.logging.format, cfg.logging.access_log_buffer, self.accounting.access_log_dropped
            )
        else:
            self.access.configure(mode, cfg.logging.format, cfg.logging.access_log_buffer)
        for group, policy in served.policies.items():
            if group not in self._queue_gauges:  # a room outlives reloads: one gauge each
                self._queue_gauges.add(group)
                self.accounting.metrics.gauge_source(QUEUE_DEPTH, policy.room.queued, (group,))

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.live.stop()
        loop.run_until_complete(self.pool.close())
        if self.access is not None:
            self.access.close()
        if self.tracing is not None:
            self.tracing.close()
        # granian has let in-flight requests finish: every answered request is buffered; write it.
        loop.run_until_complete(self.accounting.close())
        if self.cluster is not None:
            loop.run_until_complete(self.cluster.close())
        self.store.close()
        self.region.release_worker()  # a clean stop, not a death for the supervisor to mend
        self.region.close()

    async def __rsgi__(self, scope: Scope, proto: HTTPProtocol) -> None:
        if scope.proto != "http":
            return
        rid = f"{self._id_prefix}{next(self._ids):x}"
        path = scope.path
        served = self.live.current  # this request's config and tables, to its last byte
        if path == "/health":
            body = b'{"status":"ok","generation":%d,"config":%d}' % (served.generation, served.epoch)
            proto.response_bytes(200, [("x-request-id", rid), JSON], body)
            return
        caller: Caller = ANTHROPIC_ERRORS if path == MESSAGES_PATH else OPENAI
        headers = scope.headers
        route_name = ROUTE_NAMES.get(path) or ("prompt" if path.startswith(prompt.PREFIX) else "")
        method = scope.method
        client = scope.client or ""
        trace = Trace(rid, client, headers.get("user-agent") or "", route_name, method, path)
        # A whole answer's record is made as it goes out (a stream's once it is over).
        ctx = RequestContext(proto, trace, caller, [("x-request-id", rid)], self._answered)
        if self.connections.enabled and self.connections.last(client):
            ctx.headers.append(CLOSE)
        # W3C trace context: the caller's trace id for the access log, passed on upstream.
        parent = traceparent.parse(headers.get("traceparent"))
        if parent is not None:
            trace.trace_id = parent.trace_id
            state = headers.get("tracestate")
            ctx.upstream_headers = traceparent.upstream_lines(parent, state)
        tracing = self.tracing
        if tracing is not None:
            span = trace.span = tracing.request(method, path, parent, rid)
            trace.trace_id = span.trace_id
        self.in_flight += 1
        try:
            await self._handle(ctx, served, method, path, headers)
        except GatewayError as exc:
            ctx.fail(exc)
        except Exception:
            log.exception("request %s failed", rid)
            message = (
                f"The gateway failed to handle this request (request id {rid}). Retry; if it "
                "persists, report the request id to the operator."
            )
            ctx.fail(GatewayError(500, "api_error", "internal_error", message))
        finally:
            self.in_flight -= 1
            if not trace.recorded:  # a stream: recorded once it is over
                self._answered(trace)
            if self.access is not None:
                self.access.log(trace)
            if trace.span is not None:
                trace.span.end(trace.rec, trace.group)

    def _answered(self, trace: Trace) -> None:
        """The request's record, made as its answer goes out (RequestContext) or its stream ends."""
        trace.recorded = True
        self.accounting.finish(trace.record(self.accounting.prices))

    async def _handle(
        self, ctx: RequestContext, served: Served, method: str, path: str, headers: Headers
    ) -> None:
        proto, trace = ctx.proto, ctx.trace
        reader = BODY_READERS.get(path) if method == "POST" else None
        body = b""
        request: RequestBody | None = None
        body_error = None
        prompt_api = retired = None
        if reader is None and method == "POST" and path.startswith(prompt.PREFIX):
            # A prompt API: its variables become a chat request on the service's group.
            prompt_api, retired = prompt.lookup(served.services, path)
            if prompt_api is not None:
                reader = BODY_READERS["/v1/chat/completions"]
        elif reader is anthropic_ingress.chat_request:
            # Read as the caller's anthropic-version has it.
            reader = functools.partial(reader, version=headers.get("anthropic-version"))
        if reader is not None:
            declared = headers.get("content-length")
            bodies = self.bodies
            if declared is not None and declared.isdigit() and (size := int(declared)) <= bodies.max_bytes:
                with bodies.watch(size):  # the common case, without read's coroutine
                    body = await proto()
            else:
                body = await bodies.read(proto, declared)
            ctx.trace.bytes_in = len(body)
            try:
                if prompt_api is not None:
                    body = prompt.render(prompt_api, body)  # the chat request read below
                fast = FAST_READERS.get(path)
                try:
                    # The msgspec decoder itself: a body that fails it goes through the reader,
                    # which explains the failure.
                    request = fast(body) if fast is not None else reader(body)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    body = lone_surrogates_replaced(body)
                    request = reader(body)
            except GatewayError as exc:
                body_error = exc.detached()  # answered once the caller is known

        table = served.table
        # Token limits admit on an estimate (body size for the prompt, plus the output cap) and
        # settle with the real usage once the response is done.
        estimate = 0
        if request is not None:
            estimate = len(body) // 4 + (getattr(request, "max_tokens", None) or 0)
        model = request.model if request is not None else None
        trace.rec.model = model or ""
        key = credential(headers)
        client = trace.rec.client  # read from granian once, in __rsgi__
        decision = table.admit(method, path, key, model, estimate, client=client)
        if isinstance(decision, Rejection) and decision.code == POOL_RATE_LIMITED:
            admit = functools.partial(table.admit, method, path, key, model, estimate, client=client)
            decision = await self._no_key(served, decision, model or "", admit)
        if not isinstance(decision, Rejection) and (
            decision.remote is not None or decision.refill is not None
        ):
            decision = await self._shared(table, decision)
        if isinstance(decision, Rejection):
            if decision.code == "model_not_found" and model in served.services.retired:
                raise errors.gone(served.services.retired[model])
            if decision.consumer is not None:
                key_id, tenant, app = decision.consumer
                trace.admitted(tenant, app, key_id)
            ctx.fail(decision)
            return
        trace.admitted(decision.tenant, decision.app, decision.key_id)
        if body_error is not None:
            ctx.fail(body_error)
            return

        route = decision.route
        if route == ROUTE_PROMPT and decision.group is None:
            # Authenticated, but no prompt API is served at this path.
            if retired is not None:
                raise errors.gone(retired)
            raise GatewayError(404, "invalid_request_error", "unknown_url", f"No prompt API at {path}.")
        capture = served.captures.get(decision.group) if decision.group is not None else None
        if capture is not None:
            trace.capturing(capture, body)
        if route == ROUTE_MODELS:
            names = self._model_names(served, decision)
            listing = openai_bodies.ModelList(data=[openai_bodies.ModelCard(id=n) for n in names])
            ctx.answer(200, openai_bodies.MODEL_LIST_ENCODER.encode(listing))
            return
        assert request is not None and model is not None
        service = served.services.routes.get(decision.group or "")
        defaults = None
        if service is not None:
            # A service has its model group's retry rules; a deprecated one says so in headers.
            group = service.model_group
            ctx.headers = [*ctx.headers, *service.headers]
            defaults = service.defaults
        else:
            group = served.canonical.get(model, model)  # an alias has its group's retry rules
        policy = served.policies[group]
        clamp = policy.clamp_params
        ctx.trace.group = group
        exchange: Exchange
        if route == ROUTE_PROMPT:
            assert prompt_api is not None and isinstance(request, canonical.ChatRequest)
            exchange = ChatExchange(body, request, clamp=clamp)
            ctx.caller = prompt.PromptCaller(prompt_api)
        elif route == ROUTE_MESSAGES:
            assert isinstance(request, canonical.ChatRequest)
            exchange = ChatExchange.translated(request, defaults, clamp=clamp)
            ctx.caller = AnthropicCaller(model)
        elif route == ROUTE_CHAT:
            assert isinstance(request, canonical.ChatRequest)
            exchange = ChatExchange(body, request, defaults, clamp=clamp)
        else:
            assert isinstance(request, canonical.EmbeddingsRequest)
            exchange = EmbeddingsExchange(body, request)
        ctx.headers = [*ctx.headers, *limit_headers(decision)]
        ctx.table, ctx.decision, ctx.exchange = table, decision, exchange
        tokens = -1
        try:
            tokens = await forward(ctx, policy, self.pool, self.health)
        finally:
            # Cost budgets settle with what the call cost (micro-USD), priced as its record is.
            cost = trace.cost(self.accounting.prices) if tokens > 0 else 0.0
            table.finish(decision, tokens, round(cost * 1_000_000))
            if decision.remote is not None and tokens >= 0 and self.cluster is not None:
                self.cluster.settle(decision, tokens)  # exact mode: token limits in Redis

    async def _shared(self, table: Any, decision: Any) -> Any:
        """Limits the cluster shares: refill leases running low without waiting, and charge in
        Redis what admission left to this worker (the decision, or the rejection to answer)."""
        assert self.cluster is not None  # admission asks only when the region says it is clustered
        if decision.refill is not None:
            self.cluster.refill(decision.refill)
        if decision.remote is not None:
            rejection = await self.cluster.charge(table, decision)
            if rejection is not None:
                return rejection
        return decision

    def front_error(
        self, path: str, status: int, code: str, message: str
    ) -> tuple[list[tuple[str, str]], bytes]:
        """The native front's own refusals (a head too large, too slow or malformed), in the
        format of the API the path belongs to (gateway/front/server.py)."""
        caller = ANTHROPIC_ERRORS if path == MESSAGES_PATH else OPENAI
        return [JSON], caller.error(GatewayError(status, "invalid_request_error", code, message))

    def _model_names(self, served: Served, decision: Decision) -> list[str]:
        """The models this key may call: its app's model groups and its subscribed services."""
        allowed, services = decision.models, decision.services
        aliases = served.services.aliases
        names = []
        for name in served.table.group_names():
            if name in served.services.routes or name in aliases:
                if aliases.get(name, name) in services:
                    names.append(name)
            elif allowed is None or served.canonical.get(name, name) in allowed:
                names.append(name)
        return names

    async def _no_key(
        self, served: Served, rejection: Rejection, model: str, admit: Callable[[], Decision | Rejection]
    ) -> Decision | Rejection:
        """Admission found no key that can serve: the refusal names why. Only a rate-limited pool
        recovers at a known time; in queue mode the request waits for it (if the group allows) and
        `admit`s again."""
        route = served.services.routes.get(model)
        group = route.model_group if route is not None else served.canonical.get(model, model)
        policy = served.policies[group]
        groups = (group, *policy.fallbacks)
        deadline = time.monotonic() + policy.max_wait_s
        decision: Decision | Rejection = self.health.pool_refusal(groups, rejection)
        while isinstance(decision, Rejection) and decision.code == POOL_RATE_LIMITED:
            if not await policy.room.wait(decision, deadline):
                break
            decision = admit()
            if isinstance(decision, Rejection) and decision.code == POOL_RATE_LIMITED:
                decision = self.health.pool_refusal(groups, decision)
        return decision


app = Gateway()
