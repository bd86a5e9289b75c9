"""Our own error hierarchy; third-party decode errors are translated into these at the codec."""


class StenographError(Exception):
    """Base of every error the project raises on purpose."""


class CodecError(StenographError):
    """A message could not be encoded or decoded; `reason` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class UnknownTopicError(StenographError):
    """A topic name that the registry does not know."""


class TopicLayoutError(StenographError):
    """An existing topic whose partition count differs from the registry's."""
