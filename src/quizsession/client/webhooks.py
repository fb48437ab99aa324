"""Administration of webhook endpoints (``api_key`` needed): register, list,
change, remove, the delivery log and a redelivery."""

from __future__ import annotations

from quizsession.api.webhooks import (
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookEndpoint,
    WebhookEndpointBody,
    WebhookEndpointList,
    WebhookEndpointPatch,
    WebhookEventType,
)
from quizsession.client.transport import HttpCore, seg


class WebhooksApi(HttpCore):
    async def add_webhook(
        self,
        url: str,
        *,
        event_types: list[WebhookEventType] | None = None,
        secret: str | None = None,
        enabled: bool = True,
        description: str = "",
    ) -> WebhookEndpoint:
        """Register an endpoint (every event type unless ``event_types``); the
        answer's ``secret`` (given or generated) is shown only here."""
        body = WebhookEndpointBody(
            url=url,
            event_types=event_types,
            secret=secret,
            enabled=enabled,
            description=description,
        )
        return await self._admin("POST", "/webhooks", WebhookEndpoint, json=body)

    async def webhooks(self) -> list[WebhookEndpoint]:
        return (await self._admin("GET", "/webhooks", WebhookEndpointList)).endpoints

    async def webhook(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._admin("GET", f"/webhooks/{seg(endpoint_id)}", WebhookEndpoint)

    async def update_webhook(
        self, endpoint_id: str, change: WebhookEndpointPatch
    ) -> WebhookEndpoint:
        """Change an endpoint (enable, disable, rotate its secret...)."""
        return await self._admin(
            "PATCH", f"/webhooks/{seg(endpoint_id)}", WebhookEndpoint, json=change
        )

    async def remove_webhook(self, endpoint_id: str) -> None:
        await self.request(
            "DELETE",
            f"/admin/webhooks/{seg(endpoint_id)}",
            idempotent=False,
            headers=self._admin_headers(),
        )

    async def webhook_deliveries(
        self, endpoint_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> WebhookDeliveryList:
        """One page of the endpoint's delivery log, newest first."""
        params: dict[str, str | int | bool] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        return await self._admin(
            "GET",
            f"/webhooks/{seg(endpoint_id)}/deliveries",
            WebhookDeliveryList,
            params=params,
        )

    async def redeliver_webhook(self, endpoint_id: str, delivery_id: int) -> WebhookDelivery:
        """Send a delivery again now (same ``webhook-id``)."""
        return await self._admin(
            "POST",
            f"/webhooks/{seg(endpoint_id)}/deliveries/{delivery_id}/redeliver",
            WebhookDelivery,
        )
