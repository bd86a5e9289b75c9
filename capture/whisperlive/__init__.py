"""A WhisperLive-protocol gateway: WhisperLive clients stream into Stenograph unchanged."""
