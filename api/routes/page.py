"""The live transcript page: meetings with their status, a transcript updating as it is spoken."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["page"])


@router.get("/live", response_class=HTMLResponse, include_in_schema=False)
async def live_page() -> HTMLResponse:
    """Static: the page authenticates its own calls with the key the user gives it."""
    html = (resources.files("stenograph.api") / "static" / "live.html").read_text()
    return HTMLResponse(html, headers={"Cache-Control": "no-cache",
                                       "Content-Security-Policy": "default-src 'self'; "
                                       "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                       "connect-src 'self' ws: wss:"})
