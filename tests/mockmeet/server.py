"""Serves the mock meeting pages for bots under test.

The bot's browser asks for https://meet.google.com/abc-defg-hij and so on; the bot's test
harness setting (STENOGRAPH_BOT_MOCK_ORIGIN) sends those requests here as
/<host>/<path>. Tests register a scenario per meeting and read back the page's log of what
happened when (who spoke, from when to when, on the page's clock).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DATA = HERE.parent / "data"
PAGES = {"meet.google.com": "meet.html", "teams.microsoft.com": "teams.html",
         "teams.live.com": "teams.html", "app.zoom.us": "zoom.html", "zoom.us": "zoom.html"}
TYPES = {".js": "text/javascript", ".html": "text/html", ".wav": "audio/wav", ".flac": "audio/flac"}


class MockMeetings:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.scenarios: dict[str, dict[str, Any]] = {}
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self.origin = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> MockMeetings:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def scenario(self, meeting: str, **scenario: Any) -> None:
        self.scenarios[meeting] = scenario

    def log(self, meeting: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.logs.get(meeting, []))

    def events(self, meeting: str, event: str) -> list[dict[str, Any]]:
        return [e for e in self.log(meeting) if e["event"] == event]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                with mock._lock:
                    mock.requests.append(self.path)
                host, _, rest = self.path.lstrip("/").partition("/")
                path = "/" + rest.split("?")[0]
                if path.startswith("/_mock/scenario/"):
                    found = mock.scenarios.get(path.rsplit("/", 1)[1])
                    body = json.dumps(found or {"lobby": "wait"}).encode()
                    return self._send(200, body, "application/json")
                if path.startswith("/_mock/"):
                    name = path.removeprefix("/_mock/")
                    file = HERE / name if name.endswith(".js") else DATA / name
                    if "/" in name or not file.is_file():
                        return self._send(404, b"not found", "text/plain")
                    kind = TYPES.get(file.suffix, "application/octet-stream")
                    return self._send(200, file.read_bytes(), kind)
                page = PAGES.get(host)
                if page is None:
                    return self._send(404, b"not a platform", "text/plain")
                self._send(200, (HERE / page).read_bytes(), "text/html; charset=utf-8")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with mock._lock:
                    mock.logs.setdefault(str(body.get("meeting")), []).append(body)
                self._send(204, b"", "text/plain")

        return Handler


def main() -> None:
    """Serve the pages in a container of a test's own compose network (tests/compose/mockmeet.yml):
    `python -m tests.mockmeet.server HOST PORT SCENARIOS.json` ({native_id: scenario})."""
    import sys

    host, port, scenarios = sys.argv[1], int(sys.argv[2]), json.loads(Path(sys.argv[3]).read_text())
    server = MockMeetings(host, port)
    for meeting, scenario in scenarios.items():
        server.scenario(meeting, **scenario)
    server._server.serve_forever()


if __name__ == "__main__":
    main()
