"""What every app's pages share: the signed-in user as a ``User``, and a refusal as a message."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest

from biobank.core.errors import ApplicationError
from biobank.core.models import User


def acting_user(request: HttpRequest) -> User:
    """The signed-in user (views are behind ``login_required``)."""
    assert isinstance(request.user, User)
    return request.user


def refuse(request: HttpRequest, error: ApplicationError) -> None:
    """Show a refused use case to the user, with the rule that decided it."""
    messages.error(request, f"{error.message} ({error.rule})" if error.rule else error.message)
