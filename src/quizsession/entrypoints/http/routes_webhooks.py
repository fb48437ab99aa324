"""Administrator routes for webhook endpoints (``X-API-Key``): register, list,
get, change (enable, disable, rotate the signing secret), remove, the delivery
log and a redelivery. Part of the admin router (``routes_admin.admin_router``);
each change is audited like the other administrators' changes (the audit line
names the endpoint id). What is sent: the README's "Integrating a backend"."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Response, delete, get, patch, post
from litestar.params import Parameter

from quizsession.api.webhooks import (
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookEndpoint,
    WebhookEndpointBody,
    WebhookEndpointList,
    WebhookEndpointPatch,
)
from quizsession.domain.errors import ErrorCode
from quizsession.entrypoints.http.context import AnyRequest, container, require_admin
from quizsession.entrypoints.http.openapi_docs import (
    API_KEY,
    API_KEY_CODES,
    JSON_BODY,
    NO_CONTENT,
    QUERY,
    SERVICE,
    ApiOperation,
    problem_responses,
)

PATH = "/webhooks"
ONE = "/webhooks/{endpoint_id:str}"


@post(
    PATH,
    status_code=201,
    opt={"body": WebhookEndpointBody},
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *JSON_BODY, ErrorCode.WEBHOOK_INVALID, *SERVICE),
    operation_class=ApiOperation,
)
async def add_webhook(request: AnyRequest, data: WebhookEndpointBody) -> WebhookEndpoint:
    """Register an endpoint: from now on every event of its types is POSTed to
    it, signed (Standard Webhooks). The answer holds its signing ``secret`` (the
    one given, or a generated one): it is shown only here."""
    require_admin(request)
    return await container(request).webhooks.register(
        url=data.url,
        event_types=data.event_types,
        secret=data.secret,
        enabled=data.enabled,
        description=data.description,
    )


@get(
    PATH,
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *SERVICE),
    operation_class=ApiOperation,
)
async def list_webhooks(request: AnyRequest) -> WebhookEndpointList:
    """Every webhook endpoint, ordered by id (secrets are never shown)."""
    require_admin(request)
    return WebhookEndpointList(endpoints=await container(request).webhooks.endpoints())


@get(
    ONE,
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def get_webhook(request: AnyRequest, endpoint_id: str) -> WebhookEndpoint:
    require_admin(request)
    return await container(request).webhooks.get(endpoint_id)


@patch(
    ONE,
    opt={"body": WebhookEndpointPatch},
    security=API_KEY,
    responses=problem_responses(
        *API_KEY_CODES, *JSON_BODY, ErrorCode.WEBHOOK_INVALID, ErrorCode.NOT_FOUND, *SERVICE
    ),
    operation_class=ApiOperation,
)
async def update_webhook(
    request: AnyRequest, endpoint_id: str, data: WebhookEndpointPatch
) -> WebhookEndpoint:
    """Change an endpoint: its URL, event types, description; enable it (which
    also undoes a disabling after a 410) or disable it (its deliveries wait);
    rotate its secret (the answer shows the new one; the previous one keeps
    signing beside it for ``previous_secret_valid_s``)."""
    require_admin(request)
    return await container(request).webhooks.update(
        endpoint_id,
        url=data.url,
        event_types=data.event_types,
        enabled=data.enabled,
        description=data.description,
        rotate_secret=data.rotate_secret,
        secret=data.secret,
        previous_secret_valid_s=data.previous_secret_valid_s,
    )


@delete(
    ONE,
    status_code=204,
    security=API_KEY,
    responses={
        204: NO_CONTENT,
        **problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    },
    operation_class=ApiOperation,
)
async def remove_webhook(request: AnyRequest, endpoint_id: str) -> Response[None]:
    """Remove an endpoint and its delivery log (nothing more is sent to it)."""
    require_admin(request)
    await container(request).webhooks.remove(endpoint_id)
    return Response(content=None, status_code=204)


@get(
    ONE + "/deliveries",
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, *QUERY, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def list_webhook_deliveries(
    request: AnyRequest,
    endpoint_id: str,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
    offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
) -> WebhookDeliveryList:
    """The endpoint's delivery log, newest first: each event's status, sends so
    far, last HTTP status and error, and when it is tried next."""
    require_admin(request)
    found = await container(request).webhooks.deliveries(
        endpoint_id, status=status, limit=limit, offset=offset
    )
    return WebhookDeliveryList(deliveries=found, limit=limit, offset=offset)


@post(
    ONE + "/deliveries/{delivery_id:int}/redeliver",
    status_code=202,
    security=API_KEY,
    responses=problem_responses(*API_KEY_CODES, ErrorCode.NOT_FOUND, *SERVICE),
    operation_class=ApiOperation,
)
async def redeliver_webhook(
    request: AnyRequest, endpoint_id: str, delivery_id: int
) -> WebhookDelivery:
    """Send a delivery again, now (with the same ``webhook-id``), whatever its
    status; it is retried for about a day again. Later events of its attempt wait
    for it."""
    require_admin(request)
    return await container(request).webhooks.redeliver(endpoint_id, delivery_id)


ROUTES = [
    add_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    remove_webhook,
    list_webhook_deliveries,
    redeliver_webhook,
]
