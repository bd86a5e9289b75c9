"""The Prometheus metrics every stage exposes, by one set of names (prometheus-client).

Each service process serves its own registry: the API on its `/metrics` route, every other
service on `STENOGRAPH_METRICS_PORT` when that is set (`stenograph up` gives each one a port and
`stenograph status --json` lists the URLs). Labels never carry a tenant's key or a meeting's
text; meeting ids appear only where a per-meeting figure is the point (real-time factor).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

# seconds, from 5 ms to a minute: pipeline hops are ms, model calls and final text are seconds
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0,
           30.0, 60.0)

# the consumer core (every stage built on it: not the aggregator, whose consumer is Faust's)
RECORDS = Counter("stenograph_records_total", "Records a stage has taken from a topic",
                  ["stage", "topic"])
DLQ_RECORDS = Counter("stenograph_dlq_records_total", "Undecodable records parked on a DLQ",
                      ["stage", "topic"])
CONSUMER_LAG = Gauge("stenograph_consumer_lag", "Records of a partition not read yet",
                     ["stage", "topic", "partition"])
COMMITS = Counter("stenograph_commits_total", "Offset commits", ["stage"])

# the transcriber
FRAMES_IN = Counter("stenograph_frames_total", "Audio frames accepted by the transcriber")
FRAMES_UNOPENED = Counter("stenograph_frames_unopened_total",
                          "Audio frames the transcriber could not open: meeting erased, data key missing")
SEGMENTS_OUT = Counter("stenograph_segments_total", "Segment events produced", ["run", "kind"])
MODEL_SECONDS = Histogram("stenograph_model_seconds", "Time of one model call", ["kind"],
                          buckets=SECONDS)
DECODE_FAILURES = Counter("stenograph_decode_failures_total",
                          "Live model calls that raised (a final is tried twice)", ["kind"])
for _kind in ("final", "interim"):  # both series from the start, at 0
    DECODE_FAILURES.labels(_kind)
MODEL_BUSY = Gauge("stenograph_model_busy_ratio", "Share of the last 10 s the model was busy")
REAL_TIME_FACTOR = Gauge("stenograph_real_time_factor",
                         "Model time of a meeting's last final chunk (language detection and the "
                         "decode with its left context) over that chunk's new audio", ["meeting"])

# the aggregator: audio published (capture clock) -> the segment in the read model
FINAL_LATENCY = Histogram("stenograph_final_text_latency_seconds",
                          "From the end of a final segment's audio to its write to the read model",
                          ["run"], buckets=SECONDS)

# the API
HTTP_SECONDS = Histogram("stenograph_http_request_seconds", "API requests", ["method", "route", "status"],
                         buckets=SECONDS)
LIVE_SUBSCRIBERS = Gauge("stenograph_live_subscribers", "Live WebSocket and SSE subscriptions")

# bots and webhooks
BOTS = Gauge("stenograph_bots", "Bots of this manager by state", ["state"])
WEBHOOK_DELIVERIES = Counter("stenograph_webhook_deliveries_total", "Webhook deliveries by outcome",
                             ["outcome"])
for _outcome in ("delivered", "failed"):  # both series from the start, at 0
    WEBHOOK_DELIVERIES.labels(_outcome)


def serve_metrics(port: int | None, host: str = "127.0.0.1") -> None:
    """Serve this process's metrics on `port` (None: not served)."""
    if port is None:
        return
    start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)
