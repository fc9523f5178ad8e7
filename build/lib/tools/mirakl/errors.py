"""Domain errors of the Mirakl client; each carries Mirakl's own message when there is one."""

from __future__ import annotations


class MiraklError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class MiraklConfigError(MiraklError):
    """401/403: the API key or shop id is wrong. Retrying cannot help; fix the settings."""


class MiraklNotFound(MiraklError):
    """404: the thread or order does not exist (for this shop)."""


class MiraklRejected(MiraklError):
    """Another 4xx: Mirakl understood and refused (e.g. an order past cancellation)."""


class MiraklUnavailable(MiraklError):
    """Mirakl could not be reached or kept failing (5xx, network, rate limit) after the retries."""


class MiraklOutcomeUnknown(MiraklUnavailable):
    """A change may or may not have been applied, and it could not be verified; not re-sent."""
