"""Builders the suite shares: a case opened the way users open one, and threads that race.

Factories (tests/factories.py) write rows; these go through the services, so a case
built here was opened by ``case_open`` (assured or not, assigned, swept after commit)
exactly as the API opens one.
"""

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from io import StringIO

from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from cases.models import Case
from cases.services import case_open
from sellers.models import AssuranceState, Seller, Store
from tests.factories import EmergencyContactFactory, SellerFactory

# A US number that takes calls and texts.
CALLABLE_PHONE = "+14155550142"
ISSUE = {
    "policy_area": "late_shipment_rate",
    "severity": "critical",
    "summary": "Late shipment rate above 4%",
}

Capture = Callable[..., AbstractContextManager]


def enrolled_seller(
    *, store_code: str = "US", phone: str | None = CALLABLE_PHONE, **fields: object
) -> Seller:
    """A seller of ``store_code`` enrolled in AHA, with ``phone`` as emergency contact."""
    seller = SellerFactory(store=Store.objects.get(code=store_code), **fields)
    if phone:
        EmergencyContactFactory(seller=seller, phone=phone)
    AssuranceState.objects.update_or_create(
        seller=seller, defaults={"enrolled": True, "eligible": True, "contact_valid": bool(phone)}
    )
    return seller


def open_case(seller: Seller, *, capture: Capture | None = None, **fields: object) -> Case:
    """Opens a case through ``case_open`` (a critical late-shipment issue unless told).

    With ``capture`` (pytest-django's ``django_capture_on_commit_callbacks``) the work
    queued after commit runs at once: the first sweep, so outreach is on its way.
    """
    issue = {**ISSUE, "process": "test", **fields}
    if capture is None:
        case, _ = case_open(seller=seller, **issue)
    else:
        with capture(execute=True):
            case, _ = case_open(seller=seller, **issue)
    case.refresh_from_db()
    return case


def open_assured_case(
    *,
    store_code: str = "US",
    phone: str | None = CALLABLE_PHONE,
    seller: dict | None = None,
    capture: Capture | None = None,
    **fields: object,
) -> Case:
    """A case of a newly enrolled seller, opened through ``case_open``: assured, 72 hours."""
    case = open_case(
        enrolled_seller(store_code=store_code, phone=phone, **(seller or {})),
        capture=capture,
        **fields,
    )
    assert case.assured
    return case


def race(calls: list[Callable[[], object]], *, timeout: float = 60) -> list[object]:
    """Runs the calls in threads released together; each answer is its result or its error.

    Each thread closes its database connection, so PostgreSQL sees one session a thread.
    """
    barrier = threading.Barrier(len(calls))
    answers: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            answers[index] = call()
        except Exception as error:  # the test looks at every answer
            answers[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return answers


def api_client(user=None, *, name: str = "feed") -> APIClient:
    """An API client with a token from ``manage.py issue_api_token``, as a client gets one:
    acting as ``user``, or (no user) as an upstream system called ``name``."""
    out = StringIO()
    args = [name, "--user", user.username] if user else [name]
    call_command("issue_api_token", *args, stdout=out, stderr=StringIO())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return client
