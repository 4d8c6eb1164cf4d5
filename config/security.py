"""Protections every request passes through: headers, sign-in lock-outs, API throttles.

- :class:`SecurityHeadersMiddleware` adds ``Permissions-Policy`` to every response and
  ``Cache-Control: no-store`` to the pages that show personal data
  (``settings.NO_STORE_PATH_PREFIXES``). The Content-Security-Policy comes from django-csp
  (``settings.CONTENT_SECURITY_POLICY``).
- :func:`lockout_response` is django-axes' ``AXES_LOCKOUT_CALLABLE``: a locked-out sign-in
  gets the same login page back (ours or the admin's), saying why and for how long.
- :func:`client_ip` is the one rule for "the caller's address", shared by axes and DRF's
  throttles: ``REMOTE_ADDR``, or behind ``NUM_PROXIES`` proxies the address the nearest
  of them put in ``X-Forwarded-For``.
- :class:`AnonThrottle`, :class:`UserThrottle` and :class:`ThrottledTokenAuthentication`
  (with :class:`FailedTokenThrottle`) throttle the API; a throttled request gets a 429
  problem with ``Retry-After`` (``config.problem_details``).
- :func:`api_docs_login_required` and :class:`ApiDocsAccess` keep ``/api/docs/`` and
  ``/api/schema/`` behind a sign-in unless ``settings.API_DOCS_PUBLIC``.
"""

import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import ngettext
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    BaseThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

logger = logging.getLogger(__name__)

# --- Headers ------------------------------------------------------------------------


def permissions_policy(features: dict[str, list[str]]) -> str:
    """``{"camera": [], "fullscreen": ["self"]}`` as ``camera=(), fullscreen=(self)``."""
    return ", ".join(f"{name}=({' '.join(allowed)})" for name, allowed in features.items())


class SecurityHeadersMiddleware:
    """``Permissions-Policy`` on every response; ``no-store`` where personal data is shown."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions_policy(settings.PERMISSIONS_POLICY)
        if request.path_info.startswith(tuple(settings.NO_STORE_PATH_PREFIXES)):
            # Neither the browser's back button nor a shared proxy keeps a copy.
            add_never_cache_headers(response)
        return response


# --- Addresses ----------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The caller's address, as DRF's throttles see it (``REST_FRAMEWORK["NUM_PROXIES"]``).

    axes (``AXES_CLIENT_IP_CALLABLE``) uses the same rule, so a lock-out and a throttle
    always count the same address, and a client cannot choose its own by sending
    ``X-Forwarded-For``.
    """
    return BaseThrottle().get_ident(request)


# --- Sign-in lock-outs (django-axes) ------------------------------------------------


def lockout_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return int(cool_off.total_seconds() // 60) if isinstance(cool_off, dt.timedelta) else 0


def lockout_message() -> str:
    minutes = lockout_minutes()
    return ngettext(
        "Too many failed sign-ins for this username from your address. Signing in is "
        "locked for %(minutes)d minute; each further try starts the lock again.",
        "Too many failed sign-ins for this username from your address. Signing in is "
        "locked for %(minutes)d minutes; each further try starts the lock again.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The login page that was answered, with the lock-out as its error (429, Retry-After).

    axes calls this for a sign-in refused because of the lock (``AXES_LOCKOUT_CALLABLE``).
    Both login pages (``/accounts/login/``, ``/admin/login/``) answer a
    ``TemplateResponse`` whose context holds the bound form; its "wrong password" error is
    replaced by the lock-out, so the person sees the form again and why it refuses them.
    """
    message = lockout_message()
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(original_response, TemplateResponse) and form is not None:
        form.errors[NON_FIELD_ERRORS] = form.error_class(
            [message], error_class="nonfield", renderer=form.renderer
        )
        original_response.content = original_response.rendered_content
        response: HttpResponse = original_response
    else:
        response = HttpResponse(message, content_type="text/plain; charset=utf-8")
    response.status_code = settings.AXES_HTTP_RESPONSE_CODE
    if lockout_minutes():
        # Every try during the lock starts the cool-off again (axes' default).
        response["Retry-After"] = str(lockout_minutes() * 60)
    return response


# --- API throttles ------------------------------------------------------------------


class _RatesFromSettings:
    """DRF reads its rates once, at import; these read them on every request.

    The counts live in the default cache (Redis in production). When it cannot be
    reached the request goes through unthrottled: the API keeps working without Redis,
    as the rest of the site does.
    """

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError:
            logger.warning("Throttle %r not applied: the cache is unreachable", self.scope)
            return True


class AnonThrottle(_RatesFromSettings, AnonRateThrottle):
    """Requests without credentials, per address (``anon`` rate)."""


class UserThrottle(_RatesFromSettings, UserRateThrottle):
    """Requests of one user or upstream system, whatever its address (``user`` rate)."""


class FailedTokenThrottle(_RatesFromSettings, SimpleRateThrottle):
    """Failed token authentications, per address (``failed_token`` rate).

    Unlike DRF's throttles it counts only failures (:meth:`record_failure`), and it is
    asked before the token is checked (:meth:`blocks`): while an address is blocked, even
    a good token is refused, or guessing would go on and tell the good guess apart.
    """

    scope = "failed_token"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocks(self, request: Request) -> bool:
        self.history: list[float] = []
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        try:
            history = self.cache.get(self.key, [])
        except RedisError:
            logger.warning("Throttle %r not applied: the cache is unreachable", self.scope)
            return False
        self.history = [moment for moment in history if moment > self.now - self.duration]
        return len(self.history) >= self.num_requests

    def record_failure(self) -> None:
        if self.rate is None:
            return
        self.history.insert(0, self.now)
        with contextlib.suppress(RedisError):
            self.cache.set(self.key, self.history, self.duration)


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token ...``, with failed tries throttled per address."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # no token sent: nothing to count
        throttle = FailedTokenThrottle()
        if throttle.blocks(request):
            raise exceptions.Throttled(
                wait=throttle.wait(), detail="Too many failed token authentications."
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.record_failure()
            raise


# --- API schema and docs ------------------------------------------------------------


class ApiDocsAccess(BasePermission):
    """``/api/schema/``: anyone when ``settings.API_DOCS_PUBLIC``, else a signed-in caller."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


def api_docs_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``/api/docs/``: a browser page, so an anonymous visitor is sent to the login page."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped
