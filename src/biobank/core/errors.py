"""The project's error for refused use cases; views and the API turn it into a clear message."""

from __future__ import annotations


class ApplicationError(Exception):
    """A use case refused: ``message`` for people, ``rule`` when a regulation decided it."""

    def __init__(self, message: str, *, rule: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.status = status


class PermissionDenied(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=403)
