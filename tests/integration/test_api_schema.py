"""Schemathesis against the API's own OpenAPI document, with auth: generated requests to every
operation never get a 5xx, and every response matches the documented status, type and schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import ADMIN_KEY, Pipeline, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(pipeline: Pipeline) -> Iterator[tuple[str, str]]:
    """An API process without a request rate limit, so generated requests reach the handlers."""
    port = free_port()
    pipeline.start("api-schema", command="api", env={"STENOGRAPH_API_PORT": str(port),
                                                     "STENOGRAPH_API_RATE_PER_S": "0"})
    import time

    import httpx

    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "schema API not ready"
        time.sleep(0.2)
    try:
        yield url, pipeline.api_key or ""
    finally:
        pipeline.procs.pop("api-schema").stop()


def test_no_5xx_and_responses_match_the_schema(api: tuple[str, str]) -> None:
    url, key = api
    loaded = schemathesis.openapi.from_url(f"{url}/openapi.json").exclude(path="/sse")
    headers = {"X-API-Key": key, "X-Admin-API-Key": ADMIN_KEY}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    tested, calls = [], []
    for result in loaded.get_all_operations():
        operation = result.ok()
        tested.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call_and_validate(base_url=url, headers=headers, checks=checks)
            calls.append(response.status_code)

        check()
    assert len(tested) >= 20, tested
    assert len(calls) >= 10 * len(tested) and any(200 <= c < 300 for c in calls)
