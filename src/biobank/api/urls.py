"""The HTTP API, assembled from each app's ``api.py`` router (OpenAPI 3 at /api/v1/openapi.json)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from biobank.biosafety.api import router as biosafety_router
from biobank.core.api import router as core_router
from biobank.core.errors import ApplicationError
from biobank.core.services import token_authenticate
from biobank.distribution.api import router as distribution_router
from biobank.ethics.api import router as ethics_router
from biobank.participants.api import router as participants_router
from biobank.specimens.api import router as specimens_router
from biobank.storage.api import router as storage_router


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>`` with a personal token from ``biobank token create``."""

    def authenticate(self, request: HttpRequest, token: str) -> object | None:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class Session(SessionAuth):
    """The browser's session, for pages that call the API (CSRF checked on writes)."""


api = NinjaAPI(
    title="biobank API",
    version="1",
    description=(
        "The biobank platform's HTTP API. Authenticate with the browser session or a personal "
        "token (`Authorization: Bearer <token>`, from `biobank token create USERNAME`). "
        "Errors are JSON: `message`, and `rule` when a regulation refused the request."
    ),
    urls_namespace="api",
    auth=[BearerToken(), Session()],
)


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(
        request, {"message": exc.message, "rule": exc.rule}, status=exc.status
    )


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"message": "Not found", "rule": None}, status=404)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"message": "Authentication required", "rule": None}, status=401
    )


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(
        request,
        {"message": "Invalid input", "rule": None, "errors": exc.errors},
        status=422,
    )


api.add_router("/", core_router)
api.add_router("/", participants_router)
api.add_router("/", specimens_router)
api.add_router("/", storage_router)
api.add_router("/", distribution_router)
api.add_router("/", biosafety_router)
api.add_router("/", ethics_router)
