"""Try a prompt API from the admin API: call a served version as an app, through the data plane.

No back door: the caller must be allowed to create a consumer key for the app (as for
`POST /admin/keys`); aigw then mints a one-use temporary key for that app (one request, a short
TTL, the service only, usable from this node's own address only), calls the version's route
`/apis/<service>/v<n>` on the data plane over the node's own network, and revokes the key. So
authentication, the subscription check, limits, budgets and the call log apply as for any caller,
and the call is logged under the app and that key. A draft is not served by the data plane, so it
cannot be tried: publish it first (a draft of the app's own tenant is answered 409 saying so).
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec
from aiohttp import web

from ..store import NotFound, Store
from ..store.records import Allowed
from ..store.tenancy_records import SERVED_STATES
from .access import DEVELOP
from .propagation import Propagation
from .responses import decode, error_response, int_param, json_response, principal
from .routes import Endpoint, Param
from .tenant_scope import ScopedAPI, TenantScope

# The one-use key's lifetime: it is used at once and revoked after; this bounds a key whose
# revocation failed (the node stopped mid-call).
KEY_TTL_S = 60.0
# A model may take its time to answer; the data plane's own timeouts end the call before this.
CALL_TIMEOUT_S = 300.0


class TryPrompt(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Call a prompt API version as `app` with these variables (the JSON body a caller sends)."""

    app: str
    tenant: str | None = None
    variables: dict[str, Any] = {}


class TryResult(msgspec.Struct, kw_only=True):
    """What the data plane answered the call: its status and body (the prompt API's answer, or
    its error in OpenAI's shape), the call's request id in the call log, and the one-use key's
    id (revoked by the time of this answer)."""

    status: int
    answer: Any
    request_id: str | None = None
    key_id: str
    # Deprecation, Sunset and the x-ratelimit-* headers the data plane sent, lower-cased.
    headers: dict[str, str] = {}


_KEPT_HEADERS = ("deprecation", "sunset", "retry-after")


class TryPromptAPI(ScopedAPI):
    def __init__(self, store: Store, scope: TenantScope, dataplane_url: str, propagation: Propagation | None):
        super().__init__(store, scope)
        self.dataplane_url = dataplane_url
        self.propagation = propagation
        self.networks = _own_networks(dataplane_url)
        self._session: aiohttp.ClientSession | None = None

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/admin/services/{service}/versions/{version}/try",
                "Call a published prompt API version as an app (who may create its keys), through "
                "the data plane with a one-use key: subscriptions, limits, budgets and the call log apply",
                TryResult,
                self.try_version,
                request=TryPrompt,
                params=(
                    Param("service", "path", "The service's name"),
                    Param("version", "path", "The version number"),
                ),
                # Answered once every worker has the one-use key's revocation, like any revocation.
                reaches_workers=True,
            )
        ]

    async def try_version(self, request: web.Request) -> web.Response:
        body: TryPrompt = await decode(request, TryPrompt)
        tenant = self.scope.require_app(request, body.app, body.tenant, DEVELOP)
        name = request.match_info["service"]
        version = int_param(request.match_info["version"], "version") or 0
        if "stream" in body.variables:
            raise msgspec.ValidationError("a try answers whole: leave out `stream` - at `$.variables`")
        refused = self._not_servable(name, version, tenant)
        if refused is not None:
            return refused
        record, secret = self.store.create_key(
            body.app,
            tenant,
            f"try {name} v{version} ({principal(request).user})",
            expires_at=time.time() + KEY_TTL_S,
            temporary=True,
            max_requests=1,
            allowed=Allowed(services=[name], models=[], networks=self.networks),
        )
        try:
            if self.propagation is not None and not await self.propagation.served(self.store.generation()):
                return error_response(
                    503,
                    "not_loaded",
                    "The data plane's workers did not load the one-use key in time; try again.",
                    "api_error",
                )
            return await self._call(name, version, body.variables, secret, record.id)
        finally:
            self.store.revoke_key(record.id)

    def _not_servable(self, name: str, version: int, tenant: str) -> web.Response | None:
        """A 409 for a version of the app's own tenant that the data plane does not serve as a
        prompt API. Other tenants' versions are the data plane's to answer (404 for a draft, as
        for any caller): nothing about them is told here."""
        try:
            service = self.store.service(name)
        except NotFound:
            return None
        if service.tenant != tenant:
            return None
        found = next((v for v in service.versions if v.version == version), None)
        if found is None:
            return None
        if found.state == "draft":
            return error_response(
                409,
                "version_not_published",
                f"Version {version} of service '{name}' is a draft, which the data plane does not "
                "serve: publish it to try it.",
            )
        if found.kind != "prompt" and found.state in SERVED_STATES:
            return error_response(
                409,
                "not_a_prompt_api",
                f"Version {version} of service '{name}' is a model route: call it as model "
                f"'{name}/v{version}' on /v1/chat/completions.",
            )
        return None

    async def _call(
        self, name: str, version: int, variables: dict[str, Any], secret: str, key_id: str
    ) -> web.Response:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_S))
        url = f"{self.dataplane_url}/apis/{name}/v{version}"
        try:
            async with self._session.post(
                url, json=variables, headers={"Authorization": f"Bearer {secret}"}
            ) as resp:
                raw = await resp.read()
                headers = {
                    k.lower(): v
                    for k, v in resp.headers.items()
                    if k.lower() in _KEPT_HEADERS or k.lower().startswith("x-ratelimit-")
                }
                status, request_id = resp.status, resp.headers.get("x-request-id")
        except (aiohttp.ClientError, TimeoutError):
            return error_response(
                502, "dataplane_unreachable", "The node's data plane did not answer the call.", "api_error"
            )
        try:
            answer: Any = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            answer = raw.decode("utf-8", "replace")
        return json_response(
            TryResult(status=status, answer=answer, request_id=request_id, key_id=key_id, headers=headers)
        )

    async def close(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()


def _own_networks(dataplane_url: str) -> list[str] | None:
    """The one address the listener calls the data plane from (the data plane's own, on this
    host), so the one-use key is refused from anywhere else; None when the URL names a host."""
    host = urlsplit(dataplane_url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return [str(ipaddress.ip_network(address))]
