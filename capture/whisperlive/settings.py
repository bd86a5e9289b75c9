"""Gateway settings (environment STENOGRAPH_GATEWAY_*)."""

from __future__ import annotations

from stenograph.runtime import CommonSettings


class GatewaySettings(CommonSettings):
    gateway_host: str = "0.0.0.0"
    gateway_port: int = 9090
    gateway_max_connections: int = 64  # more get WAIT
    gateway_handshake_timeout_s: float = 10.0
    gateway_idle_timeout_s: float = 30.0  # a connected client silent this long is ended
    gateway_final_timeout_s: float = 60.0  # wait this long for the last segments after the end
    gateway_frame_ms: int = 100
    # Serve clients that send no API key as this tenant. Only for trusted networks.
    gateway_tenant: str | None = None
