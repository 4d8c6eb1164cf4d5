import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session

from accounts.tasks import clear_expired_sessions
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_expired_sign_in_sessions_are_cleared_daily(client):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        client.force_login(UserFactory())
    fresh = type(client)()
    fresh.force_login(UserFactory())
    assert Session.objects.count() == 2
    clear_expired_sessions.delay()
    assert Session.objects.count() == 1
