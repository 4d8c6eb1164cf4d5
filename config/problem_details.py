"""RFC 9457 problem details: the API's one exception handler, and the same for pages.

The API (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``): :func:`exception_handler` answers
every domain error (``config.errors``), every DRF ``APIException`` and Django's
``PermissionDenied``, ``ValidationError`` and ``Http404`` with an
``application/problem+json`` body::

    {"type": "https://aha-desk.example/problems/conflict", "title": "Not possible now",
     "status": 409, "detail": "This case is contacted: ...", "state": "contacted",
     "allowed": ["escalate"]}

``errors`` (``{field or query parameter: [messages]}``) comes with every 400 about input;
``state`` and ``allowed`` with a 409. Anything else is not ours to word: a 500.

Pages (the desk, the portal): :func:`problem_response` renders a domain error as
``errors/problem.html`` with its HTTP status; :func:`renders_problems` (a view
decorator) and :class:`ProblemPageMiddleware` call it for an error a view lets through.

OpenAPI: :func:`problem_responses` gives the ``responses`` entries of the 4xx answers,
described by the ``Problem``, ``ValidationProblem`` and ``ConflictProblem`` components.
"""

import functools
import http
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from config.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    errors_sentence,
    problem_type,
)

PROBLEM_JSON = "application/problem+json"
PAGE_TEMPLATE = "errors/problem.html"

# DRF's exceptions: (class, type slug, title).
_API_PROBLEMS: list[tuple[type[exceptions.APIException], str, str]] = [
    (exceptions.ValidationError, "invalid-input", InvalidInput.title),
    (exceptions.ParseError, "malformed-body", "Malformed request body"),
    (exceptions.AuthenticationFailed, "not-authenticated", "Not authenticated"),
    (exceptions.NotAuthenticated, "not-authenticated", "Not authenticated"),
    (exceptions.PermissionDenied, "forbidden", Forbidden.title),
    (exceptions.NotFound, "not-found", NotFound.title),
    (exceptions.MethodNotAllowed, "method-not-allowed", "Method not allowed"),
    (exceptions.NotAcceptable, "not-acceptable", "Not acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type", "Unsupported media type"),
    (exceptions.Throttled, "throttled", "Too many requests"),
]


@dataclass(frozen=True)
class Problem:
    """One answer: the HTTP status, the body, and the headers that go with it."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def problem_for(exc: BaseException) -> Problem | None:
    """The problem an exception stands for; None when it is not a known kind (a 500)."""
    if isinstance(exc, DomainError):
        return Problem(exc.status_code, exc.problem())
    if isinstance(exc, DjangoValidationError):
        errors = _django_errors(exc)
        detail = errors_sentence(errors)
        return _problem(400, InvalidInput.type, InvalidInput.title, detail, errors=errors)
    if isinstance(exc, Http404):
        return _problem(404, NotFound.type, NotFound.title, str(exc) or "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        detail = str(exc) or "You may not do this."
        return _problem(403, Forbidden.type, Forbidden.title, detail)
    if isinstance(exc, exceptions.APIException):
        return _api_problem(exc)
    return None


def _problem(
    status_code: int,
    type_: str,
    title: str,
    detail: str,
    *,
    errors: dict | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Problem:
    body = {"type": type_, "title": title, "status": status_code, "detail": detail, **extra}
    if errors is not None:
        body["errors"] = errors
    return Problem(status_code, body, headers or {})


def _api_problem(exc: exceptions.APIException) -> Problem:
    slug, title = next(
        ((slug, title) for kind, slug, title in _API_PROBLEMS if isinstance(exc, kind)),
        (None, http.HTTPStatus(exc.status_code).phrase),
    )
    type_ = problem_type(slug) if slug else "about:blank"
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    extra = {}
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
        extra["retry_after"] = int(exc.wait)
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        detail = errors_sentence(errors)
        return _problem(exc.status_code, type_, title, detail, errors=errors, headers=headers)
    return _problem(exc.status_code, type_, title, _text(exc.detail), headers=headers, **extra)


def _plain(detail: Any) -> Any:
    """DRF's ErrorDetail strings, lists and dicts as plain JSON values."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_plain(item) for item in detail]
    return str(detail)


def field_errors(detail: Any) -> dict[str, Any]:
    """``{field: [messages]}`` from what a DRF ValidationError holds.

    A list of messages is about no one field (``non_field_errors``); a list of objects,
    the errors of a list body, is keyed by each bad item's index.
    """
    detail = _plain(detail)
    if isinstance(detail, dict):
        return {
            name: value if isinstance(value, list | dict) else [value]
            for name, value in detail.items()
        }
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        return {str(index): item for index, item in enumerate(detail) if item}
    messages = detail if isinstance(detail, list) else [detail]
    return {api_settings.NON_FIELD_ERRORS_KEY: messages}


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(exc.messages)}
    return {
        api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name: messages
        for name, messages in exc.message_dict.items()
    }


def _text(detail: Any) -> str:
    if isinstance(detail, list | dict):
        return errors_sentence(field_errors(detail))
    return str(detail)


