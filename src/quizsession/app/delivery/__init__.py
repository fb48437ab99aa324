"""Outbound delivery: webhooks and LMS scores follow the attempt logs (``engine``:
fan-out and sending; ``events``: what leaves for each log event; ``records``: the
rows it keeps; ``admin``: endpoints, the delivery log, redeliver)."""
