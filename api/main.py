"""create_app(settings): the FastAPI app with its clients opened in the lifespan."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from stenograph import __version__
from stenograph.api.live import LiveHub
from stenograph.api.logs import RequestIds
from stenograph.api.ratelimit import RateLimiter
from stenograph.api.routes import admin, bots, health, live, meetings, page, replays, transcripts, webhooks
from stenograph.api.settings import ApiSettings
from stenograph.readmodel import ReadStore
from stenograph.runtime import metrics, plain_consumer, reliable_producer, wait_unless_failed


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = Redis.from_url(settings.redis_url, decode_responses=True)
        producer = reliable_producer(settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            async with plain_consumer(settings.kafka_bootstrap_servers) as offsets:
                app.state.offsets = offsets  # offset lookups for replays
                app.state.settings = settings
                app.state.store = ReadStore(redis, settings.redis_keys)
                app.state.producer = producer
                app.state.limiter = RateLimiter(settings.api_rate_per_s, settings.api_rate_burst)
                app.state.live = hub = LiveHub(settings.kafka_bootstrap_servers, settings.topics)
                stop = asyncio.Event()
                feed = asyncio.create_task(hub.run(stop))
                await wait_unless_failed([feed], hub.ready.wait())
                try:
                    yield
                finally:
                    stop.set()
                    await asyncio.gather(feed, return_exceptions=True)
        finally:
            await producer.stop()
            await redis.aclose()

    app = FastAPI(
        title="Stenograph",
        version=__version__,
        description="Meeting transcription on Kafka: bots, meetings, transcripts.",
        lifespan=lifespan,
    )
    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:  # Prometheus's text format; nothing in it names a tenant
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.middleware("http")
    async def timed(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start, status = time.perf_counter(), 500  # a request that raises is counted as the 500 it is
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            metrics.HTTP_SECONDS.labels(request.method, getattr(route, "path", "unmatched"),
                                        str(status)).observe(time.perf_counter() - start)

    app.add_middleware(RequestIds)  # outermost: every line the server writes for a request
    for router in (health.router, bots.router, meetings.router, transcripts.router, replays.router,
                   live.router, webhooks.router, admin.router, page.router):
        app.include_router(router)
    return app
