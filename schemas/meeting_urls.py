"""Meeting links of Google Meet, Microsoft Teams and Zoom: parsed and checked before any
navigation. Pure.

Only each platform's own hosts over https are accepted; IP literals, ports and credentials in
the URL are refused, so a join request cannot point a bot's browser anywhere else.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from stenograph.schemas.meetings import PLATFORMS

MEET_CODE = re.compile(r"^[a-z]{3}-[a-z]{4}-[a-z]{3}$")
TEAMS_ID = re.compile(r"^\d{9,16}$")
ZOOM_ID = re.compile(r"^\d{9,11}$")
PASSCODE = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
TEAMS_HOSTS = ("teams.microsoft.com", "teams.live.com")


class MeetingUrlError(ValueError):
    """Why a meeting link or id is refused."""


@dataclass(frozen=True)
class JoinTarget:
    platform: str
    native_meeting_id: str
    url: str  # what the bot opens
    passcode: str | None = None


def _host_ok(host: str, platform: str) -> bool:
    if platform == "google_meet":
        return host == "meet.google.com"
    if platform == "teams":
        return host in TEAMS_HOSTS
    return host == "zoom.us" or (host.endswith(".zoom.us") and re.fullmatch(r"[a-z0-9-]+\.zoom\.us", host)
                                 is not None)


def platform_of(host: str) -> str | None:
    for platform in PLATFORMS:
        if _host_ok(host, platform):
            return platform
    return None


def _passcode(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not PASSCODE.fullmatch(value):
        raise MeetingUrlError(f"{name}: 1-64 of A-Z a-z 0-9 . _ ~ -")
    return value


def parse_meeting_url(url: str) -> JoinTarget:
    """A pasted meeting link -> where the bot goes; MeetingUrlError says why not."""
    if len(url) > 4096:
        raise MeetingUrlError("meeting URL longer than 4096 characters")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # e.g. an unclosed "[" (found by make fuzz)
        raise MeetingUrlError(f"not a URL: {exc}") from None
    if parts.scheme != "https":
        raise MeetingUrlError("meeting URL must be https://")
    if parts.username is not None or parts.password is not None:
        raise MeetingUrlError("meeting URL must not carry credentials")
    host = (parts.hostname or "").lower()
    try:
        ipaddress.ip_address(host.strip("[]"))
        raise MeetingUrlError(f"{host}: an IP address is not a meeting platform")
    except ValueError as exc:
        if isinstance(exc, MeetingUrlError):
            raise
    try:
        port = parts.port
    except ValueError:  # "host:notanumber" (found by make fuzz)
        port = -1
    if port is not None:
        raise MeetingUrlError("meeting URL must not name a port")
    platform = platform_of(host)
    if platform is None:
        raise MeetingUrlError(f"{host or 'no host'}: not a Google Meet, Teams or Zoom host")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    path = parts.path.rstrip("/")
    if platform == "google_meet":
        code = path.lstrip("/").lower()
        if not MEET_CODE.fullmatch(code):
            raise MeetingUrlError(f"{code!r}: a Meet code looks like abc-defg-hij")
        return meeting_target("google_meet", code)
    if platform == "zoom":
        match = re.fullmatch(r"/(?:j|wc/join|wc|s)/(\d+)(?:/join)?", path)
        if match is None or not ZOOM_ID.fullmatch(match.group(1)):
            raise MeetingUrlError("a Zoom link looks like https://zoom.us/j/<9-11 digits>[?pwd=...]")
        return meeting_target("zoom", match.group(1), _passcode(query.get("pwd"), "pwd"))
    match = re.fullmatch(r"/meet/(\d+)", path)
    if match is not None and TEAMS_ID.fullmatch(match.group(1)):
        return meeting_target("teams", match.group(1), _passcode(query.get("p"), "p"), host=host)
    match = re.fullmatch(r"/l/meetup-join/([^/]+)(?:/.*)?", path)
    thread = unquote(match.group(1)) if match else ""
    inner = re.fullmatch(r"19:(meeting_[A-Za-z0-9_-]{8,120})@thread\.v2", thread)
    if inner is None:
        raise MeetingUrlError("a Teams link looks like https://teams.microsoft.com/meet/<id>?p=... "
                              "or .../l/meetup-join/19%3ameeting_...%40thread.v2/...")
    canonical = f"https://{host}/l/meetup-join/{quote(thread, safe='')}/0"
    if parts.query:
        canonical += "?" + parts.query
    return JoinTarget("teams", inner.group(1), canonical)


def meeting_target(platform: str, native_id: str, passcode: str | None = None, *,
                   host: str | None = None) -> JoinTarget:
    """A platform's native meeting id (+ passcode) -> the link the bot opens."""
    if platform not in PLATFORMS:
        raise MeetingUrlError(f"{platform!r}: platform must be one of {', '.join(PLATFORMS)}")
    passcode = _passcode(passcode, "passcode")
    check_native_id(platform, native_id)
    if platform == "google_meet":
        return JoinTarget(platform, native_id, f"https://meet.google.com/{native_id}")
    if platform == "zoom":
        url = f"https://zoom.us/j/{native_id}" + (f"?pwd={passcode}" if passcode else "")
        return JoinTarget(platform, native_id, url, passcode)
    if passcode is None:
        raise MeetingUrlError("a Teams meeting id needs its passcode (the p= of the link)")
    url = f"https://{host or 'teams.microsoft.com'}/meet/{native_id}?p={passcode}"
    return JoinTarget(platform, native_id, url, passcode)


def check_native_id(platform: str, native_id: str) -> None:
    """A platform's native meeting id as a bot can join it; MeetingUrlError says why not."""
    if platform == "google_meet" and not MEET_CODE.fullmatch(native_id):
        raise MeetingUrlError(f"{native_id!r}: a Meet code looks like abc-defg-hij")
    if platform == "zoom" and not ZOOM_ID.fullmatch(native_id):
        raise MeetingUrlError(f"{native_id!r}: a Zoom meeting id is 9-11 digits")
    if platform == "teams" and not TEAMS_ID.fullmatch(native_id):
        raise MeetingUrlError(f"{native_id!r}: a Teams meeting id is 9-16 digits (join by link otherwise)")
