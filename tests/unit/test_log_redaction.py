"""api/logs.py: a key passed in a URL never reaches a log line."""

from __future__ import annotations

import logging

from stenograph.api.logs import RedactKeys, redact


def test_query_keys_are_masked() -> None:
    assert redact("GET /ws?api_key=stg_0123456789ab_secret HTTP/1.1") == "GET /ws?api_key=*** HTTP/1.1"
    assert redact("/sse?meetings=zoom/1&token=abc&x=1") == "/sse?meetings=zoom/1&token=***&x=1"
    assert redact("/meetings?limit=5") == "/meetings?limit=5"


def test_the_filter_rewrites_uvicorns_access_record() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/ws?api_key=stg_k_s", "1.1", 101), None)
    assert RedactKeys().filter(record)
    assert "stg_k_s" not in record.getMessage() and "api_key=***" in record.getMessage()
    assert len(record.args) == 5  # type: ignore[arg-type]  # still unpackable by uvicorn's formatter
