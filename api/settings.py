"""API settings (environment variables STENOGRAPH_*)."""

from __future__ import annotations

from stenograph.runtime import CommonSettings


class ApiSettings(CommonSettings):
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    default_bot_name: str = "Stenograph"
    api_rate_per_s: float = 50.0  # requests per second per tenant and API process (0: unlimited)
    api_rate_burst: int = 100
    webhook_allow_private: bool = False  # development only: webhook URLs to internal addresses
    admin_api_key: str | None = None  # X-Admin-API-Key; unset: the admin API answers 403
