"""Errors raised by services when input breaks a business rule.

Views turn them into a flash message or a form field error; the message is
Chinese and meant for the user.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
