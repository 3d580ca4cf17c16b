"""A small pure-Python implementation of the native admission core, with the same interface.

It is the executable specification: the native tests run against both, and where they disagree
one of them has a bug.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from . import budgets, limiter
from . import layout as L
from . import rejections as rej
from .networks import allowed_from
from .reference_region import ReferenceRegion
from .spec import KIND_COST, KIND_REQUESTS, KIND_TOKENS, AdmissionSpec, BudgetSpec, ConsumerSpec, LimitSpec


@dataclass
class _Limit:
    word: int
    emission: int  # ns per unit, rounded up
    tolerance: int  # burst * emission
    tokens: bool
    amount: int
    spec: LimitSpec  # what a refusal says
    # This node's lease of a shared limit: word indexes and the units a refill asks for.
    lease_units: int = 0
    lease_empty: int = 0
    lease_refill: int = 0
    chunk: int = 0

    @property
    def shared(self) -> bool:
        return self.spec.shared

    def asked(self, cost: int, chunk: int) -> tuple[int, int, int, int, int, bool]:
        return (self.spec.id, self.emission, self.tolerance, cost, chunk, self.tokens)


# How a decision's shared limits were charged (the native core's SHARE_*).
SHARE_LOCAL, SHARE_LEASE, SHARE_EXACT, SHARE_DEGRADED = 0, 1, 2, 3
REFILL_STALE_NS = 1_000_000_000


@dataclass
class _Budget:
    word: int
    spec: BudgetSpec


# Keys weighed per pick by the headroom strategy (the native core's _CANDIDATES).
CANDIDATES = 8


def _limit(s: LimitSpec, region: ReferenceRegion, lease_ns: int) -> _Limit:
    emission = -(-s.period_s * 1_000_000_000 // s.amount)  # rounded up: never over-admit
    lim = _Limit(
        word=region.bucket(s.id),
        emission=emission,
        tolerance=s.burst * emission,
        tokens=s.kind == KIND_TOKENS,
        amount=s.amount,
        spec=s,
    )
    if s.shared:
        lim.lease_units = region.bucket(L.LEASE_UNITS_TAG | s.id)
        lim.lease_empty = region.bucket(L.LEASE_EMPTY_TAG | s.id)
        lim.lease_refill = region.bucket(L.LEASE_REFILL_TAG | s.id)
        lim.chunk = min(max(1, lease_ns // emission), s.burst)
    return lim


class Decision:
    def __init__(self, route: int, key_id: str, tenant: str, app: str, models: frozenset[str] | None):
        self.route = route
        self.key_id = key_id
        self.tenant = tenant
        self.app = app
        self.models = models
        self.group: str | None = None
        self.target: Any = None
        self.slot = -1
        self.estimated_tokens = 0
        self.requests_limit = self.tokens_limit = -1
        self.requests_remaining = self.requests_reset_ns = 0
        self.tokens_remaining = self.tokens_reset_ns = 0
        self.params: dict[str, str] | None = None
        self.services: frozenset[str] = frozenset()
        self.token_limits: list[_Limit] = []
        # Shared limits the caller charges in Redis (Decision.remote in the stub), leases to refill.
        self.remote: list[tuple[int, int, int, int, int, bool]] | None = None
        self.refill: list[tuple[int, int, int, int, int, bool]] | None = None
        self.remote_limits: list[_Limit] = []
        self.share = SHARE_LOCAL
        self.nodes = 1
        self.limits: list[_Limit] = []
        # (budget, period index, amount charged at admission) for each budget charged.
        self.budget_charges: list[tuple[_Budget, int, int]] = []
        self.finished = True
        self.group_entry: Any = None
        self.index = 0  # the key's place in its group, for its configured limits


class AdmissionTable:
    def __init__(self, spec: AdmissionSpec, region: ReferenceRegion):
        self.region = region
        self._routes = {k: v for k, v in spec.routes.items() if "{" not in k[1] and not k[1].endswith("/*")}
        self._paths = {path for (_, path) in self._routes}
        self._patterns = [(m, p, r) for (m, p), r in spec.routes.items() if (m, p) not in self._routes]
        lease_ns = region.cluster_state()[3]
        limits = {s.id: _limit(s, region, lease_ns) for s in spec.limits}
        budget_table = {b.id: _Budget(region.budget_word(b.id), b) for b in spec.budgets}
        self._consumers = {
            c.digest: (c, [limits[i] for i in c.limits], [budget_table[i] for i in c.budgets])
            for c in spec.consumers
        }
        self._groups = {
            g.name: (g, [region.key_slot(k) for k in g.key_ids], [limits[i] for i in g.limits])
            for g in spec.groups
        }
        # Per group, per target: its key's configured limits.
        self._key_limits = {
            g.name: [[limits[i] for i in ids] for ids in g.key_limits or [()] * len(g.targets)]
            for g in spec.groups
        }
        self._groups.update({alias: self._groups[g.name] for g in spec.groups for alias in g.aliases})
        # Per group, per tier: where the next scan starts; and the weighted strategy's state.
        self._next: dict[str, dict[int, int]] = {}
        self._current: dict[str, list[int]] = {}

    @property
    def consumer_count(self) -> int:
        return len(self._consumers)

    def group_names(self) -> list[str]:
        return sorted(self._groups)

    def admit(
        self,
        method: str,
        path: str,
        credential: str | None,
        model: str | None,
        estimated_tokens: int = 0,
        now: int = -1,
        wall: int = -1,
        client: str | None = None,
    ) -> Decision | rej.Rejection:
        route = self._routes.get((method, path))
        params = None
        if route is None:
            if path in self._paths:
                return rej.wrong_method(method, path)
            matches = [(m, r, bound) for m, p, r in self._patterns if (bound := _match(p, path)) is not None]
            same = [(r, bound) for m, r, bound in matches if m == method]
            if not same:
                return rej.wrong_method(method, path) if matches else rej.unknown_route(method, path)
            route, params = same[0]
        if not credential:
            return rej.missing_key()
        found = self._consumers.get(hashlib.sha256(credential.encode()).digest())
        if found is None:
            return rej.invalid_key()
        consumer, consumer_limits, consumer_budgets = found
        now = time.monotonic_ns() if now < 0 else now
        if consumer.expires_ns and now >= consumer.expires_ns:
            return rej.key_expired(consumer.expired)
        if consumer.networks is not None and not allowed_from(client, consumer.networks):
            return _refused(rej.network_not_allowed(client), consumer)
        d = Decision(route, consumer.key_id, consumer.tenant, consumer.app, consumer.models)
        d.services = consumer.services
        d.params = params
        if model is None:
            return d
        entry = self._groups.get(model)
        if entry is None:
            return rej.unknown_model(model)
        if entry[0].gated:
            if entry[0].name not in consumer.services:
                refusal = consumer.refusals.get(entry[0].name)
                return rej.not_subscribed(model, consumer.tenant, consumer.app, refusal)
        elif consumer.models is not None and entry[0].name not in consumer.models:
            return rej.unknown_model(model)
        group, slots, group_limits = entry
        d.group = group.name
        d.estimated_tokens = estimated_tokens
        d.limits = consumer_limits + group_limits
        mode, degraded, live, _ = self.region.cluster_state()
        d.share = SHARE_DEGRADED if mode != SHARE_LOCAL and degraded else mode
        d.nodes = max(1, live)
        charged: list[_Limit] = []
        for lim in d.limits:
            rejection = self._take(d, lim, now)
            if rejection is not None:
                self._refund(d, charged)
                return _refused(rejection, consumer)
            charged.append(lim)
        if consumer_budgets:
            rejection = self._charge_budgets(d, consumer_budgets, int(time.time()) if wall < 0 else wall)
            if rejection is not None:
                self._refund(d, charged)
                return _refused(rejection, consumer)
        index = self._choose(group, slots, now, estimated_tokens, None)
        serving = entry
        for name in group.fallbacks if index < 0 else ():
            serving = self._groups[name]
            index = self._choose(serving[0], serving[1], now, estimated_tokens, None)
            if index >= 0:
                break
        if index < 0:
            self._refund(d, charged)
            self._refund_budgets(d)
            # The caller may retry when the group or any of its fallbacks has a key back.
            recovery = min(
                self._earliest_recovery(g, s, now, estimated_tokens)
                for g, s, _ in [entry, *(self._groups[name] for name in group.fallbacks)]
            )
            return _refused(rej.pool_exhausted(group.name, recovery - now), consumer)
        d.group_entry = serving
        d.index = index
        group, slots, _ = serving
        d.target = group.targets[index]
        d.slot = slots[index]
        d.finished = False
        self.region.add_in_flight(d.slot, 1)
        return d

    def _pick(self, group: Any, slots: list[int], now: int, tokens: int, exclude: Any) -> int:
        start = 0
        for tier, size in enumerate(group.tier_sizes or (len(slots),)):
            index = self._pick_in(group, tier, start, size, slots, now, tokens, exclude)
            if index >= 0:
                return index
            start += size
        return -1

    def _pick_in(
        self,
        group: Any,
        tier: int,
        start: int,
        n: int,
        slots: list[int],
        now: int,
        tokens: int,
        exclude: Any,
    ) -> int:
        r = self.region
        nexts = self._next.setdefault(group.name, {})
        current = self._current.setdefault(group.name, [0] * len(slots))
        weights = group.weights or (1,) * len(slots)
        best, best_score, best_in_flight, seen, total = -1, 0.0, 0, 0, 0
        for i in range(n):
            if group.strategy == "headroom" and seen >= CANDIDATES and best >= 0:
                break
            index = start + (nexts.get(tier, 0) + i) % n
            slot = slots[index]
            if r.key(slot, L.K_STATE) != 0 or r.key(slot, L.K_COOL_UNTIL) > now:
                continue
            if exclude is not None and slot in exclude:
                continue
            room = self._key_limits_left(group, index, now, tokens)
            if room < 0:
                continue  # its configured limits cannot take this request now
            in_flight = r.key(slot, L.K_IN_FLIGHT)
            if _short(r, slot, now, tokens, in_flight):
                continue  # the provider's limiter has no room for it now
            if group.strategy == "round-robin":
                nexts[tier] = (index - start + 1) % n
                return index
            if group.strategy == "weighted":
                current[index] += weights[index]
                total += weights[index]
                if best < 0 or current[index] > current[best]:
                    best = index
                continue
            score = 1.0
            # What the limiter has left now, less what is in flight: past its reset a key has its
            # whole limit again, yet one back from a 429 must not win every pick until it answers.
            limit = r.key(slot, L.K_LIMIT_REQUESTS)
            if limit > 0:
                score = (_available(r, slot, now, _REQUESTS) - in_flight) / float(limit)
            limit = r.key(slot, L.K_LIMIT_TOKENS)
            if limit > 0:
                score = min(score, (_available(r, slot, now, _TOKENS) - tokens) / float(limit))
            score = min(score, room)
            seen += 1
            if best < 0 or score > best_score or (score == best_score and in_flight < best_in_flight):
                best, best_score, best_in_flight = index, score, in_flight
        if best >= 0:
            if group.strategy == "weighted":
                current[best] -= total
            else:
                nexts[tier] = (best - start + 1) % n
        return best

    def _earliest_recovery(self, group: Any, slots: list[int], now: int, tokens: int) -> int:
        times = []
        for index, slot in enumerate(slots):
            state = self.region.key(slot, L.K_STATE)
            if state == L.STATE_HEALTHY:
                wait = self._key_limits_wait(group, index, now, tokens)
                room = _provider_room_at(self.region, slot, now, tokens)
                if wait >= 0 and room >= 0:
                    times.append(max(self.region.key(slot, L.K_COOL_UNTIL), now + wait, room))
            elif state != L.STATE_DISABLED:
                times.append(self.region.key(slot, L.K_NEXT_PROBE))
        best = min(times) if times else now + 60 * 1_000_000_000
        return best if best > now else now + 1_000_000

    def _key_limits_left(self, group: Any, index: int, now: int, tokens: int) -> float:
        """What the key's configured limits would have left after this request, as a share of
        their burst (the smallest; 1.0 without any), or -1 when one cannot take it now."""
        left = 1.0
        for lim in self._key_limits[group.name][index]:
            cost = tokens if lim.tokens else 1
            if cost <= 0:
                continue
            after = max(self.region.words[lim.word], now) + cost * lim.emission - now
            if after > lim.tolerance:
                return -1.0
            left = min(left, (lim.tolerance - after) / lim.tolerance)
        return left

    def _key_limits_wait(self, group: Any, index: int, now: int, tokens: int) -> int:
        """ns until the key's configured limits can take this request (-1: never)."""
        wait = 0
        for lim in self._key_limits[group.name][index]:
            cost = tokens if lim.tokens else 1
            if cost <= 0:
                continue
            inc = cost * lim.emission
            if inc > lim.tolerance:
                return -1
            wait = max(wait, max(self.region.words[lim.word], now) + inc - now - lim.tolerance)
        return wait

    def _choose(self, group: Any, slots: list[int], now: int, tokens: int, exclude: Any) -> int:
        while True:
            index = self._pick(group, slots, now, tokens, exclude)
            if index < 0 or self._charge_key_limits(group, index, now, tokens):
                return index
            exclude = {*(exclude or ()), slots[index]}

    def _charge_key_limits(self, group: Any, index: int, now: int, tokens: int) -> bool:
        charged: list[_Limit] = []
        for lim in self._key_limits[group.name][index]:
            cost = tokens if lim.tokens else 1
            if cost <= 0:
                continue
            with self.region.atomically():
                tat = self.region.words[lim.word]
                new_tat = max(tat, now) + cost * lim.emission
                if new_tat - now > lim.tolerance:
                    fits = False
                else:
                    self.region.words[lim.word] = new_tat
                    fits = True
            if not fits:
                for done in charged:
                    self.region.add(done.word, -(tokens if done.tokens else 1) * done.emission)
                return False
            charged.append(lim)
        return True

    def _settle_key_limits(self, d: Decision, actual_tokens: int) -> None:
        for lim in self._key_limits[d.group_entry[0].name][d.index]:
            if lim.tokens:
                self.region.add(lim.word, (actual_tokens - d.estimated_tokens) * lim.emission)

    def repick(
        self, d: Decision, exclude: Any = None, now: int = -1, group: str | None = None
    ) -> rej.Rejection | None:
        now = time.monotonic_ns() if now < 0 else now
        if d.slot >= 0 and not d.finished:
            self.region.add_in_flight(d.slot, -1)
            self._settle_key_limits(d, 0)  # the key that failed used no tokens
        if group is not None:
            d.group_entry = self._groups[group]
        entry, slots, _ = d.group_entry
        index = self._choose(entry, slots, now, d.estimated_tokens, exclude)
        if index < 0:
            d.slot, d.target = -1, None
            return rej.pool_exhausted(
                entry.name, self._earliest_recovery(entry, slots, now, d.estimated_tokens) - now
            )
        d.index = index
        d.target, d.slot = entry.targets[index], slots[index]
        if not d.finished:
            self.region.add_in_flight(d.slot, 1)
        return None

    def _take(self, d: Decision, lim: _Limit, now: int) -> rej.Rejection | None:
        cost = d.estimated_tokens if lim.tokens else 1
        if cost <= 0:
            return None
        emission = lim.emission
        if lim.shared and d.share != SHARE_LOCAL:
            if d.share == SHARE_DEGRADED:
                emission *= d.nodes  # this node's share: 1/nodes of the rate
            else:
                wait = self._take_shared(d, lim, cost, now)
                if wait:
                    return rej.rate_limited(lim.spec, wait)
                if lim.tokens:
                    d.token_limits.append(lim)
                return None
        with self.region.atomically():
            tat = self.region.words[lim.word]
            new_tat = max(tat, now) + cost * emission
            if new_tat - now > lim.tolerance:
                wait = new_tat - now - lim.tolerance
                return rej.rate_limited(lim.spec, wait)
            self.region.words[lim.word] = new_tat
        remaining = (lim.tolerance - (new_tat - now)) // emission
        if lim.tokens:
            d.token_limits.append(lim)
            if d.tokens_limit < 0 or remaining < d.tokens_remaining:
                d.tokens_limit, d.tokens_remaining, d.tokens_reset_ns = lim.amount, remaining, new_tat - now
        elif d.requests_limit < 0 or remaining < d.requests_remaining:
            d.requests_limit, d.requests_remaining, d.requests_reset_ns = lim.amount, remaining, new_tat - now
        return None

    def _take_shared(self, d: Decision, lim: _Limit, cost: int, now: int) -> int:
        """Exact: left to the caller. Lease: spend the node's lease, or have the caller ask the
        cluster; ns until the cluster has some when it is known to have none (a refusal)."""
        if d.share == SHARE_EXACT:
            self._ask(d, lim, cost, 0)
            return 0
        w = self.region.words
        with self.region.atomically():
            left = w[lim.lease_units]
            if left >= cost:
                w[lim.lease_units] = left - cost
                started = w[lim.lease_refill]
                if (
                    left - cost <= lim.chunk // 2
                    and (started == 0 or now - started > REFILL_STALE_NS)
                    and w[lim.lease_empty] <= now
                ):
                    w[lim.lease_refill] = now
                    d.refill = [*(d.refill or ()), lim.asked(0, lim.chunk)]
                return 0
            empty = w[lim.lease_empty]
        if empty > now:
            return int(empty - now)
        self._ask(d, lim, cost, lim.chunk)
        return 0

    @staticmethod
    def _ask(d: Decision, lim: _Limit, cost: int, chunk: int) -> None:
        d.remote = [*(d.remote or ()), lim.asked(cost, chunk)]
        d.remote_limits.append(lim)

    def _refund(self, d: Decision, charged: list[_Limit]) -> None:
        for lim in charged:
            cost = d.estimated_tokens if lim.tokens else 1
            if cost > 0:
                self._refund_one(d, lim, cost)

    def _refund_one(self, d: Decision, lim: _Limit, cost: int) -> None:
        if not lim.shared or d.share == SHARE_LOCAL:
            self.region.add(lim.word, -cost * lim.emission)
        elif d.share == SHARE_DEGRADED:
            self.region.add(lim.word, -cost * lim.emission * d.nodes)
        elif d.share == SHARE_LEASE and lim not in d.remote_limits:
            self.region.add(lim.lease_units, cost)

    def refuse(self, d: Decision, limit_id: int, wait_ns: int) -> rej.Rejection:
        refused = next((lim for lim in d.remote_limits if lim.spec.id == limit_id), None)
        if refused is None:
            raise KeyError(limit_id)
        self._release(d)
        rejection = rej.rate_limited(refused.spec, wait_ns)
        rejection.consumer = (d.key_id, d.tenant, d.app)
        return rejection

    def charge_locally(self, d: Decision, now: int = -1) -> rej.Rejection | None:
        if d.share in (SHARE_LOCAL, SHARE_DEGRADED):
            return None
        now = time.monotonic_ns() if now < 0 else now
        shared = [lim for lim in d.limits if lim.shared and (d.estimated_tokens if lim.tokens else 1) > 0]
        self._refund(d, shared)
        d.remote, d.remote_limits = None, []
        d.share, d.nodes = SHARE_DEGRADED, max(1, self.region.cluster_state()[2])
        d.token_limits = [lim for lim in d.token_limits if not lim.shared]
        charged: list[_Limit] = []
        for lim in shared:
            rejection = self._take(d, lim, now)
            if rejection is not None:
                self._refund(d, charged)
                self._refund(d, [lim for lim in d.limits if not lim.shared])
                self._release_rest(d)
                rejection.consumer = (d.key_id, d.tenant, d.app)
                return rejection
            charged.append(lim)
        return None

    def _release(self, d: Decision) -> None:
        self._refund(d, d.limits)
        self._release_rest(d)

    def _release_rest(self, d: Decision) -> None:
        self._refund_budgets(d)
        if d.slot >= 0 and not d.finished:
            self.region.add_in_flight(d.slot, -1)
            self._settle_key_limits(d, 0)
        d.finished = True
        d.token_limits = []

    def _charge_budgets(
        self, d: Decision, consumer_budgets: list[_Budget], wall: int
    ) -> rej.Rejection | None:
        # A budget admits while it is not used up: requests cost 1, tokens the estimate, cost
        # nothing until finish() knows it.
        for b in consumer_budgets:
            s = b.spec
            index = budgets.period_index(s.period, wall)
            charge = 1 if s.kind == KIND_REQUESTS else d.estimated_tokens if s.kind == KIND_TOKENS else 0
            if not self.region.charge_budget(b.word, index, s.amount, charge):
                self._refund_budgets(d)
                if s.used_up:
                    return rej.key_used_up(s.used_up)
                return rej.budget_exhausted(s, index, wall)
            d.budget_charges.append((b, index, charge))
        return None

    def _refund_budgets(self, d: Decision) -> None:
        for b, index, charge in d.budget_charges:
            if charge:
                self.region.settle_budget(b.word, index, -charge)
        d.budget_charges = []

    def finish(self, d: Decision, actual_tokens: int = -1, cost_micros: int = -1) -> None:
        """Release the in-flight count; settle token limits and token budgets with the real usage
        (-1: unknown, keep the estimate) and cost budgets with the real cost in micro-USD."""
        if d.finished:
            return
        d.finished = True
        if d.slot >= 0:
            self.region.add_in_flight(d.slot, -1)
            if actual_tokens >= 0:
                self._settle_key_limits(d, actual_tokens)
        if actual_tokens >= 0 and actual_tokens != d.estimated_tokens:
            delta = actual_tokens - d.estimated_tokens
            for lim in d.token_limits:
                if not lim.shared or d.share == SHARE_LOCAL:
                    self.region.add(lim.word, delta * lim.emission)
                elif d.share == SHARE_DEGRADED:
                    self.region.add(lim.word, delta * lim.emission * d.nodes)
                elif d.share == SHARE_LEASE:
                    self.region.add(lim.lease_units, -delta)
                # Exact: the caller settles it in Redis.
        for b, index, charge in d.budget_charges:
            if b.spec.kind == KIND_TOKENS and actual_tokens >= 0 and actual_tokens != charge:
                self.region.settle_budget(b.word, index, actual_tokens - charge)
            elif b.spec.kind == KIND_COST and cost_micros > 0:
                self.region.settle_budget(b.word, index, cost_micros)


