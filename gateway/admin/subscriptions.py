"""Admin endpoints for subscriptions: an app of one tenant subscribes to another's service, the
service's tenant approves or rejects it (when the service asks for approval), either may revoke."""

from __future__ import annotations

import msgspec
from aiohttp import web

from ..store.tenancy_records import Decision, NewSubscription, Subscription
from .access import DEVELOP, MANAGE, READ
from .responses import decode, int_param, json_response, principal
from .routes import Endpoint, Param
from .tenant_scope import ScopedAPI

SUBSCRIPTION_ACTIONS = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}


class SubscriptionsAPI(ScopedAPI):
    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/admin/subscriptions",
                "Subscribe an app to a service (pending if it needs approval)",
                Subscription,
                self.subscribe,
                request=NewSubscription,
                status=201,
                reaches_workers=True,
            ),
            Endpoint(
                "GET",
                "/admin/subscriptions",
                "Subscriptions a tenant is party to: its apps' and those to its services",
                list[Subscription],
                self.list_subscriptions,
                params=(Param("tenant", "query", "Only this tenant's"),),
                tenant_query=True,
            ),
            Endpoint(
                "POST",
                "/admin/subscriptions/{subscription_id}/{action}",
                "approve or reject (the service's owner or admin), or revoke",
                Subscription,
                self.decide,
                request=Decision,
                params=(
                    Param("subscription_id", "path", "The subscription's id"),
                    Param("action", "path", "approve, reject or revoke"),
                ),
                reaches_workers=True,
            ),
        ]

    async def subscribe(self, request: web.Request) -> web.Response:
        body: NewSubscription = await decode(request, NewSubscription)
        tenant = self.scope.require_app(request, body.app, body.tenant, DEVELOP)
        return json_response(self.store.subscribe(body.service, body.app, tenant), 201)

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        tenant = request.query.get("tenant")
        self.scope.require_listing(request, tenant, READ)
        return json_response(self.store.list_subscriptions(tenant))

    async def decide(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in SUBSCRIPTION_ACTIONS:
            raise msgspec.ValidationError(f"action must be one of {', '.join(SUBSCRIPTION_ACTIONS)}")
        who = principal(request)
        subscription_id = int_param(request.match_info["subscription_id"], "subscription_id") or 0
        current = self.scope.find(
            request, lambda: self.store.subscription(subscription_id), f"subscription {subscription_id}"
        )
        body: Decision = await decode(request, Decision) if await request.read() else Decision()
        if action == "revoke" and who.tenant == current.tenant and who.tenant != current.service_tenant:
            self.scope.require(request, current.tenant, DEVELOP)  # a subscriber may cancel its own
        else:
            self.scope.require(request, current.service_tenant, MANAGE)
        state = SUBSCRIPTION_ACTIONS[action]
        return json_response(self.store.decide(subscription_id, state, body.reason, who.user))