# --- The API ------------------------------------------------------------------------


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every known error as an RFC 9457 problem."""
    problem = problem_for(exc)
    if problem is None:
        return None
    set_rollback()
    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    # A person in the browsable API gets its HTML page; every JSON client the problem type.
    content_type = PROBLEM_JSON if renderer is None or renderer.format == "json" else None
    return Response(
        problem.body,
        status=problem.status_code,
        headers=problem.headers,
        content_type=content_type,
    )


# --- Pages --------------------------------------------------------------------------


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: a URL under ``/api/`` that matches no endpoint (``/api/v1/cases/x/``
    where an id is a number) is a 404 problem, as the schema says; elsewhere the site's page.
    """
    if request.path.startswith("/api/"):
        body = _problem(404, NotFound.type, NotFound.title, "There is no such endpoint.").body
        return JsonResponse(body, status=404, content_type=PROBLEM_JSON)
    return defaults.page_not_found(request, exception)


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "json" in accept and "text/html" not in accept


def problem_response(
    request: HttpRequest, error: DomainError, *, template_name: str = PAGE_TEMPLATE
) -> HttpResponse:
    """A page saying what went wrong, with the error's HTTP status (409, 403, 400, 404).

    A script asking for JSON (``Accept`` names a JSON type, not ``text/html``) gets the
    problem body instead, as from the API.
    """
    body = error.problem()
    if _wants_json(request):
        return JsonResponse(body, status=error.status_code, content_type=PROBLEM_JSON)
    context = {
        "problem": body,
        "error": error,
        "allowed": [name.replace("_", " ") for name in body.get("allowed", [])],
        "errors": body.get("errors", {}),
    }
    return render(request, template_name, context, status=error.status_code)


def renders_problems(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorates a view (or a class-based view's ``dispatch``, with ``method_decorator``)
    so that a domain error it lets through becomes :func:`problem_response`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            if _site_page_for(error):
                raise
            return problem_response(request, error)

    return wrapped


def _site_page_for(error: DomainError) -> bool:
    """A refusal and a page not found are Django's ``PermissionDenied`` and ``Http404``
    too: they get the site's own 403 and 404 pages, like every other refusal."""
    return isinstance(error, DjangoPermissionDenied | Http404)


class ProblemsAsMessagesMixin:
    """For a view that posts a button or form and goes back to a page (the desk's case
    page): a conflict or refused input the view lets through is an error message on that
    page, ``problem_return_url()``, as a desk user expects when a button's moment has
    passed. A refusal (403) and an unknown page (404) stay pages of their own.
    """

    problems_as_messages: tuple[type[DomainError], ...] = (Conflict, InvalidInput)

    def problem_return_url(self) -> str:
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except self.problems_as_messages as error:
            if request.method != "POST":
                raise
            # A field's messages read as sentences on a page; the API names the field.
            text = " ".join(error.messages) if isinstance(error, InvalidInput) else error.detail
            messages.error(request, text)
            return redirect(self.problem_return_url())


class ProblemPageMiddleware:
    """Every page view at once: a domain error a view lets through is a problem page.

    The API never lets one through (its handler answered already), so this only sees
    Django views. Refusals and pages not found go on to the site's 403 and 404 pages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DomainError) and not _site_page_for(exception):
            return problem_response(request, exception)
        return None


# --- OpenAPI ------------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (the ``Problem`` component)."""

    type = serializers.CharField(
        help_text="The kind of problem: https://aha-desk.example/problems/<slug>."
    )
    title = serializers.CharField(help_text="The kind of problem in words; the same for each.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong this time, for a person.")


class ValidationProblemSerializer(ProblemSerializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=(
            "Messages by field or query parameter (non_field_errors: the whole input); "
            "absent when the body could not be read at all (malformed-body)."
        ),
    )


class ConflictProblemSerializer(ProblemSerializer):
    state = serializers.CharField(help_text="The resource's state now (a case's status).")
    allowed = serializers.ListField(
        child=serializers.CharField(), help_text="What may be done from that state now."
    )


_RESPONSES = {
    400: (ValidationProblemSerializer, "Invalid input: errors names each field or parameter."),
    401: (ProblemSerializer, "No valid token or session."),
    403: (ProblemSerializer, "Not allowed for you."),
    404: (ProblemSerializer, "Not found, or not yours to see."),
    409: (ConflictProblemSerializer, "Not possible in the current state."),
    413: (ProblemSerializer, "The request body is too large."),
    415: (ProblemSerializer, "The body is not JSON (Content-Type application/json)."),
}


def problem_responses(*codes: int) -> dict[tuple[int, str], OpenApiResponse]:
    """``extend_schema(responses={200: ..., **problem_responses(400, 404)})``."""
    return {
        (code, PROBLEM_JSON): OpenApiResponse(_RESPONSES[code][0], description=_RESPONSES[code][1])
        for code in codes
    }


def required_strings_not_blank(result: dict, generator: Any, **kwargs: Any) -> dict:
    """drf-spectacular postprocessing hook: ``minLength: 1`` on every required string of a
    component a request body uses (DRF's ``CharField`` and slug fields refuse ``""``),
    unless the schema already bounds it (an enum, a format or a minLength of its own)."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in _request_components(result):
        component = schemas.get(name, {})
        for field_name in component.get("required", []):
            prop = component.get("properties", {}).get(field_name, {})
            bounded = {"enum", "format", "minLength"} & prop.keys()
            if prop.get("type") == "string" and not prop.get("readOnly") and not bounded:
                prop["minLength"] = 1
    return result


def _request_components(result: dict) -> set[str]:
    prefix = "#/components/schemas/"
    names = set()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            content = (
                operation.get("requestBody", {}).get("content", {})
                if isinstance(operation, dict)
                else {}
            )
            for media in content.values():
                schema = media.get("schema", {})
                ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
                if ref.startswith(prefix):
                    names.add(ref.removeprefix(prefix))
    return names