def _refused(rejection: rej.Rejection, consumer: ConsumerSpec) -> rej.Rejection:
    # Who was refused, for the call log: the key was good, a limit or budget said no.
    rejection.consumer = (consumer.key_id, consumer.tenant, consumer.app)
    return rejection


# Where a limit's words start in a key record: remaining, reset and limit follow one another.
_REQUESTS = (L.K_REMAINING_REQUESTS, L.K_LEARNED_REQUESTS)
_TOKENS = (L.K_REMAINING_TOKENS, L.K_LEARNED_TOKENS)


def _figures(r: ReferenceRegion, slot: int, kind: tuple[int, int]) -> tuple[int, int, int, int, int]:
    at, learned = kind
    return (
        r.key(slot, L.K_LIMITER),
        r.key(slot, at),
        r.key(slot, at + 1),
        r.key(slot, at + 2),
        r.key(slot, learned),
    )


def _available(r: ReferenceRegion, slot: int, now: int, kind: tuple[int, int]) -> float:
    return limiter.available(*_figures(r, slot, kind), now)


def _short(r: ReferenceRegion, slot: int, now: int, tokens: int, in_flight: int) -> bool:
    """By what the provider last said (and the requests in flight on the key), a request sent now
    would be refused: no request left, or fewer tokens than the estimate."""
    if (
        r.key(slot, L.K_LIMIT_REQUESTS) > 0
        and r.key(slot, L.K_RESET_REQUESTS) > now
        and _available(r, slot, now, _REQUESTS) - in_flight < 1
    ):
        return True
    return (
        r.key(slot, L.K_LIMIT_TOKENS) > 0
        and r.key(slot, L.K_RESET_TOKENS) > now
        and tokens > _available(r, slot, now, _TOKENS)
    )


def _provider_room_at(r: ReferenceRegion, slot: int, now: int, tokens: int) -> int:
    """When, by what the provider last said, the key has room for this request (-1: never)."""
    at = now
    if r.key(slot, L.K_LIMIT_REQUESTS) > 0:
        at = limiter.room_at(*_figures(r, slot, _REQUESTS), now, 1 + r.key(slot, L.K_IN_FLIGHT))
    if r.key(slot, L.K_LIMIT_TOKENS) > 0 and tokens > 0:
        if tokens > r.key(slot, L.K_LIMIT_TOKENS):
            return -1
        at = max(at, limiter.room_at(*_figures(r, slot, _TOKENS), now, tokens))
    return at


def _match(pattern: str, path: str) -> dict[str, str] | None:
    """`/a/{x}/b` matches `/a/1/b` ({"x": "1"}); `/a/*` matches `/a` and anything below it."""
    prefix = pattern.endswith("/*")
    want = (pattern[:-2] if prefix else pattern).split("/")
    got = path.split("/")
    if len(got) < len(want) or (not prefix and len(got) != len(want)):
        return None
    params = {}
    for w, g in zip(want, got, strict=False):
        if w.startswith("{") and w.endswith("}"):
            if not g:
                return None
            params[w[1:-1]] = g
        elif w != g:
            return None
    return params
