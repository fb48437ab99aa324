"""Signed webhooks (Standard Webhooks): the ``Sink`` of destinations of kind
``webhook``."""

from quizsession.adapters.webhooks.sink import WebhookSink

__all__ = ["WebhookSink"]
