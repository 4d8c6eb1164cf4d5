"""``GET /healthz``: is every part the system needs answering right now?

Answers ``{"database": "ok", "redis": "ok", "celery": "ok"}`` with 200, or 503 with
the failing parts described. Public, cheap and bounded in time, for load balancers
and ``make run``.
"""

from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app

OK = "ok"


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def check_redis() -> str:
    timeout = settings.HEALTHZ_TIMEOUT_SECONDS
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        client.ping()
    finally:
        client.close()
    return OK


def check_celery() -> str:
    replies = celery_app.control.ping(timeout=settings.HEALTHZ_TIMEOUT_SECONDS, limit=1)
    if not replies:
        return f"error: no worker answered a ping within {settings.HEALTHZ_TIMEOUT_SECONDS} s"
    return OK


def _run(check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:
        return f"error: {type(exc).__name__}: {exc}".strip()


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results = {"database": _run(check_database), "redis": _run(check_redis)}
    # Workers answer through the broker: with Redis down, asking them would only hang.
    if results["redis"] == OK:
        results["celery"] = _run(check_celery)
    else:
        results["celery"] = "error: not asked, the broker (Redis) is unreachable"
    healthy = all(value == OK for value in results.values())
    return JsonResponse(results, status=200 if healthy else 503)
